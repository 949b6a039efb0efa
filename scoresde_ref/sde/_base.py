"""Abstract forward SDEs dx = f(x, t) dt + g(t) dw (Itô), time running forward on [0, T]."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Key, Scalar, ScalarLike, Times, Vector
from .._validation import check_time, tie


class AbstractSDE(eqx.Module):
    r"""A forward SDE $dx = f(x, t)\,dt + g(t)\,dw$ on $[0, T]$ with scalar diffusion $g$.

    000_cce368350850b628.txt §2.1. The perturbation kernel is only known in closed form for
    affine drifts (see `AbstractAffineSDE`).

    **To add an SDE**, subclass and implement (final class, all fields declared there):

    - the field `T` (the horizon);
    - `drift(x, t)`, the drift $f(x, t)$;
    - `diffusion(t)`, the scalar $g(t)$.

    `fokker_planck_residual` and the samplers then work with it.
    """

    T: eqx.AbstractVar[ScalarLike]

    @abc.abstractmethod
    def drift(self, x: Vector, t: ScalarLike) -> Vector:
        """The drift $f(x, t)$, an array shaped like `x`."""

    def check_time(self, t: Times, method: str = "", name: str = "t") -> Times:
        """Return `t`, failing (at once, or through `eqx.error_if` when traced) unless $0 \\le t \\le T$.

        Every public coefficient function (`drift`, `diffusion`, `kernel`, ...) calls it on its time; an
        SDE added by a user should do the same in its `drift` and `diffusion`.
        """
        owner = type(self).__name__ + (f".{method}" if method else "")
        return check_time(t, self.T, owner, name)

    @abc.abstractmethod
    def diffusion(self, t: Times) -> Times:
        """The (scalar) diffusion coefficient $g(t)$."""


class AbstractAffineSDE(AbstractSDE):
    r"""An SDE with affine drift, $dx = (a(t)\,x + b(t))\,dt + g(t)\,dw$.

    Its perturbation kernel is Gaussian and isotropic:
    $x(t) \mid x(0) \sim \mathcal N(m(t)\,x(0) + c(t),\ s(t)^2 I)$ with
    $m' = a m$, $c' = a c + b$, $(s^2)' = 2 a s^2 + g^2$, $m(0) = 1$, $c(0) = s(0) = 0$
    (derivations/forward_sdes.md).

    **To add an affine SDE**, subclass (or `AbstractLinearSDE` when $b = 0$) and implement the
    public hooks below; everything else (`drift`, `kernel`, `kernel_offset`, `kernel_mean`,
    `kernel_score`, `perturb`, the prior, `marginal`, `exact_score`) is derived from them:

    - the field `T`; `diffusion(t)`;
    - `drift_coeff(t)` $= a(t)$ and `drift_offset(t)` $= b(t)$;
    - `unchecked_kernel(t)` $= (m(t), s(t))$ and `unchecked_kernel_offset(t)` $= c(t)$, the closed
      forms for $0 \le t \le T$ (the public `kernel` and `kernel_offset` check the time domain, then
      call them);
    - the property `prior_std`.

    `AffineSDE(a, b, g)` computes the kernel hooks by quadrature: the independent route to test them.
    """

    @abc.abstractmethod
    def drift_coeff(self, t: Times) -> Times:
        """The scalar $a(t)$ multiplying $x$ in the drift."""

    @abc.abstractmethod
    def drift_offset(self, t: ScalarLike) -> Scalar | Vector:
        """The state-independent part $b(t)$ of the drift (a scalar 0 or a `(d,)` vector)."""

    @abc.abstractmethod
    def unchecked_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        """`(m(t), s(t))` in closed form for $0 \\le t \\le T$, without the time-domain check (call `kernel`)."""

    @abc.abstractmethod
    def unchecked_kernel_offset(self, t: ScalarLike) -> Scalar | Vector:
        """`c(t)` in closed form for $0 \\le t \\le T$, without the time-domain check (call `kernel_offset`)."""

    @property
    @abc.abstractmethod
    def prior_std(self) -> ScalarLike:
        """Standard deviation of the prior $\\pi = \\mathcal N(c(T), \\text{prior\\_std}^2 I)$."""

    # --- concrete API --------------------------------------------------------------------

    def drift(self, x: Vector, t: ScalarLike) -> Vector:
        t = self.check_time(t, "drift")
        # the coefficients (scalars, not the batch) carry the check: a = 0 (VE) does not read t's value
        a, b = tie((self.drift_coeff(t), self.drift_offset(t)), t)
        return a * x + b

    def kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        """`(mean_coeff, std)`: exactly
        $x(t) \\mid x(0) \\sim \\mathcal N(\\text{mean\\_coeff}\\,x(0) + c(t), \\text{std}^2 I)$.

        $c(t) =$ `kernel_offset(t)` is zero for every SDE whose drift is linear in $x$.
        Fails (at once, or through `eqx.error_if` under `jit`) unless $0 \\le t \\le T$.
        """
        return self.unchecked_kernel(self.check_time(t, "kernel"))

    def kernel_offset(self, t: ScalarLike) -> Scalar | Vector:
        """$c(t)$, the part of the kernel mean that does not depend on $x(0)$."""
        return self.unchecked_kernel_offset(self.check_time(t, "kernel_offset"))

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
        return self.unchecked_kernel_offset(self.T)

    def prior_sample(self, key: Key, shape: tuple[int, ...], dtype=None) -> jax.Array:
        """Draw from the prior $\\mathcal N(c(T), \\text{prior\\_std}^2 I)$; `shape` is `(n, d)` or `(d,)`."""
        z = jax.random.normal(key, shape, dtype=dtype or jnp.result_type(float))
        mean = jnp.reshape(self.prior_mean(), (1,) * (len(shape) - 1) + (-1,))  # broadcast without rank promotion
        return mean + self.prior_std * z

    def prior_log_prob(self, x: Vector) -> ScalarLike:
        """Log-density of the prior at one example `x` of shape `(d,)`."""
        d = x.shape[-1]
        z = (x - self.prior_mean()) / self.prior_std
        return -0.5 * jnp.sum(z**2) - d * jnp.log(self.prior_std) - 0.5 * d * jnp.log(2 * jnp.pi)


class AbstractLinearSDE(AbstractAffineSDE):
    """An affine SDE whose drift has no offset, $b(t) = 0$, so $c(t) = 0$: a subclass implements `T`,
    `diffusion`, `drift_coeff`, `unchecked_kernel` and `prior_std` (see `AbstractAffineSDE`)."""

    def drift_offset(self, t: Times) -> Times:
        return jnp.zeros_like(jnp.asarray(t))

    def unchecked_kernel_offset(self, t: Times) -> Times:
        return jnp.zeros_like(jnp.asarray(t))
