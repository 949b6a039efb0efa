"""Gaussian, Gaussian-mixture and empirical distributions: densities, scores, sampling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp as np_logsumexp

import scoresde_ref as sr
from helpers import assert_mean_within
from scoresde_ref.examples import documents_gmm_1d, gaussian_2d, gmm_2d


def isotropic_mixture():
    means = jnp.array([[0.0, 1.0], [2.0, -1.0], [-1.0, -1.0]])
    return sr.IsotropicGaussianMixture(jnp.array([0.2, 0.5, 0.3]), means, 0.4)


DENSITIES = {"gaussian": gaussian_2d, "gmm": gmm_2d, "isotropic_gmm": isotropic_mixture}


def scipy_log_prob(dist, x):
    """Independent route: scipy's multivariate normal densities and logsumexp, in NumPy."""
    x = np.asarray(x)
    if isinstance(dist, sr.Gaussian):
        return scipy.stats.multivariate_normal(np.asarray(dist.mean), np.asarray(dist.cov)).logpdf(x)
    if isinstance(dist, sr.GaussianMixture):
        covs = np.asarray(dist.covs)
    else:
        covs = np.asarray(dist.std) ** 2 * np.broadcast_to(np.eye(dist.dim), (len(dist.weights), dist.dim, dist.dim))
    comps = [scipy.stats.multivariate_normal(mu, c).logpdf(x) for mu, c in zip(np.asarray(dist.means), covs)]
    return np_logsumexp(np.log(np.asarray(dist.weights)) + np.array(comps))


coordinate = st.floats(-8.0, 8.0)


@pytest.mark.parametrize("name", sorted(DENSITIES))
@given(x0=coordinate, x1=coordinate)
def test_score_equals_grad_log_prob(name, x0, x1):
    """Analytic score == jax.grad(log_prob), and log_prob == scipy's (12 digits).

    Planted bug caught: a covariance instead of a precision in the score, or a missing
    log-determinant (scipy comparison)."""
    dist = DENSITIES[name]()
    x = jnp.array([x0, x1])
    np.testing.assert_allclose(dist.score(x), jax.grad(dist.log_prob)(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dist.log_prob(x), scipy_log_prob(dist, x), rtol=1e-12)


def numpy_score(dist, x):
    """Independent route: Σ_k r_k (−Σ_k⁻¹(x − μ_k)) with r_k from scipy log-densities, in NumPy."""
    x = np.asarray(x)
    if isinstance(dist, sr.Gaussian):
        return -np.linalg.solve(np.asarray(dist.cov), x - np.asarray(dist.mean))
    means = np.asarray(dist.means)
    if isinstance(dist, sr.GaussianMixture):
        covs = np.asarray(dist.covs)
    else:
        covs = np.asarray(dist.std) ** 2 * np.broadcast_to(np.eye(dist.dim), (len(means), dist.dim, dist.dim))
    logits = np.log(np.asarray(dist.weights)) + np.array(
        [scipy.stats.multivariate_normal(mu, c).logpdf(x) for mu, c in zip(means, covs)]
    )
    r = np.exp(logits - np_logsumexp(logits))
    return sum(r_k * -np.linalg.solve(c, x - mu) for r_k, mu, c in zip(r, means, covs))


@pytest.mark.parametrize("name", sorted(DENSITIES))
def test_far_from_modes(name):
    """At |x| = 1e3 the log-density and score are finite and equal to an independent NumPy/scipy
    evaluation (to 1e-10; the score is O(|x|/σ²) and carries rounding from x − μ_k).

    Planted bug caught: log(sum(exp(...))) underflows to -inf and the score becomes nan."""
    dist = DENSITIES[name]()
    for x in [jnp.array([1e3, 0.0]), jnp.array([-7e2, 7e2]), jnp.array([0.0, -1e3])]:
        lp, score = dist.log_prob(x), dist.score(x)
        assert jnp.isfinite(lp) and jnp.all(jnp.isfinite(score))
        np.testing.assert_allclose(lp, scipy_log_prob(dist, x), rtol=1e-12)
        np.testing.assert_allclose(score, numpy_score(dist, x), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(DENSITIES))
def test_sample_moments(name, getkey):
    """Sample mean and covariance within 5 standard errors of the exact ones (n = 100,000).

    SE of a mean: √(Σ_ii/n); of a covariance entry: √((Σ_ii Σ_jj + Σ_ij²)/n) for Gaussian
    data, and the empirical fourth moments for mixtures. Each of the 5 comparisons fails with
    probability < 6e-7 under the CLT."""
    dist = DENSITIES[name]()
    n = 100_000
    xs = dist.sample(getkey(), n)
    assert xs.shape == (n, 2)
    mean = dist.mean
    centered = xs - mean[None]
    cov_hat = centered.T @ centered / n
    exact_cov = _exact_cov(dist)
    assert_mean_within(xs, mean, jnp.diagonal(exact_cov))  # 5 √(Σ_ii/n)
    prods = centered[:, :, None] * centered[:, None, :]
    se = jnp.sqrt(jnp.var(prods, axis=0) / n)
    assert jnp.all(jnp.abs(cov_hat - exact_cov) < 5 * se)


def _exact_cov(dist):
    return sr.exact.moments(dist)[1]  # law of total covariance over the Gaussian components


def test_documents_gmm_1d_ks(getkey):
    """Samples of ½N(−3, 1/4) + ½N(3, 1) (000 §5.1) pass a KS test against its exact CDF at α = 1e-6."""
    dist = documents_gmm_1d()
    xs = np.asarray(dist.sample(getkey(), 20_000)[:, 0])
    cdf = lambda x: 0.5 * scipy.stats.norm.cdf(x, -3.0, 0.5) + 0.5 * scipy.stats.norm.cdf(x, 3.0, 1.0)  # noqa: E731
    assert scipy.stats.kstest(xs, cdf).pvalue > 1e-6


def test_empirical_sampling_and_mean(getkey):
    """Empirical draws are training points, with frequencies matching the weights (5 SE)."""
    points = jnp.array([[0.0, 1.0], [2.0, 3.0], [5.0, -1.0]])
    w = jnp.array([0.2, 0.5, 0.3])
    dist = sr.Empirical(points, w)
    np.testing.assert_allclose(dist.mean, w @ points, rtol=1e-15)
    n = 50_000
    xs = dist.sample(getkey(), n)
    hits = (xs[:, None, :] == points[None]).all(-1)
    assert bool(hits.any(-1).all())
    assert_mean_within(hits.astype(w.dtype), w, w * (1 - w))  # frequencies: 5 √(w(1 − w)/n)
