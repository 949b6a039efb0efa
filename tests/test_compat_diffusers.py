"""The diffusers twins (`scoresde_ref.compat.diffusers`) against closed forms computed by independent routes:
direct cumulative products, the DDPM chain's Gaussian posterior (`distributions.affine_posterior`), one step of
`samplers.ddim_sample` on a VP SDE whose kernel matches the chain at both ends, and the SMLD / VP step formulas.

Tolerances: every route is float64; where a tolerance is not exact equality its comment gives the count of roundings
and their amplification."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoresde_ref.compat.diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    ScoreSdeVeScheduler,
    ScoreSdeVpScheduler,
)
from scoresde_ref.compat.diffusers._euler import sigma_to_t
from scoresde_ref.distributions import Gaussian, affine_posterior
from scoresde_ref.samplers import ddim_sample
from scoresde_ref.sde import VPSDE

SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
SPACINGS = ("leading", "trailing", "linspace")
RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3))  # a batch of two examples, d = 3
Z = RNG.standard_normal((2, 3))


def eps_model(x):
    """A fixed nonlinear noise predictor (the model both routes call)."""
    return 0.3 * x + 0.2 * np.sin(x)


class EpsScore(eqx.Module):
    """`eps_model` in JAX as a score, s = −ε̂/σ(t) on `sde` (a module, so `ddim_sample` compiles once for all SDEs)."""

    sde: VPSDE

    def __call__(self, y, t):
        return -(0.3 * y + 0.2 * jnp.sin(y)) / self.sde.kernel(t)[1]


def one_ddim_step(log_ab, log_ab_prev, x, eta=0.0, key=None):
    r"""One `ddim_sample` step on the VP SDE with constant $\beta = -\log\bar\alpha_t$ from $T = 1$ to
    $\epsilon = \log\bar\alpha_{t'}/\log\bar\alpha_t$: its kernel is $m(1)^2 = \bar\alpha_t$, $m(\epsilon)^2 =
    \bar\alpha_{t'}$, so DDIM on the chain and on the SDE are the same map (derivations/compat.md §diffusers)."""
    A = -float(log_ab)
    sde = VPSDE(beta_min=A, beta_max=A)
    key = jax.random.key(0) if key is None else key
    eps = float(log_ab_prev) / float(log_ab)
    return np.asarray(ddim_sample(sde, EpsScore(sde), jnp.asarray(x), n_steps=1, eps=eps, eta=eta, key=key)[0])


# --- schedules ------------------------------------------------------------------------------------------------


@settings(max_examples=6)
@given(st.sampled_from(SCHEDULES), st.integers(10, 1000))
def test_alphas_cumprod_is_the_direct_product(beta_schedule, T):
    """ᾱ of the twin (a cumulative sum of log1p on the chain) against the direct product of 1 − β."""
    s = DDPMScheduler(num_train_timesteps=T, beta_schedule=beta_schedule)
    direct = np.cumprod(1.0 - s.betas)
    # T ≤ 1000 multiplications, each one rounding (1.1e-16), against exp(cumsum(log1p)): ≤ 2 T ε = 2.2e-13 relative
    np.testing.assert_allclose(s.alphas_cumprod, direct, rtol=3e-13, atol=0)
    if beta_schedule == "scaled_linear":  # √β evenly spaced
        np.testing.assert_allclose(np.diff(np.sqrt(s.betas), 2), 0.0, atol=1e-15)
    if beta_schedule == "squaredcos_cap_v2":  # unclipped: ᾱ_t = f((t + 1)/T)/f(0), f(u) = cos²((u + s)/(1 + s) π/2)
        f = lambda u: np.cos((u + 0.008) / 1.008 * np.pi / 2) ** 2  # noqa: E731
        u = np.arange(1, T + 1) / T
        ok = s.betas < 0.999
        ok = np.cumprod(ok).astype(bool)  # before the first clipped step
        np.testing.assert_allclose(s.alphas_cumprod[ok], (f(u) / f(0.0))[ok], rtol=1e-11)


@settings(max_examples=6)
@given(st.sampled_from(SPACINGS), st.integers(2, 1000), st.data())
def test_timestep_spacings(spacing, T, data):
    """`leading` = k⌊T/n⌋ + offset (so it starts at (n − 1)⌊T/n⌋ + offset, #2585), `trailing` starts at T − 1,
    `linspace` runs from T − 1 to 0; all strictly decreasing, n entries, in [0, T − 1]."""
    n = data.draw(st.integers(1, T))
    offset = data.draw(st.integers(0, 1)) if spacing == "leading" and T // n > 1 else 0
    s = DDIMScheduler(num_train_timesteps=T, timestep_spacing=spacing, steps_offset=offset)
    s.set_timesteps(n)
    ts = s.timesteps
    assert ts.shape == (n,) and ts.dtype == np.int64
    assert np.all(np.diff(ts) < 0) and ts.min() >= 0 and ts.max() <= T - 1
    if spacing == "leading":
        np.testing.assert_array_equal(ts, np.arange(n)[::-1] * (T // n) + offset)
    else:
        assert ts[0] == T - 1
    if spacing == "linspace":
        assert ts[-1] == 0


def test_float32_storage_offset():
    """`dtype=np.float32` stores ᾱ as the library does: √(1 − ᾱ) at index 0 moves by the rounding of
    1 − float32(β₀) to float32 (8.3e-5 relative, the figure the docstrings state); √ᾱ by at most 1.4e-7."""
    f64, f32 = DDPMScheduler(), DDPMScheduler(dtype=np.float32)
    assert f32.alphas_cumprod.dtype == np.float32
    rel = np.sqrt(1 - f32.alphas_cumprod.astype(np.float64)) / np.sqrt(1 - f64.alphas_cumprod) - 1
    expected0 = np.sqrt(1 - np.float64(np.float32(1) - np.float32(1e-4))) / np.sqrt(1e-4) - 1
    assert rel[0] == pytest.approx(expected0, rel=1e-9)  # the same two float32 roundings, then float64 arithmetic
    assert abs(rel[0] - 8.3e-5) < 5e-7  # the documented size
    rel_m = np.sqrt(f32.alphas_cumprod.astype(np.float64) / f64.alphas_cumprod) - 1
    # ᾱ stored to float32 (2^-24 relative) after ≤ 1000 float32-rounded factors α (2^-25 each, in the product): 1.4e-7
    assert np.max(np.abs(rel_m)) < 1.5e-7


# --- DDPM ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variance_type", ["fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log"])
def test_ddpm_step_is_the_chain_posterior(variance_type):
    """DDPM's step with x̂0 given (`prediction_type="sample"`) against the Gaussian posterior of x_{t'} ~
    N(√ᾱ_{t'} x̂0, 1 − ᾱ_{t'}) given x_t = √α x_{t'} + √β z (`affine_posterior`); the noise std by variance type
    (`fixed_large_log` finite and equal to √β: diffusers #14569)."""
    s = DDPMScheduler(prediction_type="sample", clip_sample=False, variance_type=variance_type)
    s.set_timesteps(20)  # skipping steps: α = ᾱ_t/ᾱ_{t'}, not 1 - betas[t] (PR #3006)
    t = int(s.timesteps[5])
    prev = s.previous_timestep(t)
    ab, ab_prev = np.cumprod(1.0 - s.betas)[[t, prev]]  # the direct product (test above)
    x0 = RNG.standard_normal(3)
    prior = Gaussian(jnp.sqrt(ab_prev) * jnp.asarray(x0), (1 - ab_prev) * jnp.eye(3))
    alpha = ab / ab_prev
    xt = X[0]
    post = affine_posterior(prior, jnp.asarray(xt), np.sqrt(alpha), 0.0, np.sqrt(1 - alpha))
    mean = s.step(x0[None], t, xt[None], noise=np.zeros((1, 3))).prev_sample[0]
    np.testing.assert_allclose(mean, post.mean, rtol=1e-12, atol=1e-14)  # two routes, O(10) roundings each
    std = (s.step(x0[None], t, xt[None], noise=np.ones((1, 3))).prev_sample[0] - mean)[0]
    expected = np.sqrt(post.cov[0, 0]) if variance_type.startswith("fixed_small") else np.sqrt(1 - alpha)
    assert std == pytest.approx(float(expected), rel=1e-10)  # a difference of O(1) numbers: 1e-16 / std ≈ 1e-15


def test_ddpm_learned_range_ends():
    """`learned_range` interpolates log variances: v = −1 gives `fixed_small`, v = 1 gives `fixed_large`."""
    s = DDPMScheduler(variance_type="learned_range", clip_sample=False)
    small = DDPMScheduler(variance_type="fixed_small", clip_sample=False)
    large = DDPMScheduler(variance_type="fixed_large", clip_sample=False)
    eps = eps_model(X)
    for v, ref in ((-1.0, small), (1.0, large)):
        out = np.concatenate([eps, np.full_like(eps, v)], axis=1)
        got = s.step(out, 500, X, noise=Z).prev_sample
        np.testing.assert_allclose(got, ref.step(eps, 500, X, noise=Z).prev_sample, rtol=1e-13)


@settings(max_examples=8)
@given(st.sampled_from(["ddpm", "ddim"]), st.integers(1, 999))
def test_prediction_types_agree(kind, t):
    """For x_t = √ᾱ x0 + √(1 − ᾱ) ε, the outputs ε (`epsilon`), x0 (`sample`) and v = √ᾱ ε − √(1 − ᾱ) x0
    (`v_prediction`) give the same step."""
    cls = DDPMScheduler if kind == "ddpm" else DDIMScheduler
    ref = cls(clip_sample=False)
    x0, eps = X, Z
    xt = ref.add_noise(x0, eps, np.array([t, t]))
    v = ref.get_velocity(x0, eps, np.array([t, t]))
    results = []
    for prediction_type, out in (("epsilon", eps), ("sample", x0), ("v_prediction", v)):
        s = cls(clip_sample=False, prediction_type=prediction_type)
        s.set_timesteps(10) if kind == "ddim" else None
        kw = {"noise": Z} if kind == "ddpm" else {}
        results.append(s.step(out, t, xt, **kw))
    for r in results[1:]:
        # x0 recovered through 1/√ᾱ: at t = 999 √ᾱ = 6e-3, so ~200 × 1e-16 per rounding
        np.testing.assert_allclose(r.pred_original_sample, results[0].pred_original_sample, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(r.prev_sample, results[0].prev_sample, rtol=1e-11, atol=1e-12)


# --- DDIM ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spacing", ["leading", "trailing"])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_step_is_ddim_sample(spacing, eta):
    """Step by step, DDIM on the chain equals `samplers.ddim_sample` (one step) on the VP SDE whose kernel matches
    ᾱ at both ends (`one_ddim_step`), with the same noise for η = 1; the final step (ᾱ_{t'} = 1 with
    `set_alpha_to_one`) returns x̂0."""
    s = DDIMScheduler(clip_sample=False, timestep_spacing=spacing)
    s.set_timesteps(7)
    T, n = s.config.num_train_timesteps, s.num_inference_steps
    log_ab = np.log(np.cumprod(1.0 - s.betas))
    x = X.copy()
    for k, t in enumerate(s.timesteps):
        prev = int(t) - T // n
        if prev < 0:
            out = s.step(eps_model(x), int(t), x, eta=eta, variance_noise=Z)
            np.testing.assert_allclose(out.prev_sample, out.pred_original_sample, rtol=1e-14)
            break
        key = jax.random.key(k)
        z = np.asarray(jax.random.normal(jax.random.fold_in(key, 0), x.shape, jnp.float64))
        ref = one_ddim_step(log_ab[t], log_ab[prev], x, eta=eta, key=key)
        x = s.step(eps_model(x), int(t), x, eta=eta, variance_noise=z).prev_sample
        # two float64 routes through 1/√ᾱ_t (≤ 1/6e-3): O(10) roundings × 200
        np.testing.assert_allclose(x, ref, rtol=1e-11, atol=1e-12)


def test_ddim_previous_timestep_off_the_schedule():
    """Under `trailing` with n ∤ T, DDIM steps to t − ⌊T/n⌋, not to the next entry of `timesteps` (#9261):
    with 13 of 1000, the schedule is 999, 922, … and the first step lands on 923."""
    s = DDIMScheduler(timestep_spacing="trailing")
    s.set_timesteps(13)
    assert s.timesteps[0] == 999 and s.timesteps[1] == round(1000 - 1000 / 13) - 1
    assert s._logs(999)[1] == pytest.approx(np.log(np.cumprod(1.0 - s.betas)[999 - 1000 // 13]), rel=1e-14)
    ddpm = DDPMScheduler(timestep_spacing="trailing")
    ddpm.set_timesteps(13)
    assert ddpm.previous_timestep(999) == ddpm.timesteps[1]  # DDPM reads the schedule


# --- Euler -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ancestral", [False, True])
def test_euler_steps_are_ddim_in_scaled_variables(ancestral):
    """Euler on x̃ = x/√ᾱ from σ to σ' is DDIM η = 0 between ᾱ = 1/(1 + σ²) and 1/(1 + σ'²); the ancestral step
    is DDIM η = 1 with the same noise (σ_↑√ᾱ' = ς). Checked against `ddim_sample` step by step."""
    cls = EulerAncestralDiscreteScheduler if ancestral else EulerDiscreteScheduler
    s = cls()
    s.set_timesteps(6)
    xt = X * s.init_noise_sigma
    for k, t in enumerate(s.timesteps[:-1]):
        sigma, sigma_next = s.sigmas[k], s.sigmas[k + 1]
        x_vp = s.scale_model_input(xt, t)
        key = jax.random.key(k)
        z = np.asarray(jax.random.normal(jax.random.fold_in(key, 0), xt.shape, jnp.float64))
        kw = {"noise": z} if ancestral else {}
        xt = s.step(eps_model(x_vp), t, xt, **kw).prev_sample
        ref = one_ddim_step(-np.log1p(sigma**2), -np.log1p(sigma_next**2), x_vp, eta=float(ancestral), key=key)
        # float64 routes; σ up to 157 enters as 1 + σ² and its logarithm: ~1e-14 relative
        np.testing.assert_allclose(xt / np.sqrt(1 + sigma_next**2), ref, rtol=1e-11, atol=1e-12)


def test_euler_levels_and_sigma_to_t():
    """Training levels σ_t = √((1 − ᾱ_t)/ᾱ_t) (the chain's s/m); `sigma_to_t` inverts log-σ interpolation
    (exact integers at the levels); Karras levels have evenly spaced σ^{1/7} between the interpolated ends."""
    s = EulerDiscreteScheduler()
    m, std = (np.asarray(a)[1:] for a in s.chain.kernels())
    train = std / m
    np.testing.assert_allclose(s.sigmas[:-1][::-1], train, rtol=1e-14)
    log_sigmas = np.log(train)
    idx = np.array([0, 3, 500, 998, 999])
    np.testing.assert_allclose(sigma_to_t(train[idx], log_sigmas), idx, atol=1e-9)
    t = np.array([0.25, 17.5, 640.125])
    sig = np.exp(np.interp(t, np.arange(1000), log_sigmas))
    np.testing.assert_allclose(sigma_to_t(sig, log_sigmas), t, rtol=1e-12)
    k = EulerDiscreteScheduler(use_karras_sigmas=True)
    k.set_timesteps(8)
    roots = k.sigmas[:-1] ** (1 / 7)
    np.testing.assert_allclose(np.diff(roots, 2), 0.0, atol=1e-13)
    assert k.sigmas[0] == pytest.approx(train[-1], rel=1e-13) and k.sigmas[7] == pytest.approx(train[0], rel=1e-12)
    np.testing.assert_allclose(np.exp(np.interp(k.timesteps, np.arange(1000), log_sigmas)), k.sigmas[:-1], rtol=1e-12)


def test_add_noise_is_the_kernel():
    """DDPM/DDIM `add_noise` is the chain's kernel at i = t + 1; Euler's is its VE form x0 + σ ε."""
    t = np.array([0, 731])
    for s in (DDPMScheduler(), DDIMScheduler()):
        m, std = (np.asarray(a)[t + 1][:, None] for a in s.chain.kernels())
        np.testing.assert_allclose(s.add_noise(X, Z, t), m * X + std * Z, rtol=1e-15)
    e = EulerDiscreteScheduler()
    m, std = (np.asarray(a)[t + 1][:, None] for a in e.chain.kernels())
    np.testing.assert_allclose(e.add_noise(X, Z, e.timesteps[999 - t]), X + std / m * Z, rtol=1e-14)


# --- score SDE schedulers -----------------------------------------------------------------------------------


def test_score_sde_ve_steps_closed_form():
    """`step_pred`: x + (σ_k² − σ_{k−1}²) s + √(σ_k² − σ_{k−1}²) z at k = ⌊t(n − 1)⌋, σ_k = σmin (σmax/σmin)^{k/(N−1)},
    σ_{−1} = 0; `step_correct`: ε = 2 (snr · mean‖z‖ / mean‖s‖)², x + ε s + √(2ε) z (batch-mean norms)."""
    n = 10
    s = ScoreSdeVeScheduler()
    s.set_timesteps(n)
    s.set_sigmas(n)
    score = -X / 3.0
    sig = 0.01 * (1348.0 / 0.01) ** (np.arange(n) / (n - 1))
    for t in (s.timesteps[0], s.timesteps[4], s.timesteps[-1]):
        k = int(np.floor(t * (n - 1)))
        g2 = sig[k] ** 2 - (sig[k - 1] ** 2 if k > 0 else 0.0)
        out = s.step_pred(score, t, X, noise=Z)
        np.testing.assert_allclose(out.prev_sample_mean, X + g2 * score, rtol=1e-12)
        np.testing.assert_allclose(out.prev_sample, X + g2 * score + np.sqrt(g2) * Z, rtol=1e-12)
    eps = 2 * (0.15 * np.linalg.norm(Z, axis=1).mean() / np.linalg.norm(score, axis=1).mean()) ** 2
    corrected = s.step_correct(score, X, noise=Z).prev_sample
    np.testing.assert_allclose(corrected, X + eps * score + np.sqrt(2 * eps) * Z, rtol=1e-13)


def test_score_sde_vp_step_closed_form():
    """`step_pred(ε̂, x, t)`: x + (½β(t) x − β(t) ε̂/σ(t)) h + √(β(t) h) z, h = 1/n, σ(t)² = 1 − e^{−∫β}."""
    n = 10
    s = ScoreSdeVpScheduler()
    s.set_timesteps(n)
    t = 0.37
    beta = 0.1 + t * (20 - 0.1)
    std = np.sqrt(-np.expm1(-(0.5 * t**2 * (20 - 0.1) + t * 0.1)))
    h = 1 / n
    x, x_mean = s.step_pred(eps_model(X), X, t, noise=Z)
    expected_mean = X + (0.5 * beta * X - beta * eps_model(X) / std) * h
    np.testing.assert_allclose(x_mean, expected_mean, rtol=1e-13)
    np.testing.assert_allclose(x, expected_mean + np.sqrt(beta * h) * Z, rtol=1e-13)


# --- shapes and bad input -----------------------------------------------------------------------------------


def test_any_trailing_shape():
    """Batch-first arrays of any rank: an image batch (B, C, H, W) steps elementwise like its flattening."""
    img = RNG.standard_normal((2, 3, 2, 2))
    noise = RNG.standard_normal(img.shape)
    s = DDPMScheduler()
    got = s.step(eps_model(img), 500, img, noise=noise).prev_sample
    flat = s.step(eps_model(img.reshape(2, -1)), 500, img.reshape(2, -1), noise=noise.reshape(2, -1)).prev_sample
    np.testing.assert_array_equal(got.reshape(2, -1), flat)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="DDPMScheduler: beta_schedule must be one of"):
        DDPMScheduler(beta_schedule="cosine")
    with pytest.raises(ValueError, match="DDPMScheduler.step: this step draws noise"):
        DDPMScheduler().step(Z, 500, X)
    with pytest.raises(TypeError, match="pass the noise itself"):
        DDPMScheduler().step(Z, 500, X, generator=object(), noise=Z)
    with pytest.raises(ValueError, match="DDIMScheduler.step: num_inference_steps is None"):
        DDIMScheduler().step(Z, 500, X)
    with pytest.raises(ValueError, match="dtype must be np.float64 or np.float32"):
        DDIMScheduler(dtype=np.float16)
    with pytest.raises(ValueError, match="not an integer index"):
        e = EulerDiscreteScheduler()
        e.set_timesteps(5)
        e.step(Z, 3, X)
