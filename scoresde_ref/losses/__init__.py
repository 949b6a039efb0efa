"""Score-matching losses (Fisher, DSM, ISM, sliced), their weightings and time sampling, the score / eps / x0
parameterisations, and the discrete NCSN and DDPM losses.

Options are objects: objectives `DSM`, `ISM`, `SlicedScoreMatching`, `Fisher`; weightings
`SigmaSquaredWeighting` (`"sigma2"`), `LikelihoodWeighting` (`"g2"`), `UnitWeighting` (`"uniform"`); time
designs `UniformTimes`, `StratifiedTimes`; divergence estimators `ExactDivergence`, `Hutchinson` (shared with
`scoresde_ref.likelihood`). The strings are still accepted and mapped to these objects."""

# Divergence estimators: one family shared by the ISM/sliced losses and the likelihood.
from .._divergence import AbstractDivergence as AbstractDivergence
from .._divergence import ExactDivergence as ExactDivergence
from .._divergence import Hutchinson as Hutchinson
from .._divergence import divergence as divergence
from .._divergence import hutchinson_divergence as hutchinson_divergence
from .._divergence import hutchinson_variance as hutchinson_variance
from .._divergence import sample_probe as sample_probe
from .._divergence import value_and_divergence as value_and_divergence
from .._divergence import value_and_quadratic_forms as value_and_quadratic_forms
from ._discrete import ddpm_loss as ddpm_loss
from ._discrete import ddpm_terms as ddpm_terms
from ._discrete import ddpm_terms_at as ddpm_terms_at
from ._discrete import ncsn_loss as ncsn_loss
from ._discrete import ncsn_terms as ncsn_terms
from ._discrete import ncsn_terms_at as ncsn_terms_at
from ._objectives import DSM as DSM
from ._objectives import ISM as ISM
from ._objectives import AbstractObjective as AbstractObjective
from ._objectives import Fisher as Fisher
from ._objectives import SlicedScoreMatching as SlicedScoreMatching
from ._parameterisation import PARAMETERISATIONS as PARAMETERISATIONS
from ._parameterisation import AbstractParameterisation as AbstractParameterisation
from ._parameterisation import EpsParameterisation as EpsParameterisation
from ._parameterisation import ParameterisedScore as ParameterisedScore
from ._parameterisation import ScoreParameterisation as ScoreParameterisation
from ._parameterisation import X0Parameterisation as X0Parameterisation
from ._parameterisation import as_parameterisation as as_parameterisation
from ._parameterisation import eps_from_score as eps_from_score
from ._parameterisation import score_from_eps as score_from_eps
from ._parameterisation import score_from_x0 as score_from_x0
from ._parameterisation import x0_from_score as x0_from_score
from ._score_matching import dsm_loss as dsm_loss
from ._score_matching import fisher_loss as fisher_loss
from ._score_matching import ism_loss as ism_loss
from ._score_matching import loss_noise as loss_noise
from ._score_matching import loss_terms as loss_terms
from ._score_matching import loss_terms_at as loss_terms_at
from ._score_matching import sliced_score_matching_loss as sliced_score_matching_loss
from ._time_sampling import AbstractTimeSampler as AbstractTimeSampler
from ._time_sampling import StratifiedTimes as StratifiedTimes
from ._time_sampling import UniformTimes as UniformTimes
from ._time_sampling import mean_and_stderr as mean_and_stderr
from ._time_sampling import sample_times as sample_times
from ._weighting import AbstractWeighting as AbstractWeighting
from ._weighting import LikelihoodWeighting as LikelihoodWeighting
from ._weighting import SigmaSquaredWeighting as SigmaSquaredWeighting
from ._weighting import UnitWeighting as UnitWeighting
from ._weighting import loss_weight as loss_weight
