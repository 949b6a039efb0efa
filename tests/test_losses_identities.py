"""Exact identities between the score-matching objectives at a fixed time, for affine models
s(x) = A x + b and Gaussian / Gaussian-mixture data (derivations/losses.md), and the DSM
minimiser (Tweedie)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import scoresde_ref as sr
from scoresde_ref.examples import gaussian_2d, gmm_2d, sde_zoo

SDES = ["VP", "VE", "subVP", "OU", "const_drift"]
RTOL = 1e-12  # closed forms in float64: sums of O(10) terms, each exact to a few ulp

entries = st.floats(-2.0, 2.0, allow_nan=False)
matrices = st.lists(entries, min_size=4, max_size=4).map(lambda v: jnp.array(v).reshape(2, 2))
vectors = st.lists(entries, min_size=2, max_size=2).map(jnp.array)


@eqx.filter_jit
def _objectives(sde, dist, t, A, b):
    p_t = sr.marginal(sde, dist, t)
    return sr.dsm_affine(sde, dist, t, A, b), sr.ism_affine(p_t, A, b), sr.fisher_affine(p_t, A, b), p_t


@pytest.mark.parametrize("sde_name", SDES)
@given(A=matrices, b=vectors, u=st.floats(0.01, 1.0))
def test_constants_gaussian_data(sde_name, A, b, u):
    """DSM − Fisher = d/s² − tr S_t⁻¹ and ISM − Fisher = −tr S_t⁻¹ for every (A, b, t), where
    p_t = N(μ_t, S_t). Three closed forms computed by three different routes (data law + noise;
    moments of p_t; the residual (A + S⁻¹)x + b − S⁻¹μ), agreeing to rounding.
    Planted bug caught: ISM with ∇·s instead of 2∇·s (001's ½‖s‖² + div s scale), or the DSM
    noise term ‖sA + I/s‖² written as s²‖A‖² + d/s² (dropping the 2 tr A cross term)."""
    sde, dist = sde_zoo()[sde_name], gaussian_2d()
    t = jnp.asarray(u * sde.T)
    dsm, ism, fisher, p_t = _objectives(sde, dist, t, A, b)
    J = sr.gaussian_fisher_information(p_t)
    c_dsm, c_ism = 2 / sde.kernel(t)[1] ** 2 - J, -J
    scale = max(abs(float(dsm)), abs(float(fisher)), abs(float(ism)), 1.0)
    assert abs(float(dsm - fisher - c_dsm)) <= RTOL * scale
    assert abs(float(ism - fisher - c_ism)) <= RTOL * scale
    assert float(fisher) >= -RTOL * scale  # a divergence


@given(A=matrices, b=vectors, u=st.floats(0.01, 1.0))
def test_dsm_minus_ism_gmm_data(A, b, u):
    """For GMM data (no closed-form Fisher), DSM − ISM = d/s(t)² = E‖∇log p_{0t}‖² exactly
    (001 "Implicit Score matching": the cross term integrates by parts against the kernel).
    Planted bug caught: a DSM target −z/s² (001 L614) changes the gap to d/s⁴ + ..."""
    sde, dist = sr.VPSDE(), gmm_2d()
    t = jnp.asarray(u)
    dsm, ism, _, _ = _objectives_gmm(sde, dist, t, A, b)
    scale = max(abs(float(dsm)), abs(float(ism)), 1.0)
    assert abs(float(dsm - ism - sr.dsm_ism_gap(sde, t, 2))) <= RTOL * scale


@eqx.filter_jit
def _objectives_gmm(sde, dist, t, A, b):
    p_t = sr.marginal(sde, dist, t)
    return sr.dsm_affine(sde, dist, t, A, b), sr.ism_affine(p_t, A, b), None, p_t


@eqx.filter_jit
def _gmm_fisher_by_quadrature(p_t, A, b, n_nodes):
    fisher = sr.gauss_hermite_expectation(lambda x: jnp.sum((A @ x + b - p_t.score(x)) ** 2), p_t, n_nodes)
    J = sr.gauss_hermite_expectation(lambda x: jnp.sum(p_t.score(x) ** 2), p_t, n_nodes)
    return fisher, J


QUAD_TOL = 1e-10  # at t = 0.3, Gauss–Hermite with 60 vs 90 nodes per dimension differ by ~5e-14 (checked below)


@given(A=matrices, b=vectors)
def test_ism_minus_fisher_gmm_by_quadrature(A, b):
    """GMM data at t = 0.3 (VP): Fisher(A, b) − ISM(A, b) = J(p_t) = E‖∇log p_t‖², with Fisher
    and J by tensor Gauss–Hermite quadrature (60 nodes per dimension and component; the 90-node
    value agrees to QUAD_TOL, which bounds the quadrature error) and ISM in closed form.
    Planted bug caught: Theorem 1 of 000 as stated (+2∇log p·s): the difference would move with A."""
    sde, dist = sr.VPSDE(), gmm_2d()
    p_t = sr.marginal(sde, dist, 0.3)
    fisher, J = _gmm_fisher_by_quadrature(p_t, A, b, 60)
    fisher_fine, J_fine = _gmm_fisher_by_quadrature(p_t, A, b, 90)
    assert abs(float(fisher - fisher_fine)) <= QUAD_TOL * max(1.0, float(fisher))
    assert abs(float(J - J_fine)) <= QUAD_TOL * float(J)
    ism = sr.ism_affine(p_t, A, b)
    assert abs(float(fisher - ism - J)) <= 10 * QUAD_TOL * max(1.0, float(fisher))


@pytest.mark.parametrize("make_dist", [gaussian_2d, gmm_2d])
def test_expected_sq_norm_against_quadrature(make_dist):
    """E‖Ax + b‖² in closed form equals Gauss–Hermite quadrature (exact for quadratics with 2 nodes
    per dimension). Planted bug caught: dropping tr(AΣAᵀ) or using Σ in place of ΣAᵀ."""
    dist = make_dist()
    A, b = jnp.array([[0.3, -1.2], [0.7, 0.4]]), jnp.array([0.5, -0.25])
    quad = sr.gauss_hermite_expectation(lambda x: jnp.sum((A @ x + b) ** 2), dist, 3)
    np.testing.assert_allclose(sr.expected_sq_norm(dist, A, b), quad, rtol=1e-13)


def test_dsm_least_squares_by_monte_carlo(getkey):
    """The least-squares fit of the DSM target −z/s on (x_t, 1) over n = 200,000 perturbed samples
    recovers the score coefficients of p_t (VP, t = 0.2, Gaussian data) within 5 standard errors
    per coefficient (homoscedastic regression SE: for Gaussian data the residual is independent of
    x_t). False-failure probability < 12 × 6e-7."""
    sde, dist, t, n = sr.VPSDE(), gaussian_2d(), 0.2, 200_000
    m, s = sde.kernel(t)
    x0 = dist.sample(getkey(), n)
    z = jax.random.normal(getkey(), x0.shape)
    xt = m * x0 + s * z
    features = jnp.concatenate([xt, jnp.ones((n, 1))], axis=1)
    W, *_ = jnp.linalg.lstsq(features, -z / s)
    resid = -z / s - features @ W
    cov_inv_diag = jnp.diagonal(jnp.linalg.inv(features.T @ features))
    se = jnp.sqrt(cov_inv_diag[:, None] * jnp.var(resid, axis=0)[None])
    K, k = sr.gaussian_score_coeffs(sr.marginal(sde, dist, t))
    exact = jnp.concatenate([K.T, k[None]], axis=0)
    assert jnp.all(jnp.abs(W - exact) < 5 * se)


def test_gmm_dsm_minimiser_over_all_functions(getkey):
    """GMM data (VP, t = 0.3): s*(x) = E[−z/s | x_t = x] = −(x − m E[x0|x] − c)/s² (sr.posterior)
    is the exact score, and it minimises DSM over all functions: for any h,
    DSM(s* + h) − DSM(s*) = E‖h(x_t)‖², checked with paired samples (same key) within 5 SE, and
    the cross term E[hᵀ(s* − τ)] = 0 (orthogonality of the conditional expectation).
    Planted bug caught: responsibilities from p_0 instead of p_t in the posterior; the affine
    minimiser (moment-matched Gaussian score), whose DSM excess is its Fisher divergence > 0."""
    sde, dist, t, n = sr.VPSDE(), gmm_2d(), 0.3, 40_000
    m, s = sde.kernel(t)

    def s_star(x, t_):
        return -(x - m * sr.posterior(sde, dist, x, t).mean) / s**2

    x = jnp.array([0.3, -0.7])
    np.testing.assert_allclose(s_star(x, t), sr.marginal(sde, dist, t).score(x), rtol=1e-10)

    h = lambda x, t_: jnp.array([jnp.sin(x[0]), 0.5 * x[0] * x[1]])  # noqa: E731
    x0, key = dist.sample(getkey(), n), getkey()

    @jax.jit
    def routes(key, x0):
        base = sr.loss_terms(key, sde, s_star, x0, objective="dsm", weighting="uniform", t=t)
        moved = sr.loss_terms(
            key, sde, lambda x, t_: s_star(x, t_) + h(x, t_), x0, objective="dsm", weighting="uniform", t=t
        )
        p_t = sr.marginal(sde, dist, t)
        h2 = sr.gauss_hermite_expectation(lambda x: jnp.sum(h(x, t) ** 2), p_t, 40)  # E‖h(x_t)‖², smooth h
        A_aff, b_aff = sr.dsm_affine_minimiser(sde, dist, t)
        excess = sr.gauss_hermite_expectation(lambda x: jnp.sum((A_aff @ x + b_aff - p_t.score(x)) ** 2), p_t, 60)
        return base, moved, h2, excess, sr.dsm_affine(sde, dist, t, A_aff, b_aff)

    base, moved, h2, excess, dsm_affine = routes(key, x0)
    mean, se = sr.mean_and_stderr(moved - base)
    assert abs(float(mean - h2)) < 5 * float(se)
    dsm_gap = dsm_affine - jnp.mean(base)
    _, se_base = sr.mean_and_stderr(base)
    assert float(excess) > 0.1  # (0.149) the affine family cannot represent the mixture's score
    assert abs(float(dsm_gap - excess)) < 5 * float(se_base)
