"""Controllable generation: the Bayes conditional score, exact class posteriors of labelled mixtures, time-dependent
classifiers, imputation by replacement, and linear inverse problems."""

from ._bayes import ClassLogLikelihood as ClassLogLikelihood
from ._bayes import ConditionalScore as ConditionalScore
from ._bayes import LabelledMixture as LabelledMixture
from ._bayes import class_log_likelihood as class_log_likelihood
from ._bayes import class_log_posterior as class_log_posterior
from ._bayes import conditional_score as conditional_score
from ._bayes import labelled_marginal as labelled_marginal
from ._classifier import ClassifierLogLikelihood as ClassifierLogLikelihood
from ._classifier import TimeClassifier as TimeClassifier
from ._classifier import classifier_log_likelihood as classifier_log_likelihood
from ._classifier import classifier_loss as classifier_loss
from ._classifier import classifier_vs_bayes as classifier_vs_bayes
from ._classifier import train_classifier as train_classifier
from ._inpainting import Replacement as Replacement
from ._inpainting import colorization_mask as colorization_mask
from ._inpainting import colorization_transform as colorization_transform
from ._inpainting import impute_sample as impute_sample
from ._inpainting import impute_sampler_law as impute_sampler_law
from ._inpainting import replacement_limit_law as replacement_limit_law
from ._linear_inverse import LinearInverseLogLikelihood as LinearInverseLogLikelihood
from ._linear_inverse import LinearInverseScore as LinearInverseScore
from ._linear_inverse import LinearObservation as LinearObservation
from ._linear_inverse import linear_inverse_marginal as linear_inverse_marginal
from ._linear_inverse import linear_inverse_posterior as linear_inverse_posterior
from ._linear_inverse import masked_observation as masked_observation
