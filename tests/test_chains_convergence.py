"""Measured convergence of the chains' kernels to their SDE limits (derivations/chains.md derives every
order), and Hypothesis properties over schedules, each against a derived two-sided error bound."""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import scoresde_ref as sr
from scoresde_ref.exact._chain_limits import fit_order


def test_fit_order_recovers_known_slopes():
    """fit_order on exact power laws (and a constant) gives their order: the measuring stick is right."""
    ns = np.array([10, 20, 40, 80])
    for p in [0.5, 1.0, 2.0]:
        assert abs(fit_order(ns, 3.0 * ns**-p) - p) < 1e-12
    assert abs(fit_order(ns, np.full(4, 1e-4))) < 1e-12


# --- Hypothesis: properties over schedules (values drawn, shapes fixed: one compile per test) ----------


@eqx.filter_jit
def _ddpm_props(betas):
    chain = sr.DDPMChain(betas)
    m, s = chain.kernels()
    return chain.alphas_cumprod, m, s


@given(st.lists(st.floats(1e-6, 0.999), min_size=32, max_size=32))
def test_alphas_cumprod_decreasing_in_unit_interval(betas):
    """For any β_i ∈ (0, 1): ᾱ_i ∈ (0, 1), strictly decreasing, and m_i² + s_i² = 1 (VP: variance preserved
    for unit-variance data). Planted bug caught: ᾱ from cumsum(β) or a std √ᾱ."""
    ab, m, s = _ddpm_props(jnp.asarray(betas))
    assert jnp.all((ab > 0) & (ab < 1))
    assert jnp.all(jnp.diff(ab) < 0)
    np.testing.assert_allclose(m**2 + s**2, 1.0, rtol=1e-14)


N_DDPM = 400


@eqx.filter_jit
def _ddpm_log_gap(beta_min, beta_max):
    """(-B(i/N) - log ᾱ_i, its derived lower and upper bounds) for DDPMChain.linear against VPSDE."""
    chain = sr.DDPMChain.linear(N_DDPM, beta_min, beta_max)
    i = jnp.arange(1.0, N_DDPM + 1)
    gap = -sr.VPSDE(beta_min, beta_max).integrated_beta(i / N_DDPM) - chain.log_alphas_cumprod
    riemann = (beta_max - beta_min) * i * (N_DDPM - i) / (2 * N_DDPM**2 * (N_DDPM - 1))
    sq = 0.5 * jnp.cumsum(chain.betas**2)
    return gap, sq - riemann, sq / (1 - jnp.max(chain.betas)) - riemann


@given(st.floats(0.01, 5.0), st.floats(0.1, 50.0))
def test_ddpm_kernel_within_derived_bound(beta_min, delta):
    """DDPMChain.linear vs VPSDE at t_i = i/N: -B(t_i) - log ᾱ_i = -R_i + Σ_{j≤i}[-log(1-β_j) - β_j] with the exact
    Riemann gap R_i = B(t_i) - Σ_{j≤i} β_j = Δβ i(N-i)/(2N²(N-1)) and β²/2 ≤ -log(1-β) - β ≤ β²/(2(1-β))
    (derivations/chains.md §DDPM).
    The bound is two-sided and O(1/N). Planted bug caught: β̄ sampled at i/N (R_i changes sign) or a
    ᾱ without log1p (the float64 rounding of 1 - β is within; a cumprod of β is not)."""
    gap, lower, upper = _ddpm_log_gap(jnp.asarray(beta_min), jnp.asarray(beta_min + delta))
    slack = 1e-13 * (1 + jnp.abs(gap))  # rounding of the cumulative sums
    assert jnp.all(gap >= lower - slack)
    assert jnp.all(gap <= upper + slack)


N_SMLD = 300


@eqx.filter_jit
def _smld_gap(sigma_min, sigma_max):
    chain = sr.SMLDChain.geometric(N_SMLD, sigma_min, sigma_max)
    rel = chain.sigmas / sr.VESDE(sigma_min, sigma_max).sigma(jnp.arange(1.0, N_SMLD + 1) / N_SMLD) - 1
    return jnp.abs(rel), -jnp.expm1(-jnp.log(sigma_max / sigma_min) / N_SMLD)


@given(st.floats(1e-3, 1.0), st.floats(1.5, 1e5))
def test_smld_kernel_within_derived_bound(sigma_min, ratio):
    """SMLDChain.geometric vs VESDE.reference_kernel at t_i = i/N: σ_i/σ(i/N) = r^{-(N-i)/(N(N-1))}, so the
    relative std error is at most 1 - r^{-1/N}, attained at i = 1 (derivations/chains.md §SMLD).
    Planted bug caught: σ_i = σ_min r^{i/N} (then σ_N ≠ σ_max and the max moves to i = N)."""
    err, bound = _smld_gap(jnp.asarray(sigma_min), jnp.asarray(sigma_min * ratio))
    assert jnp.all(err <= bound * (1 + 1e-9) + 1e-14)
    np.testing.assert_allclose(err[0], bound, rtol=1e-9)


N_OU = 200


@eqx.filter_jit
def _ou_props(gamma):
    chain = sr.OUChain(gamma, N_OU)
    m, s = chain.kernels()
    return m, s**2, chain.stationary_variance(), chain.times


@given(st.floats(1e-4, 1.999))
def test_ou_chain_stationary_variance(gamma):
    """001: σ_k² = (1 - (1-γ)^{2k})/(1 - γ/2) increases to the stationary 1/(1 - γ/2) (not the OU's 1), and
    1/(1 - γ/2) is the fixed point of v = (1-γ)² v + 2γ, for every γ ∈ (0, 2).
    Planted bug caught: stationary variance 1 (the SDE's) or 1/(1 - γ)."""
    m, var, v_inf, _ = _ou_props(jnp.asarray(gamma))
    assert jnp.all(var <= v_inf * (1 + 1e-12))
    assert jnp.all(jnp.diff(var) >= -1e-15 * v_inf)
    np.testing.assert_allclose(v_inf - var, m**2 * v_inf, rtol=1e-9, atol=1e-14 * v_inf)
    np.testing.assert_allclose((1 - gamma) ** 2 * v_inf + 2 * gamma, v_inf, rtol=1e-13)


@given(st.floats(1e-4, 0.5))
def test_ou_chain_within_derived_bound_of_ou_sde(gamma):
    """OUChain(γ) vs dX = -X dt + √2 dB at t_k = kγ (derivations/chains.md §OU):
    0 ≤ e^{-t} - m_k ≤ γ/(2e(1-γ)) and 0 ≤ σ_k² - (1 - e^{-2t}) ≤ γ/(2-γ) + γ/(2e(1-γ)): order 1 in γ.
    Planted bug caught: σ_k² without the 1/(1 - γ/2) factor (then below the SDE's) or m_k = (1-γ)^{k+1}."""
    m, var, _, t = _ou_props(jnp.asarray(gamma))
    mean_gap = jnp.exp(-t) - m
    var_gap = var + jnp.expm1(-2 * t)
    tiny = 1e-14
    assert jnp.all(mean_gap >= -tiny) and jnp.all(mean_gap <= gamma / (2 * np.e * (1 - gamma)) + tiny)
    assert jnp.all(var_gap >= -tiny)
    assert jnp.all(var_gap <= gamma / (2 - gamma) + gamma / (2 * np.e * (1 - gamma)) + tiny)
