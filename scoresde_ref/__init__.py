"""scoresde-ref: reference implementation and correctness oracle for score-based generative
modelling through SDEs (Song et al., ICLR 2021). See README.md for the tour and
derivations/ for the mathematics.

The package is layered bottom-up, one public namespace per family:

- `scoresde_ref.sde`: forward SDEs, exact kernels, the affine quadrature route, reverse/flow drifts;
- `scoresde_ref.distributions`: Gaussian, mixtures, empirical data, marginals p_t and exact scores;
- `scoresde_ref.chains`: SMLD, DDPM and OU chains, discretizations, running chains;
- `scoresde_ref.samplers`: predictors, correctors, PC, ODE, SDE solvers, DDIM, Langevin;
- `scoresde_ref.losses`: score-matching objectives, weightings, time sampling, parameterisations;
- `scoresde_ref.likelihood`: log-likelihood through the probability-flow ODE, bits/dim;
- `scoresde_ref.conditional`: Bayes conditional score, classifiers, imputation, linear inverse problems;
- `scoresde_ref.exact`: closed forms that check methods (sampler laws, affine objectives, flow maps, ...);
- `scoresde_ref.nn`, `scoresde_ref.training`, `scoresde_ref.metrics`: score networks, `train_score`, and the error of
  a learned score against the exact one;
- `scoresde_ref.compat`: twins of score_sde_pytorch, diffusers and k-diffusion; `scoresde_ref.check` (imported on
  use): the conformance harness that runs an implementation against its twin; `scoresde_ref.golden`: golden files;
- `scoresde_ref.examples`: the documents' examples, used as fixtures by the tests and `verify`.

The names in `__all__` are the front door; every other public name of the subpackages stays importable
from here as an alias, so code written against the flat layout keeps working.
"""

import importlib.metadata as _metadata

from . import chains as chains
from . import compat as compat
from . import conditional as conditional
from . import distributions as distributions
from . import exact as exact
from . import examples as examples
from . import likelihood as likelihood
from . import losses as losses
from . import metrics as metrics
from . import nn as nn
from . import samplers as samplers
from . import sde as sde
from . import training as training
from .chains import AbstractChain as AbstractChain
from .chains import AbstractChainDiscretization as AbstractChainDiscretization
from .chains import AbstractDiscretization as AbstractDiscretization
from .chains import DDPMChain as DDPMChain
from .chains import DDPMDiscretization as DDPMDiscretization
from .chains import Discretization as Discretization
from .chains import EulerMaruyamaDiscretization as EulerMaruyamaDiscretization
from .chains import OUChain as OUChain
from .chains import SMLDChain as SMLDChain
from .chains import SMLDDiscretization as SMLDDiscretization
from .chains import chain_path as chain_path
from .chains import cosine_log_alpha_bar as cosine_log_alpha_bar
from .chains import discretize as discretize
from .chains import propagate_moments as propagate_moments
from .chains import reference_discretization as reference_discretization
from .chains import sample_path as sample_path
from .chains import sample_reverse_path as sample_reverse_path
from .conditional import ClassifierLogLikelihood as ClassifierLogLikelihood
from .conditional import ClassLogLikelihood as ClassLogLikelihood
from .conditional import ConditionalScore as ConditionalScore
from .conditional import LabelledMixture as LabelledMixture
from .conditional import LinearInverseLogLikelihood as LinearInverseLogLikelihood
from .conditional import LinearInverseScore as LinearInverseScore
from .conditional import LinearObservation as LinearObservation
from .conditional import Replacement as Replacement
from .conditional import TimeClassifier as TimeClassifier
from .conditional import class_log_likelihood as class_log_likelihood
from .conditional import class_log_posterior as class_log_posterior
from .conditional import classifier_log_likelihood as classifier_log_likelihood
from .conditional import classifier_loss as classifier_loss
from .conditional import classifier_vs_bayes as classifier_vs_bayes
from .conditional import colorization_mask as colorization_mask
from .conditional import colorization_transform as colorization_transform
from .conditional import conditional_score as conditional_score
from .conditional import impute_sample as impute_sample
from .conditional import impute_sampler_law as impute_sampler_law
from .conditional import labelled_marginal as labelled_marginal
from .conditional import linear_inverse_marginal as linear_inverse_marginal
from .conditional import linear_inverse_posterior as linear_inverse_posterior
from .conditional import masked_observation as masked_observation
from .conditional import replacement_limit_law as replacement_limit_law
from .conditional import train_classifier as train_classifier
from .distributions import AbstractDensity as AbstractDensity
from .distributions import AbstractDistribution as AbstractDistribution
from .distributions import AbstractMixture as AbstractMixture
from .distributions import Empirical as Empirical
from .distributions import ExactScore as ExactScore
from .distributions import Gaussian as Gaussian
from .distributions import GaussianComponents as GaussianComponents
from .distributions import GaussianMixture as GaussianMixture
from .distributions import IsotropicGaussianMixture as IsotropicGaussianMixture
from .distributions import affine_posterior as affine_posterior
from .distributions import exact_score as exact_score
from .distributions import gaussian_components as gaussian_components
from .distributions import marginal as marginal
from .distributions import posterior as posterior
from .distributions import push_forward as push_forward
from .exact import LIMITS as LIMITS
from .exact import AffineScore as AffineScore
from .exact import ddpm_kernel_error as ddpm_kernel_error
from .exact import dsm_affine as dsm_affine
from .exact import dsm_affine_minimiser as dsm_affine_minimiser
from .exact import dsm_ism_gap as dsm_ism_gap
from .exact import exact_score_coeffs as exact_score_coeffs
from .exact import expected_sq_norm as expected_sq_norm
from .exact import fisher_affine as fisher_affine
from .exact import fit_order as fit_order
from .exact import fokker_planck_relative_residual as fokker_planck_relative_residual
from .exact import fokker_planck_residual as fokker_planck_residual
from .exact import fokker_planck_terms as fokker_planck_terms
from .exact import gauss_hermite_expectation as gauss_hermite_expectation
from .exact import gaussian_chain_score as gaussian_chain_score
from .exact import gaussian_fisher_information as gaussian_fisher_information
from .exact import gaussian_flow_jacobian_integral as gaussian_flow_jacobian_integral
from .exact import gaussian_flow_map as gaussian_flow_map
from .exact import gaussian_kl as gaussian_kl
from .exact import gaussian_score_coeffs as gaussian_score_coeffs
from .exact import gaussian_w2 as gaussian_w2
from .exact import ism_affine as ism_affine
from .exact import likelihood_weighting_bound as likelihood_weighting_bound
from .exact import log_fokker_planck_residual as log_fokker_planck_residual
from .exact import log_fokker_planck_terms as log_fokker_planck_terms
from .exact import measure as measure
from .exact import mixture_w2_bounds as mixture_w2_bounds
from .exact import moments as moments
from .exact import ode_sampler_law as ode_sampler_law
from .exact import ou_w2_bound as ou_w2_bound
from .exact import pc_sampler_law as pc_sampler_law
from .exact import reverse_sde_output as reverse_sde_output
from .exact import reverse_terminal_moments as reverse_terminal_moments
from .exact import score_error_integral as score_error_integral
from .exact import sde_prior as sde_prior
from .likelihood import LikelihoodResult as LikelihoodResult
from .likelihood import bits_per_dim as bits_per_dim
from .likelihood import dequantization_offset as dequantization_offset
from .likelihood import dequantize as dequantize
from .likelihood import log_likelihood as log_likelihood
from .likelihood import log_likelihood_details as log_likelihood_details
from .likelihood import log_likelihood_scipy as log_likelihood_scipy
from .losses import DSM as DSM
from .losses import ISM as ISM
from .losses import AbstractDivergence as AbstractDivergence
from .losses import AbstractObjective as AbstractObjective
from .losses import AbstractTimeSampler as AbstractTimeSampler
from .losses import AbstractWeighting as AbstractWeighting
from .losses import ExactDivergence as ExactDivergence
from .losses import Fisher as Fisher
from .losses import Hutchinson as Hutchinson
from .losses import LikelihoodWeighting as LikelihoodWeighting
from .losses import SigmaSquaredWeighting as SigmaSquaredWeighting
from .losses import SlicedScoreMatching as SlicedScoreMatching
from .losses import StratifiedTimes as StratifiedTimes
from .losses import UniformTimes as UniformTimes
from .losses import UnitWeighting as UnitWeighting
from .losses import ddpm_loss as ddpm_loss
from .losses import ddpm_terms as ddpm_terms
from .losses import ddpm_terms_at as ddpm_terms_at
from .losses import divergence as divergence
from .losses import dsm_loss as dsm_loss
from .losses import eps_from_score as eps_from_score
from .losses import fisher_loss as fisher_loss
from .losses import hutchinson_divergence as hutchinson_divergence
from .losses import hutchinson_variance as hutchinson_variance
from .losses import ism_loss as ism_loss
from .losses import loss_noise as loss_noise
from .losses import loss_terms as loss_terms
from .losses import loss_terms_at as loss_terms_at
from .losses import loss_weight as loss_weight
from .losses import mean_and_stderr as mean_and_stderr
from .losses import ncsn_loss as ncsn_loss
from .losses import ncsn_terms as ncsn_terms
from .losses import ncsn_terms_at as ncsn_terms_at
from .losses import sample_probe as sample_probe
from .losses import sample_times as sample_times
from .losses import score_from_eps as score_from_eps
from .losses import score_from_x0 as score_from_x0
from .losses import sliced_score_matching_loss as sliced_score_matching_loss
from .losses import value_and_divergence as value_and_divergence
from .losses import value_and_quadratic_forms as value_and_quadratic_forms
from .losses import x0_from_score as x0_from_score
from .metrics import score_error as score_error
from .samplers import ODE_SOLVERS as ODE_SOLVERS
from .samplers import SDE_SOLVERS as SDE_SOLVERS
from .samplers import AbstractCorrector as AbstractCorrector
from .samplers import AbstractPredictor as AbstractPredictor
from .samplers import Ancestral as Ancestral
from .samplers import AnnealedLangevinCorrector as AnnealedLangevinCorrector
from .samplers import EulerMaruyama as EulerMaruyama
from .samplers import LangevinCorrector as LangevinCorrector
from .samplers import ReverseDiffusion as ReverseDiffusion
from .samplers import SampleResult as SampleResult
from .samplers import annealed_langevin_sample as annealed_langevin_sample
from .samplers import as_corrector as as_corrector
from .samplers import as_predictor as as_predictor
from .samplers import as_solver as as_solver
from .samplers import ddim_sample as ddim_sample
from .samplers import langevin_mcmc as langevin_mcmc
from .samplers import langevin_update as langevin_update
from .samplers import ode_sample as ode_sample
from .samplers import ode_sample_scipy as ode_sample_scipy
from .samplers import pc_sample as pc_sample
from .samplers import rk1_003_step as rk1_003_step
from .samplers import sde_sample as sde_sample
from .sde import OUSDE as OUSDE
from .sde import VESDE as VESDE
from .sde import VPSDE as VPSDE

# Aliases of every other public name of the subpackages (the flat layout of earlier versions).
from .sde import AbstractAffineSDE as AbstractAffineSDE
from .sde import AbstractLinearSDE as AbstractLinearSDE

# The front door (`__all__`).
from .sde import AbstractSDE as AbstractSDE
from .sde import AffineSDE as AffineSDE
from .sde import BrownianMotion as BrownianMotion
from .sde import ConstantDriftSDE as ConstantDriftSDE
from .sde import ExpDiffusionSDE as ExpDiffusionSDE
from .sde import Flow as Flow
from .sde import PowerDiffusionSDE as PowerDiffusionSDE
from .sde import SubVPSDE as SubVPSDE
from .sde import TimeReversedSDE as TimeReversedSDE
from .sde import probability_flow_drift as probability_flow_drift
from .sde import reverse_drift as reverse_drift
from .sde import reverse_drift_matrix as reverse_drift_matrix
from .training import TrainResult as TrainResult
from .training import train_score as train_score

__version__ = _metadata.version("scoresde-ref")

__all__ = [
    "chains", "compat", "conditional", "distributions", "exact", "examples", "likelihood", "losses", "metrics", "nn",
    "samplers", "sde", "training",
    "AbstractSDE",
    "VESDE",
    "VPSDE",
    "SubVPSDE",
    "OUSDE",
    "AffineSDE",
    "Gaussian",
    "GaussianMixture",
    "Empirical",
    "marginal",
    "exact_score",
    "reverse_drift",
    "probability_flow_drift",
    "DDPMChain",
    "SMLDChain",
    "OUChain",
    "discretize",
    "pc_sample",
    "ode_sample",
    "sde_sample",
    "ddim_sample",
    "annealed_langevin_sample",
    "dsm_loss",
    "ism_loss",
    "sliced_score_matching_loss",
    "log_likelihood",
    "LikelihoodResult",
    "bits_per_dim",
    "conditional_score",
    "LabelledMixture",
    "class_log_likelihood",
    "impute_sample",
    "pc_sampler_law",
    "log_fokker_planck_residual",
    "train_score",
    "TrainResult",
    "score_error",
]
