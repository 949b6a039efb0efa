r"""Samples against a truth: the 1-D Kolmogorov–Smirnov test against an exact CDF, the sliced 1-Wasserstein
distance between two samples with its two-sample noise floor, and mixture mode weights (derivations/score_error.md
§4). NumPy/SciPy on the host; the inputs are arrays `(n, d)`.
"""

import jax
import numpy as np
import scipy.stats

from .._custom_types import Key
from ..distributions._base import AbstractDistribution, gaussian_components


def mixture_cdf_1d(dist: AbstractDistribution):
    r"""$F(x) = \sum_k w_k \Phi((x - \mu_k)/\sigma_k)$ of a 1-D Gaussian or Gaussian mixture, as a NumPy function."""
    weights, means, covs, _ = (np.asarray(a) for a in gaussian_components(dist))
    if means.shape[-1] != 1:
        raise ValueError(f"mixture_cdf_1d: dist must be 1-D; got dimension {means.shape[-1]}")
    mu, sd = means[:, 0], np.sqrt(covs[:, 0, 0])

    def cdf(x):
        x = np.asarray(x, dtype=np.float64)
        return np.sum(weights * scipy.stats.norm.cdf((x[..., None] - mu) / sd), axis=-1)

    return cdf


def ks_test(samples, dist: AbstractDistribution) -> tuple[float, float]:
    r"""`(D, p-value)` of the one-sample KS test of 1-D `samples` `(n, 1)` or `(n,)` against `dist`'s exact CDF."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    result = scipy.stats.kstest(x, mixture_cdf_1d(dist))
    return float(result.statistic), float(result.pvalue)


def wasserstein_1d(x, y) -> float:
    r"""$W_1 = \int |F_x - F_y|\,dz$ between the empirical laws of two 1-D samples (any sizes), exactly."""
    x, y = np.sort(np.asarray(x, np.float64)), np.sort(np.asarray(y, np.float64))
    z = np.sort(np.concatenate([x, y]))
    fx = np.searchsorted(x, z[:-1], side="right") / x.size
    fy = np.searchsorted(y, z[:-1], side="right") / y.size
    return float(np.sum(np.abs(fx - fy) * np.diff(z)))


def random_directions(key: Key, n_projections: int, d: int) -> np.ndarray:
    """`n_projections` directions uniform on the unit sphere of $\\mathbb R^d$ (normalised Gaussians), `(m, d)`."""
    v = np.asarray(jax.random.normal(key, (int(n_projections), int(d))), np.float64)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def sliced_w1(key: Key, x, y, n_projections: int = 128) -> float:
    r"""$\mathrm{SW}_1(x, y) = \frac1m\sum_{j=1}^m W_1(\theta_j^\top x, \theta_j^\top y)$, $\theta_j$ uniform on the
    sphere from `key` (the same directions for the same key; in 1-D, $W_1$ itself)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"sliced_w1: x and y must be (n, d) and (m, d); got {x.shape} and {y.shape}")
    if x.shape[1] == 1:
        return wasserstein_1d(x[:, 0], y[:, 0])
    theta = random_directions(key, n_projections, x.shape[1])
    return float(np.mean([wasserstein_1d(x @ th, y @ th) for th in theta]))


def sliced_w1_noise_floor(
    key: Key, dist: AbstractDistribution, n: int, m: int, *, n_repeats: int = 5, n_projections: int = 128
) -> tuple[float, float]:
    r"""`(mean, std)` of $\mathrm{SW}_1$ between two independent samples of sizes `n` and `m` from `dist` itself, over
    `n_repeats` pairs: what a perfect sampler scores at these sizes (the floor a learned sampler is compared with)."""
    values = []
    for r in range(int(n_repeats)):
        k1, k2, k3 = jax.random.split(jax.random.fold_in(key, r), 3)
        values.append(sliced_w1(k3, dist.sample(k1, n), dist.sample(k2, m), n_projections))
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def mode_weights(samples, dist: AbstractDistribution) -> tuple[np.ndarray, np.ndarray]:
    r"""`(fractions, standard errors)`: the fraction of `samples` whose most responsible component of the mixture
    `dist` is $k$, and its binomial standard error $\sqrt{\hat w_k(1 - \hat w_k)/n}$, shape `(K,)` each."""
    x = jax.numpy.asarray(samples)
    k = np.asarray(jax.numpy.argmax(jax.vmap(dist.component_log_probs)(x), axis=1))
    n_components = np.asarray(gaussian_components(dist).weights).shape[0]
    w = np.bincount(k, minlength=n_components) / k.size
    return w, np.sqrt(w * (1 - w) / k.size)
