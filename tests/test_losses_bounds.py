"""The likelihood-weighting bound (002, Song et al. 2021) with both sides computed exactly, and
the OU convergence bound in W2 (001), for Gaussian and Gaussian-mixture data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.stats

import scoresde_ref as sr
from scoresde_ref.examples import documents_gmm_1d, gaussian_2d, gmm_2d

PERTURB_B = jnp.array([[0.6, -0.3], [0.2, 0.4]])
PERTURB_BETA = jnp.array([0.5, -0.4])
DELTAS = jnp.array([0.0, 0.1, 0.3, 1.0, 2.0])
SDES = {"VP": sr.VPSDE, "VE": lambda: sr.VESDE(0.01, 5.0)}


def _perturbed(sde, dist, delta):
    exact = sr.exact_score_coeffs(sde, dist)
    return lambda t: (exact(t)[0] + delta * PERTURB_B, exact(t)[1] + delta * PERTURB_BETA)


@pytest.mark.parametrize("sde_name", sorted(SDES))
def test_likelihood_weighting_bound_holds(sde_name):
    """KL(p_0 ‖ p_θ) ≤ ½∫ g² E‖s_θ − ∇log p_t‖² dt + KL(p_T ‖ π) for s_θ = exact score + δ(Bx + β),
    δ ∈ {0, 0.1, 0.3, 1, 2}, Gaussian data: the left by the exact Gaussian law of the reverse
    SDE's output (moment ODEs, diffrax, rtol 1e-12), the right by quadrature of a closed form.
    The gap is ≥ 0 (beyond the 1e-9 ODE/quadrature error), grows with δ, and the left is > 0
    for δ > 0. Planted bug caught: a reverse drift f + g² s (sign), which makes p_θ far from p_0
    and breaks the inequality. (Dropping the ½ of the score term would keep the inequality true;
    test_score_term_and_kl_against_scipy pins that term's value.)"""
    sde, dist = SDES[sde_name](), gaussian_2d()
    sides = jax.jit(
        jax.vmap(lambda delta: sr.likelihood_weighting_bound(sde, dist, _perturbed(sde, dist, delta)))
    )(DELTAS)
    assert jnp.all(sides["gap"] >= -1e-9), sides
    assert jnp.all(sides["kl_data_model"][1:] > 0)
    assert jnp.all(jnp.diff(sides["bound"]) > 0)
    np.testing.assert_allclose(sides["score_term"][0], 0.0, atol=1e-15)


def test_reverse_output_law_against_closed_form():
    """The reverse-SDE output law computed by the moment ODEs equals a closed form: for OU
    (constant a = −θ, g² = σ²) and a constant symmetric model s(x) = Kx + k, the reverse SDE is a
    time-homogeneous OU, ν(T) = e^{FT}ν0 + F⁻¹(e^{FT} − I)φ, P(T) = e^{FT}P0e^{FT} + σ²(e^{2FT} − I)(2F)⁻¹,
    F = θI + σ²K (scipy expm). With the exact score started at p_T the output is p_0 (1e-10).
    Planted bug caught: P' missing the transpose term P Fᵀ, or the reversed time t = u."""
    theta, sigma, T = 0.7, 1.3, 1.5
    sde = sr.OUSDE(theta, sigma, T=T)
    K, k = jnp.array([[-1.2, 0.3], [0.3, -0.8]]), jnp.array([0.2, -0.1])
    prior = sr.Gaussian(jnp.array([0.3, -0.2]), jnp.array([[1.5, 0.2], [0.2, 0.9]]))
    out = jax.jit(lambda: sr.reverse_sde_output(sde, lambda t: (K, k), prior))()
    F = theta * np.eye(2) + sigma**2 * np.asarray(K)
    phi = sigma**2 * np.asarray(k)
    E = scipy.linalg.expm(F * T)
    nu = E @ np.asarray(prior.mean) + np.linalg.solve(F, (E - np.eye(2)) @ phi)
    P = E @ np.asarray(prior.cov) @ E.T + sigma**2 * (scipy.linalg.expm(2 * F * T) - np.eye(2)) @ np.linalg.inv(2 * F)
    np.testing.assert_allclose(out.mean, nu, rtol=1e-10)
    np.testing.assert_allclose(out.cov, P, rtol=1e-10)

    dist = gaussian_2d()
    for sde in [sr.VPSDE(), sr.SubVPSDE()]:
        back = jax.jit(
            lambda sde: sr.reverse_sde_output(sde, sr.exact_score_coeffs(sde, dist), sr.marginal(sde, dist, sde.T))
        )(sde)
        np.testing.assert_allclose(back.mean, dist.mean, atol=1e-10)
        np.testing.assert_allclose(back.cov, dist.cov, atol=1e-10)


def test_score_term_and_kl_against_scipy():
    """The right side's score term (256-node Gauss–Legendre) equals scipy.integrate.quad of the same
    closed-form integrand (epsabs 1e-13), and gaussian_kl equals the Monte-Carlo-free formula via
    scipy (log-densities averaged by 2-D Gauss–Hermite). VP, δ = 0.5."""
    sde, dist = sr.VPSDE(), gaussian_2d()
    coeffs = _perturbed(sde, dist, 0.5)
    exact = sr.exact_score_coeffs(sde, dist)

    @jax.jit
    def integrand(t):
        (K, k), (Ks, ks) = coeffs(t), exact(t)
        return 0.5 * sde.diffusion(t) ** 2 * sr.expected_sq_norm(sr.marginal(sde, dist, t), K - Ks, k - ks)

    quad, _ = scipy.integrate.quad(lambda t: float(integrand(t)), 0.0, 1.0, epsabs=1e-13, epsrel=1e-12, limit=200)
    np.testing.assert_allclose(jax.jit(lambda: sr.score_error_integral(sde, dist, coeffs))(), quad, rtol=1e-10)

    p, q = dist, sr.Gaussian(jnp.array([0.1, 0.2]), jnp.array([[2.0, -0.3], [-0.3, 1.0]]))
    log_ratio = lambda x: p.log_prob(x) - q.log_prob(x)  # noqa: E731  (quadratic: 3 nodes are exact)
    kl, kl_quad = jax.jit(lambda: (sr.gaussian_kl(p, q), sr.gauss_hermite_expectation(log_ratio, p, 3)))()
    np.testing.assert_allclose(kl, kl_quad, rtol=1e-12)


def test_w2_of_gaussians_against_independent_routes():
    """gaussian_w2 equals √((μ1−μ2)² + (σ1−σ2)²) in 1-D, ‖√Σ1 − √Σ2‖_F for commuting covariances
    (plus the mean term), and the scipy.linalg.sqrtm Bures formula for general ones.
    Planted bug caught: tr(Σ1^{1/2}Σ2^{1/2}) in place of tr((Σ2^{1/2}Σ1Σ2^{1/2})^{1/2})."""
    one = lambda m, v: sr.Gaussian(jnp.array([m]), jnp.array([[v]]))  # noqa: E731
    np.testing.assert_allclose(sr.gaussian_w2(one(0.3, 4.0), one(-1.0, 0.25)), np.hypot(1.3, 1.5), rtol=1e-14)
    D1, D2 = np.diag([1.0, 4.0]), np.diag([9.0, 0.25])
    w2 = sr.gaussian_w2(sr.Gaussian(jnp.zeros(2), jnp.asarray(D1)), sr.Gaussian(jnp.ones(2), jnp.asarray(D2)))
    np.testing.assert_allclose(w2, np.sqrt(2 + np.sum((np.sqrt(D1) - np.sqrt(D2)) ** 2)), rtol=1e-14)
    p, q = gaussian_2d(), sr.Gaussian(jnp.array([1.0, 0.0]), jnp.array([[2.0, -0.7], [-0.7, 1.0]]))
    Sp, Sq = np.asarray(p.cov), np.asarray(q.cov)
    rq = scipy.linalg.sqrtm(Sq).real
    w2sq = np.sum((np.asarray(p.mean - q.mean)) ** 2) + np.trace(Sp + Sq - 2 * scipy.linalg.sqrtm(rq @ Sp @ rq).real)
    np.testing.assert_allclose(sr.gaussian_w2(p, q), np.sqrt(w2sq), rtol=1e-12)


@jax.jit
def _w2_and_bound(ou, dist, target, ts):
    w2 = jax.vmap(lambda t: sr.gaussian_w2(sr.marginal(ou, dist, t), target))(ts)
    return w2, jax.vmap(lambda t: sr.ou_w2_bound(dist, t))(ts)


@jax.jit
def _mixture_bounds(ou, dist, target, ts):
    lower, upper = jax.vmap(lambda t: sr.mixture_w2_bounds(sr.marginal(ou, dist, t), target))(ts)
    return lower, upper, jax.vmap(lambda t: sr.ou_w2_bound(dist, t))(ts)


def _quantiles(cdf, us, lo=-20.0, hi=20.0, n_iter=60):
    """Vectorised bisection: x with cdf(x) = u to (hi − lo) 2^{−60}."""
    lo, hi = np.full_like(us, lo), np.full_like(us, hi)
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        below = cdf(mid) < us
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def test_ou_w2_bound_gaussian_data():
    """001: W2(Law(X_t), N(0, I)) ≤ e^{−t}(E^{1/2}‖X_0‖² + √d) for dX = −X dt + √2 dB, with W2 exact
    (Gaussian data; 40 times in [0, 5]); W2 contracts at least by e^{−(t−s)}; and the rate is
    sharp: for X_0 ~ N(μ, I), W2 = e^{−t}‖μ‖ exactly, so the fitted slope of log W2 is −1 (±1e-10).
    Planted bug caught: a bound with rate e^{−2t} (fails at large t for the mean-shift data)."""
    ou, target = sr.OUSDE(1.0, 2**0.5, T=5.0), sr.Gaussian(jnp.zeros(2), jnp.eye(2))
    ts = jnp.linspace(0.0, 5.0, 40)
    for dist in [gaussian_2d(), sr.Gaussian(jnp.array([3.0, -4.0]), jnp.eye(2))]:
        w2, bound = _w2_and_bound(ou, dist, target, ts)
        assert jnp.all(w2 <= bound)
        assert jnp.all(w2[1:] <= jnp.exp(-(ts[1:] - ts[:-1])) * w2[:-1] * (1 + 1e-12))
    slope = np.polyfit(np.asarray(ts), np.log(np.asarray(w2)), 1)[0]
    assert abs(slope + 1) < 1e-10
    wrong = jnp.exp(-2 * ts) * (5.0 + jnp.sqrt(2.0))
    assert jnp.any(w2 > wrong)


def test_ou_w2_bound_gmm_data():
    """For GMM data: Gelbrich lower bound ≤ W2 ≤ component-coupling upper bound ≤ 001's bound, at
    20 times in [0, 4]. In 1-D (½N(−3, ¼) + ½N(3, 1), 000 §5.1) the exact W2 by quantile
    functions (∫₀¹ (F⁻¹ − G⁻¹)² du, 2,000-point midpoint rule, quantiles by bisection to 4e-17; the
    midpoint rule's error, dominated by the tails, is < 1e-3) lies between the two bounds."""
    ou = sr.OUSDE(1.0, 2**0.5, T=4.0)
    for dist in [gmm_2d(), documents_gmm_1d()]:
        d = dist.dim
        target = sr.Gaussian(jnp.zeros(d), jnp.eye(d))
        lower, upper, bound = _mixture_bounds(ou, dist, target, jnp.linspace(0.0, 4.0, 20))
        assert jnp.all(lower <= upper) and jnp.all(upper <= bound)
    p_t = sr.marginal(ou, documents_gmm_1d(), 0.5)
    w, mu, sd = np.asarray(p_t.weights), np.asarray(p_t.means[:, 0]), np.sqrt(np.asarray(p_t.covs[:, 0, 0]))
    cdf = lambda x: np.sum(w[None] * scipy.stats.norm.cdf((x[:, None] - mu[None]) / sd[None]), axis=1)  # noqa: E731
    us = (np.arange(2000) + 0.5) / 2000
    quantiles = _quantiles(cdf, us)
    exact = np.sqrt(np.mean((quantiles - scipy.stats.norm.ppf(us)) ** 2))
    lower, upper = sr.mixture_w2_bounds(p_t, sr.Gaussian(jnp.zeros(1), jnp.eye(1)))
    assert float(lower) - 1e-3 <= exact <= float(upper) + 1e-3
