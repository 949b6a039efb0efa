"""Each erratum of derivations/ERRATA.md that concerns the forward SDEs: the document's
formula fails a check that the library's formula passes. Both sides are asserted, so each test
demonstrably fails on the document's version."""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
from test_fokker_planck import RTOL, max_relative_residuals

import scoresde_ref as sr
from scoresde_ref.examples import gaussian_2d, sde_zoo

WRONG = 1e-2  # a wrong formula leaves an O(1) relative residual; 1e-2 is far above rounding (1e-10)


def _residual(sde, log_density, t, dist_t):
    xs = dist_t.sample(jax.random.key(0), 4)
    log_res, _ = max_relative_residuals(sde, log_density, jnp.asarray(t), xs)
    return float(log_res)


def test_002_ou_stationary_initial_variance():
    """002 "Example: 1-dim OU": "if x_0 ~ N(0, σ²/θ) then x_t ~ N(0, σ²/(2θ))" is false; the
    stationary start is N(0, σ²/(2θ))."""
    theta, sigma = 0.7, 1.3
    sde = sr.OUSDE(theta, sigma, T=3.0)
    stationary = sigma**2 / (2 * theta)
    for t in [0.5, 2.0]:
        from_doc = sr.marginal(sde, sr.Gaussian(jnp.zeros(1), jnp.array([[sigma**2 / theta]])), t)
        from_ours = sr.marginal(sde, sr.Gaussian(jnp.zeros(1), jnp.array([[stationary]])), t)
        assert abs(float(from_doc.cov[0, 0]) / stationary - 1) > WRONG
        np.testing.assert_allclose(from_ours.cov[0, 0], stationary, rtol=1e-14)


def test_002_ou_fokker_planck_sign():
    """002 "Example: 1-dim OU": "0 = ∂_t p − ∂_x(f p) + g²/2 ∂²p" has the sign of ∂_t p (or of the
    other two terms) flipped; on a non-stationary OU marginal it is O(1), ours vanishes."""
    sde = sr.OUSDE(1.0, 2**0.5, T=2.0)
    dist = sr.Gaussian(jnp.array([1.0]), jnp.array([[0.3]]))
    density = lambda x, t: jnp.exp(sr.marginal(sde, dist, t).log_prob(x))  # noqa: E731
    for x in [jnp.array([0.2]), jnp.array([1.5])]:
        dt_p, flux, diff = sr.fokker_planck_terms(sde, density, x, 0.4)  # diff = −½ g² ∂²p
        scale = abs(dt_p) + abs(flux) + abs(diff)
        slide = dt_p - flux - diff
        assert abs(float(slide)) / float(scale) > WRONG
        assert abs(float(dt_p + flux + diff)) / float(scale) < RTOL


def test_002_brownian_density_normalisation():
    """002 "Brownian motion": the density of w_t is written 1/√(2t) e^{−x²/2t}; it integrates to
    √π, not 1. The library's N(0, t) density integrates to 1."""
    t = 0.7
    slide, _ = scipy.integrate.quad(lambda x: np.exp(-(x**2) / (2 * t)) / np.sqrt(2 * t), -np.inf, np.inf)
    _, std = sr.BrownianMotion().kernel(t)
    law = sr.Gaussian(jnp.zeros(1), std**2 * jnp.eye(1))  # w_t | w_0 = 0
    ours, _ = scipy.integrate.quad(lambda x: float(jnp.exp(law.log_prob(jnp.array([x])))), -np.inf, np.inf)
    assert abs(slide - 1) > WRONG
    np.testing.assert_allclose(slide, np.sqrt(np.pi), rtol=1e-10)
    np.testing.assert_allclose(ours, 1.0, rtol=1e-10)


def test_002_ve_kernel_is_not_the_law_from_time_zero():
    """002 "General VE SDE" / "SDE in the wild (SMLD)": σ_t² = σ²(t). At t = 0 this is σ_min² > 0,
    but x(0) | x(0) is a point mass; the law from time 0 has σ²(t) − σ²(0). σ²(t) is the exact law
    only for x(0) ~ N(x_0, σ_min² I), which the quadrature route confirms."""
    sde = sde_zoo()["VE"]
    assert float(sde.kernel(0.0)[1]) == 0.0
    assert float(sde.reference_kernel(0.0)[1]) == sde.sigma_min
    numerical = sr.AffineSDE.from_sde(sde)
    x0 = jnp.array([0.3])
    # At small t the two conventions differ at O(1) (σ(t) ≈ σ_min while the exact std → 0).
    assert abs(float(sde.reference_kernel(1e-3)[1] / numerical.kernel(1e-3)[1]) - 1) > WRONG
    for t in [1e-3, 0.5]:
        np.testing.assert_allclose(sde.kernel(t)[1], numerical.kernel(t)[1], rtol=1e-12)
        pre_noised = sr.marginal(sde, sr.Gaussian(x0, jnp.array([[sde.sigma_min**2]])), t)
        np.testing.assert_allclose(pre_noised.cov[0, 0], sde.reference_kernel(t)[1] ** 2, rtol=1e-12)


def test_004_power_sde_std_is_sqrt_of_stated_expression():
    """004 §2.1 calls (σ^{2t} − 1)/(2 log σ) the marginal standard deviation of dx = σ^t dw; it is
    the variance (quadrature of g² = σ^{2t}); the std is its square root."""
    sde = sde_zoo()["sigma_t"]
    sigma = 25.0
    for t in [0.2, 1.0]:
        stated = (sigma ** (2 * t) - 1) / (2 * np.log(sigma))
        _, std = sr.AffineSDE.from_sde(sde).kernel(t)
        np.testing.assert_allclose(std**2, stated, rtol=1e-12)
        np.testing.assert_allclose(sde.kernel(t)[1], np.sqrt(stated), rtol=1e-12)
        assert abs(float(std) / stated - 1) > WRONG


def test_001_kernel_score_noise_form():
    """001 "Denoising Score matching": ∇log p_{k|0}(X_k | X_0) = −Ẑ_k/σ_k² with X_k = m_k X_0 + σ_k Ẑ_k;
    it is −Ẑ_k/σ_k. Checked on the OU kernel (the chain's continuous limit) where σ_t ≠ 1."""
    sde = sr.OUSDE(1.0, 2**0.5)
    x0, z = jnp.array([0.4, -1.0]), jnp.array([0.8, 0.3])
    for t in [0.1, 0.5]:
        m, s = sde.kernel(t)
        score = sde.kernel_score(m * x0 + s * z, x0, t)
        np.testing.assert_allclose(score, -z / s, rtol=1e-13)
        assert float(jnp.max(jnp.abs(score - (-z / s**2)))) > WRONG


def test_000_smld_perturbation_kernel_is_centred_at_the_data():
    """000 appendix A: p_σ(x̃ | x) = MVN(x̃; 0, σ² I) (mean 0). With that kernel the DSM target
    −x̃/σ² averages (Tweedie) to a wrong score for data with a non-zero mean; the kernel centred at
    x gives E[−(x̃ − x)/σ² | x̃] = ∇log p_σ(x̃)."""
    sde, dist = sr.BrownianMotion(sigma=1.0), gaussian_2d()  # dx = dw: x̃ = x + σ z with σ² = t
    t = 0.3
    x_tilde = jnp.array([0.8, -0.2])
    exact = sr.marginal(sde, dist, t).score(x_tilde)
    _, s = sde.kernel(t)
    posterior_mean = sr.posterior(sde, dist, x_tilde, t).mean
    ours = -(x_tilde - posterior_mean) / s**2
    doc = -x_tilde / s**2  # the kernel score of MVN(x̃; 0, σ²I) does not depend on x
    np.testing.assert_allclose(ours, exact, rtol=1e-12, atol=1e-12 * float(jnp.max(jnp.abs(exact))))
    assert float(jnp.max(jnp.abs(doc - exact))) > WRONG


def test_001_ou_closed_form_holds_in_law_only(getkey):
    """001 "Análisis del proceso Ornstein-Uhlenbeck": X_t = e^{-t}X_0 + B_{1−e^{−2t}} has the right law at
    each t, but as a process Cov(X_s, X_t) = 1 − e^{−2 min(s,t)} (X_0 = 0), whereas the OU process has
    e^{−(t−s)}(1 − e^{−2s}). Simulated OU pairs (Markov property, exact kernels, n = 200,000) match
    the latter within 5 SE and not the former."""
    sde = sr.OUSDE(1.0, 2**0.5, T=2.0)
    s_, t_ = 0.3, 1.0
    n = 200_000
    x0 = jnp.zeros((n, 1))
    xs = jax.vmap(sde.perturb, (0, 0, None))(jax.random.split(getkey(), n), x0, s_)
    xt = jax.vmap(sde.perturb, (0, 0, None))(jax.random.split(getkey(), n), xs, t_ - s_)
    cov_mc = float(jnp.mean(xs * xt))
    se = float(jnp.std(xs * xt)) / np.sqrt(n)
    ou = np.exp(-(t_ - s_)) * (1 - np.exp(-2 * s_))
    doc = 1 - np.exp(-2 * s_)
    assert abs(cov_mc - ou) < 5 * se
    assert abs(cov_mc - doc) > 20 * se


def test_001_gan_value_at_the_optimal_discriminator():
    """001 "Definición Formal de una GAN": V(μ_G, D*) = JS(π, μ_G) − 2 ln 2. With the (normalised)
    Jensen–Shannon divergence JS = ½KL(π‖m) + ½KL(μ_G‖m), m = (π + μ_G)/2, the value is
    2 JS − 2 ln 2, with minimum −ln 4 at μ_G = π. Checked by quadrature on 1-D Gaussians."""
    import scipy.stats

    def value_and_js(mu_g, sd_g):
        lp = scipy.stats.norm(0.0, 1.0).logpdf
        lq = scipy.stats.norm(mu_g, sd_g).logpdf
        lm = lambda x: np.logaddexp(lp(x), lq(x)) - np.log(2)  # noqa: E731
        # both densities are below 1e-30 outside [-12, 12]: the truncation error is negligible
        quad = lambda f: scipy.integrate.quad(f, -12, 12, limit=400, epsabs=1e-13, epsrel=1e-12)[0]  # noqa: E731
        log_d = lambda x: lp(x) - np.logaddexp(lp(x), lq(x))  # noqa: E731  log D*
        log_1md = lambda x: lq(x) - np.logaddexp(lp(x), lq(x))  # noqa: E731  log(1 − D*)
        v = quad(lambda x: np.exp(lp(x)) * log_d(x) + np.exp(lq(x)) * log_1md(x))
        js = 0.5 * quad(lambda x: np.exp(lp(x)) * (lp(x) - lm(x)))
        js += 0.5 * quad(lambda x: np.exp(lq(x)) * (lq(x) - lm(x)))
        return v, js

    v, js = value_and_js(1.5, 0.7)
    assert abs(v - (js - 2 * np.log(2))) > WRONG
    np.testing.assert_allclose(v, 2 * js - 2 * np.log(2), rtol=1e-9)
    v0, js0 = value_and_js(0.0, 1.0)
    np.testing.assert_allclose([v0, js0], [-np.log(4), 0.0], atol=1e-10)


def test_000_prior_is_not_an_invariant_law_of_every_sde():
    """000 §2.1 (L61): "escolhemos a SDE de modo a termos uma distribuição invariante conhecida γ … e
    usamos que p_T ≈ γ". Of the three SDEs of its §2.3 only VP has its prior as an invariant law: started
    from N(0, I), VP stays at variance 1, while sub-VP (variance e^{−B} + (1 − e^{−B})²) and VE (variance
    σ_max² + σ(t)² − σ(0)², growing without bound) leave their priors. Their priors are approximations of
    p_T, not invariant laws. The document's claim, "π is invariant", fails for sub-VP and VE."""
    dist_of = lambda sde: sr.Gaussian(jnp.zeros(2), sde.prior_std**2 * jnp.eye(2))  # noqa: E731
    vp, sub, ve = sr.VPSDE(), sr.SubVPSDE(), sr.VESDE(0.01, 50.0)
    for t in [0.3, 0.5]:  # sub-VP returns towards N(0, I) as B(t) grows: the prior is its limit, not invariant
        np.testing.assert_allclose(sr.marginal(vp, dist_of(vp), t).cov, jnp.eye(2), rtol=1e-13)
        B = sub.integrated_beta(t)
        var_sub = sr.marginal(sub, dist_of(sub), t).cov[0, 0]
        np.testing.assert_allclose(var_sub, jnp.exp(-B) + (1 - jnp.exp(-B)) ** 2, rtol=1e-13)
        assert abs(float(var_sub) - 1) > WRONG
    # VE over [0, T]: the variance goes from σ_max² to 2σ_max² − σ_min², double the prior's.
    var_ve = sr.marginal(ve, dist_of(ve), 1.0).cov[0, 0] / 50.0**2
    np.testing.assert_allclose(var_ve, 2 - (0.01 / 50.0) ** 2, rtol=1e-13)
