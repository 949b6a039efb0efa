"""Abstract data distributions with exact log-densities and scores."""

import abc
import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Batch, Key, Scalar, Vector
from .._validation import check, check_finite_array, check_integer, check_vector


class AbstractDistribution(eqx.Module):
    """A distribution on $\\mathbb R^d$: its `mean` $E[X]$ (a field or a property), `dim` and `sample`.

    **To add a distribution**, write a final subclass with these three, and register its closed forms
    with the `functools.singledispatch` functions that apply (in the new class's own file):
    `push_forward` and `affine_posterior` (distributions/_marginal.py; then `marginal`,
    `exact_score` and `posterior` work), and `gaussian_components` (below; then the affine-model
    objectives, Wasserstein bounds and Gauss–Hermite expectations of `sr.exact` work).
    """

    mean: eqx.AbstractVar[Vector]

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """The dimension $d$."""

    @abc.abstractmethod
    def sample(self, key: Key, n: int) -> Batch:
        """`n` independent draws, shape `(n, d)`."""

    def check_n(self, n, method: str = "sample") -> int:
        """`n` as an `int`, failing unless it is an integer >= 1 (a sample size is never rounded)."""
        return check_integer(n, "n", f"{type(self).__name__}.{method}", minimum=1)


class AbstractDensity(AbstractDistribution):
    """A distribution with a density: `log_prob` and its gradient `score`, for one `x` of shape `(d,)`."""

    def check_x(self, x: Vector, method: str) -> Vector:
        """`x`, failing unless it is one example of shape `(d,)` with this distribution's `d` (never broadcast)."""
        return check_vector(x, self.dim, "x", f"{type(self).__name__}.{method}")

    @abc.abstractmethod
    def log_prob(self, x: Vector) -> Scalar:
        """$\\log p(x)$."""

    @abc.abstractmethod
    def score(self, x: Vector) -> Vector:
        """$\\nabla_x \\log p(x)$, in closed form (equal to `jax.grad(log_prob)`)."""


class GaussianComponents(NamedTuple):
    """A distribution written as $\\sum_k w_k \\mathcal N(\\mu_k, \\Sigma_k)$: `weights` `(K,)`, `means` `(K, d)`,
    `covs` `(K, d, d)` and their lower Cholesky factors `chols` `(K, d, d)`."""

    weights: jax.Array
    means: jax.Array
    covs: jax.Array
    chols: jax.Array


@functools.singledispatch
def gaussian_components(dist: AbstractDistribution) -> GaussianComponents:
    """`dist` as a finite sum of Gaussian components (one for a `Gaussian`), for closed forms.

    A `functools.singledispatch` function: a distribution that is a Gaussian mixture registers it
    with `@gaussian_components.register` in its own file.
    """
    raise TypeError(f"closed forms need a Gaussian or GaussianMixture; got {type(dist).__name__}")


def check_weights(weights, owner: str):
    """Weights of a mixture: a vector, nonnegative, summing to 1 within 1e-6 (never renormalised)."""
    weights = jnp.asarray(weights)
    if weights.ndim != 1 or weights.shape[0] < 1:
        raise ValueError(f"{owner}: weights must be a non-empty vector of shape (K,); got shape {weights.shape}")
    weights = check(
        check_finite_array(weights, "weights", owner), jnp.all(weights >= 0), f"{owner}: weights must be >= 0"
    )
    return check(
        weights,
        jnp.abs(jnp.sum(weights) - 1) <= 1e-6,
        f"{owner}: weights must sum to 1 (within 1e-6); they are not renormalised silently",
    )


def sample_components(key: Key, weights, n: int) -> jax.Array:
    """`n` component indices drawn from a categorical law with the given weights."""
    return jax.random.choice(key, weights.shape[0], shape=(n,), p=weights)
