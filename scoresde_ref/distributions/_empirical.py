"""The empirical distribution of a finite training set (a weighted sum of point masses); its closed
forms for `push_forward` and `affine_posterior` (registered here)."""

import jax
import jax.numpy as jnp

from .._custom_types import Batch, Key, Vector
from .._validation import check_finite_array
from ._base import AbstractDistribution, check_weights, sample_components
from ._marginal import affine_posterior, as_row, push_forward
from ._mixture import IsotropicGaussianMixture


class Empirical(AbstractDistribution):
    r"""$\sum_i w_i \delta_{x_i}$: a training set `points` `(K, d)`, uniform `weights` by default.

    It has no density; its perturbed marginal $p_t$ ($t > 0$) is the
    `IsotropicGaussianMixture` returned by `marginal`, whose score is the exact (memorising)
    optimum of denoising score matching on this training set.
    """

    points: jax.Array
    weights: jax.Array

    def __init__(self, points, weights=None):
        points = jnp.asarray(points)
        if points.ndim != 2 or points.shape[0] < 1:
            raise ValueError(f"Empirical: points must have shape (K, d) with K >= 1; got {points.shape}")
        self.points = check_finite_array(points, "points", "Empirical")
        if weights is None:
            weights = jnp.full((points.shape[0],), 1.0 / points.shape[0], dtype=points.dtype)
        self.weights = check_weights(weights, "Empirical")
        if self.weights.shape[0] != points.shape[0]:
            raise ValueError(
                f"Empirical: weights must have shape ({points.shape[0]},); got {self.weights.shape}"
            )

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    @property
    def mean(self) -> Vector:
        return self.weights @ self.points

    def sample(self, key: Key, n: int) -> Batch:
        """Draw `n` training points with replacement, according to `weights`."""
        return self.points[sample_components(key, self.weights, self.check_n(n))]


@push_forward.register
def _(dist: Empirical, mean_coeff, offset, std) -> IsotropicGaussianMixture:
    return IsotropicGaussianMixture(dist.weights, mean_coeff * dist.points + as_row(offset), std)


@affine_posterior.register
def _(dist: Empirical, x: Vector, mean_coeff, offset, std) -> Empirical:
    # the same points, reweighted by the responsibilities under p_t
    return Empirical(dist.points, push_forward(dist, mean_coeff, offset, std).responsibilities(x))
