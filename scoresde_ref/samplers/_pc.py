r"""The predictor–corrector sampler (Song et al. 2021, Algorithms 1–3; 000_cce368350850b628.txt §3.1;
002_686d39656702d14a.txt "Predictor-Corrector sampling methods"), and the one PC loop (`pc_scan`) that
both `pc_sample` and its exact law (`exact/_sampler_law.py: pc_sampler_moments`) run."""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._custom_types import Batch, Key, ScoreFn
from .._jit_boundary import compiled
from .._validation import check_integer, check_time, times_checked
from ..chains._discretize import discretize
from ..sde._base import AbstractSDE
from ._boundary import check_sampler_inputs
from ._correctors import AbstractCorrector
from ._options import _choice, as_corrector, as_predictor
from ._predictors import AbstractPredictor
from ._result import SampleResult

ORDERS = ("corrector_first", "predictor_first")


def uses_discretization(predictor: AbstractPredictor, corrector: AbstractCorrector | None) -> bool:
    """Whether the step needs `discretize(sde, N)` (chain noise levels, or α_i for a corrector)."""
    return predictor.uses_discretization or corrector is not None


def pc_options(owner, n_steps, predictor, corrector, snr, corrector_steps, snr_norm, order):
    """The eager part shared by `pc_sample` and its law: strings mapped to objects, `order` and `n_steps` checked."""
    predictor = as_predictor(predictor, owner)
    corrector = as_corrector(corrector, snr=snr, n_steps=corrector_steps, snr_norm=snr_norm, owner=owner)
    _choice(order, ORDERS, "order", owner)
    check_integer(n_steps, "n_steps", owner, minimum=2)
    return predictor, corrector


def pc_scan(
    predict: Callable, correct: Callable | None, init, *, T, h, n_steps: int, order: str, dtype, record=None, owner=""
):
    r"""The PC loop over steps $k = 0, \dots, N-1$, whatever is propagated (samples with drawn noise, or
    Gaussian moments through the affine step maps).

    Step $k$ is at $t_k = T - k h$ with chain index $i = N - k$. `"corrector_first"` (the reference code):
    `correct(state, k, t_k, i)` then `predict(state, k, t_k, i, t_k - h)`; `"predictor_first"` (the
    paper's Algorithms 2–3): `predict` to $t_k - h$, then `correct(state, k, t_k - h, max(i - 1, 1))`.
    `correct` is `None` without a corrector. **Returns** `(state, recorded)` of `lax.scan`, `record(state)`
    stacked after every step (`None` when `record` is `None`).

    **Checked once.** The grid $(t_k)_k$ is checked to lie in $(0, T]$ once, before the loop (one
    `eqx.error_if` on the whole grid, `owner` naming the sampler); inside the body `times_checked(t_k, T)`
    lets every coefficient's `check_time` on that same $t_k$ pass without a per-step check (a time computed
    from it, such as $t_k - h$, is still checked where it is used). Same arithmetic as computing $t_k$ in the
    body, so the same numbers (derivations/performance.md).
    """
    grid = T - jnp.arange(n_steps).astype(dtype) * h
    grid = check_time(grid, T, owner or "pc_scan", "t_k", lower_open=True)

    def body(state, k_t):
        k, t = k_t
        i = n_steps - k
        with times_checked(t, T):
            if order == "corrector_first":
                if correct is not None:
                    state = correct(state, k, t, i)
                state = predict(state, k, t, i, t - h)
            else:
                state = predict(state, k, t, i, t - h)
                if correct is not None:
                    state = correct(state, k, t - h, jnp.maximum(i - 1, 1))
        return state, (None if record is None else record(state))

    return jax.lax.scan(body, init, (jnp.arange(n_steps), grid))


def pc_sample(
    key: Key,
    sde: AbstractSDE,
    score_fn: ScoreFn,
    x_T: Batch,
    *,
    n_steps: int,
    eps: float = 1e-3,
    predictor: str | AbstractPredictor = "euler_maruyama",
    corrector: str | AbstractCorrector | None = None,
    snr: float | None = None,
    corrector_steps: int | None = None,
    denoise: bool = True,
    order: str = "corrector_first",
    snr_norm: str | None = None,
    trajectory: bool = False,
    project=None,
) -> SampleResult:
    r"""Sample by integrating the reverse-time SDE from $T$ down to `eps` in `n_steps` steps.

    **Time grid.** $t_k = T - k h$, $h = (T - \text{eps})/N$, $k = 0, \dots, N-1$; step $k$ goes from
    $t_k$ to $t_k - h$ and evaluates everything at $t_k$ (its left end in reverse time); its
    chain index (for `ReverseDiffusion`, `Ancestral` and the correctors' $\alpha_i$) is
    $i = N - k$ of `discretize(sde, N)`. (The reference code uses `linspace(T, eps, N)` with
    $dt = -1/N$, which differ from this grid by $O(\text{eps})$ and $O(1/N^2)$.)

    **Order.** `"corrector_first"` (the reference code: at each $t_k$, corrector then predictor)
    or `"predictor_first"` (the paper's Algorithms 2–3: predictor to $t_k - h$, then the corrector
    there, with the noise level of index $\max(i - 1, 1)$). One loop, `pc_scan`.

    **Arguments:** `x_T` a batch `(n, d)` drawn from the prior; `score_fn(x, t)` acts on one example;
    `predictor` an `AbstractPredictor` (`EulerMaruyama()`, `ReverseDiffusion()`, `Ancestral()`) or its
    string `"euler_maruyama"`, `"reverse_diffusion"`, `"ancestral"`; `corrector` `None`, an
    `AbstractCorrector` (`LangevinCorrector(snr, n_steps, norm)`, `AnnealedLangevinCorrector(snr, n_steps)`)
    or the string `"langevin"` / `"ald"`, with `snr` (default 0.16), `corrector_steps` (default 1) and,
    for `"langevin"` only, `snr_norm` (`"batch"`, the default, or `"per_example"`) — see `_correctors`;
    `denoise`: return the last update without its noise (the reference code's final noise-free step).

    **Noise.** Step $k$ uses `key_k = fold_in(key, k)`, `key_c, key_p = split(key_k)`: the predictor's
    $z$ = `normal(key_p, x.shape)` and the corrector's update $j$ `normal(fold_in(key_c, j), x.shape)`,
    handed to the same `step(..., z)` that a user can call with noise of their own.

    **Projection hook.** `project(key, x, x_mean, t) -> (x, x_mean)`, if given, acts on the batch
    after every corrector update (when there is a corrector) and every predictor update, with $t$
    the time the state has reached; it draws its noise from `fold_in(key_k, 1)` (corrector) or
    `fold_in(key_k, 2)` (predictor), so the sampler's other draws are those of the run without it.
    `impute_sample` uses it for the replacement method.

    **Compiled** once per shape and static configuration (`n_steps`, the option types, `order`, `denoise`,
    `trajectory`): new keys, `x_T`, `eps`, `snr`, SDE parameters or `exact_score` numbers reuse the
    compilation (`_jit_boundary.py`; a score function should be an `eqx.Module` or the same function).

    **Returns** a `SampleResult` `(x_eps, nfe)` — with the `path` `(N, n, d)` after each step if
    `trajectory`, so that it unpacks as `(x_eps, nfe, path)` — where `nfe` $= N(1 + \text{corrector\_steps})$
    with a corrector, $N$ without. Memory is $O(n d)$ unless `trajectory`.
    """
    predictor, corrector = pc_options("pc_sample", n_steps, predictor, corrector, snr, corrector_steps, snr_norm, order)
    eps = check_sampler_inputs("pc_sample", sde, x_T, eps, score_fn)
    disc = discretize(sde, n_steps) if uses_discretization(predictor, corrector) else None
    x, path = _pc_sample(
        key, sde, score_fn, x_T, eps, disc, predictor, corrector, project, int(n_steps), order, denoise, trajectory
    )
    nfe = int(n_steps) * (1 + (corrector.n_steps if corrector is not None else 0))
    return SampleResult(x, nfe, path)


@compiled
def _pc_sample(key, sde, score_fn, x_T, eps, disc, predictor, corrector, project, n_steps, order, denoise, trajectory):
    h = (sde.T - eps) / n_steps

    def keys(k):
        key_k = jax.random.fold_in(key, k)
        return (key_k, *jax.random.split(key_k))

    def projected(key_k, x, x_mean, t, which):
        return (x, x_mean) if project is None else project(jax.random.fold_in(key_k, which), x, x_mean, t)

    def predict(state, k, t, i, t_next):
        x = state[0]
        key_k, _, key_p = keys(k)
        z = jax.random.normal(key_p, x.shape, x.dtype)
        x, x_mean = jax.vmap(lambda y, w: predictor.step(sde, score_fn, y, t, h, i, disc, w))(x, z)
        return projected(key_k, x, x_mean, t_next, 2)

    def correct(state, k, t, i):
        key_k, key_c, _ = keys(k)
        return projected(key_k, *corrector.correct(key_c, sde, score_fn, state[0], t, i, disc), t, 1)

    record = (lambda s: s[1] if denoise else s[0]) if trajectory else None
    correct = None if corrector is None else correct
    (x, x_mean), path = pc_scan(
        predict,
        correct,
        (x_T, x_T),
        T=sde.T,
        h=h,
        n_steps=n_steps,
        order=order,
        dtype=x_T.dtype,
        record=record,
        owner="pc_sample",
    )
    return (x_mean if denoise else x), path
