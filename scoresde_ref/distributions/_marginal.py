r"""Exact marginals $p_t$ of affine SDEs and exact posteriors of $x(0)$ given $x(t)$.

Under an affine SDE, $x(t) = m\,x(0) + c + s\,z$ with $z \sim \mathcal N(0, I)$ independent of
$x(0)$ (derivations/marginals.md). Gaussians, Gaussian mixtures and finite training sets are
closed under this map, and under conditioning on $x(t)$.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import ScalarLike, Vector
from ._base import AbstractDistribution
from ._empirical import Empirical
from ._gaussian import Gaussian, gaussian_conditional
from ._mixture import GaussianMixture, IsotropicGaussianMixture
from ..sde._base import AbstractAffineSDE


def _eye(dist: AbstractDistribution):
    return jnp.eye(dist.dim, dtype=jnp.result_type(dist.mean))


def _row(v):
    """A scalar or `(d,)` vector as a `(1, d)` row that broadcasts against `(K, d)` (no rank promotion)."""
    return jnp.reshape(v, (1, -1))


def push_forward(dist: AbstractDistribution, mean_coeff, offset, std) -> AbstractDistribution:
    r"""The law of $m X + c + s Z$ for $X \sim$ `dist`, $Z \sim \mathcal N(0, I)$ independent.

    Gaussian $\to$ Gaussian $\mathcal N(m\mu + c, m^2\Sigma + s^2 I)$; mixture $\to$ mixture
    (componentwise); `Empirical` $\to$ `IsotropicGaussianMixture` with scale $s$ (needs $s > 0$).
    """
    m, c, s = mean_coeff, offset, std
    if isinstance(dist, Gaussian):
        return Gaussian(m * dist.mean + c, m**2 * dist.cov + s**2 * _eye(dist))
    if isinstance(dist, GaussianMixture):
        return GaussianMixture(dist.weights, m * dist.means + _row(c), m**2 * dist.covs + s**2 * _eye(dist)[None])
    if isinstance(dist, IsotropicGaussianMixture):
        return IsotropicGaussianMixture(dist.weights, m * dist.means + _row(c), jnp.sqrt(m**2 * dist.std**2 + s**2))
    if isinstance(dist, Empirical):
        return IsotropicGaussianMixture(dist.weights, m * dist.points + _row(c), s)
    raise TypeError(f"push_forward: no closed form for {type(dist).__name__}")


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


def _gaussian_posterior(x: Vector, mean, cov, m, c, s) -> tuple[jax.Array, jax.Array]:
    """Mean and covariance of X0 | m X0 + c + s Z = x for X0 ~ N(mean, cov) (Kalman update)."""
    eye = jnp.eye(mean.shape[-1], dtype=jnp.result_type(mean))
    return gaussian_conditional(mean, cov, m * eye, s**2 * eye, x - c)


def posterior(sde: AbstractAffineSDE, dist: AbstractDistribution, x: Vector, t: ScalarLike) -> AbstractDistribution:
    r"""The exact law of $x(0)$ given $x(t) = x$, for $x(0) \sim$ `dist` (Bayes' rule).

    Gaussian $\to$ Gaussian (Kalman update); mixture $\to$ mixture whose weights are the
    responsibilities under $p_t$ and whose components are the per-component posteriors;
    `Empirical` $\to$ `Empirical` on the same points, reweighted. Needs $t > 0$.
    """
    m, s = sde.kernel(t)
    c = sde.kernel_offset(t)
    if isinstance(dist, Gaussian):
        return Gaussian(*_gaussian_posterior(x, dist.mean, dist.cov, m, c, s))
    weights = marginal(sde, dist, t).responsibilities(x)
    if isinstance(dist, GaussianMixture):
        means, covs = jax.vmap(_gaussian_posterior, (None, 0, 0, None, None, None))(x, dist.means, dist.covs, m, c, s)
        return GaussianMixture(weights, means, covs)
    if isinstance(dist, IsotropicGaussianMixture):
        tau2 = dist.std**2
        gain = m * tau2 / (m**2 * tau2 + s**2)
        means = dist.means + gain * (_row(x) - m * dist.means - _row(c))
        return IsotropicGaussianMixture(weights, means, jnp.sqrt(tau2 - m * gain * tau2))
    if isinstance(dist, Empirical):
        return Empirical(dist.points, weights)
    raise TypeError(f"posterior: no closed form for {type(dist).__name__}")
