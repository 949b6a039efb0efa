"""The reverse-time drift and the probability-flow velocity, checked through the PDEs their
marginals must solve."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_fokker_planck import RTOL, max_relative_residuals

import scoresde_ref as sr
from scoresde_ref.examples import gmm_2d, sde_zoo


@pytest.mark.parametrize("name", sorted(sde_zoo()))
def test_probability_flow_drift_transports_marginals(name):
    """∂_t p_t + ∇·(f̃ p_t) = 0 with f̃ = f − ½ g² ∇log p_t: the ODE has the SDE's marginals.

    Planted bug caught: f − ½ g ∇log p (000 §3.2, the missing square) leaves an O(1) residual
    (tests/test_errata.py::test_000_probability_flow_needs_g_squared).
    """
    sde, dist = sde_zoo()[name], gmm_2d()
    score = lambda x, s: sr.marginal(sde, dist, s).score(x)  # noqa: E731
    flow = sr.Flow(lambda x, t: sr.probability_flow_drift(sde, score, x, t), sde.T)
    log_p = lambda x, s: sr.marginal(sde, dist, s).log_prob(x)  # noqa: E731
    for frac in [1e-3, 0.2, 0.7]:
        t = frac * sde.T
        xs = sr.marginal(sde, dist, t).sample(jax.random.key(3), 4)
        log_res, dens_res = max_relative_residuals(flow, log_p, jnp.asarray(t), xs)
        assert float(log_res) < RTOL and float(dens_res) < RTOL


@pytest.mark.parametrize("name", sorted(sde_zoo()))
def test_reverse_drift_generates_time_reversed_marginals(name):
    """q_u = p_{T−u} solves the Fokker–Planck equation of the time-reversed SDE built from
    `reverse_drift` (f − g² ∇log p). Planted bug caught: f − ½ g² ∇log p, or a + sign."""
    sde, dist = sde_zoo()[name], gmm_2d()
    rev = sr.TimeReversedSDE(sde, lambda x, s: sr.marginal(sde, dist, s).score(x))
    log_q = lambda y, u: sr.marginal(sde, dist, sde.T - u).log_prob(y)  # noqa: E731
    for frac in [0.1, 0.5, 0.95]:
        u = frac * sde.T
        xs = sr.marginal(sde, dist, sde.T - u).sample(jax.random.key(4), 4)
        log_res, dens_res = max_relative_residuals(rev, log_q, jnp.asarray(u), xs)
        assert float(log_res) < RTOL and float(dens_res) < RTOL


def test_reverse_drift_definition():
    """reverse_drift = f − g² s and probability_flow_drift = f − ½ g² s, for an arbitrary s."""
    sde = sr.VPSDE()
    score = lambda x, t: jnp.sin(x) * t  # noqa: E731
    x, t = jnp.array([0.3, -0.7]), 0.42
    f, g2 = sde.drift(x, t), sde.diffusion(t) ** 2
    np.testing.assert_allclose(sr.reverse_drift(sde, score, x, t), f - g2 * score(x, t), rtol=1e-15)
    np.testing.assert_allclose(sr.probability_flow_drift(sde, score, x, t), f - 0.5 * g2 * score(x, t), rtol=1e-15)


def test_reverse_drift_matrix_form():
    """f − G Gᵀ s (000 §3.1) equals reverse_drift when G = g I, and uses G Gᵀ (not GᵀG) for a
    non-square G: planted bug caught, the transposed product of 001's generator (ERRATA E16)."""
    sde = sr.VPSDE()
    score = lambda x, t: jnp.sin(x) + t  # noqa: E731
    x, t = jnp.array([0.3, -0.7]), 0.42
    g = sde.diffusion(t)
    np.testing.assert_allclose(
        sr.reverse_drift_matrix(sde.drift, lambda s: g * jnp.eye(2), score, x, t),
        sr.reverse_drift(sde, score, x, t),
        rtol=1e-14,
    )
    G = jnp.array([[1.0, 0.5, 0.0], [0.0, 2.0, 1.0]])  # (d, m) = (2, 3)
    out = sr.reverse_drift_matrix(sde.drift, lambda s: G, score, x, t)
    np.testing.assert_allclose(out, sde.drift(x, t) - G @ G.T @ score(x, t), rtol=1e-14)
