"""The documents' errors about the discrete chains (derivations/chains.md §Errata). Each test asserts
both sides: the document's version FAILS the check that the correct version passes."""

import jax
import jax.numpy as jnp
import numpy as np

import scoresde_ref as sr

N = 1000


def test_001_unrolled_ou_chain_sums_z_j_not_z_k():
    """001 "Denoising Score matching" (L608): X_k = m_k X_0 + √(2γ) Σ_{j=1}^k (1-γ)^{k-j} Z_k = m_k X_0 + σ_k Ẑ_{j+1}.
    The sum is over Z_j (and the result σ_k Ẑ_k): pathwise, the forward scan equals the Z_j sum to rounding
    and not the Z_k one, whose variance 2γ(Σ(1-γ)^{k-j})² is not σ_k²."""
    gamma, k = 0.05, 40
    chain = sr.OUChain(jnp.asarray(gamma), k)
    zs = jax.random.normal(jax.random.key(11), (k, 3))
    x0 = jnp.array([1.0, -0.5, 2.0])
    x_k = sr.chain_path(chain, x0, zs)
    w = (1 - gamma) ** (k - np.arange(1, k + 1))
    correct = (1 - gamma) ** k * x0 + np.sqrt(2 * gamma) * np.sum(w[:, None] * np.asarray(zs), axis=0)
    document = (1 - gamma) ** k * x0 + np.sqrt(2 * gamma) * np.sum(w) * np.asarray(zs[-1])
    np.testing.assert_allclose(x_k, correct, rtol=1e-13)
    assert float(jnp.max(jnp.abs(x_k - document))) > 0.1
    _, s_k = chain.kernel(k)
    np.testing.assert_allclose(2 * gamma * np.sum(w**2), s_k**2, rtol=1e-13)
    assert abs(2 * gamma * np.sum(w) ** 2 / float(s_k**2) - 1) > 1.0


def test_001_kernel_score_is_minus_z_over_sigma():
    """001 L614 (and L919): ∇log p_{k|0}(X_k | X_0) = -Ẑ_k/σ_k²; with X_k = m_k X_0 + σ_k Ẑ_k it is
    -(X_k - m_k X_0)/σ_k² = -Ẑ_k/σ_k (jax.grad of the chain's Gaussian log-kernel)."""
    chain = sr.OUChain(jnp.asarray(0.02), 5)
    m, s = chain.kernel(5)
    x0, z_hat = jnp.array([0.4, -1.0]), jnp.array([1.3, 0.7])
    x_k = m * x0 + s * z_hat
    score = jax.grad(lambda x: -0.5 * jnp.sum((x - m * x0) ** 2) / s**2)(x_k)
    np.testing.assert_allclose(score, -z_hat / s, rtol=1e-13)
    assert float(jnp.max(jnp.abs(score - (-z_hat / s**2)))) > 1.0  # σ_5 ≈ 0.44: off by a factor 1/σ


def test_002_ddpm_objective_sums_to_T_not_infinity():
    """002 "DDPM" (L135) sums the re-weighted objective over t = 1, ..., ∞. With weights 1 - ᾱ_t and the DSM target's
    second moment E||∇log q(x_t|x_0)||² = d/(1 - ᾱ_t) (the chain kernel's std), every term of a fixed score
    model s ≡ 0 equals d: Σ_{t=1}^T = T d is finite, the document's series has partial sums M d → ∞."""
    d = 3
    chain = sr.DDPMChain(jnp.full((10 * N,), 0.02))  # a chain continued far past T = N
    _, s = chain.kernels()
    terms = (1 - chain.alphas_cumprod) * d / s[1:] ** 2
    np.testing.assert_allclose(terms, d, rtol=1e-12)
    assert abs(float(jnp.sum(terms[:N])) / (N * d) - 1) < 1e-12
    assert float(jnp.sum(terms)) > 9 * float(jnp.sum(terms[:N]))  # grows without bound with M


def test_001_linear_step_schedule_is_smallest_at_the_data_end():
    """001 "Ornstein-Uhlenbeck y discretización" (L906) cites Song et al. (2020b) for
    γ_k = γ_min + (γ_max - γ_min)(N-k)/N, largest at the data end k = 0. The VP SDE of Song et al. is the OU process
    run on the clock τ = B(t)/2 (checked exactly below), so its chain has γ_k ≈ β(k/N)/(2N): smallest at k = 0
    (OUChain.linear). At k = N/4 that chain's kernel is within O(1/N) of the VP kernel at t = 1/4; the document's is
    O(1) away."""
    vp, ou = sr.VPSDE(0.1, 20.0), sr.OUSDE(1.0, 2**0.5, T=20.0)
    for t in [0.1, 0.25, 1.0]:
        np.testing.assert_allclose(ou.kernel(vp.integrated_beta(t) / 2), vp.kernel(t), rtol=1e-13)
    g_min, g_max = 0.1 / (2 * N), 20.0 / (2 * N)
    correct = sr.OUChain.linear(N, g_min, g_max)
    document = sr.OUChain(g_min + (g_max - g_min) * (N - jnp.arange(N, dtype=float)) / N)
    assert float(correct.gammas[0]) == g_min and float(document.gammas[0]) == g_max
    m_vp, s_vp = vp.kernel(0.25)
    for chain, close in [(correct, True), (document, False)]:
        m, s = chain.kernel(N // 4)
        err = max(abs(float(m - m_vp)), abs(float(s - s_vp)))
        assert (err < 0.02) if close else (err > 0.3)


def test_001_horizon_is_the_sum_of_the_steps():
    """001 "Convergencia de modelos de difusión" (L811–815) states the bound for variable steps {γ_k} with
    T = Nγ; the chain's OU horizon is T = Σ_k γ_k (its time change): the kernel at k = N is within the
    O(max γ) bound of the OU kernel at Σγ_k, and O(1) away at Nγ for γ = max γ_k or min γ_k."""
    chain = sr.OUChain.linear(300, 0.001, 0.02)
    m_N, _ = chain.kernel(300)
    T_sum = float(jnp.sum(chain.gammas))
    assert abs(float(m_N) - np.exp(-T_sum)) <= 0.02 / (2 * np.e * 0.98)
    for gamma in [0.02, 0.001]:
        assert abs(float(m_N) - np.exp(-300 * gamma)) > 0.03


def test_001_autoregressive_chain_needs_abs_alpha_below_one():
    """001 "El Proceso Forward" (L468, L483): X_{k+1} = αX_k + √(1-α²) Z with "α < 1". For α ≤ -1 (allowed by
    that condition) √(1-α²) is undefined or 0 and |α^k| does not tend to 0: no convergence to N(0, I).
    The condition is |α| < 1, i.e. γ = 1 - α ∈ (0, 2) for the OU chain, which OUChain enforces."""
    k = np.arange(200)
    for alpha in [-0.9, 0.5]:  # |α| < 1: converges
        assert abs(alpha ** k[-1]) < 1e-8 and np.isfinite(np.sqrt(1 - alpha**2))
    for alpha in [-1.0, -1.5]:  # α < 1 but |α| >= 1: no limit
        assert abs(alpha ** k[-1]) >= 1.0
        with np.errstate(invalid="ignore"):
            assert np.sqrt(1 - alpha**2) == 0.0 or np.isnan(np.sqrt(1 - alpha**2))
    for gamma in [2.0, 2.5]:
        try:
            sr.OUChain(gamma, 10)
        except ValueError as err:
            assert "gamma" in str(err)
        else:
            raise AssertionError("OUChain accepted gamma outside (0, 2)")


def test_001_backward_loop_ends_at_x0_not_x1():
    """001 "¿Y ahora qué?" (L686, L698): after X_k = X_{k+1} + γ{X_{k+1} + 2s(kγ, X_{k+1})} + √(2γ)Z_{k+1} from
    X_N ∼ μ_Z, "X_1 se distribuirá aproximadamente según π". The loop's last output X_0 is the one with law π
    = p_0; X_1 has the law p_1 of one noising step. With the exact backward kernels p_{k|k+1} (Gaussian data
    N(μ, s_0²), exact moment recursion from the exact p_N) the loop reproduces p_k at every k: X_0 matches π
    to rounding, X_1 misses π's mean by γμ."""
    gamma, n, mu, v0 = 0.05, 60, 1.5, 0.4
    chain = sr.OUChain(gamma, n)
    m, s = chain.kernels()
    v = m**2 * v0 + s**2  # Var X_k
    mean, var = m[-1] * mu, v[-1]
    out = {}
    for k in range(n - 1, -1, -1):  # X_k | X_{k+1} by Gaussian conditioning of (X_k, X_{k+1})
        gain = (1 - gamma) * v[k] / v[k + 1]
        mean = m[k] * mu + gain * (mean - m[k + 1] * mu)
        var = gain**2 * var + v[k] - gain * (1 - gamma) * v[k]
        out[k] = (float(mean), float(var))
    np.testing.assert_allclose(out[0], (mu, v0), rtol=1e-12)
    np.testing.assert_allclose(out[1], (m[1] * mu, v[1]), rtol=1e-12)
    assert abs(out[1][0] - mu) > 0.99 * gamma * mu  # the document's X_1 is not π-distributed


def test_002_vp_chain_square_roots_cover_the_coefficients_only():
    """002 "Variance preserving SDEs (DDPM)" (L815) rewrites the chain as √(1 − β̄_i/L · x_{i−1}) + √(β̄_i/L · z_{i−1}),
    the roots running over x_{i−1} and z_{i−1} (as E33's L750 for SMLD). Read as printed it is not even real for
    x_{i−1} < 0 or z < 0, and where it is, it is not the DDPM step: its mean from x_{i−1} = 4 is not √(1 − β_i)·4. The
    chain is √(1 − β̄_i/L)·x_{i−1} + √(β̄_i/L)·z_{i−1} (L804), the law N(√(1 − β_i)x_{i−1}, β_i I)."""
    chain = sr.DDPMChain.linear(N, 0.1, 20.0)
    i, beta = 500, float(chain.betas[499])
    z = jax.random.normal(jax.random.key(0), (200_000, 1))
    for x in [-1.0, 4.0]:
        doc = jnp.sqrt((1 - beta) * x) + jnp.sqrt(beta * z)
        ours = jax.vmap(lambda zz, x=x: chain.step(jnp.array([x]), i, zz))(z)
        np.testing.assert_allclose(ours, np.sqrt(1 - beta) * x + np.sqrt(beta) * z, rtol=1e-13)
        assert float(jnp.mean(jnp.isnan(doc))) > 0.4  # the roots of negative numbers
    doc = jnp.sqrt((1 - beta) * 4.0) + jnp.sqrt(beta * jnp.abs(z))  # even on the real branch
    assert abs(float(jnp.mean(doc)) - np.sqrt(1 - beta) * 4.0) > 1.0
