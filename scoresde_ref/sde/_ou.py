"""The Ornstein–Uhlenbeck SDE (001_cbf75b2ce1966cfb.txt, 003_68ae16c2fc5b3c9b.txt)."""

import jax.numpy as jnp

from .._custom_types import Scalar, ScalarLike, Times
from .._validation import check_positive, tie
from ._base import AbstractLinearSDE


class OUSDE(AbstractLinearSDE):
    r"""Ornstein–Uhlenbeck SDE $dx = -\theta x\,dt + \sigma\,dw$ on $[0, T]$.

    Exact kernel: $x(t) \mid x(0) \sim \mathcal N(e^{-\theta t} x(0),
    \tfrac{\sigma^2}{2\theta}(1 - e^{-2\theta t}) I)$; stationary law and prior
    $\mathcal N(0, \tfrac{\sigma^2}{2\theta} I)$. The documents' example
    $dX = -X\,dt + \sqrt2\,dB$ is `OUSDE(theta=1.0, sigma=2 ** 0.5)`, with stationary law $\mathcal N(0, I)$.

    **Arguments:** `theta > 0`, `sigma > 0`, horizon `T > 0` (default 1).
    """

    theta: ScalarLike
    sigma: ScalarLike
    T: ScalarLike

    def __init__(self, theta: ScalarLike = 1.0, sigma: ScalarLike = 2**0.5, T: ScalarLike = 1.0):
        self.theta = check_positive(theta, "theta", "OUSDE")
        self.sigma = check_positive(sigma, "sigma", "OUSDE")
        self.T = check_positive(T, "T", "OUSDE")

    def drift_coeff(self, t: Times) -> Times:
        return -self.theta * jnp.ones_like(jnp.asarray(t))

    def diffusion(self, t: Times) -> Times:
        t = self.check_time(t, "diffusion")
        return tie(self.sigma * jnp.ones_like(jnp.asarray(t)), t)

    def unchecked_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        var = self.sigma**2 / (2 * self.theta) * -jnp.expm1(-2 * self.theta * t)
        return jnp.exp(-self.theta * t), jnp.sqrt(var)

    @property
    def prior_std(self) -> ScalarLike:
        return jnp.asarray(self.sigma / jnp.sqrt(2 * self.theta))
