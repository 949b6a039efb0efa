"""Formulas of the documents that no other test checks directly (derivations/README.md cites each test).
Each test compares the library with the document's formula and names the planted bug it catches."""

import jax.numpy as jnp
import numpy as np

import scoresde_ref as sr


def test_001_reverse_ou_euler_maruyama_is_the_slides_recursion():
    """001 "En la práctica" (L787): Y_{k+1} = Y_k + γ{Y_k + 2 s((N − k)γ, Y_k)} + √(2γ) Z_{k+1}, Y_0 ∼ μ_Z, is the
    library's Euler–Maruyama predictor on OUSDE(1, √2) (f = −x, g = √2) at t = (N − k)γ with step h = γ
    (derivations/reverse_drifts.md, convention A). Planted bug: the score's factor 2 (g² = 2) dropped."""
    sde, gamma, n = sr.OUSDE(1.0, 2**0.5, T=2.0), 0.02, 100
    score = lambda x, t: -x / (1.0 + t) + jnp.sin(x)  # noqa: E731  any score: the identity is algebraic
    y = jnp.array([0.7, -1.3])
    for k in [0, 37, 99]:
        t = (n - k) * gamma
        mean, std = sr.samplers.EulerMaruyama().mean_and_std(
            sde, score, y, jnp.asarray(t), jnp.asarray(gamma), n - k, None
        )
        slides = y + gamma * (y + 2 * score(y, t))
        np.testing.assert_allclose(mean, slides, rtol=1e-14)
        np.testing.assert_allclose(std, np.sqrt(2 * gamma), rtol=1e-14)
        assert float(jnp.max(jnp.abs(mean - (y + gamma * (y + score(y, t)))))) > 1e-3


def test_002_ou_with_a_mean_reverts_to_it():
    """002 "Example: 1-dim Ornstein-Uhlenbeck process" (L303): dx = θ(μ − x)dt + σ dw is the affine SDE a = −θ, b = θμ;
    its kernel (quadrature route, forward_sdes.md §2) is N(e^{−θt}x_0 + μ(1 − e^{−θt}), σ²(1 − e^{−2θt})/(2θ)),
    i.e. OUSDE's kernel shifted by μ(1 − e^{−θt}). Planted bug: the offset μ e^{−θt} (the mean solved with the wrong
    initial value)."""
    theta, sigma, mu = 1.5, 0.8, jnp.array([2.0, -1.0])
    sde = sr.AffineSDE(
        lambda t: -theta * jnp.ones_like(t),
        lambda t: theta * mu * jnp.ones_like(t),
        lambda t: sigma * jnp.ones_like(t),
        T=3.0,
    )
    ou = sr.OUSDE(theta, sigma, T=3.0)
    for t in [0.1, 1.0, 3.0]:
        np.testing.assert_allclose(sde.kernel(t), ou.kernel(t), rtol=1e-12)
        np.testing.assert_allclose(sde.kernel_offset(t), mu * -np.expm1(-theta * t), rtol=1e-12)
        assert float(jnp.max(jnp.abs(sde.kernel_offset(t) - mu * np.exp(-theta * t)))) > 1e-2
    np.testing.assert_allclose(sde.prior_mean(), mu * -np.expm1(-theta * 3.0), rtol=1e-12)  # → μ as T → ∞
