r"""Expectations under Gaussians and Gaussian mixtures by tensor-product Gauss–Hermite quadrature.

$E_{\mathcal N(\mu, LL^\top)}[f] = \pi^{-d/2} \sum_j w_j f(\mu + \sqrt2 L \xi_j)$ over the $n^d$ nodes
$\xi_j$; a mixture sums its components with their weights. Exact for polynomials of degree
$\le 2n - 1$ in each coordinate, and geometrically convergent for integrands analytic in a strip
(e.g. $\|A x + b - \nabla\log p(x)\|^2$ for a mixture $p$). Meant for $d \le 3$: the cost is $K n^d$.
Used for the Fisher divergence of mixtures, which has no closed form (derivations/losses.md).
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Array, Vector
from ..distributions._base import AbstractDistribution, gaussian_components


def _grid(n_nodes: int, d: int, dtype) -> tuple[Array, Array]:
    xi, w = np.polynomial.hermite.hermgauss(n_nodes)
    nodes = np.stack(np.meshgrid(*([xi] * d), indexing="ij"), axis=-1).reshape(-1, d)
    weights = np.prod(np.stack(np.meshgrid(*([w] * d), indexing="ij"), axis=-1).reshape(-1, d), axis=-1)
    return jnp.asarray(np.sqrt(2.0) * nodes, dtype), jnp.asarray(weights / np.pi ** (d / 2), dtype)


def gauss_hermite_expectation(fn: Callable[[Vector], Array], dist: AbstractDistribution, n_nodes: int = 40) -> Array:
    """$E_{x \\sim \\text{dist}}[f(x)]$ for a `Gaussian` or `GaussianMixture` (any distribution with
    `gaussian_components`), `n_nodes` per dimension."""
    weights, means, _, chols = gaussian_components(dist)
    nodes, node_weights = _grid(n_nodes, means.shape[1], means.dtype)

    def component(mean, chol):
        values = jax.vmap(lambda xi: fn(mean + chol @ xi))(nodes)
        return jnp.tensordot(node_weights, values, axes=1)

    return jnp.tensordot(weights, jax.vmap(component)(means, chols), axes=1)
