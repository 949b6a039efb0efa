"""The error of a learned score against the exact truth (data with closed-form p_t), and two-sample metrics
(derivations/score_error.md)."""

from ._score_error import ScoreErrorProfile as ScoreErrorProfile
from ._score_error import ScoreErrorReport as ScoreErrorReport
from ._score_error import plot_score_error as plot_score_error
from ._score_error import score_error as score_error
from ._score_error import score_error_profile as score_error_profile
from ._score_error import trapezoid_weights as trapezoid_weights
from ._two_sample import ks_test as ks_test
from ._two_sample import mixture_cdf_1d as mixture_cdf_1d
from ._two_sample import mode_weights as mode_weights
from ._two_sample import random_directions as random_directions
from ._two_sample import sliced_w1 as sliced_w1
from ._two_sample import sliced_w1_noise_floor as sliced_w1_noise_floor
from ._two_sample import wasserstein_1d as wasserstein_1d
