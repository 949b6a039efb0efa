"""Higher-order SDE solvers (diffrax), the order-1 Runge–Kutta scheme of 003 §6.2, and DDIM."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import scoresde_ref as sr
from helpers import fit_order
from scoresde_ref.examples import documents_gmm_1d, gaussian_2d


def _gmm_cdf(p):
    w, mu, sd = np.asarray(p.weights), np.asarray(p.means[:, 0]), np.sqrt(np.asarray(p.covs[:, 0, 0]))
    return lambda x: sum(w[k] * scipy.stats.norm.cdf(x, mu[k], sd[k]) for k in range(len(w)))


def test_diffrax_euler_has_the_euler_maruyama_law(getkey):
    """diffrax's Euler on the time-reversed SDE is Euler–Maruyama on pc_sample's grid: its output
    has the exact law of the EM recursion (pc_sampler_law, denoise=False), 5 SE per moment
    (n = 4,000; false-failure probability < 5·6e-7)."""
    sde, dist = sr.VPSDE(), gaussian_2d()
    law = sr.pc_sampler_law(sde, dist, n_steps=40, eps=1e-2, denoise=False)
    n = 4000
    x_T = sde.prior_sample(getkey(), (n, 2))
    xs, nfe = sr.sde_sample(getkey(), sde, sr.exact_score(sde, dist), x_T, n_steps=40, eps=1e-2)
    assert nfe == 40
    assert jnp.all(jnp.abs(xs.mean(0) - law.mean) < 5 * jnp.sqrt(jnp.diagonal(law.cov) / n))
    se_cov = jnp.sqrt((jnp.diagonal(law.cov)[:, None] * jnp.diagonal(law.cov)[None] + law.cov**2) / n)
    assert jnp.all(jnp.abs(jnp.cov(xs.T) - law.cov) < 5 * se_cov)


def test_milstein_equals_euler_for_additive_noise(getkey):
    """The Milstein correction ½ b b'(ΔW² − Δt) vanishes for additive noise: same key, same output."""
    sde, dist = sr.VESDE(0.01, 5.0), gaussian_2d()
    x_T, key = sde.prior_sample(getkey(), (64, 2)), getkey()
    run = lambda s: sr.sde_sample(key, sde, sr.exact_score(sde, dist), x_T, n_steps=30, solver=s)[0]  # noqa: E731
    np.testing.assert_allclose(run("milstein"), run("euler"), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("solver", ["heun", "shark", "sra1"])
def test_higher_order_solvers_sample_the_documents_gmm(solver, getkey):
    """Heun, ShARK and SRA1 on the reverse VP SDE (exact score, 100 steps, from N(0, 1)): 1,500
    samples of ½N(−3, 1/4) + ½N(3, 1) pass KS against the exact p_eps at α = 1e-6 (critical
    distance 0.066; discretization bias at 100 steps and the prior mismatch are far below it)."""
    sde, dist, eps = sr.VPSDE(), documents_gmm_1d(), 1e-3
    x_T = sde.prior_sample(getkey(), (1500, 1))
    xs, _ = sr.sde_sample(getkey(), sde, sr.exact_score(sde, dist), x_T, n_steps=100, eps=eps, solver=solver)
    assert scipy.stats.kstest(np.asarray(xs[:, 0]), _gmm_cdf(sr.marginal(sde, dist, eps))).pvalue > 1e-6


def test_rk1_003_is_euler_maruyama_for_additive_noise(getkey):
    """003 §6.2's order-1 Runge–Kutta step equals the Euler–Maruyama step exactly when b does
    not depend on the state (every SDE of the documents)."""
    sde, dist = sr.VPSDE(), gaussian_2d()
    rev = sr.TimeReversedSDE(sde, sr.exact_score(sde, dist))
    w, dt = jnp.array([0.3, -1.1]), 0.01
    for u in [0.0, 0.4, 0.9]:
        dW = jnp.sqrt(dt) * jax.random.normal(getkey(), (2,))
        rk = sr.rk1_003_step(rev.drift, lambda y, s: rev.diffusion(s) * jnp.ones_like(y), w, u, dt, dW)
        em = w + rev.drift(w, u) * dt + rev.diffusion(u) * dW
        np.testing.assert_array_equal(rk, em)


def test_rk1_003_strong_order_one_on_multiplicative_noise(getkey):
    """On geometric Brownian motion dX = μX dt + σX dW (exact solution X_T = X_0 e^{(μ−σ²/2)T + σW_T}),
    the strong error E|X_N − X_T| decays with slope 1 for the RK scheme and 1/2 for EM (±0.15),
    same Brownian paths (2,000 paths, N = 16…256; the MC error of the mean is < 5% of each value)."""
    mu, sigma, T = 0.5, 0.8, 1.0
    n_paths, n_fine = 2000, 256
    dW_fine = jax.random.normal(getkey(), (n_paths, n_fine)) * jnp.sqrt(T / n_fine)
    exact = jnp.exp((mu - 0.5 * sigma**2) * T + sigma * dW_fine.sum(1))
    a = lambda x, t: mu * x  # noqa: E731
    b = lambda x, t: sigma * x  # noqa: E731

    def solve(step, n):
        dW = dW_fine.reshape(n_paths, n, n_fine // n).sum(-1)
        def body(x, dw):
            return jax.vmap(lambda xi, dwi: step(xi, dwi, T / n))(x, dw), None
        x, _ = jax.lax.scan(body, jnp.ones(n_paths), dW.T)
        return x

    rk = lambda x, dw, dt: sr.rk1_003_step(a, b, x, 0.0, dt, dw)  # noqa: E731
    em = lambda x, dw, dt: x + a(x, 0.0) * dt + b(x, 0.0) * dw  # noqa: E731
    ns = [16, 32, 64, 128]
    slope = lambda step: fit_order(ns, [float(jnp.mean(jnp.abs(solve(step, n) - exact))) for n in ns])  # noqa: E731
    assert abs(slope(rk) - 1.0) < 0.15
    assert abs(slope(em) - 0.5) < 0.15


def test_ddim_weak_order_one():
    """Deterministic DDIM on Gaussian data (exact score, exact p_T) is an affine map; its output
    law converges to p_eps with slope 1 ± 0.15 (measured 0.94 over N = 10…160, local slope → 0.98)."""
    sde, dist, eps = sr.VPSDE(), gaussian_2d(), 1e-3
    target, p_T = sr.marginal(sde, dist, eps), sr.marginal(sde, dist, 1.0)
    ns, errors = [20, 40, 80, 160], []
    for n in ns:
        f = lambda x, n=n: sr.ddim_sample(sde, sr.exact_score(sde, dist), x[None], n_steps=n, eps=eps)[0][0]  # noqa: E731
        M, v = jax.jacfwd(f)(p_T.mean), f(jnp.zeros(2))
        mean, cov = M @ p_T.mean + v, M @ p_T.cov @ M.T
        errors.append(float(jnp.max(jnp.abs(mean - target.mean)) + jnp.max(jnp.abs(cov - target.cov))))
    assert abs(fit_order(ns, errors) - 1.0) < 0.15


def test_ddim_stochastic_samples_the_documents_gmm(getkey):
    """η = 1 (DDPM ancestral on the DDIM grid), 500 steps: KS against exact p_eps at α = 1e-6."""
    sde, dist, eps = sr.VPSDE(), documents_gmm_1d(), 1e-3
    x_T = sde.prior_sample(getkey(), (4000, 1))
    xs, _ = sr.ddim_sample(sde, sr.exact_score(sde, dist), x_T, n_steps=500, eps=eps, eta=1.0, key=getkey())
    assert scipy.stats.kstest(np.asarray(xs[:, 0]), _gmm_cdf(sr.marginal(sde, dist, eps))).pvalue > 1e-6


def test_invalid_solver_options():
    sde, x = sr.VPSDE(), jnp.zeros((3, 2))
    score = sr.exact_score(sde, gaussian_2d())
    with pytest.raises(ValueError, match="solver"):
        sr.sde_sample(jax.random.key(0), sde, score, x, n_steps=5, solver="rk4")
    with pytest.raises(ValueError, match="VPSDE"):
        sr.ddim_sample(sr.VESDE(), score, x, n_steps=5)
    with pytest.raises(ValueError, match="key"):
        sr.ddim_sample(sde, score, x, n_steps=5, eta=0.5)
