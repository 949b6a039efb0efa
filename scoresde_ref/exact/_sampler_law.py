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

from ..samplers._correctors import ald_step_size
from ..chains._discretize import discretize
from ..distributions._gaussian import Gaussian
from ..distributions._marginal import marginal
from ..samplers._ode import _SOLVERS, _batch_velocity
from ..samplers._pc import uses_discretization
from ..samplers._predictors import PREDICTORS
from ..sde._base import AbstractAffineSDE


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
    predictor: str = "euler_maruyama",
    corrector: str | None = None,
    snr: float = 0.16,
    corrector_steps: int = 1,
    order: str = "corrector_first",
    denoise: bool = True,
    start: str = "prior",
    project=None,
) -> tuple[jax.Array, jax.Array]:
    r"""`(mean, cov)` of the exact law of `pc_sample`'s output for Gaussian data and the exact score
    (same grid, same conventions), started from the prior (`start="prior"`) or from the exact $p_T$
    (`start="exact"`, removing the prior mismatch). Correctors: `None` or `"ald"` only (the
    `"langevin"` step size depends on the noise drawn, so its output is not Gaussian).
    `pc_sampler_law` returns the same law as a `Gaussian`.

    `project(mean, cov, pending, t) -> (mean, cov, pending)` is the law of `pc_sample`'s
    `project` hook (an affine-Gaussian map, applied at the same points): the state is
    $x_{\text{mean}} + \xi$ with $x_{\text{mean}} \sim \mathcal N(\text{mean}, \text{cov})$ and
    independent noise $\xi \sim \mathcal N(0, \text{pending})$ (`Replacement.law`)."""
    if corrector not in (None, "ald"):
        raise ValueError("pc_sampler_law: corrector must be None or 'ald' (the only linear-Gaussian ones)")
    disc = discretize(sde, n_steps) if uses_discretization(predictor, corrector) else None
    predict = PREDICTORS[predictor]
    score_fn = lambda x, t: marginal(sde, dist, t).score(x)  # noqa: E731
    h = (sde.T - eps) / n_steps
    p_T = start_law(sde, dist, start)

    eye = jnp.eye(p_T.dim, dtype=p_T.mean.dtype)

    def predictor_law(mean, cov, t, i):
        M, v = _affine(lambda y: predict(sde, score_fn, y, t, h, i, disc)[0], mean)
        _, c = predict(sde, score_fn, mean, t, h, i, disc)
        return M @ mean + v, M @ cov @ M.T, c**2 * eye

    def corrector_law(mean, cov, t, i):
        e = ald_step_size(sde, mean, t, i, disc, snr)
        noise = jnp.zeros((), mean.dtype)
        for _ in range(corrector_steps):
            cov = cov + noise * eye
            M, v = _affine(lambda y: y + e * score_fn(y, t), mean)
            mean, cov, noise = M @ mean + v, M @ cov @ M.T, 2 * e
        return mean, cov, noise * eye

    def projected(mean, cov, pending, t):
        return (mean, cov, pending) if project is None else project(mean, cov, pending, t)

    def body(carry, k):
        mean, cov, pending = carry  # pending: covariance of the noise of the last update, not yet added
        cov = cov + pending
        t, i = sde.T - k.astype(mean.dtype) * h, n_steps - k
        if order == "corrector_first":
            if corrector is not None:
                mean, cov, noise = projected(*corrector_law(mean, cov, t, i), t)
                cov = cov + noise
            mean, cov, pending = projected(*predictor_law(mean, cov, t, i), t - h)
        else:
            mean, cov, pending = projected(*predictor_law(mean, cov, t, i), t - h)
            if corrector is not None:
                mean, cov, pending = projected(*corrector_law(mean, cov + pending, t - h, jnp.maximum(i - 1, 1)), t - h)
        return (mean, cov, pending), None

    init = (p_T.mean, p_T.cov, jnp.zeros_like(p_T.cov))
    (mean, cov, pending), _ = jax.lax.scan(body, init, jnp.arange(n_steps))
    if not denoise:
        cov = cov + pending
    return mean, 0.5 * (cov + cov.T)


def ode_sampler_law(
    sde: AbstractAffineSDE, dist: Gaussian, *, n_steps: int, eps: float = 1e-3, solver: str = "heun", start: str = "exact"
) -> Gaussian:
    """The exact law of the fixed-step probability-flow ODE sampler's output (`ode_sample` with
    `n_steps`) for Gaussian data and the exact score: the solver's map is affine,
    $x_\\epsilon = M x_T + v$, so the output is $\\mathcal N(M\\mu_T + v, M\\Sigma_T M^\\top)$."""
    score_fn = lambda x, t: marginal(sde, dist, t).score(x)  # noqa: E731
    cls, _, _ = _SOLVERS[solver]
    velocity = _batch_velocity(sde, score_fn)

    def flow(x):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(velocity),
            cls(),
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
