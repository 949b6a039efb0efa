"""Checks of the discrete chains (SMLD, DDPM, autoregressive OU): exact kernels against the step
recursion, the measured orders of their SDE limits (derivations/chains.md), and the documents'
errors about them. Deterministic throughout: closed forms and exact moment recursions."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np

import scoresde_ref as sr
from scoresde_ref.exact._chain_limits import LIMITS, ddpm_kernel_error, measure, reverse_terminal_moments
from scoresde_ref.examples import chain_zoo

from ._registry import CheckResult, register, register_figure, save_figure

ORDER_TOL = 0.15  # the bar on |fitted - derived| order
EXACT = 1e-11  # closed form vs an N-step recursion (N <= 1000): N * eps ≈ 2e-13, with margin


def _chains():
    """The reference code's schedules at N = 1000, and `examples.chain_zoo()` (the chains tests/test_chains.py uses)."""
    return {
        "DDPM_linear": sr.DDPMChain.linear(1000),
        "DDPM_cosine": sr.DDPMChain.cosine(1000),
        "SMLD_geometric": sr.SMLDChain.geometric(1000),
        "OU_constant": sr.OUChain(jnp.asarray(0.002), 1000),
        "OU_linear": sr.OUChain(jnp.linspace(0.0005, 0.005, 1000)),
        **chain_zoo(),
    }


def _numpy_recursion(chain):
    """m_i = a_i m_{i-1}, s_i² = a_i² s_{i-1}² + b_i², a host loop in numpy float64."""
    a, b = map(np.asarray, chain.coefficients())
    m, v = [1.0], [0.0]
    for ai, bi in zip(a, b):
        m.append(ai * m[-1])
        v.append(ai**2 * v[-1] + bi**2)
    return np.array(m), np.sqrt(np.array(v))


for _name in _chains():

    @register(f"{_name}_kernel_vs_recursion", group="chains")
    def _(name=_name):
        """kernels() (cumulative log1p sums / telescoped σ_i / scan) == the step recursion, by a numpy loop and by
        propagate_moments through chain.step, at every i, to 1e-11 relative. Planted bugs caught: ᾱ_i = ∏β_j, a DDPM
        mean √(1-ᾱ), σ_0 = σ_1 in the SMLD chain (first increment 0), an OU variance 2γ·k without the (1-γ)² damping."""
        chain = _chains()[name]
        m, s = chain.kernels()
        m_np, s_np = _numpy_recursion(chain)
        np.testing.assert_allclose(m, m_np, rtol=EXACT, atol=1e-300)
        np.testing.assert_allclose(s, s_np, rtol=EXACT)
        means, variances = sr.propagate_moments(chain.step, jnp.ones(1), jnp.zeros(1), jnp.arange(1, chain.n_steps + 1))
        np.testing.assert_allclose(means[:, 0], m, rtol=EXACT, atol=1e-300)
        np.testing.assert_allclose(jnp.sqrt(variances[:, 0]), s, rtol=EXACT)
        for i in [0, 1, chain.n_steps // 2, chain.n_steps]:
            assert chain.kernel(i) == (m[i], s[i]), i
        rel = lambda a, b: jnp.max(jnp.abs(a - b) / jnp.maximum(jnp.abs(b), 1e-300))  # noqa: E731
        err = max(
            float(rel(m, means[:, 0])),
            float(rel(s[1:], jnp.sqrt(variances[1:, 0]))),
            float(rel(m, m_np)),
            float(rel(s[1:], s_np[1:])),
        )
        return CheckResult(
            err, EXACT, note="closed-form kernel vs the step recursion (numpy loop, propagate_moments), all i"
        )


for _name in LIMITS:

    @register(f"{_name}_order", group="chains")
    def _(name=_name):
        """Error vs N over >= 4 resolutions (deterministic: closed forms and exact moment recursions); the log–log
        least-squares order is within 0.15 of the derived one, and the error really falls. Planted bugs caught
        (each changes the fitted order or the error's size; see derivations/chains.md): ddpm_*: β_i = β̄_i (no 1/N),
        or a mean e^{-B} (000 §2.3 table); smld_kernel: σ_i read against σ((i-1)/N), or against VESDE.kernel
        (order 0); ve_euler_maruyama: 002 L754's √(dσ²/dt)Δt (order 0); ou_*: no time change (order 0)."""
        ns, errors, fitted, derived = measure(name)
        assert len(ns) >= 4
        assert np.all(np.diff(errors) < 0), (name, errors)
        note = (
            f"fitted {fitted:.3f} vs derived {derived:g}; N = {list(map(int, ns))}; "
            f"errors {errors[0]:.2e} … {errors[-1]:.2e}"
        )
        return CheckResult(abs(fitted - derived), ORDER_TOL, note=note)


@register("SMLD_vs_exact_VE_kernel_gap", group="chains")
def _():
    sde, n = sr.VESDE(0.01, 50.0), 1000
    _, s = sr.SMLDChain.geometric(n).kernels()
    _, s_exact = jax.vmap(sde.kernel)(jnp.arange(n) / (n - 1))
    gap = s[1:] ** 2 - s_exact**2
    err = float(jnp.max(jnp.abs(gap - 0.01**2) / s[1:] ** 2))
    return CheckResult(err, 1e-13, note="σ_i² − exact VE variance = σ_min² at every i (σ_0 = 0 jump): no convergence")


@register("chain_000_appendix_titles_swapped", group="errata")
def _():
    """000 appendix C is titled "SMLD como discretização da VP SDE" and appendix D "DDPM como discretização da VE
    SDE": swapped. The SMLD chain's kernel is within the derived O(1/N) bound of the VE (reference) kernel at
    t_i = i/N and O(1) away from the VP kernel; the DDPM chain's is within O(1/N) of the VP kernel (variance
    preserved to 1e-14) and O(1) away from any VE kernel (whose mean_coeff is 1)."""
    n = 1000
    m_smld, s_smld = sr.SMLDChain.geometric(n, 0.01, 50.0).kernels()
    t = jnp.arange(n + 1) / n
    _, s_ve = jax.vmap(sr.VESDE(0.01, 50.0).reference_kernel)(t)
    m_vp, s_vp = jax.vmap(sr.VPSDE(0.1, 20.0).kernel)(t)
    assert float(jnp.max(jnp.abs(s_smld[1:] / s_ve[1:] - 1))) <= -np.expm1(-np.log(5000.0) / n) * (1 + 1e-9)
    assert jnp.all(m_smld == 1.0)  # VE: mean preserved
    assert float(jnp.max(jnp.abs(m_smld - m_vp))) > 0.9
    assert float(ddpm_kernel_error(n)) < 2e-3
    m_ddpm, s_ddpm = sr.DDPMChain.linear(n, 0.1, 20.0).kernels()
    np.testing.assert_allclose(m_ddpm**2 + s_ddpm**2, 1.0, rtol=1e-14)  # VP: variance preserved; VE's grows
    assert float(jnp.max(jnp.abs(s_smld - s_vp))) > 10.0  # VP: std <= 1, SMLD reaches σ_max = 50
    gap = min(float(jnp.max(jnp.abs(s_smld - s_vp))), float(jnp.abs(m_ddpm[-1] - 1.0)))
    return CheckResult(
        gap, 0.99, ">=", note="SMLD chain is O(1) from VP (app. C title), DDPM O(1) from VE (app. D title)"
    )


@register("chain_000_002_increment_dt_inside_root", group="errata")
def _():
    """000 appendix C (L289) and 002 (L754) write the SMLD increment as √(dσ²/dt) Δt z; it is √(dσ²/dt · Δt) z. With
    Δt outside the root the variance Σ g² Δt² is ~1/N of σ(1)² − σ(0)² (< 2/N); the correct Euler–Maruyama increments
    give it within the derived O(1/N) error (10 log(σ_max/σ_min)/N)."""
    n = 1000
    disc = sr.discretize(sr.VESDE(0.01, 50.0), n, method="euler_maruyama")
    g = jax.vmap(lambda i: disc(jnp.zeros(1), i)[1])(jnp.arange(1, n + 1))  # g(t) √Δt
    exact = 50.0**2 - 0.01**2
    assert abs(float(jnp.sum(g**2)) / exact - 1) < 10 * np.log(5000.0) / n
    ratio = float(jnp.sum(g**2 / n)) / exact  # the documents' g(t) Δt increments
    assert ratio < 2.0 / n
    return CheckResult(1 - ratio, 0.9, ">=", note="√(dσ²/dt)Δt z (000 L289, 002 L754) leaves ~1/N of the variance")


@register("chain_002_ancestral_loop_stops_at_2", group="errata")
def _():
    """002 "DDPM" (L150) runs the ancestral step for t = T, ..., 2, which returns x_1, not x_0. With exact scores of
    N(μ, 0.5²) data from the exact p_N (exact moment recursion) the full loop ends at μ (1e-12), the document's
    (the chain without its first step) at √ᾱ_1 μ."""
    mu, chain = 1.0, sr.DDPMChain.linear(1000, 0.1, 20.0)
    mean_full, _ = reverse_terminal_moments(chain, mu, 0.5)
    shifted = sr.DDPMChain(chain.betas[1:])
    mean_doc, _ = reverse_terminal_moments(shifted, float(jnp.sqrt(1 - chain.betas[0])) * mu, 0.5)
    np.testing.assert_allclose(mean_full, mu, rtol=1e-12)
    np.testing.assert_allclose(mean_doc, np.sqrt(1 - float(chain.betas[0])) * mu, rtol=1e-12)
    return CheckResult(abs(float(mean_doc) - mu), 1e-6, ">=", note="t = T..2 returns x_1: mean √ᾱ_1 μ, not μ")


# --- figure --------------------------------------------------------------------------------


@register_figure("chain_convergence")
def _(out_dir: pathlib.Path) -> pathlib.Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    for j, name in enumerate(LIMITS):
        ns, errors, fitted, _ = measure(name)
        style = ["o-", "s--", "^-.", "D:"][j % 4]  # smld_kernel and ve_euler_maruyama share ≈ log(σmax/σmin)/N
        ax.loglog(ns, errors, style, label=f"{name} (order {fitted:.2f})")
    ns = np.array([50, 16000])
    for c in [1e-1, 1e1]:
        ax.loglog(ns, c / ns, "k:", lw=0.8)
    ax.text(60, 1e1 / 60, "slope −1", fontsize=8)
    ax.set(xlabel="N (steps)", ylabel="error vs the SDE limit", title="discrete chains → SDEs: error vs N")
    ax.legend(fontsize=7)
    return save_figure(fig, out_dir, "chain_convergence.png")
