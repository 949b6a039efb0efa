"""The SMLD Markov chain and its VE SDE limit (000_cce368350850b628.txt §2.3 eq. (6) and appendix C;
002_686d39656702d14a.txt "Variance exploding SDEs (SMLD)", "SDE in the wild (SMLD)")."""

import jax.numpy as jnp

from ._base import AbstractChain, check_n_steps, check_schedule
from .._custom_types import Array
from .._validation import check


class SMLDChain(AbstractChain):
    r"""SMLD chain $x_i = x_{i-1} + \sqrt{\sigma_i^2 - \sigma_{i-1}^2}\,z_i$, $i = 1, \dots, N$, $\sigma_0 = 0$.

    **Kernel** (000 eq. (6)): the increments telescope, $x_i \mid x_0 \sim \mathcal N(x_0, \sigma_i^2 I)$.

    **SDE limit** (000 appendix C — whose title says "VP" but means the VE SDE; 002 L742–764):
    with $\sigma(t_i) = \sigma_i$ the chain discretizes $dx = \sqrt{d\sigma^2/dt}\,dw$ (`VESDE`).
    Because $\sigma_0 = 0$ but $\sigma_1 = \sigma_{\min}$, the first step adds noise $\sigma_{\min}$ at once
    (002 "SDE in the wild": $\sigma(0) = 0 \ne \sigma(0^+)$): the chain's kernel converges to
    `VESDE.reference_kernel` (std $\sigma(t)$), and differs from the exact `VESDE.kernel`
    (variance $\sigma(t)^2 - \sigma_{\min}^2$) by exactly $\sigma_{\min}^2$ in variance, for every $N$
    (derivations/chains.md §SMLD).

    **Arguments:** `sigmas` $= (\sigma_1, \dots, \sigma_N)$, positive and strictly increasing.
    """

    sigmas: Array

    def __init__(self, sigmas):
        sigmas = check_schedule(sigmas, lambda s: s > 0, "SMLDChain", "sigmas", "be > 0")
        self.sigmas = check(sigmas, jnp.all(jnp.diff(sigmas) > 0), "SMLDChain: sigmas must be strictly increasing")

    @classmethod
    def geometric(cls, n_steps: int, sigma_min=0.01, sigma_max=50.0) -> "SMLDChain":
        r"""$\sigma_i = \sigma_{\min}(\sigma_{\max}/\sigma_{\min})^{(i-1)/(N-1)}$, $i = 1, \dots, N$
        (002 "SDE in the wild" L776; the reference code): `VESDE(sigma_min, sigma_max).sigma((i-1)/(N-1))`.
        """
        n_steps = check_n_steps(n_steps, "SMLDChain.geometric", 2)
        return cls(jnp.exp(jnp.linspace(jnp.log(sigma_min), jnp.log(sigma_max), n_steps)))

    @property
    def n_steps(self) -> int:
        return self.sigmas.shape[0]

    def coefficients(self) -> tuple[Array, Array]:
        # sqrt(σ_i² - σ_{i-1}²) = σ_i sqrt((1 - ρ)(1 + ρ)), ρ = σ_{i-1}/σ_i: one rounding in ρ.
        rho = jnp.concatenate([jnp.zeros((1,), self.sigmas.dtype), self.sigmas[:-1] / self.sigmas[1:]])
        return jnp.ones_like(self.sigmas), self.sigmas * jnp.sqrt((1 - rho) * (1 + rho))

    def kernels(self) -> tuple[Array, Array]:
        std = jnp.concatenate([jnp.zeros((1,), self.sigmas.dtype), self.sigmas])
        return jnp.ones_like(std), std
