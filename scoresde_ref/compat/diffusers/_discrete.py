r"""What the DDPM and DDIM twins share: the chain's kernel at a diffusers timestep, `add_noise`, `get_velocity`, the
three prediction types and the clipping / dynamic thresholding of $\hat x_0$.

With $m_t = \sqrt{\bar\alpha_t}$ and $s_t = \sqrt{1 - \bar\alpha_t}$ (the chain's kernel, `DDPMChain.kernel(t + 1)`:
$x_t = m_t x_0 + s_t\epsilon$), a model output is turned into $(\hat x_0, \hat\epsilon)$ by
`epsilon`: $\hat x_0 = (x - s\hat\epsilon)/m$; `sample`: $\hat\epsilon = (x - m\hat x_0)/s$;
`v_prediction` ($v = m\epsilon - s x_0$, Salimans & Ho 2022): $\hat x_0 = m x - s v$, $\hat\epsilon = m v + s x$.
"""

import numpy as np

from ._schedule import (
    PREDICTION_TYPES,
    DiscreteSchedule,
    FrozenConfig,
    as_array,
    beta_schedule_betas,
    check_choice,
    check_dtype,
    check_int,
    per_example,
)


def kernel_from_log(log_ab):
    r"""$(m, s) = (\sqrt{\bar\alpha}, \sqrt{1 - \bar\alpha})$ from $\log\bar\alpha$, with `expm1` (no cancellation)."""
    log_ab = np.asarray(log_ab, np.float64)
    return np.exp(0.5 * log_ab), np.sqrt(-np.expm1(log_ab))


def check_no_generator(owner: str, generator) -> None:
    if generator is not None:
        raise TypeError(
            f"{owner}: the twin draws no random numbers; pass the noise itself (noise= / variance_noise=), "
            f"not a generator; got generator={generator!r}"
        )


def check_noise(owner: str, name: str, noise, shape) -> np.ndarray:
    """The noise the library would draw, given: a floating array of the library's shape."""
    if noise is None:
        raise ValueError(f"{owner}: this step draws noise in the library; pass it as {name}= (shape {shape})")
    noise = as_array(owner, name, noise)
    if noise.shape != tuple(shape):
        raise ValueError(f"{owner}: {name} must have shape {tuple(shape)}; got {noise.shape}")
    return noise


def as_timestep(owner: str, timestep) -> int:
    """A scalar integer diffusers timestep (int, NumPy or JAX 0-d array)."""
    if np.ndim(timestep) != 0 or int(np.asarray(timestep)) != np.asarray(timestep):
        raise ValueError(f"{owner}: timestep must be a scalar integer timestep; got {timestep!r}")
    return int(np.asarray(timestep))


def init_schedule(twin, config: dict, dtype, min_timesteps: int) -> int:
    """Check the config entries every twin shares and set its schedule: `config`, `dtype`, `schedule`, `betas`,
    `alphas`, `alphas_cumprod` and `num_inference_steps = None`. Returns `num_train_timesteps`."""
    owner = type(twin).__name__
    check_choice(owner, "prediction_type", config["prediction_type"], PREDICTION_TYPES)
    check_choice(owner, "timestep_spacing", config["timestep_spacing"], ("linspace", "leading", "trailing"))
    if config.get("rescale_betas_zero_snr"):
        raise NotImplementedError(f"{owner}: rescale_betas_zero_snr=True has no twin yet (its beta_T = 1)")
    T = check_int(owner, "num_train_timesteps", config["num_train_timesteps"], min_timesteps)
    twin.dtype = check_dtype(owner, dtype)
    betas = beta_schedule_betas(
        owner, T, config["beta_start"], config["beta_end"], config["beta_schedule"], config["trained_betas"]
    )
    if betas.shape != (T,):
        raise ValueError(f"{owner}: trained_betas must have num_train_timesteps = {T} entries; got {betas.shape}")
    twin.config = FrozenConfig(config)
    twin.schedule = DiscreteSchedule(owner, betas, twin.dtype)
    twin.betas, twin.alphas = twin.schedule.betas, twin.schedule.alphas
    twin.alphas_cumprod = twin.schedule.alphas_cumprod
    twin.num_inference_steps = None
    return T


class DiscreteTwin:
    """Base of `DDPMScheduler` and `DDIMScheduler`: the schedule, the config and the methods they share."""

    order = 1

    def _init_schedule(self, config: dict, dtype):
        T = init_schedule(self, config, dtype, 1)
        self.one = self.dtype(1.0)
        self.init_noise_sigma = 1.0
        self.timesteps = np.arange(0, T)[::-1].copy().astype(np.int64)

    @property
    def chain(self):
        """The `DDPMChain` behind the schedule (index $i = t + 1$ for diffusers timestep $t$)."""
        return self.schedule.chain

    def __len__(self) -> int:
        return self.config.num_train_timesteps

    def scale_model_input(self, sample, timestep=None):
        """The identity (DDPM and DDIM feed $x_t$ to the model unscaled)."""
        return sample

    def _kernel_at(self, timesteps, ndim):
        T = self.config.num_train_timesteps
        timesteps = np.asarray(timesteps).reshape(-1)
        if not np.issubdtype(timesteps.dtype, np.integer) or np.any((timesteps < 0) | (timesteps >= T)):
            raise ValueError(
                f"{type(self).__name__}: timesteps must be integers in [0, {T - 1}]; got {timesteps.tolist()}"
            )
        m, s = kernel_from_log(self.schedule.log_alphas_cumprod[timesteps])
        return per_example(m, ndim), per_example(s, ndim)

    def add_noise(self, original_samples, noise, timesteps):
        r"""$x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\epsilon$ per example (the chain's kernel at
        $i = t + 1$), `timesteps` one per example."""
        owner = f"{type(self).__name__}.add_noise"
        x0, noise = as_array(owner, "original_samples", original_samples), as_array(owner, "noise", noise)
        if noise.shape != x0.shape:
            raise ValueError(f"{owner}: noise must have the shape of original_samples {x0.shape}; got {noise.shape}")
        m, s = self._kernel_at(timesteps, x0.ndim)
        return (m * x0 + s * noise).astype(self.dtype)

    def get_velocity(self, sample, noise, timesteps):
        r"""$v = \sqrt{\bar\alpha_t}\,\epsilon - \sqrt{1 - \bar\alpha_t}\,x_0$ (`sample` is $x_0$, as in diffusers)."""
        owner = f"{type(self).__name__}.get_velocity"
        x0, noise = as_array(owner, "sample", sample), as_array(owner, "noise", noise)
        m, s = self._kernel_at(timesteps, x0.ndim)
        return (m * noise - s * x0).astype(self.dtype)

    def _predict(self, model_output, sample, m, s):
        """`(x0_hat, eps_hat)` from the model output by the configured `prediction_type` (module docstring)."""
        kind = self.config.prediction_type
        if kind == "epsilon":
            return (sample - s * model_output) / m, model_output
        if kind == "sample":
            return model_output, (sample - m * model_output) / s
        return m * sample - s * model_output, m * model_output + s * sample

    def _threshold_sample(self, sample):
        r"""Dynamic thresholding (Saharia et al. 2022): per example, $q$ = the `dynamic_thresholding_ratio` quantile
        of $|x|$ (linear interpolation, as `torch.quantile`),
        $q \leftarrow \min(\max(q, 1), \text{sample\_max\_value})$, $x \leftarrow \mathrm{clip}(x, -q, q)/q$."""
        flat = sample.reshape(sample.shape[0], -1)
        q = np.quantile(np.abs(flat), self.config.dynamic_thresholding_ratio, axis=1)
        q = np.clip(q, 1.0, self.config.sample_max_value)[:, None]
        return (np.clip(flat, -q, q) / q).reshape(sample.shape)

    def _clip(self, x0):
        if self.config.thresholding:
            return self._threshold_sample(x0)
        if self.config.clip_sample:
            r = self.config.clip_sample_range
            return np.clip(x0, -r, r)
        return x0
