r"""Log-likelihood through the probability-flow ODE (002_686d39656702d14a.txt "Evaluating likelihoods
with ODEs"; 004_77456edc02bb59d5.txt §1.3), by the instantaneous change of variables.

Along the flow $\dot x = \tilde f(x, t) = f(x, t) - \tfrac12 g(t)^2 s(x, t)$ the continuity equation gives
$\tfrac{d}{dt}\log p_t(x(t)) = -\nabla\cdot\tilde f(x(t), t)$, so, integrating forward from $\epsilon$ to $T$,

$$\log p_\epsilon(x) = \log \pi(x(T)) + \int_\epsilon^T \nabla\cdot\tilde f(x(t), t)\,dt,\qquad x(\epsilon) = x,$$

exact when $\pi = p_T$ and $s = \nabla\log p_t$ (derivations/likelihood.md). The divergence is the Jacobian
trace (`d` JVPs per evaluation) or Hutchinson's $v^\top (\partial\tilde f/\partial x)\,v$ with probes drawn
once per integration and reused at every step (the reference code's convention; one JVP per probe).
"""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Array, Key, Scalar, ScoreFn, Vector
from .._divergence import check_probe, sample_probe, value_and_divergence, value_and_quadratic_forms
from ..samplers._ode import _SOLVERS, solve_ivp_jax
from ..sde._reverse import probability_flow_drift
from ..sde._base import AbstractSDE
from .._validation import check

DIVERGENCES = ("exact", "hutchinson")
ADAPTIVE_SOLVERS = ("tsit5", "dopri5", "dopri8")


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


def augmented_velocity(sde: AbstractSDE, score_fn: ScoreFn, divergence: str):
    r"""`velocity(t, x, probes) -> (f̃(x, t), ∇·f̃)`: the right side of $\tfrac{d}{dt}[x, \Delta] = [\tilde f, \nabla\cdot\tilde f]$
    for one example. For `"hutchinson"` the second output is the `(n_probes,)` vector $v_k^\top J v_k$."""

    def velocity(t, x, probes):
        def f(y):
            return probability_flow_drift(sde, score_fn, y, t)

        if divergence == "exact":
            return value_and_divergence(f, x)
        return value_and_quadratic_forms(f, x, probes)

    return velocity


def _check_args(owner, sde, x, eps, divergence, key, probe, n_probes, prior, *, batch_ok=False):
    if prior is None and not hasattr(sde, "prior_log_prob"):
        raise TypeError(f"{owner}: {type(sde).__name__} has no prior; pass prior= (any object with log_prob)")
    if divergence not in DIVERGENCES:
        raise ValueError(f"{owner}: divergence must be one of {DIVERGENCES}; got {divergence!r}")
    check_probe(probe, owner)
    if divergence == "hutchinson":
        if key is None:
            raise ValueError(f"{owner}: divergence='hutchinson' needs a PRNG key (key=jax.random.key(...))")
        if int(n_probes) < 1:
            raise ValueError(f"{owner}: n_probes must be >= 1; got {n_probes}")
    if not (x.ndim == 1 or (batch_ok and x.ndim == 2)):
        allowed = "(d,) or a batch (n, d)" if batch_ok else "(d,) (one example; use jax.vmap for a batch)"
        raise ValueError(f"{owner}: x must have shape {allowed}; got shape {x.shape}")
    return check(eps, (jnp.asarray(eps) > 0) & (jnp.asarray(eps) < sde.T), f"{owner}: eps must lie in (0, T)")


def _probes(key, shape, divergence, probe, n_probes, dtype):
    """Hutchinson probes `(n_probes, d)` for one example (`shape = (d,)`) or `(n, n_probes, d)` for a batch,
    one key per example from `jax.random.split(key, n)`; `None` for the exact trace."""
    if divergence == "exact":
        return None
    if len(shape) == 1:
        return sample_probe(key, (n_probes,) + shape, probe, dtype)
    keys = jax.random.split(key, shape[0])
    return jax.vmap(lambda k: sample_probe(k, (n_probes, shape[1]), probe, dtype))(keys)


def _prior_log_prob(sde, prior, x_T):
    return sde.prior_log_prob(x_T) if prior is None else prior.log_prob(x_T)


def log_likelihood_details(
    sde: AbstractSDE,
    score_fn: ScoreFn,
    x: Vector,
    *,
    eps: float = 1e-5,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    divergence: str = "exact",
    key: Key | None = None,
    prior=None,
    probe: str = "rademacher",
    n_probes: int = 1,
    solver: str = "tsit5",
    max_steps: int = 100_000,
) -> LikelihoodResult:
    r"""Integrate $\tfrac{d}{dt}[x, \Delta] = [\tilde f, \nabla\cdot\tilde f]$ from $(x, 0)$ at `eps` to $T$ with diffrax.

    **Arguments:**

    - `sde`, `score_fn`: the forward SDE and a score `score_fn(x, t)` on one example; $\tilde f$ =
      `probability_flow_drift`.
    - `x`: one example of shape `(d,)` (use `jax.vmap` for a batch, with one key per example).
    - `eps`: the start time in $(0, T)$ (the reference code's `1e-5`); the result is $\log p_\epsilon(x)$.
    - `rtol`, `atol`: tolerances of the PID controller on the whole state $[x, \Delta]$
      (the reference code's `1e-5`); `solver` in `"tsit5"`, `"dopri5"`, `"dopri8"`.
    - `divergence`: `"exact"` (Jacobian trace, `d` JVPs) or `"hutchinson"` (`n_probes` probes of kind
      `probe`, `"rademacher"` (the reference code's default) or `"gaussian"`, drawn once from `key` and
      reused at every step).
    - `prior`: any object with `log_prob`; default the SDE's prior `sde.prior_log_prob`
      ($\mathcal N(0, I)$ for VP, sub-VP; $\mathcal N(0, \sigma_{\max}^2 I)$ for VE). For oracle use pass
      the exact $p_T$, `sr.marginal(sde, data, sde.T)`.

    **Returns** a `LikelihoodResult`.
    """
    owner = "log_likelihood"
    x = jnp.asarray(x)
    eps = _check_args(owner, sde, x, eps, divergence, key, probe, n_probes, prior)
    if solver not in ADAPTIVE_SOLVERS:
        raise ValueError(f"{owner}: solver must be one of {ADAPTIVE_SOLVERS}; got {solver!r}")
    cls, per_step, at_start = _SOLVERS[solver]
    probes = _probes(key, x.shape, divergence, probe, n_probes, jnp.result_type(x))
    delta0 = jnp.zeros((), x.dtype) if probes is None else jnp.zeros((n_probes,), x.dtype)
    velocity = augmented_velocity(sde, score_fn, divergence)
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, args: velocity(t, y[0], args)),
        cls(),
        t0=eps,
        t1=sde.T,
        dt0=None,
        y0=(x, delta0),
        args=probes,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
    )
    x_T, deltas = sol.ys[0][-1], sol.ys[1][-1]
    delta = deltas if probes is None else jnp.mean(deltas)
    prior_logp = _prior_log_prob(sde, prior, x_T)
    nfe = at_start + per_step * (sol.stats["num_accepted_steps"] + sol.stats["num_rejected_steps"])
    return LikelihoodResult(prior_logp + delta, nfe, x_T, delta, prior_logp, None if probes is None else deltas)


def log_likelihood(
    sde: AbstractSDE,
    score_fn: ScoreFn,
    x: Vector,
    *,
    eps: float = 1e-5,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    divergence: str = "exact",
    key: Key | None = None,
    prior=None,
    **options,
) -> tuple[Scalar, Array]:
    r"""$\log p_\epsilon(x) = \log\pi(x(T)) + \int_\epsilon^T \nabla\cdot\tilde f(x(t), t)\,dt$ for one example `x` `(d,)`.

    **Returns** `(log_p, nfe)`. Arguments and further `options` (`probe`, `n_probes`, `solver`,
    `max_steps`) as `log_likelihood_details`, which also returns $x(T)$ and both terms.
    """
    result = log_likelihood_details(
        sde, score_fn, x, eps=eps, rtol=rtol, atol=atol, divergence=divergence, key=key, prior=prior, **options
    )
    return result.log_p, result.nfe


@eqx.filter_jit
def _jit_flat_velocity(sde, score_fn, divergence, shape, t, y, probes):
    """The batch augmented velocity on the flat state `[x (n·d), Δ (n·m)]`, compiled once per configuration."""
    n, d = shape
    x, deltas = y[: n * d].reshape(n, d), y[n * d :].reshape(n, -1)
    velocity = augmented_velocity(sde, score_fn, divergence)
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
    divergence: str = "exact",
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
    _check_args(owner, sde, x, eps, divergence, key, probe, n_probes, prior, batch_ok=True)
    xb = x.reshape(-1, x.shape[-1])
    n, d = xb.shape
    m = 1 if divergence == "exact" else n_probes
    probes = _probes(key, xb.shape, divergence, probe, n_probes, xb.dtype)
    probes = jnp.zeros((n, 0), xb.dtype) if probes is None else probes  # vmap needs an array; unused when exact

    def fun(t, y):
        return _jit_flat_velocity(sde, score_fn, divergence, (n, d), t, y, probes)

    y0 = np.concatenate([xb.ravel(), np.zeros(n * m, xb.dtype)])
    y, nfev = solve_ivp_jax(fun, (eps, sde.T), y0, rtol=rtol, atol=atol, method=method, owner=owner)
    x_T, delta = y[: n * d].reshape(n, d), y[n * d :].reshape(n, m).mean(axis=1)
    prior_logp = np.asarray(_jit_batch_prior_log_prob(sde, prior, jnp.asarray(x_T)))
    log_p = prior_logp + delta
    return (log_p[0] if x.ndim == 1 else log_p), nfev
