"""Training steps/s of `train_score` (MLP, batch 256) against two hand-written Equinox + optax loops, in one run.

- `python_loop`: the tutorial pattern, one `eqx.filter_jit` step dispatched per Python iteration;
- `scan`: the same step under one `jax.lax.scan` of N steps, jit-compiled once;
- `ours`: `scoresde_ref.training.train_score` with the same keys, model, optimiser (Adam 1e-3), DSM loss with
  λ = s(t)², stratified times, EMA 0.999.

Each timing is taken after `jax.block_until_ready` and excludes compilation: every route runs once to compile
(reported as `compile_s`, first call minus steady call) and then `--repeats` more times (best reported). The
parameters after N steps must be bit-identical between `ours` and `scan` (asserted), and equal to `python_loop`'s.
float32 and float64. Writes benchmarks/results/training.json.

    .venv/bin/python benchmarks/bench_training.py [--steps 2000] [--repeats 3] [--quick]
"""

import argparse
import json
import os
import pathlib
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import scoresde_ref as sr  # noqa: E402
from scoresde_ref.nn import mlp_score_model, trainable_filter  # noqa: E402
from scoresde_ref.training import default_optimiser, train_score  # noqa: E402

BATCH = 256
LR = 1e-3
EMA = 0.999
EPS = 1e-5


def hand_written(sde, data, model, optimiser):
    """The tutorial's step, written out: minibatch, stratified times, noise, DSM with λ = s², Adam, EMA."""
    params, static = eqx.partition(model, trainable_filter(model))
    n = data.shape[0]

    def loss_fn(params, key):
        key_batch, key_loss = jax.random.split(key)
        x0 = data[jax.random.randint(key_batch, (BATCH,), 0, n)]
        key_t, key_z, _ = jax.random.split(key_loss, 3)
        u = (jnp.arange(BATCH, dtype=data.dtype) + jax.random.uniform(key_t, (BATCH,), dtype=data.dtype)) / BATCH
        t = EPS + (sde.T - EPS) * u
        z = jax.random.normal(key_z, x0.shape, dtype=data.dtype)
        net = eqx.combine(params, static)

        def one(x0_i, t_i, z_i):
            mean_coeff, std = sde.kernel(t_i)
            x_t = sde.kernel_mean(x0_i, t_i) + std * z_i
            return std**2 * jnp.sum((net(x_t, t_i) + z_i / std) ** 2)

        return jnp.mean(jax.vmap(one)(x0, t, z))

    def step(state, key):
        params, ema, opt_state = state
        loss, grads = jax.value_and_grad(loss_fn)(params, key)
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimiser.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        ema = jax.tree_util.tree_map(lambda e, p: EMA * e + (1 - EMA) * p, ema, params)
        return (params, ema, opt_state), loss

    with jax.numpy_dtype_promotion("standard"):
        state0 = (params, params, optimiser.init(params))
    return state0, static, step


def run_python_loop(state0, step, key_train, n_steps):
    jitted = jax.jit(step)
    state = state0
    for k in range(n_steps):
        state, loss = jitted(state, jax.random.fold_in(key_train, k))
    return jax.block_until_ready(state)


def make_scan(step, key_train, n_steps):
    @jax.jit
    def run(state):
        def body(state, k):
            return step(state, jax.random.fold_in(key_train, k))

        return jax.lax.scan(body, state, jnp.arange(n_steps, dtype=jnp.int32))[0]

    return lambda state0: jax.block_until_ready(run(state0))


def timed(fn, repeats):
    start = time.perf_counter()
    out = fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, first, min(times)


def same_bits(a, b) -> bool:
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


def bench(dtype, n_steps, repeats):
    sde = sr.VPSDE(beta_min=0.1, beta_max=20.0)
    data = sr.examples.gmm_2d().sample(jax.random.key(0), 5000).astype(dtype)
    key = jax.random.key(1)
    key_model, key_train = jax.random.split(key)
    model = mlp_score_model(key_model, sde, 2, dtype=dtype)
    optimiser = default_optimiser(LR)
    state0, static, step = hand_written(sde, data, model, optimiser)

    ours_fn = lambda: jax.block_until_ready(  # noqa: E731
        train_score(key, sde, data, model=model, steps=n_steps, batch_size=BATCH, learning_rate=LR, ema_rate=EMA,
                    eps=EPS, time_sampling="stratified", weighting="sigma2", steps_per_call=n_steps, progress=False)
    )
    ours, ours_first, ours_best = timed(ours_fn, repeats)
    scan = make_scan(step, key_train, n_steps)
    scan_state, scan_first, scan_best = timed(lambda: scan(state0), repeats)
    loop_steps = max(n_steps // 4, 50)  # the dispatch-bound loop: fewer steps, same per-step measure
    loop_state, loop_first, loop_best = timed(lambda: run_python_loop(state0, step, key_train, loop_steps), repeats)

    ours_params = eqx.filter(ours.model, trainable_filter(ours.model))
    identical = same_bits(ours_params, scan_state[0])
    assert identical, f"{dtype}: train_score's parameters differ from the hand-written scan's after {n_steps} steps"
    short = train_score(key, sde, data, model=model, steps=loop_steps, batch_size=BATCH, learning_rate=LR,
                        ema_rate=EMA, eps=EPS, progress=False)
    loop_identical = same_bits(eqx.filter(short.model, trainable_filter(short.model)), loop_state[0])
    rates = {
        "ours": n_steps / ours_best,
        "scan": n_steps / scan_best,
        "python_loop": loop_steps / loop_best,
    }
    return {
        "dtype": str(np.dtype(dtype)),
        "steps": n_steps,
        "python_loop_steps": loop_steps,
        "steps_per_s": rates,
        "compile_s": {
            "ours": ours_first - ours_best,
            "scan": scan_first - scan_best,
            "python_loop": loop_first - loop_best,
        },
        "ours_over_python_loop": rates["ours"] / rates["python_loop"],
        "scan_over_ours": rates["scan"] / rates["ours"],
        "params_bit_identical_to_scan": identical,
        "params_bit_identical_to_python_loop": loop_identical,
        "targets": {"ours_over_python_loop_min": 5.0, "scan_over_ours_max": 1.1},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "training.json"))
    args = parser.parse_args()
    results = [bench(dtype, args.steps, args.repeats) for dtype in (jnp.float32, jnp.float64)]
    record = {
        "benchmark": "training steps/s, MLP width 128 depth 2, batch 256, 2-D mixture, VP",
        "machine": {"cpu_count": os.cpu_count(), "devices": [str(d) for d in jax.devices()],
                    "platform": platform.platform()},
        "versions": {"jax": jax.__version__, "equinox": eqx.__version__, "optax": optax.__version__,
                     "python": platform.python_version()},
        "note": "best of --repeats after one compiling call; the machine may be shared (timings noisy)",
        "results": results,
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
