"""The score_sde_pytorch twin (`scoresde_ref.compat.score_sde`) against independent routes: the library's formulas
written out in NumPy (from its source's semantics, not its code), the project's step objects and losses on the same
noise, and closed forms on Gaussian data.

Tolerances: NumPy formulas and the twin are two float64 evaluations of one expression in different orders, so
they agree to a few ULP of the largest term (1e-12 relative, or 1e-12 absolute on O(1) quantities); the step-object
equalities are the same arithmetic (4 ULP); ODE routes agree to their solver tolerance (stated where used).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from scoresde_ref.chains import DDPMChain, discretize
from scoresde_ref.compat.score_sde import controllable_generation, likelihood, losses, sampling, sde_lib
from scoresde_ref.losses import ddpm_terms_at, loss_terms_at, ncsn_terms_at
from scoresde_ref.samplers import Ancestral, EulerMaruyama, ReverseDiffusion

N = 12
B0, B1 = 0.1, 10.0  # VP with N > beta_max (the DDPM chain needs beta_i < 1)
S0, S1 = 0.05, 5.0
RNG = np.random.default_rng(20240601)
X = RNG.normal(size=(4, 2))
Z = RNG.normal(size=(4, 2))
T_VEC = np.array([0.9, 0.5, 0.31, 0.02])
ULP4 = 4 * np.finfo(np.float64).eps


def score(x, t):
    """A smooth batched score-like field `(n, d)`, `t` `(n,)` (any function serves for equality tests)."""
    t = jnp.reshape(jnp.asarray(t), (-1,) + (1,) * (x.ndim - 1))
    return -(x - 0.3) / (1.0 + t) + 0.1 * jnp.sin(x)


def twins():
    return {
        "vp": sde_lib.VPSDE(B0, B1, N),
        "subvp": sde_lib.subVPSDE(B0, B1, N),
        "ve": sde_lib.VESDE(S0, S1, N),
    }


def np_library(name, x, t):
    """The library's `sde`, `marginal_prob`, `prior_logp` for each SDE, in NumPy from its formulas."""
    if name == "ve":
        sigma = S0 * (S1 / S0) ** t
        g = sigma * np.sqrt(2 * (np.log(S1) - np.log(S0)))
        return np.zeros_like(x), g, x, sigma, -x.shape[1] / 2 * np.log(2 * np.pi * S1**2) - (x**2).sum(1) / (2 * S1**2)
    beta = B0 + t * (B1 - B0)
    lmc = -0.25 * t**2 * (B1 - B0) - 0.5 * t * B0
    prior = -x.shape[1] / 2 * np.log(2 * np.pi) - (x**2).sum(1) / 2
    if name == "vp":
        return -0.5 * beta[:, None] * x, np.sqrt(beta), np.exp(lmc)[:, None] * x, np.sqrt(1 - np.exp(2 * lmc)), prior
    discount = 1 - np.exp(-2 * B0 * t - (B1 - B0) * t**2)
    return -0.5 * beta[:, None] * x, np.sqrt(beta * discount), np.exp(lmc)[:, None] * x, 1 - np.exp(2 * lmc), prior


@pytest.mark.parametrize("name", ["vp", "subvp", "ve"])
def test_sde_lib_coefficients_are_the_library_formulas(name):
    """sde, marginal_prob and prior_logp equal the library's closed forms (VE: std sigma(t), the reference
    kernel). Catches the kernel table's dropped 1/2 in the VP mean (ERRATA) and the exact VE std."""
    sde = twins()[name]
    drift, g, mean, std, prior = np_library(name, X, T_VEC)
    d_twin, g_twin = sde.sde(X, T_VEC)
    m_twin, s_twin = sde.marginal_prob(X, T_VEC)
    for got, want in [(d_twin, drift), (g_twin, g), (m_twin, mean), (s_twin, std), (sde.prior_logp(X), prior)]:
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-14)
    assert sde.T == 1 and sde.N == N
    np.testing.assert_array_equal(np.asarray(sde.prior_sampling(X.shape, noise=Z)), Z * (S1 if name == "ve" else 1.0))


def test_discretize_is_the_reference_chain():
    """VP: f = (sqrt(1 - beta_i) - 1) x, G = sqrt(beta_i) with beta = linspace(b0/N, b1/N, N); VE: f = 0,
    G = sqrt(sigma_i^2 - sigma_{i-1}^2), sigma_{-1} = 0, at timestep floor(t (N-1)); sub-VP: Euler at t, dt = 1/N."""
    s = twins()
    timestep = np.floor(T_VEC * (N - 1)).astype(int)
    betas = np.linspace(B0 / N, B1 / N, N)
    f, G = s["vp"].discretize(X, T_VEC)
    np.testing.assert_allclose(np.asarray(f), (np.sqrt(1 - betas[timestep]) - 1)[:, None] * X, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(G), np.sqrt(betas[timestep]), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(s["vp"].alphas_cumprod), np.cumprod(1 - betas), rtol=1e-13)
    sigmas = np.exp(np.linspace(np.log(S0), np.log(S1), N))
    adjacent = np.where(timestep == 0, 0.0, sigmas[timestep - 1])
    f, G = s["ve"].discretize(X, T_VEC)
    np.testing.assert_array_equal(np.asarray(f), 0.0)
    np.testing.assert_allclose(np.asarray(G), np.sqrt(sigmas[timestep] ** 2 - adjacent**2), rtol=1e-12)
    f, G = s["subvp"].discretize(X, T_VEC)
    drift, g, *_ = np_library("subvp", X, T_VEC)
    np.testing.assert_allclose(np.asarray(f), drift / N, rtol=1e-13)
    np.testing.assert_allclose(np.asarray(G), g * np.sqrt(1 / N), rtol=1e-13)


@pytest.mark.parametrize("probability_flow", [False, True])
def test_reverse_sde_and_discretize(probability_flow):
    """RSDE: (f - w g^2 s, g or 0) and (f_i - w G_i^2 s, G_i or 0), w = 1/2 for the probability flow (catches a
    full g^2 in the flow, or a kept diffusion)."""
    sde, w = twins()["vp"], 0.5 if probability_flow else 1.0
    rsde = sde.reverse(score, probability_flow)
    drift, g, *_ = np_library("vp", X, T_VEC)
    s = np.asarray(score(X, T_VEC))
    d_rev, g_rev = rsde.sde(X, T_VEC)
    np.testing.assert_allclose(np.asarray(d_rev), drift - w * g[:, None] ** 2 * s, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(g_rev), 0.0 if probability_flow else np.asarray(g))
    f, G = sde.discretize(X, T_VEC)
    f_rev, G_rev = rsde.discretize(X, T_VEC)
    np.testing.assert_allclose(np.asarray(f_rev), np.asarray(f) - w * np.asarray(G)[:, None] ** 2 * s, rtol=1e-12)
    assert rsde.N == N and rsde.T == 1


PREDICTOR_CASES = [
    ("vp", sampling.EulerMaruyamaPredictor, EulerMaruyama()),
    ("subvp", sampling.EulerMaruyamaPredictor, EulerMaruyama()),
    ("ve", sampling.EulerMaruyamaPredictor, EulerMaruyama()),
    ("vp", sampling.ReverseDiffusionPredictor, ReverseDiffusion()),
    ("ve", sampling.ReverseDiffusionPredictor, ReverseDiffusion()),
    ("vp", sampling.AncestralSamplingPredictor, Ancestral()),
    ("ve", sampling.AncestralSamplingPredictor, Ancestral()),
]


@pytest.mark.parametrize("name, twin_cls, step", PREDICTOR_CASES)
def test_predictor_update_is_the_project_step(name, twin_cls, step):
    """`update_fn(x, t, noise=z)` equals the project's `step(..., z)` with h = 1/N and chain index
    floor(t (N-1)) + 1 of `scoresde_ref.discretize(sde, N)` (catches an off-by-one level or h = grid spacing)."""
    sde = twins()[name]
    disc = discretize(sde.base, N)
    x_next, x_mean = twin_cls(sde, score, False).update_fn(X, T_VEC, noise=Z)
    i = np.floor(T_VEC * (N - 1)).astype(int) + 1
    s = np.asarray(score(X, T_VEC))
    for b in range(X.shape[0]):
        want = step.step(sde.base, lambda y, t, b=b: jnp.asarray(s[b]), jnp.asarray(X[b]), T_VEC[b], 1 / N, i[b], disc,
                         jnp.asarray(Z[b]))
        np.testing.assert_allclose(np.asarray(x_next[b]), np.asarray(want[0]), rtol=ULP4, atol=ULP4)
        np.testing.assert_allclose(np.asarray(x_mean[b]), np.asarray(want[1]), rtol=ULP4, atol=ULP4)


def test_predictors_are_the_library_formulas():
    """The library's update rules in NumPy: Euler-Maruyama x - (f - g^2 s)/N + g z/sqrt(N); ancestral VE
    x + (s_i^2 - s_{i-1}^2) score + sqrt(s_{i-1}^2 (s_i^2 - s_{i-1}^2)/s_i^2) z;
    VP (x + b score)/sqrt(1-b) + sqrt(b) z."""
    s, sc = twins(), np.asarray(score(X, T_VEC))
    drift, g, *_ = np_library("subvp", X, T_VEC)
    got, _ = sampling.EulerMaruyamaPredictor(s["subvp"], score).update_fn(X, T_VEC, noise=Z)
    np.testing.assert_allclose(np.asarray(got), X - (drift - g[:, None] ** 2 * sc) / N + g[:, None] / np.sqrt(N) * Z,
                               rtol=1e-12)
    timestep = np.floor(T_VEC * (N - 1)).astype(int)
    sigmas = np.exp(np.linspace(np.log(S0), np.log(S1), N))
    sig, adj = sigmas[timestep], np.where(timestep == 0, 0.0, sigmas[timestep - 1])
    want = X + sc * (sig**2 - adj**2)[:, None] + np.sqrt(adj**2 * (sig**2 - adj**2) / sig**2)[:, None] * Z
    got, _ = sampling.AncestralSamplingPredictor(s["ve"], score).update_fn(X, T_VEC, noise=Z)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
    beta = np.linspace(B0 / N, B1 / N, N)[timestep][:, None]
    got, _ = sampling.AncestralSamplingPredictor(s["vp"], score).update_fn(X, T_VEC, noise=Z)
    np.testing.assert_allclose(np.asarray(got), (X + beta * sc) / np.sqrt(1 - beta) + np.sqrt(beta) * Z, rtol=1e-12)


def np_langevin(name, x, t, zs, snr, ald):
    """The library's Langevin / ALD corrector in NumPy: eps = 2 alpha (snr |z|/|s|)^2 (batch-mean norms) or
    2 alpha (snr std)^2; alpha = 1 - beta_i (VP, issue #73: not the product), 1 (VE)."""
    timestep = np.floor(t * (N - 1)).astype(int)
    alpha = 1 - np.linspace(B0 / N, B1 / N, N)[timestep] if name == "vp" else np.ones_like(t)
    std = np_library(name, x, t)[3]
    for z in zs:
        grad = np.asarray(score(x, t))
        if ald:
            step = (snr * std) ** 2 * 2 * alpha
        else:
            ratio = np.linalg.norm(z, axis=1).mean() / np.linalg.norm(grad, axis=1).mean()
            step = (snr * ratio) ** 2 * 2 * alpha
        x_mean = x + step[:, None] * grad
        x = x_mean + np.sqrt(step * 2)[:, None] * z
    return x, x_mean


@pytest.mark.parametrize("name", ["vp", "ve"])
@pytest.mark.parametrize("ald", [False, True])
def test_correctors_are_the_library_formulas(name, ald):
    """LangevinCorrector / AnnealedLangevinDynamics with two given draws (catches alpha = the product
    alpha-bar, per-example norms, or the exact VE std in ALD)."""
    sde = twins()[name]
    zs = [Z, RNG.normal(size=X.shape)]
    cls = sampling.AnnealedLangevinDynamics if ald else sampling.LangevinCorrector
    got = cls(sde, score, 0.16, 2).update_fn(X, T_VEC, noise=zs)
    for g, w in zip(got, np_langevin(name, X, T_VEC, zs, 0.16, ald)):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-12)
    with pytest.raises(NotImplementedError, match="subVPSDE"):
        cls(twins()["subvp"], score, 0.16, 1)


@pytest.mark.parametrize("name", ["vp", "ve"])
def test_pc_sampler_is_the_library_loop(name):
    """get_pc_sampler given noise equals the library's loop in NumPy: x = prior, then at each t of
    linspace(1, eps, N) the corrector BEFORE the predictor (issue #50), denoised output, nfe = N (n_steps + 1)."""
    sde, eps = twins()[name], 1e-3
    draws = list(RNG.normal(size=(1 + N * 2, *X.shape)))
    sampler = sampling.get_pc_sampler(sde, X.shape, sampling.ReverseDiffusionPredictor, sampling.LangevinCorrector,
                                      lambda y: y, 0.16, n_steps=1, eps=eps)
    got, nfe = sampler(score, noise=draws)
    x = draws[0] * (S1 if name == "ve" else 1.0)
    timesteps = np.linspace(1.0, eps, N)
    for k in range(N):
        t = np.full(X.shape[0], timesteps[k])
        x, _ = np_langevin(name, x, t, [draws[1 + 2 * k]], 0.16, False)
        f, G = (np.asarray(a) for a in sde.discretize(x, t))
        x_mean = x - f + G[:, None] ** 2 * np.asarray(score(x, t))
        x = x_mean + G[:, None] * draws[2 + 2 * k]
    np.testing.assert_allclose(np.asarray(got), x_mean, rtol=1e-10, atol=1e-12)  # 12 steps of 1e-13 rounding
    assert nfe == N * 2
    with pytest.raises(ValueError, match="noise must hold 25"):
        sampler(score, noise=draws[:-1])


def test_ode_sampler_and_likelihood_on_gaussian_data():
    """Gaussian data N(0, v0 I) under VP: the probability-flow map is x_eps = sqrt(var(eps)/var(1)) x_1 and
    log p_eps is the Gaussian log-density (with the library's prior N(0, I) in place of p_T); the twins reach
    both within the solver tolerance (rtol = atol = 1e-7:
    errors ~1e-6 on O(1) values, asserted at 1e-4). Rademacher Hutchinson is exact for an isotropic Jacobian."""
    sde, v0 = sde_lib.VPSDE(B0, B1, N), 0.25

    def var(t):
        m, s = sde.base.kernel(t)
        return m**2 * v0 + s**2

    def exact_score(x, t):
        return -x / jax.vmap(var)(t)[:, None]

    sampler = sampling.get_ode_sampler(sde, X.shape, lambda y: y, rtol=1e-7, atol=1e-7, eps=1e-3)
    x_eps, nfe = sampler(exact_score, noise=Z)
    np.testing.assert_allclose(np.asarray(x_eps), Z * np.sqrt(var(1e-3) / var(1.0)), rtol=1e-4, atol=1e-5)
    assert nfe > 0
    # the library's bpd uses the prior N(0, I), not p_T: log p_eps(x) - log p_T(z) + log N(z; 0, I), z = x_T
    z_exact = X * np.sqrt(var(1.0) / var(1e-5))
    logp = (scipy.stats.norm.logpdf(X, scale=np.sqrt(var(1e-5))) - scipy.stats.norm.logpdf(z_exact, scale=np.sqrt(
        var(1.0))) + scipy.stats.norm.logpdf(z_exact)).sum(1)
    bpd_exact = -logp / (2 * np.log(2)) + 8.0  # inverse_scaler identity: offset 7 - (-1)
    for kind, probe in [(None, None), ("Rademacher", np.sign(Z))]:
        fn = likelihood.get_likelihood_fn(sde, lambda y: y, hutchinson_type=kind, rtol=1e-7, atol=1e-7)
        bpd, z, _ = fn(exact_score, X, noise=probe)
        np.testing.assert_allclose(np.asarray(bpd), bpd_exact, atol=1e-4)
        np.testing.assert_allclose(np.asarray(z), z_exact, rtol=1e-4)


@pytest.mark.parametrize("reduce_mean", [False, True])
@pytest.mark.parametrize("likelihood_weighting", [False, True])
def test_sde_loss_is_the_project_dsm_loss(reduce_mean, likelihood_weighting):
    """VP: the library's loss at t = u (1 - eps) + eps and noise z equals the mean of
    `loss_terms_at(..., weighting = sigma2 or g2)` times 1/D (reduce_mean) or 1/2 (the library's half sum)."""
    sde, eps, u = twins()["vp"], 1e-5, RNG.uniform(size=X.shape[0])
    fn = losses.get_sde_loss_fn(sde, True, reduce_mean=reduce_mean, likelihood_weighting=likelihood_weighting, eps=eps)
    got = fn(score, X, noise=(u, Z))
    t = u * (1 - eps) + eps
    per_example = lambda y, s: score(y[None], s[None])[0]  # noqa: E731
    terms = loss_terms_at(sde.base, per_example, jnp.asarray(X), t, jnp.asarray(Z),
                          weighting="g2" if likelihood_weighting else "sigma2")
    np.testing.assert_allclose(float(got), float(jnp.mean(terms)) * (1 / 2 if reduce_mean else 0.5), rtol=1e-12)


def test_ve_sde_loss_uses_the_reference_std():
    """VE: x_t = x + sigma(t) z with sigma(t) = sigma_min (sigma_max/sigma_min)^t and weight sigma(t)^2 (the library),
    not the exact std sqrt(sigma(t)^2 - sigma_min^2)."""
    sde, eps, u = twins()["ve"], 1e-5, RNG.uniform(size=X.shape[0])
    got = losses.get_sde_loss_fn(sde, True, reduce_mean=True, likelihood_weighting=False)(score, X, noise=(u, Z))
    t = u * (1 - eps) + eps
    sigma = S0 * (S1 / S0) ** t
    s = np.asarray(score(X + sigma[:, None] * Z, t))
    np.testing.assert_allclose(float(got), np.mean(np.mean((s * sigma[:, None] + Z) ** 2, axis=1)), rtol=1e-12)


def test_smld_and_ddpm_losses_are_the_project_discrete_losses():
    """SMLD: sigma = discrete_sigmas reversed at the label, = `ncsn_terms_at` at that one level; DDPM:
    ||eps_hat - z||^2 = `ddpm_terms_at` with s = -eps_hat / sqrt(1 - alpha-bar) (chain index label + 1)."""
    labels = np.array([0, 3, 7, 11])
    sigmas_desc = np.exp(np.linspace(np.log(S0), np.log(S1), N))[::-1]

    def model(x, lab):  # a label-conditioned network
        return -x / (1.0 + jnp.asarray(lab, x.dtype)[:, None]) + 0.05

    smld = losses.get_smld_loss_fn(twins()["ve"], True)(model, X, noise=(labels, Z))
    ddpm = losses.get_ddpm_loss_fn(twins()["vp"], True)(model, X, noise=(labels, Z))
    chain = DDPMChain.linear(N, B0, B1)
    want_smld, want_ddpm = [], []
    for b, lab in enumerate(labels):
        one = lambda y, s, lab=lab: model(y[None], np.array([lab]))[0]  # noqa: E731
        want_smld.append(ncsn_terms_at(one, X[b : b + 1], sigmas_desc[lab : lab + 1], Z[b, None, None])[0])
        ab = chain.alphas_cumprod[lab : lab + 1]
        as_score = lambda y, i, one=one, ab=ab: -one(y, i) / jnp.sqrt(1 - ab[0])  # noqa: E731
        want_ddpm.append(ddpm_terms_at(as_score, X[b : b + 1], ab, Z[b, None, None])[0])
    np.testing.assert_allclose(float(smld), 0.5 * np.mean(want_smld), rtol=1e-12)
    np.testing.assert_allclose(float(ddpm), np.mean(want_ddpm) / X.shape[1], rtol=1e-12)
    with pytest.raises(ValueError, match="labels must be integers"):
        losses.get_ddpm_loss_fn(twins()["vp"], True)(model, X, noise=(labels + 1, Z))


def test_inpainter_and_colorizer_keep_the_known_part():
    """Known pixels leave the inpainter as the replacement mean m(eps) x (denoise), for every draw; the colour
    basis is orthonormal with the grey direction first, and the colorizer's grey channel is m(eps) times the
    input's (catches a replacement drawn at the wrong time or a non-orthonormal basis)."""
    sde, eps = twins()["vp"], 1e-3
    mask = np.array([[1.0, 0.0]] * X.shape[0])
    inpaint = controllable_generation.get_pc_inpainter(sde, sampling.ReverseDiffusionPredictor, None, lambda y: y,
                                                       0.16, eps=eps)
    draws = list(RNG.normal(size=(1 + N * 3, *X.shape)))
    out = inpaint(score, X, mask, noise=draws)
    mean_coeff = float(sde.base.kernel(eps)[0])
    np.testing.assert_allclose(np.asarray(out)[:, 0], mean_coeff * X[:, 0], rtol=1e-13)
    assert np.all(np.isfinite(np.asarray(out)))
    M = np.asarray(controllable_generation.colour_basis())
    np.testing.assert_allclose(M @ M.T, np.eye(3), atol=1e-15)
    np.testing.assert_allclose(M[:, 0], np.full(3, 3**-0.5), rtol=1e-15)
    gray = np.repeat(RNG.normal(size=(2, 1, 2, 2)), 3, axis=1)
    colorize = controllable_generation.get_pc_colorizer(sde, sampling.EulerMaruyamaPredictor, None, lambda y: y, 0.16,
                                                        eps=eps)
    out = colorize(score, gray, noise=list(RNG.normal(size=(1 + N * 3, *gray.shape))))
    grey_channel = np.einsum("bihw,i->bhw", np.asarray(out), M[:, 0])
    np.testing.assert_allclose(grey_channel, mean_coeff * np.sqrt(3) * gray[:, 0], rtol=1e-12)


def test_float32_twin_and_bad_noise():
    """dtype=np.float32 runs in float32 within float32 rounding of float64 (1e-5 relative after one step); a
    missing or misshapen draw raises a ValueError naming the function."""
    s64, s32 = sde_lib.VPSDE(B0, B1, N), sde_lib.VPSDE(B0, B1, N, dtype=np.float32)
    p64 = sampling.ReverseDiffusionPredictor(s64, score).update_fn(X, T_VEC, noise=Z)[0]
    p32 = sampling.ReverseDiffusionPredictor(s32, score).update_fn(X, T_VEC, noise=Z)[0]
    assert p32.dtype == jnp.float32 and s32.discrete_betas.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(p32), np.asarray(p64), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="ReverseDiffusionPredictor.update_fn: noise must be given"):
        sampling.ReverseDiffusionPredictor(s64, score).update_fn(X, T_VEC, noise=None)
    with pytest.raises(ValueError, match=r"noise\[0\] must have shape \(4, 2\)"):
        sampling.EulerMaruyamaPredictor(s64, score).update_fn(X, T_VEC, noise=Z[:2])
    with pytest.raises(ValueError, match="probability_flow"):
        sampling.AncestralSamplingPredictor(s64, score, probability_flow=True)
    assert sampling.get_predictor("reverse_diffusion") is sampling.ReverseDiffusionPredictor
    assert sampling.get_corrector("ald") is sampling.AnnealedLangevinDynamics

