"""Bayes' rule for scores (derivations/conditional.md §1–2, §4): the exact class posterior of a
labelled mixture, the conditional score equal to the component score, conditional reverse-SDE
samples, and the linear inverse problem with Gaussian data."""

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
from scoresde_ref.examples import documents_gmm_1d, gmm_2d

SDES = {"VP": sr.VPSDE(), "VE": sr.VESDE(0.01, 50.0), "subVP": sr.SubVPSDE()}


def three_component_two_class():
    """Class 1 owns two components: p(x | y = 1) is itself a mixture."""
    return sr.LabelledMixture(
        sr.GaussianMixture(
            jnp.array([0.2, 0.3, 0.5]),
            jnp.array([[-1.0, 0.5], [1.0, 1.0], [2.0, -1.0]]),
            jnp.array([[[0.5, 0.1], [0.1, 0.3]], [[1.0, 0.0], [0.0, 0.2]], [[0.4, -0.1], [-0.1, 0.6]]]),
        ),
        labels=(0, 1, 1),
    )


DATA = {
    "documents_1d": sr.LabelledMixture(documents_gmm_1d()),
    "gmm_2d": sr.LabelledMixture(gmm_2d()),
    "3c2y": three_component_two_class(),
}


def unconditional_score(sde, data):
    return lambda x, t: sr.marginal(sde, data.mixture, t).score(x)


@eqx.filter_jit
def _bayes_vs_component(sde, data, x, t, y):
    cond = sr.conditional_score(unconditional_score(sde, data), sr.class_log_likelihood(sde, data, y))(x, t)
    return cond, sr.marginal(sde, data.conditional(y), t).score(x)


@pytest.mark.parametrize("sde_name", ["VE", "VP"])
@pytest.mark.parametrize("data_name", ["3c2y", "documents_1d"])
@given(log_t=st.floats(-3.0, 0.0), u=st.lists(st.floats(-8.0, 8.0), min_size=2, max_size=2), y=st.integers(0, 1))
def test_exact_conditional_score_is_the_class_conditional_score(sde_name, data_name, log_t, u, y):
    """score(x, t) + ∇ log p_t(y | x) with the exact class posterior equals ∇ log p_t(x | y), the
    score of the marginal of the class-y mixture, to 1e-12 relative (float64; both sides are sums of
    O(|x|/σ²) component scores, so rounding is ~1e-15 of the largest). VE and VP cover both kernel
    forms (m = 1; m < 1); the 2-D full-covariance mixture is covered by the closed-form test below.

    Planted bugs caught: the posterior at t = 0 (p_0(y | x)) instead of p_t (differs for t > 0),
    a sign error on the gradient, labels ignored (3-component, 2-class case)."""
    sde, data = SDES[sde_name], DATA[data_name]
    x = jnp.asarray(u[: data.mixture.dim])
    t = jnp.asarray(10.0**log_t) * sde.T  # an array: one compilation for all examples
    cond, target = _bayes_vs_component(sde, data, x, t, jnp.asarray(y))
    scale = 1.0 + float(jnp.max(jnp.abs(target))) + float(jnp.max(jnp.abs(unconditional_score(sde, data)(x, t))))
    assert float(jnp.max(jnp.abs(cond - target))) <= 1e-12 * scale


def _gaussian_logpdf(x, mean, cov):
    return scipy.stats.multivariate_normal(mean, cov).logpdf(x)


@eqx.filter_jit
def _posterior_and_grads(sde, data, x, t):
    grads = jnp.stack([jax.grad(sr.class_log_likelihood(sde, data, y))(x, t) for y in range(data.n_classes)])
    return sr.class_log_posterior(sde, data, x, t), grads


@pytest.mark.parametrize("data_name", sorted(DATA))
@pytest.mark.parametrize("t", [0.0, 0.05, 0.4, 1.0])
def test_class_posterior_and_its_gradient_in_closed_form(data_name, t):
    """p_t(y | x) = Σ_{ℓ_k = y} w_k N(x; m μ_k, m² Σ_k + s² I) / Σ_k (...) by scipy densities, and
    ∇ log p_t(y | x) = Σ_{ℓ_k = y} r_{k|y} s_k − Σ_k r_k s_k with s_k = −(m²Σ_k + s²I)⁻¹(x − m μ_k),
    against `class_log_posterior` and `jax.grad`: 1e-10 relative (NumPy vs JAX linear algebra).

    Planted bugs caught: the t = 0 posterior (means not scaled by m_t, no s_t²), labels ignored (the
    component posterior in place of the class posterior: the 3-component, 2-class case fails)."""
    sde, data = sr.VPSDE(), DATA[data_name]
    m, s = (float(v) for v in sde.kernel(t))
    mix = data.mixture
    w, mu, cov = (np.asarray(v) for v in (mix.weights, mix.means, mix.covs))
    d, labels = mix.dim, np.asarray(data.labels)
    covs_t = m**2 * cov + s**2 * np.eye(d)[None]
    for x in [np.full(d, 0.3), np.linspace(-2.0, 1.5, d), np.full(d, 4.0)]:
        log_joint = np.log(w) + np.array([_gaussian_logpdf(x, m * mu[k], covs_t[k]) for k in range(len(w))])
        r = np.exp(log_joint - scipy.special.logsumexp(log_joint))
        post = np.array([r[labels == y].sum() for y in range(data.n_classes)])
        log_post, grads = _posterior_and_grads(sde, data, jnp.asarray(x), jnp.asarray(t))
        np.testing.assert_allclose(np.exp(log_post), post, rtol=1e-10, atol=1e-14)
        scores = np.array([-np.linalg.solve(covs_t[k], x - m * mu[k]) for k in range(len(w))])
        for y in range(data.n_classes):
            in_y = labels == y
            expected = (r[in_y] / r[in_y].sum()) @ scores[in_y] - r @ scores
            np.testing.assert_allclose(grads[y], expected, rtol=1e-10, atol=1e-10 * np.abs(scores).max())


def test_class_posterior_tends_to_class_weights_and_sums_to_one():
    """As t → T under VP the label becomes independent of x(t): p_T(y | x) ≈ p(y) (|m_T| = 6.6e-3, so
    within 0.1 at |x| ≤ 3); at every t the posterior sums to 1. Planted bug caught: an unnormalised
    posterior (missing − log p_t(x))."""
    sde, data = sr.VPSDE(), three_component_two_class()
    xs = jnp.linspace(-3.0, 3.0, 7)[:, None] * jnp.ones((1, 2))
    posterior = eqx.filter_jit(jax.vmap(sr.class_log_posterior, (None, None, 0, None)))
    for t in [0.01, 0.5, 1.0]:
        post = jnp.exp(posterior(sde, data, xs, jnp.asarray(t)))
        np.testing.assert_allclose(post.sum(-1), 1.0, rtol=1e-13)
    np.testing.assert_allclose(post, jnp.broadcast_to(data.class_weights, post.shape), atol=0.1)
    np.testing.assert_allclose(data.class_weights, [0.2, 0.8], rtol=1e-15)


def test_conditional_score_applies_the_scale():
    """conditional_score(s, log p_t(y|·), λ) = s + λ (s_y − s) (the exact gradient, §2), for λ = 0, 1, 3;
    λ = 0 is the unconditional score. Planted bug caught: the scale ignored (or applied to s)."""
    sde, data = sr.VPSDE(), DATA["gmm_2d"]
    score = unconditional_score(sde, data)
    x, t, y = jnp.array([0.4, -0.2]), 0.3, 0
    s, s_y = score(x, t), sr.marginal(sde, data.conditional(y), t).score(x)
    log_lik = sr.class_log_likelihood(sde, data, y)
    guided = eqx.filter_jit(lambda lam: sr.conditional_score(score, log_lik, scale=lam)(x, t))
    for lam in [0.0, 1.0, 3.0]:
        np.testing.assert_allclose(guided(jnp.asarray(lam)), s + lam * (s_y - s), rtol=1e-12, atol=1e-12)


def test_labelled_sample_has_the_joint_law(getkey):
    """`LabelledMixture.sample` draws x ~ p, y ~ p(y | x): the label frequencies are p(y) and the class-y
    sample mean is E[x | y], within 5 SE (n = 20,000). Planted bug caught: labels drawn independently of x."""
    data, n = three_component_two_class(), 20_000
    x, y = eqx.filter_jit(data.sample)(getkey(), n)
    assert_mean_within((y == 1).astype(float), 0.8, 0.16)  # frequency: 5 √(0.16/n)
    for c in range(2):
        cond = data.conditional(c)
        xc = x[y == c]
        _, cov = sr.exact.moments(cond)  # law of total covariance
        assert_mean_within(xc, cond.mean, jnp.diagonal(cov))  # 5 √(C_ii/n_y)


def _normal_cdf(p, y):
    return scipy.stats.norm(float(p.means[y, 0]), float(jnp.sqrt(p.covs[y, 0, 0]))).cdf


@pytest.mark.parametrize("y", [0, 1])
def test_conditional_reverse_sde_samples_pass_ks_against_the_component(y, getkey):
    """The reverse SDE with the exact Bayes conditional score (Euler–Maruyama, N = 1000, VP, eps = 1e-3),
    for ½N(−3, ¼) + ½N(3, 1) (000 §5.1) labelled by component: 4,000 samples pass a KS test
    against the y-th component's p_eps at α = 1e-6.

    Error budget (derivations/conditional.md §2): start at the exact p_T(· | y) (the prior mismatch
    of one component, a mean shift m_T μ_y = ∓0.0197, would move the KS distance by ≈ 0.008 — not
    negligible against the 0.0425 critical distance — and is a property of the prior, not of the
    conditional score); the conditional score equals the component score, so the discretization
    bias is that of a Gaussian sampler at N = 1000 (moment errors ≈ 2e-3, KS shift ≲ 1e-3).

    Planted bugs caught: guiding with p_0(y | x) (hard labels at all t: samples pile up at the class
    boundary side, KS p ≈ 0), a sign error (samples go to the other class)."""
    sde, data, eps = sr.VPSDE(), DATA["documents_1d"], 1e-3
    score = sr.conditional_score(unconditional_score(sde, data), sr.class_log_likelihood(sde, data, y))
    x_T = sr.marginal(sde, data.conditional(y), sde.T).sample(getkey(), 4000)
    xs, _ = eqx.filter_jit(lambda k, x: sr.pc_sample(k, sde, score, x, n_steps=1000, eps=eps))(getkey(), x_T)
    p = scipy.stats.kstest(np.asarray(xs[:, 0]), _normal_cdf(sr.marginal(sde, data.mixture, eps), y)).pvalue
    assert p > 1e-6


# --- linear inverse problems -----------------------------------------------------------------

A_3x2 = jnp.array([[1.0, -0.5], [0.3, 0.8], [0.0, 1.0]]).T  # (2, 3)


def _gaussian_3d():
    return sr.Gaussian(jnp.array([0.5, -1.0, 0.2]), jnp.array([[1.0, 0.3, 0.1], [0.3, 0.5, -0.2], [0.1, -0.2, 0.8]]))


OBS = {
    "noisy": sr.LinearObservation(A_3x2, jnp.array([0.4, -0.7]), 0.3),
    "noiseless": sr.LinearObservation(A_3x2, jnp.array([0.4, -0.7]), 0.0),
    "imputation": sr.masked_observation(jnp.array([0.9, 0.0, -0.4]), np.array([True, False, True])),
}


def test_linear_inverse_posterior_equals_information_form():
    """μ_{|y}, Σ_{|y} by the Kalman/Schur form equal the information form Σ_{|y} = (Σ⁻¹ + AᵀA/σ²)⁻¹,
    μ_{|y} = Σ_{|y}(Σ⁻¹μ + Aᵀy/σ²) (σ_y > 0), to 1e-12. For σ_y = 0 the posterior satisfies A x = y
    exactly: A μ_{|y} = y and A Σ_{|y} = 0. Planted bug caught: S without σ_y²."""
    dist = _gaussian_3d()
    obs = OBS["noisy"]
    mean, cov = sr.linear_inverse_posterior(dist, obs)
    P = np.linalg.inv(np.asarray(dist.cov))
    A, y, s2 = np.asarray(obs.A), np.asarray(obs.y), float(obs.noise_std) ** 2
    cov_info = np.linalg.inv(P + A.T @ A / s2)
    np.testing.assert_allclose(cov, cov_info, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mean, cov_info @ (P @ np.asarray(dist.mean) + A.T @ y / s2), rtol=1e-12)
    for name in ["noiseless", "imputation"]:
        mean, cov = sr.linear_inverse_posterior(dist, OBS[name])
        np.testing.assert_allclose(OBS[name].A @ mean, OBS[name].y, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(OBS[name].A @ cov, 0.0, atol=1e-14)


@eqx.filter_jit
def _linear_routes(sde, dist, obs, x, t):
    log_lik = sr.LinearInverseLogLikelihood(sde, dist, obs)
    bayes = sr.conditional_score(lambda x, t: sr.marginal(sde, dist, t).score(x), log_lik)(x, t)
    posterior = sr.LinearInverseScore(sde, dist, obs)(x, t)
    autodiff = jax.grad(lambda x: sr.linear_inverse_marginal(sde, dist, obs, t).log_prob(x))(x)
    return bayes, posterior, autodiff


@pytest.mark.parametrize("sde_name", ["VE", "VP"])
@pytest.mark.parametrize("obs_name", sorted(OBS))
@given(log_t=st.floats(-2.0, 0.0), u=st.lists(st.floats(-5.0, 5.0), min_size=3, max_size=3))
def test_linear_inverse_bayes_rule_for_scores(sde_name, obs_name, log_t, u):
    """Three routes to ∇ log p_t(x | y) agree: (i) Bayes, ∇ log p_t(x) + ∇_x log p_t(y | x) with
    p_t(y | x) = N(y; A E[x₀|x], A Cov(x₀|x) Aᵀ + σ²I) (autodiff of that closed form); (ii) the score
    of the pushed-forward posterior N(m μ_{|y}, m² Σ_{|y} + s² I); (iii) autodiff of (ii)'s log-density.
    Tolerance 1e-9 relative to the largest score: Cov(x₀ | x_t) = Σ − mΣS⁻¹mΣ cancels at small t
    (condition numbers up to ~1e3 at t = 1e-2 T).

    Planted bugs caught: p_t(y | x) without the posterior covariance term A Cov Aᵀ (right only as
    t → 0), the posterior pushed forward without m_t² on Σ_{|y}, the wrong sign of the likelihood term."""
    sde, dist, obs = SDES[sde_name], _gaussian_3d(), OBS[obs_name]
    t = jnp.asarray(10.0**log_t) * sde.T
    bayes, posterior, autodiff = _linear_routes(sde, dist, obs, jnp.asarray(u), t)
    scale = 1.0 + float(jnp.max(jnp.abs(posterior)))
    assert float(jnp.max(jnp.abs(bayes - posterior))) <= 1e-9 * scale
    assert float(jnp.max(jnp.abs(autodiff - posterior))) <= 1e-12 * scale


def test_linear_inverse_likelihood_is_the_joint_gaussian_conditional():
    """log p_t(y | x) against conditioning the joint Gaussian of (x_t, y) directly (scipy):
    Cov(x_t) = m²Σ + s²I, Cov(y, x_t) = m AΣ, Cov(y) = AΣAᵀ + σ²I; 1e-11 relative. Planted bug caught:
    the likelihood of y given x read as N(y; A x, σ²I) (the t = 0 likelihood at x_t)."""
    sde, dist, obs = sr.VPSDE(), _gaussian_3d(), OBS["noisy"]
    mu, S0 = np.asarray(dist.mean), np.asarray(dist.cov)
    A, yv, s2 = np.asarray(obs.A), np.asarray(obs.y), float(obs.noise_std) ** 2
    for t in [0.05, 0.5, 1.0]:
        m, s = (float(v) for v in sde.kernel(t))
        Sxx, Syx, Syy = m**2 * S0 + s**2 * np.eye(3), m * A @ S0, A @ S0 @ A.T + s2 * np.eye(2)
        x = np.array([0.3, -0.4, 1.1])
        mean = A @ mu + Syx @ np.linalg.solve(Sxx, x - m * mu)
        cov = Syy - Syx @ np.linalg.solve(Sxx, Syx.T)
        got = float(sr.LinearInverseLogLikelihood(sde, dist, obs)(jnp.asarray(x), t))
        np.testing.assert_allclose(got, _gaussian_logpdf(yv, mean, cov), rtol=1e-11)
