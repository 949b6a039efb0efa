"""Langevin MCMC (003 §3.2) and SMLD's annealed Langevin dynamics (000 appendix A) on Gaussian
targets, where both are linear-Gaussian: the law after any number of steps follows from the
moment recursion x' = M x + ε Σ⁻¹ μ + √(2ε) z, M = I − ε Σ⁻¹ (derivations/samplers.md §3)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scoresde_ref as sr
from scoresde_ref.examples import gaussian_2d

N_CHAINS = 60_000


def _langevin_law(mean, cov, target, step, n_steps):
    """Exact law of n_steps unadjusted Langevin steps on the Gaussian `target` (numpy, float64)."""
    prec = np.linalg.inv(np.asarray(target.cov))
    M = np.eye(len(mean)) - step * prec
    for _ in range(n_steps):
        mean = M @ mean + step * prec @ np.asarray(target.mean)
        cov = M @ cov @ M.T + 2 * step * np.eye(len(mean))
    return mean, cov


def _assert_moments(xs, mean, cov, n_se=5.0):
    """Sample mean and covariance within `n_se` standard errors per entry (Gaussian samples:
    Var(x̄_i) = C_ii/n, Var(Ĉ_ij) = (C_ii C_jj + C_ij²)/n); false-failure < 6e-7 per entry at 5 SE."""
    xs, n = np.asarray(xs), xs.shape[0]
    var = np.diagonal(cov)
    assert np.all(np.abs(xs.mean(0) - mean) < n_se * np.sqrt(var / n))
    assert np.all(np.abs(np.cov(xs.T) - cov) < n_se * np.sqrt((var[:, None] * var[None] + cov**2) / n))


def test_langevin_mcmc_transient_law(getkey):
    """30 steps of size 0.05 from the point x0 = (2, 2): 60,000 chains match the exact law of the
    recursion (mean and covariance within 5 SE). Planted bug caught: noise √ε z instead of
    √(2ε) z (covariance off by ~2x), or the step applied without the score's precision."""
    target, step, n_steps = gaussian_2d(), 0.05, 30
    x0 = jnp.array([2.0, 2.0])
    keys = jax.random.split(getkey(), N_CHAINS)
    run = jax.jit(jax.vmap(lambda k: sr.langevin_mcmc(k, target.score, x0, step_size=step, n_steps=n_steps)))
    mean, cov = _langevin_law(np.asarray(x0), np.zeros((2, 2)), target, step, n_steps)
    _assert_moments(run(keys), mean, cov)


def test_langevin_mcmc_stationary_law_has_order_eps_bias(getkey):
    """After 400 steps of size 0.1 (contraction (1 − ε/λ_max)^400 < 1e-15) the chains are at the
    unadjusted-Langevin stationary law: mean μ, covariance V diag(λ / (1 − ε/(2λ))) Vᵀ (solve
    C = M C M + 2εI in the eigenbasis of Σ) — an O(ε) bias, 5% on the small eigenvalue here, which
    the 60,000 chains resolve: the test fails if the sampler were exact (cov = Σ) or biased twice as
    much. The trajectory option returns every state, the last equal to the returned one."""
    target, step = gaussian_2d(), 0.1
    lam, V = np.linalg.eigh(np.asarray(target.cov))
    stationary = (V * (lam / (1 - step / (2 * lam)))) @ V.T
    keys = jax.random.split(getkey(), N_CHAINS)
    run = jax.jit(
        jax.vmap(
            lambda k: sr.langevin_mcmc(k, target.score, jnp.zeros(2), step_size=step, n_steps=400, trajectory=True)
        )
    )
    xs, path = run(keys)
    assert path.shape == (N_CHAINS, 400, 2)
    np.testing.assert_array_equal(path[:, -1], xs)
    _assert_moments(xs, np.asarray(target.mean), stationary)
    with pytest.raises(AssertionError):
        _assert_moments(xs, np.asarray(target.mean), np.asarray(target.cov))


def test_annealed_langevin_law(getkey):
    """SMLD's annealed Langevin dynamics (000 appendix A) with the exact scores of
    q_σ = N(μ, Σ + σ²I), σ_i geometric from 0.01 to 5 (L = 10), M = 20 steps per level, ε = 2e-5:
    60,000 samples match the exact law of the level-by-level recursion with α_i = ε σ_i²/σ_1²,
    σ_N first. Planted bugs caught: levels run from σ_1 up (ends near N(μ, Σ + 25 I)), or
    α_i = ε σ_i²/σ_N² (steps 250,000x too small: the chains stay near x0)."""
    data = gaussian_2d()
    sigmas = jnp.asarray(np.geomspace(0.01, 5.0, 10))
    eps, m = 2e-5, 20

    def score(x, sigma):
        return sr.Gaussian(data.mean, data.cov + sigma**2 * jnp.eye(2)).score(x)

    mean, cov = np.zeros(2), 25.0 * np.eye(2)  # x0 ~ N(0, σ_max² I): the chains start from the prior
    for sigma in np.asarray(sigmas)[::-1]:
        level = sr.Gaussian(data.mean, data.cov + sigma**2 * jnp.eye(2))
        mean, cov = _langevin_law(mean, cov, level, eps * sigma**2 / float(sigmas[0]) ** 2, m)
    k_init, k_run = jax.random.split(getkey())
    x0 = 5.0 * jax.random.normal(k_init, (N_CHAINS, 2))
    run = jax.jit(jax.vmap(lambda k, x: sr.annealed_langevin_sample(k, score, sigmas, x, eps=eps, n_steps_each=m).x))
    _assert_moments(run(jax.random.split(k_run, N_CHAINS), x0), mean, cov)


def test_langevin_validation():
    target = gaussian_2d()
    with pytest.raises(ValueError, match="step_size"):
        sr.langevin_mcmc(jax.random.key(0), target.score, jnp.zeros(2), step_size=0.0, n_steps=3)
    with pytest.raises(ValueError, match="sigmas"):
        sr.annealed_langevin_sample(
            jax.random.key(0),
            lambda x, s: target.score(x),
            jnp.array([1.0, 0.5]),
            jnp.zeros(2),
            eps=1e-3,
            n_steps_each=2,
        )


@pytest.mark.parametrize("norm", ["batch", "per_example"])
def test_langevin_corrector_at_zero_score_is_the_identity(norm):
    """A score that is exactly 0 (a flat log-density, a valid input) makes the snr rule (r |z| / |s|)^2 infinite;
    the step is defined as 0 (derivations/samplers.md), so the update returns x unchanged and finite, not NaN.
    Planted bug caught: the undefended rule gives inf * 0 = NaN. A nonzero score still moves x."""
    sde = sr.VPSDE()
    disc = sr.discretize(sde, 50)  # N > beta_max = 20
    corrector = sr.samplers.LangevinCorrector(0.16, 1, norm)
    x = jnp.array([[0.3, -0.2], [1.0, 2.0]])
    z = jnp.array([[0.5, 0.1], [-1.0, 0.3]])
    new, mean = corrector.step(sde, lambda y, t: jnp.zeros_like(y), x, 0.5, 5, disc, z)
    np.testing.assert_array_equal(new, x)
    np.testing.assert_array_equal(mean, x)
    moved, _ = corrector.step(sde, lambda y, t: -y, x, 0.5, 5, disc, z)
    assert np.all(np.isfinite(moved)) and not np.allclose(moved, x)
