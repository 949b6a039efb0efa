r"""Exact marginals $p_t$ of affine SDEs and exact posteriors of $x(0)$ given $x(t)$.

Under an affine SDE, $x(t) = m\,x(0) + c + s\,z$ with $z \sim \mathcal N(0, I)$ independent of
$x(0)$ (derivations/marginals.md). Gaussians, Gaussian mixtures and finite training sets are
closed under this map, and under conditioning on $x(t)$.

**An open family.** The two closed forms a distribution supplies are `functools.singledispatch`
functions (lineax's pattern for operators, `lineax/_operator.py`): `push_forward` (the law of
$mX + c + sZ$) and `affine_posterior` (the law of $X$ given $mX + c + sZ = x$). Each distribution
registers its own in its own file (`_gaussian.py`, `_mixture.py`, `_empirical.py`); `marginal`,
`exact_score` and `posterior` only call the dispatch points, so a new distribution registered in
one place works with all of them (tests/test_dispatch.py).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import ScalarLike, Vector
from ..sde._base import AbstractAffineSDE
from ._base import AbstractDistribution


def identity_like(dist: AbstractDistribution) -> jax.Array:
    """The `(d, d)` identity in the dtype of `dist.mean`."""
    return jnp.eye(dist.dim, dtype=jnp.result_type(dist.mean))


def as_row(v) -> jax.Array:
    """A scalar or `(d,)` vector as a `(1, d)` row that broadcasts against `(K, d)` (no rank promotion)."""
    return jnp.reshape(v, (1, -1))


@functools.singledispatch
def push_forward(dist: AbstractDistribution, mean_coeff, offset, std) -> AbstractDistribution:
    r"""The law of $m X + c + s Z$ for $X \sim$ `dist`, $Z \sim \mathcal N(0, I)$ independent.

    Gaussian $\to$ Gaussian $\mathcal N(m\mu + c, m^2\Sigma + s^2 I)$; mixture $\to$ mixture
    (componentwise); `Empirical` $\to$ `IsotropicGaussianMixture` with scale $s$ (needs $s > 0$).

    A `functools.singledispatch` function: a new distribution adds its closed form with
    `@push_forward.register`.
    """
    raise TypeError(f"push_forward: no closed form for {type(dist).__name__}")


@functools.singledispatch
def affine_posterior(dist: AbstractDistribution, x: Vector, mean_coeff, offset, std) -> AbstractDistribution:
    r"""The law of $X$ given $m X + c + s Z = x$ for $X \sim$ `dist`, $Z \sim \mathcal N(0, I)$ independent.

    A `functools.singledispatch` function (register with `@affine_posterior.register`); `posterior`
    calls it with the kernel of the SDE at $t$.
    """
    raise TypeError(f"posterior: no closed form for {type(dist).__name__}")


def marginal(sde: AbstractAffineSDE, dist: AbstractDistribution, t: ScalarLike) -> AbstractDistribution:
    r"""The exact marginal $p_t$ of `sde` started from $p_0 =$ `dist`, in the same family.

    Works with traced `t` and traced SDE/distribution parameters (inside `jit`, `vmap`, `scan`).
    """
    mean_coeff, std = sde.kernel(t)
    return push_forward(dist, mean_coeff, sde.kernel_offset(t), std)


class ExactScore(eqx.Module):
    r"""`(x, t) -> ∇log p_t(x)` of `marginal(sde, data, t)`: the true score, which a score network learns.

    A module, not a closure: its parameters are pytree leaves, so `eqx.filter_jit` traces them and
    one compilation serves new SDE or data parameters of the same shapes.
    """

    sde: AbstractAffineSDE
    data: AbstractDistribution

    def __call__(self, x: Vector, t: ScalarLike) -> Vector:
        return marginal(self.sde, self.data, t).score(x)


def exact_score(sde: AbstractAffineSDE, data: AbstractDistribution) -> ExactScore:
    r"""The exact score function $(x, t) \mapsto \nabla\log p_t(x)$ of `sde` started from $p_0 =$ `data`."""
    return ExactScore(sde, data)


def posterior(sde: AbstractAffineSDE, dist: AbstractDistribution, x: Vector, t: ScalarLike) -> AbstractDistribution:
    r"""The exact law of $x(0)$ given $x(t) = x$, for $x(0) \sim$ `dist` (Bayes' rule).

    Gaussian $\to$ Gaussian (Kalman update); mixture $\to$ mixture whose weights are the
    responsibilities under $p_t$ and whose components are the per-component posteriors;
    `Empirical` $\to$ `Empirical` on the same points, reweighted. Needs $t > 0$.
    """
    m, s = sde.kernel(t)
    return affine_posterior(dist, x, m, sde.kernel_offset(t), s)
