r"""The documents' samplers at one budget of score evaluations (NFE), side by side (derivations/experiments.md §4).

| key | sampler | document | steps for a budget of $B$ NFE |
|---|---|---|---|
| `em` | Euler–Maruyama on the reverse SDE (`pc_sample`, `"euler_maruyama"`) | 000 §3.1, §5.1; 003 §5.3 | $B$ |
| `pc` | PC: reverse diffusion + one Langevin corrector step, snr 0.16 | 000 §3.1; 003 §5.3 | $B/2$ |
| `ode` | probability-flow ODE, Heun (2 NFE a step) | 000 §3.2 | $B/2$ |
| `rk1` | 003's order-1 Runge–Kutta (`rk1_003_sample`) | 003 §6.2 | $B$ |
| `ode_rk45` | probability-flow ODE, adaptive Dopri5 at rtol = atol = 1e-5 (its own NFE) | 000 §3.2, §5.2 | adaptive |

Every sampler starts from the same prior draws `x_T` (paired), ends at `eps`, and returns the last step's mean
(no noise on the final step: `denoise`). The learned and the exact score run through one `EitherScore`, so each
sampler compiles once for both (the flag is an array, traced).
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._validation import check_integer
from ..samplers._ode import ode_sample
from ..samplers._pc import pc_sample
from ..samplers._sde_solvers import rk1_003_step
from ..sde._reverse import reverse_drift

SAMPLERS = {
    "em": "Euler–Maruyama (reverse SDE)",
    "pc": "PC: reverse diffusion + Langevin (snr 0.16)",
    "ode": "probability-flow ODE, Heun",
    "rk1": "003's order-1 Runge–Kutta",
    "ode_rk45": "probability-flow ODE, adaptive RK45 (rtol = atol = 1e-5)",
}


RK45 = {"solver": "dopri5", "rtol": 1e-5, "atol": 1e-5}
"""000 §3.2: scipy's RK45 at rtol = atol = 1e-5; Dopri5 is the same Dormand–Prince pair."""


class SamplerRun(NamedTuple):
    """The samples `x` `(n, d)` (NumPy), the score evaluations per example `nfe`, and for `em` with
    `trajectory=True` the `path` `(N, n_path, d)` of the first `n_path` particles after every step."""

    x: np.ndarray
    nfe: int
    path: np.ndarray | None = None


def as_float64(tree):
    """`tree` (a trained model) with every floating-point array cast to float64, for the float64 evaluation."""
    return jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, tree)


class EitherScore(eqx.Module):
    r"""`exact(x, t)` where `use_exact` else `learned(x, t)` (both evaluated, one selected): the learned score and its
    floor share one compilation of every sampler, since only the array `use_exact` differs between the two."""

    learned: eqx.Module
    exact: eqx.Module
    use_exact: jax.Array

    def __call__(self, x, t):
        return jnp.where(self.use_exact, self.exact(x, t), self.learned(x, t))


def paired_scores(learned, exact) -> dict:
    """`{"learned": EitherScore(.., False), "exact": EitherScore(.., True)}`."""
    return {k: EitherScore(learned, exact, jnp.asarray(k == "exact")) for k in ("learned", "exact")}


@eqx.filter_jit
def _rk1_scan(key, sde, score_fn, x_T, eps, n_steps):
    h = (sde.T - eps) / n_steps

    def drift(w, t):  # the reverse SDE in forward time u = T - t: dy = -[f - g^2 s](y, T - u) du + g dw
        return -jax.vmap(lambda y: reverse_drift(sde, score_fn, y, t))(w)

    def diffusion(w, t):  # additive noise: b(w, t) = g(t), whatever w
        return sde.diffusion(t) * jnp.ones_like(w)

    def body(w, k):
        t = sde.T - k.astype(x_T.dtype) * h
        z = jax.random.normal(jax.random.split(jax.random.fold_in(key, k))[1], w.shape, w.dtype)
        return rk1_003_step(drift, diffusion, w, t, h, jnp.sqrt(h) * z), None

    w, _ = jax.lax.scan(body, x_T, jnp.arange(n_steps - 1))
    t_last = sde.T - jnp.asarray(n_steps - 1, x_T.dtype) * h
    return w + drift(w, t_last) * h  # the last step's mean (no noise), as pc_sample's denoise


def rk1_003_sample(key, sde, score_fn, x_T, *, n_steps: int, eps: float = 1e-3) -> SamplerRun:
    r"""003 §6.2's order-1 Runge–Kutta (derivative-free Milstein) on the reverse SDE, `n_steps` steps from $T$ to
    `eps` on `pc_sample`'s grid $t_k = T - kh$, with `pc_sample`'s noise ($z_k$ from `split(fold_in(key, k))[1]`)
    and its final noise-free step. The noise is additive, so the scheme's correction is exactly zero and, given
    the same key, the samples are Euler–Maruyama's to rounding (the check `rk1_vs_em_max_abs_diff`; ERRATA E38).
    One score evaluation a step."""
    n_steps = check_integer(n_steps, "n_steps", "rk1_003_sample", minimum=2)
    x = _rk1_scan(key, sde, score_fn, jnp.asarray(x_T), jnp.asarray(eps, jnp.asarray(x_T).dtype), n_steps)
    return SamplerRun(np.asarray(x), n_steps)


def run_samplers(
    key, sde, score_fn, x_T, *, nfe: int, eps: float = 1e-3, names=tuple(SAMPLERS), n_path: int = 0
) -> dict:
    """`{name: SamplerRun}` for the samplers `names` of `SAMPLERS` at a budget of `nfe` score evaluations per
    example (module table), all from `x_T`; sampler `j` of `SAMPLERS` draws its noise from `fold_in(key, j)`.
    `score_fn` may be a dict of scores (`paired_scores`): then `{which: {name: SamplerRun}}`, same draws.
    `n_path > 0`: `em` records the path of its first `n_path` particles (the whole batch's path is computed)."""
    if isinstance(score_fn, dict):
        return {
            k: run_samplers(key, sde, s, x_T, nfe=nfe, eps=eps, names=names, n_path=n_path) for k, s in score_fn.items()
        }
    nfe = check_integer(nfe, "nfe", "run_samplers", minimum=4)
    keys = {name: jax.random.fold_in(key, j) for j, name in enumerate(SAMPLERS)}
    out = {}
    for name in names:
        if name == "em":
            res = pc_sample(
                keys[name], sde, score_fn, x_T, n_steps=nfe, eps=eps, predictor="euler_maruyama",
                trajectory=n_path > 0,
            )  # fmt: skip
            if n_path > 0:
                out[name] = SamplerRun(np.asarray(res[0]), int(res[1]), np.asarray(res[2][:, :n_path]))
                continue
        elif name == "pc":
            res = pc_sample(
                keys[name], sde, score_fn, x_T, n_steps=nfe // 2, eps=eps, predictor="reverse_diffusion",
                corrector="langevin", snr=0.16, corrector_steps=1,
            )  # fmt: skip
        elif name == "ode":
            res = ode_sample(sde, score_fn, x_T, eps=eps, solver="heun", n_steps=nfe // 2)
        elif name == "rk1":
            res = rk1_003_sample(keys[name], sde, score_fn, x_T, n_steps=nfe, eps=eps)
        elif name == "ode_rk45":
            res = ode_sample(sde, score_fn, x_T, eps=eps, **RK45)
        else:
            raise ValueError(f"run_samplers: names must be among {tuple(SAMPLERS)}; got {name!r}")
        out[name] = SamplerRun(np.asarray(res[0]), int(res[1]))
    return out


def rk1_matches_em(key, sde, score_fn, x_T, em: SamplerRun, *, eps: float = 1e-3) -> float:
    """max |RK1 − EM| over the batch when 003's RK1 is given Euler–Maruyama's own noise (key `fold_in(key, 0)` of
    `run_samplers`, whose `em` run is `em`): zero up to rounding, since the correction vanishes for additive
    noise."""
    rk = rk1_003_sample(jax.random.fold_in(key, 0), sde, score_fn, x_T, n_steps=em.nfe, eps=eps).x
    return float(np.max(np.abs(em.x - rk)))


class Trajectories(NamedTuple):
    """Particle paths: EM's `em_times` `(N + 1,)` and `em_path` `(N + 1, n, d)`, the PF ODE's `ode_times` and
    `ode_path`; both start at $T$ from the same prior draws."""

    em_times: np.ndarray
    em_path: np.ndarray
    ode_times: np.ndarray
    ode_path: np.ndarray


def trajectories(sde, score_fn, x_T, em: SamplerRun, *, n_path: int, eps: float = 1e-3, n_times: int = 10, **ode):
    """The `Trajectories` of the first `n_path` particles: EM's recorded path (`run_samplers(..., n_path=...)`)
    and the PF ODE stopped at `n_times` times, `ode_sample(sde, score_fn, x_T[:n_path], eps=t, **ode)` (one
    compilation for the times; `ode`: e.g. `solver="heun", n_steps=...`)."""
    h = (float(sde.T) - eps) / em.nfe
    em_times = float(sde.T) - h * np.arange(0, em.nfe + 1)
    ode_times = np.linspace(float(sde.T), eps, n_times + 1)[1:]
    path = [np.asarray(ode_sample(sde, score_fn, x_T[:n_path], eps=float(t), **ode)[0]) for t in ode_times]
    x0 = np.asarray(x_T)[None, :n_path]
    return Trajectories(
        em_times,
        np.concatenate([x0, em.path]),
        np.concatenate([[float(sde.T)], ode_times]),
        np.concatenate([x0, np.stack(path)]),
    )
