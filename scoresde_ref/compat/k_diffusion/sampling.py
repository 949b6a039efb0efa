r"""Twin of k-diffusion's `k_diffusion/sampling.py`: noise schedules, `to_d`, `get_ancestral_step`, the Euler, Heun,
DPM-2 and Euler-ancestral samplers and `log_likelihood`, with the library's names, arguments and defaults.

**The ODE.** k-diffusion integrates the probability-flow ODE of the VE SDE with $\sigma(t) = t$, i.e.
$dx = \sqrt{2t}\,dw$ (`karras_ve_sde`: exact kernel std $t$), in the time $\sigma$:
$dx/d\sigma = -\sigma\nabla\log p_\sigma(x) = (x - D(x, \sigma))/\sigma$ (`to_d`), with the denoiser
$D(x, \sigma) = x + \sigma^2\nabla\log p_\sigma(x)$ (Tweedie) as `model(x, sigma)` on a batch, `sigma` `(n,)`.

- `sample_euler` with `s_churn = 0` is Euler on that ODE: the project's `EulerMaruyama` step on the `Flow` of
  `karras_ve_sde`; with churn, each step first raises the level to $\hat\sigma = \sigma(1 + \gamma)$ by the forward
  VE kernel $x + \sqrt{\hat\sigma^2 - \sigma^2}\,\epsilon$ (Karras et al. 2022, Algorithm 2).
- `sample_euler_ancestral` with `eta = 1` is the SMLD chain's reverse kernel from $\sigma$ to $\sigma'$
  (`scoresde_ref.SMLDChain.reverse_kernel`): `get_ancestral_step` gives $\sigma_{up} = \sqrt{\sigma'^2(\sigma^2 -
  \sigma'^2)/\sigma^2}$ and $\sigma_{down} = \sigma'^2/\sigma$, and $x + d(\sigma_{down} - \sigma) + \sigma_{up}z =
  x + (\sigma^2 - \sigma'^2)\nabla\log p_\sigma + \sigma_{up} z$.

**Noise.** `noise` is the sequence of the library's draws in order: `sample_euler`, `sample_heun`, `sample_dpm_2`
draw one `randn_like(x)` at EVERY step (even where $\gamma = 0$; then `noise` may be omitted), so
`len(noise) == len(sigmas) - 1`; `sample_euler_ancestral` draws one per step with `sigmas[i + 1] > 0` (or takes the
library's `noise_sampler(sigma, sigma_next)`). `log_likelihood` takes its Rademacher probe as `noise`.

**Precision.** Schedules are float64 by default (`dtype=np.float32`: torch's float32 `linspace` formula and float32
arithmetic, the library's default; the float64 values differ from those by up to a few float32 ULP, ~3e-7
relative, except `get_sigmas_vp`, whose float32 `exp(B) - 1` in the library cancels near `eps_s`: there the library
is 2e-4 off, and the twin, which uses `expm1` through the VP kernel, is not). `extra_args`, `callback` work as in
the library; `disable` is accepted (no progress bar is drawn).
"""

import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ...likelihood._log_likelihood import log_likelihood_details
from ...sde._affine import AffineSDE
from ...sde._vp import VPSDE
from ..score_sde._arrays import check_dtype, noise_sequence, per_example


def _zero(t):
    return jnp.zeros_like(jnp.asarray(t))


def _sqrt_2t(t):
    return jnp.sqrt(2 * jnp.asarray(t))


def karras_ve_sde(sigma_max) -> AffineSDE:
    r"""$dx = \sqrt{2t}\,dw$ on $[0, \sigma_{\max}]$: kernel std $t$ (so $\sigma(t) = t$), prior
    $\mathcal N(0, \sigma_{\max}^2 I)$ — the SDE whose probability-flow ODE k-diffusion integrates."""
    return AffineSDE(_zero, _zero, _sqrt_2t, T=float(sigma_max))


def torch_linspace(start, end, steps, dtype=np.float64):
    """`torch.linspace(start, end, steps)` in `dtype`: the step $(end - start)/(steps - 1)$ and the value
    `start + i*step` for $i < steps/2$, `end - (steps - 1 - i)*step` after, evaluated in `dtype` (torch's CPU
    formula; in float64 it equals the exact grid to an ULP)."""
    dtype = np.dtype(dtype)
    start, end = dtype.type(start), dtype.type(end)
    if steps == 1:
        return np.array([start], dtype)
    step = (end - start) / dtype.type(steps - 1)
    i = np.arange(steps)
    low = start + step * i.astype(dtype)
    high = end - step * (steps - 1 - i).astype(dtype)
    return np.where(i < steps / 2, low, high).astype(dtype)


def append_zero(x):
    x = jnp.asarray(x)
    return jnp.concatenate([x, jnp.zeros((1,), x.dtype)])


def get_sigmas_karras(n, sigma_min, sigma_max, rho=7.0, device="cpu", *, dtype=np.float64):
    r"""Karras et al. (2022) eq. (5): $\sigma_i = (\sigma_{\max}^{1/\rho} + \tfrac{i}{n-1}(\sigma_{\min}^{1/\rho} -
    \sigma_{\max}^{1/\rho}))^\rho$, $i = 0, \dots, n-1$, then a final 0: shape `(n + 1,)`."""
    dtype = check_dtype(dtype, "get_sigmas_karras")
    ramp = torch_linspace(0, 1, n, dtype)
    min_inv_rho, max_inv_rho = dtype.type(sigma_min ** (1 / rho)), dtype.type(sigma_max ** (1 / rho))
    sigmas = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** dtype.type(rho)
    return append_zero(jnp.asarray(sigmas, dtype))


def get_sigmas_exponential(n, sigma_min, sigma_max, device="cpu", *, dtype=np.float64):
    r"""$\log\sigma_i$ equally spaced from $\log\sigma_{\max}$ to $\log\sigma_{\min}$ (the SMLD / VE chain's geometric
    levels, `scoresde_ref.SMLDChain.geometric`, in decreasing order), then a final 0."""
    dtype = check_dtype(dtype, "get_sigmas_exponential")
    sigmas = np.exp(torch_linspace(math.log(sigma_max), math.log(sigma_min), n, dtype))
    return append_zero(jnp.asarray(sigmas, dtype))


def get_sigmas_polyexponential(n, sigma_min, sigma_max, rho=1.0, device="cpu", *, dtype=np.float64):
    r"""$\log\sigma_i = \log\sigma_{\min} + r_i^\rho(\log\sigma_{\max} - \log\sigma_{\min})$ with
    $r_i$ = `linspace(1, 0, n)`; $\rho = 1$ is `get_sigmas_exponential`. Then a final 0."""
    dtype = check_dtype(dtype, "get_sigmas_polyexponential")
    ramp = torch_linspace(1, 0, n, dtype) ** dtype.type(rho)
    log_min, log_max = dtype.type(math.log(sigma_min)), dtype.type(math.log(sigma_max))
    sigmas = np.exp(ramp * (log_max - log_min) + log_min)
    return append_zero(jnp.asarray(sigmas, dtype))


def get_sigmas_vp(n, beta_d=19.9, beta_min=0.1, eps_s=1e-3, device="cpu", *, dtype=np.float64):
    r"""The VP SDE's noise-to-signal ratio $\sigma(t) = s(t)/m(t) = \sqrt{e^{B(t)} - 1}$, $B(t) = \beta_{\min}t +
    \tfrac12\beta_d t^2$, at $t$ = `linspace(1, eps_s, n)`, from `scoresde_ref.VPSDE(beta_min, beta_min + beta_d)`'s
    kernel: $\beta_d = \beta_{\max} - \beta_{\min}$ (19.9 for the paper's 0.1, 20; NVlabs/edm #5). Then a final 0."""
    dtype = check_dtype(dtype, "get_sigmas_vp")
    t = jnp.asarray(torch_linspace(1, eps_s, n, dtype))
    mean_coeff, std = jax.vmap(VPSDE(beta_min=beta_min, beta_max=beta_min + beta_d).kernel)(t)
    return append_zero((std / mean_coeff).astype(dtype))


def to_d(x, sigma, denoised):
    r"""$dx/d\sigma = (x - D)/\sigma$, the probability-flow velocity of `karras_ve_sde` at the score
    $(D - x)/\sigma^2$; `sigma` a scalar or `(n,)`."""
    x = jnp.asarray(x)
    return (x - jnp.asarray(denoised, x.dtype)) / per_example(jnp.asarray(sigma, x.dtype), x)


def get_ancestral_step(sigma_from, sigma_to, eta=1.0):
    r"""`(sigma_down, sigma_up)`: $\sigma_{up} = \min(\sigma_{to}, \eta\sqrt{\sigma_{to}^2(\sigma_{from}^2 -
    \sigma_{to}^2)/\sigma_{from}^2})$, $\sigma_{down} = \sqrt{\sigma_{to}^2 - \sigma_{up}^2}$; `eta = 0` gives
    `(sigma_to, 0.)`. At $\eta = 1$, $\sigma_{up}$ is the std of the SMLD chain's reverse kernel."""
    if not eta:
        return sigma_to, 0.0
    sigma_up = jnp.minimum(sigma_to, eta * (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5)
    sigma_down = (sigma_to**2 - sigma_up**2) ** 0.5
    return sigma_down, sigma_up


def _setup(x, sigmas, extra_args):
    x = jnp.asarray(x)
    sigmas = jnp.asarray(sigmas, x.dtype)
    if sigmas.ndim != 1 or sigmas.shape[0] < 2:
        raise ValueError(f"k_diffusion sampler: sigmas must be a vector of length >= 2; got shape {sigmas.shape}")
    return x, sigmas, ({} if extra_args is None else extra_args), jnp.ones((x.shape[0],), x.dtype)


def _churn(x, sigmas, i, s_churn, s_tmin, s_tmax, s_noise, draws):
    """The stochastic part of Karras et al.'s Algorithm 2: $\\gamma$, $\\hat\\sigma = \\sigma_i(1 + \\gamma)$ and
    $x + \\sqrt{\\hat\\sigma^2 - \\sigma_i^2}\\,s_{noise}\\epsilon$ (the forward VE kernel) when $\\gamma > 0$."""
    sigma = sigmas[i]
    gamma = min(s_churn / (len(sigmas) - 1), 2**0.5 - 1) if s_tmin <= float(sigma) <= s_tmax else 0.0
    sigma_hat = sigma * (gamma + 1)
    if gamma > 0:
        if draws is None:
            raise ValueError("k_diffusion sampler: s_churn > 0 draws noise: pass noise (len(sigmas) - 1 arrays like x)")
        x = x + draws[i] * s_noise * (sigma_hat**2 - sigma**2) ** 0.5
    return x, sigma_hat


def _euler_like(model, x, sigmas, extra_args, callback, s_churn, s_tmin, s_tmax, s_noise, noise, second_order):
    x, sigmas, extra_args, s_in = _setup(x, sigmas, extra_args)
    steps = len(sigmas) - 1
    draws = None if noise is None else noise_sequence(noise, steps, x.shape, x.dtype, "k_diffusion sampler")
    for i in range(steps):
        x, sigma_hat = _churn(x, sigmas, i, s_churn, s_tmin, s_tmax, s_noise, draws)
        denoised = model(x, sigma_hat * s_in, **extra_args)
        d = to_d(x, sigma_hat, denoised)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigma_hat, "denoised": denoised})
        x = second_order(x, d, sigma_hat, sigmas[i + 1], s_in, extra_args)
    return x


def sample_euler(model, x, sigmas, extra_args=None, callback=None, disable=None, s_churn=0.0, s_tmin=0.0,
                 s_tmax=float("inf"), s_noise=1.0, *, noise=None):
    """Karras et al. (2022) Algorithm 2 with Euler steps $x + d\\,(\\sigma_{i+1} - \\hat\\sigma)$."""

    def step(x, d, sigma_hat, sigma_next, s_in, extra_args):
        return x + d * (sigma_next - sigma_hat)

    return _euler_like(model, x, sigmas, extra_args, callback, s_churn, s_tmin, s_tmax, s_noise, noise, step)


def sample_heun(model, x, sigmas, extra_args=None, callback=None, disable=None, s_churn=0.0, s_tmin=0.0,
                s_tmax=float("inf"), s_noise=1.0, *, noise=None):
    """Karras et al. (2022) Algorithm 2: Heun steps (trapezoidal $d$), Euler on the last step to $\\sigma = 0$."""

    def step(x, d, sigma_hat, sigma_next, s_in, extra_args):
        dt = sigma_next - sigma_hat
        if sigma_next == 0:
            return x + d * dt
        x_2 = x + d * dt
        d_2 = to_d(x_2, sigma_next, model(x_2, sigma_next * s_in, **extra_args))
        return x + (d + d_2) / 2 * dt

    return _euler_like(model, x, sigmas, extra_args, callback, s_churn, s_tmin, s_tmax, s_noise, noise, step)


def sample_dpm_2(model, x, sigmas, extra_args=None, callback=None, disable=None, s_churn=0.0, s_tmin=0.0,
                 s_tmax=float("inf"), s_noise=1.0, *, noise=None):
    """The DPM-Solver-2-like midpoint method: $d$ at $\\sigma_{mid} = \\sqrt{\\hat\\sigma\\sigma_{i+1}}$ (geometric
    mean, the library's log-lerp at 1/2) applied over the whole step; Euler on the last step to $\\sigma = 0$."""

    def step(x, d, sigma_hat, sigma_next, s_in, extra_args):
        if sigma_next == 0:
            return x + d * (sigma_next - sigma_hat)
        sigma_mid = jnp.exp(0.5 * (jnp.log(sigma_hat) + jnp.log(sigma_next)))
        x_2 = x + d * (sigma_mid - sigma_hat)
        d_2 = to_d(x_2, sigma_mid, model(x_2, sigma_mid * s_in, **extra_args))
        return x + d_2 * (sigma_next - sigma_hat)

    return _euler_like(model, x, sigmas, extra_args, callback, s_churn, s_tmin, s_tmax, s_noise, noise, step)


def sample_euler_ancestral(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0,
                           noise_sampler=None, *, noise=None):
    """Ancestral sampling with Euler steps: $x + d(\\sigma_{down} - \\sigma_i) + s_{noise}\\sigma_{up}z$ (module
    docstring); the noise is `noise` (one draw per step with `sigmas[i + 1] > 0`) or `noise_sampler`."""
    x, sigmas, extra_args, s_in = _setup(x, sigmas, extra_args)
    if noise_sampler is None:
        count = int(jnp.sum(sigmas[1:] > 0))
        draws = iter(noise_sequence(noise, count, x.shape, x.dtype, "sample_euler_ancestral"))
        noise_sampler = lambda sigma, sigma_next: next(draws)  # noqa: E731
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        sigma_down, sigma_up = get_ancestral_step(sigmas[i], sigmas[i + 1], eta=eta)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        d = to_d(x, sigmas[i], denoised)
        x = x + d * (sigma_down - sigmas[i])
        if sigmas[i + 1] > 0:
            x = x + jnp.asarray(noise_sampler(sigmas[i], sigmas[i + 1]), x.dtype) * s_noise * sigma_up
    return x


class _DenoiserScore(eqx.Module):
    r"""The score $(D(x, \sigma) - x)/\sigma^2$ of one flattened example from a batched denoiser (a module, so that
    `log_likelihood_details` compiles once per model, shape and extra arguments)."""

    model: Callable = eqx.field(static=True)
    shape: tuple = eqx.field(static=True)
    extra_args: tuple = eqx.field(static=True)

    def __call__(self, y, sigma):
        xb = y.reshape((1,) + self.shape)
        return ((self.model(xb, sigma[None], **dict(self.extra_args)) - xb) / sigma**2).ravel()


def log_likelihood(model, x, sigma_min, sigma_max, extra_args=None, atol=1e-4, rtol=1e-4, *, noise=None):
    r"""$\log p_{\sigma_{\min}}(x) = \log\mathcal N(x(\sigma_{\max}); 0, \sigma_{\max}^2 I)
    + \int_{\sigma_{\min}}^{\sigma_{\max}} \nabla\cdot(dx/d\sigma)\,d\sigma$, per example, by
    `scoresde_ref.likelihood.log_likelihood_details` on
    `karras_ve_sde(sigma_max)` (Dopri5, PID controller at `rtol`, `atol`) with the Hutchinson probe `noise` (the
    library's `randint_like(x, 2) * 2 - 1`; `noise=None`: the exact trace). `model` must be JAX-traceable.

    **Returns** `(ll, {"fevals": nfe})`, `ll` `(n,)`. The library solves the batch as one state with torchdiffeq's
    dopri5, the twin each example alone: both are within the solver tolerance of the exact integral, not of
    each other bit for bit.
    """
    x = jnp.asarray(x)
    extra_args = {} if extra_args is None else extra_args
    n, shape = x.shape[0], x.shape[1:]
    sde = karras_ve_sde(sigma_max)
    if noise is not None:
        noise = jnp.asarray(noise, x.dtype)
        if noise.shape != x.shape:
            raise ValueError(f"log_likelihood: noise must be {x.shape}; got {noise.shape}")

    score_fn = _DenoiserScore(model, shape, tuple(sorted(extra_args.items())))
    lls, fevals = [], 0
    for b in range(n):
        kwargs = {"divergence": "exact"}
        if noise is not None:
            kwargs = {"divergence": "hutchinson", "probes": noise[b].reshape(1, -1)}
        result = log_likelihood_details(
            sde, score_fn, x[b].ravel(), eps=float(sigma_min), rtol=rtol, atol=atol, solver="dopri5", **kwargs
        )
        lls.append(result.log_p)
        fevals += int(result.nfe)
    return jnp.stack(lls), {"fevals": fevals}
