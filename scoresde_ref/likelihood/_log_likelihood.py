r"""Log-likelihood through the probability-flow ODE (002_686d39656702d14a.txt "Evaluating likelihoods
with ODEs"; 004_77456edc02bb59d5.txt §1.3), by the instantaneous change of variables.

Along the flow $\dot x = \tilde f(x, t) = f(x, t) - \tfrac12 g(t)^2 s(x, t)$ the continuity equation gives
$\tfrac{d}{dt}\log p_t(x(t)) = -\nabla\cdot\tilde f(x(t), t)$, so, integrating forward from $\epsilon$ to $T$,

$$\log p_\epsilon(x) = \log \pi(x(T)) + \int_\epsilon^T \nabla\cdot\tilde f(x(t), t)\,dt,\qquad x(\epsilon) = x,$$

exact when $\pi = p_T$ and $s = \nabla\log p_t$ (derivations/likelihood.md). The divergence is the Jacobian
trace (`d` JVPs per evaluation) or Hutchinson's $v^\top (\partial\tilde f/\partial x)\,v$ with probes drawn
once per integration and reused at every step (the reference code's convention; one JVP per probe): the
estimators `ExactDivergence()` and `Hutchinson(probe, n_probes)` of `_divergence.py`, shared with the losses.

**Compiled at the boundary.** `log_likelihood` and `log_likelihood_details` validate eagerly (clear
`ValueError`s; `eqx.error_if` when traced), then call one `eqx.filter_jit` integration that compiles once per
shape and static configuration (divergence estimator, solver, tolerances, `max_steps`): new examples, keys,
`eps`, SDE, prior or score-module parameters compile nothing (`_jit_boundary.py`). A score function that is a
plain Python function is static: pass an `eqx.Module` (like `sr.exact_score`) or the same function object.
"""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Array, Key, Scalar, ScoreFn, Vector
from .._divergence import AbstractDivergence, as_divergence
from .._jit_boundary import compiled, floats_as_arrays
from .._validation import (
    check_float_dtype,
    check_integer,
    check_real,
    check_score_output,
    check_tolerance,
    one_example,
)
from ..samplers._ode import raise_if_failed, solve_ivp_jax
from ..samplers._options import ODE_SOLVERS, as_solver
from ..sde._base import AbstractAffineSDE, AbstractSDE
from ..sde._reverse import probability_flow_drift

ADAPTIVE_SOLVERS = tuple(name for name, info in ODE_SOLVERS.items() if info.flag)  # those with an error estimate


class LikelihoodResult(eqx.Module):
    r"""Everything one likelihood integration produces (fields are arrays; a pytree, so `vmap` batches it).

    - `log_p`: $\log p_\epsilon(x) = $ `prior_logp + delta_logp`;
    - `nfe`: evaluations of the augmented velocity (each: one score evaluation plus `d` JVPs (exact) or
      `n_probes` JVPs (Hutchinson)), counting rejected steps, as `ode_sample` counts;
    - `x_T`: the terminal state $x(T) = \varphi(x)$ of the flow map;
    - `delta_logp`: $\int_\epsilon^T \nabla\cdot\tilde f\,dt$ (for Hutchinson, the mean over the probes);
    - `prior_logp`: $\log\pi(x(T))$;
    - `delta_logp_probes`: Hutchinson only, the `(n_probes,)` one-probe estimates of `delta_logp`
      along the same path (their spread is the estimator's); `None` for the exact trace.
    """

    log_p: Scalar
    nfe: Array
    x_T: Vector
    delta_logp: Scalar
    prior_logp: Scalar
    delta_logp_probes: Array | None


def augmented_velocity(sde: AbstractSDE, score_fn: ScoreFn, divergence: AbstractDivergence):
    r"""`velocity(t, x, probes) -> (f̃(x, t), ∇·f̃)`: the right side of
    $\tfrac{d}{dt}[x, \Delta] = [\tilde f, \nabla\cdot\tilde f]$ for one example. For `Hutchinson` the second output
    is the `(n_probes,)` vector $v_k^\top J v_k$."""

    def velocity(t, x, probes):
        return divergence.value_and_divergence(lambda y: probability_flow_drift(sde, score_fn, y, t), x, probes)

    return velocity


def _check_args(owner, sde, x, eps, divergence, key, probe, n_probes, prior, *, score_fn=None):
    """Validate eagerly; return `(estimator, eps)`."""
    check_float_dtype(x, "x", owner)
    if prior is None and not isinstance(sde, AbstractAffineSDE):
        raise TypeError(f"{owner}: {type(sde).__name__} has no prior; pass prior= (any object with log_prob)")
    estimator = as_divergence(divergence, owner, probe=probe, n_probes=n_probes)
    if estimator.uses_probes and key is None:
        raise ValueError(f"{owner}: divergence='hutchinson' needs a PRNG key (key=jax.random.key(...))")
    if x.ndim not in (1, 2):
        raise ValueError(f"{owner}: x must have shape (d,) or a batch (n, d); got shape {x.shape}")
    eps = check_real(eps, "eps", owner, lower=0.0, upper=sde.T, lower_open=True, upper_open=True)
    if score_fn is not None:
        example = x if x.ndim == 1 else one_example(x)
        check_score_output(owner, score_fn, example, input_name="x")
    return estimator, eps


def _check_solver_options(owner, rtol, atol, max_steps):
    """Tolerances finite and > 0 (a negative or zero tolerance is never taken as given), `max_steps` an integer."""
    rtol, atol = check_tolerance(rtol, "rtol", owner), check_tolerance(atol, "atol", owner)
    return rtol, atol, check_integer(max_steps, "max_steps", owner, minimum=1)


def _probes(estimator, key, shape, dtype):
    """Probes `(n_probes, d)` for one example (`shape = (d,)`) or `(n, n_probes, d)` for a batch, one key per
    example from `jax.random.split(key, n)`; `None` for the exact trace."""
    if not estimator.uses_probes:
        return None
    if len(shape) == 1:
        return estimator.sample_probes(key, (estimator.n_probes,) + shape, dtype)
    keys = jax.random.split(key, shape[0])
    return jax.vmap(lambda k: estimator.sample_probes(k, (estimator.n_probes, shape[1]), dtype))(keys)


def _prior_log_prob(sde, prior, x_T):
    r"""$\log\pi(x_T)$: `prior.log_prob`, or the affine SDE's own prior (`AbstractAffineSDE.prior_log_prob`)."""
    return sde.prior_log_prob(x_T) if prior is None else prior.log_prob(x_T)


def _solve(sde, score_fn, x, eps, probes, prior, estimator, rtol, atol, solver, info, max_steps):
    """The likelihood ODE of one example `x` `(d,)` from `eps` to `T` (`probes` `(n_probes, d)` or None):
    `(LikelihoodResult, failed)`, `failed` whether the solve did not succeed (raised by the caller)."""
    delta0 = jnp.zeros((), x.dtype) if probes is None else jnp.zeros((estimator.n_probes,), x.dtype)
    velocity = augmented_velocity(sde, score_fn, estimator)
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, args: velocity(t, y[0], args)),
        solver,
        t0=jnp.asarray(eps, x.dtype),  # the times in the state's dtype: float32 data stay float32 under x64
        t1=jnp.asarray(sde.T, x.dtype),
        dt0=None,
        y0=(x, delta0),
        args=probes,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
        throw=False,  # a failure is returned and raised by the caller (`raise_if_failed`), not a callback here
    )
    x_T, deltas = sol.ys[0][-1], sol.ys[1][-1]
    delta = deltas if probes is None else jnp.mean(deltas)
    prior_logp = _prior_log_prob(sde, prior, x_T)
    nfe = info.at_start + info.per_step * (sol.stats["num_accepted_steps"] + sol.stats["num_rejected_steps"])
    result = LikelihoodResult(prior_logp + delta, nfe, x_T, delta, prior_logp, None if probes is None else deltas)
    return result, sol.result != diffrax.RESULTS.successful


@compiled
def _integrate(sde, score_fn, x, eps, key, probes, prior, estimator, rtol, atol, solver, info, max_steps):
    """`_solve` for one example `(d,)`, or for each example of a batch `(n, d)` alone (vmapped; probes of
    example `i` from `jax.random.split(key, n)[i]`), probes drawn from `key` unless given; compiled once per
    shape and static configuration."""
    probes = _probes(estimator, key, x.shape, jnp.result_type(x)) if probes is None else probes
    options = (prior, estimator, rtol, atol, solver, info, max_steps)
    if x.ndim == 1:
        return _solve(sde, score_fn, x, eps, probes, *options)
    return jax.vmap(lambda x_i, probes_i: _solve(sde, score_fn, x_i, eps, probes_i, *options))(x, probes)


def log_likelihood_details(
    sde: AbstractSDE,
    score_fn: ScoreFn,
    x: Vector,
    *,
    eps: float = 1e-5,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    divergence: str | AbstractDivergence = "exact",
    key: Key | None = None,
    prior=None,
    probe: str = "rademacher",
    n_probes: int = 1,
    solver: str | diffrax.AbstractSolver = "tsit5",
    max_steps: int = 100_000,
    probes: Array | None = None,
) -> LikelihoodResult:
    r"""Integrate $\tfrac{d}{dt}[x, \Delta] = [\tilde f, \nabla\cdot\tilde f]$ from $(x, 0)$ at `eps` to $T$ with
    diffrax.

    **Arguments:**

    - `sde`, `score_fn`: the forward SDE and a score `score_fn(x, t)` on one example; $\tilde f$ =
      `probability_flow_drift`. An `eqx.Module` score (`sr.exact_score`) or the same function object each
      call compiles once; a new lambda per call compiles again.
    - `x`: one example of shape `(d,)`, or a batch `(n, d)` whose examples are each integrated alone (their own
      steps, the same per-example result as `jax.vmap` over the examples; every field of the result gets a
      leading `n`). A batch sharded over a mesh stays sharded (on a mesh with `Explicit` axes too, `_mesh.py`).
    - `eps`: the start time in $(0, T)$ (the reference code's `1e-5`); the result is $\log p_\epsilon(x)$.
    - `rtol`, `atol`: tolerances of the PID controller on the whole state $[x, \Delta]$
      (the reference code's `1e-5`); `solver` in `"tsit5"`, `"dopri5"`, `"dopri8"` or one of those diffrax
      solvers (`samplers/_options.py: ODE_SOLVERS`).
    - `divergence`: `ExactDivergence()` / `"exact"` (Jacobian trace, `d` JVPs) or `Hutchinson(probe, n_probes)`
      / `"hutchinson"` (`n_probes` probes of kind `probe`, `"rademacher"` (the reference code's default) or
      `"gaussian"`, drawn once from `key` and reused at every step; with an object, `probe` and `n_probes`
      are its fields and the keywords are unused).
    - `key`: the PRNG key of the Hutchinson probes, drawn as `sr.sample_probe(key, (n_probes, d), probe)`
      (for a batch, example `i` from `jax.random.split(key, n)[i]`, as `log_likelihood_scipy`); or `probes`
      `(n_probes, d)` (`(n, n_probes, d)` for a batch): the probes given (then `key` is unused).
    - `prior`: any object with `log_prob`; default the SDE's prior `sde.prior_log_prob`
      ($\mathcal N(0, I)$ for VP, sub-VP; $\mathcal N(0, \sigma_{\max}^2 I)$ for VE). For oracle use pass
      the exact $p_T$, `sr.marginal(sde, data, sde.T)`.

    **Returns** a `LikelihoodResult`.
    """
    owner = "log_likelihood"
    x = jnp.asarray(x)
    given = key if probes is None else probes
    estimator, eps = _check_args(owner, sde, x, eps, divergence, given, probe, n_probes, prior, score_fn=score_fn)
    rtol, atol, max_steps = _check_solver_options(owner, rtol, atol, max_steps)
    solver_object, info = as_solver(solver, ODE_SOLVERS, owner)
    if not info.flag:
        raise ValueError(f"{owner}: solver must be one of {ADAPTIVE_SOLVERS} (an error estimate); got {solver!r}")
    if probes is not None:
        expected = x.shape[:-1] + (estimator.n_probes, x.shape[-1]) if estimator.uses_probes else None
        if expected is None or jnp.shape(probes) != expected:
            raise ValueError(
                f"{owner}: probes must have shape ([n,] n_probes, d) = {expected} for {estimator}; "
                f"got {jnp.shape(probes)}"
            )
    sde, score_fn, prior, eps = floats_as_arrays((sde, score_fn, prior, eps))
    result, failed = _integrate(
        sde, score_fn, x, eps, key, probes, prior, estimator, rtol, atol, solver_object, info, max_steps
    )
    return raise_if_failed(owner, result, failed, f"max_steps = {max_steps} reached or a non-finite step")


def log_likelihood(
    sde: AbstractSDE,
    score_fn: ScoreFn,
    x: Vector,
    *,
    eps: float = 1e-5,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    divergence: str | AbstractDivergence = "exact",
    key: Key | None = None,
    prior=None,
    **options,
) -> tuple[Scalar, Array]:
    r"""$\log p_\epsilon(x) = \log\pi(x(T)) + \int_\epsilon^T \nabla\cdot\tilde f(x(t), t)\,dt$ for one example
    `x` `(d,)`, or for each example of a batch `(n, d)` alone.

    **Returns** `(log_p, nfe)`. Arguments and further `options` (`probe`, `n_probes`, `solver`,
    `max_steps`) as `log_likelihood_details`, which also returns $x(T)$ and both terms.
    """
    result = log_likelihood_details(
        sde, score_fn, x, eps=eps, rtol=rtol, atol=atol, divergence=divergence, key=key, prior=prior, **options
    )
    return result.log_p, result.nfe


@eqx.filter_jit
def _jit_flat_velocity(sde, score_fn, estimator, shape, t, y, probes):
    """The batch augmented velocity on the flat state `[x (n·d), Δ (n·m)]`, compiled once per configuration."""
    n, d = shape
    x, deltas = y[: n * d].reshape(n, d), y[n * d :].reshape(n, -1)
    velocity = augmented_velocity(sde, score_fn, estimator)
    v, div = jax.vmap(lambda xi, pi: velocity(t, xi, pi))(x, probes)
    return jnp.concatenate([v.ravel(), jnp.reshape(div, deltas.shape).ravel()])


@eqx.filter_jit
def _jit_batch_prior_log_prob(sde, prior, x_T):
    return jax.vmap(lambda z: _prior_log_prob(sde, prior, z))(x_T)


def log_likelihood_scipy(
    sde: AbstractSDE,
    score_fn: ScoreFn,
    x,
    *,
    eps: float = 1e-5,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    divergence: str | AbstractDivergence = "exact",
    key: Key | None = None,
    prior=None,
    probe: str = "rademacher",
    n_probes: int = 1,
    method: str = "RK45",
):
    r"""The reference code's route: `scipy.integrate.solve_ivp(method="RK45", rtol, atol)` from `eps` to $T$
    on the concatenated state $[x, \Delta]$, with a jit-compiled velocity.

    `x` is one example `(d,)` or a batch `(n, d)` integrated as one state (one error norm for all, as the
    reference code does); for a batch, example `i` gets the probes of `jax.random.split(key, n)[i]`, the
    same as `jax.vmap` over those keys of the diffrax route.

    **Returns** `(log_p, nfe)` as NumPy (`log_p` of shape `()` or `(n,)`), `nfe` = scipy's `nfev`.
    """
    owner = "log_likelihood_scipy"
    x = np.asarray(x)
    estimator, _ = _check_args(owner, sde, x, eps, divergence, key, probe, n_probes, prior, score_fn=score_fn)
    rtol, atol, _ = _check_solver_options(owner, rtol, atol, 1)
    xb = x.reshape(-1, x.shape[-1])
    n, d = xb.shape
    probes = _probes(estimator, key, xb.shape, xb.dtype)
    m = 1 if probes is None else estimator.n_probes
    probes = jnp.zeros((n, 0), xb.dtype) if probes is None else probes  # vmap needs an array; unused when exact

    def fun(t, y):
        return _jit_flat_velocity(sde, score_fn, estimator, (n, d), t, y, probes)

    y0 = np.concatenate([xb.ravel(), np.zeros(n * m, xb.dtype)])
    y, nfev = solve_ivp_jax(fun, (eps, sde.T), y0, rtol=rtol, atol=atol, method=method, owner=owner)
    x_T, delta = y[: n * d].reshape(n, d), y[n * d :].reshape(n, m).mean(axis=1)
    prior_logp = np.asarray(_jit_batch_prior_log_prob(sde, prior, jnp.asarray(x_T)))
    log_p = prior_logp + delta
    return (log_p[0] if x.ndim == 1 else log_p), nfev
