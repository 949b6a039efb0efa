r"""`train_score`: fit a score model by a score-matching loss with optax, many steps per compiled call.

Step $k$ (0-based) of a run with key `key`: `key_model, key_train = jax.random.split(key)` (`key_model` builds the
default model), `key_batch, key_loss = jax.random.split(jax.random.fold_in(key_train, k))`; the minibatch indices
come from `key_batch` (`jax.random.randint`, or `jax.random.choice(..., replace=False)`), the times, noises and
probes from `key_loss` exactly as `scoresde_ref.losses.loss_terms(key_loss, ...)` draws them, and the loss is
their mean, so the loss of a step is the project's loss object on that batch (derivations/training.md §1).
Then the optax update, and the EMA $\bar\theta_{k+1} = \rho\bar\theta_k + (1-\rho)\theta_{k+1}$, $\bar\theta_0 =
\theta_0$ (§2).

**One compile for the run.** `steps_per_call` steps run in one `lax.scan` of a fixed length inside one
`eqx.filter_jit` function; the step index is traced, and the steps past the end of the run (the last call) are
skipped by `lax.cond`, so a run of any length, and a resumed run, compiles once. Because each step depends only on
its index and the state, the weights do not depend on `steps_per_call` or on where a run was checkpointed.

**On many devices** (`sharding=NamedSharding(mesh, P("batch"))`): the data, weights, EMA and optimiser state are
replicated over the mesh (data already placed on the mesh stay as placed) and each step's minibatch is constrained to
`sharding` (`jax.lax.with_sharding_constraint`), so every device takes the terms of its rows and the loss mean and
the gradient are global reductions under GSPMD. The draws do not depend on the sharding (partitionable threefry),
so the weights are the single-device ones up to the summation order of those reductions: a few ULP per step in
float64 (derivations/sharding.md §5).

**A non-finite loss or gradient** at step $k$ leaves the state of step $k - 1$ untouched (the remaining steps of
the call are skipped) and raises `TrainingDiverged` naming $k$, with that last good state in `.result`.
"""

import functools
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._custom_types import Key
from .._jit_boundary import floats_as_arrays
from .._mesh import auto_twin, has_explicit_axes, run_on_twin
from .._progress import ProgressBar
from ..losses._objectives import AbstractObjective, as_objective
from ..losses._score_matching import _draw, _terms_at
from ..losses._time_sampling import AbstractTimeSampler, as_time_sampler
from ..losses._weighting import AbstractWeighting, as_weighting
from ..nn._embedding import trainable_filter
from ..nn._model import mlp_score_model
from ..sde._base import AbstractAffineSDE
from ._checkpoint import load_checkpoint, read_config, save_checkpoint
from ._result import TrainingDiverged, TrainResult

OWNER = "train_score"
DEFAULT_MODEL = "mlp_score_model(parameterisation='score', width=128, depth=2, n_features=16, scale=1.0)"
INDEX = jnp.int32  # step indices (fold_in takes 32 bits)


@functools.lru_cache(maxsize=16)
def default_optimiser(learning_rate: float) -> optax.GradientTransformation:
    """`optax.adam(learning_rate)`, one object per learning rate (so repeated runs hit the compilation cache)."""
    return optax.adam(learning_rate)


def minibatch_loss(
    params, static, sde, data, key, *, objective, weighting, times, eps, batch_size, replace, sharding=None
):
    r"""The loss of one step from its key: a minibatch of `data` from `key_batch`, then the mean of
    `loss_terms(key_loss, sde, model, batch, ...)` (module docstring); the minibatch constrained to `sharding`
    (a `jax.sharding.Sharding` of the batch) when one is given."""
    key_batch, key_loss = jax.random.split(key)
    n = data.shape[0]
    if replace:
        index = jax.random.randint(key_batch, (batch_size,), 0, n)
    else:
        index = jax.random.choice(key_batch, n, (batch_size,), replace=False)
    batch = data[index]
    if sharding is not None:
        batch = jax.lax.with_sharding_constraint(batch, sharding)
    model = eqx.combine(params, static)
    t, z, probes = _draw(key_loss, sde, batch, None, eps, objective, times)
    return jnp.mean(_terms_at(sde, model, batch, t, z, probes, objective, weighting))


def _all_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


@eqx.filter_jit
def _run_steps(carry, static, sde, data, key_train, start, stop, options, ema_rate, optimiser, length):
    """`length` steps from index `start` (those with index >= `stop` skipped), one `lax.scan`."""
    loss_fn = functools.partial(minibatch_loss, **options)

    def step(carry, i):
        k = start + i

        def take(carry):
            params, ema, opt_state, bad = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, static, sde, data, jax.random.fold_in(key_train, k))
            with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
                updates, new_opt_state = optimiser.update(grads, opt_state, params)
            new_params = optax.apply_updates(params, updates)
            new_ema = jax.tree_util.tree_map(lambda e, p: ema_rate * e + (1 - ema_rate) * p, ema, new_params)
            finite = jnp.isfinite(loss) & _all_finite(grads)
            keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new, old)  # noqa: E731
            new = (keep(new_params, params), keep(new_ema, ema), keep(new_opt_state, opt_state))
            return (*new, jnp.where(finite, bad, k)), loss

        def skip(carry):
            return carry, jnp.full((), jnp.nan, data.dtype)

        return jax.lax.cond((k < stop) & (carry[3] < 0), take, skip, carry)

    return jax.lax.scan(step, carry, jnp.arange(length, dtype=INDEX))


def _check_positive_int(value, name, low=1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{OWNER}: {name} must be an integer >= {low}; got {value!r}")
    return int(value)


def _check_float(value, name, lower, upper, shown, *, lower_open=False):
    """A finite Python/NumPy scalar in the interval `shown` (checked on the host: nothing is compiled)."""
    x = np.asarray(value)
    ok = x.ndim == 0 and np.issubdtype(x.dtype, np.number) and np.isfinite(x)
    ok = ok and (x > lower if lower_open else x >= lower) and x < upper
    if not ok:
        raise ValueError(f"{OWNER}: {name} must be a finite number in {shown}; got {name} = {value!r}")
    return float(x)


def _check_data(data):
    """`data` as an array `(n, d)`, checked on the host (NumPy) before anything touches a device."""
    host = np.asarray(data)
    if host.ndim != 2 or host.shape[0] < 1 or host.shape[1] < 1:
        raise ValueError(f"{OWNER}: data must be a batch of shape (n, d) with n, d >= 1; got shape {host.shape}")
    if not np.issubdtype(host.dtype, np.floating):
        raise TypeError(f"{OWNER}: data must be floating point; got dtype {host.dtype}")
    bad = ~np.isfinite(host)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(f"{OWNER}: data must be finite; got {int(bad.sum())} NaN/inf entries (first in row {row})")
    return host


def _check_sharding(sharding):
    """`None`, or a `NamedSharding` whose mesh holds the devices of the run (checked on the host)."""
    if sharding is None:
        return None
    if not isinstance(sharding, jax.sharding.NamedSharding):
        raise TypeError(
            f"{OWNER}: sharding must be None or a jax.sharding.NamedSharding of the minibatch "
            f"(e.g. NamedSharding(mesh, P('batch'))); got sharding = {sharding!r}"
        )
    return sharding


def replicated(tree, sharding):
    """The array leaves of `tree` placed on every device of `sharding`'s mesh (unchanged when `sharding` is None)."""
    if sharding is None:
        return tree
    everywhere = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
    return jax.tree_util.tree_map(lambda v: jax.device_put(v, everywhere) if eqx.is_array(v) else v, tree)


def _on_mesh(data, host, sharding):
    """The training set as the run uses it: as placed if it is a `jax.Array` on the mesh of `sharding` (or any
    `jax.Array` when there is no mesh), else the host copy, replicated over the mesh."""
    if isinstance(data, jax.Array) and (sharding is None or data.sharding.device_set == sharding.device_set):
        return data
    return jnp.asarray(host) if sharding is None else replicated(host, sharding)


def _key_list(key) -> list[int]:
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    return [int(v) for v in np.asarray(data).ravel()]


def _name(option) -> str:
    return type(option).__name__


def train_score(
    key: Key,
    sde: AbstractAffineSDE,
    data,
    *,
    model=None,
    steps: int,
    batch_size: int,
    optimiser: optax.GradientTransformation | None = None,
    learning_rate: float = 1e-3,
    objective: str | AbstractObjective = "dsm",
    weighting: str | AbstractWeighting = "sigma2",
    time_sampling: str | AbstractTimeSampler = "stratified",
    eps: float = 1e-5,
    ema_rate: float = 0.999,
    replace: bool = True,
    steps_per_call: int | None = None,
    progress: bool | None = None,
    checkpoint=None,
    resume=None,
    sharding: jax.sharding.NamedSharding | None = None,
) -> TrainResult:
    r"""Fit a score model to `data` by minimising a score-matching loss (default DSM) with optax.

    **Arguments:**

    - `key`: one PRNG key; the same key gives bit-identical weights (module docstring for the key schedule).
    - `sde`: an affine SDE (exact kernel); `data`: the training set `(n, d)`, finite.
    - `model`: a score function `(x, t) -> score` that is an `eqx.Module` (e.g. `scoresde_ref.nn.ScoreModel`);
      `None` builds `scoresde_ref.nn.mlp_score_model(key_model, sde, d)` (MLP, score parameterisation).
    - `steps`, `batch_size`: optimiser steps and minibatch size (`batch_size <= n` unless `replace`).
    - `optimiser`: an optax transformation; default `optax.adam(learning_rate)`.
    - `objective`, `weighting`, `time_sampling`, `eps`: as `scoresde_ref.losses.loss_terms` (`"dsm"`; `"sigma2"`,
      `"g2"`, `"uniform"` or objects; `"stratified"` or `"uniform"` times on $[\epsilon, T]$).
    - `ema_rate`: $\rho \in [0, 1)$ of the EMA; `replace`: minibatches drawn with replacement (default) or not.
    - `steps_per_call`: steps per compiled call (default `min(steps, 500)`); `progress`: the progress bar on
      stderr (default: when stderr is a TTY).
    - `checkpoint`: a directory to save to after every call (`save_checkpoint`); `resume`: a checkpoint directory
      to continue from (same key and configuration; `steps` is the total).
    - `sharding`: `None` (one device), or the sharding of each minibatch over a mesh, e.g.
      `NamedSharding(mesh, P("batch"))` (module docstring): the weights equal the one-device weights up to the
      summation order of the loss mean and gradient (a few ULP per step in float64), on one or many processes.
      A mesh with `Explicit` axes (`jax.make_mesh`'s default) runs on its `Auto` twin and the result is placed
      back on it (`_mesh.py`).

    **Returns** a `TrainResult` (`.score`: EMA weights, `.raw_score`, `.losses`). **Raises** `ValueError` for bad
    input before anything is compiled, `TrainingDiverged` if a loss or gradient is not finite.
    """
    steps = _check_positive_int(steps, "steps")
    batch_size = _check_positive_int(batch_size, "batch_size")
    if not isinstance(sde, AbstractAffineSDE):
        raise TypeError(f"{OWNER}: sde must be an affine SDE (an exact kernel); got {type(sde).__name__}")
    host = _check_data(data)
    sharding = _check_sharding(sharding)
    n, d = host.shape
    dtype = jax.dtypes.canonicalize_dtype(host.dtype)
    if not replace and batch_size > n:
        raise ValueError(f"{OWNER}: batch_size must be <= n = {n} when sampling without replacement; got {batch_size}")
    _check_float(ema_rate, "ema_rate", 0.0, 1.0, "[0, 1)")
    _check_float(eps, "eps", 0.0, float(sde.T), f"(0, {float(sde.T):g})", lower_open=True)
    if optimiser is None:
        _check_float(learning_rate, "learning_rate", 0.0, np.inf, "(0, inf)", lower_open=True)
    chunk = min(steps, 500) if steps_per_call is None else _check_positive_int(steps_per_call, "steps_per_call")
    objective = as_objective(objective, OWNER)
    weighting = as_weighting(weighting, OWNER)
    times = as_time_sampler(time_sampling, OWNER)

    default_model = model is None
    if not default_model:  # checked by tracing only (jax.eval_shape): nothing is compiled before the checks pass
        if not isinstance(model, eqx.Module):
            raise TypeError(f"{OWNER}: model must be an eqx.Module score function (x, t) -> score; got {type(model)}")
        try:
            out = jax.eval_shape(model, jax.ShapeDtypeStruct((d,), dtype), jax.ShapeDtypeStruct((), dtype))
        except (TypeError, ValueError) as error:  # a model built for another dimension fails when traced
            out = f"an error: {type(error).__name__}: {str(error).splitlines()[0]}"
        if getattr(out, "shape", None) != (d,):
            raise ValueError(
                f"{OWNER}: model(x, t) must return shape (d,) = ({d},) for data of dimension {d}; got {out}"
            )
    explicit = None  # a mesh with Explicit axes: the run is on its Auto twin, the result moved back (_mesh.py)
    if sharding is not None and has_explicit_axes(sharding.mesh):
        explicit, sharding = sharding.mesh, jax.sharding.NamedSharding(auto_twin(sharding.mesh), sharding.spec)
    data = _on_mesh(data, host, sharding)
    key_model, key_train = jax.random.split(key)
    if default_model:
        model = mlp_score_model(key_model, sde, d, dtype=data.dtype)
    config = {
        "key": _key_list(key),
        "batch_size": batch_size,
        "optimiser": f"adam(learning_rate={float(learning_rate)!r})" if optimiser is None else "custom",
        "objective": _name(objective),
        "weighting": _name(weighting),
        "time_sampling": _name(times),
        "eps": float(eps),
        "ema_rate": float(ema_rate),
        "replace": bool(replace),
        "data_shape": [n, d],
        "dtype": str(data.dtype),
        "model": DEFAULT_MODEL if default_model else _name(model),
        "sde": _name(sde),
    }
    if optimiser is None:
        optimiser = default_optimiser(float(learning_rate))

    params, static = eqx.partition(model, trainable_filter(model))
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimiser.init(params)
    result = TrainResult(model, model, np.zeros((0,), np.dtype(data.dtype)), opt_state, 0, config)
    if resume is not None:
        saved = read_config(resume)
        for name, value in config.items():
            if saved.get(name) != value:
                raise ValueError(
                    f"{OWNER}: resume: the checkpoint's {name} is {saved.get(name)!r}; this run's is {value!r}"
                )
        result = load_checkpoint(resume, result)
        if result.step > steps:
            raise ValueError(f"{OWNER}: steps must be >= the checkpoint's {result.step} steps to resume; got {steps}")
    args = (result, static, sde, data, key_train, steps, chunk, objective, weighting, times, eps, ema_rate)
    args += (optimiser, replace, batch_size, progress, checkpoint, sharding)
    if explicit is None:
        return _loop(*args)
    # every array (data, model, key: the caller's, perhaps made under `jax.set_mesh(mesh)`) on the Auto twin
    return run_on_twin(explicit, _loop, *args)


def _loop(
    result,
    static,
    sde,
    data,
    key_train,
    steps,
    chunk,
    objective,
    weighting,
    times,
    eps,
    ema_rate,
    optimiser,
    replace,
    batch_size,
    progress,
    checkpoint,
    sharding,
):
    spec = trainable_filter(result.model)
    params, ema, opt_state, static = replicated(
        (eqx.filter(result.model, spec), eqx.filter(result.ema_model, spec), result.opt_state, static), sharding
    )
    step, losses = result.step, [np.asarray(result.losses)]
    options = dict(
        objective=objective, weighting=weighting, times=times, eps=eps, batch_size=batch_size, replace=bool(replace)
    )
    sde_a, options, ema_a = floats_as_arrays((sde, options, float(ema_rate)))
    options["batch_size"], options["replace"], options["sharding"] = batch_size, bool(replace), sharding
    bar = ProgressBar(steps, OWNER, enabled=progress, unit="steps")
    bar.update(step)

    def current(params, ema, opt_state, step, losses):
        return TrainResult(
            eqx.combine(params, static),
            eqx.combine(ema, static),
            np.concatenate(losses),
            opt_state,
            step,
            result.config,
        )

    with bar:
        while step < steps:
            stop = min(step + chunk, steps)
            carry = (params, ema, opt_state, jnp.asarray(-1, INDEX))
            (new_params, new_ema, new_opt_state, bad), chunk_losses = _run_steps(
                carry,
                static,
                sde_a,
                data,
                key_train,
                jnp.asarray(step, INDEX),
                jnp.asarray(stop, INDEX),
                options,
                ema_a,
                optimiser,
                chunk,
            )
            bad = int(bad)
            chunk_losses = np.asarray(chunk_losses)
            if bad >= 0:
                good = current(new_params, new_ema, new_opt_state, bad, [*losses, chunk_losses[: bad - step]])
                raise TrainingDiverged(
                    f"{OWNER}: the loss or its gradient at step {bad} is not finite "
                    f"(loss = {chunk_losses[bad - step]}); "
                    f"stopped, the weights after step {bad - 1} are kept in .result",
                    bad,
                    good,
                )
            params, ema, opt_state = new_params, new_ema, new_opt_state
            losses.append(chunk_losses[: stop - step])
            step = stop
            bar.update(len(losses[-1]), loss=float(np.mean(losses[-1])))
            if checkpoint is not None:
                save_checkpoint(pathlib.Path(checkpoint), current(params, ema, opt_state, step, losses))
    return current(params, ema, opt_state, step, losses)
