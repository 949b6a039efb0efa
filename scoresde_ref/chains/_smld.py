"""The SMLD Markov chain and its VE SDE limit (000_cce368350850b628.txt §2.3 eq. (6) and appendix C;
002_686d39656702d14a.txt "Variance exploding SDEs (SMLD)", "SDE in the wild (SMLD)")."""

from collections.abc import Callable

import jax.numpy as jnp

from .._custom_types import Array, Scalar, Vector
from .._validation import check
from ._base import AbstractChain, check_n_steps, check_schedule


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

    **Arguments:** `sigmas` $= (\sigma_1, \dots, \sigma_N)$, positive and strictly increasing;
    `step_log_ratio`, optional: for a geometric schedule, the constant $\log(\sigma_i/\sigma_{i-1})$, $i \ge 2$.

    **Stored gaps.** The chain keeps `gaps` $= 1 - \sigma_{i-1}^2/\sigma_i^2$ (derivable from `sigmas`, stored
    once at construction) because the step std $b_i = \sigma_i\sqrt{\text{gap}_i}$ needs the small gap to
    relative accuracy: from the sigmas it is $(1-\rho)(1+\rho)$, $\rho = \sigma_{i-1}/\sigma_i$ (one rounding
    in $\rho$); for a geometric schedule, $-\mathrm{expm1}(-2\,\text{step\_log\_ratio})$, accurate in float32
    even where float32 sigmas no longer resolve $\sigma_i - \sigma_{i-1}$ (`geometric`, `discretize`).
    """

    sigmas: Array
    gaps: Array

    def __init__(self, sigmas, *, step_log_ratio=None):
        sigmas = check_schedule(sigmas, lambda s: s > 0, "SMLDChain", "sigmas", "be > 0")
        self.sigmas = check(sigmas, jnp.all(jnp.diff(sigmas) > 0), "SMLDChain: sigmas must be strictly increasing")
        if step_log_ratio is None:
            rho = self.sigmas[:-1] / self.sigmas[1:]
            rest = (1 - rho) * (1 + rho)
        else:
            rest = jnp.broadcast_to(-jnp.expm1(-2 * jnp.asarray(step_log_ratio)), self.sigmas.shape[:1])[1:]
        self.gaps = jnp.concatenate([jnp.ones((1,), self.sigmas.dtype), rest.astype(self.sigmas.dtype)])

    @classmethod
    def geometric(cls, n_steps: int, sigma_min=0.01, sigma_max=50.0) -> "SMLDChain":
        r"""$\sigma_i = \sigma_{\min}(\sigma_{\max}/\sigma_{\min})^{(i-1)/(N-1)}$, $i = 1, \dots, N$
        (002 "SDE in the wild" L776; the reference code): `VESDE(sigma_min, sigma_max).sigma((i-1)/(N-1))`.
        """
        n_steps = check_n_steps(n_steps, "SMLDChain.geometric", 2)
        log_min, log_max = jnp.log(sigma_min), jnp.log(sigma_max)
        return cls(jnp.exp(jnp.linspace(log_min, log_max, n_steps)), step_log_ratio=(log_max - log_min) / (n_steps - 1))

    @property
    def n_steps(self) -> int:
        return self.sigmas.shape[0]

    def coefficients(self) -> tuple[Array, Array]:
        # b_i = sqrt(σ_i² - σ_{i-1}²) = σ_i sqrt(gap_i) (class docstring), σ_0 = 0 (gap_1 = 1).
        return jnp.ones_like(self.sigmas), self.sigmas * jnp.sqrt(self.gaps)

    def drift_coefficients(self) -> Array:
        return jnp.zeros_like(self.sigmas)

    def kernels(self) -> tuple[Array, Array]:
        std = jnp.concatenate([jnp.zeros((1,), self.sigmas.dtype), self.sigmas])
        return jnp.ones_like(std), std

    def reverse_kernel(self, x: Vector, i, score_fn: Callable) -> tuple[Vector, Scalar]:
        r"""Ancestral step, the exact reverse kernel of the SMLD chain for Gaussian data:
        $x_{i-1} = x_i + (\sigma_i^2 - \sigma_{i-1}^2)\,s(x_i, i) +
        \sqrt{\sigma_{i-1}^2(\sigma_i^2 - \sigma_{i-1}^2)/\sigma_i^2}\,z$
        ($\sigma_0 = 0$: the last step adds no noise). `score_fn(x, i)` approximates $\nabla\log p_i$.
        """
        i = self.check_step(i, "reverse_kernel")
        sigma2, b2 = self.sigmas[i - 1] ** 2, self.coefficients()[1][i - 1] ** 2
        return x + b2 * score_fn(x, i), jnp.sqrt((sigma2 - b2) * b2 / sigma2)
