"""The k-diffusion twin against the real library (skipped, with the reason, where torch, scipy or k-diffusion and
its sampler dependencies are absent).

k-diffusion's `__init__` imports its training stack (clean-fid, CLIP, kornia, torchvision, ...): where that import
fails, the installed package's `sampling.py` and `external.py` are loaded from its folder as they are, with one stub,
`utils.append_dims(x, n)` (x with n − x.ndim trailing unit axes, the only `utils` function they call); they still
need torch, scipy, torchdiffeq, torchsde and tqdm (`pip install --no-deps k-diffusion torchdiffeq torchsde
trampoline`).

Same inputs, same noise: `torch.randn_like` returns, in order, the arrays the twin is given (Euler, Heun, DPM-2
draw at every step); Euler ancestral takes the same `noise_sampler` on both sides. Two precisions: float64 (inputs,
σ's and ᾱ in float64: the library computes in the tensors' dtype) within 1e-10, and the library's default float32
against the twin's `dtype=np.float32` within float32 rounding (tolerances argued at each test). Error =
max|twin − library| / max(1, max|input|, max|library output|), as in tests/test_peers_diffusers.py. Set
SCORESDE_PEERS_TABLE=path to write the table; rows are appended when the file was written earlier in the same run."""

import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the k-diffusion peer comparison needs torch (pip install torch)")
if importlib.util.find_spec("k_diffusion") is None:
    pytest.skip("the k-diffusion peer comparison needs k-diffusion (pip install k-diffusion)", allow_module_level=True)
for _dep in ("torchdiffeq", "torchsde", "tqdm"):
    pytest.importorskip(_dep, reason=f"k-diffusion's sampling.py needs {_dep} (pip install {_dep})")

import jax.numpy as jnp  # noqa: E402

from helpers import write_peer_table  # noqa: E402
from scoresde_ref.compat.k_diffusion import external, sampling  # noqa: E402

U32 = 2.0**-24  # float32 unit roundoff
# float64: both sides evaluate the same expressions in different orders, a few ULP (2e-16) per operation over
# ≤ 10 steps of ~20 operations: 1e-10, the bound for float64, leaves a factor 1e4.
TOL64 = 1e-10
ROWS = []


def _load_library():
    """`(sampling, external)` of the installed k-diffusion: the package if its `__init__` imports, else the two
    files from its folder in a private package with the `utils.append_dims` stub (module docstring)."""
    try:
        import k_diffusion

        return k_diffusion.sampling, k_diffusion.external, "package"
    except ImportError:
        pass
    folder = importlib.util.find_spec("k_diffusion").submodule_search_locations[0]
    package = types.ModuleType("_k_diffusion_peer")
    package.__path__ = [folder]
    utils = types.ModuleType("_k_diffusion_peer.utils")

    def append_dims(x, target_dims):
        return x[(...,) + (None,) * (target_dims - x.ndim)]

    utils.append_dims = append_dims
    package.utils = utils
    sys.modules.update({"_k_diffusion_peer": package, "_k_diffusion_peer.utils": utils})
    modules = []
    for name in ("sampling", "external"):
        spec = importlib.util.spec_from_file_location(f"_k_diffusion_peer.{name}", os.path.join(folder, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        setattr(package, name, module)
        modules.append(module)
    return modules[0], modules[1], "sampling.py and external.py (append_dims stub)"


K_SAMPLING, K_EXTERNAL, HOW = _load_library()
LIBRARY = f"k-diffusion {importlib.metadata.version('k-diffusion')}"

RNG = np.random.default_rng(20240612)
X = RNG.standard_normal((3, 2, 2, 2))
BETAS = np.linspace(1e-4, 0.02, 1000)  # the DDPM linear schedule: σ from 0.01 to 157
ALPHAS_CUMPROD = np.cumprod(1 - BETAS)


@contextlib.contextmanager
def default_dtype(dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


@contextlib.contextmanager
def library_draws(arrays):
    """Within the block `torch.randn_like(x)` returns `arrays` in order (shape and dtype of `x`); all must be used."""
    queue = [np.asarray(a) for a in arrays]

    def randn_like(x, **kwargs):
        assert queue, "the library drew more random numbers than given"
        a = queue.pop(0)
        assert tuple(a.shape) == tuple(x.shape)
        return torch.from_numpy(np.ascontiguousarray(a)).to(x.dtype)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch, "randn_like", randn_like)
        yield
    assert not queue, f"the library left {len(queue)} of {len(arrays)} given draws"


def tt(a, dtype=np.float64):
    return torch.from_numpy(np.array(a, dtype=dtype))


def eps_model(xp):
    """A DDPM noise-prediction network `model(x, t)` (t the fractional 0-based level, `(n,)`), in torch or JAX."""

    def model(x, t):
        t = xp.reshape(t, (-1,) + (1,) * (x.ndim - 1))
        return 0.3 * x + 0.2 * xp.sin(x) + 1e-4 * t

    return model


def denoisers(dtype=np.float64, quantize=False):
    """(library, twin) `DiscreteEpsDDPMDenoiser` on the same ᾱ (float32: the library's storage, e.g. OpenAIDenoiser)."""
    ac = ALPHAS_CUMPROD.astype(dtype)
    lib = K_EXTERNAL.DiscreteEpsDDPMDenoiser(eps_model(torch), tt(ac, dtype), quantize)
    ours = external.DiscreteEpsDDPMDenoiser(eps_model(jnp), ac, quantize, dtype=dtype)
    return lib, ours


def rel_err(ours, theirs, *scales):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    scale = max([1.0, float(np.max(np.abs(theirs)))] + [float(np.max(np.abs(s))) for s in scales])
    return float(np.max(np.abs(ours - theirs))) / scale


def max_rel(ours, theirs):
    """max |ours/theirs − 1| over the nonzero entries (zeros must be equal): for schedules spanning decades."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    nz = theirs != 0
    assert np.array_equal(ours[~nz], theirs[~nz])
    return float(np.max(np.abs(ours[nz] / theirs[nz] - 1)))


def record(method, err, tol, verdict=None):
    ROWS.append((LIBRARY, method, err, verdict or ("agrees" if err <= tol else "DIFFERS")))
    assert err <= tol, f"{method}: error {err:.3g} > {tol:.3g}"


SCHEDULES = [("get_sigmas_karras", (10, 0.002, 80.0), {"rho": 7.0}),
             ("get_sigmas_exponential", (10, 0.002, 80.0), {}),
             ("get_sigmas_polyexponential", (10, 0.002, 80.0), {"rho": 2.0}),
             ("get_sigmas_vp", (10,), {})]  # fmt: skip


@pytest.mark.parametrize("fn, args, kwargs", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedules(fn, args, kwargs):
    """float64 (torch's default dtype float64): within 1e-10 relative (the VP formula's √(exp(·) − 1) against the
    twin's expm1 loses ε/B ≈ 1e-13 at t = 1e-3). float32 (the library's default) against the twin's float32:
    the same float32 `linspace` formula, then ≤ 4 float32 operations whose rounding ρ = 7 amplifies ≤ 7-fold
    (Karras) and exp amplifies by |log σ| ≤ 5 (exponential): 64 u."""
    with default_dtype(torch.float64):
        lib64 = getattr(K_SAMPLING, fn)(*args, **kwargs)
    record(f"sampling.{fn} (float64)", max_rel(getattr(sampling, fn)(*args, **kwargs), lib64), TOL64)
    lib32 = getattr(K_SAMPLING, fn)(*args, **kwargs)
    assert lib32.dtype == torch.float32
    ours32 = getattr(sampling, fn)(*args, **kwargs, dtype=np.float32)
    if fn != "get_sigmas_vp":
        record(f"sampling.{fn} (float32)", max_rel(ours32, lib32), 64 * U32)
        return
    # The library's float32 √(exp(B) − 1) cancels: exp rounds by u e^B, a relative u e^B/(e^B − 1) of exp(B) − 1,
    # halved by the root (3e-4 at t = 1e-3, B = 1e-4); the twin's float32 is the exact kernel rounded (√expm1).
    # Per entry: that term twice plus 16 u for the rest (linspace, B, the root).
    t = sampling.torch_linspace(1, 1e-3, args[0], np.float32).astype(np.float64)  # both sides' float32 times
    B = 19.9 * t**2 / 2 + 0.1 * t
    got, want = np.asarray(ours32, np.float64)[:-1], lib32.numpy().astype(np.float64)[:-1]
    err = np.abs(got / want - 1)
    assert np.all(err <= U32 * np.exp(B) / np.expm1(B) + 16 * U32)
    # the twin against the float64 truth at those times: B ≤ 10 rounded in float32 (relative u) moves e^{B/2} by
    # ≤ uB/2 = 5 u, with the kernel's few operations: 32 u (the library's misses it by up to 3e-4)
    exact = np.sqrt(np.expm1(B))
    assert np.all(np.abs(got / exact - 1) <= 32 * U32)
    ROWS.append((LIBRARY, f"sampling.{fn} (float32)", float(err.max()),
                 "library's float32 √(exp(B) − 1) cancels near t = eps_s (bound u e^B/(e^B − 1)); twin: √expm1, "
                 "within 32 u of the exact value"))  # fmt: skip


def test_to_d_and_get_ancestral_step():
    """`to_d` on a batch (float64 and float32) and `get_ancestral_step` at η ∈ {0, 0.5, 1, 1.7} (σ_up clamped to
    σ_to above η = 1): float64 within 1e-10; float32 `to_d` is one subtraction and one division: 2 u."""
    sigma, denoised = np.array([0.5, 3.0, 40.0]), RNG.standard_normal(X.shape)
    d_lib = K_SAMPLING.to_d(tt(X), tt(sigma), tt(denoised))
    record("sampling.to_d (float64)", rel_err(sampling.to_d(X, sigma, denoised), d_lib), TOL64)
    x32, s32, den32 = X.astype(np.float32), sigma.astype(np.float32), denoised.astype(np.float32)
    d32 = K_SAMPLING.to_d(tt(x32, np.float32), tt(s32, np.float32), tt(den32, np.float32))
    record("sampling.to_d (float32)", max_rel(sampling.to_d(x32, s32, den32), d32), 2 * U32)
    worst = 0.0
    for eta in (0.0, 0.5, 1.0, 1.7):
        for s_from, s_to in [(80.0, 40.0), (2.0, 0.3), (0.05, 0.0)]:
            ours = sampling.get_ancestral_step(s_from, s_to, eta=eta)
            lib = K_SAMPLING.get_ancestral_step(tt(s_from), tt(s_to), eta=eta)
            worst = max(worst, max(rel_err(a, float(b)) for a, b in zip(ours, lib)))
    record("sampling.get_ancestral_step (float64, eta 0, 0.5, 1, 1.7)", worst, TOL64)


def test_discrete_eps_ddpm_denoiser():
    """`DiscreteEpsDDPMDenoiser` on the DDPM linear schedule, float64: sigmas, log_sigmas, sigma_to_t (interpolated,
    quantized, clamped outside [σ_min, σ_max]), t_to_sigma at float32-representable t, get_scalings, forward and
    loss, within 1e-10. t_to_sigma at other t: the library rounds t to float32 (`t.float()`), which moves σ by
    ≤ 2⁻²⁴ t |log(σ_⌈t⌉/σ_⌊t⌋)| relative (the named convention): asserted against that bound (+1e-13)."""
    lib, ours = denoisers()
    worst = max(max_rel(ours.sigmas, lib.sigmas), rel_err(ours.log_sigmas, lib.log_sigmas))
    sig = np.concatenate([np.exp(RNG.uniform(np.log(0.02), np.log(150.0), 20)), [0.005, 0.01, 157.0, 400.0]])
    for quantize in (False, True):
        worst = max(worst, rel_err(ours.sigma_to_t(sig, quantize=quantize), lib.sigma_to_t(tt(sig), quantize)))
    t_exact = np.round(RNG.uniform(0, 999, 20) * 64) / 64  # multiples of 1/64 below 1024: exact in float32
    worst = max(worst, max_rel(ours.t_to_sigma(t_exact), lib.t_to_sigma(tt(t_exact))))
    for a, b in zip(ours.get_scalings(sig), lib.get_scalings(tt(sig))):
        worst = max(worst, max_rel(a, b))
    levels = np.array([0.0, 10.5, 300.25, 999.0])
    s_lev = np.asarray(ours.t_to_sigma(levels))
    x = X * np.sqrt(1 + s_lev[:, None, None, None][: X.shape[0]] ** 2)
    worst = max(worst, rel_err(ours(x, s_lev[:3]), lib(tt(x), tt(s_lev[:3])), x))
    z = RNG.standard_normal(X.shape)
    worst = max(worst, rel_err(ours.loss(X, z, s_lev[:3]), lib.loss(tt(X), tt(z), tt(s_lev[:3]))))
    record("external.DiscreteEpsDDPMDenoiser (float64: sigmas, sigma_to_t, t_to_sigma, scalings, forward, loss)",
           worst, TOL64)  # fmt: skip
    t_any = RNG.uniform(0, 999, 50)
    got, want = np.asarray(ours.t_to_sigma(t_any)), lib.t_to_sigma(tt(t_any)).numpy()
    log_s = np.asarray(ours.log_sigmas)
    bound = U32 * t_any * np.abs(log_s[np.ceil(t_any).astype(int)] - log_s[np.floor(t_any).astype(int)]) + 1e-13
    assert np.all(np.abs(got / want - 1) <= bound)
    ROWS.append((LIBRARY, "external.DiscreteSchedule.t_to_sigma (float64, any t)", max_rel(got, want),
                 f"library rounds t to float32 (t.float()): within 2⁻²⁴ t Δlog σ (≤ {bound.max():.1e})"))  # fmt: skip
    with default_dtype(torch.float64):  # the library's get_sigmas linspace in float64 too
        got, want = np.asarray(ours.get_sigmas(8))[:-1], lib.get_sigmas(8).numpy()[:-1]
        t8 = np.linspace(999, 0, 8)  # 999 k/7: not float32 numbers, so t.float() moves them
        bound = U32 * t8 * np.abs(log_s[np.ceil(t8).astype(int)] - log_s[np.floor(t8).astype(int)]) + 1e-13
        assert np.all(np.abs(got / want - 1) <= bound)
        assert max_rel(ours.get_sigmas(), lib.get_sigmas()) <= TOL64
    ROWS.append((LIBRARY, "external.DiscreteSchedule.get_sigmas (float64, n = 8)", max_rel(got, want),
                 f"library rounds t to float32 in t_to_sigma: within 2⁻²⁴ t Δlog σ (≤ {bound.max():.1e})"))  # fmt: skip


def test_discrete_eps_ddpm_denoiser_float32():
    """The library's float32 (ᾱ stored in float32, as `OpenAIDenoiser` does) against the twin's `dtype=np.float32`:
    σ from ᾱ in ~4 float32 operations (√ halves, 1 − ᾱ cancels by ≤ 1/(1 − ᾱ₀) = 1e4 at level 0, where both round
    the same ᾱ₀ identically); get_sigmas and the denoiser output within 64 u of their scale."""
    lib, ours = denoisers(np.float32)
    record("external.DiscreteEpsDDPMDenoiser sigmas (float32)", max_rel(ours.sigmas, lib.sigmas), 8 * U32)
    record("external.DiscreteSchedule.get_sigmas (float32, n = 7)", max_rel(ours.get_sigmas(7), lib.get_sigmas(7)),
           64 * U32)  # fmt: skip
    x32, s32 = X.astype(np.float32) * 3, np.array([0.05, 1.3, 60.0], np.float32)
    record("external.DiscreteEpsDDPMDenoiser forward (float32)",
           rel_err(ours(x32, s32), lib(tt(x32, np.float32), tt(s32, np.float32)), x32), 64 * U32)  # fmt: skip


SAMPLERS = [("sample_euler", {}), ("sample_euler", {"s_churn": 2.0, "s_tmin": 0.1, "s_tmax": 30.0, "s_noise": 1.003}),
            ("sample_heun", {}), ("sample_heun", {"s_churn": 1.0}), ("sample_dpm_2", {}),
            ("sample_dpm_2", {"s_churn": 1.5, "s_tmax": 10.0})]  # fmt: skip


def _sampler_id(case):
    return case[0] + ("" if not case[1] else "-" + ",".join(f"{k}={v}" for k, v in case[1].items()))


@pytest.mark.parametrize("fn, kwargs", SAMPLERS, ids=[_sampler_id(c) for c in SAMPLERS])
def test_karras_samplers(fn, kwargs):
    """8 steps on the DDPM denoiser along a Karras schedule (σ 80 → 0.03, then 0) with the library's `randn_like`
    draws (one per step, used where γ > 0). float64 within 1e-10. float32 (library defaults) against the twin's
    float32: each step rounds ~20 float32 operations at the scale of x, and the probability-flow map contracts
    (|∂x'/∂x| ≤ 1 here): ≤ 8 × 32 u, asserted at 256 u."""
    n = 8
    draws = list(RNG.standard_normal((n, *X.shape)))
    sigmas = np.asarray(sampling.get_sigmas_karras(n, 0.03, 80.0))
    x0 = X * 80.0
    lib, ours = denoisers()
    got = getattr(sampling, fn)(ours, x0, sigmas, noise=draws, **kwargs)
    with library_draws(draws):
        want = getattr(K_SAMPLING, fn)(lib, tt(x0), tt(sigmas), disable=True, **kwargs)
    name = _sampler_id((fn, kwargs))
    record(f"sampling.{name} (float64, DiscreteEpsDDPMDenoiser, n = {n})", rel_err(got, want, x0), TOL64)
    lib32, ours32 = denoisers(np.float32)
    sig32 = K_SAMPLING.get_sigmas_karras(n, 0.03, 80.0)
    x32, d32 = x0.astype(np.float32), [d.astype(np.float32) for d in draws]
    got32 = getattr(sampling, fn)(ours32, x32, sig32.numpy(), noise=d32, **kwargs)
    with library_draws(d32):
        want32 = getattr(K_SAMPLING, fn)(lib32, tt(x32, np.float32), sig32, disable=True, **kwargs)
    record(f"sampling.{name} (float32, n = {n})", rel_err(got32, want32, x32), 256 * U32)


@pytest.mark.parametrize("eta", [1.0, 0.5])
def test_sample_euler_ancestral(eta):
    """Euler ancestral, 8 steps: through the library's default `randn_like` draws (one per step with σ_{i+1} > 0)
    and the twin's `noise`; and with the same `noise_sampler` on both sides. float64 within 1e-10."""
    n = 8
    sigmas = np.asarray(sampling.get_sigmas_karras(n, 0.03, 80.0))
    draws = list(RNG.standard_normal((n, *X.shape)))  # σ_{i+1} > 0 for i < n − 1... and the last step to 0 draws none
    used = draws[: n - 1]
    x0, (lib, ours) = X * 80.0, denoisers()
    got = sampling.sample_euler_ancestral(ours, x0, sigmas, eta=eta, s_noise=0.99, noise=used)
    with library_draws(used):
        want = K_SAMPLING.sample_euler_ancestral(lib, tt(x0), tt(sigmas), disable=True, eta=eta, s_noise=0.99)
    err = rel_err(got, want, x0)
    queue_t, queue_j = list(used), list(used)
    got_ns = sampling.sample_euler_ancestral(ours, x0, sigmas, eta=eta, noise_sampler=lambda s, s2: queue_j.pop(0))
    want_ns = K_SAMPLING.sample_euler_ancestral(lib, tt(x0), tt(sigmas), disable=True, eta=eta,
                                                noise_sampler=lambda s, s2: tt(queue_t.pop(0)))  # fmt: skip
    assert not queue_t and not queue_j
    err = max(err, rel_err(got_ns, want_ns, x0))
    record(f"sampling.sample_euler_ancestral (float64, eta={eta}, noise and noise_sampler)", err, TOL64)


def gaussian_denoiser(xp, v0=0.3):
    """The exact denoiser of N(0, v0 I) data at VE level σ, `model(x, sigma)`, in torch or JAX."""

    def model(x, sigma):
        s2 = xp.reshape(sigma, (-1,) + (1,) * (x.ndim - 1)) ** 2
        return v0 * x / (v0 + s2) + 0.02 * xp.sin(x) / (1 + s2)

    return model


def test_log_likelihood():
    """`log_likelihood` from σ_min = 0.05 to σ_max = 20 with the same Rademacher probe (the library's `randint_like`
    draw behind it), float64, atol = rtol = 1e-9. Not the same solve: the library integrates the whole batch as one
    torchdiffeq dopri5 state, the twin each example with diffrax's Dopri5 (the convention row); both are within
    their tolerance of the integral, so they agree to ~1e-9 × (|log p| + the integrand's scale): asserted at 1e-6."""
    x = RNG.standard_normal((2, 4))
    probe = np.sign(RNG.standard_normal(x.shape))
    ll, info = sampling.log_likelihood(gaussian_denoiser(jnp), x, 0.05, 20.0, atol=1e-9, rtol=1e-9, noise=probe)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch, "randint_like", lambda a, high, **kw: tt((probe + 1) / 2).to(a.dtype))
        ll_lib, info_lib = K_SAMPLING.log_likelihood(gaussian_denoiser(torch), tt(x), 0.05, 20.0, atol=1e-9,
                                                     rtol=1e-9)  # fmt: skip
    assert info["fevals"] > 0 and info_lib["fevals"] > 0
    record("sampling.log_likelihood (float64, Rademacher, atol = rtol = 1e-9)", rel_err(ll, ll_lib), 1e-6,
           "agrees within the solver tolerance (batch as one state vs per example: convention row)")  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def peer_table():
    """After this file's comparisons: their rows appended to the table at $SCORESDE_PEERS_TABLE, when it is set."""
    yield
    write_peer_table(ROWS)
