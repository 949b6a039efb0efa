r"""Drifts of the reverse-time SDE and of the probability-flow ODE (000_cce368350850b628.txt §3).

Written for time running backwards from $T$: the reverse SDE is
$dx = [f(x,t) - g(t)^2 \nabla\log p_t(x)]\,dt + g(t)\,d\bar w$ with $dt < 0$ (Anderson 1982),
and the probability-flow ODE $dx = [f(x,t) - \tfrac12 g(t)^2 \nabla\log p_t(x)]\,dt$ has the
same marginals $p_t$ (derivations/reverse_drifts.md).
"""

from collections.abc import Callable

import jax.numpy as jnp

from .._custom_types import ScalarLike, ScoreFn, Times, Vector
from .._validation import check_vector
from ._base import AbstractSDE


def _score_at(score_fn: ScoreFn, x: Vector, t: ScalarLike, owner: str) -> Vector:
    """`score_fn(x, t)` for one example `x` `(d,)`, refusing a score whose shape is not that of `x`."""
    check_vector(x, None, "x", owner)
    score = score_fn(x, t)
    if jnp.shape(score) != jnp.shape(x):
        raise ValueError(f"{owner}: score_fn(x, t) must have the shape of x {jnp.shape(x)}; got {jnp.shape(score)}")
    return score


def reverse_drift(sde: AbstractSDE, score_fn: ScoreFn, x: Vector, t: ScalarLike) -> Vector:
    r"""$f(x, t) - g(t)^2\,s(x, t)$, the drift of the reverse-time SDE, for one example `x` `(d,)`."""
    return sde.drift(x, t) - sde.diffusion(t) ** 2 * _score_at(score_fn, x, t, "reverse_drift")


def reverse_drift_matrix(drift_fn, G_fn, score_fn: ScoreFn, x: Vector, t: ScalarLike) -> Vector:
    r"""$f(x, t) - G(t)G(t)^\top s(x, t)$: the reverse-time drift for a matrix diffusion
    $dx = f\,dt + G(t)\,dw$ (000_cce368350850b628.txt §3.1), `G_fn(t)` of shape `(d, m)`.
    With $G = g I$ it is `reverse_drift`."""
    G = G_fn(t)
    return drift_fn(x, t) - G @ (G.T @ score_fn(x, t))


def probability_flow_drift(sde: AbstractSDE, score_fn: ScoreFn, x: Vector, t: ScalarLike) -> Vector:
    r"""$f(x, t) - \tfrac12 g(t)^2\,s(x, t)$, the velocity of the probability-flow ODE, for one example `x` `(d,)`."""
    return sde.drift(x, t) - 0.5 * sde.diffusion(t) ** 2 * _score_at(score_fn, x, t, "probability_flow_drift")


class Flow(AbstractSDE):
    r"""An ODE $dx = v(x, t)\,dt$ seen as an SDE with $g = 0$; its Fokker–Planck equation is the
    continuity equation $\partial_t p + \nabla\cdot(v p) = 0$.

    `Flow(lambda x, t: probability_flow_drift(sde, score_fn, x, t), sde.T)` is the
    probability-flow ODE, whose marginals are those of `sde` when `score_fn` is exact.
    """

    velocity: Callable[[Vector, ScalarLike], Vector]
    T: ScalarLike = 1.0

    def drift(self, x: Vector, t: ScalarLike) -> Vector:
        return self.velocity(x, t)

    def diffusion(self, t: Times) -> Times:
        return jnp.zeros_like(jnp.asarray(t))


class TimeReversedSDE(AbstractSDE):
    r"""The reverse-time SDE written in forward time $u = T - t$ for $y(u) = x(T - u)$:
    $dy = -[f(y, T-u) - g(T-u)^2 s(y, T-u)]\,du + g(T-u)\,dw$ (Anderson 1982).

    With the exact score, its marginal at $u$ is $p_{T-u}$ (tests/test_reverse.py).
    """

    sde: AbstractSDE
    score_fn: ScoreFn

    @property
    def T(self) -> ScalarLike:
        """The horizon of the forward SDE (read from it, not stored twice)."""
        return self.sde.T

    def drift(self, y: Vector, u: ScalarLike) -> Vector:
        return -reverse_drift(self.sde, self.score_fn, y, self.T - u)

    def diffusion(self, u: ScalarLike) -> ScalarLike:
        return self.sde.diffusion(self.T - u)
