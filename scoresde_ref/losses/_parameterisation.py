r"""Noise ($\epsilon$) and data ($x_0$) prediction, and their exact conversions to a score.

With the exact kernel $x_t = m(t) x_0 + c(t) + s(t) z$ (`sde.kernel`), the conditional score is
$\nabla\log p_{0t}(x_t \mid x_0) = -z/s$ (002_686d39656702d14a.txt "Training with O-U and DSM":
$-\epsilon/\sigma_t$). Taking $E[\cdot \mid x_t]$ (Tweedie; 001_cbf75b2ce1966cfb.txt "Score-matching"):

$$\nabla\log p_t(x) = -\frac{E[z \mid x_t = x]}{s} = -\frac{x - m\,E[x_0 \mid x_t = x] - c}{s^2},$$

so a noise predictor $\hat\epsilon$ and a data predictor $\hat x_0$ define the scores
$-\hat\epsilon/s$ and $-(x - m\hat x_0 - c)/s^2$, and back. Per sample,
$s^2\|s_\theta - \nabla\log p_{0t}\|^2 = \|\hat\epsilon - z\|^2 = (m/s)^2\|\hat x_0 - x_0\|^2$:
DSM with $\lambda = s^2$ is the $\epsilon$-loss of DDPM, and the $x_0$-loss weighted by the
signal-to-noise ratio $m^2/s^2$ (derivations/losses.md).
"""

from collections.abc import Callable

from .._custom_types import ScalarLike, ScoreFn, Vector
from ..sde._base import AbstractAffineSDE

PredictorFn = Callable[[Vector, ScalarLike], Vector]


def score_from_eps(sde: AbstractAffineSDE, eps_fn: PredictorFn) -> ScoreFn:
    r"""The score $s(x, t) = -\hat\epsilon(x, t)/s(t)$ of a noise predictor."""

    def score_fn(x, t):
        return -eps_fn(x, t) / sde.kernel(t)[1]

    return score_fn


def eps_from_score(sde: AbstractAffineSDE, score_fn: ScoreFn) -> PredictorFn:
    r"""The noise predictor $\hat\epsilon(x, t) = -s(t)\, s_\theta(x, t)$ of a score."""

    def eps_fn(x, t):
        return -sde.kernel(t)[1] * score_fn(x, t)

    return eps_fn


def score_from_x0(sde: AbstractAffineSDE, x0_fn: PredictorFn) -> ScoreFn:
    r"""The score $s(x, t) = -(x - m(t)\hat x_0(x, t) - c(t))/s(t)^2$ of a data predictor."""

    def score_fn(x, t):
        return -(x - sde.kernel_mean(x0_fn(x, t), t)) / sde.kernel(t)[1] ** 2

    return score_fn


def x0_from_score(sde: AbstractAffineSDE, score_fn: ScoreFn) -> PredictorFn:
    r"""The data predictor (Tweedie) $\hat x_0(x, t) = (x - c(t) + s(t)^2 s_\theta(x, t))/m(t)$ of a score."""

    def x0_fn(x, t):
        mean_coeff, std = sde.kernel(t)
        return (x - sde.kernel_offset(t) + std**2 * score_fn(x, t)) / mean_coeff

    return x0_fn
