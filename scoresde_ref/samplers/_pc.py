r"""The predictor–corrector sampler (Song et al. 2021, Algorithms 1–3; 000_cce368350850b628.txt §3.1;
002_686d39656702d14a.txt "Predictor-Corrector sampling methods")."""

import jax
import jax.numpy as jnp

from ._correctors import CORRECTORS, SNR_NORMS
from .._custom_types import Batch, Key, ScoreFn
from ..chains._discretize import discretize
from ._predictors import PREDICTORS
from ..sde._base import AbstractSDE
from .._validation import check

ORDERS = ("corrector_first", "predictor_first")


def uses_discretization(predictor: str, corrector: str | None) -> bool:
    """Whether the step needs `discretize(sde, N)` (chain noise levels, or α_i for a VP corrector)."""
    return predictor in ("reverse_diffusion", "ancestral") or corrector is not None


def _choice(value, allowed, name):
    if value not in allowed:
        raise ValueError(f"pc_sample: {name} must be one of {tuple(allowed)}; got {value!r}")


def pc_sample(
    key: Key,
    sde: AbstractSDE,
    score_fn: ScoreFn,
    x_T: Batch,
    *,
    n_steps: int,
    eps: float = 1e-3,
    predictor: str = "euler_maruyama",
    corrector: str | None = None,
    snr: float = 0.16,
    corrector_steps: int = 1,
    denoise: bool = True,
    order: str = "corrector_first",
    snr_norm: str = "batch",
    trajectory: bool = False,
    project=None,
):
    r"""Sample by integrating the reverse-time SDE from $T$ down to `eps` in `n_steps` steps.

    **Time grid.** $t_k = T - k h$, $h = (T - \text{eps})/N$, $k = 0, \dots, N-1$; step $k$ goes from
    $t_k$ to $t_k - h$ and evaluates everything at $t_k$ (its left end in reverse time); its
    chain index (for `reverse_diffusion`, `ancestral` and the VP corrector's $\alpha_i$) is
    $i = N - k$ of `discretize(sde, N)`. (The reference code uses `linspace(T, eps, N)` with
    $dt = -1/N$, which differ from this grid by $O(\text{eps})$ and $O(1/N^2)$.)

    **Order.** `"corrector_first"` (the reference code: at each $t_k$, corrector then predictor)
    or `"predictor_first"` (the paper's Algorithms 2–3: predictor to $t_k - h$, then the corrector
    there, with the noise level of index $\max(i - 1, 1)$).

    **Arguments:** `x_T` a batch `(n, d)` drawn from the prior; `score_fn(x, t)` acts on one example;
    `predictor` in `"euler_maruyama"`, `"reverse_diffusion"`, `"ancestral"`; `corrector` in
    `None`, `"langevin"`, `"ald"` (see `_correctors`); `denoise`: return the last update without
    its noise (the reference code's final noise-free step).

    **Projection hook.** `project(key, x, x_mean, t) -> (x, x_mean)`, if given, acts on the batch
    after every corrector update (when there is a corrector) and every predictor update, with $t$
    the time the state has reached; it draws its noise from its own key, so the sampler's other
    draws are those of the run without it. `impute_sample` uses it for the replacement method.

    **Returns** `(x_eps, nfe)` — and the path `(N, n, d)` after each step if `trajectory` — where
    `nfe` $= N(1 + \text{corrector\_steps})$ with a corrector, $N$ without. One compilation serves
    any `x_T` of the same shape; memory is $O(n d)$ unless `trajectory`.
    """
    _choice(predictor, PREDICTORS, "predictor")
    _choice(corrector, (None, *CORRECTORS), "corrector")
    _choice(order, ORDERS, "order")
    _choice(snr_norm, SNR_NORMS, "snr_norm")
    if x_T.ndim != 2:
        raise ValueError(f"pc_sample: x_T must be a batch of shape (n, d); got shape {x_T.shape}")
    if int(n_steps) < 2:
        raise ValueError(f"pc_sample: n_steps must be >= 2; got {n_steps}")
    eps = check(eps, (jnp.asarray(eps) > 0) & (jnp.asarray(eps) < sde.T), "pc_sample: eps must lie in (0, T)")
    disc = discretize(sde, n_steps) if uses_discretization(predictor, corrector) else None
    predict = PREDICTORS[predictor]
    correct = CORRECTORS.get(corrector)
    h = (sde.T - eps) / n_steps

    def predictor_step(key, x, t, i):
        x_mean, std = jax.vmap(lambda y: predict(sde, score_fn, y, t, h, i, disc))(x)
        z = jax.random.normal(key, x.shape, x.dtype)
        return x_mean + std[:, None] * z, x_mean

    def corrector_step(key, x, t, i):
        if correct is None:
            return x, x
        return correct(key, sde, score_fn, x, t, i, disc, snr, corrector_steps, snr_norm)

    def projected(key, x, x_mean, t, which):
        if project is None or (which == "corrector" and correct is None):
            return x, x_mean
        return project(jax.random.fold_in(key, 1 if which == "corrector" else 2), x, x_mean, t)

    def body(carry, k):
        x, _ = carry
        t = sde.T - k.astype(x.dtype) * h
        i = n_steps - k
        key_k = jax.random.fold_in(key, k)
        key_c, key_p = jax.random.split(key_k)
        if order == "corrector_first":
            x, x_mean = projected(key_k, *corrector_step(key_c, x, t, i), t, "corrector")
            x, x_mean = projected(key_k, *predictor_step(key_p, x, t, i), t - h, "predictor")
        else:
            x, x_mean = projected(key_k, *predictor_step(key_p, x, t, i), t - h, "predictor")
            x, x_mean = projected(key_k, *corrector_step(key_c, x, t - h, jnp.maximum(i - 1, 1)), t - h, "corrector")
        return (x, x_mean), (x_mean if denoise else x) if trajectory else None

    (x, x_mean), path = jax.lax.scan(body, (x_T, x_T), jnp.arange(n_steps))
    nfe = n_steps * (1 + (corrector_steps if correct is not None else 0))
    out = x_mean if denoise else x
    return (out, nfe, path) if trajectory else (out, nfe)
