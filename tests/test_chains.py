"""Discrete chains (000_cce368350850b628.txt §2.3, appendices B–D; 001_cbf75b2ce1966cfb.txt): exact
kernels against deterministic recursions and the documents' closed forms (float64, ~1e-12), sample
moments of forward runs (5 standard errors), jit/scan compilation, float32, validation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scoresde_ref as sr
from scoresde_ref.examples import chain_zoo

# Closed forms use a handful of roundings; the recursions accumulate N of them (N <= 1000):
# N * eps ≈ 2e-13 relative. 1e-11 leaves a factor ~50.
RTOL = 1e-11


def test_documents_closed_forms():
    """The documents' kernels, term by term: DDPM (000 app. B) N(√ᾱ_i x0, (1-ᾱ_i) I) with ᾱ_i = ∏(1-β_j);
    SMLD (000 eq. (6)) N(x0, σ_i² I); OU (001 "Denoising Score matching") m_k = (1-γ)^k,
    σ_k² = (1 - (1-γ)^{2k})/(1 - γ/2). Planted bug caught: 1 - γ/2 replaced by 1 (the OU SDE's variance)."""
    chain = chain_zoo()["ddpm_random"]
    ab = np.cumprod(1 - np.asarray(chain.betas))
    np.testing.assert_allclose(chain.alphas_cumprod, ab, rtol=RTOL)
    m, s = chain.kernels()
    np.testing.assert_allclose(m[1:], np.sqrt(ab), rtol=RTOL)
    np.testing.assert_allclose(s[1:] ** 2, 1 - ab, rtol=RTOL)
    smld = chain_zoo()["smld_random"]
    np.testing.assert_allclose(smld.kernels()[1][1:], smld.sigmas, rtol=0)
    assert np.all(np.asarray(smld.kernels()[0]) == 1.0)
    for gamma, n in [(0.02, 500), (1.7, 40), (0.5, 60)]:
        m, s = sr.OUChain(jnp.asarray(gamma), n).kernels()
        k = np.arange(n + 1)
        np.testing.assert_allclose(m, (1 - gamma) ** k, rtol=RTOL, atol=1e-300)
        np.testing.assert_allclose(s**2, (1 - (1 - gamma) ** (2 * k)) / (1 - gamma / 2), rtol=RTOL)


def test_cosine_schedule_telescopes():
    """Nichol & Dhariwal: ᾱ_i = ᾱ(i/N) = f(i/N)/f(0) exactly for i < N (the clip β <= 0.999 acts at i = N only).
    Planted bug caught: β_i = 1 - ᾱ(i/N) (no ratio) or an off-by-one time (i+1)/N."""
    n = 200
    chain = sr.DDPMChain.cosine(n)
    t = np.arange(1, n + 1) / n
    s = 0.008
    f = lambda u: np.cos((u + s) / (1 + s) * np.pi / 2) ** 2  # noqa: E731
    np.testing.assert_allclose(chain.alphas_cumprod[:-1], f(t[:-1]) / f(0.0), rtol=RTOL)
    assert float(chain.betas[-1]) == 0.999 and float(jnp.max(chain.betas[:-1])) < 0.999


def test_schedules_sample_the_sde_coefficients():
    """DDPMChain.linear: N β_i = β((i-1)/(N-1)) of VPSDE; SMLDChain.geometric: σ_i = σ((i-1)/(N-1)) of VESDE
    (the reference-code index map), so σ_1 = σ_min, σ_N = σ_max. Planted bug caught: β_i = β̄_i (no 1/N)."""
    n = 1000
    t = jnp.arange(n) / (n - 1)
    np.testing.assert_allclose(sr.DDPMChain.linear(n).beta_bar, sr.VPSDE(0.1, 20.0).beta(t), rtol=1e-13)
    np.testing.assert_allclose(sr.SMLDChain.geometric(n).sigmas, sr.VESDE(0.01, 50.0).sigma(t), rtol=1e-13)


def test_smld_chain_is_the_reference_ve_kernel_not_the_exact_one():
    """The SMLD chain (σ_0 = 0) has variance σ(t'_i)² = VESDE.reference_kernel at t'_i = (i-1)/(N-1), which is
    σ_min² MORE than the exact VESDE.kernel variance σ(t)² - σ(0)², at every i and every N (002 "SDE in the
    wild": σ(0) = 0 ≠ σ(0+)). Planted bug caught: comparing the chain with VESDE.kernel (a gap of σ_min²)."""
    sde = sr.VESDE(0.01, 50.0)
    for n in [10, 1000]:
        _, s = sr.SMLDChain.geometric(n).kernels()
        t = jnp.arange(n) / (n - 1)
        _, s_ref = jax.vmap(sde.reference_kernel)(t)
        _, s_exact = jax.vmap(sde.kernel)(t)
        np.testing.assert_allclose(s[1:], s_ref, rtol=1e-13)
        # Two routes to σ(t) (exp of a linspace of logs vs σ_min e^{t log r}): each exponent of size
        # up to |log σ| ≈ 8.5 carries ~8 ulps, so σ² carries ~16 ulps per route; 64 ulps of σ(t)² bound the
        # gap's rounding (20 observed).
        gap = s[1:] ** 2 - s_exact**2
        assert np.all(np.abs(gap - 0.01**2) <= 64 * np.finfo(float).eps * s_ref**2)


_MOMENT_CHAINS = ["ddpm_linear", "ddpm_cosine", "smld_geometric", "ou_constant", "ou_overshoot", "ou_linear"]


@pytest.mark.parametrize("name", _MOMENT_CHAINS)
def test_forward_samples_have_kernel_moments(name, getkey):
    """sample_path (lax.scan) draws x_N | x_0 with the kernel's mean and variance, 5 SE each.

    n = 10,000 paths, d = 2; per coordinate |mean error| < 5 s/√n and |var error| < 5 s² √(2/n)
    (Gaussian: each fails w.p. 5.7e-7; 4 comparisons: false-failure probability < 3e-6).
    Planted bug caught: noise reused across steps (z_i = z_1), or a scan one step short."""
    chain = chain_zoo()[name]
    x0 = jnp.array([0.7, -0.4])
    n = 10_000
    xs = jax.vmap(lambda k: sr.sample_path(k, chain, x0))(jax.random.split(getkey(), n))
    m, s = chain.kernel(chain.n_steps)
    assert jnp.all(jnp.abs(xs.mean(0) - m * x0) < 5 * s / np.sqrt(n))
    assert jnp.all(jnp.abs(xs.var(0) - s**2) < 5 * s**2 * np.sqrt(2 / n))


def test_chain_path_is_the_unrolled_recursion():
    """chain_path with given noises equals x_i = a_i x_{i-1} + b_i z_i unrolled in numpy, pathwise;
    sample_path with the same key gives the same path (keys are the only randomness)."""
    chain = chain_zoo()["ou_linear"]
    zs = jax.random.normal(jax.random.key(3), (chain.n_steps, 2))
    x0 = jnp.array([1.0, -2.0])
    x_last, path = sr.chain_path(chain, x0, zs, trajectory=True)
    a, b = map(np.asarray, chain.coefficients())
    expected = [np.asarray(x0)]
    for ai, bi, zi in zip(a, b, np.asarray(zs)):
        expected.append(ai * expected[-1] + bi * zi)
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-13)
    np.testing.assert_array_equal(x_last, path[-1])
    key = jax.random.key(5)
    np.testing.assert_array_equal(sr.sample_path(key, chain, x0), sr.sample_path(key, chain, x0))


def test_scan_traces_the_step_once_and_reuses_the_compile():
    """The step body is traced once per compile whatever N (a scan, not a Python loop of N steps), and new
    schedule values of the same length compile nothing. (A new N is a new array shape, hence one new
    compile: XLA shapes are static.) Planted bug caught: a Python for-loop over steps (N traces)."""
    traces, score_traces = [], []

    def score(x, i):
        score_traces.append(None)
        return -x

    @jax.jit
    def run(betas, key, x):
        traces.append(None)
        chain = sr.DDPMChain(betas)
        return sr.sample_path(key, chain, x), sr.sample_reverse_path(key, chain, score, x)

    x, key = jnp.ones(2), jax.random.key(0)
    for n in [50, 1000]:
        before, score_before = len(traces), len(score_traces)
        run(jnp.linspace(0.1, 20.0, n) / n, key, x)
        run(jnp.linspace(0.2, 10.0, n) / n, jax.random.key(1), 2 * x)  # new values, same shape: no retrace
        assert len(traces) - before == 1
        assert len(score_traces) - score_before == 1


def test_reverse_steps_are_the_documents_formulas():
    """DDPMChain.reverse_step = (x + β_i s(x, i))/√(1-β_i) + √β_i z (000 app. B); OUChain.reverse_step =
    x + γ_k{x + 2 s(x, k)} + √(2γ_k) z with k = i - 1 (001). Planted bug caught: s(x, i-1) in DDPM,
    s(x, k+1) in OU, √(1-β) multiplying instead of dividing."""
    x, z = jnp.array([0.3, -1.1]), jnp.array([0.5, 2.0])
    score = lambda x, i: -x * (1.0 + i)  # noqa: E731  (index-dependent, to catch index slips)
    ddpm = chain_zoo()["ddpm_random"]
    i, beta = 7, float(ddpm.betas[6])
    expected = (x + beta * score(x, 7)) / np.sqrt(1 - beta) + np.sqrt(beta) * z
    np.testing.assert_allclose(ddpm.reverse_step(x, i, score, z), expected, rtol=1e-14)
    ou = chain_zoo()["ou_linear"]
    gamma = float(ou.gammas[6])
    expected = x + gamma * (x + 2 * score(x, 6)) + np.sqrt(2 * gamma) * z
    np.testing.assert_allclose(ou.reverse_step(x, i, score, z), expected, rtol=1e-14)
    mean, std = ou.backward_kernel(x, 6, score(x, 6))
    np.testing.assert_allclose(mean + std * z, expected, rtol=1e-14)


def test_ancestral_sampler_samples_the_data_law(getkey):
    """000 app. B ancestral sampling with the exact chain scores of N(μ, s0²) data, from the exact p_N:
    exact moment recursion gives mean μ exactly and variance s0² within the O(1/N) bias of the reverse
    kernel (measured in test_chains_convergence); samples (n = 20,000) agree with that recursion to 5 SE
    (false failure < 1e-5). Planted bug caught: a reverse loop that skips i = 1 (002 L150)."""
    from scoresde_ref.exact._chain_limits import gaussian_chain_score, reverse_terminal_moments

    chain = sr.DDPMChain.linear(200)
    mean, var = reverse_terminal_moments(chain, 1.0, 0.5)
    np.testing.assert_allclose(mean, 1.0, rtol=1e-12)
    assert abs(float(var) - 0.25) < 1e-2
    score = gaussian_chain_score(chain, 1.0, 0.5)
    m, s = chain.kernel(chain.n_steps)
    n = 20_000
    keys = jax.random.split(getkey(), n)
    x_N = m * 1.0 + jnp.sqrt(m**2 * 0.25 + s**2) * jax.random.normal(getkey(), (n, 1))
    xs = jax.vmap(lambda k, x: sr.sample_reverse_path(k, chain, score, x))(keys, x_N)
    assert abs(float(xs.mean()) - float(mean)) < 5 * np.sqrt(float(var) / n)
    assert abs(float(xs.var()) - float(var)) < 5 * float(var) * np.sqrt(2 / n)


def test_float32_kernels_stay_accurate():
    """float32 DDPM std at i = 1 (β_1 = 1e-4) and the VE step G_i (ratio 1 - 1e-3) within 1e-6 relative of
    float64: log1p/expm1 routes. The naive √(1 - cumprod(1 - β)) in float32 is shown to lose ~1e-4."""
    n = 1000
    b64 = sr.DDPMChain.linear(n).betas
    _, s32 = sr.DDPMChain(b64.astype(jnp.float32)).kernels()
    _, s64 = sr.DDPMChain(b64).kernels()
    assert s32.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(s32[1:].astype(jnp.float64) / s64[1:] - 1))) < 1e-6
    naive = jnp.sqrt(1 - jnp.cumprod(1 - b64.astype(jnp.float32)))
    assert abs(float(naive[0]) / float(s64[1]) - 1) > 1e-5
    sde32 = sr.VESDE(jnp.float32(0.01), jnp.float32(50.0))
    disc32, disc64 = sr.discretize(sde32, 4000), sr.discretize(sr.VESDE(0.01, 50.0), 4000)
    for i in [2, 4000]:
        g32, g64 = disc32(jnp.zeros(1, jnp.float32), i)[1], disc64(jnp.zeros(1), i)[1]
        assert abs(float(g32) / float(g64) - 1) < 1e-6



def test_cosine_log_alpha_bar_in_float32():
    """log ᾱ(t) of the cosine schedule in float32: −inf (not NaN) at t = 1, and within float32 rounding
    of float64 evaluated at the same (float32) times — a difference of two logarithms of size ≤ 13
    carries a few ulps of the larger (eps32 = 1.2e-7), so |error| ≤ 1e-5 |log ᾱ| + 3e-7; β_i =
    −expm1(Δ log ᾱ) below the clip inherits it: ≤ 1e-5 β_i + 4 eps32 (|log ᾱ_i| + |log ᾱ_{i−1}| + 1).
    Planted bug caught: evaluating cos((t+s)/(1+s)·π/2), which is −4e-8 at t = 1 in float32 (log → NaN,
    DDPMChain.cosine then refuses its own β_N) and loses relative accuracy as t → 1."""
    t32 = jnp.linspace(0.0, 1.0, 1001).astype(jnp.float32)
    la32 = sr.cosine_log_alpha_bar(t32)
    la64 = np.asarray(sr.cosine_log_alpha_bar(t32.astype(jnp.float64)))
    assert la32.dtype == jnp.float32
    assert float(la32[-1]) == -jnp.inf
    np.testing.assert_allclose(la32[:-1], la64[:-1], rtol=1e-5, atol=3e-7)
    beta32, beta64 = np.asarray(-jnp.expm1(jnp.diff(la32)), np.float64), -np.expm1(np.diff(la64))
    la = np.abs(la64)
    bound = 1e-5 * beta64 + 4 * 1.2e-7 * (la[1:] + la[:-1] + 1)
    below = beta64 < 0.999
    assert np.all((np.abs(beta32 - beta64) <= bound)[below])
    assert float(beta32[-1]) == 1.0  # the clip (max_beta) takes over at i = N


EAGER_CASES = [
    (lambda: sr.DDPMChain(jnp.array([0.1, 0.0])), "betas must lie in \\(0, 1\\)"),
    (lambda: sr.DDPMChain(jnp.array([0.1, 1.0])), "betas"),
    (lambda: sr.DDPMChain(jnp.array([-0.1])), "betas"),
    (lambda: sr.DDPMChain(jnp.array([0.1, jnp.nan])), "betas"),
    (lambda: sr.DDPMChain(jnp.zeros((2, 2)) + 0.1), "1-D"),
    (lambda: sr.DDPMChain.linear(1000, 0.1, 2000.0), "betas"),
    (lambda: sr.DDPMChain.linear(1), "n_steps"),
    (lambda: sr.DDPMChain.cosine(0), "n_steps"),
    (lambda: sr.SMLDChain(jnp.array([1.0, 1.0, 2.0])), "sigmas must be strictly increasing"),
    (lambda: sr.SMLDChain(jnp.array([2.0, 1.0])), "sigmas"),
    (lambda: sr.SMLDChain(jnp.array([0.0, 1.0])), "sigmas must be > 0"),
    (lambda: sr.SMLDChain.geometric(1), "n_steps"),
    (lambda: sr.SMLDChain.geometric(10, 1.0, 0.5), "sigmas"),
    (lambda: sr.OUChain(0.0, 10), "gamma must lie in \\(0, 2\\)"),
    (lambda: sr.OUChain(2.0, 10), "gamma"),
    (lambda: sr.OUChain(jnp.array([0.1, 2.5]), 2), "gamma"),
    (lambda: sr.OUChain(0.1), "n_steps"),
    (lambda: sr.OUChain(0.1, 0), "n_steps"),
    (lambda: sr.OUChain(jnp.array([0.1, 0.2]), 3), "n_steps"),
    (lambda: sr.DDPMChain.linear(100).kernel(101), "index i"),
    (lambda: sr.SMLDChain.geometric(10).kernel(-1), "index i"),
    (lambda: sr.discretize(sr.VPSDE(), 100)(jnp.zeros(1), 0), "index i"),
    (lambda: sr.discretize(sr.VPSDE(), 1), "n_steps"),
    (lambda: sr.discretize(sr.VPSDE(), 10, method="heun"), "method"),
]


@pytest.mark.parametrize("make, phrase", EAGER_CASES)
def test_invalid_chain_parameters_raise_eagerly(make, phrase):
    """Each invalid parameter fails at once with a message naming it. Planted bug caught: a missing check
    (β = 1 gives ᾱ = 0 and a division by zero in the ancestral step; γ = 2 a chain that never mixes)."""
    with pytest.raises(ValueError, match=phrase):
        make()


@pytest.mark.parametrize(
    "fn, arg, phrase",
    [
        (lambda b: sr.DDPMChain(jnp.stack([b, b])).kernel(2)[1], 1.5, "betas"),
        (lambda s: sr.SMLDChain(jnp.stack([s, jnp.ones_like(s)])).kernel(1)[1], 2.0, "sigmas"),
        (lambda g: sr.OUChain(g, 3).kernel(2)[1], 2.5, "gamma"),
        (lambda i: sr.DDPMChain.linear(100).kernel(i)[1], 102, "index i"),
    ],
)
def test_invalid_traced_chain_parameters_fail_under_jit(fn, arg, phrase):
    """Traced parameters are checked at run time through eqx.error_if (tracing itself is not broken)."""
    with pytest.raises(eqx.EquinoxRuntimeError, match=phrase):
        jax.block_until_ready(eqx.filter_jit(fn)(jnp.asarray(arg)))
