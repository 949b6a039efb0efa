r"""Both sides of the likelihood-weighting bound for Gaussian data and affine score models.

Song, Durkan, Murray & Ermon (2021), as stated in 002_686d39656702d14a.txt ("Estimating the
reverse SDE with score-based models", L557): with $p_\theta$ the law at $t = 0$ of the reverse
SDE $dx = [f - g^2 s_\theta]\,dt + g\,d\bar w$ started from $x(T) \sim \pi$,

$$\mathrm{KL}(p_0 \,\|\, p_\theta) \le \tfrac12 \int_0^T g(t)^2\, E_{p_t}\|s_\theta(x, t) - \nabla\log p_t(x)\|^2\,dt +
\mathrm{KL}(p_T \,\|\, \pi).$$

For an affine SDE and an affine-in-$x$ model $s_\theta(x, t) = K(t) x + k(t)$ the reverse SDE is
linear, so $p_\theta = \mathcal N(\nu, P)$ exactly, where, in reversed time $u = T - t$ with
$F = -a I + g^2 K$ and $\varphi = -b + g^2 k$ evaluated at $t = T - u$,
$\nu' = F\nu + \varphi$, $P' = F P + P F^\top + g^2 I$, $\nu(0), P(0)$ those of $\pi$
(derivations/likelihood_weighting_bound.md). We integrate these with diffrax (8th-order
Dormand–Prince, rtol = atol = 1e-12 in float64), and the right side's time integral, whose integrand is a
closed-form Gaussian expectation, with Gauss–Legendre quadrature.
"""

from collections.abc import Callable

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Matrix, Scalar, ScalarLike, Vector
from ..distributions._gaussian import Gaussian
from ..distributions._marginal import marginal
from ..sde._base import AbstractAffineSDE
from ._affine_objectives import expected_sq_norm, gaussian_score_coeffs

AffineScoreCoeffs = Callable[[ScalarLike], tuple[Matrix, Vector]]
"""`t -> (K(t), k(t))`: the score model $s_\\theta(x, t) = K(t) x + k(t)$."""


def gaussian_kl(p: Gaussian, q: Gaussian) -> Scalar:
    r"""$\mathrm{KL}(p\,\|\,q) = \tfrac12[\mathrm{tr}(\Sigma_q^{-1}\Sigma_p) + \Delta^\top\Sigma_q^{-1}\Delta - d
    + \log\det\Sigma_q - \log\det\Sigma_p]$, $\Delta = \mu_q - \mu_p$ (Cholesky solves)."""
    d = p.dim
    solve = lambda m: jax.scipy.linalg.cho_solve((q.chol, True), m)  # noqa: E731
    delta = q.mean - p.mean
    logdet = lambda L: 2 * jnp.sum(jnp.log(jnp.diagonal(L)))  # noqa: E731
    return 0.5 * (jnp.trace(solve(p.cov)) + delta @ solve(delta) - d + logdet(q.chol) - logdet(p.chol))


def sde_prior(sde: AbstractAffineSDE, d: int, dtype=None) -> Gaussian:
    r"""The prior $\pi = \mathcal N(c(T), \text{prior\_std}^2 I)$ of `sde` in dimension `d`, as a `Gaussian`."""
    dtype = dtype or jnp.result_type(float)
    mean = jnp.broadcast_to(jnp.asarray(sde.prior_mean(), dtype), (d,))
    return Gaussian(mean, sde.prior_std**2 * jnp.eye(d, dtype=dtype))


def exact_score_coeffs(sde: AbstractAffineSDE, dist: Gaussian) -> AffineScoreCoeffs:
    r"""`t -> (K*(t), k*(t))`, the exact score $\nabla\log p_t(x) = -S_t^{-1}(x - \mu_t)$ of Gaussian data."""
    return lambda t: gaussian_score_coeffs(marginal(sde, dist, t))


def reverse_sde_output(
    sde: AbstractAffineSDE,
    coeffs: AffineScoreCoeffs,
    prior: Gaussian,
    *,
    rtol: float | None = None,
    atol: float | None = None,
) -> Gaussian:
    r"""The exact law at $t = 0$ of the reverse SDE with score $K(t)x + k(t)$ started from $x(T) \sim$ `prior`.

    `rtol`, `atol` of the moment ODEs default to 1e-12 in float64 and 1e-6 in float32.
    """
    d, T = prior.dim, sde.T
    default_tol = 1e-12 if jnp.finfo(prior.mean.dtype).bits == 64 else 1e-6
    rtol = default_tol if rtol is None else rtol
    atol = default_tol if atol is None else atol
    eye = jnp.eye(d, dtype=prior.mean.dtype)

    def vector_field(u, state, args):
        nu, P = state
        t = T - u
        K, k = coeffs(t)
        g2 = sde.diffusion(t) ** 2
        F = -sde.drift_coeff(t) * eye + g2 * K
        phi = -sde.drift_offset(t) + g2 * k
        return F @ nu + phi, F @ P + P @ F.T + g2 * eye

    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        diffrax.Dopri8(),
        t0=0.0,
        t1=T,
        dt0=None,
        y0=(prior.mean, prior.cov),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=100_000,
    )
    nu, P = jax.tree_util.tree_map(lambda y: y[-1], solution.ys)
    return Gaussian(nu, 0.5 * (P + P.T))


def score_error_integral(
    sde: AbstractAffineSDE, dist: Gaussian, coeffs: AffineScoreCoeffs, *, n_nodes: int = 256
) -> Scalar:
    r"""$\tfrac12\int_0^T g(t)^2 E_{p_t}\|s_\theta(x, t) - \nabla\log p_t(x)\|^2\,dt$, the integrand in closed
    form (`expected_sq_norm` of the affine difference) and the integral by `n_nodes`-point Gauss–Legendre."""
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    dtype = dist.mean.dtype
    ts = jnp.asarray(0.5 * (x + 1.0), dtype) * sde.T
    ws = jnp.asarray(0.5 * w, dtype) * sde.T
    exact = exact_score_coeffs(sde, dist)

    def integrand(t):
        (K, k), (K_star, k_star) = coeffs(t), exact(t)
        return sde.diffusion(t) ** 2 * expected_sq_norm(marginal(sde, dist, t), K - K_star, k - k_star)

    return 0.5 * ws @ jax.vmap(integrand)(ts)


def likelihood_weighting_bound(
    sde: AbstractAffineSDE, dist: Gaussian, coeffs: AffineScoreCoeffs, *, prior: Gaussian | None = None
) -> dict[str, Scalar]:
    r"""Both sides of
    $\mathrm{KL}(p_0\|p_\theta) \le \tfrac12\int g^2 E\|s_\theta - \nabla\log p_t\|^2 + \mathrm{KL}(p_T\|\pi)$.

    Returns `{"kl_data_model": left, "score_term": ..., "kl_prior": ..., "bound": right, "gap": right - left}`.
    `prior` defaults to the SDE's prior (`sde_prior`).
    """
    prior = prior if prior is not None else sde_prior(sde, dist.dim, dist.mean.dtype)
    left = gaussian_kl(dist, reverse_sde_output(sde, coeffs, prior))
    score_term = score_error_integral(sde, dist, coeffs)
    kl_prior = gaussian_kl(marginal(sde, dist, sde.T), prior)
    right = score_term + kl_prior
    return {"kl_data_model": left, "score_term": score_term, "kl_prior": kl_prior, "bound": right, "gap": right - left}
