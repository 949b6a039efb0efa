"""The variance-preserving and sub-VP SDEs of DDPM (000_cce368350850b628.txt §2.3)."""

import equinox as eqx
import jax.numpy as jnp

from .._custom_types import Scalar, ScalarLike, Times
from .._validation import check, check_real
from ._base import AbstractLinearSDE


def _check_betas(beta_min, beta_max, owner):
    beta_min = check_real(beta_min, "beta_min", owner, lower=0.0)
    beta_max = check_real(beta_max, "beta_max", owner, lower=0.0, lower_open=True)
    beta_max = check(
        beta_max,
        jnp.asarray(beta_max) >= jnp.asarray(beta_min),
        f"{owner}: beta_max must be >= beta_min (beta(t) must not decrease); got beta_min = {beta_min!r}, "
        f"beta_max = {beta_max!r}",
    )
    return beta_min, beta_max


class _AbstractLinearBetaSDE(AbstractLinearSDE):
    r"""Shared schedule $\beta(t) = \beta_{\min} + (\beta_{\max} - \beta_{\min}) t$ and drift $-\tfrac12\beta(t) x$."""

    beta_min: eqx.AbstractVar[ScalarLike]
    beta_max: eqx.AbstractVar[ScalarLike]

    def beta(self, t: Times) -> Times:
        r"""$\beta(t) = \beta_{\min} + (\beta_{\max} - \beta_{\min})\,t$, for $0 \le t \le T$."""
        t = self.check_time(t, "beta")
        return self.beta_min + (self.beta_max - self.beta_min) * t

    def integrated_beta(self, t: Times) -> Times:
        r"""$B(t) = \int_0^t \beta(s)\,ds = \beta_{\min} t + \tfrac12 (\beta_{\max} - \beta_{\min}) t^2$."""
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2

    def drift_coeff(self, t: Times) -> Times:
        return -0.5 * self.beta(t)

    @property
    def prior_std(self) -> ScalarLike:
        return jnp.ones_like(jnp.asarray(self.beta_max))


class VPSDE(_AbstractLinearBetaSDE):
    r"""Variance-preserving SDE $dx = -\tfrac12\beta(t)\,x\,dt + \sqrt{\beta(t)}\,dw$ on $[0, 1]$.

    Exact kernel: $x(t) \mid x(0) \sim \mathcal N(e^{-B(t)/2} x(0), (1 - e^{-B(t)}) I)$ with
    $B(t) = \int_0^t \beta$. The kernel table of 000 §2.3 drops the $\tfrac12$ in the mean
    (derivations/ERRATA.md). The std is computed as $\sqrt{-\mathrm{expm1}(-B)}$, accurate in
    float32 at $t = 10^{-5}$. Prior $\mathcal N(0, I)$.

    **Arguments:** `beta_min`, `beta_max` with $0 \le \beta_{\min} \le \beta_{\max}$, $\beta_{\max} > 0$.
    """

    beta_min: ScalarLike
    beta_max: ScalarLike
    T: ScalarLike

    def __init__(self, beta_min: ScalarLike = 0.1, beta_max: ScalarLike = 20.0):
        self.beta_min, self.beta_max = _check_betas(beta_min, beta_max, "VPSDE")
        self.T = 1.0

    def diffusion(self, t: Times) -> Times:
        return jnp.sqrt(self.beta(self.check_time(t, "diffusion")))

    def unchecked_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        B = self.integrated_beta(t)
        return jnp.exp(-0.5 * B), jnp.sqrt(-jnp.expm1(-B))


class SubVPSDE(_AbstractLinearBetaSDE):
    r"""Sub-VP SDE $dx = -\tfrac12\beta(t)\,x\,dt + \sqrt{\beta(t)(1 - e^{-2B(t)})}\,dw$ on $[0, 1]$.

    Exact kernel: $x(t) \mid x(0) \sim \mathcal N(e^{-B(t)/2} x(0), (1 - e^{-B(t)})^2 I)$, so the
    std is $-\mathrm{expm1}(-B(t))$ (000 §2.3; its table drops the $\tfrac12$ in the mean).
    Prior $\mathcal N(0, I)$.

    **Arguments:** `beta_min`, `beta_max` with $0 \le \beta_{\min} \le \beta_{\max}$, $\beta_{\max} > 0$.
    """

    beta_min: ScalarLike
    beta_max: ScalarLike
    T: ScalarLike

    def __init__(self, beta_min: ScalarLike = 0.1, beta_max: ScalarLike = 20.0):
        self.beta_min, self.beta_max = _check_betas(beta_min, beta_max, "SubVPSDE")
        self.T = 1.0

    def diffusion(self, t: Times) -> Times:
        t = self.check_time(t, "diffusion")
        return jnp.sqrt(self.beta(t) * -jnp.expm1(-2 * self.integrated_beta(t)))

    def unchecked_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        B = self.integrated_beta(t)
        return jnp.exp(-0.5 * B), -jnp.expm1(-B)
