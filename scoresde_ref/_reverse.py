r"""Drifts of the reverse-time SDE and of the probability-flow ODE (000_cce368350850b628.txt §3).

Written for time running backwards from $T$: the reverse SDE is
$dx = [f(x,t) - g(t)^2 \nabla\log p_t(x)]\,dt + g(t)\,d\bar w$ with $dt < 0$ (Anderson 1982),
and the probability-flow ODE $dx = [f(x,t) - \tfrac12 g(t)^2 \nabla\log p_t(x)]\,dt$ has the
same marginals $p_t$ (derivations/reverse_drifts.md).
"""

from ._custom_types import ScalarLike, ScoreFn, Vector
from ._sde_base import AbstractSDE


def reverse_drift(sde: AbstractSDE, score_fn: ScoreFn, x: Vector, t: ScalarLike) -> Vector:
    r"""$f(x, t) - g(t)^2\,s(x, t)$, the drift of the reverse-time SDE."""
    return sde.drift(x, t) - sde.diffusion(t) ** 2 * score_fn(x, t)


def probability_flow_drift(sde: AbstractSDE, score_fn: ScoreFn, x: Vector, t: ScalarLike) -> Vector:
    r"""$f(x, t) - \tfrac12 g(t)^2\,s(x, t)$, the velocity of the probability-flow ODE."""
    return sde.drift(x, t) - 0.5 * sde.diffusion(t) ** 2 * score_fn(x, t)
