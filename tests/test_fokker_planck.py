"""Every exact marginal solves the Fokker–Planck equation; the documents' wrong kernels do not."""

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scoresde_ref as sr
from scoresde_ref.examples import gaussian_2d, gmm_2d
from strategies import log_t_fraction, sde_params

# Residual / (sum of |terms|): each term is a closed-form expression differentiated by
# autodiff in float64, so the sum cancels to rounding (~1e-15 relative, amplified by at most
# the cancellation among terms). 1e-10 is the bar; a wrong kernel gives O(1).
RTOL = 1e-10


@eqx.filter_jit
def max_relative_residuals(sde, log_density, t, xs):
    """max over xs of the relative residual, log-density form and density form."""
    res = lambda form: jax.vmap(lambda x: sr.fokker_planck_relative_residual(sde, log_density, x, t, form))(xs)  # noqa: E731
    return jnp.max(res("log")), jnp.max(res("density"))


@eqx.filter_jit
def marginal_residuals(sde, dist, t, key):
    xs = sr.marginal(sde, dist, t).sample(key, 4)
    return max_relative_residuals(sde, lambda x, s: sr.marginal(sde, dist, s).log_prob(x), t, xs)


DISTS = {"gaussian": gaussian_2d, "gmm": gmm_2d}


@pytest.mark.parametrize("dist_name", sorted(DISTS))
@pytest.mark.parametrize("sde_name", sorted(sde_params))
@given(data=st.data())
def test_marginals_solve_fokker_planck(sde_name, dist_name, data):
    """∂_t p + ∇·(f p) − ½ g² Δp = 0 for p = marginal(sde, dist, t), both forms, at 4 points from p_t.

    Hypothesis draws the SDE parameters, t ∈ [1e-5 T, T] (log-uniform) and the points.
    Planted bug caught: any kernel whose mean or variance does not solve m' = a m + b,
    v' = 2 a v + g² (e.g. the documents' VP row; see test_errata.py).
    """
    sde = data.draw(sde_params[sde_name])
    t = jnp.asarray(sde.T * 10 ** data.draw(log_t_fraction))  # an array: traced, one compile
    key = jax.random.key(data.draw(st.integers(0, 2**31 - 1)))
    log_res, dens_res = marginal_residuals(sde, DISTS[dist_name](), t, key)
    assert float(log_res) < RTOL
    assert float(dens_res) < RTOL


@pytest.mark.parametrize("sde_name", ["VE", "VP", "OU"])
def test_empirical_marginal_solves_fokker_planck(sde_name):
    """The perturbed training set (an isotropic mixture, t > 0) solves Fokker–Planck too."""
    sde = {"VE": sr.VESDE(0.01, 5.0), "VP": sr.VPSDE(), "OU": sr.OUSDE(1.0, 2**0.5)}[sde_name]
    dist = sr.Empirical(jnp.array([[0.0, 1.0], [2.0, -1.0], [-1.0, -1.0]]))
    for t in [0.05, 0.3, 0.9]:
        log_res, dens_res = marginal_residuals(sde, dist, jnp.asarray(t), jax.random.key(1))
        assert float(log_res) < RTOL and float(dens_res) < RTOL


def test_residual_detects_a_wrong_variance():
    """The residual is O(1) when the variance is off by 10%: the check can fail."""
    sde = sr.VPSDE()
    dist = gaussian_2d()

    def wrong(x, t):
        m, s = sde.kernel(t)
        return sr.push_forward(dist, m, 0.0, 1.1 * s).log_prob(x)

    xs = sr.marginal(sde, dist, 0.4).sample(jax.random.key(0), 4)
    log_res, dens_res = max_relative_residuals(sde, wrong, jnp.asarray(0.4), xs)
    assert float(log_res) > 1e-2 and float(dens_res) > 1e-2


@pytest.mark.parametrize("sde_name", ["VP", "OU", "const_drift"])
def test_log_form_matches_density_form(sde_name):
    """Term by term, (log-form terms) × p = (density-form terms), for ANY smooth density — here a
    deliberately wrong one, so the identity is not the trivial 0 = 0: ∂_t ℓ p = ∂_t p,
    (∇·f + f·∇ℓ) p = ∇·(f p), (Δℓ + ‖∇ℓ‖²) p = Δp. Planted bug caught: a missing ‖∇ℓ‖² term."""
    from scoresde_ref.examples import sde_zoo

    sde = sde_zoo()[sde_name]
    dist = gmm_2d()

    def log_p(x, t):  # a GMM whose means drift and whose covariances do not follow the kernel
        m, s = sde.kernel(t)
        return sr.push_forward(dist, m, jnp.sin(3 * t), 1.3 * s + 0.2 * t).log_prob(x)

    for x in [jnp.array([0.3, -0.4]), jnp.array([-1.2, 1.5])]:
        t = jnp.asarray(0.4 * sde.T)
        p = jnp.exp(log_p(x, t))
        log_terms = jnp.stack(sr.log_fokker_planck_terms(sde, log_p, x, t))
        dens_terms = jnp.stack(sr.fokker_planck_terms(sde, lambda y, s: jnp.exp(log_p(y, s)), x, t))
        assert jnp.allclose(log_terms * p, dens_terms, rtol=1e-12, atol=1e-14 * float(jnp.max(jnp.abs(dens_terms))))
        assert float(jnp.abs(jnp.sum(log_terms))) > 1e-3  # the density is indeed not a solution
