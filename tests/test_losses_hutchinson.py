"""Divergences: the exact Jacobian trace against independent routes, and Hutchinson's estimator
(unbiased; variance 2‖J_s‖_F² for Gaussian probes, minus 2Σ J_ii² for Rademacher probes),
checked exactly by enumeration / quadrature and statistically by Monte Carlo
(derivations/hutchinson.md)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import scoresde_ref as sr
from helpers import assert_mean_within
from scoresde_ref.examples import gmm_2d

D = 3
matrices = st.lists(st.floats(-3.0, 3.0, allow_nan=False), min_size=D * D, max_size=D * D).map(
    lambda v: jnp.array(v).reshape(D, D)
)


def test_exact_divergence_against_hessian_trace():
    """∇·(∇log p) by the forward-mode Jacobian of the closed-form GMM score equals the trace of
    jax.hessian(log_prob) (reverse-over-reverse of a different function); ∇·(Ax + b) = tr A.
    Planted bug caught: summing the Jacobian's first row instead of its diagonal."""
    dist = gmm_2d()
    xs = jnp.array([[0.1, -0.4], [-2.0, 1.0], [3.0, 2.0]])
    ours = jax.jit(jax.vmap(lambda x: sr.divergence(dist.score, x)))(xs)
    hessian_trace = jax.jit(jax.vmap(lambda x: jnp.trace(jax.hessian(dist.log_prob)(x))))(xs)
    np.testing.assert_allclose(ours, hessian_trace, rtol=1e-12)
    A = jnp.array([[1.0, 2.0, 0.0], [0.5, -3.0, 1.0], [0.0, 0.0, 0.25]])
    np.testing.assert_allclose(sr.divergence(lambda x: A @ x + 1.0, jnp.ones(3)), -1.75, rtol=1e-15)


@given(J=matrices)
def test_rademacher_mean_and_variance_by_enumeration(J):
    """Over all 2^d sign vectors (exact expectation), mean vᵀJv = tr J and variance =
    hutchinson_variance(J, "rademacher") = ‖J‖_F² + tr(J²) − 2Σ J_ii², to rounding.
    Planted bug caught: omitting the −2ΣJ_ii² correction (the Gaussian formula)."""
    signs = jnp.array(list(itertools.product([-1.0, 1.0], repeat=D)))
    q = jnp.einsum("ni,ij,nj->n", signs, J, signs)
    scale = float(jnp.sum(J**2)) + 1.0
    assert abs(float(q.mean() - jnp.trace(J))) <= 1e-13 * scale
    assert abs(float(q.var() - sr.hutchinson_variance(J, "rademacher"))) <= 1e-12 * scale**2


@given(J=matrices)
def test_gaussian_mean_and_variance_by_quadrature(J):
    """For v ~ N(0, I): E[vᵀJv] = tr J and Var = ‖J‖_F² + tr(J²) = 2‖J_s‖_F², with the moments by
    Gauss–Hermite quadrature (3 nodes per dimension: exact for degree ≤ 5 per coordinate, and
    (vᵀJv)² has degree 4). Planted bug caught: Var = 2‖J‖_F² (right only for symmetric J)."""
    gaussian = sr.Gaussian(jnp.zeros(D), jnp.eye(D))
    mean = sr.gauss_hermite_expectation(lambda v: v @ J @ v, gaussian, 3)
    second = sr.gauss_hermite_expectation(lambda v: (v @ J @ v) ** 2, gaussian, 3)
    J_s = 0.5 * (J + J.T)
    scale = float(jnp.sum(J**2)) + 1.0
    assert abs(float(mean - jnp.trace(J))) <= 1e-13 * scale
    var = sr.hutchinson_variance(J, "gaussian")
    assert abs(float(second - mean**2 - var)) <= 1e-12 * scale**2
    assert abs(float(var - 2 * jnp.sum(J_s**2))) <= 1e-12 * scale**2
    assert float(sr.hutchinson_variance(J, "rademacher")) <= float(var) + 1e-12 * scale**2


def test_hutchinson_monte_carlo(getkey):
    """hutchinson_divergence over n = 200,000 probes, for the nonlinear GMM score at a point:
    the mean is the exact divergence within 5 SE, and the sample variance is the formula's within
    5 SE of the variance estimate (SE from the 4th central moment), for both probes.
    False-failure probability < 4 × 5.7e-7."""
    dist, x, n = gmm_2d(), jnp.array([-0.5, 0.4]), 200_000
    jac = jax.jacfwd(dist.score)(x)
    exact = sr.divergence(dist.score, x)
    for probe in ["gaussian", "rademacher"]:
        keys = jax.random.split(getkey(), n)
        q = jax.jit(jax.vmap(lambda k, probe=probe: sr.hutchinson_divergence(k, dist.score, x, probe=probe)))(keys)
        mean, se = sr.mean_and_stderr(q)
        assert abs(float(mean - exact)) < 5 * float(se)
        dev2 = (q - mean) ** 2  # mean(dev2) = var(q); its SE is std(dev2)/√n
        assert_mean_within(dev2, sr.hutchinson_variance(jac, probe), jnp.var(dev2), n_se=5)


def test_hutchinson_ism_is_unbiased(getkey):
    """ISM with Hutchinson divergence minus ISM with the exact divergence, paired (same key: same
    t, x_t), is 2(vᵀJv − tr J), of mean 0: within 5 SE (n = 10,000, GMM score model under VP).
    And its per-example variance is 4 E[Var_v] — smaller for Rademacher probes."""
    sde, dist = sr.VPSDE(), gmm_2d()
    score = lambda x, t: sr.marginal(sde, dist, t).score(x)  # noqa: E731
    x0 = dist.sample(getkey(), 10_000)
    key = getkey()

    def ism_terms(key, divergence, probe):
        return sr.loss_terms(
            key, sde, score, x0, objective="ism", weighting="uniform", t=0.2, divergence=divergence, probe=probe
        )

    exact = ism_terms(key, "exact", "gaussian")
    spreads = {}
    for probe in ["gaussian", "rademacher"]:
        hutch = ism_terms(key, "hutchinson", probe)
        mean, se = sr.mean_and_stderr(hutch - exact)
        assert abs(float(mean)) < 5 * float(se)
        spreads[probe] = float(jnp.var(hutch - exact))
    assert spreads["rademacher"] < spreads["gaussian"]
