"""Hypothesis properties of identities that the other tests check at one or two points: the kernel score is the
gradient of the kernel log-density, Tweedie's formula and Bayes' rule for the exact posterior of x(0), the Bayes
conditional score of a labelled mixture, the Markov (Chapman–Kolmogorov) consistency of the closed-form kernels
through the affine push-forward, and the OU chain's kernel against its own moment recursion. Data, SDE parameters,
points and times are drawn (tests/strategies.py); the edges are pinned with `@example`: t = T, β_min = 0, the
σ = 1 branch of dx = σ^t dw, a narrow VE ratio, γ near 2 in the OU chain. Every drawn parameter is an array, so
each property compiles once per SDE class (derivations/marginals.md, conditional.md, chains.md).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

import scoresde_ref as sr
from strategies import _a, any_sde, examples, mixtures, points, sde_params

# Edges of the SDE families, each pinned below with t = T (u = 0) and the smallest time of the range.
VP_BETA_MIN_ZERO = sr.VPSDE(_a(0.0), _a(20.0))  # β(0) = 0: the kernel std ~ t√(Δβ/2) at small t
SIGMA_ONE = sr.PowerDiffusionSDE(_a(1.0), _a(1.0))  # σ = 1: the variance (σ^{2t} − 1)/(2 log σ) is t (0/0 branch)
VE_NARROW = sr.VESDE(_a(0.5), _a(0.501))  # σ_max/σ_min near 1: log σ_max − log σ_min cancels
CONST_DRIFT = sr.ConstantDriftSDE(jnp.array([1.0, -2.0]), _a(0.1), _a(2.0))  # a kernel offset c(t) ≠ 0
log_t = st.floats(-4.0, 0.0)  # t = T · 10^u, u ∈ [−4, 0]: u = 0 is t = T
# Four classes that cover the kernel forms (m = 1 or < 1, c = 0 or ≠ 0): one compilation each per property.
four_sdes = st.one_of(sde_params["VP"], sde_params["VE"], sde_params["OU"], sde_params["const_drift"])


def _time(sde, u):
    return sde.T * 10.0 ** jnp.asarray(u)


@eqx.filter_jit
def _kernel_score_routes(sde, x0, xt, t):
    m, s = sde.kernel(t)
    mean = m * x0 + sde.kernel_offset(t)
    log_density = lambda x: sr.Gaussian(mean, s**2 * jnp.eye(2)).log_prob(x)  # noqa: E731  (Cholesky route)
    scale = (jnp.max(jnp.abs(xt)) + jnp.max(jnp.abs(mean))) / s**2
    return sde.kernel_score(xt, x0, t), jax.grad(log_density)(xt), scale


@settings(max_examples=examples(10))
@given(sde=any_sde, x0=points(), xt=points(), u=log_t)
@example(sde=VP_BETA_MIN_ZERO, x0=jnp.array([1.0, -1.0]), xt=jnp.array([0.5, 2.0]), u=0.0)  # β_min = 0, t = T
@example(sde=VP_BETA_MIN_ZERO, x0=jnp.array([1.0, -1.0]), xt=jnp.array([0.5, 2.0]), u=-4.0)  # β_min = 0, t → 0
@example(sde=SIGMA_ONE, x0=jnp.array([1.0, -1.0]), xt=jnp.array([0.5, 2.0]), u=-0.5)
@example(sde=VE_NARROW, x0=jnp.array([1.0, -1.0]), xt=jnp.array([0.5, 2.0]), u=-4.0)
@example(sde=CONST_DRIFT, x0=jnp.array([1.0, -1.0]), xt=jnp.array([0.5, 2.0]), u=0.0)
def test_kernel_score_is_the_gradient_of_the_kernel_log_density(sde, x0, xt, u):
    """`kernel_score(x_t, x_0, t)` = ∇_{x_t} log N(x_t; m x_0 + c, s² I), the gradient by `jax.grad` of the
    `Gaussian` log-density (Cholesky, triangular solves), for every closed-form SDE with drawn parameters, points
    and t ∈ [1e-4 T, T]. Both routes compute (x_t − mean)/s² from O(|x| + |mean|) terms: they agree to 1e-12 of
    (|x_t| + |mean|)/s² (a few ulps, amplified by no more than the d = 2 solve). Planted bugs caught: a 1/s for
    1/s², the offset c(t) left out (ConstantDriftSDE), a sign."""
    closed, by_grad, scale = _kernel_score_routes(sde, x0, xt, _time(sde, u))
    np.testing.assert_allclose(closed, by_grad, rtol=0, atol=1e-12 * float(scale))


@eqx.filter_jit
def _bayes_routes(sde, dist, x, x0, t):
    """Tweedie's two sides, and Bayes' rule's two sides at x0, with the scales their rounding is relative to."""
    m, s = sde.kernel(t)
    c = sde.kernel_offset(t)
    p_t, post = sr.marginal(sde, dist, t), sr.posterior(sde, dist, x, t)
    score, tweedie = p_t.score(x), -(x - m * post.mean - c) / s**2
    tweedie_scale = (jnp.max(jnp.abs(x)) + jnp.max(jnp.abs(m * post.mean)) + jnp.max(jnp.abs(c))) / s**2
    log_kernel = sr.Gaussian(m * x0 + c, s**2 * jnp.eye(2)).log_prob(x)
    log_post, bayes = post.log_prob(x0), dist.log_prob(x0) + log_kernel - p_t.log_prob(x)
    bayes_scale = jnp.abs(dist.log_prob(x0)) + jnp.abs(log_kernel) + jnp.abs(p_t.log_prob(x))
    return score, tweedie, tweedie_scale, log_post, bayes, bayes_scale


MIX_EDGE = sr.GaussianMixture(  # separated components, one nearly degenerate: the responsibilities saturate
    jnp.array([0.05, 0.95]), jnp.array([[-3.0, 3.0], [3.0, -3.0]]), jnp.stack([0.1 * jnp.eye(2), 2.0 * jnp.eye(2)])
)


@settings(max_examples=examples(10))
@given(sde=four_sdes, dist=mixtures(), x=points(), x0=points(3.0), u=st.floats(-3.0, 0.0))
@example(sde=VP_BETA_MIN_ZERO, dist=MIX_EDGE, x=jnp.array([0.3, -0.2]), x0=jnp.array([-3.0, 3.0]), u=0.0)
@example(sde=CONST_DRIFT, dist=MIX_EDGE, x=jnp.array([4.0, -4.0]), x0=jnp.array([3.0, -3.0]), u=-3.0)
def test_tweedie_and_bayes_rule_for_the_exact_posterior(sde, dist, x, x0, u):
    """For drawn mixture data p_0, SDE, x and t ∈ [1e-3 T, T] (derivations/marginals.md §4):

    - Tweedie: ∇log p_t(x) = −(x − m E[X_0 | x] − c)/s², the left side from the pushed-forward mixture (Cholesky,
      responsibilities), the right from the posterior's mean (per-component Kalman updates): 1e-10 of their
      common scale (|x| + |m E[X_0|x]| + |c|)/s² (the Kalman solve's conditioning, ≤ 1e3 on these ranges,
      times a few ulps of the cancelling terms);
    - Bayes: log p(x_0 | x) = log p_0(x_0) + log p_{t|0}(x | x_0) − log p_t(x) at a drawn x_0: 1e-10 of the sum of
      the absolute terms (each a log-density computed with its own Cholesky).

    Planted bugs caught: responsibilities of p_0 in place of p_t's, the posterior's covariance without the
    m²/s² factor, a dropped offset c(t)."""
    score, tweedie, t_scale, log_post, bayes, b_scale = _bayes_routes(sde, dist, x, x0, _time(sde, u))
    np.testing.assert_allclose(score, tweedie, rtol=0, atol=1e-10 * float(t_scale))
    np.testing.assert_allclose(log_post, bayes, rtol=0, atol=1e-10 * float(b_scale))


@eqx.filter_jit
def _conditional_routes(sde, labelled, x, t, y):
    bayes = sr.conditional_score(sr.exact_score(sde, labelled.mixture), sr.class_log_likelihood(sde, labelled, y))
    target = sr.marginal(sde, labelled.conditional(y), t).score(x)
    scale = 1.0 + jnp.max(jnp.abs(target)) + jnp.max(jnp.abs(sr.marginal(sde, labelled.mixture, t).score(x)))
    return bayes(x, t), target, scale


@settings(max_examples=examples(10))
@given(sde=st.one_of(sde_params["VP"], sde_params["VE"]), dist=mixtures(), x=points(8.0), u=log_t, y=st.integers(0, 1))
@example(sde=VP_BETA_MIN_ZERO, dist=MIX_EDGE, x=jnp.array([8.0, -8.0]), u=0.0, y=0)  # the rare class, far away
@example(sde=VE_NARROW, dist=MIX_EDGE, x=jnp.array([0.0, 0.0]), u=-4.0, y=0)
def test_bayes_conditional_score_is_the_class_conditional_score(sde, dist, x, u, y):
    """∇log p_t(x) + ∇log p_t(y | x) with the exact class posterior (`conditional_score`, `class_log_likelihood`)
    equals ∇log p_t(x | y), the score of the pushed-forward class-y component, for drawn 2-component mixtures
    (class y = component y), SDEs, x and t (derivations/conditional.md §1–2). Both sides are sums of O(|x|/σ²)
    component scores: 1e-10 of 1 + |target| + |unconditional score| (a posterior weight near 1 − 1e-16 makes the
    gradient of log p_t(y|x) a difference of nearly equal scores). Planted bugs caught: the class posterior at
    t = 0, the gradient's sign, a label ignored."""
    labelled = sr.LabelledMixture(dist)
    cond, target, scale = _conditional_routes(sde, labelled, x, _time(sde, u), jnp.asarray(y))
    np.testing.assert_allclose(cond, target, rtol=0, atol=1e-10 * float(scale))


@eqx.filter_jit
def _markov_routes(sde, dist, u, t):
    """p_t directly, and p_u pushed forward by the transition kernel from u to t: m_{t|u} = m_t/m_u,
    c_{t|u} = c_t − m_{t|u} c_u, s²_{t|u} = s_t² − m_{t|u}² s_u²."""
    (m_u, s_u), (m_t, s_t) = sde.kernel(u), sde.kernel(t)
    m_tu = m_t / m_u
    var_tu = s_t**2 - m_tu**2 * s_u**2
    c_tu = sde.kernel_offset(t) - m_tu * sde.kernel_offset(u)
    two_step = sr.push_forward(sr.marginal(sde, dist, u), m_tu, c_tu, jnp.sqrt(jnp.maximum(var_tu, 0.0)))
    return sr.marginal(sde, dist, t), two_step, var_tu, s_t**2


@settings(max_examples=examples(10))
@given(sde=four_sdes, dist=mixtures(), u=log_t, r=st.floats(0.0, 1.0))
@example(sde=VP_BETA_MIN_ZERO, dist=MIX_EDGE, u=-4.0, r=1.0)  # from t = 0 to T
@example(sde=VE_NARROW, dist=MIX_EDGE, u=-1.0, r=0.0)
@example(sde=CONST_DRIFT, dist=MIX_EDGE, u=-3.0, r=1.0)
def test_kernels_are_markov_consistent_through_the_push_forward(sde, dist, u, r):
    """Chapman–Kolmogorov for the closed-form kernels: x_t = m_{t|u} x_u + c_{t|u} + s_{t|u} z with the transition
    coefficients of `_markov_routes`, so `push_forward(marginal(sde, p_0, u), m_{t|u}, c_{t|u}, s_{t|u})` is
    `marginal(sde, p_0, t)` (weights, means, covariances), and s²_{t|u} ≥ 0, for drawn mixtures, SDEs and
    10⁻⁴T ≤ u ≤ t ≤ T (t = u + r (T − u)). Tolerance 1e-10 relative to the moments' scale: s²_{t|u} is a
    difference of O(s_t²) terms (a few ulps of s_t², times m_{t|u}² ≤ the kernels' own range). Planted bugs
    caught: `push_forward` scaling a covariance by m (not m²) or adding s (not s²) I, or moving the weights; a
    kernel whose s_t²/m_t² decreases somewhere (s²_{t|u} < 0; no SDE has one: s_t²/m_t² = ∫_0^t g²/m²)."""
    t_u = _time(sde, u)
    t = t_u + r * (sde.T - t_u)
    direct, two_step, var_tu, s_t2 = _markov_routes(sde, dist, t_u, t)
    assert float(var_tu) >= -1e-12 * float(s_t2)
    np.testing.assert_allclose(two_step.weights, direct.weights, rtol=1e-12)
    scale = 1.0 + float(jnp.max(jnp.abs(direct.means)))
    np.testing.assert_allclose(two_step.means, direct.means, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(two_step.covs, direct.covs, rtol=0, atol=1e-10 * float(jnp.max(jnp.abs(direct.covs))))


N_OU = 64


@eqx.filter_jit
def _ou_chain_routes(gamma):
    chain = sr.OUChain(gamma, N_OU)
    step = lambda x, k, z: (1 - chain.gammas[k]) * x + jnp.sqrt(2 * chain.gammas[k]) * z  # noqa: E731  001's step
    one, zero = jnp.ones((1,)), jnp.zeros((1,))
    means, variances = sr.propagate_moments(step, one, zero, jnp.arange(N_OU))  # law of X_k given X_0 = 1
    m, s = chain.kernels()
    return m, s**2, means[:, 0], variances[:, 0]


@settings(max_examples=examples(10))
@given(gamma=st.floats(1e-4, 1.9999))
@example(gamma=1.9999)  # 1 − γ → −1: |m_k| = 0.9999^k alternates in sign and the variance → 1/(1 − γ/2) = 2e4
@example(gamma=1.0)  # m_k = 0 for k ≥ 1 (the log-of-|1 − γ| branch meets log 0)
@example(gamma=1e-4)  # the smallest step: log1p branch
def test_ou_chain_kernel_is_its_moment_recursion(gamma):
    """`OUChain(γ, N).kernels()` (closed form: |m_k| = exp Σ log|1 − γ| with its sign, σ_k² by the variance scan)
    equals the moments of X_k given X_0 = 1 propagated through 001's step X_{k+1} = (1 − γ) X_k + √(2γ) Z by
    `propagate_moments` (a plain product), and the constant-step closed forms m_k = (1 − γ)^k,
    σ_k² = (1 − (1 − γ)^{2k})/(1 − γ/2), for every γ ∈ (0, 2), including the overshooting γ > 1 (derivations/chains.md
    §OU). 1e-12 relative: k ≤ 64 products and sums of O(1) terms, each a few ulps. Planted bugs caught: the sign of
    1 − γ dropped for γ > 1 (m_k = |1 − γ|^k), the stationary variance 1 instead of 1/(1 − γ/2)."""
    m, var, means, variances = _ou_chain_routes(jnp.asarray(gamma))
    k = np.arange(N_OU + 1)
    np.testing.assert_allclose(m, means, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(var, variances, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(m, (1 - gamma) ** k, rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(var, -np.expm1(2 * k * np.log(abs(1 - gamma) + 1e-300)) / (1 - gamma / 2), rtol=1e-10)
