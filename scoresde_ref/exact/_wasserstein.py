r"""The 2-Wasserstein distance between Gaussians, bounds for mixtures, and the OU convergence bound.

001_cbf75b2ce1966cfb.txt "Análisis del proceso Ornstein-Uhlenbeck": for $dX = -X\,dt + \sqrt2\,dB$,
$W_2(\mathcal L(X_t), \mathcal N(0, I)) \le e^{-t}\{E^{1/2}\|X_0\|^2 + d^{1/2}\}$
(synchronous coupling contracts by $e^{-t}$, then the triangle inequality through $\delta_0$;
derivations/losses.md).
"""

import jax.numpy as jnp

from .._custom_types import Matrix, Scalar, ScalarLike
from ..distributions._base import AbstractDistribution, gaussian_components
from ..distributions._gaussian import Gaussian
from ._affine_objectives import expected_sq_norm, moments


def _psd_sqrt(S: Matrix) -> Matrix:
    vals, vecs = jnp.linalg.eigh(0.5 * (S + S.T))
    return (vecs * jnp.sqrt(jnp.maximum(vals, 0.0))[None]) @ vecs.T


def _w2_squared(mean_p, cov_p, mean_q, cov_q) -> Scalar:
    root_q = _psd_sqrt(cov_q)
    cross = jnp.trace(_psd_sqrt(root_q @ cov_p @ root_q))
    return jnp.sum((mean_p - mean_q) ** 2) + jnp.trace(cov_p) + jnp.trace(cov_q) - 2 * cross


def gaussian_w2(p: Gaussian, q: Gaussian) -> Scalar:
    r"""$W_2(p, q)^2 = \|\mu_p - \mu_q\|^2 + \mathrm{tr}\,\Sigma_p + \mathrm{tr}\,\Sigma_q
    - 2\,\mathrm{tr}(\Sigma_q^{1/2}\Sigma_p\Sigma_q^{1/2})^{1/2}$ (exact for Gaussians)."""
    return jnp.sqrt(jnp.maximum(_w2_squared(p.mean, p.cov, q.mean, q.cov), 0.0))


def mixture_w2_bounds(p: AbstractDistribution, q: Gaussian) -> tuple[Scalar, Scalar]:
    r"""`(lower, upper)` bounds on $W_2(p, q)$ for a Gaussian mixture $p = \sum_k w_k p_k$ and Gaussian $q$.

    Lower (Gelbrich): $W_2$ between the Gaussians with $p$'s and $q$'s means and covariances.
    Upper: couple each component with $q$ optimally, $W_2^2 \le \sum_k w_k W_2(p_k, q)^2$ (since $q = \sum_k w_k q$).
    """
    weights, means, covs, _ = gaussian_components(p)
    mean, cov = moments(p)
    lower = jnp.sqrt(jnp.maximum(_w2_squared(mean, cov, q.mean, q.cov), 0.0))
    per_component = jnp.stack([_w2_squared(means[k], covs[k], q.mean, q.cov) for k in range(weights.shape[0])])
    return lower, jnp.sqrt(jnp.maximum(weights @ per_component, 0.0))


def ou_w2_bound(dist: AbstractDistribution, t: ScalarLike) -> Scalar:
    r"""$e^{-t}\{E^{1/2}\|X_0\|^2 + \sqrt d\}$ for $X_0 \sim$ `dist` (001, OU process $dX = -X dt + \sqrt2 dB$)."""
    d = dist.dim
    eye = jnp.eye(d, dtype=jnp.result_type(dist.mean))
    second_moment = expected_sq_norm(dist, eye, jnp.zeros(d, eye.dtype))
    return jnp.exp(-t) * (jnp.sqrt(second_moment) + jnp.sqrt(d))
