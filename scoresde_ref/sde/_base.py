"""Abstract forward SDEs dx = f(x, t) dt + g(t) dw (Itô), time running forward on [0, T]."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Key, Scalar, ScalarLike, Vector
from .._validation import check_time


class AbstractSDE(eqx.Module):
    r"""A forward SDE $dx = f(x, t)\,dt + g(t)\,dw$ on $[0, T]$ with scalar diffusion $g$.

    000_cce368350850b628.txt §2.1. Subclasses give the drift and diffusion; the
    perturbation kernel is only known in closed form for affine drifts
    (see `AbstractAffineSDE`).
    """

    T: eqx.AbstractVar[ScalarLike]

    @abc.abstractmethod
    def drift(self, x: Vector, t: ScalarLike) -> Vector:
        """The drift $f(x, t)$, an array shaped like `x`."""

    @abc.abstractmethod
    def diffusion(self, t: ScalarLike) -> Scalar:
        """The (scalar) diffusion coefficient $g(t)$."""


class AbstractAffineSDE(AbstractSDE):
    r"""An SDE with affine drift, $dx = (a(t)\,x + b(t))\,dt + g(t)\,dw$.

    Its perturbation kernel is Gaussian and isotropic:
    $x(t) \mid x(0) \sim \mathcal N(m(t)\,x(0) + c(t),\ s(t)^2 I)$ with
    $m' = a m$, $c' = a c + b$, $(s^2)' = 2 a s^2 + g^2$, $m(0) = 1$, $c(0) = s(0) = 0$
    (derivations/forward_sdes.md).
    """

    @abc.abstractmethod
    def drift_coeff(self, t: ScalarLike) -> Scalar:
        """The scalar $a(t)$ multiplying $x$ in the drift."""

    @abc.abstractmethod
    def drift_offset(self, t: ScalarLike) -> Scalar | Vector:
        """The state-independent part $b(t)$ of the drift (a scalar 0 or a `(d,)` vector)."""

    @abc.abstractmethod
    def _kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        """`(m(t), s(t))` without the time-domain check."""

    @abc.abstractmethod
    def _kernel_offset(self, t: ScalarLike) -> Scalar | Vector:
        """`c(t)` without the time-domain check."""

    @property
    @abc.abstractmethod
    def prior_std(self) -> Scalar:
        """Standard deviation of the prior $\\pi = \\mathcal N(c(T), \\text{prior\\_std}^2 I)$."""

    # --- concrete API --------------------------------------------------------------------

    def drift(self, x: Vector, t: ScalarLike) -> Vector:
        return self.drift_coeff(t) * x + self.drift_offset(t)

    def kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        """`(mean_coeff, std)`: exactly $x(t) \\mid x(0) \\sim \\mathcal N(\\text{mean\\_coeff}\\,x(0) + c(t), \\text{std}^2 I)$.

        $c(t) =$ `kernel_offset(t)` is zero for every SDE whose drift is linear in $x$.
        Fails (at once, or through `eqx.error_if` under `jit`) unless $0 \\le t \\le T$.
        """
        return self._kernel(check_time(t, self.T, type(self).__name__))

    def kernel_offset(self, t: ScalarLike) -> Scalar | Vector:
        """$c(t)$, the part of the kernel mean that does not depend on $x(0)$."""
        return self._kernel_offset(check_time(t, self.T, type(self).__name__))

    def kernel_mean(self, x0: Vector, t: ScalarLike) -> Vector:
        """$E[x(t) \\mid x(0) = x_0] = m(t)\\,x_0 + c(t)$."""
        mean_coeff, _ = self.kernel(t)
        return mean_coeff * x0 + self.kernel_offset(t)

    def kernel_score(self, xt: Vector, x0: Vector, t: ScalarLike) -> Vector:
        """$\\nabla_{x_t} \\log p_{0t}(x_t \\mid x_0) = -(x_t - m x_0 - c)/s^2$."""
        _, std = self.kernel(t)
        return -(xt - self.kernel_mean(x0, t)) / std**2

    def perturb(self, key: Key, x0: Vector, t: ScalarLike) -> Vector:
        """Draw $x(t) \\sim p_{0t}(\\cdot \\mid x_0)$ exactly: $m x_0 + c + s z$, $z \\sim \\mathcal N(0, I)$."""
        _, std = self.kernel(t)
        z = jax.random.normal(key, jnp.shape(x0), dtype=jnp.result_type(x0))
        return self.kernel_mean(x0, t) + std * z

    def prior_mean(self) -> Scalar | Vector:
        """Mean of the prior, $c(T)$ (zero for linear drifts)."""
        return self._kernel_offset(self.T)

    def prior_sample(self, key: Key, shape: tuple[int, ...], dtype=None) -> jax.Array:
        """Draw from the prior $\\mathcal N(c(T), \\text{prior\\_std}^2 I)$; `shape` is `(n, d)` or `(d,)`."""
        z = jax.random.normal(key, shape, dtype=dtype or jnp.result_type(float))
        mean = jnp.reshape(self.prior_mean(), (1,) * (len(shape) - 1) + (-1,))  # broadcast without rank promotion
        return mean + self.prior_std * z

    def prior_log_prob(self, x: Vector) -> Scalar:
        """Log-density of the prior at one example `x` of shape `(d,)`."""
        d = x.shape[-1]
        z = (x - self.prior_mean()) / self.prior_std
        return -0.5 * jnp.sum(z**2) - d * jnp.log(self.prior_std) - 0.5 * d * jnp.log(2 * jnp.pi)


class AbstractLinearSDE(AbstractAffineSDE):
    """An affine SDE whose drift has no offset, $b(t) = 0$, so $c(t) = 0$."""

    def drift_offset(self, t: ScalarLike) -> Scalar:
        return jnp.zeros_like(jnp.asarray(t))

    def _kernel_offset(self, t: ScalarLike) -> Scalar:
        return jnp.zeros_like(jnp.asarray(t))
