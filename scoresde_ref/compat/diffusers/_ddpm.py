r"""Twin of diffusers' `DDPMScheduler`: ancestral sampling of the DDPM chain (Ho et al. 2020, eqs. (6)–(7)).

One step from timestep $t$ to $t'$ (the next entry of `timesteps`, $-1$ after the last; $\bar\alpha_{-1} = 1$) is a
draw from the Gaussian posterior $q(x_{t'} \mid x_t, \hat x_0)$ of the chain: with
$\alpha = \bar\alpha_t/\bar\alpha_{t'}$ and $\beta = 1 - \alpha$ (the step's own $\beta$, not `betas[t]`, when
steps are skipped: PR #3006),

$$\mu = \frac{\sqrt{\bar\alpha_{t'}}\,\beta}{1 - \bar\alpha_t}\hat x_0
+ \frac{\sqrt\alpha\,(1 - \bar\alpha_{t'})}{1 - \bar\alpha_t}x_t,
\qquad \tilde\beta = \frac{1 - \bar\alpha_{t'}}{1 - \bar\alpha_t}\beta,$$

the posterior of $x_{t'} \sim \mathcal N(\sqrt{\bar\alpha_{t'}}\hat x_0, 1 - \bar\alpha_{t'})$ given
$x_t = \sqrt\alpha\,x_{t'} + \sqrt\beta\,z$ (derivations/compat.md §diffusers). `prev_sample`
$= \mu + \varsigma\,$`noise` for $t > 0$, with $\varsigma$ by `variance_type`: `fixed_small` and `fixed_small_log`
$\sqrt{\tilde\beta}$ (the library clamps
$\tilde\beta \ge 10^{-20}$), `fixed_large` and `fixed_large_log` $\sqrt\beta$, `learned` $\sqrt{v}$ of the model's
variance output $v$, `learned_range` $\exp(\tfrac12[f\log\beta + (1-f)\log\tilde\beta])$, $f = (v + 1)/2$.

**Deviation** (`fixed_large_log`, diffusers #14569, PR #14571 open): the library's `_get_variance` returns $\log\beta$
and `step` takes its square root, so every sample is NaN; the twin uses $\exp(\tfrac12\log\beta) = \sqrt\beta$ (what the
fix does, equal to `fixed_large`).
"""

import numpy as np

from ._discrete import DiscreteTwin, as_timestep, check_no_generator, check_noise, kernel_from_log
from ._output import DDPMSchedulerOutput
from ._schedule import as_array, check_choice, check_int, spaced_timesteps

VARIANCE_TYPES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range")


class DDPMScheduler(DiscreteTwin):
    """Twin of `diffusers.DDPMScheduler` (same arguments and defaults; `dtype=np.float32` stores the schedule as the
    library does: see `DiscreteSchedule`). `step` takes the library's random draw as `noise`."""

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        trained_betas=None,
        variance_type: str = "fixed_small",
        clip_sample: bool = True,
        prediction_type: str = "epsilon",
        thresholding: bool = False,
        dynamic_thresholding_ratio: float = 0.995,
        clip_sample_range: float = 1.0,
        sample_max_value: float = 1.0,
        timestep_spacing: str = "leading",
        steps_offset: int = 0,
        rescale_betas_zero_snr: bool = False,
        *,
        dtype=np.float64,
    ):
        check_choice("DDPMScheduler", "variance_type", variance_type, VARIANCE_TYPES)
        config = {k: v for k, v in locals().items() if k not in ("self", "dtype", "__class__")}
        self._init_schedule(config, dtype)
        self.custom_timesteps = False
        self.variance_type = variance_type

    def set_timesteps(self, num_inference_steps: int | None = None, device=None, timesteps=None):
        """The inference timesteps by `timestep_spacing` (`leading`, `trailing`, `linspace` rounded to integers:
        `spaced_timesteps`), or custom strictly decreasing `timesteps` below `num_train_timesteps`."""
        owner, T = "DDPMScheduler.set_timesteps", self.config.num_train_timesteps
        if num_inference_steps is not None and timesteps is not None:
            raise ValueError(f"{owner}: pass one of num_inference_steps or timesteps, not both")
        if timesteps is not None:
            timesteps = np.asarray(timesteps, np.int64)
            if timesteps.ndim != 1 or np.any(np.diff(timesteps) >= 0) or timesteps[0] >= T or timesteps[-1] < 0:
                raise ValueError(f"{owner}: timesteps must be strictly decreasing integers in [0, {T - 1}]")
            self.custom_timesteps, self.timesteps = True, timesteps
            return
        n = check_int(owner, "num_inference_steps", num_inference_steps, 1, T)
        self.num_inference_steps, self.custom_timesteps = n, False
        spaced = spaced_timesteps(owner, self.config.timestep_spacing, T, n, self.config.steps_offset)
        self.timesteps = np.round(spaced).astype(np.int64)

    def previous_timestep(self, timestep) -> int:
        """The next entry of `timesteps` after `timestep` ($-1$ after the last); $t - 1$ before `set_timesteps`."""
        t = as_timestep("DDPMScheduler.previous_timestep", timestep)
        if not (self.custom_timesteps or self.num_inference_steps):
            return t - 1
        where = np.flatnonzero(self.timesteps == t)
        if where.size == 0:
            raise ValueError(
                f"DDPMScheduler.previous_timestep: timestep {t} is not in timesteps {self.timesteps.tolist()}"
            )
        k = int(where[0])
        return int(self.timesteps[k + 1]) if k + 1 < self.timesteps.shape[0] else -1

    def _logs(self, t: int):
        r"""$\log\bar\alpha_t$, $\log\bar\alpha_{t'}$, $\log\alpha = \log\bar\alpha_t - \log\bar\alpha_{t'}$."""
        prev_t = self.previous_timestep(t)
        log_ab_t = float(self.schedule.log_alpha_bar(t))
        log_ab_prev = float(self.schedule.log_alpha_bar(prev_t, final=0.0))
        return log_ab_t, log_ab_prev, log_ab_t - log_ab_prev

    def _get_variance(self, t, predicted_variance=None, variance_type=None):
        r"""The library's `_get_variance`: $\tilde\beta$ (clamped at $10^{-20}$), its square root for
        `fixed_small_log`, $\beta$, $\log\beta$ for `fixed_large_log`, the model's $v$, or the `learned_range` log
        variance (module docstring)."""
        log_ab_t, log_ab_prev, log_alpha = self._logs(as_timestep("DDPMScheduler._get_variance", t))
        beta = -np.expm1(log_alpha)
        post = max(-np.expm1(log_ab_prev) / -np.expm1(log_ab_t) * beta, 1e-20)
        kind = variance_type or self.config.variance_type
        if kind == "fixed_small":
            return post
        if kind == "fixed_small_log":
            return np.exp(0.5 * np.log(post))
        if kind == "fixed_large":
            return beta
        if kind == "fixed_large_log":
            return np.log(beta)
        if kind == "learned":
            return predicted_variance
        frac = (predicted_variance + 1) / 2
        return frac * np.log(beta) + (1 - frac) * np.log(post)

    def _noise_std(self, t, predicted_variance):
        kind = self.config.variance_type
        variance = self._get_variance(t, predicted_variance)
        if kind == "fixed_small_log":
            return variance  # already the standard deviation
        if kind in ("learned_range", "fixed_large_log"):  # log variances (fixed_large_log: #14569, see module doc)
            return np.exp(0.5 * variance)
        return np.sqrt(variance)

    def step(self, model_output, timestep, sample, generator=None, return_dict: bool = True, *, noise=None):
        r"""One ancestral step $x_t \to x_{t'}$ (module docstring); `noise` is the library's `randn_tensor` draw,
        needed when $t > 0$. **Returns** `DDPMSchedulerOutput(prev_sample, pred_original_sample)` (or the tuple)."""
        owner = "DDPMScheduler.step"
        check_no_generator(owner, generator)
        t = as_timestep(owner, timestep)
        out, x = as_array(owner, "model_output", model_output), as_array(owner, "sample", sample)
        predicted_variance = None
        if out.shape[1] == 2 * x.shape[1] and self.variance_type in ("learned", "learned_range"):
            out, predicted_variance = out[:, : x.shape[1]], out[:, x.shape[1] :]
        if out.shape != x.shape:
            raise ValueError(f"{owner}: model_output must have the shape of sample {x.shape}; got {out.shape}")
        log_ab_t, log_ab_prev, log_alpha = self._logs(t)
        m, s = kernel_from_log(log_ab_t)
        x0 = self._clip(self._predict(out, x, m, s)[0])
        beta, one_minus_ab, one_minus_ab_prev = -np.expm1(log_alpha), s**2, -np.expm1(log_ab_prev)
        coeff_x0 = np.exp(0.5 * log_ab_prev) * beta / one_minus_ab
        coeff_xt = np.exp(0.5 * log_alpha) * one_minus_ab_prev / one_minus_ab
        prev = coeff_x0 * x0 + coeff_xt * x
        if t > 0:
            prev = prev + self._noise_std(t, predicted_variance) * check_noise(owner, "noise", noise, out.shape)
        result = (prev.astype(self.dtype), x0.astype(self.dtype))
        return DDPMSchedulerOutput(*result) if return_dict else result
