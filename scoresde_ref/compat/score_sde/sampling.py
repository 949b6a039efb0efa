r"""Twin of score_sde_pytorch's `sampling.py`: predictors, correctors, the PC sampler and the probability-flow ODE
sampler, each step computed by the project's step objects (`scoresde_ref.samplers`: `EulerMaruyama`,
`ReverseDiffusion`, `Ancestral`, `LangevinCorrector`, `AnnealedLangevinCorrector`, `langevin_update`) with the
noise given.

**Models.** Where the library takes a `model` and calls `mutils.get_score_fn(sde, model, continuous=...)`, the twin
takes the score function itself, `score_fn(x, t)` on a batch `x` `(n, ...)` with `t` `(n,)` (returning an array like
`x`; JAX-traceable only for `get_ode_sampler`'s sibling `likelihood`). `continuous`, `device` and `train` are
accepted and unused: they only say how the library builds that score function.

**Noise.** `update_fn(x, t, *, noise)` returns `(x, x_mean)` like the library; a predictor's `noise` is the one
`torch.randn_like(x)` it draws, a corrector's a sequence of `n_steps` draws (one per Langevin update). The samplers
take `noise` as one flat sequence in the library's order: the prior draw, then at each of the $N$ times the
corrector's draws and the predictor's draw (`NonePredictor` / `NoneCorrector` draw nothing).

**Conventions** (derivations/compat.md, "score_sde"): the time grid is `linspace(T, eps, N)` with the predictors'
$dt = -1/N$ (not the grid spacing); the corrector runs BEFORE the predictor at each time (issue #50); the Langevin
step size uses $\alpha_i = 1 - \beta_i$ for `VPSDE` (issue #73; the paper's Algorithm 5 writes the product
$\bar\alpha_i$) and $\alpha = 1$ for `VESDE`, with norms averaged over the batch (issue #41); `denoise` returns the
last predictor update's mean.
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from ...samplers._correctors import AnnealedLangevinCorrector as _ALD
from ...samplers._correctors import LangevinCorrector as _Langevin
from ...samplers._langevin import langevin_update
from ...samplers._ode import solve_ivp_jax
from ...samplers._predictors import Ancestral as _Ancestral
from ...samplers._predictors import EulerMaruyama as _EulerMaruyama
from ...samplers._predictors import ReverseDiffusion as _ReverseDiffusion
from ...sde._reverse import Flow, probability_flow_drift
from ._arrays import as_batch, batch_times, flat, noise_sequence, per_example
from .sde_lib import SDE, VESDE, VPSDE

_CORRECTORS: dict = {}
_PREDICTORS: dict = {}


def register_predictor(cls=None, *, name=None):
    """The library's decorator registering a predictor class under `name` (default: the class name)."""

    def _register(cls):
        local_name = cls.__name__ if name is None else name
        if local_name in _PREDICTORS:
            raise ValueError(f"Already registered model with name: {local_name}")
        _PREDICTORS[local_name] = cls
        return cls

    return _register if cls is None else _register(cls)


def register_corrector(cls=None, *, name=None):
    """The library's decorator registering a corrector class under `name` (default: the class name)."""

    def _register(cls):
        local_name = cls.__name__ if name is None else name
        if local_name in _CORRECTORS:
            raise ValueError(f"Already registered model with name: {local_name}")
        _CORRECTORS[local_name] = cls
        return cls

    return _register if cls is None else _register(cls)


def get_predictor(name):
    return _PREDICTORS[name]


def get_corrector(name):
    return _CORRECTORS[name]


@eqx.filter_jit
def _predictor_step(step, sde, x, t, h, score, z, probability_flow):
    """The project's predictor `step` on every example, the score given, from $t$ by `h` with the chain index
    `timestep(t) + 1`; with `probability_flow`, on the probability-flow ODE (`Flow`, $g = 0$)."""

    def one(xi, ti, ii, si, zi):
        score_i = lambda _y, _t: si  # noqa: E731  (the score at (xi, ti), evaluated once on the batch)
        if probability_flow:
            flow = Flow(lambda y, s: probability_flow_drift(sde.base, score_i, y, s), sde.T)
            return step.step(flow, score_i, xi, ti, h, ii, None, zi)
        return step.step(sde.base, score_i, xi, ti, h, ii, sde.disc_at(ti), zi)

    x_next, x_mean = jax.vmap(one)(flat(x), t, sde.timestep(t) + 1, flat(score), flat(z))
    return x_next.reshape(x.shape), x_mean.reshape(x.shape)


@eqx.filter_jit
def _corrector_step(corrector, sde, x, t, grad, z):
    """One Langevin update of the batch with the project's corrector step size (batch-mean norms) and noise `z`."""
    xf, gf, zf = flat(x), flat(grad), flat(z)
    i = (sde.timestep(t) + 1)[:, None]
    step_size = corrector.step_size(sde.kernel_sde, gf, zf, t[:, None], i, sde.disc_at(t[0]))
    x_next, x_mean = langevin_update(xf, gf, step_size, zf)
    return x_next.reshape(x.shape), x_mean.reshape(x.shape)


class Predictor(eqx.Module):
    """The library's abstract predictor `Predictor(sde, score_fn, probability_flow=False)`; `rsde` is the reverse
    SDE. `n_draws` is the number of `randn_like(x)` draws of one `update_fn` (0 or 1)."""

    sde: SDE
    score_fn: Callable
    probability_flow: bool = eqx.field(static=True)
    n_draws = 1

    def __init__(self, sde, score_fn, probability_flow=False):
        self.sde, self.score_fn, self.probability_flow = sde, score_fn, bool(probability_flow)

    @property
    def rsde(self):
        return self.sde.reverse(self.score_fn, self.probability_flow)

    @abc.abstractmethod
    def update_fn(self, x, t, *, noise):
        """One update from `x` at times `t` with the predictor's draw `noise` (like `x`): `(x, x_mean)`."""

    def _inputs(self, x, t, noise, owner):
        x = as_batch(x, self.sde.dtype, "x", owner)
        t = batch_times(t, x.shape[0], self.sde.dtype, owner)
        (z,) = noise_sequence(noise, 1, x.shape, self.sde.dtype, owner)
        return x, t, z, jnp.asarray(self.score_fn(x, t), dtype=self.sde.dtype)


class Corrector(eqx.Module):
    """The library's abstract corrector `Corrector(sde, score_fn, snr, n_steps)`; `update_fn` takes `n_steps` draws."""

    sde: SDE
    score_fn: Callable
    snr: float
    n_steps: int = eqx.field(static=True)

    def __init__(self, sde, score_fn, snr, n_steps):
        self.sde, self.score_fn, self.snr, self.n_steps = sde, score_fn, snr, int(n_steps)

    @property
    def n_draws(self):
        return self.n_steps

    @abc.abstractmethod
    def update_fn(self, x, t, *, noise):
        """`n_steps` Langevin updates of `x` at times `t` with the `n_steps` draws `noise`: `(x, x_mean)`."""


@register_predictor(name="euler_maruyama")
class EulerMaruyamaPredictor(Predictor):
    r"""$x_{\text{mean}} = x - [f - g^2 s]\,\Delta t$, $x = x_{\text{mean}} + g\sqrt{\Delta t}\,z$ with $\Delta t = 1/N$
    (`scoresde_ref.samplers.EulerMaruyama`); with `probability_flow`, the drift $f - \tfrac12 g^2 s$ and no noise."""

    def update_fn(self, x, t, *, noise):
        x, t, z, score = self._inputs(x, t, noise, "EulerMaruyamaPredictor.update_fn")
        return _predictor_step(_EulerMaruyama(), self.sde, x, t, 1.0 / self.sde.N, score, z, self.probability_flow)


@register_predictor(name="reverse_diffusion")
class ReverseDiffusionPredictor(Predictor):
    r"""$x_{\text{mean}} = x - f_i + G_i^2 s$, $x = x_{\text{mean}} + G_i z$ with $(f_i, G_i)$ of `sde.discretize`
    (`scoresde_ref.samplers.ReverseDiffusion`); with `probability_flow`, $x - f_i + \tfrac12 G_i^2 s$ and no noise."""

    def update_fn(self, x, t, *, noise):
        owner = "ReverseDiffusionPredictor.update_fn"
        if self.probability_flow:
            x, t, z, _ = self._inputs(x, t, noise, owner)
            rev_f, rev_G = self.rsde.discretize(x, t)
            x_mean = x - rev_f
            return x_mean + per_example(rev_G, x) * z, x_mean
        x, t, z, score = self._inputs(x, t, noise, owner)
        return _predictor_step(_ReverseDiffusion(), self.sde, x, t, 1.0 / self.sde.N, score, z, False)


@register_predictor(name="ancestral_sampling")
class AncestralSamplingPredictor(Predictor):
    r"""Ancestral sampling of the DDPM (VP) or SMLD (VE) chain at level `timestep(t)`: the chain's reverse kernel
    (`scoresde_ref.samplers.Ancestral`). Other SDEs raise `NotImplementedError`, `probability_flow` a `ValueError`
    (the library asserts)."""

    def __init__(self, sde, score_fn, probability_flow=False):
        if not isinstance(sde, VPSDE | VESDE):
            raise NotImplementedError(f"SDE class {type(sde).__name__} not yet supported.")
        if probability_flow:
            raise ValueError("AncestralSamplingPredictor: probability_flow must be False (not supported); got True")
        super().__init__(sde, score_fn, probability_flow)

    def update_fn(self, x, t, *, noise):
        x, t, z, score = self._inputs(x, t, noise, "AncestralSamplingPredictor.update_fn")
        return _predictor_step(_Ancestral(), self.sde, x, t, 1.0 / self.sde.N, score, z, False)


@register_predictor(name="none")
class NonePredictor(Predictor):
    """An empty predictor: `(x, x)`, no draw."""

    n_draws = 0

    def update_fn(self, x, t, *, noise=None):
        return x, x


class _LangevinBase(Corrector):
    def __check_init__(self):
        if not isinstance(self.sde, VPSDE | VESDE):
            # The library's corrector reads `sde.alphas` for subVPSDE, which has none: an AttributeError there.
            raise NotImplementedError(
                f"{type(self).__name__}: SDE class {type(self.sde).__name__} not supported (the library's corrector "
                "reads sde.alphas, which only VPSDE has; for subVPSDE it fails with an AttributeError)"
            )
        if self.n_steps < 1:
            raise ValueError(f"{type(self).__name__}: n_steps must be an integer >= 1; got {self.n_steps}")

    def _project_corrector(self):
        raise NotImplementedError

    def update_fn(self, x, t, *, noise):
        owner = f"{type(self).__name__}.update_fn"
        x = as_batch(x, self.sde.dtype, "x", owner)
        t = batch_times(t, x.shape[0], self.sde.dtype, owner)
        corrector, x_mean = self._project_corrector(), x
        for z in noise_sequence(noise, self.n_steps, x.shape, self.sde.dtype, owner):
            grad = jnp.asarray(self.score_fn(x, t), dtype=self.sde.dtype)
            x, x_mean = _corrector_step(corrector, self.sde, x, t, grad, z)
        return x, x_mean


@register_corrector(name="langevin")
class LangevinCorrector(_LangevinBase):
    r"""$\epsilon = 2\alpha_i(r\,\overline{\|z\|}/\overline{\|s\|})^2$ (norms averaged over the batch),
    $x \leftarrow x + \epsilon s + \sqrt{2\epsilon} z$, `n_steps` times (`scoresde_ref.samplers.LangevinCorrector`,
    `norm="batch"`); $\alpha_i = 1 - \beta_i$ (VP), 1 (VE)."""

    def _project_corrector(self):
        return _Langevin(self.snr, self.n_steps, norm="batch")


@register_corrector(name="ald")
class AnnealedLangevinDynamics(_LangevinBase):
    r"""$\epsilon = 2\alpha_i(r\,\sigma_t)^2$ with $\sigma_t$ the std of `sde.marginal_prob` (for VE the reference
    $\sigma(t)$), `n_steps` Langevin updates (`scoresde_ref.samplers.AnnealedLangevinCorrector` on that kernel)."""

    def _project_corrector(self):
        return _ALD(self.snr, self.n_steps)


@register_corrector(name="none")
class NoneCorrector(Corrector):
    """An empty corrector: `(x, x)`, no draw."""

    @property
    def n_draws(self):
        return 0

    def update_fn(self, x, t, *, noise=None):
        return x, x


def shared_predictor_update_fn(x, t, sde, model, predictor, probability_flow, continuous, *, noise=None):
    """The library's wrapper: `predictor(sde, model, probability_flow).update_fn(x, t)` (`model` is the score
    function; `NonePredictor` when `predictor` is None)."""
    predictor_obj = (NonePredictor if predictor is None else predictor)(sde, model, probability_flow)
    return predictor_obj.update_fn(x, t, noise=noise)


def shared_corrector_update_fn(x, t, sde, model, corrector, continuous, snr, n_steps, *, noise=None):
    """The library's wrapper: `corrector(sde, model, snr, n_steps).update_fn(x, t)` (`NoneCorrector` when None)."""
    corrector_obj = (NoneCorrector if corrector is None else corrector)(sde, model, snr, n_steps)
    return corrector_obj.update_fn(x, t, noise=noise)


def _draw_counts(predictor, corrector, n_steps):
    n_p = 0 if predictor is None or predictor is NonePredictor else 1
    n_c = 0 if corrector is None or corrector is NoneCorrector else int(n_steps)
    return n_p, n_c


def get_pc_sampler(sde, shape, predictor, corrector, inverse_scaler, snr, n_steps=1, probability_flow=False,
                   continuous=False, denoise=True, eps=1e-3, device="cuda"):
    r"""The library's PC sampler: `pc_sampler(model, *, noise) -> (samples, nfe)` with `nfe = N (n_steps + 1)`.

    From $x = $ `sde.prior_sampling(shape, noise=noise[0])`, at each $t$ of `linspace(T, eps, N)`: the corrector
    (`n_steps` draws), then the predictor (one draw); `inverse_scaler(x_mean if denoise else x)`. `noise` is the
    flat sequence of `1 + N (n_steps [corrector] + 1 [predictor])` arrays of `shape` in that order.
    """
    n_p, n_c = _draw_counts(predictor, corrector, n_steps)

    def pc_sampler(model, *, noise):
        draws = noise_sequence(noise, 1 + sde.N * (n_c + n_p), shape, sde.dtype, "pc_sampler")
        x, k = sde.prior_sampling(shape, noise=draws[0]), 1
        x_mean = x
        timesteps = jnp.linspace(sde.T, eps, sde.N, dtype=sde.dtype)
        for i in range(sde.N):
            vec_t = jnp.ones(shape[0], sde.dtype) * timesteps[i]
            x, x_mean = shared_corrector_update_fn(
                x, vec_t, sde, model, corrector, continuous, snr, n_steps, noise=draws[k : k + n_c] if n_c else None
            )
            k += n_c
            x, x_mean = shared_predictor_update_fn(
                x, vec_t, sde, model, predictor, probability_flow, continuous, noise=draws[k] if n_p else None
            )
            k += n_p
        return inverse_scaler(x_mean if denoise else x), sde.N * (n_steps + 1)

    return pc_sampler


def get_ode_sampler(sde, shape, inverse_scaler, denoise=False, rtol=1e-5, atol=1e-5, method="RK45", eps=1e-3,
                    device="cuda"):
    r"""The library's probability-flow ODE sampler: `ode_sampler(model, z=None, *, noise=None) -> (samples, nfe)`.

    `scipy.integrate.solve_ivp(method, rtol, atol)` from `T` to `eps` on the flattened batch with the velocity
    $f - \tfrac12 g^2 s$ (`scoresde_ref.samplers.solve_ivp_jax`), from `z` or from the prior draw `noise`; `denoise`
    applies the reverse-diffusion predictor's mean at `eps`. `nfe` is scipy's `nfev`.

    **Precision.** The library casts the state to float32 before every drift evaluation and returns float32
    samples, whatever torch's default dtype: the twin in float64 is the exact-arithmetic answer and differs from
    the library by the float32 rounding of the drift, ~1e-7 relative per evaluation (use `sde` with
    `dtype=np.float32` for the library's rounding of the drift).
    """

    def ode_sampler(model, z=None, *, noise=None):
        x = sde.prior_sampling(shape, noise=noise) if z is None else jnp.asarray(z, sde.dtype)
        rsde = sde.reverse(model, probability_flow=True)

        def ode_func(t, y):
            y = jnp.asarray(y, dtype=sde.dtype)
            return rsde.sde(y, jnp.ones(shape[0], sde.dtype) * t.astype(sde.dtype))[0].astype(jnp.float64)

        y, nfe = solve_ivp_jax(ode_func, (sde.T, eps), jnp.asarray(x, jnp.float64), rtol=rtol, atol=atol,
                               method=method, owner="ode_sampler")
        x = jnp.asarray(y, dtype=sde.dtype)
        if denoise:
            rd = ReverseDiffusionPredictor(sde, model, probability_flow=False)
            _, x = rd.update_fn(x, jnp.ones(shape[0], sde.dtype) * eps, noise=jnp.zeros_like(x))
        return inverse_scaler(x), nfe

    return ode_sampler
