r"""The discrete schedules of the diffusers twins: $\beta$ schedules as `DDPMChain`s, the library's float32 storage,
the timestep spacings, the config object and the argument checks (derivations/compat.md §diffusers).

**Indices.** diffusers' timestep $t \in \{0, \dots, T-1\}$ labels `alphas_cumprod[t]` $= \prod_{j \le t}(1-\beta_j)$
(0-based), which is the chain's $\bar\alpha_i$ at $i = t + 1$ (`DDPMChain`, 1-based, $\bar\alpha_0 = 1$).
"""

import jax
import jax.numpy as jnp
import numpy as np

from ...chains._ddpm import DDPMChain

DTYPES = (np.float64, np.float32)
SPACINGS = ("linspace", "leading", "trailing")
PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")


class FrozenConfig(dict):
    """The scheduler's `config`: a read-only dict whose keys are also attributes
    (`scheduler.config.num_train_timesteps`), as diffusers' `FrozenDict`."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(name) from err

    def _readonly(self, *args, **kwargs):
        raise TypeError("config is read-only (a FrozenDict in diffusers); build a new scheduler instead")

    __setitem__ = __delitem__ = update = pop = setdefault = _readonly


def check_choice(owner: str, name: str, value, allowed) -> None:
    """Raise a ValueError naming `owner`, the parameter, the allowed values and the value received."""
    if value not in allowed:
        raise ValueError(f"{owner}: {name} must be one of {tuple(allowed)}; got {value!r}")


def check_dtype(owner: str, dtype):
    """The twin's arithmetic dtype: `np.float64` (exact) or `np.float32` (the library's storage)."""
    try:
        dtype = np.dtype(dtype).type
    except TypeError as err:
        raise TypeError(f"{owner}: dtype must be np.float64 or np.float32; got {dtype!r}") from err
    if dtype not in DTYPES:
        raise ValueError(f"{owner}: dtype must be np.float64 or np.float32; got {np.dtype(dtype).name}")
    return dtype


def check_int(owner: str, name: str, value, lowest: int, highest: int | None = None) -> int:
    """An integer in `[lowest, highest]`."""
    if isinstance(value, bool) or not np.ndim(value) == 0 or int(value) != value:
        raise ValueError(f"{owner}: {name} must be an integer; got {value!r}")
    if value < lowest or (highest is not None and value > highest):
        shown = f"[{lowest}, {highest}]" if highest is not None else f">= {lowest}"
        raise ValueError(f"{owner}: {name} must lie in {shown}; got {value!r}")
    return int(value)


def betas_for_alpha_bar(num_diffusion_timesteps: int, max_beta: float = 0.999, alpha_transform_type: str = "cosine"):
    r"""$\beta_i = \min(1 - \bar\alpha(i/T)/\bar\alpha((i-1)/T), \beta_{\max})$, $i = 1, \dots, T$, as a float64 NumPy
    array (the library returns it in float32).

    `"cosine"`: $\bar\alpha(t) = \cos^2(\tfrac{t + 0.008}{1.008}\tfrac\pi2)$, i.e.
    `DDPMChain.cosine(T, 0.008, max_beta)`
    (Nichol & Dhariwal 2021); `"exp"`: $\bar\alpha(t) = e^{-12t}$, so $\beta_i = -\mathrm{expm1}(-12/T)$.
    """
    owner = "betas_for_alpha_bar"
    n = check_int(owner, "num_diffusion_timesteps", num_diffusion_timesteps, 1)
    check_choice(owner, "alpha_transform_type", alpha_transform_type, ("cosine", "exp"))
    with jax.enable_x64(True):
        if alpha_transform_type == "cosine":
            return np.asarray(DDPMChain.cosine(n, s=0.008, max_beta=max_beta).betas, np.float64)
        return np.minimum(np.full(n, -np.expm1(-12.0 / n)), max_beta)


def beta_schedule_betas(owner, num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas):
    r"""The float64 $\beta$ schedule a config names: `linear` ($\beta$ evenly spaced from `beta_start` to `beta_end`),
    `scaled_linear` ($\sqrt\beta$ evenly spaced, then squared: latent diffusion), `squaredcos_cap_v2`
    (`betas_for_alpha_bar`), or `trained_betas` as given."""
    if trained_betas is not None:
        return np.asarray(trained_betas, np.float64)
    T = check_int(owner, "num_train_timesteps", num_train_timesteps, 1)
    check_choice(owner, "beta_schedule", beta_schedule, ("linear", "scaled_linear", "squaredcos_cap_v2"))
    if beta_schedule == "linear":
        return np.linspace(beta_start, beta_end, T, dtype=np.float64)
    if beta_schedule == "scaled_linear":
        return np.linspace(beta_start**0.5, beta_end**0.5, T, dtype=np.float64) ** 2
    return betas_for_alpha_bar(T)


class DiscreteSchedule:
    r"""The chain of a $\beta$ schedule and what the library stores of it.

    float64: `chain = DDPMChain(betas)`, $\log\bar\alpha$ from the chain (a cumulative sum of `log1p`).
    float32 (the library: `torch.linspace(..., dtype=float32)`, `alphas = 1.0 - betas`, `cumprod` in float32):
    $\beta$ rounded to float32, $\alpha = 1 - \beta$ rounded to float32 (the rounding that matters: it moves
    $1 - \bar\alpha_0 = \beta_0 = 10^{-4}$ by up to half an ulp of 1, $3\cdot10^{-8}$), then the exact chain of those
    $\alpha$'s, $\bar\alpha$ stored in float32. Consequence at the default linear schedule: $\sqrt{1 - \bar\alpha}$ at
    index 0 differs from the float64 value by $8.3\cdot10^{-5}$ relative, $\sigma = \sqrt{(1-\bar\alpha)/\bar\alpha}$
    likewise; $\sqrt{\bar\alpha}$ by $1.4\cdot10^{-7}$ (tests/test_compat_diffusers.py::test_float32_storage_offset).
    """

    def __init__(self, owner: str, betas, dtype):
        betas = np.asarray(betas, np.float64)
        if betas.ndim != 1 or betas.shape[0] < 1 or not np.all((betas > 0) & (betas < 1)):
            raise ValueError(f"{owner}: betas (trained_betas or the schedule) must be a 1-D array in (0, 1)")
        self.betas = betas.astype(dtype)
        self.alphas = (dtype(1.0) - self.betas).astype(dtype)
        # float32: the chain of the stored alphas (1 - a float32 in [1/2, 1] is exact in float64)
        chain_betas = betas if dtype == np.float64 else 1.0 - self.alphas.astype(np.float64)
        with jax.enable_x64(True):
            self.chain = DDPMChain(jnp.asarray(chain_betas))
            log_ab = np.asarray(self.chain.log_alphas_cumprod, np.float64)
        if dtype == np.float32:
            log_ab = np.log(np.exp(log_ab).astype(np.float32).astype(np.float64))
        self.dtype = dtype
        self.log_alphas_cumprod = log_ab  # float64 log of what the library stores, index t = 0, ..., T - 1
        self.alphas_cumprod = np.exp(log_ab).astype(dtype)

    def log_alpha_bar(self, t, final=0.0):
        """$\\log\\bar\\alpha$ at diffusers timestep `t` (an int or int array); `final` (a log) where `t < 0`."""
        t = np.asarray(t)
        return np.where(t >= 0, self.log_alphas_cumprod[np.maximum(t, 0)], final)


def spaced_timesteps(owner: str, spacing: str, T: int, n: int, steps_offset: int) -> np.ndarray:
    r"""The library's inference timesteps, decreasing, float64 (the schedulers round or cast them):

    - `leading`: $k\lfloor T/n\rfloor + \text{offset}$, $k = n-1, \dots, 0$ (so 50 of 1000 start at 980: #2585);
    - `trailing`: $\mathrm{round}(T - k\,T/n) - 1$, $k = 0, \dots, n-1$ (starts at $T - 1$);
    - `linspace`: $n$ points evenly spaced from $T - 1$ down to 0, unrounded.
    """
    check_choice(owner, "timestep_spacing", spacing, SPACINGS)
    n = check_int(owner, "num_inference_steps", n, 1, T)
    if spacing == "linspace":
        return np.linspace(0, T - 1, n)[::-1].copy()
    if spacing == "leading":
        return (np.arange(n) * (T // n))[::-1].astype(np.float64) + steps_offset
    return np.round(np.arange(T, 0, -T / n)) - 1.0


def as_array(owner: str, name: str, x) -> np.ndarray:
    """A NumPy float64 copy of an array argument (NumPy or JAX), batch first."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{owner}: {name} must be a floating array; got dtype {x.dtype}")
    return x.astype(np.float64)


def per_example(values, ndim: int) -> np.ndarray:
    """Values per example `(B,)` (or a scalar) shaped `(B, 1, ..., 1)` against a batch of rank `ndim`."""
    values = np.asarray(values, np.float64).reshape(-1)
    return values.reshape(values.shape + (1,) * (ndim - 1))
