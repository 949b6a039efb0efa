"""Training steps/s of `train_score` (MLP, batch 256) against two hand-written Equinox + optax loops, in one run.

- `python_loop`: one jitted step dispatched per Python iteration, in three forms timed side by side:
  `jax_jit` (`jax.jit(step)`, the C++ fast dispatch path), `jax_jit_donated` (the same with the state donated,
  `donate_argnums=0`: its buffers reused in place) and `filter_jit` (`eqx.filter_jit(step)`, the Equinox
  tutorial's pattern, no donation); `python_loop` in the ratios is `filter_jit`, the tutorial pattern;
- `scan`: the same step under one `jax.lax.scan` of N steps, jit-compiled once;
- `ours`: `scoresde_ref.training.train_score` with the same keys, model, optimiser (Adam 1e-3), DSM loss with
  λ = s(t)², stratified times, EMA 0.999.

Each timing is taken after `jax.block_until_ready` and excludes compilation: every route runs once to compile
(reported as `compile_s`, first call minus steady call) and then `--repeats` more times (best reported). The
parameters after N steps must be bit-identical between `ours` and `scan` (asserted), and equal to `python_loop`'s.
float32 and float64. Timings interleaved (one run of each route per round), best and median reported.

- `sweep` (issue 15): MLP width in (16, 32, 64, 128, 256) × batch in (64, 256), float32: ours / loop and
  scan / ours, and `dispatch_s`, the per-step cost of the loop measured directly: a jitted no-op step (the
  state returned unchanged, same pytree) called in a Python loop. ours / loop ≈ (t_step + t_dispatch) / t_step,
  so ≥ 5× needs t_step ≤ t_dispatch / 4 (derivations/performance.md).
- `devices_4`: the same comparison in a subprocess with 4 host CPU devices
  (`XLA_FLAGS=--xla_force_host_platform_device_count=4`), the minibatch sharded over a 1-D mesh
  (`NamedSharding(mesh, P("batch"))`): `train_score(..., sharding=)` and the hand-written scan and loop with
  `with_sharding_constraint` on the minibatch.

Writes benchmarks/results/training.json.

    .venv/bin/python benchmarks/bench_training.py [--steps 1000] [--repeats 3] [--quick | --smoke] [--no-devices]
"""

import argparse
import functools
import inspect
import json
import os
import subprocess
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _harness import RESULTS, environment, interleaved, write_result  # noqa: E402

import scoresde_ref as sr  # noqa: E402
from scoresde_ref._progress import ProgressBar  # noqa: E402
from scoresde_ref.nn import mlp_score_model, trainable_filter  # noqa: E402
from scoresde_ref.training import default_optimiser, train_score  # noqa: E402

BATCH = 256
LR = 1e-3
EMA = 0.999
EPS = 1e-5
WIDTHS = (16, 32, 64, 128, 256)
BATCHES = (64, 256)


def hand_written(sde, data, model, optimiser, batch=BATCH, sharding=None):
    """The tutorial's step, written out: minibatch, stratified times, noise, DSM with λ = s², Adam, EMA; the
    minibatch constrained to `sharding` when one is given (as `train_score` does)."""
    params, static = eqx.partition(model, trainable_filter(model))
    n = data.shape[0]

    def loss_fn(params, key):
        key_batch, key_loss = jax.random.split(key)
        x0 = data[jax.random.randint(key_batch, (batch,), 0, n)]
        if sharding is not None:
            x0 = jax.lax.with_sharding_constraint(x0, sharding)
        key_t, key_z, _ = jax.random.split(key_loss, 3)
        u = (jnp.arange(batch, dtype=data.dtype) + jax.random.uniform(key_t, (batch,), dtype=data.dtype)) / batch
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


def python_loop(jitted, state0, key_train, n_steps, copy=False):
    """The loop: one dispatch of `jitted(state, key)` per step (keys folded in on the host side, as a user would);
    `copy`: hand it a fresh copy of `state0` (a donated state is consumed by its first step)."""
    state = jax.tree_util.tree_map(jnp.copy, state0) if copy else state0
    for k in range(n_steps):
        state, _ = jitted(state, jax.random.fold_in(key_train, k))
    return state


def make_scan(step, key_train, n_steps):
    @jax.jit
    def run(state):
        def body(state, k):
            return step(state, jax.random.fold_in(key_train, k))

        return jax.lax.scan(body, state, jnp.arange(n_steps, dtype=jnp.int32))[0]

    return run


def same_bits(a, b) -> bool:
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


def dispatch_cost(state0, key_train, calls):
    """Seconds per call of a jitted no-op step `(state, key) -> (state, 0)` in a Python loop (same pytree as the
    real step's state), for `jax.jit` and `eqx.filter_jit`: the loop's per-step overhead, measured directly."""
    noop = lambda state, key: (state, jnp.zeros(()))  # noqa: E731
    jitted = {"jax_jit": jax.jit(noop), "filter_jit": eqx.filter_jit(noop)}
    fns = {name: functools.partial(python_loop, f, state0, key_train, calls) for name, f in jitted.items()}
    timings = interleaved(fns, 3)
    return {name: timings[name]["best_s"] / calls for name in fns}


def problem(dtype, width, batch, sharding=None):
    sde = sr.VPSDE(beta_min=0.1, beta_max=20.0)
    data = sr.examples.gmm_2d().sample(jax.random.key(0), 5000).astype(dtype)
    key = jax.random.key(1)
    key_model, key_train = jax.random.split(key)
    model = mlp_score_model(key_model, sde, 2, width=width, dtype=dtype)
    optimiser = default_optimiser(LR)
    state0, static, step = hand_written(sde, data, model, optimiser, batch, sharding)
    return sde, data, key, key_train, model, state0, step


def bench(
    dtype,
    n_steps,
    repeats,
    width=128,
    batch=BATCH,
    loop_forms=("filter_jit", "jax_jit", "jax_jit_donated"),
    sharding=None,
):
    """ours, scan and the loop forms, interleaved; parameters compared bit for bit."""
    sde, data, key, key_train, model, state0, step = problem(dtype, width, batch, sharding)
    extra = {} if sharding is None else {"sharding": sharding}
    ours_fn = lambda steps: train_score(  # noqa: E731
        key,
        sde,
        data,
        model=model,
        steps=steps,
        batch_size=batch,
        learning_rate=LR,
        ema_rate=EMA,
        eps=EPS,
        time_sampling="stratified",
        weighting="sigma2",
        steps_per_call=steps,
        progress=False,
        **extra,
    )
    scan = make_scan(step, key_train, n_steps)
    loop_steps = max(n_steps // 4, 20)  # the dispatch-bound loop: fewer steps, same per-step measure
    jitted = {
        "filter_jit": eqx.filter_jit(step),
        "jax_jit": jax.jit(step),
        "jax_jit_donated": jax.jit(step, donate_argnums=0),
    }
    fns = {"ours": lambda: ours_fn(n_steps).model, "scan": lambda: scan(state0)}
    for form in loop_forms:
        donated = form.endswith("donated")
        fns[f"loop_{form}"] = functools.partial(python_loop, jitted[form], state0, key_train, loop_steps, donated)
    timings = interleaved(fns, repeats)
    ours = fns["ours"]()
    ours_params = eqx.filter(ours, trainable_filter(ours))
    identical = same_bits(ours_params, fns["scan"]()[0])
    short = ours_fn(loop_steps).model
    loop_identical = same_bits(eqx.filter(short, trainable_filter(short)), fns[f"loop_{loop_forms[0]}"]()[0])
    rates = {"ours": n_steps / timings["ours"]["best_s"], "scan": n_steps / timings["scan"]["best_s"]}
    medians = {"ours": n_steps / timings["ours"]["median_s"], "scan": n_steps / timings["scan"]["median_s"]}
    for form in loop_forms:
        rates[f"loop_{form}"] = loop_steps / timings[f"loop_{form}"]["best_s"]
        medians[f"loop_{form}"] = loop_steps / timings[f"loop_{form}"]["median_s"]
    loop = f"loop_{loop_forms[0]}"
    return {
        "dtype": str(np.dtype(dtype)),
        "width": width,
        "batch": batch,
        "steps": n_steps,
        "python_loop_steps": loop_steps,
        "steps_per_s_best": rates,
        "steps_per_s_median": medians,
        "step_s_ours": 1 / rates["ours"],
        "compile_s": {name: timings[name]["compile_s"] for name in fns},
        "ours_over_python_loop": rates["ours"] / rates[loop],
        "ours_over_python_loop_median": medians["ours"] / medians[loop],
        "python_loop_form_in_ratio": loop_forms[0],
        "scan_over_ours": rates["scan"] / rates["ours"],
        "params_bit_identical_to_scan": identical,
        "params_bit_identical_to_python_loop": loop_identical,
        "loadavg": timings["loadavg"],
        "targets": {"ours_over_python_loop_min": 5.0, "scan_over_ours_max": 1.1},
    }


def sweep(n_steps, repeats, widths=WIDTHS, batches=BATCHES):
    rows = []
    with ProgressBar(len(widths) * len(batches), "training sweep") as bar:
        for batch in batches:
            for width in widths:
                row = bench(jnp.float32, n_steps, repeats, width, batch, loop_forms=("filter_jit", "jax_jit"))
                _, _, _, key_train, _, state0, _ = problem(jnp.float32, width, batch)
                row["dispatch_s"] = dispatch_cost(state0, key_train, 200)
                rows.append(row)
                bar.update(1, width=width, batch=batch)
    return rows


def devices_4(n_steps, repeats):
    """The 1-device comparison run again in a subprocess with 4 host CPU devices, the minibatch sharded."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    cmd = [sys.executable, __file__, "--devices-worker", "--steps", str(n_steps), "--repeats", str(repeats)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return {"error": done.stderr[-4000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def devices_worker(n_steps, repeats):
    """Inside the 4-device subprocess: `bench` with the minibatch sharded over a 1-D mesh of all devices."""
    mesh = jax.make_mesh((len(jax.devices()),), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    ours_sharded = "sharding" in inspect.signature(train_score).parameters
    row = bench(jnp.float32, n_steps, repeats, loop_forms=("filter_jit",), sharding=sharding if ours_sharded else None)
    row["devices"] = [str(d) for d in jax.devices()]
    row["ours_sharded"] = ours_sharded
    row["note"] = (
        "ours, scan and loop all shard the minibatch over the mesh (train_score(sharding=) and "
        "with_sharding_constraint in the hand-written step); the 4 devices are host CPU devices sharing this "
        "machine's cores, so this measures the sharded program's overhead, not a speed-up"
        if ours_sharded
        else "train_score has no sharding= yet: only the hand-written scan and loop shard the minibatch"
    )
    print(json.dumps(row, default=float))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200 steps, 2 repeats, a reduced sweep")
    parser.add_argument("--smoke", action="store_true", help="20 steps, 1 repeat, float32, no sweep (seconds)")
    parser.add_argument("--no-devices", action="store_true", help="skip the 4-device subprocess")
    parser.add_argument("--devices-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(RESULTS / "training.json"))
    args = parser.parse_args(argv)
    if args.devices_worker:
        return devices_worker(args.steps, args.repeats)
    start = time.perf_counter()
    if args.smoke:
        steps, repeats = 20, 1
        results = [bench(jnp.float32, steps, repeats, width=16, batch=64, loop_forms=("filter_jit",))]
        swept, four = [], None
    else:
        steps, repeats = (200, 2) if args.quick else (args.steps, args.repeats)
        results = [bench(dtype, steps, repeats) for dtype in (jnp.float32, jnp.float64)]
        swept = sweep(steps, repeats, widths=(16, 128) if args.quick else WIDTHS)
        four = None if args.no_devices else devices_4(steps, repeats)
    record = {
        "benchmark": "training steps/s: train_score vs a hand-written lax.scan vs a Python loop of jitted steps "
        "(MLP, 2-D mixture, VP, DSM λ = s², Adam, EMA)",
        **environment(),
        "command": "benchmarks/bench_training.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "note": "best and median of interleaved rounds after one compiling call; the machine may be shared",
        "results": results,
        "sweep": swept,
        "devices_4": four,
        "total_wall_s": time.perf_counter() - start,
    }
    path = write_result(record, args.out)
    print("wrote", path)
    return record


if __name__ == "__main__":
    main()
