r"""The exact law of a sampler's output on Gaussian data (derivations/samplers.md).

For $p_0 = \mathcal N(\mu_0, \Sigma_0)$ the exact score $s(x, t) = -\Sigma_t^{-1}(x - \mu_t)$ is affine in
$x$, so every predictor step (and the `"ald"` corrector, whose step size does not depend on the
batch) has the form $x' = M_k x + v_k + c_k z$ with $z \sim \mathcal N(0, I)$ independent of $x$. The
law of the output is therefore Gaussian, with
$\mu' = M_k\mu + v_k$, $\Sigma' = M_k\Sigma M_k^\top + c_k^2 I$.
$M_k$ and $v_k$ are read off the sampler's own step function by forward-mode differentiation
(exact, since the map is affine), so the recursion checks the sampler's noise injection and
time grid, and its convergence checks the step formula itself.
"""

import diffrax
import jax
import jax.numpy as jnp

from .._jit_boundary import compiled
from .._validation import check, check_choice, check_integer, check_real
from ..chains._discretize import discretize
from ..distributions._gaussian import Gaussian
from ..distributions._marginal import marginal
from ..samplers._ode import batch_velocity
from ..samplers._options import ODE_SOLVERS, as_solver
from ..samplers._pc import pc_options, pc_scan, uses_discretization
from ..sde._base import AbstractAffineSDE


def _check_law_inputs(owner, sde, dist, eps, start):
    """The checks of the sampler a law models, plus the law's own: Gaussian data, `eps` in $(0, T)$, `start`."""
    if not isinstance(dist, Gaussian):
        raise TypeError(f"{owner}: dist must be a Gaussian (the law is exact for it); got {type(dist).__name__}")
    check_choice(start, ("exact", "prior"), "start", owner)
    return check_real(eps, "eps", owner, lower=0.0, upper=sde.T, lower_open=True, upper_open=True)


def start_law(sde, dist, start):
    """The sampler's starting law: the exact $p_T$ (`"exact"`) or the SDE's prior (`"prior"`), as a `Gaussian`."""
    if start == "exact":
        return marginal(sde, dist, sde.T)
    if start == "prior":
        d = dist.dim
        mean = jnp.broadcast_to(sde.prior_mean(), (d,)).astype(dist.mean.dtype)
        return Gaussian(mean, sde.prior_std**2 * jnp.eye(d, dtype=dist.mean.dtype))
    raise ValueError(f"start must be 'exact' (p_T) or 'prior' (the SDE's prior); got {start!r}")


def _affine(step, x):
    """(M, v) with step(y) = M y + v (exact for an affine `step`)."""
    return jax.jacfwd(step)(x), step(jnp.zeros_like(x))


def affine_gaussian_update(step, mean, cov):
    r"""The law of one update `step(x, z) -> (x_next, x_mean)`, affine in $(x, z)$:
    $x_{\text{mean}} = M x + v$, $x_{\text{next}} = x_{\text{mean}} + C z$, for
    $x \sim \mathcal N(\text{mean}, \text{cov})$, $z \sim \mathcal N(0, I)$ independent. $M$, $v$, $C$ are read off
    the sampler's own step (forward-mode derivatives, exact for an affine map). **Returns**
    `(M mean + v, M cov Mᵀ, C Cᵀ)`: the law of $x_{\text{mean}}$ and the covariance of the noise not yet added.
    """
    zero = jnp.zeros_like(mean)
    M, v = _affine(lambda y: step(y, zero)[1], mean)
    C = jax.jacfwd(lambda z: step(zero, z)[0])(zero)
    return M @ mean + v, M @ cov @ M.T, C @ C.T


def pc_sampler_law(sde: AbstractAffineSDE, dist: Gaussian, **kwargs) -> Gaussian:
    """The exact law of `pc_sample`'s output for Gaussian data and the exact score (same grid,
    same conventions), as a `Gaussian`; the keywords are those of `pc_sampler_moments`."""
    return Gaussian(*pc_sampler_moments(sde, dist, **kwargs))


def pc_sampler_moments(
    sde: AbstractAffineSDE,
    dist: Gaussian,
    *,
    n_steps: int,
    eps: float = 1e-3,
    predictor="euler_maruyama",
    corrector=None,
    snr: float | None = None,
    corrector_steps: int | None = None,
    order: str = "corrector_first",
    denoise: bool = True,
    start: str = "prior",
    project=None,
) -> tuple[jax.Array, jax.Array]:
    r"""`(mean, cov)` of the exact law of `pc_sample`'s output for Gaussian data and the exact score
    (same grid, same conventions, the same loop `samplers/_pc.py: pc_scan` and the same step objects),
    started from the prior (`start="prior"`) or from the exact $p_T$ (`start="exact"`, removing the
    prior mismatch). Predictors and correctors as in `pc_sample` (strings or objects); the corrector
    must be linear-Gaussian (`corrector.linear_gaussian`: `None` or `"ald"`; the `"langevin"` step size
    depends on the noise drawn, so its output is not Gaussian). `pc_sampler_law` returns the same law
    as a `Gaussian`. Compiled once per shape and static configuration.

    The state is $x = x_{\text{mean}} + \xi$ with $x_{\text{mean}} \sim \mathcal N(\text{mean}, \text{cov})$ and
    independent noise $\xi \sim \mathcal N(0, \text{pending})$ (the noise of the last update, which
    `denoise` leaves out); every update is `affine_gaussian_update` of the sampler's `step(..., z)`.
    `project(mean, cov, pending, t) -> (mean, cov, pending)` is the law of `pc_sample`'s
    `project` hook (an affine-Gaussian map, applied at the same points; `Replacement.law`)."""
    predictor, corrector = pc_options(
        "pc_sampler_law", n_steps, predictor, corrector, snr, corrector_steps, None, order
    )
    if corrector is not None and not corrector.linear_gaussian:
        raise ValueError("pc_sampler_law: corrector must be None or 'ald' (the only linear-Gaussian ones)")
    eps = _check_law_inputs("pc_sampler_law", sde, dist, eps, start)
    disc = discretize(sde, n_steps) if uses_discretization(predictor, corrector) else None
    return _pc_sampler_moments(sde, dist, eps, disc, predictor, corrector, project, int(n_steps), order, denoise, start)


@compiled
def _pc_sampler_moments(sde, dist, eps, disc, predictor, corrector, project, n_steps, order, denoise, start):
    score_fn = lambda x, t: marginal(sde, dist, t).score(x)  # noqa: E731
    h = (sde.T - eps) / n_steps
    p_T = start_law(sde, dist, start)

    def projected(state, t):
        return state if project is None else project(*state, t)

    def predict(state, k, t, i, t_next):
        mean, cov, pending = state
        step = lambda x, z: predictor.step(sde, score_fn, x, t, h, i, disc, z)  # noqa: E731
        return projected(affine_gaussian_update(step, mean, cov + pending), t_next)

    def correct(state, k, t, i):
        mean, cov, pending = state
        one = lambda x, z: [v[0] for v in corrector.step(sde, score_fn, x[None], t, i, disc, z[None])]  # noqa: E731
        for _ in range(corrector.n_steps):
            mean, cov, pending = affine_gaussian_update(one, mean, cov + pending)
        return projected((mean, cov, pending), t)

    init = (p_T.mean, p_T.cov, jnp.zeros_like(p_T.cov))
    correct = None if corrector is None else correct
    (mean, cov, pending), _ = pc_scan(
        predict, correct, init, T=sde.T, h=h, n_steps=n_steps, order=order, dtype=p_T.mean.dtype
    )
    if not denoise:
        cov = cov + pending
    return mean, 0.5 * (cov + cov.T)


def ode_sampler_law(
    sde: AbstractAffineSDE, dist: Gaussian, *, n_steps, eps: float = 1e-3, solver="heun", start: str = "exact"
) -> Gaussian:
    """The exact law of the fixed-step probability-flow ODE sampler's output (`ode_sample` with
    `n_steps`) for Gaussian data and the exact score: the solver's map is affine,
    $x_\\epsilon = M x_T + v$, so the output is $\\mathcal N(M\\mu_T + v, M\\Sigma_T M^\\top)$.
    `n_steps` may be traced (it only sets the step size); compiled once per shape and solver."""
    owner = "ode_sampler_law"
    solver, _ = as_solver(solver, ODE_SOLVERS, owner)
    eps = _check_law_inputs(owner, sde, dist, eps, start)
    if isinstance(n_steps, jax.core.Tracer):  # a traced count keeps its check, at run time
        n_steps = check(
            n_steps,
            (n_steps >= 1) & (n_steps == jnp.round(n_steps)),
            f"{owner}: n_steps must be an integer >= 1; got n_steps = (traced)",
        )
    else:
        n_steps = check_integer(n_steps, "n_steps", owner, minimum=1)
    return _ode_sampler_law(sde, dist, n_steps, eps, solver, start)


@compiled
def _ode_sampler_law(sde, dist, n_steps, eps, solver, start):
    score_fn = lambda x, t: marginal(sde, dist, t).score(x)  # noqa: E731
    velocity = batch_velocity(sde, score_fn)

    def flow(x):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(velocity),
            solver,
            t0=sde.T,
            t1=eps,
            dt0=-(sde.T - eps) / n_steps,
            y0=x[None],
            stepsize_controller=diffrax.ConstantStepSize(),
            adjoint=diffrax.ForwardMode(),  # the map is differentiated forward (jacfwd)
        )
        return sol.ys[-1, 0]

    p_T = start_law(sde, dist, start)
    M, v = _affine(flow, p_T.mean)
    mean = M @ p_T.mean + v
    cov = M @ p_T.cov @ M.T
    return Gaussian(mean, 0.5 * (cov + cov.T))
