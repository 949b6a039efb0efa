r"""Sampling with the probability-flow ODE $dx = [f - \tfrac12 g^2 s]\,dt$ from $T$ down to `eps`
(000_cce368350850b628.txt §3.2; 002_686d39656702d14a.txt "Sampling generation via ODE";
004_77456edc02bb59d5.txt §1.3): through diffrax, and through `scipy.integrate.solve_ivp(RK45)`
as the documents and the reference code do."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate

from .._custom_types import Batch, ScoreFn
from .._jit_boundary import compiled, floats_as_arrays
from .._validation import check_integer, check_tolerance
from ..sde._base import AbstractSDE
from ..sde._reverse import probability_flow_drift
from ._boundary import check_sampler_inputs
from ._options import ODE_SOLVERS, as_solver
from ._result import SampleResult

# The older (class, per step, at start) view of ODE_SOLVERS, for likelihood/_log_likelihood.py until it
# calls `as_solver(solver, ODE_SOLVERS, owner)` (samplers/_options.py holds the one table).
_SOLVERS = {name: tuple(info)[:3] for name, info in ODE_SOLVERS.items()}


def batch_velocity(sde, score_fn):
    """The probability-flow velocity of a batch `(n, d)` as a diffrax vector field `(t, x, args) -> dx/dt`."""

    def velocity(t, x, args):
        return jax.vmap(lambda y: probability_flow_drift(sde, score_fn, y, t))(x)

    return velocity


def ode_sample(
    sde: AbstractSDE,
    score_fn: ScoreFn,
    x_T: Batch,
    *,
    eps: float = 1e-3,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    solver="tsit5",
    n_steps: int | None = None,
    max_steps: int = 100_000,
) -> SampleResult:
    r"""Integrate the probability-flow ODE backwards from $T$ (state `x_T`, a batch `(n, d)`) to `eps`.

    The batch is one ODE state, as in the reference code, so one error norm controls all examples.
    Adaptive (default): `solver` `"tsit5"`, `"dopri5"`, `"dopri8"` (or the diffrax solver object,
    `diffrax.Tsit5()`, ...) with a PID controller at (`rtol`, `atol`). Fixed step: pass `n_steps`
    (then `rtol`/`atol` are unused), e.g. `solver="heun"` for the second-order method whose weak
    order the tests measure. The solver table is `samplers/_options.py: ODE_SOLVERS`.

    **Compiled** once per shape, solver and `n_steps`: new `x_T`, `eps`, tolerances, SDE parameters
    or `exact_score` numbers reuse it (`_jit_boundary.py`).

    **Returns** a `SampleResult` `(x_eps, nfe)`, with `nfe` the number of evaluations of the velocity
    (each one evaluation of `score_fn` per example), counting rejected steps.
    """
    solver, info = as_solver(solver, ODE_SOLVERS, "ode_sample")
    eps = check_sampler_inputs("ode_sample", sde, x_T, eps, score_fn)
    if n_steps is None:
        if not info.flag:
            raise ValueError(f"ode_sample: solver {type(solver).__name__} has no error estimate here; pass n_steps")
        rtol, atol = check_tolerance(rtol, "rtol", "ode_sample"), check_tolerance(atol, "atol", "ode_sample")
    else:
        n_steps = check_integer(n_steps, "n_steps", "ode_sample", minimum=1)
    max_steps = check_integer(max_steps, "max_steps", "ode_sample", minimum=1)
    x, steps, failed = _ode_sample(sde, score_fn, x_T, eps, rtol, atol, solver, n_steps, max_steps)
    why = f"max_steps = {max_steps} reached or a non-finite step"
    x, steps = raise_if_failed("ode_sample", (x, steps), failed, why)  # both: a caller may read either
    return SampleResult(x, info.at_start + info.per_step * steps)


def raise_if_failed(owner: str, value, failed, why: str):
    """`value` (a pytree), or a `RuntimeError` when the solve `failed`: raised on the host after the compiled call
    returns (eagerly), or through `eqx.error_if` on every leaf of `value` when traced (inside a caller's `jit` or
    `vmap`: the check lives as long as any leaf the caller keeps). On the host, not as a callback inside the
    compiled program: a callback that fires in a program partitioned over several devices runs on one of them
    while the others wait at the next collective (derivations/sharding.md §8)."""
    if isinstance(failed, jax.core.Tracer):
        return eqx.error_if(value, failed, f"{owner}: the ODE solve failed ({why})")
    failed = np.asarray(failed)
    if failed.any():
        which = "" if failed.ndim == 0 else f" for examples {np.flatnonzero(failed).tolist()[:10]}"
        raise RuntimeError(f"{owner}: the ODE solve failed{which} ({why}); raise max_steps or check the score")
    return value


@compiled
def _ode_sample(sde, score_fn, x_T, eps, rtol, atol, solver, n_steps, max_steps):
    if n_steps is None:
        controller, dt0 = diffrax.PIDController(rtol=rtol, atol=atol), None
    else:
        controller, dt0 = diffrax.ConstantStepSize(), -(sde.T - eps) / n_steps
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(batch_velocity(sde, score_fn)),
        solver,
        t0=sde.T,
        t1=eps,
        dt0=dt0,
        y0=x_T,
        stepsize_controller=controller,
        max_steps=max_steps,
        throw=False,  # diffrax's own check is a callback on the whole state: it would gather a sharded batch
    )
    steps = sol.stats["num_accepted_steps"] + sol.stats["num_rejected_steps"]
    return sol.ys[-1], steps, sol.result != diffrax.RESULTS.successful  # the failure: raised by the caller


@eqx.filter_jit
def _jit_velocity(sde, score_fn, t, x):
    """The batch velocity, compiled once per (sde, score_fn, shape): repeated scipy calls reuse it."""
    return batch_velocity(sde, score_fn)(t, x, None)


def solve_ivp_jax(fun, t_span, y0, *, rtol: float, atol: float, method: str = "RK45", owner: str = "solve_ivp_jax"):
    r"""`scipy.integrate.solve_ivp` on a JAX right side `fun(t, y) -> dy/dt` (compile it once, e.g. with
    `eqx.filter_jit` at module level, so that repeated calls reuse it), `y` an array shaped like `y0`.

    **Returns** `(y(t_span[1]), nfev)` as NumPy; raises `RuntimeError` naming `owner` if the solver fails.
    """
    y0 = np.asarray(y0)
    shape = y0.shape

    def host_fun(t, y):
        return np.asarray(fun(jnp.asarray(t), jnp.asarray(y.reshape(shape)))).ravel()

    t_span = (float(t_span[0]), float(t_span[1]))
    sol = scipy.integrate.solve_ivp(host_fun, t_span, y0.ravel(), method=method, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"{owner}: solve_ivp failed: {sol.message}")
    return sol.y[:, -1].reshape(shape), sol.nfev


def ode_sample_scipy(sde: AbstractSDE, score_fn: ScoreFn, x_T, *, eps=1e-3, rtol=1e-5, atol=1e-5, method="RK45"):
    r"""The documents' black-box route: `scipy.integrate.solve_ivp(method="RK45", rtol, atol)` on the
    flattened batch, with a jit-compiled velocity (000 §3.2: rtol = atol = 1e-5).

    **Returns** a `SampleResult` `(x_eps, nfe)` as NumPy, `nfe` = scipy's `nfev`. The velocity is compiled
    once per shape (new SDE parameters or `exact_score` numbers reuse it).
    """
    sde, score_fn = floats_as_arrays((sde, score_fn))
    fun = lambda t, x: _jit_velocity(sde, score_fn, t, x)  # noqa: E731
    return SampleResult(
        *solve_ivp_jax(fun, (sde.T, eps), x_T, rtol=rtol, atol=atol, method=method, owner="ode_sample_scipy")
    )
