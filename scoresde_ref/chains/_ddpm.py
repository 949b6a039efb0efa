"""The DDPM Markov chain and its VP SDE limit (000_cce368350850b628.txt §2.3, appendices B and D;
002_686d39656702d14a.txt "Variance preserving SDEs (DDPM)")."""

from collections.abc import Callable

import jax.numpy as jnp
from jaxtyping import ArrayLike, Float

from .._custom_types import Array, Scalar, Vector
from ._base import AbstractChain, check_n_steps, check_schedule


class DDPMChain(AbstractChain):
    r"""DDPM chain $x_i = \sqrt{1 - \beta_i}\,x_{i-1} + \sqrt{\beta_i}\,z_i$, $i = 1, \dots, N$.

    **Kernel** (000 appendix B; 002 "Denoising diffusion probabilistic models"):
    $x_i \mid x_0 \sim \mathcal N(\sqrt{\bar\alpha_i}\,x_0, (1 - \bar\alpha_i) I)$ with
    $\bar\alpha_i = \prod_{j \le i} (1 - \beta_j)$. 000 writes $\alpha_i$ for this product; we
    follow DDPM and 002: $\alpha_i = 1 - \beta_i$, $\bar\alpha_i$ = `alphas_cumprod`.
    $\log\bar\alpha_i$ is a cumulative sum of `log1p(-beta)`, the std is
    $\sqrt{-\mathrm{expm1}(\log\bar\alpha_i)}$: both stay accurate in float32 for $\beta_i \sim 10^{-5}$.

    **SDE limit** (000 appendix D — whose title says "VE" but means the VP SDE; 002 L801–829):
    with $\bar\beta_i = N\beta_i$ (`beta_bar`) and $\beta(t_i) \approx \bar\beta_i$, the chain is a
    discretization of $dx = -\tfrac12\beta(t)x\,dt + \sqrt{\beta(t)}\,dw$ (`VPSDE`). Time of
    $x_i$: $t_i = i/N$ (the documents' map $x(i/N) = x_i$). `DDPMChain.linear` samples
    $\beta(t)$ at $(i-1)/(N-1)$ (the reference code); both maps converge at order 1
    (derivations/chains.md §DDPM).

    **Arguments:** `betas`, a 1-D array with every $\beta_i \in (0, 1)$.
    """

    betas: Array

    def __init__(self, betas):
        self.betas = check_schedule(betas, lambda b: (b > 0) & (b < 1), "DDPMChain", "betas", "lie in (0, 1)")

    @classmethod
    def linear(cls, n_steps: int, beta_min=0.1, beta_max=20.0) -> "DDPMChain":
        r"""The reference-code schedule $\beta_i = \bar\beta_i / N$,
        $\bar\beta_i = \beta_{\min} + (\beta_{\max} - \beta_{\min})\frac{i-1}{N-1}$: `VPSDE(beta_min, beta_max)`'s
        $\beta(t)$ sampled at $t = (i-1)/(N-1)$ (defaults: 000 §2.3). Needs $\beta_{\max} < N$.
        """
        n_steps = check_n_steps(n_steps, "DDPMChain.linear", 2)
        frac = jnp.linspace(0.0, 1.0, n_steps)
        return cls((beta_min + (beta_max - beta_min) * frac) / n_steps)

    @classmethod
    def cosine(cls, n_steps: int, s=0.008, max_beta=0.999) -> "DDPMChain":
        r"""Nichol & Dhariwal (2021): $\beta_i = \min(1 - \bar\alpha(i/N)/\bar\alpha((i-1)/N), \beta_{\max})$
        with $\bar\alpha(t) = f(t)/f(0)$, $f(t) = \cos^2\!\big(\tfrac{t + s}{1 + s}\tfrac{\pi}{2}\big)$
        (see `cosine_alpha_bar`).
        Without the clip, $\bar\alpha_i = \bar\alpha(i/N)$ exactly (the product telescopes).
        """
        n_steps = check_n_steps(n_steps, "DDPMChain.cosine", 1)
        log_ab = cosine_log_alpha_bar(jnp.linspace(0.0, 1.0, n_steps + 1), s)
        return cls(jnp.minimum(-jnp.expm1(log_ab[1:] - log_ab[:-1]), max_beta))

    @property
    def n_steps(self) -> int:
        return self.betas.shape[0]

    @property
    def log_alphas_cumprod(self) -> Array:
        r"""$\log\bar\alpha_i = \sum_{j \le i} \mathrm{log1p}(-\beta_j)$ for $i = 1, \dots, N$, shape `(N,)`."""
        return jnp.cumsum(jnp.log1p(-self.betas))

    @property
    def alphas_cumprod(self) -> Array:
        r"""$\bar\alpha_i = \prod_{j \le i}(1 - \beta_j)$ for $i = 1, \dots, N$, shape `(N,)`."""
        return jnp.exp(self.log_alphas_cumprod)

    @property
    def beta_bar(self) -> Array:
        r"""$\bar\beta_i = N\beta_i$, the values that $\beta(t)$ of the VP SDE takes in the limit."""
        return self.n_steps * self.betas

    def coefficients(self) -> tuple[Array, Array]:
        return jnp.sqrt(1 - self.betas), jnp.sqrt(self.betas)

    def kernels(self) -> tuple[Array, Array]:
        log_ab = jnp.concatenate([jnp.zeros((1,), self.betas.dtype), self.log_alphas_cumprod])
        return jnp.exp(0.5 * log_ab), jnp.sqrt(-jnp.expm1(log_ab))

    def drift_coefficients(self) -> Array:
        r"""$\sqrt{1 - \beta_i} - 1 = \mathrm{expm1}(\tfrac12\mathrm{log1p}(-\beta_i))$ (accurate for small
        $\beta_i$)."""
        return jnp.expm1(0.5 * jnp.log1p(-self.betas))

    def reverse_kernel(self, x: Vector, i, score_fn: Callable) -> tuple[Vector, Scalar]:
        r"""Ancestral step of 000 appendix B (and 002 "DDPM"), $i = N, \dots, 1$:
        $x_{i-1} = \frac{1}{\sqrt{1 - \beta_i}}\big(x_i + \beta_i\,s(x_i, i)\big) + \sqrt{\beta_i}\,z_i$.

        `score_fn(x, i)` approximates $\nabla\log p_i$, the score of the law of $x_i$. The one
        formula of this step: the `Ancestral` predictor calls it too (`samplers/_predictors.py`).
        """
        beta = self.betas[self.check_step(i, "reverse_kernel") - 1]
        return (x + beta * score_fn(x, i)) / jnp.sqrt(1 - beta), jnp.sqrt(beta)


def cosine_log_alpha_bar(t: Float[ArrayLike, "*t"], s: float = 0.008) -> Float[Array, "*t"]:
    r"""$\log\bar\alpha(t) = 2\log\cos\big(\tfrac{t+s}{1+s}\tfrac\pi2\big) -
    2\log\cos\big(\tfrac{s}{1+s}\tfrac\pi2\big)$ (Nichol & Dhariwal 2021).

    Evaluated as $\cos\big(\tfrac{t+s}{1+s}\tfrac\pi2\big) = \sin\big(\tfrac{1-t}{1+s}\tfrac\pi2\big)$: exactly $0$ at
    $t = 1$ ($\log\bar\alpha = -\infty$, so $\beta_N$ is the clip), where the cosine of a rounded $\pi/2$ is
    $-4\cdot10^{-8}$ in float32 (a NaN logarithm) and loses all relative accuracy near $t = 1$ in any precision.
    """
    cos_angle = lambda u: jnp.sin((1 - u) / (1 + s) * (jnp.pi / 2))  # noqa: E731
    return 2 * (jnp.log(cos_angle(t)) - jnp.log(cos_angle(0.0)))
