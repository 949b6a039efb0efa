"""The k-diffusion twin (`scoresde_ref.compat.k_diffusion`) against independent routes: closed forms of the
schedules, the project's chains (SMLD reverse kernel, DDPM kernel) and step objects (Euler on the probability-flow
`Flow`), a measured convergence order, and Gaussian closed forms for the likelihood.

Tolerances: two float64 evaluations of one expression agree to a few ULP (1e-13 relative); float32 schedules to
float32 rounding (a few ULP of 6e-8); ODE routes to their solver tolerance (stated where used).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from helpers import fit_order
from scoresde_ref.chains import DDPMChain, SMLDChain
from scoresde_ref.compat.k_diffusion import external, sampling
from scoresde_ref.samplers import EulerMaruyama
from scoresde_ref.sde import Flow, probability_flow_drift

RNG = np.random.default_rng(7)
X = RNG.normal(size=(4, 2))
V0 = 0.3  # data N(0, V0 I): p_sigma = N(0, (V0 + sigma^2) I), D(x, sigma) = V0 x / (V0 + sigma^2)


def gaussian_denoiser(x, sigma):
    """The exact denoiser E[x0 | x] of N(0, V0 I) data at VE level sigma (Tweedie), batched."""
    s2 = jnp.reshape(jnp.asarray(sigma), (-1,) + (1,) * (x.ndim - 1)) ** 2
    return V0 * x / (V0 + s2)


def test_karras_schedule_closed_form():
    """Ends sigma_max and sigma_min, a final 0, and sigma^(1/rho) equally spaced (the rho-power ramp); the float32
    schedule is the float64 one within float32 rounding (catches rho and 1/rho swapped, or a missing final 0)."""
    n, lo, hi, rho = 9, 0.002, 80.0, 7.0
    s = np.asarray(sampling.get_sigmas_karras(n, lo, hi, rho))
    assert s.shape == (n + 1,) and s[-1] == 0.0
    np.testing.assert_allclose(s[[0, n - 1]], [hi, lo], rtol=1e-13)
    np.testing.assert_allclose(np.diff(s[:n] ** (1 / rho)), (lo ** (1 / rho) - hi ** (1 / rho)) / (n - 1), rtol=1e-11)
    s32 = sampling.get_sigmas_karras(n, lo, hi, rho, dtype=np.float32)
    assert s32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(s32), s, rtol=8 * 2**-23)  # rho = 7 amplifies the ramp's rounding 7-fold


def test_exponential_vp_and_polyexponential_schedules():
    """Exponential = the SMLD chain's geometric levels reversed; polyexponential with rho = 1 = exponential; VP =
    sqrt(exp(beta_d t^2/2 + beta_min t) - 1) at t = linspace(1, eps_s, n) (the EDM formula, beta_d = 19.9)."""
    n, lo, hi = 7, 0.01, 50.0
    expo = np.asarray(sampling.get_sigmas_exponential(n, lo, hi))
    np.testing.assert_allclose(expo[:-1], np.asarray(SMLDChain.geometric(n, lo, hi).sigmas)[::-1], rtol=1e-13)
    np.testing.assert_allclose(np.asarray(sampling.get_sigmas_polyexponential(n, lo, hi, 1.0)), expo, rtol=1e-13)
    t = np.linspace(1, 1e-3, n)
    want = np.sqrt(np.expm1(19.9 * t**2 / 2 + 0.1 * t))  # the library's exp(.) - 1 loses eps/B ~ 1e-12 at t = 1e-3
    np.testing.assert_allclose(np.asarray(sampling.get_sigmas_vp(n))[:-1], want, rtol=1e-13)


def test_to_d_is_the_probability_flow_drift():
    """(x - D)/sigma = f - g^2/2 s for dx = sqrt(2t) dw (`karras_ve_sde`) at the score (D - x)/sigma^2: the ODE that
    k-diffusion integrates is the project's probability flow with sigma(t) = t (kernel std t, checked too)."""
    sde, sigma = sampling.karras_ve_sde(80.0), np.array([0.5, 1.0, 3.0, 20.0])
    D = np.asarray(gaussian_denoiser(jnp.asarray(X), sigma))
    d = np.asarray(sampling.to_d(X, sigma, D))
    for b in range(4):
        s_b = (D[b] - X[b]) / sigma[b] ** 2
        want = probability_flow_drift(sde, lambda y, t, s_b=s_b: jnp.asarray(s_b), jnp.asarray(X[b]), sigma[b])
        np.testing.assert_allclose(d[b], np.asarray(want), rtol=1e-13)
        np.testing.assert_allclose(float(sde.kernel(sigma[b])[1]), sigma[b], rtol=1e-13)


def test_euler_without_churn_is_the_project_euler_step():
    """`sample_euler` with s_churn = 0 is, step by step, the project's `EulerMaruyama` step on the probability-flow
    `Flow` of `karras_ve_sde` with h = sigma_i - sigma_{i+1} (no noise needed)."""
    sigmas = sampling.get_sigmas_karras(5, 0.05, 10.0)
    got = np.asarray(sampling.sample_euler(gaussian_denoiser, X, sigmas))
    sde = sampling.karras_ve_sde(float(sigmas[0]))
    x = jnp.asarray(X)
    for i in range(5):
        s, h = sigmas[i], sigmas[i] - sigmas[i + 1]

        def one(y, s=s, h=h):
            score_fn = lambda u, t: (gaussian_denoiser(u[None], t[None])[0] - u) / t**2  # noqa: E731
            flow = Flow(lambda u, t: probability_flow_drift(sde, score_fn, u, t), sde.T)
            return EulerMaruyama().step(flow, score_fn, y, s, h, None, None, jnp.zeros_like(y))[0]

        x = jax.vmap(one)(x)
    np.testing.assert_allclose(got, np.asarray(x), rtol=1e-13, atol=1e-15)


def test_euler_churn_is_the_forward_kernel_then_euler():
    """With s_churn > 0: gamma = min(s_churn/(n-1), sqrt2 - 1) inside [s_tmin, s_tmax], x + sqrt(sigma_hat^2 -
    sigma^2) s_noise eps (the SMLD chain's forward step from sigma to sigma_hat), then Euler from sigma_hat; one draw
    per step, the library's order (catches the noise added after the Euler step, or gamma unclamped)."""
    sigmas = np.asarray(sampling.get_sigmas_karras(4, 0.05, 10.0))
    eps = list(RNG.normal(size=(4, *X.shape)))
    got = sampling.sample_euler(gaussian_denoiser, X, sigmas, s_churn=10.0, s_tmin=0.1, s_tmax=5.0, s_noise=1.01,
                                noise=eps)
    x = X.copy()
    for i in range(4):
        gamma = min(10.0 / 4, 2**0.5 - 1) if 0.1 <= sigmas[i] <= 5.0 else 0.0
        sigma_hat = sigmas[i] * (1 + gamma)
        if gamma > 0:
            chain = SMLDChain(jnp.array([sigmas[i], sigma_hat]))
            forward = jax.vmap(lambda y, z, chain=chain: chain.step(y, 2, z))
            x = np.asarray(forward(jnp.asarray(x), jnp.asarray(eps[i] * 1.01)))
        d = (x - np.asarray(gaussian_denoiser(jnp.asarray(x), np.full(4, sigma_hat)))) / sigma_hat
        x = x + d * (sigmas[i + 1] - sigma_hat)
    np.testing.assert_allclose(np.asarray(got), x, rtol=1e-12)
    with pytest.raises(ValueError, match="s_churn > 0 draws noise"):
        sampling.sample_euler(gaussian_denoiser, X, sigmas, s_churn=10.0)


def test_euler_ancestral_is_the_smld_reverse_kernel():
    """At eta = 1 each step is `SMLDChain.reverse_kernel` from sigma to sigma' (sigma_down = sigma'^2/sigma): the
    same x for the same z; the last step to 0 draws nothing; eta = 0 gives (sigma_to, 0) (deterministic DDIM)."""
    sigmas = np.array([4.0, 1.5, 0.4, 0.0])
    zs = list(RNG.normal(size=(2, *X.shape)))
    got = sampling.sample_euler_ancestral(gaussian_denoiser, X, sigmas, noise=zs)
    x = jnp.asarray(X)
    for i in range(3):
        sig, nxt = sigmas[i], sigmas[i + 1]
        score = lambda y, _i, sig=sig: (gaussian_denoiser(y[None], np.array([sig]))[0] - y) / sig**2  # noqa: E731
        if nxt > 0:
            chain = SMLDChain(jnp.array([nxt, sig]))
            mean, std = jax.vmap(lambda y, chain=chain, score=score: chain.reverse_kernel(y, 2, score))(x)
            x = mean + std[:, None] * zs[i]
        else:  # sigma' = 0: the reverse kernel's mean, the denoiser itself
            x = gaussian_denoiser(x, np.full(4, sig))
    np.testing.assert_allclose(np.asarray(got), np.asarray(x), rtol=1e-12, atol=1e-14)
    down, up = sampling.get_ancestral_step(2.0, 1.0, eta=0.0)
    assert (down, up) == (1.0, 0.0)
    with pytest.raises(ValueError, match="noise must hold 2"):
        sampling.sample_euler_ancestral(gaussian_denoiser, X, sigmas, noise=zs[:1])


def test_heun_converges_at_order_two():
    """Heun on the Gaussian PF ODE, exact solution x(sigma) = x0 sqrt((V0 + sigma^2)/(V0 + sigma_0^2)): the error at
    sigma_min over 4 resolutions falls at order 2 +- 0.15 (Euler's would be 1; a wrong trapezoid gives 1)."""
    lo, hi, errors, ns = 0.1, 10.0, [], [4, 8, 16, 32]
    for n in ns:
        sigmas = np.exp(np.linspace(np.log(hi), np.log(lo), n + 1))  # no final 0: the last Heun step ends at lo
        got = np.asarray(sampling.sample_heun(gaussian_denoiser, X, sigmas))
        errors.append(np.max(np.abs(got - X * np.sqrt((V0 + lo**2) / (V0 + hi**2)))))
    assert abs(fit_order(ns, errors) - 2.0) < 0.15
    dpm = np.asarray(sampling.sample_dpm_2(gaussian_denoiser, X, np.exp(np.linspace(np.log(hi), np.log(lo), 33))))
    np.testing.assert_allclose(dpm, X * np.sqrt((V0 + lo**2) / (V0 + hi**2)), rtol=2e-3)  # 2nd order, 32 steps


def test_discrete_eps_ddpm_denoiser_is_the_ddpm_chain():
    """sigma_i = sqrt((1 - a_i)/a_i) = std_i/mean_i of the chain's kernel; sigma_to_t inverts t_to_sigma on
    [0, N-1] and gives the integer level at each sigma_i; quantize snaps to the nearest level in log sigma; the
    denoiser is the chain's x0-hat (x_i - sqrt(1-a) eps)/sqrt(a) at x_i = sqrt(a) x; get_sigmas ends at 0."""
    chain = DDPMChain.linear(50, 0.1, 20.0)

    def eps_model(x, t):
        return 0.2 * x + 0.01 * jnp.reshape(t, (-1, 1))

    den = external.DiscreteEpsDDPMDenoiser(eps_model, chain.alphas_cumprod, quantize=False)
    mean, std = (np.asarray(a)[1:] for a in chain.kernels())
    np.testing.assert_allclose(np.asarray(den.sigmas), std / mean, rtol=1e-13)
    t = np.linspace(0.0, 49.0, 23)
    np.testing.assert_allclose(np.asarray(den.sigma_to_t(den.t_to_sigma(t))), t, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(np.asarray(den.sigma_to_t(den.sigmas)), np.arange(50), atol=1e-10)
    between = jnp.sqrt(den.sigmas[10] * den.sigmas[11]) * 1.001  # just above the log-midpoint of levels 10, 11
    assert int(den.sigma_to_t(between[None], quantize=True)[0]) == 11
    np.testing.assert_allclose(np.asarray(den.get_sigmas()), np.append(np.asarray(den.sigmas)[::-1], 0.0))
    np.testing.assert_allclose(np.asarray(den.get_sigmas(5))[[0, 4, 5]], [den.sigmas[-1], den.sigmas[0], 0.0],
                               rtol=1e-13)
    levels = np.array([0, 7, 30, 49])
    x = X * np.sqrt(1 + np.asarray(den.sigmas)[levels, None] ** 2)  # VE state whose DDPM state is X
    got = np.asarray(den(x, den.sigmas[levels]))
    x_i = mean[levels, None] * x
    want = (x_i - std[levels, None] * np.asarray(eps_model(x_i, levels.astype(float)))) / mean[levels, None]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    z = RNG.normal(size=X.shape)
    loss = den.loss(X, z, den.sigmas[levels])
    eps_hat = np.asarray(eps_model((X + np.asarray(den.sigmas)[levels, None] * z) * mean[levels, None], levels * 1.0))
    np.testing.assert_allclose(np.asarray(loss), np.mean((eps_hat - z) ** 2, axis=1), rtol=1e-12)


def test_log_likelihood_on_gaussian_data():
    """log p_{sigma_min}(x) for N(0, V0 I) data with the exact denoiser: the Gaussian log-density up to the prior
    N(0, sigma_max^2 I) in place of p_{sigma_max} (rtol = atol = 1e-7: errors ~1e-6, asserted at 1e-4), with a
    Rademacher probe, exact here (isotropic Jacobian: v^T J v = tr J for v in {-1, 1}^d)."""
    lo, hi = 0.05, 20.0
    z_exact = X * np.sqrt((V0 + hi**2) / (V0 + lo**2))
    want = (scipy.stats.norm.logpdf(X, scale=np.sqrt(V0 + lo**2)) - scipy.stats.norm.logpdf(
        z_exact, scale=np.sqrt(V0 + hi**2)) + scipy.stats.norm.logpdf(z_exact, scale=hi)).sum(1)
    probe = np.sign(RNG.normal(size=X.shape))
    ll, info = sampling.log_likelihood(gaussian_denoiser, X, lo, hi, atol=1e-7, rtol=1e-7, noise=probe)
    np.testing.assert_allclose(np.asarray(ll), want, atol=1e-4)
    assert info["fevals"] > 0
