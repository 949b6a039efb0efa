"""The score_sde_pytorch twin against the real library (skipped, with the reason, where torch or scipy is absent or
`SCORE_SDE_PYTORCH` does not name a checkout of the library).

score_sde_pytorch is not a package: `git clone https://github.com/yang-song/score_sde_pytorch` and set
`SCORE_SDE_PYTORCH` to that folder. Its `sde_lib.py`, `sampling.py`, `losses.py`, `likelihood.py`,
`controllable_generation.py` and `models/utils.py` are imported from there as they are, with one stub:
`models.utils.get_score_fn` and `get_model_fn` return the model itself, so the library calls the same score
function (or label-conditioned network) the twin is given — the twin takes score functions directly
(derivations/compat.md, "score_sde"). `models/__init__.py` (the networks and their CUDA ops) is not imported.

Same inputs, same noise: during a library call `torch.randn`, `randn_like`, `rand`, `randint` and `randint_like`
return, in order, the arrays the twin is given (`Draws`), and the call must consume them all. float64: torch's
default dtype is float64 in this module (restored after), the library's float64 mode, so its schedules and steps
run in float64. Error = max|twin − library| / max(1, max|input|, max|library output|), as in
tests/test_peers_diffusers.py. Set SCORESDE_PEERS_TABLE=path to write the table (library, method, max error,
verdict); rows are appended when the file was written earlier in the same run (the other peer files)."""

import contextlib
import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the score_sde peer comparison needs torch (pip install torch)")
ROOT = Path(os.environ.get("SCORE_SDE_PYTORCH", "")).expanduser()
if not os.environ.get("SCORE_SDE_PYTORCH") or not (ROOT / "sde_lib.py").is_file():
    pytest.skip(
        "the score_sde peer comparison needs the library's source: git clone "
        "https://github.com/yang-song/score_sde_pytorch and set SCORE_SDE_PYTORCH to that folder",
        allow_module_level=True,
    )

import jax.numpy as jnp  # noqa: E402

from helpers import write_peer_table  # noqa: E402
from scoresde_ref.compat.score_sde import controllable_generation, likelihood, losses, sampling, sde_lib  # noqa: E402

LIB_MODULES = ("sde_lib", "models.utils", "sampling", "losses", "likelihood", "controllable_generation")
# Both sides evaluate the same float64 expressions in different orders (a few ULP, 2e-16 relative, of the scale
# per operation; ≤ 30 operations per step, ≤ 25 steps per loop): 1e-10, the bound, leaves a factor 1e3.
TOL64 = 1e-10
ROWS = []


def _load_library(root):
    """The library's modules from `root`, under their own names while they import each other (`sys.modules`
    restored after), with `models.utils.get_score_fn` / `get_model_fn` returning the model (module docstring)."""
    names = ("models", *LIB_MODULES)
    saved = {name: sys.modules.get(name) for name in names}
    loaded = {}
    try:
        models = types.ModuleType("models")
        models.__path__ = [str(root / "models")]
        sys.modules["models"] = models
        for name in LIB_MODULES:
            spec = importlib.util.spec_from_file_location(name, root / (name.replace(".", "/") + ".py"))
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            if name == "sampling":  # imports get_score_fn by name: the stub must be in place first
                models.utils.get_score_fn = lambda sde, model, train=False, continuous=False: model
                models.utils.get_model_fn = lambda model, train=False: model
            spec.loader.exec_module(module)
            if name == "models.utils":
                models.utils = module
            loaded[name] = module
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return types.SimpleNamespace(**{name.replace("models.", ""): m for name, m in loaded.items()})


def _revision(root):
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or "unknown revision"
    except OSError:
        return "unknown revision"


LIB = _load_library(ROOT)
LIBRARY = f"score_sde_pytorch {_revision(ROOT)}"


@pytest.fixture(autouse=True)
def float64_default():
    """The library in float64 (its tensors follow torch's default dtype); restored for the other peer files."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


class Draws:
    """torch's random functions replaced by the given arrays, in order (shapes checked against the request)."""

    def __init__(self, arrays):
        self.queue = [np.asarray(a) for a in arrays]

    def _next(self, shape, dtype):
        assert self.queue, "the library drew more random numbers than given"
        a = self.queue.pop(0)
        assert tuple(a.shape) == tuple(shape), f"library drew shape {tuple(shape)}, given {a.shape}"
        return torch.from_numpy(np.ascontiguousarray(a)).to(dtype)

    @staticmethod
    def _shape(shape):
        return tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape

    def randn_like(self, x, **kwargs):
        return self._next(x.shape, x.dtype)

    def randn(self, *shape, **kwargs):
        return self._next(self._shape(shape), torch.get_default_dtype())

    def rand(self, *shape, **kwargs):
        return self._next(self._shape(shape), torch.get_default_dtype())

    def randint(self, low, high, size, **kwargs):
        return self._next(size, torch.int64)

    def randint_like(self, x, low=0, high=None, **kwargs):
        return self._next(x.shape, x.dtype)


@contextlib.contextmanager
def library_draws(arrays):
    """Within the block, the library's draws are `arrays` in order; all of them must be used."""
    draws = Draws(arrays)
    with pytest.MonkeyPatch.context() as mp:
        for name in ("randn_like", "randn", "rand", "randint", "randint_like"):
            mp.setattr(torch, name, getattr(draws, name))
        yield
    assert not draws.queue, f"the library used {len(arrays) - len(draws.queue)} of {len(arrays)} given draws"


class Float32As64:
    """A stand-in for the `torch` module seen by one library module, identical except `torch.float32` is float64:
    switches off the library's `.type(torch.float32)` casts in its ODE sampler and likelihood (used to show that
    the rest of the computation is the twin's to 1e-10)."""

    float32 = torch.float64

    def __getattr__(self, name):
        return getattr(torch, name)


def tt(a):
    return torch.from_numpy(np.array(a, dtype=np.float64))


def score_fn(xp):
    """A smooth batched score-like field `score(x, t)` for `x` `(n, ...)`, `t` `(n,)`, in torch or JAX."""

    def score(x, t):
        t = xp.reshape(t, (-1,) + (1,) * (x.ndim - 1))
        return -(x - 0.3) / (1.0 + t) + 0.1 * xp.sin(x)

    return score


def ode_score_fn(xp, name):
    """For the ODE tests: the exact score of N(0.3, I) data under each SDE, −(x − 0.3 m)/v(t) with the library's
    kernel (VP: m = e^{−B/2}, v = 1 − m² + m²; sub-VP: v = (1 − m²)² + m²; VE: m = 1, v = σ(t)² + 1) plus a small
    nonlinear term, so that the flow is smooth at every t (the generic `score_fn` is stiff under VE's g² ~ 4e4)."""

    def score(x, t):
        t = xp.reshape(t, (-1,) + (1,) * (x.ndim - 1))
        if name == "ve":
            m, v = 1.0, (0.01 * 5000.0**t) ** 2 + 1.0
        else:
            m = xp.exp(-0.25 * t**2 * 19.9 - 0.5 * t * 0.1)
            v = (1 - m**2 if name == "vp" else (1 - m**2) ** 2) + m**2
        return -(x - 0.3 * m) / v + 0.05 * xp.sin(x) / v

    return score


SCORE_T, SCORE_J = score_fn(torch), score_fn(jnp)
RNG = np.random.default_rng(20240611)
X = RNG.standard_normal((4, 3, 2, 2))  # the library indexes [:, None, None, None]: images (n, C, H, W)
T_VEC = np.array([1.0, 0.7312, 0.25, 1e-3])


def rel_err(ours, theirs, *scales):
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    scale = max([1.0, float(np.max(np.abs(theirs)))] + [float(np.max(np.abs(s))) for s in scales])
    return float(np.max(np.abs(ours - theirs))) / scale


def record(method, err, tol, verdict=None):
    ROWS.append((LIBRARY, method, err, verdict or ("agrees" if err <= tol else "DIFFERS")))
    assert err <= tol, f"{method}: error {err:.3g} > {tol:.3g}"


def sdes(name, N=1000):
    """(library SDE, twin SDE) with the library's defaults (`N` steps)."""
    cls = {"vp": "VPSDE", "subvp": "subVPSDE", "ve": "VESDE"}[name]
    return getattr(LIB.sde_lib, cls)(N=N), getattr(sde_lib, cls)(N=N)


@pytest.mark.parametrize("name", ["vp", "subvp", "ve"])
def test_sde_lib(name):
    """sde, marginal_prob, prior_sampling, prior_logp, discretize, the reverse SDE's sde and discretize (with and
    without probability_flow) and the discrete schedules, at N = 1000 on the same x, t."""
    lib, ours = sdes(name)
    x, t, worst = tt(X), tt(T_VEC), 0.0
    for method in ("sde", "marginal_prob", "discretize"):
        for a, b in zip(getattr(ours, method)(X, T_VEC), getattr(lib, method)(x, t)):
            worst = max(worst, rel_err(a, b, X))
    worst = max(worst, rel_err(ours.prior_logp(X), lib.prior_logp(x)))
    with library_draws([X]):
        worst = max(worst, rel_err(ours.prior_sampling(X.shape, noise=X), lib.prior_sampling(X.shape), X))
    for pf in (False, True):
        for method in ("sde", "discretize"):
            got = getattr(ours.reverse(SCORE_J, pf), method)(X, T_VEC)
            want = getattr(lib.reverse(SCORE_T, pf), method)(x, t)
            for a, b in zip(got, want):
                worst = max(worst, rel_err(a, np.asarray(b, np.float64) if np.isscalar(b) else b, X))
    attributes = {"vp": ["discrete_betas", "alphas", "alphas_cumprod", "sqrt_alphas_cumprod",
                         "sqrt_1m_alphas_cumprod"], "ve": ["discrete_sigmas"], "subvp": []}[name]  # fmt: skip
    for attribute in attributes:
        worst = max(worst, rel_err(getattr(ours, attribute), getattr(lib, attribute)))
    assert ours.T == lib.T and ours.N == lib.N
    record(f"sde_lib.{type(lib).__name__} (sde, marginal_prob, prior, discretize, reverse)", worst, TOL64)


PREDICTORS = [("vp", "EulerMaruyamaPredictor", False), ("subvp", "EulerMaruyamaPredictor", False),
              ("ve", "EulerMaruyamaPredictor", False), ("vp", "ReverseDiffusionPredictor", False),
              ("subvp", "ReverseDiffusionPredictor", False), ("ve", "ReverseDiffusionPredictor", False),
              ("vp", "ReverseDiffusionPredictor", True), ("ve", "ReverseDiffusionPredictor", True),
              ("vp", "AncestralSamplingPredictor", False), ("ve", "AncestralSamplingPredictor", False)]  # fmt: skip


@pytest.mark.parametrize("name, predictor, probability_flow", PREDICTORS)
def test_predictor_update_fn(name, predictor, probability_flow):
    """Each predictor's `update_fn` at four times with the same draw: `(x, x_mean)` within 1e-10."""
    lib, ours = sdes(name)
    z = RNG.standard_normal(X.shape)
    got = getattr(sampling, predictor)(ours, SCORE_J, probability_flow).update_fn(X, T_VEC, noise=z)
    with library_draws([z]):
        want = getattr(LIB.sampling, predictor)(lib, SCORE_T, probability_flow).update_fn(tt(X), tt(T_VEC))
    worst = max(rel_err(a, b, X) for a, b in zip(got, want))
    record(f"sampling.{predictor} ({type(lib).__name__}{', probability_flow' if probability_flow else ''})", worst,
           TOL64)  # fmt: skip


def test_euler_maruyama_probability_flow_is_a_library_crash():
    """The library's `EulerMaruyamaPredictor(probability_flow=True)` fails: its reverse SDE returns the diffusion as
    the float 0., which `update_fn` indexes (`diffusion[:, None, None, None]`, a TypeError). The twin steps with the
    probability-flow drift and no noise: x − (f − ½g²s)/N, the library's own reverse `sde` drift times dt."""
    lib, ours = sdes("vp")
    z = RNG.standard_normal(X.shape)
    with pytest.raises(TypeError), library_draws([z]):
        LIB.sampling.EulerMaruyamaPredictor(lib, SCORE_T, True).update_fn(tt(X), tt(T_VEC))
    x_next, x_mean = sampling.EulerMaruyamaPredictor(ours, SCORE_J, True).update_fn(X, T_VEC, noise=z)
    drift = lib.reverse(SCORE_T, True).sde(tt(X), tt(T_VEC))[0].numpy()
    err = max(rel_err(x_next, X - drift / lib.N, X), rel_err(x_mean, X - drift / lib.N, X))
    ROWS.append(
        (
            LIBRARY,
            "sampling.EulerMaruyamaPredictor (VPSDE, probability_flow)",
            err,
            "library bug: TypeError (float diffusion indexed); twin = x − drift/N of the library's reverse sde",
        )
    )
    assert err <= TOL64


@pytest.mark.parametrize("name", ["vp", "ve"])
@pytest.mark.parametrize("corrector", ["LangevinCorrector", "AnnealedLangevinDynamics"])
def test_corrector_update_fn(name, corrector):
    """Each corrector's `update_fn` (snr 0.16, two Langevin steps, two draws) within 1e-10."""
    lib, ours = sdes(name)
    zs = list(RNG.standard_normal((2, *X.shape)))
    got = getattr(sampling, corrector)(ours, SCORE_J, 0.16, 2).update_fn(X, T_VEC, noise=zs)
    with library_draws(zs):
        want = getattr(LIB.sampling, corrector)(lib, SCORE_T, 0.16, 2).update_fn(tt(X), tt(T_VEC))
    worst = max(rel_err(a, b, X) for a, b in zip(got, want))
    record(f"sampling.{corrector} ({type(lib).__name__}, n_steps=2)", worst, TOL64)


@pytest.mark.parametrize("corrector", ["LangevinCorrector", "AnnealedLangevinDynamics"])
def test_correctors_on_subvp_fail_in_both(corrector):
    """On subVPSDE the library's correctors read `sde.alphas`, which it lacks (AttributeError at the first update);
    the twin refuses at construction (NotImplementedError naming the reason)."""
    lib, ours = sdes("subvp")
    with pytest.raises(AttributeError, match="alphas"), library_draws([]):
        getattr(LIB.sampling, corrector)(lib, SCORE_T, 0.16, 1).update_fn(tt(X), tt(T_VEC))
    with pytest.raises(NotImplementedError, match="alphas"):
        getattr(sampling, corrector)(ours, SCORE_J, 0.16, 1)
    verdict = "library: AttributeError (sde.alphas missing); twin: NotImplementedError (convention row)"
    ROWS.append((LIBRARY, f"sampling.{corrector} (subVPSDE)", float("nan"), verdict))


PC_CASES = [("vp", "ReverseDiffusionPredictor", "LangevinCorrector", 1, False),
            ("ve", "ReverseDiffusionPredictor", "LangevinCorrector", 2, False),
            ("vp", "AncestralSamplingPredictor", "AnnealedLangevinDynamics", 1, False),
            ("ve", "EulerMaruyamaPredictor", "NoneCorrector", 1, False),
            ("subvp", "EulerMaruyamaPredictor", "NoneCorrector", 1, True),
            ("ve", "NonePredictor", "LangevinCorrector", 1, False)]  # fmt: skip


@pytest.mark.parametrize("name, predictor, corrector, n_steps, denoise", PC_CASES)
def test_pc_sampler(name, predictor, corrector, n_steps, denoise):
    """`get_pc_sampler` over all N = 25 times (β_max/N = 0.8 < 1 for the VP chain) with the library's draws in its
    order (prior, then per time the corrector's and the predictor's): samples within 1e-10, nfe equal."""
    N, shape = 25, X.shape
    lib, ours = sdes(name, N)
    n_c = 0 if corrector == "NoneCorrector" else n_steps
    n_p = 0 if predictor == "NonePredictor" else 1
    draws = list(RNG.standard_normal((1 + N * (n_c + n_p), *shape)))
    kw = {"inverse_scaler": lambda y: y, "snr": 0.16, "n_steps": n_steps, "denoise": denoise, "eps": 1e-3}
    got, nfe = sampling.get_pc_sampler(ours, shape, getattr(sampling, predictor), getattr(sampling, corrector),
                                       **kw)(SCORE_J, noise=draws)  # fmt: skip
    with library_draws(draws):
        want, nfe_lib = LIB.sampling.get_pc_sampler(
            lib, shape, getattr(LIB.sampling, predictor), getattr(LIB.sampling, corrector), device="cpu", **kw
        )(SCORE_T)
    assert nfe == nfe_lib
    record(f"sampling.get_pc_sampler ({type(lib).__name__}, {predictor}, {corrector}, n_steps={n_steps}, "
           f"denoise={denoise}, N={N})", rel_err(got, want, draws[0]), TOL64)  # fmt: skip


@pytest.mark.parametrize("name", ["vp", "subvp", "ve"])
@pytest.mark.parametrize("reduce_mean", [False, True])
@pytest.mark.parametrize("likelihood_weighting", [False, True])
def test_sde_loss(name, reduce_mean, likelihood_weighting):
    """`get_sde_loss_fn` with the library's draws (t = u(T − eps) + eps, then z) within 1e-10."""
    lib, ours = sdes(name)
    u, z = RNG.uniform(size=X.shape[0]), RNG.standard_normal(X.shape)
    kw = {"reduce_mean": reduce_mean, "likelihood_weighting": likelihood_weighting}
    got = losses.get_sde_loss_fn(ours, True, **kw)(SCORE_J, X, noise=(u, z))
    with library_draws([u, z]):
        want = LIB.losses.get_sde_loss_fn(lib, True, **kw)(SCORE_T, tt(X))
    record(f"losses.get_sde_loss_fn ({type(lib).__name__}, reduce_mean={reduce_mean}, "
           f"likelihood_weighting={likelihood_weighting})", rel_err(got, want), TOL64)  # fmt: skip


def label_model(xp):
    """A label-conditioned network `model(x, labels)` (labels 0-based integers `(n,)`), in torch or JAX."""

    def model(x, labels):
        lab = xp.reshape(labels, (-1,) + (1,) * (x.ndim - 1))
        lab = lab.to(x.dtype) if xp is torch else lab.astype(x.dtype)
        return -x / (1.0 + 0.1 * lab) + 0.05 * xp.cos(x)

    return model


@pytest.mark.parametrize("kind", ["smld", "ddpm"])
@pytest.mark.parametrize("reduce_mean", [False, True])
def test_discrete_losses(kind, reduce_mean):
    """`get_smld_loss_fn` (VE, descending sigmas) and `get_ddpm_loss_fn` (VP) with the drawn labels and z."""
    lib, ours = sdes("ve" if kind == "smld" else "vp")
    labels, z = np.array([0, 1, 500, 999]), RNG.standard_normal(X.shape)
    factory = f"get_{kind}_loss_fn"
    got = getattr(losses, factory)(ours, True, reduce_mean=reduce_mean)(label_model(jnp), X, noise=(labels, z))
    with library_draws([labels, z]):
        want = getattr(LIB.losses, factory)(lib, True, reduce_mean=reduce_mean)(label_model(torch), tt(X))
    record(f"losses.{factory} (reduce_mean={reduce_mean})", rel_err(got, want), TOL64)


def _library_likelihood(name, lib_sde, hutchinson_type, probe, data, exact_cast):
    """The library's likelihood with `probe` as its draw (Rademacher: the 0/1 draw behind it); with `exact_cast`,
    its float32 casts switched off (`Float32As64`)."""
    draw = (probe + 1) / 2 if hutchinson_type == "Rademacher" else probe
    with pytest.MonkeyPatch.context() as mp:
        if exact_cast:
            mp.setattr(LIB.likelihood, "torch", Float32As64())
        fn = LIB.likelihood.get_likelihood_fn(lib_sde, lambda y: (y + 1) / 2, hutchinson_type=hutchinson_type)
        with library_draws([draw]):
            return fn(ode_score_fn(torch, name), tt(data))


@pytest.mark.parametrize("name, hutchinson_type", [("vp", "Rademacher"), ("subvp", "Gaussian"), ("ve", "Rademacher")])
def test_likelihood(name, hutchinson_type):
    """`get_likelihood_fn` (RK45, rtol = atol = 1e-5, the library's defaults) with the same Hutchinson probe, on
    data in [−1, 1] (offset 7). With the library's float32 casts switched off: bpd and z within 1e-10 and the same
    nfe (the same scipy solve on the same drift to rounding). As the library is, it rounds the state to float32
    before each drift: each evaluation moves by ~u = 6e-8 of the state's scale, which the stable flow carries to z
    and Δ without growth (measured ≤ 6.4e-8 = 1.1u): bounded at 1e-6 (16u), the named convention."""
    lib, ours = sdes(name)
    data = np.clip(0.5 * X[:2], -1, 1)
    probe = np.sign(RNG.standard_normal(data.shape)) if hutchinson_type == "Rademacher" else RNG.standard_normal(
        data.shape)  # fmt: skip
    bpd, z, nfe = likelihood.get_likelihood_fn(ours, lambda y: (y + 1) / 2, hutchinson_type=hutchinson_type)(
        ode_score_fn(jnp, name), data, noise=probe)  # fmt: skip
    bpd_x, z_x, nfe_x = _library_likelihood(name, lib, hutchinson_type, probe, data, exact_cast=True)
    assert nfe == nfe_x
    record(f"likelihood.get_likelihood_fn ({type(lib).__name__}, {hutchinson_type}, library casts off)",
           max(rel_err(bpd, bpd_x), rel_err(z, z_x, data)), TOL64)  # fmt: skip
    bpd_l, z_l, _ = _library_likelihood(name, lib, hutchinson_type, probe, data, exact_cast=False)
    record(f"likelihood.get_likelihood_fn ({type(lib).__name__}, {hutchinson_type}, as the library is)",
           max(rel_err(bpd, bpd_l), rel_err(z, z_l, data)), 1e-6,
           "agrees within the library's float32 cast of the state (convention row)")  # fmt: skip


@pytest.mark.parametrize("name", ["vp", "ve"])
def test_ode_sampler(name):
    """`get_ode_sampler` (RK45 from T to eps = 1e-3, denoise) from the same prior draw: with the library's float32
    casts switched off, within 1e-10 and the same nfe; as the library is (state rounded to float32 at each drift and
    at the end: ~u = 6e-8 of the scale per evaluation, carried by a stable flow), within 1e-6 (16u)."""
    lib, ours = sdes(name)
    z = RNG.standard_normal(X.shape)
    got, nfe = sampling.get_ode_sampler(ours, X.shape, lambda y: y, denoise=True)(ode_score_fn(jnp, name), noise=z)
    for exact_cast, tol in [(True, TOL64), (False, 1e-6)]:
        with pytest.MonkeyPatch.context() as mp:
            if exact_cast:
                mp.setattr(LIB.sampling, "torch", Float32As64())
            with library_draws([z, z]):  # the prior, then the denoising predictor's draw (unused: x_mean is kept)
                want, nfe_lib = LIB.sampling.get_ode_sampler(lib, X.shape, lambda y: y, denoise=True, device="cpu")(
                    ode_score_fn(torch, name))  # fmt: skip
        if exact_cast:
            assert nfe == nfe_lib
        how = "library casts off" if exact_cast else "as the library is"
        method = f"sampling.get_ode_sampler ({type(lib).__name__}, denoise, {how})"
        record(
            method,
            rel_err(got, want, z * (50 if name == "ve" else 1)),
            tol,
            None if exact_cast else "agrees within the library's float32 cast of the state (convention row)",
        )


@pytest.mark.parametrize("name", ["vp", "ve"])
def test_pc_inpainter(name):
    """`get_pc_inpainter` (reverse diffusion + Langevin, N = 25) with the draws in the library's order (prior; per
    time the corrector's, its replacement's, the predictor's, its replacement's): within 1e-10."""
    N = 25
    lib, ours = sdes(name, N)
    mask = np.zeros(X.shape)
    mask[:, :, :, :1] = 1.0
    draws = list(RNG.standard_normal((1 + N * 4, *X.shape)))
    kw = {"inverse_scaler": lambda y: y, "snr": 0.16, "n_steps": 1, "eps": 1e-3}
    got = controllable_generation.get_pc_inpainter(
        ours, sampling.ReverseDiffusionPredictor, sampling.LangevinCorrector, **kw
    )(SCORE_J, X, mask, noise=draws)
    with library_draws(draws):
        want = LIB.controllable_generation.get_pc_inpainter(
            lib, LIB.sampling.ReverseDiffusionPredictor, LIB.sampling.LangevinCorrector, **kw
        )(SCORE_T, tt(X), tt(mask))
    record(f"controllable_generation.get_pc_inpainter ({type(lib).__name__}, N={N})", rel_err(got, want, X), TOL64)


def test_pc_colorizer():
    """`get_pc_colorizer` (VP, Euler–Maruyama + Langevin, N = 25). The library's colour basis M is written to 8
    digits (entries off the orthonormal basis by ≤ 1.2e-7; `torch.inverse` of it, not its transpose), the twin's is
    exact: each of the 2N couple/decouple pairs moves the state by ≤ 3 · 2 · 1.2e-7 of its scale, and the corrector
    and predictor carry it forward with factors ≤ 1 + O(1/N): bounded at 2N · 1e-6 = 5e-5 (measured 1e-7)."""
    N = 25
    lib, ours = sdes("vp", N)
    gray = np.repeat(X[:, :1], 3, axis=1)
    draws = list(RNG.standard_normal((1 + N * 4, *X.shape)))
    kw = {"inverse_scaler": lambda y: y, "snr": 0.16, "n_steps": 1, "eps": 1e-3}
    got = controllable_generation.get_pc_colorizer(ours, sampling.EulerMaruyamaPredictor, sampling.LangevinCorrector,
                                                   **kw)(SCORE_J, gray, noise=draws)  # fmt: skip
    with library_draws(draws):
        want = LIB.controllable_generation.get_pc_colorizer(
            lib, LIB.sampling.EulerMaruyamaPredictor, LIB.sampling.LangevinCorrector, **kw
        )(SCORE_T, tt(gray))
    record(
        f"controllable_generation.get_pc_colorizer (VPSDE, N={N})",
        rel_err(got, want, gray),
        2 * N * 1e-6,
        "agrees within the library's 8-digit colour basis (convention row)",
    )


@pytest.fixture(scope="module", autouse=True)
def peer_table():
    """After this file's comparisons: their rows appended to the table at $SCORESDE_PEERS_TABLE, when it is set."""
    yield
    write_peer_table(ROWS)
