"""Exact marginals p_t, exact posteriors of x(0) | x(t), and the score identity of the notes."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

import scoresde_ref as sr
from helpers import assert_mean_within
from scoresde_ref.examples import documents_gmm_1d, gaussian_2d, gmm_2d, sde_zoo


def empirical_2d():
    return sr.Empirical(jnp.array([[0.0, 1.0], [2.0, -1.0], [-1.0, -1.5], [0.5, 0.5]]))


def isotropic_2d():
    return sr.IsotropicGaussianMixture(jnp.array([0.4, 0.6]), jnp.array([[1.0, 1.0], [-1.0, 0.0]]), 0.3)


DATA = {"gaussian": gaussian_2d, "gmm": gmm_2d, "empirical": empirical_2d, "isotropic_gmm": isotropic_2d}


def test_marginal_is_closed_form_push_forward():
    """p_t of N(μ, Σ) under VP is N(e^{-B/2} μ, e^{-B} Σ + (1 − e^{-B}) I), written out by hand."""
    sde, dist, t = sr.VPSDE(0.1, 20.0), gaussian_2d(), 0.3
    B = 0.1 * t + 0.5 * (20.0 - 0.1) * t**2
    p_t = sr.marginal(sde, dist, t)
    assert isinstance(p_t, sr.Gaussian)
    np.testing.assert_allclose(p_t.mean, np.exp(-B / 2) * dist.mean, rtol=1e-14)
    np.testing.assert_allclose(p_t.cov, np.exp(-B) * dist.cov + (1 - np.exp(-B)) * np.eye(2), rtol=1e-14)
    assert isinstance(sr.marginal(sde, gmm_2d(), t), sr.GaussianMixture)
    assert isinstance(sr.marginal(sde, empirical_2d(), t), sr.IsotropicGaussianMixture)
    assert isinstance(sr.marginal(sde, isotropic_2d(), t), sr.IsotropicGaussianMixture)


def test_slides_constant_drift_example():
    """002 "Example: Forward SDE": dx = (1, 0)ᵀ dt + 0.1 dw, p_0 = N(0, 0.1 I) gives
    p_t = N((t, 0), (0.1 + 0.01 t) I) (the slide's 0.1 + t is wrong: derivations/ERRATA.md)."""
    sde = sde_zoo()["const_drift"]
    for t in [0.0, 0.25, 1.0]:
        p_t = sr.marginal(sde, sr.examples.slides_2d_p0(), t)
        np.testing.assert_allclose(p_t.mean, [t, 0.0], atol=1e-15)
        np.testing.assert_allclose(p_t.cov, (0.1 + 0.01 * t) * np.eye(2), rtol=1e-14)


@pytest.mark.parametrize("sde_name", ["VE", "VP", "subVP", "OU", "const_drift"])
@pytest.mark.parametrize("data_name", ["gaussian", "gmm", "empirical"])
def test_marginal_matches_perturbed_samples(sde_name, data_name, getkey):
    """Mean and covariance of perturb(x0 ~ p_0) match p_t's within 5 SE (n = 100,000)."""
    sde, dist = sde_zoo()[sde_name], DATA[data_name]()
    t = 0.3 * sde.T
    n = 100_000
    x0 = dist.sample(getkey(), n)
    xt = jax.vmap(sde.perturb, (0, 0, None))(jax.random.split(getkey(), n), x0, t)
    p_t = sr.marginal(sde, dist, t)
    samples_exact = p_t.sample(getkey(), n)  # p_t's own moments, estimated with the same n
    for a in (xt, samples_exact):
        assert_mean_within(a, p_t.mean, jnp.var(a, axis=0))  # 5 SE, SE from the sample variance
    cov_a = jnp.cov(xt.T)
    cov_b = jnp.cov(samples_exact.T)
    prods = (xt - xt.mean(0)[None])[:, :, None] * (xt - xt.mean(0)[None])[:, None, :]
    se = jnp.sqrt(2 * jnp.var(prods, axis=0) / n)  # difference of two independent estimates
    assert jnp.all(jnp.abs(cov_a - cov_b) < 5 * se)


def test_documents_gmm_marginal_ks(getkey):
    """Perturbed samples of ½N(−3, 1/4) + ½N(3, 1) under VP at t = 0.2 pass a KS test against the
    exact p_t's CDF (α = 1e-6)."""
    sde, dist, t = sr.VPSDE(), documents_gmm_1d(), 0.2
    n = 20_000
    x0 = dist.sample(getkey(), n)
    xt = jax.vmap(sde.perturb, (0, 0, None))(jax.random.split(getkey(), n), x0, t)
    p_t = sr.marginal(sde, dist, t)
    w, mu, var = np.asarray(p_t.weights), np.asarray(p_t.means[:, 0]), np.asarray(p_t.covs[:, 0, 0])
    cdf = lambda x: sum(w[k] * scipy.stats.norm.cdf(x, mu[k], np.sqrt(var[k])) for k in range(2))  # noqa: E731
    assert scipy.stats.kstest(np.asarray(xt[:, 0]), cdf).pvalue > 1e-6


@eqx.filter_jit
def _tweedie_routes(sde, dist, x, t):
    m, s = sde.kernel(t)
    score = sr.marginal(sde, dist, t).score(x)
    post = sr.posterior(sde, dist, x, t)
    c = sde.kernel_offset(t)
    # Both routes cancel terms of size (|x| + |m E[X0|x]| + |c|)/s²: rounding is relative to that.
    scale = (jnp.max(jnp.abs(x)) + jnp.max(jnp.abs(m * post.mean)) + jnp.max(jnp.abs(c))) / s**2
    return score, -(x - m * post.mean - c) / s**2, scale


@pytest.mark.parametrize("sde_name", sorted(sde_zoo()))
@pytest.mark.parametrize("data_name", sorted(DATA))
@given(u=st.floats(0.01, 1.0), x0=st.floats(-4.0, 4.0), x1=st.floats(-4.0, 4.0))
def test_tweedie_identity_exact(sde_name, data_name, u, x0, x1):
    """∇log p_t(x) = E[∇log p_{t|0}(x | X_0) | X_t = x] = −(x − m E[X_0|x] − c)/s².

    Left: the score of the pushed-forward family (responsibilities, Cholesky). Right: the
    posterior mean (Kalman update, reweighted points). Two routes sharing no formula; they
    agree to rounding of the cancelling terms (|x| + |m E[X0|x]| + |c|)/s² (atol 1e-10 of that
    scale; rtol 1e-8 for the conditioning of the Kalman solve).
    Planted bug caught: a posterior using p_0's responsibilities instead of p_t's."""
    sde, dist = sde_zoo()[sde_name], DATA[data_name]()
    t = jnp.asarray(u * sde.T)
    x = jnp.array([x0, x1])
    score, tweedie, scale = _tweedie_routes(sde, dist, x, t)
    np.testing.assert_allclose(score, tweedie, rtol=1e-8, atol=1e-10 * float(scale))


@pytest.mark.parametrize("data_name", ["gaussian", "gmm", "empirical"])
def test_tweedie_identity_monte_carlo(data_name, getkey):
    """The average of the kernel score over posterior samples of X_0 equals the marginal score
    within 5 SE per coordinate (n = 200,000 posterior draws)."""
    sde, dist, t = sr.VPSDE(), DATA[data_name](), 0.3
    x = jnp.array([0.4, -0.3])
    post = sr.posterior(sde, dist, x, t)
    x0s = post.sample(getkey(), 200_000)
    ks = jax.vmap(sde.kernel_score, (None, 0, None))(x, x0s, t)
    assert_mean_within(ks, sr.marginal(sde, dist, t).score(x), ks.var(0))  # 5 SE, SE from the sample variance


def test_posterior_gaussian_by_bayes_rule():
    """The Gaussian posterior equals Bayes' rule evaluated pointwise: log p(x0 | x) = log p_0(x0)
    + log p_{t|0}(x | x0) − log p_t(x), at several x0."""
    sde, dist, t = sr.OUSDE(1.0, 2**0.5), gaussian_2d(), 0.4
    x = jnp.array([0.2, 0.9])
    post = sr.posterior(sde, dist, x, t)
    m, s = sde.kernel(t)
    for x0 in [jnp.array([0.0, 0.0]), jnp.array([1.0, -2.0]), jnp.array([-0.5, 0.3])]:
        log_kernel = sr.Gaussian(m * x0, s**2 * jnp.eye(2)).log_prob(x)
        bayes = dist.log_prob(x0) + log_kernel - sr.marginal(sde, dist, t).log_prob(x)
        np.testing.assert_allclose(post.log_prob(x0), bayes, rtol=1e-12)


def test_marginal_under_jit_vmap_scan_grad():
    """marginal() inside jit, vmap over t, lax.scan over t, and grad w.r.t. traced SDE parameters;
    one compilation serves new parameter values."""
    dist = gmm_2d()
    x = jnp.array([0.1, 0.2])
    traces = []

    @jax.jit
    def log_p(beta_max, t):
        traces.append(None)
        return sr.marginal(sr.VPSDE(0.1, beta_max), dist, t).log_prob(x)

    ts = jnp.linspace(0.01, 1.0, 7)
    vals = jax.vmap(log_p, (None, 0))(20.0, ts)
    _, scanned = jax.lax.scan(lambda c, t: (c, log_p(20.0, t)), None, ts)
    np.testing.assert_allclose(vals, scanned, rtol=1e-14)
    eager = [sr.marginal(sr.VPSDE(0.1, 20.0), dist, float(t)).log_prob(x) for t in ts]
    np.testing.assert_allclose(vals, eager, rtol=1e-13)

    n_before = len(traces)
    log_p(20.0, 0.5), log_p(15.0, 0.25)
    assert len(traces) - n_before <= 1  # at most the first call of this signature compiles
    g = jax.grad(log_p)(20.0, 0.5)
    fd = (log_p(20.0 + 1e-5, 0.5) - log_p(20.0 - 1e-5, 0.5)) / 2e-5
    np.testing.assert_allclose(g, fd, rtol=1e-7)  # central difference: O(h²) ≈ 1e-10, rounding ≈ 1e-11/h


def test_exact_score_is_the_marginal_score_and_compiles_once():
    """sr.exact_score(sde, data)(x, t) == marginal(sde, data, t).score(x) (jit vs eager: a few ulps of
    reordered rounding, rtol 1e-14), and, being a
    module, it is traced by eqx.filter_jit: new SDE or data parameters of the same shapes reuse the
    compilation. Planted bug caught: a closure (a new static argument per call, so a recompile)."""
    x, t = jnp.array([0.1, 0.2]), jnp.asarray(0.3)
    traces = []

    @eqx.filter_jit
    def score(fn, x, t):
        traces.append(None)
        return fn(x, t)

    shifted = sr.GaussianMixture(gmm_2d().weights, gmm_2d().means + 1.0, gmm_2d().covs)
    for beta_max, data in [(20.0, gmm_2d()), (15.0, shifted)]:
        sde = sr.VPSDE(0.1, jnp.asarray(beta_max))
        exact = sr.marginal(sde, data, t).score(x)
        np.testing.assert_allclose(score(sr.exact_score(sde, data), x, t), exact, rtol=1e-14)
    assert len(traces) == 1
