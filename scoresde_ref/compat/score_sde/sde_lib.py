r"""Twin of score_sde_pytorch's `sde_lib.py`: `SDE`, `VPSDE`, `subVPSDE`, `VESDE` and the reverse SDE, computed from
`scoresde_ref.sde` (kernels, drifts) and `scoresde_ref.chains` (the DDPM / SMLD discretizations).

Same names, arguments, defaults and attributes as the library (`beta_min`, `beta_max`, `N` / `sigma_min`,
`sigma_max`, `N`; `T`, `N`, `beta_0`, `beta_1`, `discrete_betas`, `alphas`, `alphas_cumprod`,
`sqrt_alphas_cumprod`, `sqrt_1m_alphas_cumprod`, `discrete_sigmas`), batch-first arrays of any trailing shape
(the library's `[:, None, None, None]` needs 4-D images; here any `(n, ...)` works), `t` a vector `(n,)`
(a scalar is repeated). Conventions (derivations/compat.md, "score_sde"):

- `marginal_prob` of `VESDE` has std $\sigma(t)$ (`VESDE.reference_kernel`), not the exact
  $\sqrt{\sigma(t)^2 - \sigma_{\min}^2}$ of `scoresde_ref.VESDE.kernel`.
- `discretize` reads noise level `timestep = floor(t (N-1)/T)` (0-based), i.e. chain index `timestep + 1` of
  `scoresde_ref.discretize(sde, N)`: $x_{i} = \sqrt{1-\beta_i}x_{i-1} + \sqrt{\beta_i}z$ (VP, DDPM) and
  $x_i = x_{i-1} + \sqrt{\sigma_i^2 - \sigma_{i-1}^2}z$, $\sigma_0 = 0$ (VE, SMLD); `subVPSDE` uses the base class's
  Euler–Maruyama form at the continuous $t$ with $dt = 1/N$.
- `prior_sampling(shape, *, noise)` takes the library's `torch.randn(*shape)` draw as `noise`.

**Precision.** `dtype=np.float64` (default) is the library run with `torch.set_default_dtype(torch.float64)`. With
`dtype=np.float32` the schedules are the float64 values rounded once (torch's float32 `linspace` and `cumprod`
may differ by a few ULP, ~1e-7 relative) and every step runs in float32.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ...chains._discretize import DDPMDiscretization, SMLDDiscretization
from ...sde._base import AbstractSDE
from ...sde._reverse import probability_flow_drift, reverse_drift
from ...sde._ve import VESDE as _VESDE
from ...sde._vp import VPSDE as _VPSDE
from ...sde._vp import SubVPSDE as _SubVPSDE
from ._arrays import as_batch, batch_times, check_dtype, flat, per_example

__all__ = ["SDE", "VPSDE", "subVPSDE", "VESDE"]


class ContinuousEulerDiscretization(eqx.Module):
    r"""The library's default `SDE.discretize`: $f = f(x, t)\,dt$, $G = g(t)\sqrt{dt}$, $dt = 1/N$, at the
    continuous time `t` of the call (not at a grid point, unlike `scoresde_ref.EulerMaruyamaDiscretization`)."""

    sde: AbstractSDE
    t: jax.Array
    dt: float

    def __call__(self, x, i):
        return self.sde.drift(x, self.t) * self.dt, self.sde.diffusion(self.t) * jnp.sqrt(self.dt)


class _ReferenceKernel(eqx.Module):
    """An SDE seen through the library's `marginal_prob`: `kernel(t)` is `reference_kernel(t)` (VE std sigma(t))."""

    sde: _VESDE

    def kernel(self, t):
        return self.sde.reference_kernel(t)


@eqx.filter_jit
def _drift_diffusion(base, x, t):
    return jax.vmap(base.drift)(flat(x), t).reshape(x.shape), jax.vmap(base.diffusion)(t)


@eqx.filter_jit
def _marginal_prob(kernel_sde, x, t):
    mean_coeff, std = jax.vmap(kernel_sde.kernel)(t)
    return per_example(mean_coeff, x) * x, std


@eqx.filter_jit
def _prior_logp(base, z):
    return jax.vmap(base.prior_log_prob)(flat(z))


@eqx.filter_jit
def _discretize(sde, x, t):
    f, G = jax.vmap(lambda xi, ti, ii: sde.disc_at(ti)(xi, ii))(flat(x), t, sde.timestep(t) + 1)
    return f.reshape(x.shape), G


@eqx.filter_jit
def _reverse_sde(base, x, t, score, probability_flow):
    """$(f - g^2 s, g)$ or, with `probability_flow`, $(f - \\tfrac12 g^2 s, 0)$ per example (`scoresde_ref.sde`)."""
    drift_fn = probability_flow_drift if probability_flow else reverse_drift
    drift = jax.vmap(lambda xi, si, ti: drift_fn(base, lambda _y, _t: si, xi, ti))(flat(x), flat(score), t)
    diffusion = jax.vmap(base.diffusion)(t)
    return drift.reshape(x.shape), (jnp.zeros_like(diffusion) if probability_flow else diffusion)


@eqx.filter_jit
def _reverse_discretize(f, G, score, probability_flow):
    rev_f = f - per_example(G**2, score) * score * (0.5 if probability_flow else 1.0)
    return rev_f, (jnp.zeros_like(G) if probability_flow else G)


class SDE(eqx.Module):
    """The library's abstract `SDE(N)` on a batch; a twin holds the project's SDE as `base`.

    **To add one**, subclass with fields `base`, `N`, `dtype` and, if the library overrides `discretize`, `disc`
    (a `scoresde_ref.chains` discretization).
    """

    base: eqx.AbstractVar[AbstractSDE]
    N: eqx.AbstractVar[int]
    dtype: eqx.AbstractVar[np.dtype]

    @property
    def T(self):
        """End time of the SDE (1 for VE, VP, sub-VP)."""
        return self.base.T

    # --- per-example views used by the sampler twins ---------------------------------------------------------

    @property
    def kernel_sde(self):
        """The object whose `kernel(t)` is this twin's `marginal_prob` law (the project SDE, or VE's reference)."""
        return self.base

    def timestep(self, t):
        """The library's `(t * (N - 1) / T).long()`: the 0-based noise level read at time `t`."""
        return jnp.floor(t * (self.N - 1) / self.T).astype(jnp.int32)

    def disc_at(self, t):
        """The discretization object `(x, i) -> (f_i, G_i)` the library's `discretize` uses at time `t` (scalar)."""
        return ContinuousEulerDiscretization(self.base, t, 1.0 / self.N)

    def _inputs(self, x, t, owner):
        x = as_batch(x, self.dtype, "x", owner)
        return x, batch_times(t, x.shape[0], self.dtype, owner)

    # --- the library's methods ---------------------------------------------------------------------------------

    def sde(self, x, t):
        """`(drift, diffusion)`: $f(x, t)$ shaped like `x` and $g(t)$ `(n,)`."""
        x, t = self._inputs(x, t, f"{type(self).__name__}.sde")
        return _drift_diffusion(self.base, x, t)

    def marginal_prob(self, x, t):
        """`(mean, std)` of $p_{0t}(x(t) \\mid x(0) = x)$: `mean` like `x`, `std` `(n,)`."""
        x, t = self._inputs(x, t, f"{type(self).__name__}.marginal_prob")
        return _marginal_prob(self.kernel_sde, x, t)

    def prior_sampling(self, shape, *, noise):
        """The library's `torch.randn(*shape) * prior_std` with the draw given as `noise` (shape `shape`)."""
        z = jnp.asarray(noise, dtype=self.dtype)
        if z.shape != tuple(shape):
            owner = f"{type(self).__name__}.prior_sampling"
            raise ValueError(f"{owner}: noise must have shape {tuple(shape)}; got shape {z.shape}")
        return self.base.prior_mean() + self.base.prior_std * z

    def prior_logp(self, z):
        """Log-density of the prior at each example of `z`, summed over all non-batch axes: `(n,)`."""
        z = as_batch(z, self.dtype, "z", f"{type(self).__name__}.prior_logp")
        return _prior_logp(self.base, z)

    def discretize(self, x, t):
        """`(f, G)` of $x_{i+1} = x_i + f_i(x_i) + G_i z_i$ at time `t`: `f` like `x`, `G` `(n,)`."""
        x, t = self._inputs(x, t, f"{type(self).__name__}.discretize")
        return _discretize(self, x, t)

    def reverse(self, score_fn: Callable, probability_flow: bool = False) -> "RSDE":
        """The reverse-time SDE (or, with `probability_flow`, ODE) of this SDE with the batched `score_fn(x, t)`."""
        return RSDE(self, score_fn, bool(probability_flow))


class RSDE(eqx.Module):
    r"""The library's reverse-time SDE: `sde(x, t)` gives $(f - g^2 s, g)$, or $(f - \tfrac12 g^2 s, 0)$ with
    `probability_flow`; `discretize(x, t)` gives $(f_i - G_i^2 s, G_i)$, or $(f_i - \tfrac12 G_i^2 s, 0)$.
    (The library's `RSDE` subclasses the forward SDE's class; this one holds it as `forward`.)"""

    forward: SDE
    score_fn: Callable
    probability_flow: bool = eqx.field(static=True)

    @property
    def N(self):
        return self.forward.N

    @property
    def T(self):
        return self.forward.T

    def sde(self, x, t):
        fwd = self.forward
        x, t = fwd._inputs(x, t, "RSDE.sde")
        score = jnp.asarray(self.score_fn(x, t), dtype=fwd.dtype)
        return _reverse_sde(fwd.base, x, t, score, self.probability_flow)

    def discretize(self, x, t):
        fwd = self.forward
        x, t = fwd._inputs(x, t, "RSDE.discretize")
        f, G = fwd.discretize(x, t)
        score = jnp.asarray(self.score_fn(x, t), dtype=fwd.dtype)
        return _reverse_discretize(f, G, score, self.probability_flow)


class VPSDE(SDE):
    r"""Variance-preserving SDE $dx = -\tfrac12\beta(t)x\,dt + \sqrt{\beta(t)}\,dw$, $\beta(t) = \beta_0 + t(\beta_1 -
    \beta_0)$ (`scoresde_ref.VPSDE`), with the DDPM chain $\beta_i = \beta(\tfrac{i-1}{N-1})/N$ of
    `scoresde_ref.DDPMChain.linear(N, beta_min, beta_max)` as `discrete_betas` and `discretize`."""

    base: _VPSDE
    N: int = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)
    disc: DDPMDiscretization
    beta_0: float = eqx.field(static=True)
    beta_1: float = eqx.field(static=True)

    def __init__(self, beta_min=0.1, beta_max=20, N=1000, *, dtype=np.float64):
        self.dtype = check_dtype(dtype, "VPSDE")
        self.beta_0, self.beta_1, self.N = beta_min, beta_max, int(N)
        self.base = _VPSDE(beta_min=float(beta_min), beta_max=float(beta_max))
        self.disc = DDPMDiscretization(self.base, self.N)

    def disc_at(self, t):
        return self.disc

    @property
    def discrete_betas(self):
        return self.disc.chain_as(self.dtype).betas

    @property
    def alphas(self):
        return 1.0 - self.discrete_betas

    @property
    def alphas_cumprod(self):
        return self.disc.chain_as(self.dtype).alphas_cumprod

    @property
    def sqrt_alphas_cumprod(self):
        return self.disc.chain_as(self.dtype).kernels()[0][1:]

    @property
    def sqrt_1m_alphas_cumprod(self):
        return self.disc.chain_as(self.dtype).kernels()[1][1:]


class subVPSDE(SDE):
    r"""Sub-VP SDE $dx = -\tfrac12\beta(t)x\,dt + \sqrt{\beta(t)(1 - e^{-2B(t)})}\,dw$ (`scoresde_ref.SubVPSDE`); the
    library gives it no `discrete_betas`/`alphas` and the base class's Euler–Maruyama `discretize`."""

    base: _SubVPSDE
    N: int = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)
    beta_0: float = eqx.field(static=True)
    beta_1: float = eqx.field(static=True)

    def __init__(self, beta_min=0.1, beta_max=20, N=1000, *, dtype=np.float64):
        self.dtype = check_dtype(dtype, "subVPSDE")
        self.beta_0, self.beta_1, self.N = beta_min, beta_max, int(N)
        self.base = _SubVPSDE(beta_min=float(beta_min), beta_max=float(beta_max))


class VESDE(SDE):
    r"""Variance-exploding SDE $dx = \sigma(t)\sqrt{2\log(\sigma_{\max}/\sigma_{\min})}\,dw$,
    $\sigma(t) = \sigma_{\min}(\sigma_{\max}/\sigma_{\min})^t$ (`scoresde_ref.VESDE`), with the SMLD chain
    $\sigma_i = \sigma(\tfrac{i-1}{N-1})$ (`discrete_sigmas`, `discretize`) and the reference std $\sigma(t)$ in
    `marginal_prob`; prior $\mathcal N(0, \sigma_{\max}^2 I)$."""

    base: _VESDE
    N: int = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)
    disc: SMLDDiscretization
    sigma_min: float = eqx.field(static=True)
    sigma_max: float = eqx.field(static=True)

    def __init__(self, sigma_min=0.01, sigma_max=50, N=1000, *, dtype=np.float64):
        self.dtype = check_dtype(dtype, "VESDE")
        self.sigma_min, self.sigma_max, self.N = sigma_min, sigma_max, int(N)
        self.base = _VESDE(sigma_min=float(sigma_min), sigma_max=float(sigma_max))
        self.disc = SMLDDiscretization(self.base, self.N)

    @property
    def kernel_sde(self):
        return _ReferenceKernel(self.base)

    def disc_at(self, t):
        return self.disc

    @property
    def discrete_sigmas(self):
        return self.disc.chain_as(self.dtype).sigmas

