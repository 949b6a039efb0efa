r"""Mutants: one target per known implementation bug, each a small subclass or wrapper of a twin that plants exactly
that bug (derivations/conformance.md §mutants). The harness must flag every one and pass every unmutated twin
(tests/test_mutants.py). They live in the package, not in `tests/`, so that `scoresde-ref check --target
scoresde_ref.check._mutants:DDIMLeading --twin diffusers.DDIMScheduler` demonstrates a failure on any install.

`MUTANTS` maps a name to `(target, twin name, upstream thread)`.
"""

import numpy as np

from ..compat import diffusers as twins
from ..compat.k_diffusion import sampling as kd
from ..compat.score_sde import sampling as ss
from . import _specs_paper


class DDIMLeading(twins.DDIMScheduler):
    """DDIM that ignores `timestep_spacing` and always spaces `leading`: 50 of 1000 steps start at 980, not 999
    (diffusers #2585)."""

    def set_timesteps(self, num_inference_steps, device=None):
        n = num_inference_steps
        T = self.config.num_train_timesteps
        self.num_inference_steps = n
        self.timesteps = (np.arange(n) * (T // n))[::-1].astype(np.int64) + self.config.steps_offset


class DDPMPreviousOffSchedule(twins.DDPMScheduler):
    """DDPM whose previous timestep is $t - \\lfloor T/n \\rfloor$, off the schedule under `trailing` / `linspace`
    when $n \\nmid T$ (diffusers #9261, #12633)."""

    def previous_timestep(self, timestep):
        if not self.num_inference_steps:
            return super().previous_timestep(timestep)
        return int(timestep) - self.config.num_train_timesteps // self.num_inference_steps


class DDPMFloat16AlphaBar(twins.DDPMScheduler):
    """DDPM whose $\\bar\\alpha$ is downcast to float16 (diffusers PR #3005; stable-diffusion-webui #14071): every
    $\\bar\\alpha_t > 1 - 2^{-11}$ rounds to 1."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        half = np.exp(self.schedule.log_alphas_cumprod).astype(np.float16).astype(np.float64)
        with np.errstate(divide="ignore"):
            self.schedule.log_alphas_cumprod = np.log(half)


class DDPMSqrtLogVariance(twins.DDPMScheduler):
    """DDPM whose `fixed_large_log` noise std is $\\sqrt{\\log\\beta}$, NaN (diffusers #14569)."""

    def _noise_std(self, t, predicted_variance):
        if self.config.variance_type == "fixed_large_log":
            with np.errstate(invalid="ignore"):
                return np.sqrt(self._get_variance(t, predicted_variance))
        return super()._noise_std(t, predicted_variance)


class DDIMEtaMisuse(twins.DDIMScheduler):
    """DDIM whose direction coefficient is $\\sqrt{1 - \\bar\\alpha_{t'} - \\eta\\,v}$ instead of
    $\\sqrt{1 - \\bar\\alpha_{t'} - \\eta^2 v}$, $v$ the $\\eta = 1$ variance (inbarhub/DDPM_inversion #12)."""

    def step(self, model_output, timestep, sample, eta=0.0, use_clipped_model_output=False, generator=None,
             variance_noise=None, return_dict=True):  # fmt: skip
        # eta_mutant^2 = eta makes the exact step's sigma^2 = eta^2 v the mutant's eta v, but also its noise term
        # eta_mutant * sqrt(v) z; put the noise back to eta sqrt(v) z so only the direction coefficient is wrong.
        t, x = int(timestep), np.asarray(sample, np.float64)
        wrong = super().step(model_output, t, x, float(np.sqrt(eta)), use_clipped_model_output, None,
                             variance_noise, True)  # fmt: skip
        if eta > 0 and variance_noise is not None:
            prev_t = t - self.config.num_train_timesteps // self.num_inference_steps
            std = np.sqrt(self._get_variance(t, prev_t))
            noise = np.asarray(variance_noise, np.float64)
            prev = wrong.prev_sample + (eta - np.sqrt(eta)) * std * noise
            wrong = twins.DDIMSchedulerOutput(prev.astype(self.dtype), wrong.pred_original_sample)
        return wrong if return_dict else tuple(wrong)


class DDIMFinalAlphaBar0(twins.DDIMScheduler):
    """DDIM whose final $\\bar\\alpha_{\\text{prev}}$ is $\\bar\\alpha_0$ even with `set_alpha_to_one=True`
    (Stability-AI/stablediffusion PR #345)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._log_final = float(self.schedule.log_alphas_cumprod[0])
        self.final_alpha_cumprod = self.dtype(np.exp(self._log_final))


#: EDM's generate.py VP sampler derives beta_d from sigma_min = 0.002, sigma_max = 80, eps_s = 1e-3 (NVlabs/edm #5):
#: 2 (log(sigma_min^2 + 1)/eps_s - log(sigma_max^2 + 1))/(eps_s - 1) = 17.5, not the training SDE's 19.9.
EDM_BETA_D = 2 * (np.log(0.002**2 + 1) / 1e-3 - np.log(80.0**2 + 1)) / (1e-3 - 1)


def get_sigmas_vp_edm_beta_d(n, beta_d=19.9, beta_min=0.1, eps_s=1e-3, device="cpu", *, dtype=np.float64):
    """`get_sigmas_vp` with EDM's sampling-time $\\beta_d \\approx 17.5$ in place of the SDE's 19.9 (NVlabs/edm #5)."""
    return kd.get_sigmas_vp(n, EDM_BETA_D, beta_min, eps_s, device, dtype=dtype)


#: the library's corrector, alpha_i = 1 - beta_i, where the paper's Algorithm 5 (alpha_bar_i) is asked
#: (score_sde_pytorch #73); the library's PC loop, corrector first, where the paper's order is asked (#50).
CorrectorAlphaOneMinusBeta = ss.LangevinCorrector
corrector_before_predictor = ss.get_pc_sampler

MUTANTS = {
    "ddim_starts_at_980": (DDIMLeading, "diffusers.DDIMScheduler", "diffusers #2585"),
    "previous_timestep_off_schedule": (DDPMPreviousOffSchedule, "diffusers.DDPMScheduler", "diffusers #9261, #12633"),
    "alpha_bar_float16": (DDPMFloat16AlphaBar, "diffusers.DDPMScheduler", "diffusers PR #3005, webui #14071"),
    "sqrt_of_log_variance": (DDPMSqrtLogVariance, "diffusers.DDPMScheduler", "diffusers #14569"),
    "corrector_alpha_one_minus_beta": (CorrectorAlphaOneMinusBeta, "paper.LangevinCorrector", "score_sde_pytorch #73"),
    "edm_vp_beta_d": (get_sigmas_vp_edm_beta_d, "k_diffusion.get_sigmas_vp", "NVlabs/edm #5"),
    "ddim_eta_misuse": (DDIMEtaMisuse, "diffusers.DDIMScheduler", "inbarhub/DDPM_inversion #12"),
    "final_alpha_bar_0": (DDIMFinalAlphaBar0, "diffusers.DDIMScheduler", "Stability-AI/stablediffusion PR #345"),
    "corrector_before_predictor": (corrector_before_predictor, "paper.get_pc_sampler", "score_sde_pytorch #50"),
}

#: the unmutated twins, by the twin name they must pass
UNMUTATED = {
    "diffusers.DDIMScheduler": twins.DDIMScheduler,
    "diffusers.DDPMScheduler": twins.DDPMScheduler,
    "paper.LangevinCorrector": _specs_paper.LangevinCorrector,
    "k_diffusion.get_sigmas_vp": kd.get_sigmas_vp,
    "paper.get_pc_sampler": _specs_paper.get_pc_sampler,
}
