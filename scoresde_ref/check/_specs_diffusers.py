r"""Twin specs of the diffusers schedulers (`scoresde_ref.compat.diffusers`): one `TwinSpec` per scheduler, its
methods driven the way a pipeline drives them (`set_timesteps(n)`, then `step` at `timesteps[k]`), the library's draws
passed as `noise=` / `variance_noise=`.

**Conditions** (derivations/conformance.md §tolerances). Discrete schedules: a target that forms $1 - \bar\alpha_t$
by subtraction after a cumulative product carries a relative error $\le (t + 2)u/(1 - \bar\alpha_t)$ (float64: its own
cumprod; float32: only the step's ratio $\bar\alpha_t/\bar\alpha_{t'}$, $2u/(1 - \bar\alpha_t)$, since the twin stores
the library's float32 $\bar\alpha$ and $1 - \bar\alpha$ of a float32 in $[\tfrac12, 1]$ is exact); $\kappa$ is the
largest over the step's $t$ and $t'$. VE: $\sigma_i^2 - \sigma_{i-1}^2$ by subtraction, $\kappa = 1 + 1/(1 - r^{-2})$
with $r$ the level ratio. VP: $1 - e^{-\int\beta}$ by subtraction, $\kappa = 1 + 1/(1 - e^{-\int_0^t\beta})$.
"""

import functools

import numpy as np
from hypothesis import strategies as st

from ..compat import diffusers as twins
from ._registry import MethodSpec, TwinSpec, register
from ._strategies import arrays, batch_shapes, normal_arrays

SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
SPACINGS = ("leading", "trailing", "linspace")
PREDICTIONS = ("epsilon", "sample", "v_prediction")
FIXED_VARIANCES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log")


def _twin(cls):
    return lambda dtype: functools.partial(cls, dtype=dtype)


@st.composite
def _discrete_config(draw, **extra):
    config = {
        "num_train_timesteps": draw(st.sampled_from([1000, 100])),
        "beta_schedule": draw(st.sampled_from(SCHEDULES)),
        "prediction_type": draw(st.sampled_from(PREDICTIONS)),
        "timestep_spacing": draw(st.sampled_from(SPACINGS)),
        "steps_offset": draw(st.sampled_from([0, 1])),
    }
    return config | {k: draw(v) for k, v in extra.items()}


@st.composite
def _step_case(draw, config, max_steps=60, noise_name="noise", extra=None):
    config = draw(config)
    n = draw(st.integers(1, min(max_steps, config["num_train_timesteps"])))
    if config["timestep_spacing"] == "leading" and config["steps_offset"]:
        n = max(n, 2)  # (n-1) floor(T/n) + 1 <= T - 1
    shape = draw(batch_shapes())
    # the ends of the schedule (first and last step) are drawn often: boundary conventions live there
    k = draw(st.one_of(st.sampled_from([0, n - 1]), st.integers(0, n - 1)))
    case = {"config": config, "n": n, "k": k}
    case |= {"sample": draw(arrays(shape)), "model_output": draw(arrays(shape)), noise_name: draw(normal_arrays(shape))}
    return case | {k: draw(v) for k, v in (extra or {}).items()}


def _kappa(scheduler, timesteps, dtype) -> float:
    """$1 + \\max_t c_t/(1 - \\bar\\alpha_t)$ over the diffusers timesteps $t \\ge 0$ (module docstring)."""
    log_ab = scheduler.schedule.log_alphas_cumprod
    worst = 0.0
    for t in timesteps:
        t = int(np.floor(t))
        if 0 <= t < log_ab.shape[0]:
            c = (t + 2) if np.dtype(dtype) == np.float64 else 2
            worst = max(worst, c / -np.expm1(log_ab[t]))
    return 1.0 + worst


# --- DDPMScheduler ---------------------------------------------------------------------------------------------

_DDPM_CONFIG = _discrete_config(variance_type=st.sampled_from(FIXED_VARIANCES), clip_sample=st.booleans())


def _ddpm_set_timesteps(factory, case):
    s = factory(**case["config"])
    s.set_timesteps(case["n"])
    return {"timesteps": np.asarray(s.timesteps)}


def _ddpm_step(factory, case):
    s = factory(**case["config"])
    s.set_timesteps(case["n"])
    t = int(s.timesteps[case["k"]])
    out = s.step(case["model_output"], t, case["sample"], noise=case["noise"])
    return {"prev_sample": out.prev_sample, "pred_original_sample": out.pred_original_sample}


def _ddpm_condition(case, dtype):
    s = twins.DDPMScheduler(**case["config"])
    s.set_timesteps(case["n"])
    t = int(s.timesteps[case["k"]])
    return _kappa(s, [t, s.previous_timestep(t)], dtype)


@st.composite
def _add_noise_case(draw, config):
    config = draw(config)
    shape = draw(batch_shapes())
    T = config["num_train_timesteps"]
    timesteps = np.asarray(draw(st.lists(st.integers(0, T - 1), min_size=shape[0], max_size=shape[0])), np.int64)
    return {
        "config": config,
        "original_samples": draw(arrays(shape)),
        "noise": draw(normal_arrays(shape)),
        "timesteps": timesteps,
    }


def _add_noise(factory, case):
    s = factory(**case["config"])
    return {"noisy": np.asarray(s.add_noise(case["original_samples"], case["noise"], case["timesteps"]))}


def _add_noise_condition(cls, case, dtype):
    return _kappa(cls(**case["config"]), case["timesteps"], dtype)


register(
    TwinSpec(
        "diffusers.DDPMScheduler",
        _twin(twins.DDPMScheduler),
        (
            MethodSpec("set_timesteps", _step_case(_DDPM_CONFIG), _ddpm_set_timesteps, exact=True),
            MethodSpec(
                "add_noise",
                _add_noise_case(_DDPM_CONFIG),
                _add_noise,
                functools.partial(_add_noise_condition, twins.DDPMScheduler),
            ),
            MethodSpec("step", _step_case(_DDPM_CONFIG), _ddpm_step, _ddpm_condition),
        ),
        "diffusers.DDPMScheduler",
        doc="ancestral DDPM step: the chain's Gaussian posterior given x0_hat (Ho et al. 2020)",
    )
)

# --- DDIMScheduler ---------------------------------------------------------------------------------------------

_DDIM_CONFIG = _discrete_config(set_alpha_to_one=st.booleans(), clip_sample=st.booleans())
_ETA = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0, width=32))


def _ddim_set_timesteps(factory, case):
    s = factory(**case["config"])
    s.set_timesteps(case["n"])
    return {"timesteps": np.asarray(s.timesteps)}


def _ddim_step(factory, case):
    s = factory(**case["config"])
    s.set_timesteps(case["n"])
    t = int(s.timesteps[case["k"]])
    out = s.step(
        case["model_output"],
        t,
        case["sample"],
        eta=case["eta"],
        use_clipped_model_output=case["use_clipped_model_output"],
        variance_noise=case["variance_noise"],
    )
    return {"prev_sample": out.prev_sample, "pred_original_sample": out.pred_original_sample}


def _ddim_condition(case, dtype):
    s = twins.DDIMScheduler(**case["config"])
    s.set_timesteps(case["n"])
    t = int(s.timesteps[case["k"]])
    return _kappa(s, [t, t - s.config.num_train_timesteps // case["n"]], dtype)


_DDIM_STEP = _step_case(
    _DDIM_CONFIG, noise_name="variance_noise", extra={"eta": _ETA, "use_clipped_model_output": st.booleans()}
)

register(
    TwinSpec(
        "diffusers.DDIMScheduler",
        _twin(twins.DDIMScheduler),
        (
            MethodSpec("set_timesteps", _step_case(_DDIM_CONFIG), _ddim_set_timesteps, exact=True),
            MethodSpec(
                "add_noise",
                _add_noise_case(_DDIM_CONFIG),
                _add_noise,
                functools.partial(_add_noise_condition, twins.DDIMScheduler),
            ),
            MethodSpec("step", _DDIM_STEP, _ddim_step, _ddim_condition),
        ),
        "diffusers.DDIMScheduler",
        doc="DDIM step, eta in [0, 1] (Song, Meng & Ermon 2021, eqs. (12), (16))",
    )
)

# --- EulerDiscreteScheduler, EulerAncestralDiscreteScheduler ----------------------------------------------------

_EULER_CONFIG = _discrete_config(
    sigma_kind=st.sampled_from(["interpolated", "use_karras_sigmas", "use_exponential_sigmas"]),
    interpolation_type=st.sampled_from(["linear", "log_linear"]),
    final_sigmas_type=st.sampled_from(["zero", "sigma_min"]),
)


def _euler_config(case):
    config = dict(case["config"])
    kind = config.pop("sigma_kind", "interpolated")
    return config | ({kind: True} if kind != "interpolated" else {})


def _euler_set_timesteps(factory, case):
    s = factory(**_euler_config(case))
    s.set_timesteps(case["n"])
    return {
        "timesteps": np.asarray(s.timesteps),
        "sigmas": np.asarray(s.sigmas),
        "init_noise_sigma": np.asarray(s.init_noise_sigma),
    }


def _euler_step(factory, case):
    s = factory(**_euler_config(case))
    s.set_timesteps(case["n"])
    t = s.timesteps[case["k"]]
    scaled = s.scale_model_input(case["sample"], t)
    out = s.step(case["model_output"], t, case["sample"], s_churn=case["s_churn"], noise=case["noise"])
    return {
        "scaled_input": np.asarray(scaled),
        "prev_sample": out.prev_sample,
        "pred_original_sample": out.pred_original_sample,
    }


def _euler_condition(case, dtype):
    cls = twins.EulerDiscreteScheduler if "sigma_kind" in case["config"] else twins.EulerAncestralDiscreteScheduler
    s = cls(**_euler_config(case))
    s.set_timesteps(case["n"])
    t = float(s.timesteps[case["k"]])
    return _kappa(s, [0, t, t + 1] if case["config"].get("sigma_kind", "") != "interpolated" else [t, t + 1], dtype)


def _euler_timesteps_condition(case, dtype):
    s = twins.EulerDiscreteScheduler(**_euler_config(case))
    return _kappa(s, [0], dtype)


_EULER_STEP = _step_case(_EULER_CONFIG, extra={"s_churn": st.sampled_from([0.0, 0.0, 1.0, 40.0])})

register(
    TwinSpec(
        "diffusers.EulerDiscreteScheduler",
        _twin(twins.EulerDiscreteScheduler),
        (
            MethodSpec("set_timesteps", _step_case(_EULER_CONFIG), _euler_set_timesteps, _euler_timesteps_condition),
            MethodSpec("step", _EULER_STEP, _euler_step, _euler_condition),
        ),
        "diffusers.EulerDiscreteScheduler",
        doc="Euler step of the PF ODE in the VE variable x/sqrt(alpha_bar), churn noise given (Karras et al. 2022)",
    )
)

_ANCESTRAL_CONFIG = _discrete_config(prediction_type=st.sampled_from(["epsilon", "v_prediction"]))  # no "sample"


def _ancestral_step(factory, case):
    s = factory(**case["config"])
    s.set_timesteps(case["n"])
    t = s.timesteps[case["k"]]
    scaled = s.scale_model_input(case["sample"], t)
    out = s.step(case["model_output"], t, case["sample"], noise=case["noise"])
    return {
        "scaled_input": np.asarray(scaled),
        "prev_sample": out.prev_sample,
        "pred_original_sample": out.pred_original_sample,
    }


register(
    TwinSpec(
        "diffusers.EulerAncestralDiscreteScheduler",
        _twin(twins.EulerAncestralDiscreteScheduler),
        (MethodSpec("step", _step_case(_ANCESTRAL_CONFIG), _ancestral_step, _euler_condition),),
        "diffusers.EulerAncestralDiscreteScheduler",
        doc="ancestral Euler step (the DDPM posterior draw in the VE variable), noise given",
    )
)

# --- ScoreSdeVeScheduler, ScoreSdeVpScheduler ------------------------------------------------------------------


@st.composite
def _ve_case(draw):
    config = {
        "num_train_timesteps": 2000,
        "snr": draw(st.sampled_from([0.15, 0.3])),
        "sigma_min": draw(st.sampled_from([0.01, 0.1])),
        "sigma_max": draw(st.sampled_from([1348.0, 50.0])),
    }
    n = draw(st.integers(2, 30))
    shape = draw(batch_shapes(trailing=((3,), (2, 2))))
    return {
        "config": config,
        "n": n,
        "k": draw(st.integers(0, n - 1)),
        "sample": draw(arrays(shape)),
        "model_output": draw(arrays(shape)),
        "noise": draw(normal_arrays(shape)),
    }


def _ve_scheduler(factory, case):
    s = factory(**case["config"])
    s.set_timesteps(case["n"])
    s.set_sigmas(case["n"])
    return s


def _ve_step_pred(factory, case):
    s = _ve_scheduler(factory, case)
    out = s.step_pred(case["model_output"], s.timesteps[case["k"]], case["sample"], noise=case["noise"])
    return {"prev_sample": out.prev_sample, "prev_sample_mean": out.prev_sample_mean}


def _ve_step_correct(factory, case):
    s = _ve_scheduler(factory, case)
    return {"prev_sample": s.step_correct(case["model_output"], case["sample"], noise=case["noise"]).prev_sample}


def _ve_condition(case, dtype):
    c = case["config"]
    ratio = (c["sigma_max"] / c["sigma_min"]) ** (1.0 / (case["n"] - 1))
    return 1.0 + 1.0 / -np.expm1(-2.0 * np.log(ratio))


register(
    TwinSpec(
        "diffusers.ScoreSdeVeScheduler",
        _twin(twins.ScoreSdeVeScheduler),
        (
            MethodSpec("step_pred", _ve_case(), _ve_step_pred, _ve_condition),
            MethodSpec("step_correct", _ve_case(), _ve_step_correct),
        ),
        "diffusers.ScoreSdeVeScheduler",
        doc="reverse-diffusion predictor and Langevin corrector of the SMLD chain, noise given (Song et al. 2021)",
    )
)


@st.composite
def _vp_case(draw):
    n = draw(st.integers(2, 50))
    shape = draw(batch_shapes(trailing=((3,), (2, 2))))
    return {
        "config": {"beta_min": 0.1, "beta_max": draw(st.sampled_from([20.0, 10.0]))},
        "n": n,
        "k": draw(st.integers(0, n - 1)),
        "score": draw(arrays(shape)),
        "x": draw(arrays(shape)),
        "noise": draw(normal_arrays(shape)),
    }


def _vp_step_pred(factory, case):
    s = factory(**case["config"])
    s.set_timesteps(case["n"])
    x, x_mean = s.step_pred(case["score"], case["x"], s.timesteps[case["k"]], noise=case["noise"])
    return {"x": np.asarray(x), "x_mean": np.asarray(x_mean)}


def _vp_condition(case, dtype):
    c = case["config"]
    t = np.linspace(1.0, 1e-3, case["n"])[case["k"]]
    integral = c["beta_min"] * t + 0.5 * (c["beta_max"] - c["beta_min"]) * t**2
    return 1.0 + 1.0 / -np.expm1(-integral)


register(
    TwinSpec(
        "diffusers.ScoreSdeVpScheduler",
        _twin(twins.ScoreSdeVpScheduler),
        (MethodSpec("step_pred", _vp_case(), _vp_step_pred, _vp_condition),),
        "diffusers.schedulers.deprecated.ScoreSdeVpScheduler",
        doc="Euler-Maruyama step of the reverse VP SDE, model output read as a noise prediction",
    )
)
