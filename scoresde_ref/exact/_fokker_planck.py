r"""The Fokker–Planck equation of $dx = f(x,t)\,dt + g(t)\,dw$, by automatic differentiation.

Density form: $\partial_t p + \nabla\cdot(f p) - \tfrac12 g^2 \Delta p = 0$.
Log-density form ($\ell = \log p$, divide by $p$):
$\partial_t \ell + \nabla\cdot f + f\cdot\nabla\ell - \tfrac12 g^2 (\Delta\ell + \|\nabla\ell\|^2) = 0$.
Each function returns the three terms separately, so a caller can form both the residual
(their sum) and a scale to measure it against (the sum of their magnitudes).
See derivations/fokker_planck.md.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._custom_types import Scalar, ScalarLike, Vector
from ..sde._base import AbstractSDE

DensityFn = Callable[[Vector, ScalarLike], Scalar]


def _divergence(fn: Callable[[Vector], Vector], x: Vector) -> Scalar:
    return jnp.trace(jax.jacfwd(fn)(x))


def fokker_planck_terms(sde: AbstractSDE, density_fn: DensityFn, x: Vector, t: ScalarLike):
    r"""$(\partial_t p,\ \nabla\cdot(f p),\ -\tfrac12 g^2 \Delta p)$ at $(x, t)$ for `density_fn(x, t)` $= p_t(x)$."""
    dt_p = jax.grad(density_fn, argnums=1)(x, t)
    flux_div = _divergence(lambda y: sde.drift(y, t) * density_fn(y, t), x)
    laplacian = jnp.trace(jax.hessian(density_fn, argnums=0)(x, t))
    return dt_p, flux_div, -0.5 * sde.diffusion(t) ** 2 * laplacian


def log_fokker_planck_terms(sde: AbstractSDE, log_density_fn: DensityFn, x: Vector, t: ScalarLike):
    r"""$(\partial_t\ell,\ \nabla\cdot f + f\cdot\nabla\ell,\ -\tfrac12 g^2(\Delta\ell + \|\nabla\ell\|^2))$
    for $\ell = \log p_t$."""
    dt_l = jax.grad(log_density_fn, argnums=1)(x, t)
    grad_l = jax.grad(log_density_fn, argnums=0)(x, t)
    transport = _divergence(lambda y: sde.drift(y, t), x) + sde.drift(x, t) @ grad_l
    laplacian = jnp.trace(jax.hessian(log_density_fn, argnums=0)(x, t))
    return dt_l, transport, -0.5 * sde.diffusion(t) ** 2 * (laplacian + grad_l @ grad_l)


def fokker_planck_residual(sde: AbstractSDE, density_fn: DensityFn, x: Vector, t: ScalarLike) -> Scalar:
    r"""$\partial_t p + \nabla\cdot(f p) - \tfrac12 g^2 \Delta p$ at $(x, t)$; zero iff $p$ solves Fokker–Planck."""
    return sum(fokker_planck_terms(sde, density_fn, x, t))


def log_fokker_planck_residual(sde: AbstractSDE, log_density_fn: DensityFn, x: Vector, t: ScalarLike) -> Scalar:
    """The log-density form of `fokker_planck_residual` (the density form divided by $p$)."""
    return sum(log_fokker_planck_terms(sde, log_density_fn, x, t))


def relative_residual(terms) -> Scalar:
    """|sum of terms| / sum of |terms|: a residual measured against the size of what cancels."""
    terms = jnp.stack(terms)
    return jnp.abs(jnp.sum(terms)) / jnp.sum(jnp.abs(terms))


def fokker_planck_relative_residual(
    sde: AbstractSDE, log_density_fn: DensityFn, x: Vector, t: ScalarLike, form: str = "log"
) -> Scalar:
    """The relative residual of Fokker–Planck at $(x, t)$ for $\\ell = $ `log_density_fn`, in the
    log-density form (`form="log"`) or the density form (`form="density"`, with $p = e^\\ell$)."""
    if form == "log":
        return relative_residual(log_fokker_planck_terms(sde, log_density_fn, x, t))
    if form == "density":
        density_fn = lambda y, s: jnp.exp(log_density_fn(y, s))  # noqa: E731
        return relative_residual(fokker_planck_terms(sde, density_fn, x, t))
    raise ValueError(f"fokker_planck_relative_residual: form must be 'log' or 'density'; got {form!r}")
