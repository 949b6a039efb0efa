"""The diffusers twins against the real library (skipped, with the reason, where `diffusers` or `torch` is absent).

Same inputs, same noise: the library's draws come from `torch.Generator().manual_seed(k)` and the twin is handed the
same tensor (`randn_tensor` on CPU is `torch.randn(shape, generator=...)`). The twins run with `dtype=np.float32`
(the library's schedule storage) and their float64 arithmetic; the error of a step is
max|twin − library| / max(1, max|sample|, max|library output|) — relative to the largest magnitude the step
handles, the scale of the library's float32 roundings (a step that cancels x against its drift, as the VE predictor
near σ_min does, loses digits of the *output* but not of this scale). Set SCORESDE_PEERS_TABLE=path to write the
table (library version, method, max error, verdict)."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the diffusers peer comparison needs torch (pip install torch)")
diffusers = pytest.importorskip("diffusers", reason="the diffusers peer comparison needs diffusers")

from helpers import write_peer_table  # noqa: E402
from scoresde_ref.compat import diffusers as twin  # noqa: E402

warnings.filterwarnings("ignore", module="diffusers")
U32 = 2.0**-24  # float32 unit roundoff
# A step is ~10 float32 operations whose roundings enter with coefficients ≤ 1 in the scale above, except through
# x̂0 = (x − √(1−ᾱ) ε)/√ᾱ (≤ 160 at t = 999, but clipped to [-1, 1] by default): 64 u covers the measured 14 u.
STEP_TOL = 64 * U32
ROWS = []
RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3, 4, 4)).astype(np.float32)


def eps_model(a):
    return (0.3 * a + 0.2 * np.sin(a)).astype(np.float32)


def tt(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def draw(k, shape=X.shape):
    return torch.randn(shape, generator=torch.Generator().manual_seed(k))


def rel_err(ours, theirs, *scales):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    scale = max([1.0, float(np.max(np.abs(theirs)))] + [float(np.max(np.abs(s))) for s in scales])
    return float(np.max(np.abs(ours - theirs))) / scale


def record(method, err, tol, verdict=None):
    ROWS.append((f"diffusers {diffusers.__version__}", method, err, verdict or ("agrees" if err <= tol else "DIFFERS")))
    assert err <= tol, f"{method}: error {err:.3g} > {tol:.3g}"


@pytest.mark.parametrize("beta_schedule", ["linear", "scaled_linear", "squaredcos_cap_v2"])
def test_schedule_storage(beta_schedule):
    """float32 twin: ᾱ within one float32 ulp of the library's; float64 twin: the documented offset of √(1 − ᾱ₀)."""
    lib = diffusers.DDPMScheduler(beta_schedule=beta_schedule)
    ours = twin.DDPMScheduler(beta_schedule=beta_schedule, dtype=np.float32)
    record(f"DDPM alphas_cumprod ({beta_schedule}, float32)", rel_err(ours.alphas_cumprod, lib.alphas_cumprod), U32)
    exact = twin.DDPMScheduler(beta_schedule=beta_schedule)
    off = abs(np.sqrt(1 - np.float64(lib.alphas_cumprod[0])) / np.sqrt(1 - exact.alphas_cumprod[0]) - 1)
    ROWS.append((f"diffusers {diffusers.__version__}", f"√(1−ᾱ₀) float64 twin vs library ({beta_schedule})", off,
                 "float32 storage of ᾱ (PR #3005): the exact value is the float64 twin's"))  # fmt: skip
    assert off < 3e-4  # ≤ half an ulp of 1 in float32 (3e-8) over 1 − ᾱ₀ ≥ 1e-4 (4e-5 for the cosine), halved by √


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("variance_type", ["fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log"])
def test_ddpm_sampling_loop(spacing, variance_type):
    """17 DDPM steps with the library's noise: timesteps equal, each step within float32 rounding; `fixed_large_log`
    is NaN in the library (#14569, PR #14571 unmerged) and finite (√β, = `fixed_large`) in the twin."""
    kw = {"variance_type": variance_type, "timestep_spacing": spacing}
    lib, ours = diffusers.DDPMScheduler(**kw), twin.DDPMScheduler(**kw, dtype=np.float32)
    lib.set_timesteps(17)
    ours.set_timesteps(17)
    np.testing.assert_array_equal(ours.timesteps, lib.timesteps.numpy())
    x, worst = X.copy(), 0.0
    for t in lib.timesteps.numpy():
        out_lib = lib.step(tt(eps_model(x)), int(t), tt(x), generator=torch.Generator().manual_seed(int(t)))
        out = ours.step(eps_model(x), int(t), x, noise=draw(int(t)).numpy())
        if variance_type == "fixed_large_log" and t > 0:
            assert np.all(np.isnan(out_lib.prev_sample.numpy())) and np.all(np.isfinite(out.prev_sample))
            ref = twin.DDPMScheduler(variance_type="fixed_large", timestep_spacing=spacing, dtype=np.float32)
            ref.set_timesteps(17)
            np.testing.assert_array_equal(
                out.prev_sample, ref.step(eps_model(x), int(t), x, noise=draw(int(t)).numpy())[0]
            )
            ROWS.append((f"diffusers {diffusers.__version__}", f"DDPM step fixed_large_log ({spacing})", float("nan"),
                         "library bug #14569: NaN; twin = fixed_large"))  # fmt: skip
            return
        worst = max(worst, rel_err(out.prev_sample, out_lib.prev_sample, x))
        worst = max(worst, rel_err(out.pred_original_sample, out_lib.pred_original_sample, x))
        x = out_lib.prev_sample.numpy()  # both continue from the library's state: errors do not compound
    record(f"DDPM step {variance_type} ({spacing})", worst, STEP_TOL)


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_sampling_loop(spacing, eta):
    """13 DDIM steps (n ∤ T: under trailing/linspace the library steps to t − ⌊T/n⌋, #9261 — reproduced)."""
    lib, ours = (
        diffusers.DDIMScheduler(timestep_spacing=spacing),
        twin.DDIMScheduler(timestep_spacing=spacing, dtype=np.float32),
    )
    lib.set_timesteps(13)
    ours.set_timesteps(13)
    np.testing.assert_array_equal(ours.timesteps, lib.timesteps.numpy())
    x, worst = X.copy(), 0.0
    for t in lib.timesteps.numpy():
        z = draw(int(t))
        out_lib = lib.step(tt(eps_model(x)), int(t), tt(x), eta=eta, variance_noise=z)
        out = ours.step(eps_model(x), int(t), x, eta=eta, variance_noise=z.numpy())
        worst = max(worst, rel_err(out.prev_sample, out_lib.prev_sample, x))
        x = out_lib.prev_sample.numpy()
    record(f"DDIM step eta={eta} ({spacing})", worst, STEP_TOL)


EULER_CONFIGS = [{}, {"use_karras_sigmas": True}, {"timestep_spacing": "leading"}, {"timestep_spacing": "trailing"},
                 {"interpolation_type": "log_linear"}, {"prediction_type": "v_prediction"},
                 {"final_sigmas_type": "sigma_min"}]  # fmt: skip


@pytest.mark.parametrize("config", EULER_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_euler_sampling_loop(config):
    """12 Euler steps with churn (s_churn = 0.5, the library's noise): timesteps, levels, init_noise_sigma and
    scale_model_input within float32 rounding."""
    lib, ours = diffusers.EulerDiscreteScheduler(**config), twin.EulerDiscreteScheduler(**config, dtype=np.float32)
    lib.set_timesteps(12)
    ours.set_timesteps(12)
    name = ",".join(f"{k}={v}" for k, v in config.items()) or "default"
    record(f"Euler timesteps ({name})", rel_err(ours.timesteps, lib.timesteps), 4 * U32)
    record(f"Euler sigmas ({name})", np.max(np.abs(ours.sigmas[:-1] / lib.sigmas.numpy()[:-1] - 1)), 8 * U32)
    assert ours.init_noise_sigma == pytest.approx(float(lib.init_noise_sigma), rel=8 * U32)
    x = X * float(lib.init_noise_sigma)
    worst = 0.0
    for k, t in enumerate(lib.timesteps):
        x_in_lib = lib.scale_model_input(tt(x), t).numpy()
        x_in = ours.scale_model_input(x, ours.timesteps[k])
        worst = max(worst, rel_err(x_in, x_in_lib, x))
        out_lib = lib.step(tt(eps_model(x_in_lib)), t, tt(x), s_churn=0.5, generator=torch.Generator().manual_seed(k))
        out = ours.step(eps_model(x_in_lib), ours.timesteps[k], x, s_churn=0.5, noise=draw(k).numpy())
        worst = max(worst, rel_err(out.prev_sample, out_lib.prev_sample, x))
        x = out_lib.prev_sample.numpy()
    record(f"Euler step s_churn=0.5 ({name})", worst, STEP_TOL)


@pytest.mark.parametrize("config", [{}, {"timestep_spacing": "leading"}, {"beta_schedule": "squaredcos_cap_v2"}])
def test_euler_ancestral_sampling_loop(config):
    """5 ancestral Euler steps with the library's noise."""
    lib = diffusers.EulerAncestralDiscreteScheduler(**config)
    ours = twin.EulerAncestralDiscreteScheduler(**config, dtype=np.float32)
    lib.set_timesteps(5)
    ours.set_timesteps(5)
    x, worst = X * float(lib.init_noise_sigma), 0.0
    for k, t in enumerate(lib.timesteps):
        x_in = lib.scale_model_input(tt(x), t).numpy()
        ours.scale_model_input(x, ours.timesteps[k])
        out_lib = lib.step(tt(eps_model(x_in)), t, tt(x), generator=torch.Generator().manual_seed(k))
        out = ours.step(eps_model(x_in), ours.timesteps[k], x, noise=draw(k).numpy())
        worst = max(worst, rel_err(out.prev_sample, out_lib.prev_sample, x))
        x = out_lib.prev_sample.numpy()
    name = ",".join(f"{k}={v}" for k, v in config.items()) or "default"
    record(f"EulerAncestral step ({name})", worst, STEP_TOL)


def test_score_sde_ve_steps():
    """Predictor and corrector at each of 20 levels (the level index ⌊t(n−1)⌋ equal to the library's `.long()`)."""
    lib, ours = diffusers.ScoreSdeVeScheduler(), twin.ScoreSdeVeScheduler(dtype=np.float32)
    for s in (lib, ours):
        s.set_timesteps(20)
        s.set_sigmas(20)
    np.testing.assert_array_equal(np.floor(ours.timesteps * np.float32(19)), (lib.timesteps * 19).long().numpy())
    x, worst_pred, worst_corr = X * 1348.0, 0.0, 0.0
    for k, t in enumerate(lib.timesteps):
        score = (-x / float(lib.sigmas[k]) ** 2).astype(np.float32)
        out_lib = lib.step_pred(tt(score), t, tt(x), generator=torch.Generator().manual_seed(k))
        out = ours.step_pred(score, ours.timesteps[k], x, noise=draw(k).numpy())
        worst_pred = max(worst_pred, rel_err(out.prev_sample, out_lib.prev_sample, x))
        worst_pred = max(worst_pred, rel_err(out.prev_sample_mean, out_lib.prev_sample_mean, x))
        corr_lib = lib.step_correct(tt(score), tt(x), generator=torch.Generator().manual_seed(k))
        corr = ours.step_correct(score, x, noise=draw(k).numpy())
        worst_corr = max(worst_corr, rel_err(corr.prev_sample, corr_lib.prev_sample, x))
    record("ScoreSdeVe step_pred", worst_pred, STEP_TOL)
    record("ScoreSdeVe step_correct", worst_corr, STEP_TOL)


def test_score_sde_vp_steps():
    """Euler–Maruyama at 20 times; below t = 0.1 the library's float32 σ(t) = √(1 − e^{2 log m}) cancels (relative
    error u/(2(1 − m²)) = 2.7e-4 at t = 1e-3), so there the twin (exact, expm1) is compared with that bound."""
    from diffusers.schedulers.deprecated.scheduling_sde_vp import ScoreSdeVpScheduler

    lib, ours = ScoreSdeVpScheduler(), twin.ScoreSdeVpScheduler(dtype=np.float32)
    lib.set_timesteps(20)
    ours.set_timesteps(20)
    worst, worst_small_t = 0.0, 0.0
    for k, t in enumerate(lib.timesteps):
        x_lib, mean_lib = lib.step_pred(tt(eps_model(X)), tt(X), t, generator=torch.Generator().manual_seed(k))
        x, mean = ours.step_pred(eps_model(X), X, ours.timesteps[k], noise=draw(k).numpy())
        err = max(rel_err(x, x_lib, X), rel_err(mean, mean_lib, X))
        if float(t) >= 0.1:
            worst = max(worst, err)
        else:
            worst_small_t = max(worst_small_t, err)
    record("ScoreSdeVp step_pred (t ≥ 0.1)", worst, STEP_TOL)
    m2 = np.exp(-(0.5 * 1e-6 * 19.9 + 1e-3 * 0.1))  # m(ε)² at ε = 1e-3
    # the σ error (u / (2(1 − m²))) enters through the score term β ε̂ h / σ ≤ |x| scale: 4 × that relative bound
    record("ScoreSdeVp step_pred (t < 0.1)", worst_small_t, 4 * U32 / (2 * (1 - m2)),
           "float32 cancellation in the library's 1 − e^{2 log m}: the twin uses expm1")  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def peer_table():
    """After this file's comparisons: their rows appended to the table at $SCORESDE_PEERS_TABLE, when it is set."""
    yield
    write_peer_table(ROWS)
