r"""Twin of diffusers' `DDIMScheduler` (Song, Meng & Ermon 2021, eqs. (12) and (16)).

One step from timestep $t$ to $t' = t - \lfloor T/n \rfloor$ ($\bar\alpha_{t'}$ = `final_alpha_cumprod` when
$t' < 0$: 1 with `set_alpha_to_one`, else $\bar\alpha_0$):

$$x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1 - \bar\alpha_{t'} - \varsigma^2}\,\hat\epsilon + \varsigma z,
\qquad
\varsigma = \eta\sqrt{\frac{1 - \bar\alpha_{t'}}{1 - \bar\alpha_t}\Big(1 - \frac{\bar\alpha_t}{\bar\alpha_{t'}}\Big)}.$$

$\eta = 0$ is the first-order exponential integrator of the probability-flow ODE (`scoresde_ref.samplers.ddim_sample`,
the same formula on a VP SDE's grid); $\eta = 1$ is the DDPM posterior draw. The radicand is evaluated as
$(1 - \bar\alpha_{t'})\,[1 - \eta^2(1 - \bar\alpha_t/\bar\alpha_{t'})/(1 - \bar\alpha_t)]$, nonnegative for
$\eta \le 1$ (the library subtracts and can round below zero in float32).

**Deviations, reproduced** (derivations/compat.md §diffusers): `leading` spacing starts at
$(n-1)\lfloor T/n\rfloor$ + `steps_offset` (980 for 50 of 1000 steps, #2585; `trailing` starts at $T - 1$);
$t' = t - \lfloor T/n\rfloor$ is not the next entry of `timesteps` under `trailing`/`linspace` when $n \nmid T$
(#9261, #12633; `DDPMScheduler.previous_timestep` reads the schedule instead).
"""

import numpy as np

from ._discrete import DiscreteTwin, as_timestep, check_no_generator, check_noise, kernel_from_log
from ._output import DDIMSchedulerOutput
from ._schedule import as_array, check_int, spaced_timesteps


class DDIMScheduler(DiscreteTwin):
    """Twin of `diffusers.DDIMScheduler` (same arguments and defaults; `dtype=np.float32` stores the schedule as the
    library does). `step` takes the library's draw as `variance_noise` (its own argument), needed when `eta > 0`."""

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 0.0001,
        beta_end: float = 0.02,
        beta_schedule: str = "linear",
        trained_betas=None,
        clip_sample: bool = True,
        set_alpha_to_one: bool = True,
        steps_offset: int = 0,
        prediction_type: str = "epsilon",
        thresholding: bool = False,
        dynamic_thresholding_ratio: float = 0.995,
        clip_sample_range: float = 1.0,
        sample_max_value: float = 1.0,
        timestep_spacing: str = "leading",
        rescale_betas_zero_snr: bool = False,
        *,
        dtype=np.float64,
    ):
        config = {k: v for k, v in locals().items() if k not in ("self", "dtype", "__class__")}
        self._init_schedule(config, dtype)
        self._log_final = 0.0 if set_alpha_to_one else float(self.schedule.log_alphas_cumprod[0])
        self.final_alpha_cumprod = self.dtype(np.exp(self._log_final))

    def set_timesteps(self, num_inference_steps: int, device=None):
        """The inference timesteps by `timestep_spacing` (`spaced_timesteps`, rounded to integers)."""
        owner, T = "DDIMScheduler.set_timesteps", self.config.num_train_timesteps
        n = check_int(owner, "num_inference_steps", num_inference_steps, 1, T)
        self.num_inference_steps = n
        spaced = spaced_timesteps(owner, self.config.timestep_spacing, T, n, self.config.steps_offset)
        self.timesteps = np.round(spaced).astype(np.int64)

    def _logs(self, timestep: int):
        prev_timestep = timestep - self.config.num_train_timesteps // self.num_inference_steps
        log_ab_t = float(self.schedule.log_alpha_bar(timestep))
        return log_ab_t, float(self.schedule.log_alpha_bar(prev_timestep, final=self._log_final))

    def _get_variance(self, timestep, prev_timestep):
        r"""$\frac{1 - \bar\alpha_{t'}}{1 - \bar\alpha_t}(1 - \bar\alpha_t/\bar\alpha_{t'})$ (eq. (16), $\eta = 1$)."""
        log_ab_t = float(self.schedule.log_alpha_bar(timestep))
        log_ab_prev = float(self.schedule.log_alpha_bar(prev_timestep, final=self._log_final))
        return -np.expm1(log_ab_prev) / -np.expm1(log_ab_t) * -np.expm1(log_ab_t - log_ab_prev)

    def step(
        self,
        model_output,
        timestep,
        sample,
        eta: float = 0.0,
        use_clipped_model_output: bool = False,
        generator=None,
        variance_noise=None,
        return_dict: bool = True,
    ):
        r"""One DDIM step $x_t \to x_{t'}$ (module docstring). **Returns** `DDIMSchedulerOutput(prev_sample,
        pred_original_sample)` (or the tuple)."""
        owner = "DDIMScheduler.step"
        check_no_generator(owner, generator)
        if self.num_inference_steps is None:
            raise ValueError(f"{owner}: num_inference_steps is None; run set_timesteps first")
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"{owner}: eta must lie in [0, 1]; got {eta!r}")
        t = as_timestep(owner, timestep)
        out, x = as_array(owner, "model_output", model_output), as_array(owner, "sample", sample)
        if out.shape != x.shape:
            raise ValueError(f"{owner}: model_output must have the shape of sample {x.shape}; got {out.shape}")
        log_ab_t, log_ab_prev = self._logs(t)
        m, s = kernel_from_log(log_ab_t)
        x0, eps = self._predict(out, x, m, s)
        x0 = self._clip(x0)
        ratio = -np.expm1(log_ab_t - log_ab_prev) / s**2  # (1 - ᾱ_t/ᾱ_t') / (1 - ᾱ_t)
        one_minus_ab_prev = -np.expm1(log_ab_prev)
        std = eta * np.sqrt(one_minus_ab_prev * ratio)
        if use_clipped_model_output:
            eps = (x - m * x0) / s
        prev = np.exp(0.5 * log_ab_prev) * x0 + np.sqrt(one_minus_ab_prev * (1 - eta**2 * ratio)) * eps
        if eta > 0:
            prev = prev + std * check_noise(owner, "variance_noise", variance_noise, out.shape)
        result = (prev.astype(self.dtype), x0.astype(self.dtype))
        return DDIMSchedulerOutput(*result) if return_dict else result
