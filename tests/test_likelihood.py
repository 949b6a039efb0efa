"""Log-likelihood through the probability-flow ODE with the exact score: equal to the closed-form
log-density of the Gaussian / GMM marginal p_eps (prior = exact p_T), off by exactly the prior mismatch
log π − log p_T at the flow's end point (prior = the SDE's prior), the same through scipy's RK45, and
honest about its cost (derivations/likelihood.md)."""


import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoresde_ref as sr
from scoresde_ref.examples import gaussian_2d, gmm_2d
from strategies import sde_params

TOL = 1e-8  # rtol = atol of the solver in the exactness tests
DATA = {"gaussian": gaussian_2d, "gmm": gmm_2d}
DOCUMENTS_SDES = {
    "VE": lambda: sr.VESDE(jnp.asarray(0.01), jnp.asarray(50.0)),
    "VP": lambda: sr.VPSDE(jnp.asarray(0.1), jnp.asarray(20.0)),
    "subVP": lambda: sr.SubVPSDE(jnp.asarray(0.1), jnp.asarray(20.0)),
}


@eqx.filter_jit
def oracle_log_p(sde, dist, xs, eps):
    """(computed log p_eps, closed-form log p_eps) on a batch, prior = the exact p_T; compiled once per
    (SDE class, data family, batch shape): SDE parameters, data and eps are traced."""
    p_T = sr.marginal(sde, dist, sde.T)
    run = lambda x: sr.log_likelihood(sde, sr.exact_score(sde, dist), x, eps=eps, rtol=TOL, atol=TOL, prior=p_T)[0]  # noqa: E731
    return jax.vmap(run)(xs), jax.vmap(sr.marginal(sde, dist, eps).log_prob)(xs)


@settings(max_examples=5)
@given(
    sde=st.sampled_from(["VE", "VP", "subVP"]).flatmap(lambda n: sde_params[n]),
    log10_eps=st.floats(-5.0, -1.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_exact_on_drawn_sdes_and_eps(sde, log10_eps, seed):
    """The same identity for drawn SDE parameters (VE σ_max/σ_min up to 1e4, VP/sub-VP β up to 35) and
    eps ∈ [1e-5, 0.1], GMM data: |error| ≤ 100·tol·(1 + |log p|) (local control is relative, so the
    bound scales with the size of the state). Planted bug caught: integrating from 0 instead of eps
    (then the result is log p_0, off by O(eps) ≫ 1e-6 at eps = 0.1)."""
    dist, eps = gmm_2d(), jnp.asarray(10.0**log10_eps)
    xs = sr.marginal(sde, dist, eps).sample(jax.random.key(seed), 4)
    ours, closed_form = oracle_log_p(sde, dist, xs, eps)
    assert jnp.all(jnp.abs(ours - closed_form) <= 100 * TOL * (1 + jnp.abs(closed_form)))


def test_scipy_rk45_route_agrees_with_diffrax(getkey):
    """The reference code's route, solve_ivp(RK45) on the concatenated batch state [x, Δ], and diffrax
    (vmapped, one key per example) give the same log p_eps at rtol = atol = 1e-8: both within 1e-6 of the
    closed form (exact trace), and the Hutchinson estimates within 1e-6 of each other with the same
    probes (`jax.random.split(key, n)`). Planted bug caught: scipy integrating from T to eps (the
    likelihood of the reversed map), probes paired with the wrong examples."""
    sde, dist = DOCUMENTS_SDES["VP"](), gmm_2d()
    xs = sr.marginal(sde, dist, 1e-5).sample(getkey(), 4)
    p_T, score = sr.marginal(sde, dist, sde.T), sr.exact_score(sde, dist)
    closed_form = jax.vmap(sr.marginal(sde, dist, 1e-5).log_prob)(xs)
    log_p, nfe = sr.log_likelihood_scipy(sde, score, xs, rtol=TOL, atol=TOL, prior=p_T)
    assert np.max(np.abs(log_p - closed_form)) <= 1e-6 and nfe > 0
    key = getkey()
    hutch, _ = sr.log_likelihood_scipy(
        sde, score, xs, rtol=TOL, atol=TOL, prior=p_T, divergence="hutchinson", key=key, n_probes=3
    )
    run = eqx.filter_jit(
        jax.vmap(
            lambda x, k: sr.log_likelihood(
                sde, score, x, rtol=TOL, atol=TOL, prior=p_T, divergence="hutchinson", key=k, n_probes=3
            )[0]
        )
    )
    np.testing.assert_allclose(hutch, run(xs, jax.random.split(key, len(xs))), atol=1e-6, rtol=0)


@pytest.mark.parametrize("divergence", ["exact", "hutchinson"])
def test_a_batch_is_each_example_alone(divergence, getkey):
    """`log_likelihood_details` on a batch `(n, d)` integrates each example alone: every field of the result is the
    one-example call's (a leading `n`), within 1e-12 relative — far below the solver's rtol = 1e-8, which is how
    far a solve of the batch as one state (one error norm, other steps) lands — with the probes of example `i`
    from `jax.random.split(key, n)[i]`. Planted bugs caught: the batch as one state; probes paired with the wrong
    examples (the Hutchinson estimates then differ by O(1))."""
    sde, dist = DOCUMENTS_SDES["VP"](), gmm_2d()
    xs = sr.marginal(sde, dist, 1e-5).sample(getkey(), 5) * jnp.array([[0.1], [1.0], [3.0], [0.5], [2.0]])
    score, key = sr.exact_score(sde, dist), getkey()
    options = dict(rtol=TOL, atol=TOL, divergence=divergence, key=key, n_probes=2)
    batch = sr.log_likelihood_details(sde, score, xs, **options)
    keys = jax.random.split(key, len(xs))
    for i, x in enumerate(xs):
        one = sr.log_likelihood_details(sde, score, x, **dict(options, key=keys[i]))
        for name in ("log_p", "x_T", "delta_logp", "prior_logp"):
            expected = getattr(one, name)
            np.testing.assert_allclose(getattr(batch, name)[i], expected, rtol=1e-12, atol=1e-12, err_msg=name)
        assert int(batch.nfe[i]) == int(one.nfe)
    assert batch.log_p.shape == batch.nfe.shape == (len(xs),)
    log_p, nfe = sr.log_likelihood(sde, score, xs, **options)
    np.testing.assert_array_equal(log_p, batch.log_p)


def test_nfe_counts_every_evaluation_and_compiles_once(getkey):
    """`nfe` equals the number of score evaluations counted by a host callback (rejected steps and the
    initial step-size selection included; for Hutchinson the probe JVPs share the one primal evaluation,
    the same count), and one compilation serves new examples and eps (eps is a traced start time).

    Planted bugs caught: counting accepted steps only, or stages without FSAL; a Python loop over steps
    or a host-side eps check (a retrace per call)."""
    sde, dist = sr.VPSDE(), gaussian_2d()
    calls, traces = [], []

    def score(x, t):
        jax.debug.callback(lambda s: calls.append(None), t)
        return sr.marginal(sde, dist, t).score(x)

    @eqx.filter_jit
    def run(x, eps):
        traces.append(None)
        return sr.log_likelihood(sde, score, x, eps=eps, rtol=1e-6, atol=1e-6)[1]

    for x, eps in [(jnp.array([0.3, -0.2]), 1e-5), (jnp.array([2.0, 1.0]), 1e-3)]:
        calls.clear()
        nfe = int(run(x, jnp.asarray(eps)))
        jax.effects_barrier()
        assert nfe == len(calls) > 6
    assert len(traces) == 1


def test_invalid_inputs_raise_clear_errors(getkey):
    sde, x = sr.VPSDE(), jnp.zeros(2)
    score = sr.exact_score(sde, gaussian_2d())
    for kw, phrase in [
        (dict(divergence="skilling"), "divergence must be one of"),
        (dict(divergence="hutchinson"), "needs a PRNG key"),
        (dict(divergence="hutchinson", key=getkey(), n_probes=0), "n_probes"),
        (dict(divergence="hutchinson", key=getkey(), probe="uniform"), "probe"),
        (dict(eps=0.0), "eps must be a finite number in"),
        (dict(eps=1.0), "eps must be a finite number in"),
        (dict(solver="heun"), "solver must be one of"),
    ]:
        with pytest.raises(ValueError, match=phrase):
            sr.log_likelihood(sde, score, x, **kw)
    with pytest.raises(ValueError, match=r"shape \(d,\) or a batch \(n, d\)"):
        sr.log_likelihood(sde, score, jnp.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match=r"probes must have shape \(\[n,\] n_probes, d\) = \(3, 1, 2\)"):
        sr.log_likelihood(sde, score, jnp.zeros((3, 2)), divergence="hutchinson", probes=jnp.ones((1, 2)))
    with pytest.raises(ValueError, match="eps must be a finite number in"):
        sr.log_likelihood_scipy(sde, score, x, eps=2.0)
    with pytest.raises(TypeError, match="has no prior"):
        flow = sr.Flow(lambda y, t: -y)
        sr.log_likelihood(flow, score, x)


def test_a_failed_solve_raises_on_the_host():
    """A solve that stops short (`max_steps` too small) never returns a number: `ode_sample` and `log_likelihood`
    (one example, and a batch naming its failed examples) raise a `RuntimeError` naming the entry point and
    `max_steps` once the compiled call returns; inside a caller's `jit` the same message comes through
    `eqx.error_if`. Planted bug caught: `throw=False` with the failure flag dropped (the state after 2 steps returned
    as the sample)."""
    sde = sr.VPSDE()
    score = sr.exact_score(sde, gmm_2d())
    x = sde.prior_sample(jax.random.key(0), (4, 2))
    with pytest.raises(RuntimeError, match=r"ode_sample: the ODE solve failed \(max_steps = 2 reached"):
        sr.ode_sample(sde, score, x, max_steps=2)
    with pytest.raises(RuntimeError, match=r"log_likelihood: the ODE solve failed \(max_steps = 2 reached"):
        sr.log_likelihood(sde, score, x[0], max_steps=2)
    with pytest.raises(RuntimeError, match=r"log_likelihood: the ODE solve failed for examples \[0, 1, 2, 3\]"):
        sr.log_likelihood(sde, score, x, max_steps=2)
    with pytest.raises(RuntimeError, match="ode_sample: the ODE solve failed"):
        jax.jit(lambda x: sr.ode_sample(sde, score, x, max_steps=2).x)(x)
    with pytest.raises(RuntimeError, match="log_likelihood: the ODE solve failed"):
        jax.jit(lambda v: sr.log_likelihood(sde, score, v, max_steps=2)[0])(x[0])
    assert int(sr.log_likelihood(sde, score, x, max_steps=100)[1].min()) > 0  # the same calls succeed with room
