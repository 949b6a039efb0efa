r"""Twins of diffusers' `ScoreSdeVeScheduler` and (deprecated) `ScoreSdeVpScheduler`: one predictor or corrector
step of Song et al. (2021)'s samplers, computed by this project's step objects with the noise given.

- `ScoreSdeVeScheduler.step_pred` is the `ReverseDiffusion` predictor of `discretize(VESDE(sigma_min, sigma_max), N)`
  (`SMLDDiscretization`, $\sigma_i = \sigma_{\min}(\sigma_{\max}/\sigma_{\min})^{(i-1)/(N-1)}$ = `discrete_sigmas`,
  $\sigma_0 = 0$): $x' = x + (\sigma_i^2 - \sigma_{i-1}^2)\,s + \sqrt{\sigma_i^2 - \sigma_{i-1}^2}\,z$, at the
  0-based level $k = i - 1 = \lfloor t\,(n - 1)\rfloor$ for the continuous timestep $t$ among $n$ `timesteps` —
  a truncation, computed in the twin's dtype as the library does (a float32 product just below an integer lands on
  level $k - 1$; the exact alternative is $k = \mathrm{round}(t(n-1))$).
- `step_correct` is `LangevinCorrector(snr, norm="batch")`'s update:
  $\epsilon = 2(r\,\overline{\|z\|}/\overline{\|s\|})^2$
  with norms averaged over the batch (score_sde_pytorch #41), $x' = x + \epsilon s + \sqrt{2\epsilon}\,z$.
- `ScoreSdeVpScheduler.step_pred(score, x, t)` is the `EulerMaruyama` predictor on `VPSDE(beta_min, beta_max)` with
  step $h = 1/n$ (the library's `dt = -1/len(timesteps)`, although its grid `linspace(1, sampling_eps, n)` has spacing
  $(1 - \epsilon)/(n - 1)$) and the model output read as a noise prediction: $s = -\hat\epsilon/\sigma(t)$
  (`EpsParameterisation`), despite the argument's name.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ...chains._discretize import SMLDDiscretization
from ...losses._parameterisation import EpsParameterisation
from ...samplers._correctors import LangevinCorrector
from ...samplers._langevin import langevin_update
from ...samplers._predictors import EulerMaruyama, ReverseDiffusion
from ...sde._ve import VESDE
from ...sde._vp import VPSDE
from ._discrete import check_no_generator, check_noise
from ._output import SchedulerOutput, SdeVeOutput
from ._schedule import FrozenConfig, as_array, check_dtype, check_int, per_example


def _flat(x):
    return jnp.asarray(x.reshape(x.shape[0], -1))


def _back(y, shape, dtype):
    return np.asarray(y).reshape(shape).astype(dtype)


class ScoreSdeVeScheduler:
    """Twin of `diffusers.ScoreSdeVeScheduler` (same arguments and defaults; `dtype=np.float32` keeps the timesteps,
    levels and the level index in float32 as the library). Its steps take the library's draws as `noise`."""

    order = 1

    def __init__(
        self,
        num_train_timesteps: int = 2000,
        snr: float = 0.15,
        sigma_min: float = 0.01,
        sigma_max: float = 1348.0,
        sampling_eps: float = 1e-5,
        correct_steps: int = 1,
        *,
        dtype=np.float64,
    ):
        config = {k: v for k, v in locals().items() if k not in ("self", "dtype", "__class__")}
        self.dtype = check_dtype("ScoreSdeVeScheduler", dtype)
        self.config = FrozenConfig(config)
        with jax.enable_x64(True):
            self.sde = VESDE(float(sigma_min), float(sigma_max))
        self.init_noise_sigma = sigma_max
        self.timesteps = None
        self.set_sigmas(num_train_timesteps, sigma_min, sigma_max, sampling_eps)

    def __len__(self) -> int:
        return self.config.num_train_timesteps

    def scale_model_input(self, sample, timestep=None):
        return sample

    def set_timesteps(self, num_inference_steps: int, sampling_eps: float | None = None, device=None):
        """$n$ continuous timesteps evenly spaced from 1 down to `sampling_eps`."""
        n = check_int("ScoreSdeVeScheduler.set_timesteps", "num_inference_steps", num_inference_steps, 2)
        eps = sampling_eps if sampling_eps is not None else self.config.sampling_eps
        self.timesteps = np.linspace(1.0, eps, n).astype(self.dtype)

    def set_sigmas(self, num_inference_steps: int, sigma_min=None, sigma_max=None, sampling_eps=None):
        r"""`discrete_sigmas`: the $N$ = `num_inference_steps` levels of `discretize(VESDE, N)`; `sigmas`:
        $\sigma(t)$ at the current `timesteps` (set first if unset)."""
        n = check_int("ScoreSdeVeScheduler.set_sigmas", "num_inference_steps", num_inference_steps, 2)
        sigma_min = sigma_min if sigma_min is not None else self.config.sigma_min
        sigma_max = sigma_max if sigma_max is not None else self.config.sigma_max
        eps = sampling_eps if sampling_eps is not None else self.config.sampling_eps
        if self.timesteps is None:
            self.set_timesteps(n, eps)
        with jax.enable_x64(True):
            self.sde = VESDE(float(sigma_min), float(sigma_max))
            self._disc = SMLDDiscretization(self.sde, n)
            self.discrete_sigmas = np.asarray(self._disc.chain.sigmas).astype(self.dtype)
            self.sigmas = np.asarray(self.sde.sigma(jnp.asarray(self.timesteps, jnp.float64))).astype(self.dtype)

    def get_adjacent_sigma(self, timesteps, t):
        """$\\sigma_{k-1}$ at the 0-based levels `timesteps` ($0$ where $k = 0$)."""
        timesteps = np.asarray(timesteps)
        return np.where(timesteps == 0, 0.0, self.discrete_sigmas[np.maximum(timesteps - 1, 0)]).astype(self.dtype)

    def _levels(self, owner, timestep, batch):
        if self.timesteps is None:
            raise ValueError(f"{owner}: timesteps is not set; run set_timesteps first")
        t = np.broadcast_to(np.asarray(timestep, self.dtype), (batch,))
        k = np.floor(t * self.dtype(len(self.timesteps) - 1)).astype(np.int64)  # the library's .long(), in dtype
        if np.any((k < 0) | (k >= self.discrete_sigmas.shape[0])):
            raise ValueError(
                f"{owner}: level index floor(t (n - 1)) must lie in [0, {self.discrete_sigmas.shape[0] - 1}] "
                f"(n = {len(self.timesteps)} timesteps, {self.discrete_sigmas.shape[0]} discrete_sigmas); got {k}"
            )
        return t.astype(np.float64), k

    def step_pred(self, model_output, timestep, sample, generator=None, return_dict: bool = True, *, noise=None):
        """The reverse-diffusion predictor (module docstring); `model_output` is the score. **Returns**
        `SdeVeOutput(prev_sample, prev_sample_mean)` (or the tuple)."""
        owner = "ScoreSdeVeScheduler.step_pred"
        check_no_generator(owner, generator)
        out, x = as_array(owner, "model_output", model_output), as_array(owner, "sample", sample)
        z = check_noise(owner, "noise", noise, x.shape)
        t, k = self._levels(owner, timestep, x.shape[0])

        def one(x_b, out_b, z_b, t_b, i_b):
            return ReverseDiffusion().step(self.sde, lambda y, _: out_b, x_b, t_b, None, i_b, self._disc, z_b)

        with jax.enable_x64(True):
            prev, mean = jax.vmap(one)(_flat(x), _flat(out), _flat(z), jnp.asarray(t), jnp.asarray(k + 1))
        result = (_back(prev, x.shape, self.dtype), _back(mean, x.shape, self.dtype))
        return SdeVeOutput(*result) if return_dict else result

    def step_correct(self, model_output, sample, generator=None, return_dict: bool = True, *, noise=None):
        """One Langevin corrector update (module docstring); `model_output` is the score. **Returns**
        `SchedulerOutput(prev_sample)` (or the 1-tuple)."""
        owner = "ScoreSdeVeScheduler.step_correct"
        check_no_generator(owner, generator)
        if self.timesteps is None:
            raise ValueError(f"{owner}: timesteps is not set; run set_timesteps first")
        out, x = as_array(owner, "model_output", model_output), as_array(owner, "sample", sample)
        z = check_noise(owner, "noise", noise, x.shape)
        with jax.enable_x64(True):
            corrector = LangevinCorrector(self.config.snr, 1, "batch")
            grad, zf = _flat(out), _flat(z)
            step_size = corrector.step_size(self.sde, grad, zf, None, 1, self._disc)  # alpha_i = 1 (VE)
            prev, _ = langevin_update(_flat(x), grad, step_size, zf)
        prev = np.asarray(prev).reshape(x.shape).astype(self.dtype)
        return SchedulerOutput(prev) if return_dict else (prev,)

    def add_noise(self, original_samples, noise, timesteps):
        r"""$x_0 + \sigma_k\,\epsilon$ at the 0-based levels `timesteps` (the SMLD kernel; the library needs 4-D
        samples, the twin any rank)."""
        owner = "ScoreSdeVeScheduler.add_noise"
        x0 = as_array(owner, "original_samples", original_samples)
        noise = check_noise(owner, "noise", noise, x0.shape)
        sigma = per_example(self.discrete_sigmas[np.asarray(timesteps)].astype(np.float64), x0.ndim)
        return (x0 + noise * sigma).astype(self.dtype)


class ScoreSdeVpScheduler:
    """Twin of `diffusers.schedulers.deprecated.ScoreSdeVpScheduler` (same arguments and defaults).
    `step_pred(score, x, t, generator=None, *, noise)` returns the library's plain tuple `(x, x_mean)`."""

    order = 1

    def __init__(self, num_train_timesteps=2000, beta_min=0.1, beta_max=20, sampling_eps=1e-3, *, dtype=np.float64):
        config = {k: v for k, v in locals().items() if k not in ("self", "dtype", "__class__")}
        self.dtype = check_dtype("ScoreSdeVpScheduler", dtype)
        self.config = FrozenConfig(config)
        with jax.enable_x64(True):
            self.sde = VPSDE(float(beta_min), float(beta_max))
        self.sigmas = None
        self.discrete_sigmas = None
        self.timesteps = None

    def __len__(self) -> int:
        return self.config.num_train_timesteps

    def set_timesteps(self, num_inference_steps: int, device=None):
        """$n$ continuous timesteps evenly spaced from 1 down to `sampling_eps`."""
        n = check_int("ScoreSdeVpScheduler.set_timesteps", "num_inference_steps", num_inference_steps, 1)
        self.timesteps = np.linspace(1.0, self.config.sampling_eps, n).astype(self.dtype)

    def step_pred(self, score, x, t, generator=None, *, noise=None):
        """One Euler–Maruyama step of the reverse VP SDE with $h = 1/n$ (module docstring). `t` a scalar or one per
        example. **Returns** `(x, x_mean)`."""
        owner = "ScoreSdeVpScheduler.step_pred"
        check_no_generator(owner, generator)
        if self.timesteps is None:
            raise ValueError(f"{owner}: timesteps is not set; run set_timesteps first")
        out, x = as_array(owner, "score", score), as_array(owner, "x", x)
        z = check_noise(owner, "noise", noise, x.shape)
        t = np.broadcast_to(np.asarray(t, np.float64).reshape(-1), (x.shape[0],))
        if np.any((t <= 0) | (t > 1)):
            raise ValueError(f"{owner}: t must lie in (0, 1] (the VP kernel std vanishes at 0); got {t}")
        h = 1.0 / len(self.timesteps)

        def one(x_b, out_b, z_b, t_b):
            score_fn = lambda y, s: EpsParameterisation().to_score(self.sde, out_b, y, s)  # noqa: E731
            return EulerMaruyama().step(self.sde, score_fn, x_b, t_b, h, None, None, z_b)

        with jax.enable_x64(True):
            prev, mean = jax.vmap(one)(_flat(x), _flat(out), _flat(z), jnp.asarray(t))
        return _back(prev, x.shape, self.dtype), _back(mean, x.shape, self.dtype)
