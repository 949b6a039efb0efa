r"""Twin of k-diffusion's `k_diffusion/external.py`: `DiscreteSchedule` and `DiscreteEpsDDPMDenoiser`, with the
library's names, arguments and defaults.

**The DDPM chain as a VE schedule.** The chain's kernel $x_i = \sqrt{\bar\alpha_i}x_0 + \sqrt{1 - \bar\alpha_i}z$
(`scoresde_ref.DDPMChain`) divided by $\sqrt{\bar\alpha_i}$ is $x_0 + \sigma_i z$ with
$\sigma_i = \sqrt{(1 - \bar\alpha_i)/\bar\alpha_i}$, the noise-to-signal ratio: the levels of `DiscreteSchedule`. A
VE state $x$ at level $\sigma$ is the DDPM state $x/\sqrt{1 + \sigma^2} = \sqrt{\bar\alpha}\,x$ (`c_in`), and an
$\epsilon$-network gives the denoiser $D(x, \sigma) = x - \sigma\hat\epsilon$ (`c_out = -sigma`): the chain's
$\hat x_0 = (x_i - \sqrt{1-\bar\alpha_i}\hat\epsilon)/\sqrt{\bar\alpha_i}$.

**Between levels** (`sigma_to_t`): $t$ interpolates the 0-based level index linearly in $\log\sigma$ between the
two neighbouring levels (clamped to $[0, N-1]$), or, with `quantize`, is the nearest level in $\log\sigma$;
`t_to_sigma` is its inverse (log-linear). `get_sigmas(n)` samples `t = linspace(N - 1, 0, n)` and appends 0.

**Precision.** float64 by default. The library's `t_to_sigma` rounds `t` to float32 (`t.float()`) whatever the
dtype, which moves $\sigma$ by up to $2^{-24}\,t\,|\log(\sigma_{\lceil t\rceil}/\sigma_{\lfloor t\rfloor})|$ relative
(~1e-9 for 1000 levels); `dtype=np.float32` reproduces the library on float32 `alphas_cumprod` (its
`OpenAIDenoiser` casts them to float32).
"""

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..score_sde._arrays import check_dtype, flat, per_example
from .sampling import append_zero, torch_linspace


@eqx.filter_jit
def _sigma_to_t(schedule, sigma, quantize):
    return schedule._sigma_to_t(sigma, quantize)


@eqx.filter_jit
def _t_to_sigma(schedule, t):
    return schedule._t_to_sigma(t)


class DiscreteSchedule(eqx.Module):
    """A mapping between continuous noise levels (sigmas, increasing) and the 0-based indices of discrete ones."""

    sigmas: jnp.ndarray
    log_sigmas: jnp.ndarray
    quantize: bool = eqx.field(static=True)
    dtype: np.dtype = eqx.field(static=True)

    def __init__(self, sigmas, quantize, *, dtype=np.float64):
        self.dtype = check_dtype(dtype, type(self).__name__)
        self.sigmas = jnp.asarray(sigmas, self.dtype)
        if self.sigmas.ndim != 1 or self.sigmas.shape[0] < 2 or not bool(jnp.all(jnp.diff(self.sigmas) > 0)):
            raise ValueError(f"{type(self).__name__}: sigmas must be an increasing vector of length >= 2")
        self.log_sigmas = jnp.log(self.sigmas)
        self.quantize = bool(quantize)

    @property
    def sigma_min(self):
        return self.sigmas[0]

    @property
    def sigma_max(self):
        return self.sigmas[-1]

    def get_sigmas(self, n=None):
        """All levels in decreasing order, or `n` of them at `t = linspace(N - 1, 0, n)`; then a final 0."""
        if n is None:
            return append_zero(jnp.flip(self.sigmas, axis=0))
        t_max = self.sigmas.shape[0] - 1
        return append_zero(self.t_to_sigma(jnp.asarray(torch_linspace(t_max, 0, n, self.dtype))))

    def sigma_to_t(self, sigma, quantize=None):
        """The (fractional) 0-based level index of `sigma`, log-linear between neighbours; nearest with `quantize`."""
        quantize = self.quantize if quantize is None else quantize
        return _sigma_to_t(self, jnp.asarray(sigma, self.dtype), bool(quantize))

    def t_to_sigma(self, t):
        """$\\sigma = \\exp((1 - w)\\log\\sigma_{\\lfloor t\\rfloor} + w\\log\\sigma_{\\lceil t\\rceil})$,
        $w = t - \\lfloor t\\rfloor$."""
        return _t_to_sigma(self, jnp.asarray(t, self.dtype))

    def _sigma_to_t(self, sigma, quantize):
        log_sigma = jnp.log(sigma).ravel()
        if quantize:
            return jnp.argmin(jnp.abs(log_sigma[None, :] - self.log_sigmas[:, None]), axis=0).reshape(sigma.shape)
        # index of the largest level <= sigma, kept in [0, N - 2] (the library's cumsum/argmax of dists >= 0)
        below = jnp.sum(self.log_sigmas[:, None] <= log_sigma[None, :], axis=0)
        low_idx = jnp.clip(below - 1, 0, self.log_sigmas.shape[0] - 2)
        low, high = self.log_sigmas[low_idx], self.log_sigmas[low_idx + 1]
        w = jnp.clip((low - log_sigma) / (low - high), 0, 1)
        t = (1 - w) * low_idx.astype(self.dtype) + w * (low_idx + 1).astype(self.dtype)
        return t.reshape(sigma.shape)

    def _t_to_sigma(self, t):
        low_idx, high_idx = jnp.floor(t).astype(jnp.int32), jnp.ceil(t).astype(jnp.int32)
        w = t - jnp.floor(t)
        return jnp.exp((1 - w) * self.log_sigmas[low_idx] + w * self.log_sigmas[high_idx])


class DiscreteEpsDDPMDenoiser(DiscreteSchedule):
    r"""A discrete-time DDPM $\epsilon$-network `model(x, t)` (`t` the 0-based level index) as a denoiser
    `denoiser(x, sigma)`: $\sigma_i = \sqrt{(1 - \bar\alpha_i)/\bar\alpha_i}$,
    $D = x - \sigma\hat\epsilon(x\,c_{in}, t)$ (module docstring)."""

    inner_model: Callable
    sigma_data: float = eqx.field(static=True)

    def __init__(self, model, alphas_cumprod, quantize, *, dtype=np.float64):
        alphas_cumprod = jnp.asarray(alphas_cumprod, check_dtype(dtype, "DiscreteEpsDDPMDenoiser"))
        super().__init__(((1 - alphas_cumprod) / alphas_cumprod) ** 0.5, quantize, dtype=dtype)
        self.inner_model = model
        self.sigma_data = 1.0

    def get_scalings(self, sigma):
        """`(c_out, c_in)` $= (-\\sigma, 1/\\sqrt{\\sigma^2 + \\sigma_{data}^2})$; $c_{in} = \\sqrt{\\bar\\alpha}$ at a
        level."""
        sigma = jnp.asarray(sigma, self.dtype)
        return -sigma, 1 / (sigma**2 + self.sigma_data**2) ** 0.5

    def get_eps(self, *args, **kwargs):
        return self.inner_model(*args, **kwargs)

    def loss(self, input, noise, sigma, **kwargs):
        r"""Per example, the mean over the data of $(\hat\epsilon(c_{in}(x + \sigma z), t(\sigma)) - z)^2$: `(n,)`."""
        input, noise = jnp.asarray(input, self.dtype), jnp.asarray(noise, self.dtype)
        c_out, c_in = (per_example(c, input) for c in self.get_scalings(sigma))
        noised_input = input + noise * per_example(jnp.asarray(sigma, self.dtype), input)
        eps = self.get_eps(noised_input * c_in, self.sigma_to_t(sigma), **kwargs)
        return jnp.mean(flat((jnp.asarray(eps, self.dtype) - noise) ** 2), axis=1)

    def forward(self, input, sigma, **kwargs):
        """The denoiser $D(x, \\sigma) = x - \\sigma\\hat\\epsilon(c_{in}x, t(\\sigma))$ on a batch, `sigma` `(n,)`."""
        input = jnp.asarray(input, self.dtype)
        c_out, c_in = (per_example(c, input) for c in self.get_scalings(sigma))
        eps = self.get_eps(input * c_in, self.sigma_to_t(sigma), **kwargs)
        return input + jnp.asarray(eps, self.dtype) * c_out

    def __call__(self, input, sigma, **kwargs):
        return self.forward(input, sigma, **kwargs)
