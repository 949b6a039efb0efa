"""The eager boundary's cost per call: wall time of small calls of the public entry points, where the compiled
work is tens of microseconds and the validation, the float-to-array conversion and the dispatch are the rest.
Float64, the exact score of `gmm_2d()`, VP SDE; best and median of interleaved calls, after `block_until_ready`.

    .venv/bin/python benchmarks/bench_call_overhead.py [--calls 300] [--out benchmarks/results/call_overhead.json]
    PYTHONPATH=/path/to/an/older/checkout .venv/bin/python benchmarks/bench_call_overhead.py --out /tmp/before.json

The second form measures an older tree (only `sr.` names common to every version are used); `core` rows are the
compiled diffrax solve of `ode_sample` under one `jax.jit` (no boundary at all), the floor of the `ode_sample` row.
"""

import argparse
import os
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _harness import RESULTS, environment, write_result  # noqa: E402

import scoresde_ref as sr  # noqa: E402
from scoresde_ref.examples import gmm_2d  # noqa: E402
from scoresde_ref.samplers._ode import batch_velocity  # noqa: E402


def cases():
    """name -> zero-argument call returning an array (the sizes: 64 particles, 16 likelihood examples)."""
    sde = sr.VPSDE()
    score = sr.exact_score(sde, gmm_2d())
    x = sde.prior_sample(jax.random.key(2), (64, 2))
    xs = [x[i] for i in range(16)]
    key = jax.random.key(0)

    @jax.jit
    def core(x_T):  # the diffrax solve ode_sample compiles, without its boundary
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(batch_velocity(sde, score)), diffrax.Tsit5(), t0=sde.T, t1=1e-3, dt0=None, y0=x_T,
            stepsize_controller=diffrax.PIDController(rtol=1e-5, atol=1e-5), max_steps=100_000, throw=False,
        )  # fmt: skip
        return sol.ys[-1]

    one_likelihood = jax.jit(lambda v: sr.log_likelihood(sde, score, v)[0])
    return {
        "ode_sample_64": lambda: sr.ode_sample(sde, score, x).x,
        "ode_core_64": lambda: core(x),
        "pc_sample_64x10": lambda: sr.pc_sample(key, sde, score, x, n_steps=10).x,
        "dsm_loss_64": lambda: sr.dsm_loss(key, sde, score, x),
        "log_likelihood_1": lambda: sr.log_likelihood(sde, score, xs[0])[0],
        "log_likelihood_1_in_jit": lambda: one_likelihood(xs[0]),
    }


def measure(calls: int) -> dict:
    fns = cases()
    runs = {name: [] for name in fns}
    for fn in fns.values():
        jax.block_until_ready(fn())
    for _ in range(calls):
        for name, fn in fns.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            runs[name].append(time.perf_counter() - start)
    return {
        name: {"best_us": 1e6 * min(r), "median_us": 1e6 * float(np.median(r)), "calls": calls}
        for name, r in runs.items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--out", default=str(RESULTS / "call_overhead.json"))
    args = parser.parse_args(argv)
    rows = measure(args.calls)
    for name, row in rows.items():
        print(f"{name:26s} best {row['best_us']:8.0f} us   median {row['median_us']:8.0f} us")
    record = {
        "benchmark": "wall time per small call of the entry points (float64, gmm_2d exact score, VP)",
        **environment(),
        "package": sr.__file__,
        "command": "benchmarks/bench_call_overhead.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "rows": rows,
        "loadavg_at_end": os.getloadavg(),
    }
    print("wrote", write_result(record, args.out))
    return record


if __name__ == "__main__":
    main()
