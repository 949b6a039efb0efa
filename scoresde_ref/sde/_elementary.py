"""Driftless and constant-drift examples of the documents: Brownian motion (the heat
equation), dx = e^t dw, dx = sigma^t dw, and dx = b dt + sigma dw."""

import jax.numpy as jnp

from .._custom_types import Scalar, ScalarLike, Times, Vector, VectorLike
from .._special import expm1_ratio
from .._validation import check_finite_array, check_positive, tie
from ._base import AbstractAffineSDE, AbstractLinearSDE


class BrownianMotion(AbstractLinearSDE):
    r"""Scaled Brownian motion $dx = \sigma\,dw$ on $[0, T]$; its density solves the heat
    equation $\partial_t p = \tfrac12\sigma^2 \Delta p$.

    Kernel $\mathcal N(x(0), \sigma^2 t I)$; prior $\mathcal N(0, \sigma^2 T I)$ (the kernel at $T$
    from 0). **Arguments:** `sigma > 0` (default 1), `T > 0` (default 1).
    """

    sigma: ScalarLike
    T: ScalarLike

    def __init__(self, sigma: ScalarLike = 1.0, T: ScalarLike = 1.0):
        self.sigma = check_positive(sigma, "sigma", "BrownianMotion")
        self.T = check_positive(T, "T", "BrownianMotion")

    def drift_coeff(self, t: Times) -> Times:
        return jnp.zeros_like(jnp.asarray(t))

    def diffusion(self, t: Times) -> Times:
        t = self.check_time(t, "diffusion")
        return tie(self.sigma * jnp.ones_like(jnp.asarray(t)), t)

    def unchecked_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        std = self.sigma * jnp.sqrt(t)
        return jnp.ones_like(std), std

    @property
    def prior_std(self) -> ScalarLike:
        return jnp.asarray(self.sigma * jnp.sqrt(self.T))


class ExpDiffusionSDE(AbstractLinearSDE):
    r"""$dx = e^{t}\,dw$ on $[0, T]$ (the documents' example).

    Kernel $\mathcal N(x(0), \tfrac12 (e^{2t} - 1) I)$; prior: the kernel at $T$ from 0.
    **Arguments:** `T > 0` (default 1).
    """

    T: ScalarLike

    def __init__(self, T: ScalarLike = 1.0):
        self.T = check_positive(T, "T", "ExpDiffusionSDE")

    def drift_coeff(self, t: Times) -> Times:
        return jnp.zeros_like(jnp.asarray(t))

    def diffusion(self, t: Times) -> Times:
        return jnp.exp(self.check_time(t, "diffusion"))

    def unchecked_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        std = jnp.sqrt(0.5 * jnp.expm1(2 * jnp.asarray(t)))
        return jnp.ones_like(std), std

    @property
    def prior_std(self) -> ScalarLike:
        return self.unchecked_kernel(self.T)[1]


class PowerDiffusionSDE(AbstractLinearSDE):
    r"""$dx = \sigma^{t}\,dw$ on $[0, T]$ (the documents' example; the SMLD SDE of Song's tutorial).

    Kernel $\mathcal N(x(0), \tfrac{\sigma^{2t} - 1}{2\log\sigma} I)$ (and $t I$ at $\sigma = 1$);
    prior: the kernel at $T$ from 0. **Arguments:** `sigma > 0`, `T > 0` (default 1).
    """

    sigma: ScalarLike
    T: ScalarLike

    def __init__(self, sigma: ScalarLike = 25.0, T: ScalarLike = 1.0):
        self.sigma = check_positive(sigma, "sigma", "PowerDiffusionSDE")
        self.T = check_positive(T, "T", "PowerDiffusionSDE")

    def drift_coeff(self, t: Times) -> Times:
        return jnp.zeros_like(jnp.asarray(t))

    def diffusion(self, t: Times) -> Times:
        return jnp.exp(self.check_time(t, "diffusion") * jnp.log(self.sigma))

    def unchecked_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        std = jnp.sqrt(expm1_ratio(2 * jnp.log(self.sigma), t))
        return jnp.ones_like(std), std

    @property
    def prior_std(self) -> ScalarLike:
        return self.unchecked_kernel(self.T)[1]


class ConstantDriftSDE(AbstractAffineSDE):
    r"""$dx = b\,dt + \sigma\,dw$ with a constant vector $b$ (the slides' 2-D example is
    `ConstantDriftSDE(b=jnp.array([1.0, 0.0]), sigma=0.1)`).

    Kernel $\mathcal N(x(0) + b t, \sigma^2 t I)$, so a Gaussian $p_0 = \mathcal N(\mu, \Sigma)$ has
    $p_t = \mathcal N(\mu + b t, \Sigma + \sigma^2 t I)$. Prior $\mathcal N(b T, \sigma^2 T I)$.
    **Arguments:** `b` of shape `(d,)`, `sigma > 0`, `T > 0` (default 1).
    """

    b: Vector
    sigma: ScalarLike
    T: ScalarLike

    def __init__(self, b: VectorLike, sigma: ScalarLike = 0.1, T: ScalarLike = 1.0):
        b = jnp.asarray(b)
        if b.ndim != 1:
            raise ValueError(f"ConstantDriftSDE: b must be a vector of shape (d,); got shape {b.shape}")
        self.b = check_finite_array(b, "b", "ConstantDriftSDE")
        self.sigma = check_positive(sigma, "sigma", "ConstantDriftSDE")
        self.T = check_positive(T, "T", "ConstantDriftSDE")

    def drift_coeff(self, t: Times) -> Times:
        return jnp.zeros_like(jnp.asarray(t))

    def drift_offset(self, t: ScalarLike) -> Vector:
        return self.b * jnp.ones_like(jnp.asarray(t))

    def diffusion(self, t: Times) -> Times:
        t = self.check_time(t, "diffusion")
        return tie(self.sigma * jnp.ones_like(jnp.asarray(t)), t)

    def unchecked_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        std = self.sigma * jnp.sqrt(t)
        return jnp.ones_like(std), std

    def unchecked_kernel_offset(self, t: ScalarLike) -> Vector:
        return self.b * t

    @property
    def prior_std(self) -> ScalarLike:
        return jnp.asarray(self.sigma * jnp.sqrt(self.T))
