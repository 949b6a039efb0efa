r"""Higher-order SDE solvers for the reverse-time SDE, through diffrax, and the order-1
Runge–Kutta scheme of 003_68ae16c2fc5b3c9b.txt §6.2.

diffrax integrates forward in time, so the reverse SDE is written for $y(u) = x(T - u)$,
$u \in [0, T - \epsilon]$ (`TimeReversedSDE`): $dy = -[f - g^2 s](y, T-u)\,du + g(T-u)\,dw_u$.
The noise is additive (it does not depend on $y$), so Itô and Stratonovich solvers agree, the
Milstein correction vanishes, and the stochastic Runge–Kutta methods for additive noise
(ShARK, SRA1) reach strong order 1.5 with space-time Lévy area.
"""

import diffrax
import jax
import jax.numpy as jnp
import lineax

from .._custom_types import Batch, Key, ScoreFn
from .._jit_boundary import compiled
from .._validation import check_integer
from ..sde._base import AbstractSDE
from ..sde._reverse import TimeReversedSDE
from ._boundary import check_sampler_inputs
from ._options import SDE_SOLVERS, as_solver
from ._result import SampleResult


def sde_sample(
    key: Key,
    sde: AbstractSDE,
    score_fn: ScoreFn,
    x_T: Batch,
    *,
    n_steps: int,
    eps: float = 1e-3,
    solver="euler",
) -> SampleResult:
    r"""Integrate the reverse-time SDE from $T$ to `eps` with a diffrax SDE solver on `n_steps`
    equal steps, each example with its own `VirtualBrownianTree` (exact increments at any
    resolution), vmapped over the batch.

    `solver` `"euler"` (= Euler–Maruyama), `"heun"`, `"milstein"`, `"shark"`, `"sra1"`, or the diffrax
    solver object (`samplers/_options.py: SDE_SOLVERS`). Compiled once per shape, solver and `n_steps`.
    **Returns** a `SampleResult` `(x_eps, nfe)` with `nfe` the score evaluations per example.
    """
    solver, info = as_solver(solver, SDE_SOLVERS, "sde_sample")
    n_steps = check_integer(n_steps, "n_steps", "sde_sample", minimum=1)
    eps = check_sampler_inputs("sde_sample", sde, x_T, eps, score_fn)
    x = _sde_sample(key, sde, score_fn, x_T, eps, solver, n_steps, info.flag)
    return SampleResult(x, info.per_step * n_steps)


@compiled
def _sde_sample(key, sde, score_fn, x_T, eps, solver, n_steps, levy):
    rev = TimeReversedSDE(sde, score_fn)
    u1 = sde.T - eps
    dt = u1 / n_steps

    def drift(u, y, args):
        return rev.drift(y, u)

    def diffusion(u, y, args):
        return lineax.DiagonalLinearOperator(rev.diffusion(u) * jnp.ones_like(y))

    def solve_one(key, x):
        brownian = diffrax.VirtualBrownianTree(
            0.0, u1, tol=dt / 8, shape=x.shape, key=key,
            levy_area=diffrax.SpaceTimeLevyArea if levy else diffrax.BrownianIncrement,
        )
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, brownian))
        sol = diffrax.diffeqsolve(terms, solver, 0.0, u1, dt0=dt, y0=x, max_steps=n_steps + 1)
        return sol.ys[-1]

    keys = jax.random.split(key, x_T.shape[0])
    return jax.vmap(solve_one)(keys, x_T)


def rk1_003_step(drift, diffusion, w, t, dt, dW):
    r"""The order-1 Runge–Kutta (derivative-free Milstein) step of 003 §6.2, for diagonal noise:

    $w' = w + a(w,t)\Delta t + b(w,t)\Delta W +
    \tfrac12[b(\hat w, t) - b(w, t)](\Delta W^2 - \Delta t)/\sqrt{\Delta t}$,
    $\hat w = w + b(w,t)\sqrt{\Delta t}$ (the document's formula is garbled; derivations/ERRATA.md E38).
    For additive noise $b(w, t) = b(t)$ the bracket is exactly zero: the step *is* Euler–Maruyama.
    """
    b = diffusion(w, t)
    support = w + b * jnp.sqrt(dt)
    correction = 0.5 * (diffusion(support, t) - b) * (dW**2 - dt) / jnp.sqrt(dt)
    return w + drift(w, t) * dt + b * dW + correction
