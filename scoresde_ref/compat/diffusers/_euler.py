r"""Twins of diffusers' `EulerDiscreteScheduler` and `EulerAncestralDiscreteScheduler` (Karras et al. 2022, the
k-diffusion samplers in the variance-exploding variable).

**σ-convention.** With $x_t = \sqrt{\bar\alpha_t}(x_0 + \sigma_t\epsilon)$,
$\sigma_t = \sqrt{(1-\bar\alpha_t)/\bar\alpha_t} = \sqrt{\mathrm{expm1}(-\log\bar\alpha_t)}$ (k-diffusion's
`DiscreteEpsDDPMDenoiser`): the sampler runs on $\tilde x = x/\sqrt{\bar\alpha}$ $= x_0 + \sigma\epsilon$, starts from
$\tilde x_T = \sigma_{\max} z$ (`init_noise_sigma`),
and feeds the model $\tilde x/\sqrt{\sigma^2 + 1}$ (`scale_model_input`), the VP sample of the same level.
Inference levels are read off the 1000 training levels at real-valued timesteps, linearly in $t$ (`linear`) or
geometrically between the ends (`log_linear`), or replaced by Karras' $\rho = 7$ levels (`use_karras_sigmas`),
exponential levels, or beta-quantile levels, whose timesteps are then `_sigma_to_t`: the index interpolated
linearly in $\log\sigma$ between neighbouring training levels.

**Euler step** (probability-flow ODE $d\tilde x/d\sigma = \hat\epsilon$): $\hat x_0$ from the model output,
$d = (\tilde x - \hat x_0)/\hat\sigma$, $\tilde x' = \tilde x + d(\sigma' - \hat\sigma)$, after the optional churn
$\hat\sigma = (1 + \gamma)\sigma$, $\tilde x \leftarrow \tilde x + s_\text{noise}\sqrt{\hat\sigma^2 - \sigma^2}\,z$,
$\gamma = \min(s_\text{churn}/(\#\sigma - 1), \sqrt2 - 1)$ for $\sigma \in [s_{t\min}, s_{t\max}]$.
In $x$ this is DDIM at $\eta = 0$ between $\bar\alpha = 1/(1 + \sigma^2)$ and $1/(1 + \sigma'^2)$.

**Ancestral step**: $\sigma_\uparrow = \sigma'\sqrt{1 - \sigma'^2/\sigma^2}$, $\sigma_\downarrow = \sqrt{\sigma'^2 -
\sigma_\uparrow^2} = \sigma'^2/\sigma$, $\tilde x' = \tilde x + d(\sigma_\downarrow - \sigma) + \sigma_\uparrow z$ — the
DDPM posterior draw (DDIM at $\eta = 1$) in $\tilde x$. The twin evaluates $\sigma_\downarrow = \sigma'^2/\sigma$: the
library's float32 $\sqrt{\sigma'^2 - \sigma_\uparrow^2}$ rounds below zero and gives NaN for `squaredcos_cap_v2` at
few steps (diffusers #14213).
"""

import math

import numpy as np
import scipy.stats

from ._discrete import check_no_generator, check_noise, init_schedule
from ._output import EulerAncestralDiscreteSchedulerOutput, EulerDiscreteSchedulerOutput
from ._schedule import (
    as_array,
    check_choice,
    check_int,
    per_example,
    spaced_timesteps,
)

RHO = 7.0  # Karras et al. (2022)'s rho, the library's constant


def karras_sigmas(sigma_min: float, sigma_max: float, n: int, rho: float = RHO) -> np.ndarray:
    r"""$\sigma_k = (\sigma_{\max}^{1/\rho} + \tfrac{k}{n-1}(\sigma_{\min}^{1/\rho} - \sigma_{\max}^{1/\rho}))^\rho$,
    $k = 0, \dots, n-1$ (Karras et al. 2022, eq. (5))."""
    ramp = np.linspace(0.0, 1.0, n)
    return (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho


def sigma_to_t(sigma, log_sigmas) -> np.ndarray:
    r"""The real-valued timestep of level $\sigma$: with $\ell_j = \log\sigma_j$ the increasing training levels and
    $j$ the last with $\ell_j \le \log\sigma$ (clipped to $[0, T-2]$), $t = j + w$,
    $w = \mathrm{clip}((\ell_j - \log\sigma)/(\ell_j - \ell_{j+1}), 0, 1)$: linear in $\log\sigma$ (k-diffusion's
    `sigma_to_t`); $\sigma$ is floored at $10^{-10}$ as in the library."""
    sigma = np.asarray(sigma, np.float64)
    log_sigma = np.log(np.maximum(sigma, 1e-10))
    low = np.clip(np.searchsorted(log_sigmas, log_sigma, side="right") - 1, 0, log_sigmas.shape[0] - 2)
    w = np.clip((log_sigmas[low] - log_sigma) / (log_sigmas[low] - log_sigmas[low + 1]), 0.0, 1.0)
    return ((1 - w) * low + w * (low + 1)).reshape(sigma.shape)


class _SigmaTwin:
    """Base of the Euler twins: the σ-schedule, the step index and the methods they share."""

    order = 1

    def _init_sigmas(self, config: dict, dtype):
        T = init_schedule(self, config, dtype, 2)
        # σ_t = sqrt(expm1(-log ᾱ_t)) of the stored ᾱ, stored in the twin's dtype (the library's float32)
        self._train_sigmas = np.sqrt(np.expm1(-self.schedule.log_alphas_cumprod)).astype(self.dtype)
        self._log_sigmas = np.log(self._train_sigmas.astype(np.float64))
        self.timesteps = np.linspace(0, T - 1, T)[::-1].astype(self.dtype)
        self.sigmas = np.concatenate([self._train_sigmas[::-1], np.zeros(1, self.dtype)])
        self.is_scale_input_called = False
        self._step_index = None
        self._begin_index = None

    @property
    def chain(self):
        """The `DDPMChain` behind the schedule (index $i = t + 1$ for diffusers timestep $t$)."""
        return self.schedule.chain

    def __len__(self) -> int:
        return self.config.num_train_timesteps

    @property
    def init_noise_sigma(self):
        r"""$\sigma_{\max}$ (`linspace`, `trailing`), or $\sqrt{\sigma_{\max}^2 + 1}$ (`leading`, as the library)."""
        sigma_max = self.dtype(np.max(self.sigmas))
        if self.config.timestep_spacing in ("linspace", "trailing"):
            return sigma_max
        return self.dtype(np.sqrt(np.float64(sigma_max) ** 2 + 1))

    @property
    def step_index(self):
        return self._step_index

    @property
    def begin_index(self):
        return self._begin_index

    def set_begin_index(self, begin_index: int = 0) -> None:
        self._begin_index = begin_index

    def index_for_timestep(self, timestep, schedule_timesteps=None) -> int:
        """The position of `timestep` in the schedule (the second of several matches, as the library)."""
        schedule_timesteps = self.timesteps if schedule_timesteps is None else np.asarray(schedule_timesteps)
        where = np.flatnonzero(schedule_timesteps == np.asarray(timestep))
        if where.size == 0:
            raise ValueError(f"{type(self).__name__}: timestep {timestep!r} is not in timesteps")
        return int(where[1 if where.size > 1 else 0])

    def _init_step_index(self, timestep) -> None:
        self._step_index = self.index_for_timestep(timestep) if self.begin_index is None else self._begin_index

    def scale_model_input(self, sample, timestep):
        r"""$\tilde x/\sqrt{\sigma^2 + 1}$ at the current step's $\sigma$ (the VP sample the model was trained on)."""
        if self.step_index is None:
            self._init_step_index(timestep)
        sigma = np.float64(self.sigmas[self.step_index])
        self.is_scale_input_called = True
        return (as_array(f"{type(self).__name__}.scale_model_input", "sample", sample) / np.sqrt(sigma**2 + 1)).astype(
            self.dtype
        )

    def add_noise(self, original_samples, noise, timesteps):
        r"""$\tilde x = x_0 + \sigma\,\epsilon$ with $\sigma$ at each example's timestep (the VE form of the kernel)."""
        owner = f"{type(self).__name__}.add_noise"
        x0, noise = as_array(owner, "original_samples", original_samples), as_array(owner, "noise", noise)
        if noise.shape != x0.shape:
            raise ValueError(f"{owner}: noise must have the shape of original_samples {x0.shape}; got {noise.shape}")
        timesteps = np.asarray(timesteps).reshape(-1)
        if self.begin_index is None:
            indices = [self.index_for_timestep(t) for t in timesteps]
        else:
            indices = [self.step_index if self.step_index is not None else self.begin_index] * timesteps.shape[0]
        sigma = per_example(self.sigmas[indices].astype(np.float64), x0.ndim)
        return (x0 + noise * sigma).astype(self.dtype)

    def _check_step(self, owner, timestep, model_output, sample):
        if isinstance(timestep, int) or np.issubdtype(np.asarray(timestep).dtype, np.integer):
            raise ValueError(f"{owner}: pass one of scheduler.timesteps as timestep, not an integer index")
        out, x = as_array(owner, "model_output", model_output), as_array(owner, "sample", sample)
        if out.shape != x.shape:
            raise ValueError(f"{owner}: model_output must have the shape of sample {x.shape}; got {out.shape}")
        if self.step_index is None:
            self._init_step_index(timestep)
        if self.step_index + 1 >= self.sigmas.shape[0]:
            raise ValueError(f"{owner}: no step left (step_index {self.step_index}, {self.sigmas.shape[0]} sigmas)")
        return out, x

    def _x0(self, out, x, sigma_in, sigma):
        kind = self.config.prediction_type
        if kind == "epsilon":
            return x - sigma_in * out
        if kind == "v_prediction":
            return out * (-sigma / np.sqrt(sigma**2 + 1)) + x / (sigma**2 + 1)
        return out


class EulerDiscreteScheduler(_SigmaTwin):
    """Twin of `diffusers.EulerDiscreteScheduler` (same arguments and defaults; `dtype=np.float32` stores ᾱ, σ and the
    timesteps in float32 as the library does). `step` takes the churn noise as `noise` (needed when γ > 0)."""

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        trained_betas=None,
        prediction_type: str = "epsilon",
        interpolation_type: str = "linear",
        use_karras_sigmas: bool = False,
        use_exponential_sigmas: bool = False,
        use_beta_sigmas: bool = False,
        sigma_min: float | None = None,
        sigma_max: float | None = None,
        timestep_spacing: str = "linspace",
        timestep_type: str = "discrete",
        steps_offset: int = 0,
        rescale_betas_zero_snr: bool = False,
        final_sigmas_type: str = "zero",
        *,
        dtype=np.float64,
    ):
        owner = "EulerDiscreteScheduler"
        if sum([bool(use_karras_sigmas), bool(use_exponential_sigmas), bool(use_beta_sigmas)]) > 1:
            raise ValueError(f"{owner}: use at most one of use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas")
        check_choice(owner, "interpolation_type", interpolation_type, ("linear", "log_linear"))
        check_choice(owner, "timestep_type", timestep_type, ("discrete", "continuous"))
        check_choice(owner, "final_sigmas_type", final_sigmas_type, ("zero", "sigma_min"))
        config = {k: v for k, v in locals().items() if k not in ("self", "dtype", "owner", "__class__")}
        self._init_sigmas(config, dtype)
        self.use_karras_sigmas = use_karras_sigmas
        self.use_exponential_sigmas = use_exponential_sigmas
        self.use_beta_sigmas = use_beta_sigmas
        if timestep_type == "continuous" and prediction_type == "v_prediction":
            self.timesteps = (0.25 * np.log(self._train_sigmas[::-1].astype(np.float64))).astype(self.dtype)

    def _sigma_to_t(self, sigma, log_sigmas):
        return sigma_to_t(sigma, log_sigmas)

    def _ends(self, in_sigmas):
        lo = self.config.sigma_min if self.config.sigma_min is not None else float(in_sigmas[-1])
        hi = self.config.sigma_max if self.config.sigma_max is not None else float(in_sigmas[0])
        return lo, hi

    def _convert_to_karras(self, in_sigmas, num_inference_steps):
        return karras_sigmas(*self._ends(in_sigmas), num_inference_steps)

    def _convert_to_exponential(self, in_sigmas, num_inference_steps):
        lo, hi = self._ends(in_sigmas)
        return np.exp(np.linspace(math.log(hi), math.log(lo), num_inference_steps))

    def _convert_to_beta(self, in_sigmas, num_inference_steps, alpha: float = 0.6, beta: float = 0.6):
        r"""$\sigma_k = \sigma_{\min} + F^{-1}(1 - \tfrac{k}{n-1})(\sigma_{\max} - \sigma_{\min})$, $F$ the
        Beta(0.6, 0.6) distribution function (Lee et al. 2024)."""
        lo, hi = self._ends(in_sigmas)
        ppf = scipy.stats.beta.ppf(1 - np.linspace(0, 1, num_inference_steps), alpha, beta)
        return lo + ppf * (hi - lo)

    def set_timesteps(self, num_inference_steps: int | None = None, device=None, timesteps=None, sigmas=None):
        """Inference timesteps and levels (module docstring); custom `timesteps` or `sigmas` as in the library."""
        owner, cfg, T = "EulerDiscreteScheduler.set_timesteps", self.config, self.config.num_train_timesteps
        given = [a is not None for a in (num_inference_steps, timesteps, sigmas)]
        if sum(given) != 1:
            raise ValueError(f"{owner}: pass exactly one of num_inference_steps, timesteps, sigmas")
        if timesteps is not None and (cfg.use_karras_sigmas or cfg.use_exponential_sigmas or cfg.use_beta_sigmas):
            raise ValueError(f"{owner}: custom timesteps cannot be combined with Karras/exponential/beta sigmas")
        if num_inference_steps is None:
            num_inference_steps = len(timesteps) if timesteps is not None else len(sigmas) - 1
        n = self.num_inference_steps = check_int(owner, "num_inference_steps", num_inference_steps, 1)
        train = self._train_sigmas.astype(np.float64)
        if sigmas is not None:
            sigmas = np.asarray(sigmas, np.float64).astype(self.dtype).astype(np.float64)
            timesteps = sigma_to_t(sigmas[:-1], self._log_sigmas)
        else:
            if timesteps is not None:
                timesteps = np.asarray(timesteps, np.float64).astype(self.dtype).astype(np.float64)
            else:
                check_int(owner, "num_inference_steps", n, 1, T)
                spaced = spaced_timesteps(owner, cfg.timestep_spacing, T, n, cfg.steps_offset)
                timesteps = spaced.astype(self.dtype).astype(np.float64)
            if cfg.interpolation_type == "linear":
                sigmas = np.interp(timesteps, np.arange(T, dtype=np.float64), train)
            else:  # a geometric grid of n + 1 levels between the ends (the library's log_linear)
                sigmas = np.exp(np.linspace(np.log(train[-1]), np.log(train[0]), n + 1))
            convert = {
                "use_karras_sigmas": self._convert_to_karras,
                "use_exponential_sigmas": self._convert_to_exponential,
                "use_beta_sigmas": self._convert_to_beta,
            }
            for flag, fn in convert.items():
                if cfg[flag]:
                    sigmas = fn(sigmas, n)
                    timesteps = sigma_to_t(sigmas, self._log_sigmas)
            last = train[0] if cfg.final_sigmas_type == "sigma_min" else 0.0
            sigmas = np.concatenate([sigmas, [last]])
        self.sigmas = sigmas.astype(self.dtype)
        if cfg.timestep_type == "continuous" and cfg.prediction_type == "v_prediction":
            timesteps = 0.25 * np.log(self.sigmas[:-1].astype(np.float64))
        self.timesteps = np.asarray(timesteps).astype(self.dtype)
        self._step_index, self._begin_index = None, None

    def step(
        self,
        model_output,
        timestep,
        sample,
        s_churn: float = 0.0,
        s_tmin: float = 0.0,
        s_tmax: float = float("inf"),
        s_noise: float = 1.0,
        generator=None,
        return_dict: bool = True,
        *,
        noise=None,
    ):
        r"""One Euler step from $\sigma$ = `sigmas[step_index]` to the next level, with churn (module docstring).
        **Returns** `EulerDiscreteSchedulerOutput(prev_sample, pred_original_sample)` (or the tuple)."""
        owner = "EulerDiscreteScheduler.step"
        check_no_generator(owner, generator)
        out, x = self._check_step(owner, timestep, model_output, sample)
        sigma = np.float64(self.sigmas[self.step_index])
        gamma = min(s_churn / (self.sigmas.shape[0] - 1), 2**0.5 - 1) if s_tmin <= sigma <= s_tmax else 0.0
        sigma_hat = sigma * (gamma + 1)
        if gamma > 0:
            x = x + s_noise * check_noise(owner, "noise", noise, out.shape) * np.sqrt(sigma_hat**2 - sigma**2)
        x0 = self._x0(out, x, sigma_hat, sigma)
        derivative = (x - x0) / sigma_hat
        prev = x + derivative * (np.float64(self.sigmas[self.step_index + 1]) - sigma_hat)
        self._step_index += 1
        result = (prev.astype(self.dtype), x0.astype(self.dtype))
        return EulerDiscreteSchedulerOutput(*result) if return_dict else result


class EulerAncestralDiscreteScheduler(_SigmaTwin):
    """Twin of `diffusers.EulerAncestralDiscreteScheduler` (same arguments and defaults; `dtype=np.float32` as the
    library stores its schedule). `step` takes the library's draw as `noise` (needed unless the next level is 0)."""

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        trained_betas=None,
        prediction_type: str = "epsilon",
        timestep_spacing: str = "linspace",
        steps_offset: int = 0,
        rescale_betas_zero_snr: bool = False,
        *,
        dtype=np.float64,
    ):
        if prediction_type == "sample":
            raise NotImplementedError("EulerAncestralDiscreteScheduler: prediction_type 'sample' (as the library)")
        config = {k: v for k, v in locals().items() if k not in ("self", "dtype", "__class__")}
        self._init_sigmas(config, dtype)

    def set_timesteps(self, num_inference_steps: int, device=None):
        """Timesteps by `timestep_spacing`, levels interpolated linearly in $t$, and a final 0."""
        owner, T = "EulerAncestralDiscreteScheduler.set_timesteps", self.config.num_train_timesteps
        n = self.num_inference_steps = check_int(owner, "num_inference_steps", num_inference_steps, 1, T)
        spaced = spaced_timesteps(owner, self.config.timestep_spacing, T, n, self.config.steps_offset)
        timesteps = spaced.astype(self.dtype).astype(np.float64)
        sigmas = np.interp(timesteps, np.arange(T, dtype=np.float64), self._train_sigmas.astype(np.float64))
        self.sigmas = np.concatenate([sigmas, [0.0]]).astype(self.dtype)
        self.timesteps = timesteps.astype(self.dtype)
        self._step_index, self._begin_index = None, None

    def step(self, model_output, timestep, sample, generator=None, return_dict: bool = True, *, noise=None):
        r"""One ancestral Euler step from $\sigma$ to $\sigma'$ (module docstring). **Returns**
        `EulerAncestralDiscreteSchedulerOutput(prev_sample, pred_original_sample)` (or the tuple)."""
        owner = "EulerAncestralDiscreteScheduler.step"
        check_no_generator(owner, generator)
        out, x = self._check_step(owner, timestep, model_output, sample)
        sigma = np.float64(self.sigmas[self.step_index])
        sigma_to = np.float64(self.sigmas[self.step_index + 1])
        sigma_up = sigma_to * np.sqrt(1 - (sigma_to / sigma) ** 2)
        sigma_down = sigma_to**2 / sigma
        x0 = self._x0(out, x, sigma, sigma)
        prev = x + (x - x0) / sigma * (sigma_down - sigma)
        if sigma_up > 0:
            prev = prev + check_noise(owner, "noise", noise, out.shape) * sigma_up
        self._step_index += 1
        result = (prev.astype(self.dtype), x0.astype(self.dtype))
        return EulerAncestralDiscreteSchedulerOutput(*result) if return_dict else result
