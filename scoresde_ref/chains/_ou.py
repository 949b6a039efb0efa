"""The autoregressive Ornstein–Uhlenbeck chain of 001_cbf75b2ce1966cfb.txt ("El Proceso Forward",
"Denoising Score matching", "Ornstein-Uhlenbeck y discretización")."""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._custom_types import Array, Scalar, Vector
from .._validation import tie
from ._base import AbstractChain, check_index, check_n_steps, check_schedule


class OUChain(AbstractChain):
    r"""Euler–Maruyama chain of $dX = -X\,dt + \sqrt2\,dB$ (001 "El Proceso Forward"):
    $X_{k+1} = (1 - \gamma_k) X_k + \sqrt{2\gamma_k}\,Z_{k+1}$, $k = 0, \dots, N - 1$.

    **Kernel** (001 "Denoising Score matching"): $X_k \mid X_0 \sim \mathcal N(m_k X_0, \sigma_k^2 I)$ with
    $m_k = \prod_{j<k}(1 - \gamma_j)$ and $\sigma_{k+1}^2 = (1-\gamma_k)^2\sigma_k^2 + 2\gamma_k$; for a constant step,
    $m_k = (1-\gamma)^k$ and $\sigma_k^2 = (1 - (1-\gamma)^{2k})/(1 - \gamma/2)$, whose limit
    $1/(1 - \gamma/2)$ is the stationary variance (`stationary_variance`), not the OU's 1.

    **Time change** (001 "Ornstein-Uhlenbeck y discretización"): $X_k$ sits at OU time
    $t_k = \sum_{j<k}\gamma_j$ (`times`); as $\max_k\gamma_k \to 0$ the kernel tends to the OU kernel
    $\mathcal N(e^{-t_k}X_0, (1 - e^{-2t_k}) I)$ at order 1 (derivations/chains.md §OU).

    **Indices.** In the common chain notation, step $i = k + 1$ has $a_i = 1 - \gamma_{i-1}$,
    $b_i = \sqrt{2\gamma_{i-1}}$.

    **Arguments:** `gamma`, a scalar step (then `n_steps` is required) or a 1-D array
    $(\gamma_0, \dots, \gamma_{N-1})$; every $\gamma_k \in (0, 2)$ (so $|1 - \gamma_k| < 1$: 001 L468's
    "$\alpha < 1$" must be $|\alpha| < 1$).
    """

    gammas: Array

    def __init__(self, gamma, n_steps: int | None = None):
        gamma = jnp.asarray(gamma)
        if gamma.ndim == 0:
            if n_steps is None:
                raise ValueError("OUChain: n_steps is required when gamma is a scalar")
            gamma = jnp.full((check_n_steps(n_steps, "OUChain"),), gamma)
        elif n_steps is not None and gamma.shape[0] != n_steps:
            raise ValueError(f"OUChain: n_steps = {n_steps} but gamma has {gamma.shape[0]} entries")
        self.gammas = check_schedule(gamma, lambda g: (g > 0) & (g < 2), "OUChain", "gamma", "lie in (0, 2)")

    @classmethod
    def linear(cls, n_steps: int, gamma_min, gamma_max) -> "OUChain":
        r"""$\gamma_k = \gamma_{\min} + (\gamma_{\max} - \gamma_{\min})\,k/(N-1)$, $k = 0, \dots, N-1$: the smallest
        step at the data end $k = 0$, as the VP SDE of Song et al. (2020b) with $\gamma_k \approx \beta(t)/(2N)$.
        001 L906 writes $(N - k)/N$, which puts $\gamma_{\max}$ at the data end (derivations/chains.md).
        """
        n_steps = check_n_steps(n_steps, "OUChain.linear", 2)
        return cls(gamma_min + (gamma_max - gamma_min) * jnp.linspace(0.0, 1.0, n_steps))

    @property
    def n_steps(self) -> int:
        return self.gammas.shape[0]

    @property
    def times(self) -> Array:
        r"""$t_k = \sum_{j<k}\gamma_j$ for $k = 0, \dots, N$, shape `(N + 1,)`."""
        return jnp.concatenate([jnp.zeros((1,), self.gammas.dtype), jnp.cumsum(self.gammas)])

    def coefficients(self) -> tuple[Array, Array]:
        return 1 - self.gammas, jnp.sqrt(2 * self.gammas)

    def kernels(self) -> tuple[Array, Array]:
        a, b = self.coefficients()
        var = _variance_recursion(a, b)
        zero = jnp.zeros((1,), a.dtype)
        # |m_k| = exp(Σ log|1 - γ_j|), log1p where γ < 1 (accurate for small steps); sign (-1)^{#γ_j > 1}.
        log_abs = jnp.where(
            self.gammas < 1, jnp.log1p(-jnp.where(self.gammas < 1, self.gammas, 0.0)), jnp.log(jnp.abs(a))
        )
        sign = jnp.cumprod(jnp.sign(a))
        mean_coeff = jnp.concatenate([jnp.ones((1,), a.dtype), sign * jnp.exp(jnp.cumsum(log_abs))])
        return mean_coeff, jnp.sqrt(jnp.concatenate([zero, var]))

    def stationary_variance(self) -> Scalar:
        r"""$1/(1 - \gamma/2)$ for the last step $\gamma = \gamma_{N-1}$: the fixed point of
        $v = (1-\gamma)^2 v + 2\gamma$, the variance the chain approaches if that step is repeated."""
        return 1 / (1 - self.gammas[-1] / 2)

    def backward_kernel(self, x_next: Vector, k, score: Vector) -> tuple[Vector, Scalar]:
        r"""001's approximation $p_{k|k+1}(\cdot \mid x_{k+1}) \approx
        \mathcal N(x_{k+1} + \gamma_k\{x_{k+1} + 2\nabla\log p_k(x_{k+1})\}, 2\gamma_k I)$; returns `(mean, std)`.

        `score` is $\nabla\log p_k(x_{k+1})$ (the score of the law of $X_k$, evaluated at $x_{k+1}$).
        """
        k = check_index(k, self.n_steps - 1, "OUChain.backward_kernel", name="k")
        gamma = self.gammas[k]
        return tie(x_next + gamma * (x_next + 2 * score), k), tie(jnp.sqrt(2 * gamma), k)

    def drift_coefficients(self) -> Array:
        r"""$a_{k+1} - 1 = -\gamma_k$."""
        return -self.gammas

    def reverse_kernel(self, x: Vector, i, score_fn: Callable) -> tuple[Vector, Scalar]:
        r"""Backward step of 001, $i = k + 1 = N, \dots, 1$:
        $X_k = X_{k+1} + \gamma_k\{X_{k+1} + 2 s(X_{k+1}, k)\} + \sqrt{2\gamma_k}\,Z$ (`backward_kernel`).

        `score_fn(x, k)` approximates $\nabla\log p_k$; it is called with `k = i - 1`.
        """
        i = self.check_step(i, "reverse_kernel")
        return self.backward_kernel(x, i - 1, score_fn(x, i - 1))


@jax.jit
def _variance_recursion(a, b):
    r"""$v_k = a_k^2 v_{k-1} + b_k^2$, $v_0 = 0$, for $k = 1, \dots, N$ (one scan; jit-cached per shape)."""
    step = lambda v, ab: ((ab[0] ** 2 * v + ab[1] ** 2),) * 2  # noqa: E731
    return jax.lax.scan(step, jnp.zeros((), a.dtype), (a, b))[1]
