"""The documents' errors about the score-matching losses: each test evaluates the document's
formula and the correct one on the same check and asserts that the first fails and the second
passes (so each test demonstrably fails on the document's version)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scoresde_ref as sr
from scoresde_ref.examples import gaussian_2d, gmm_2d

WRONG = 1e-2  # the documents' formulas miss by O(1); rounding of the correct ones is < 1e-10
EXACT = 1e-10


def _stein_cross_term(p_t, A, b):
    """E_p[∇log p · (Ax + b)] by Gauss–Hermite quadrature (60 nodes; error < 1e-12 at t = 0.3)."""
    return sr.gauss_hermite_expectation(lambda x: p_t.score(x) @ (A @ x + b), p_t, 60)


def test_000_theorem1_sign():
    """000 §2.2 Theorem 1 (L82) states E‖s − ∇log p‖² = E[‖s‖² + 2∇log p·s] + C with C free of θ;
    the proof (L88) has −2. For affine models s = Ax + b on GMM and Gaussian data (at t = 0.3
    under VP), Fisher − E[‖s‖² − 2∇log p·s] is the same for every (A, b) (= E‖∇log p‖²), while
    Fisher − E[‖s‖² + 2∇log p·s] moves with (A, b): the document's C would depend on θ.
    Fisher and the cross term by quadrature, E‖s‖² in closed form."""
    models = [
        (jnp.zeros((2, 2)), jnp.zeros(2)),
        (jnp.array([[-1.0, 0.3], [0.2, -0.5]]), jnp.array([0.4, -0.1])),
        (jnp.array([[0.5, 0.0], [-0.7, 1.2]]), jnp.array([-1.0, 2.0])),
    ]

    @jax.jit
    def constants(p_t, A, b):
        fisher = sr.gauss_hermite_expectation(lambda x: jnp.sum((A @ x + b - p_t.score(x)) ** 2), p_t, 60)
        sq, cross = sr.expected_sq_norm(p_t, A, b), _stein_cross_term(p_t, A, b)
        return fisher - (sq - 2 * cross), fisher - (sq + 2 * cross)

    for dist in [gmm_2d(), gaussian_2d()]:
        p_t = sr.marginal(sr.VPSDE(), dist, 0.3)
        ours, document = map(jnp.array, zip(*[constants(p_t, A, b) for A, b in models]))
        assert float(jnp.ptp(ours)) < EXACT
        assert float(jnp.ptp(document)) > WRONG


def _ou_chain(gamma, k):
    """001's autoregressive OU chain X_{j+1} = (1 − γ)X_j + √(2γ) Z_{j+1}: m_k and σ_k² (L612)."""
    return (1 - gamma) ** k, (1 - (1 - gamma) ** (2 * k)) / (1 - gamma / 2)


def test_001_dsm_target_is_minus_z_over_sigma():
    """001 "Denoising Score matching" L614: ∇log p_{k|0}(X_k|X_0) = −Ẑ_k/σ_k² — it is −Ẑ_k/σ_k
    (X_k = m_k X_0 + σ_k Ẑ_k). DSM's minimiser is E[target | X_k]; with the document's target it
    is the score divided by σ_k, not the score. GMM data, γ = 0.1, k = 3 (σ_k ≈ 0.70): the
    conditional expectation of each target, by the exact posterior of X_0 (sr.posterior), against
    the exact score of p_k."""
    gamma, k = 0.1, 3
    m, var = _ou_chain(gamma, k)
    sigma = np.sqrt(var)
    # an OU SDE whose kernel at t = k is the chain's: e^{−θk} = (1 − γ)^k, σ²(1 − e^{−2θk})/(2θ) = σ_k²
    ou = sr.OUSDE(-np.log(1 - gamma), np.sqrt(2 * -np.log(1 - gamma) / (1 - gamma / 2)), T=float(k))
    mt, st = ou.kernel(float(k))
    np.testing.assert_allclose([mt, st], [m, sigma], rtol=1e-12)  # the chain's kernel at step k
    dist = gmm_2d()
    score = sr.marginal(ou, dist, float(k)).score
    for x in [jnp.array([0.3, -0.2]), jnp.array([-1.5, 1.0]), jnp.array([1.0, 0.5])]:
        post_mean = sr.posterior(ou, dist, x, float(k)).mean
        z_hat = (x - m * post_mean) / sigma  # E[Ẑ | X_k = x]
        ours, document = -z_hat / sigma, -z_hat / sigma**2
        np.testing.assert_allclose(ours, score(x), rtol=EXACT)
        assert float(jnp.max(jnp.abs(document - score(x)) / jnp.abs(score(x)))) > WRONG


def test_001_unrolled_chain_noise_index():
    """001 "Denoising Score matching" L608: X_k = m_k X_0 + √(2γ) Σ_j (1 − γ)^{k−j} Z_k — the sum
    must run over Z_j. The exact variance recursion v_{j+1} = (1 − γ)² v_j + 2γ gives σ_k² of L612;
    the correct sum's variance 2γ Σ_j (1 − γ)^{2(k−j)} matches it, the literal Z_k version's
    2γ (Σ_j (1 − γ)^{k−j})² does not."""
    gamma, k = 0.1, 5
    v = 0.0
    for _ in range(k):
        v = (1 - gamma) ** 2 * v + 2 * gamma
    powers = (1 - gamma) ** (k - np.arange(1, k + 1))
    ours, document = 2 * gamma * np.sum(powers**2), 2 * gamma * np.sum(powers) ** 2
    _, var = _ou_chain(gamma, k)
    np.testing.assert_allclose([ours, var], [v, v], rtol=1e-14)
    assert abs(document / v - 1) > WRONG


def test_000_appendix_a_kernel_mean():
    """000 App. A (L251) writes the NCSN kernel p_σ(x̃|x) = N(x̃; 0, σ²I); it is N(x̃; x, σ²I).
    With the document's kernel the NCSN target −x̃/σ² does not depend on the data, so its DSM
    minimiser E[target | x̃] = −x̃/σ² is not the score of p_σ; with the correct target
    −(x̃ − x)/σ², E[target | x̃] (exact posterior) is the score. GMM data, σ = 0.5."""
    sigma, dist = 0.5, gmm_2d()
    ve = sr.BrownianMotion(1.0, T=1.0)  # x̃ = x + σ z is Brownian motion at t = σ²
    t = sigma**2
    np.testing.assert_allclose(ve.kernel(t)[1], sigma, rtol=1e-14)
    score = sr.marginal(ve, dist, t).score
    for x in [jnp.array([0.3, -0.2]), jnp.array([-1.5, 1.0])]:
        ours = -(x - sr.posterior(ve, dist, x, t).mean) / sigma**2
        document = -x / sigma**2
        np.testing.assert_allclose(ours, score(x), rtol=EXACT)
        assert float(jnp.max(jnp.abs(document - score(x)) / jnp.abs(score(x)))) > WRONG


def test_002_ddpm_kernel_argument():
    """002 DDPM (L117): q(x_t|x_0) = N(x_0 | √ᾱ_t x_0, (1 − ᾱ_t)I) — the density must be evaluated
    at x_t. Read literally, ∇_{x_t} log q = 0, so the DDPM loss (L135) would be minimised by s ≡ 0;
    with N(x_t | ...) the target's conditional expectation is the score of q(x_t) (exact posterior,
    Gaussian data, ᾱ = 0.6)."""
    abar, dist = 0.6, gaussian_2d()
    vp = sr.AffineSDE(lambda t: -0.5 * jnp.ones_like(t), lambda t: jnp.zeros_like(t), lambda t: jnp.ones_like(t))
    t = -np.log(abar)  # VP with β ≡ 1: m(t)² = e^{−t} = ᾱ
    np.testing.assert_allclose(vp.kernel(t), [np.sqrt(abar), np.sqrt(1 - abar)], rtol=1e-12)
    x0, xt = jnp.array([0.2, 0.1]), jnp.array([0.5, -0.3])
    cov = (1 - abar) * jnp.eye(2)
    literal = jax.grad(lambda y: sr.Gaussian(jnp.sqrt(abar) * x0, cov).log_prob(x0))(xt)
    assert float(jnp.max(jnp.abs(literal))) == 0.0
    score = sr.marginal(vp, dist, t).score(xt)
    assert float(jnp.max(jnp.abs(score))) > WRONG  # so the literal target cannot be matched by the score
    target_mean = -(xt - jnp.sqrt(abar) * sr.posterior(vp, dist, xt, t).mean) / (1 - abar)
    np.testing.assert_allclose(target_mean, score, rtol=EXACT)


def test_001_dsm_identity_needs_k_at_least_one():
    """001 "Score matching" L592: the DSM characterisation ∇log p_k = argmin E‖f(X_k) − ∇log p_{k|0}‖²
    is said to hold ∀k ∈ {0, …, N−1}; it holds for k ∈ {1, …, N}. At k = 0 (t = 0) the kernel is a
    point mass, s(0) = 0, the target −z/s and E‖∇log p_{0t}‖² = d/s² are infinite and DSM is +∞ for
    every f; at the last step (k = N, t = T) everything is finite and DSM − ISM = d/s²."""
    sde, dist = sr.OUSDE(1.0, 2**0.5, T=1.0), gaussian_2d()
    model = sr.AffineScore(-jnp.eye(2), jnp.zeros(2))
    x0 = dist.sample(jax.random.key(0), 8)
    # at t = 0 the kernel std is 0: the loss is refused (derivations/validation.md), and the gap is infinite
    with pytest.raises(ValueError, match=r"time t must lie in \(0, T"):
        sr.loss_terms(jax.random.key(1), sde, model, x0, objective="dsm", weighting="uniform", t=0.0)
    assert not np.isfinite(float(sr.dsm_ism_gap(sde, 0.0, 2)))
    at_end = sr.loss_terms(jax.random.key(1), sde, model, x0, objective="dsm", weighting="uniform", t=sde.T)
    assert bool(jnp.all(jnp.isfinite(at_end)))
    p_T = sr.marginal(sde, dist, sde.T)
    gap = sr.dsm_affine(sde, dist, sde.T, model.A, model.b) - sr.ism_affine(p_T, model.A, model.b)
    np.testing.assert_allclose(gap, sr.dsm_ism_gap(sde, sde.T, 2), rtol=1e-13)


def test_002_ddpm_recap_averages_x0_over_the_posterior():
    """002 "(Recap) Foundation of DDPM" (L529): argmin_θ D(q(x_{t−1}|x_t) ‖ p_θ(x_{t−1}|x_t)) =
    argmin_θ E_{x_0∼p_data}[D(q(x_{t−1}|x_t, x_0) ‖ p_θ(x_{t−1}|x_t))]. For a given x_t the average over x_0
    must be under the posterior q(x_0|x_t) (or both sides averaged over x_t with x_0 drawn jointly): then
    E_{x_0|x_t} KL(q(·|x_t, x_0) ‖ p) = KL(q(·|x_t) ‖ p) + a θ-free term. One 1-D DDPM step on N(0.8, 0.5)
    data, p_θ = N(μ, β_t): the minimisers over μ (found by scipy, objectives by 40-node Gauss–Hermite in x_0)
    agree with the posterior average and differ from the document's p_data average."""
    import scipy.optimize

    mu0, v0, abar_prev, beta = 0.8, 0.5, 0.7, 0.05
    alpha = 1 - beta
    abar = alpha * abar_prev
    xt = -0.4
    # q(x_{t-1} | x_t, x_0) = N(A x_t + C x_0, β̃) (Bayes on the two Gaussian kernels; derivations/samplers.md §2)
    A, C = np.sqrt(alpha) * (1 - abar_prev) / (1 - abar), np.sqrt(abar_prev) * beta / (1 - abar)
    beta_tilde = beta * (1 - abar_prev) / (1 - abar)
    # posterior of x_0 given x_t: x_t = √ᾱ x_0 + √(1 − ᾱ) z
    gain = np.sqrt(abar) * v0 / (abar * v0 + 1 - abar)
    post_mean, post_var = mu0 + gain * (xt - np.sqrt(abar) * mu0), v0 - gain * np.sqrt(abar) * v0
    # q(x_{t-1} | x_t) from the joint Gaussian of (x_{t-1}, x_t)
    m_prev, v_prev = np.sqrt(abar_prev) * mu0, abar_prev * v0 + 1 - abar_prev
    cov, v_t = np.sqrt(alpha) * v_prev, alpha * v_prev + beta
    q_mean, q_var = m_prev + cov / v_t * (xt - np.sqrt(alpha) * m_prev), v_prev - cov**2 / v_t

    def kl(m1, v1, m2, v2):
        return 0.5 * (v1 / v2 + (m1 - m2) ** 2 / v2 - 1 + np.log(v2 / v1))

    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()

    def averaged(mu, mean_x0, var_x0):  # E_{x_0 ∼ N(mean_x0, var_x0)} KL(q(·|x_t, x_0) ‖ N(μ, β))
        x0 = mean_x0 + np.sqrt(var_x0) * nodes
        return weights @ kl(A * xt + C * x0, beta_tilde, mu, beta)

    argmin = lambda f: scipy.optimize.minimize_scalar(f, bracket=(-3, 3), tol=1e-12).x  # noqa: E731
    left = argmin(lambda mu: kl(q_mean, q_var, mu, beta))
    right_posterior = argmin(lambda mu: averaged(mu, post_mean, post_var))
    right_document = argmin(lambda mu: averaged(mu, mu0, v0))
    np.testing.assert_allclose(left, q_mean, atol=1e-7)
    np.testing.assert_allclose(right_posterior, left, atol=1e-7)
    assert abs(right_document - left) > WRONG
    # the objectives themselves differ by a μ-free constant under the posterior average
    gaps = [averaged(mu, post_mean, post_var) - kl(q_mean, q_var, mu, beta) for mu in (-1.0, 0.0, 2.0)]
    np.testing.assert_allclose(gaps, gaps[0], rtol=1e-12)
