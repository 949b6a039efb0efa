r"""Score, noise ($\epsilon$) and data ($x_0$) parameterisations of a network output, as objects, and their exact
conversions to a score.

With the exact kernel $x_t = m(t) x_0 + c(t) + s(t) z$ (`sde.kernel`), the conditional score is
$\nabla\log p_{0t}(x_t \mid x_0) = -z/s$ (002_686d39656702d14a.txt "Training with O-U and DSM":
$-\epsilon/\sigma_t$). Taking $E[\cdot \mid x_t]$ (Tweedie; 001_cbf75b2ce1966cfb.txt "Score-matching"):

$$\nabla\log p_t(x) = -\frac{E[z \mid x_t = x]}{s} = -\frac{x - m\,E[x_0 \mid x_t = x] - c}{s^2},$$

so a noise predictor $\hat\epsilon$ and a data predictor $\hat x_0$ define the scores
$-\hat\epsilon/s$ and $-(x - m\hat x_0 - c)/s^2$, and back. Per sample,
$s^2\|s_\theta - \nabla\log p_{0t}\|^2 = \|\hat\epsilon - z\|^2 = (m/s)^2\|\hat x_0 - x_0\|^2$:
DSM with $\lambda = s^2$ is the $\epsilon$-loss of DDPM, and the $x_0$-loss weighted by the
signal-to-noise ratio $m^2/s^2$ (derivations/losses.md, derivations/nn.md §2).

**Objects.** `ScoreParameterisation()` (the output is the score), `EpsParameterisation()` (the output is
$\hat\epsilon$; $s_\theta = -\hat\epsilon/s(t)$, the noise-conditional output scaling of Song et al.'s networks,
whose `scale_by_sigma` divides the output by the noise level), `X0Parameterisation()` (the output is
$\hat x_0$). Each has `to_score(sde, out, x, t)`, `from_score(sde, score, x, t)`, the regression target of the
output `target(sde, x0, z, t)` and the factor `dsm_factor(sde, t)` $= \|s_\theta - \nabla\log p_{0t}\|^2 /
\|\text{out} - \text{target}\|^2$ ($1$, $1/s^2$, $m^2/s^4$). `ParameterisedScore(sde, parameterisation, fn)` is
the score function $(x, t) \mapsto$ `to_score(sde, fn(x, t), x, t)`; `score_from_eps` and friends build it.
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp

from .._custom_types import Scalar, ScalarLike, ScoreFn, Vector
from ..sde._base import AbstractAffineSDE

PredictorFn = Callable[[Vector, ScalarLike], Vector]


class AbstractParameterisation(eqx.Module):
    r"""What a network output means: a map `out -> score` at $(x, t)$ and its inverse (exact, by the kernel)."""

    @abc.abstractmethod
    def to_score(self, sde: AbstractAffineSDE, out: Vector, x: Vector, t: ScalarLike) -> Vector:
        """The score $s_\\theta(x, t)$ of the output `out` at $(x, t)$."""

    @abc.abstractmethod
    def from_score(self, sde: AbstractAffineSDE, score: Vector, x: Vector, t: ScalarLike) -> Vector:
        """The output that gives the score `score` at $(x, t)$ (the inverse of `to_score`)."""

    @abc.abstractmethod
    def target(self, sde: AbstractAffineSDE, x0: Vector, z: Vector, t: ScalarLike) -> Vector:
        """The output whose score is $\\nabla\\log p_{0t}(x_t \\mid x_0) = -z/s$ at $x_t = m x_0 + c + s z$."""

    @abc.abstractmethod
    def dsm_factor(self, sde: AbstractAffineSDE, t: ScalarLike) -> Scalar:
        """$\\|s_\\theta - \\nabla\\log p_{0t}\\|^2 / \\|\\text{out} - \\text{target}\\|^2$ (free of $x$)."""


class ScoreParameterisation(AbstractParameterisation):
    r"""The output is the score: $s_\theta = \text{out}$; target $-z/s$; factor 1."""

    def to_score(self, sde, out, x, t):
        return out

    def from_score(self, sde, score, x, t):
        return score

    def target(self, sde, x0, z, t):
        return -z / sde.kernel(t)[1]

    def dsm_factor(self, sde, t):
        return jnp.ones_like(sde.kernel(t)[1])


class EpsParameterisation(AbstractParameterisation):
    r"""The output is a noise prediction $\hat\epsilon$: $s_\theta = -\hat\epsilon/s(t)$ (the noise-conditional output
    scaling); target $z$; factor $1/s(t)^2$."""

    def to_score(self, sde, out, x, t):
        return -out / sde.kernel(t)[1]

    def from_score(self, sde, score, x, t):
        return -sde.kernel(t)[1] * score

    def target(self, sde, x0, z, t):
        return z

    def dsm_factor(self, sde, t):
        return 1.0 / sde.kernel(t)[1] ** 2


class X0Parameterisation(AbstractParameterisation):
    r"""The output is a data prediction $\hat x_0$: $s_\theta = -(x - m(t)\hat x_0 - c(t))/s(t)^2$; target $x_0$;
    factor $m(t)^2/s(t)^4$."""

    def to_score(self, sde, out, x, t):
        return -(x - sde.kernel_mean(out, t)) / sde.kernel(t)[1] ** 2

    def from_score(self, sde, score, x, t):
        mean_coeff, std = sde.kernel(t)
        return (x - sde.kernel_offset(t) + std**2 * score) / mean_coeff

    def target(self, sde, x0, z, t):
        return x0

    def dsm_factor(self, sde, t):
        mean_coeff, std = sde.kernel(t)
        return mean_coeff**2 / std**4


class ParameterisedScore(eqx.Module):
    r"""The score function $(x, t) \mapsto$ `parameterisation.to_score(sde, fn(x, t), x, t)` (a module, so that
    compiled entry points trace its parameters)."""

    sde: AbstractAffineSDE
    parameterisation: AbstractParameterisation
    fn: PredictorFn

    def __call__(self, x: Vector, t: ScalarLike) -> Vector:
        return self.parameterisation.to_score(self.sde, self.fn(x, t), x, t)


class _Inverse(eqx.Module):
    """$(x, t) \\mapsto$ `parameterisation.from_score(sde, score_fn(x, t), x, t)`."""

    sde: AbstractAffineSDE
    parameterisation: AbstractParameterisation
    score_fn: ScoreFn

    def __call__(self, x: Vector, t: ScalarLike) -> Vector:
        return self.parameterisation.from_score(self.sde, self.score_fn(x, t), x, t)


def score_from_eps(sde: AbstractAffineSDE, eps_fn: PredictorFn) -> ScoreFn:
    r"""The score $s(x, t) = -\hat\epsilon(x, t)/s(t)$ of a noise predictor."""
    return ParameterisedScore(sde, EpsParameterisation(), eps_fn)


def eps_from_score(sde: AbstractAffineSDE, score_fn: ScoreFn) -> PredictorFn:
    r"""The noise predictor $\hat\epsilon(x, t) = -s(t)\, s_\theta(x, t)$ of a score."""
    return _Inverse(sde, EpsParameterisation(), score_fn)


def score_from_x0(sde: AbstractAffineSDE, x0_fn: PredictorFn) -> ScoreFn:
    r"""The score $s(x, t) = -(x - m(t)\hat x_0(x, t) - c(t))/s(t)^2$ of a data predictor."""
    return ParameterisedScore(sde, X0Parameterisation(), x0_fn)


def x0_from_score(sde: AbstractAffineSDE, score_fn: ScoreFn) -> PredictorFn:
    r"""The data predictor (Tweedie) $\hat x_0(x, t) = (x - c(t) + s(t)^2 s_\theta(x, t))/m(t)$ of a score."""
    return _Inverse(sde, X0Parameterisation(), score_fn)


_PARAMETERISATIONS = {"score": ScoreParameterisation, "eps": EpsParameterisation, "x0": X0Parameterisation}
PARAMETERISATIONS = tuple(_PARAMETERISATIONS)


def as_parameterisation(parameterisation: str | AbstractParameterisation, owner: str) -> AbstractParameterisation:
    """`"score"`, `"eps"`, `"x0"` -> the object (an object is returned as it is); other names raise `ValueError`."""
    if isinstance(parameterisation, AbstractParameterisation):
        return parameterisation
    if parameterisation not in _PARAMETERISATIONS:
        raise ValueError(
            f"{owner}: parameterisation must be one of {PARAMETERISATIONS} or an AbstractParameterisation; "
            f"got {parameterisation!r}"
        )
    return _PARAMETERISATIONS[parameterisation]()
