"""`discretize(sde, N)`: the reference-code forms are exactly the SMLD and DDPM chains, and the generic
Euler–Maruyama form is exactly 001's autoregressive OU chain for dX = -X dt + √2 dB."""

import jax
import jax.numpy as jnp
import numpy as np

import scoresde_ref as sr

N = 500


def _assert_is_chain(disc, chain, form, rtol_a, rtol_b, rtol_path):
    """disc is of type `form` (dispatch by type, not by string), its linear coefficients (1 + f_i(1), G_i) are the
    chain's (a_i, b_i), and both give the same path from the same key."""
    assert type(disc) is form
    f, g = jax.vmap(lambda i: disc(jnp.ones(1), i))(jnp.arange(1, disc.n_steps + 1))
    a_c, b_c = chain.coefficients()
    np.testing.assert_allclose(1 + f[:, 0], a_c, rtol=rtol_a)
    np.testing.assert_allclose(g, b_c, rtol=rtol_b)
    key, x0 = jax.random.key(7), jnp.array([0.3, -0.8])
    np.testing.assert_allclose(sr.sample_path(key, disc, x0), sr.sample_path(key, chain, x0), rtol=rtol_path)


def test_ve_reference_form_is_the_smld_chain():
    """discretize(VESDE, N): f = 0, G_i = √(σ_i² - σ_{i-1}²), σ_0 = 0, σ_i = σ((i-1)/(N-1)): the SMLD chain
    SMLDChain.geometric(N, σ_min, σ_max), coefficient by coefficient and path by path (same key).
    Planted bug caught: σ_0 = σ_min (first G = 0) or the index map i/N (then σ_N ≠ σ_max)."""
    # G: both chains use the exact step ratio (expm1 route); their sigmas come from exp(linspace) vs σ(t'_i),
    # which differ by a few ulps, so G agrees to ~1e-13.
    _assert_is_chain(
        sr.discretize(sr.VESDE(0.01, 50.0), N),
        sr.SMLDChain.geometric(N, 0.01, 50.0),
        sr.chains.SMLDDiscretization,
        0,
        1e-11,
        1e-11,
    )


def test_vp_reference_form_is_the_ddpm_chain():
    """discretize(VPSDE, N): f = (√(1-β_i) - 1) x, G = √β_i, β_i = β((i-1)/(N-1))/N: DDPMChain.linear(N).
    Planted bug caught: f = -β_i x/2 (the Euler–Maruyama drift, an O(β²) per-step difference)."""
    _assert_is_chain(
        sr.discretize(sr.VPSDE(0.1, 20.0), N),
        sr.DDPMChain.linear(N, 0.1, 20.0),
        sr.chains.DDPMDiscretization,
        1e-14,
        1e-14,
        1e-12,
    )


def test_euler_maruyama_of_ou_is_the_autoregressive_chain():
    """Generic form (t_{i-1} = (i-1)T/N, Δt = T/N): f = f(x, t_{i-1})Δt, G = g(t_{i-1})√Δt. For the OU SDE
    dX = -X dt + √2 dB this is X_{k+1} = (1-γ)X_k + √(2γ) Z with γ = Δt (001 "Modelos en el caso Continuo"):
    OUChain(T/N, N). Planted bug caught: G = g Δt (002 L754's misplaced Δt) or f without Δt."""
    T = 2.0
    disc, chain = sr.discretize(sr.OUSDE(1.0, 2**0.5, T), N), sr.OUChain(jnp.asarray(T / N), N)
    _assert_is_chain(disc, chain, sr.chains.EulerMaruyamaDiscretization, 1e-14, 1e-14, 1e-12)


def test_euler_maruyama_is_left_point_and_forced_by_method():
    """sub-VP (no reference form) and `method="euler_maruyama"` on VE/VP evaluate f and g at t_{i-1}.
    Planted bug caught: evaluating at t_i (right point; for sub-VP g(0) = 0 makes the first step noiseless)."""
    x = jnp.array([0.5, -1.0])
    for sde in [sr.SubVPSDE(0.1, 20.0), sr.VPSDE(0.1, 20.0), sr.VESDE(0.01, 50.0)]:
        disc = sr.discretize(sde, N, method="euler_maruyama")
        assert type(disc) is sr.chains.EulerMaruyamaDiscretization
        dt = 1.0 / N
        for i in [1, 17, N]:
            f, g = disc(x, i)
            t = (i - 1) * dt
            np.testing.assert_allclose(f, sde.drift(x, t) * dt, rtol=1e-14)
            np.testing.assert_allclose(g, sde.diffusion(t) * np.sqrt(dt), rtol=1e-14)
    assert float(sr.discretize(sr.SubVPSDE(), N)(x, 1)[1]) == 0.0
