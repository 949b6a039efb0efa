"""Abstract discrete Gaussian Markov chains $x_i = a_i x_{i-1} + b_i z_i$ (the SMLD, DDPM and
autoregressive OU chains of 000_cce368350850b628.txt §2.3 and 001_cbf75b2ce1966cfb.txt)."""

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Array, Key, Scalar, Vector
from .._validation import check, check_integer
from .._validation import check_index as _check_index


def check_index(i, n_steps: int, owner: str, lowest: int = 0, name: str = "i"):
    """Return the chain index `i`, failing unless it is an integer with `lowest <= i <= n_steps` (eagerly or
    through `eqx.error_if` when traced); a float index is refused, an index out of range never clamped."""
    return _check_index(i, name, owner, minimum=lowest, maximum=n_steps)


def check_n_steps(n_steps, owner: str, lowest: int = 1) -> int:
    """Return `n_steps` as an int, failing unless it is an integer >= `lowest` (static: it sets shapes)."""
    return check_integer(n_steps, "n_steps", owner, minimum=lowest)


def check_schedule(values, ok, owner: str, name: str, allowed: str):
    """Validate a 1-D schedule array: non-empty, finite, and `ok` elementwise."""
    values = jnp.asarray(values)
    if values.ndim != 1 or values.shape[0] < 1:
        raise ValueError(f"{owner}: {name} must be a non-empty 1-D array; got shape {values.shape}")
    return check(values, ok(values) & jnp.isfinite(values), f"{owner}: {name} must {allowed}")


class AbstractChain(eqx.Module):
    r"""A Gaussian Markov chain with scalar coefficients,
    $x_i = a_i\,x_{i-1} + b_i\,z_i$, $z_i \sim \mathcal N(0, I)$ i.i.d., $i = 1, \dots, N$.

    Its kernel is exactly $x_i \mid x_0 \sim \mathcal N(m_i x_0, s_i^2 I)$ with
    $m_i = \prod_{j \le i} a_j$ and $s_i^2 = a_i^2 s_{i-1}^2 + b_i^2$, $m_0 = 1$, $s_0 = 0$.
    Subclasses give the coefficients and the kernel in closed form (derivations/chains.md);
    `scoresde_ref.propagate_moments` gives the recursion, an independent second route.

    **Indices.** Step $i$ maps $x_{i-1}$ to $x_i$ and uses the noise $z_i$, for $i = 1, \dots, N$.

    **To add a chain**, subclass (final class, fields declared there) and implement `coefficients`,
    `drift_coefficients`, `kernels`, `n_steps` and `reverse_kernel`; `discretize` and the samplers reach
    a chain only through these methods.
    """

    @abc.abstractmethod
    def coefficients(self) -> tuple[Array, Array]:
        """`(a, b)`, two arrays of shape `(N,)`: `a[i - 1]` $= a_i$, `b[i - 1]` $= b_i$."""

    @abc.abstractmethod
    def drift_coefficients(self) -> Array:
        r"""$a_i - 1$, shape `(N,)`, computed without the cancellation of `coefficients()[0] - 1` (the drift
        $f_i(x) = (a_i - 1)x$ of the chain written as a discretization, `chains/_discretize.py`)."""

    @abc.abstractmethod
    def reverse_kernel(self, x: Vector, i, score_fn: Callable) -> tuple[Vector, Scalar]:
        r"""`(mean, std)` of the chain's reverse (ancestral) step $x_{i-1} \mid x_i$ = `x`, $i = N, \dots, 1$, with
        `score_fn(x, j)` the score at the chain's index $j$ (each chain names which $j$ it calls)."""

    @abc.abstractmethod
    def kernels(self) -> tuple[Array, Array]:
        """`(mean_coeff, std)`, two arrays of shape `(N + 1,)` indexed by $i = 0, \\dots, N$ (closed form)."""

    @property
    @abc.abstractmethod
    def n_steps(self) -> int:
        """The number of steps $N$ (static)."""

    # --- concrete API --------------------------------------------------------------------

    def kernel(self, i) -> tuple[Scalar, Scalar]:
        """`(mean_coeff, std)`: exactly $x_i \\mid x_0 \\sim \\mathcal N(\\text{mean\\_coeff}\\,x_0, \\text{std}^2 I)$.

        `i` is an integer in $\\{0, \\dots, N\\}$ (may be traced); $i = 0$ gives `(1, 0)`.
        """
        i = check_index(i, self.n_steps, f"{type(self).__name__}.kernel")
        mean_coeff, std = self.kernels()
        return mean_coeff[i], std[i]

    def step(self, x: Vector, i, z: Vector) -> Vector:
        """One forward step: $x_i = a_i x_{i-1} + b_i z_i$ from `x` $= x_{i-1}$ and `z` $= z_i$, $1 \\le i \\le N$."""
        i = self.check_step(i, "step")
        a, b = self.coefficients()
        return a[i - 1] * x + b[i - 1] * z

    def reverse_step(self, x: Vector, i, score_fn: Callable, z: Vector) -> Vector:
        """One reverse step $x_{i-1}$ = mean + std $z_i$ of `reverse_kernel(x, i, score_fn)`, `z` $= z_i$ given."""
        mean, std = self.reverse_kernel(x, self.check_step(i, "reverse_step"), score_fn)
        return mean + std * z

    def check_step(self, i, method: str):
        """The step index `i`, failing unless it is an integer in $\\{1, \\dots, N\\}$ (step $i$ maps $x_{i-1}$ to
        $x_i$; there is no step 0, and `a[i - 1]` at $i = 0$ would silently read step $N$)."""
        return check_index(i, self.n_steps, f"{type(self).__name__}.{method}", lowest=1)

    def perturb(self, key: Key, x0: Vector, i) -> Vector:
        """Draw $x_i \\sim p(x_i \\mid x_0)$ exactly, in one shot: $m_i x_0 + s_i z$."""
        mean_coeff, std = self.kernel(i)
        return mean_coeff * x0 + std * jax.random.normal(key, jnp.shape(x0), dtype=jnp.result_type(x0))
