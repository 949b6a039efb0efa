"""Compiled at the boundary: wall time of a first and a second eager call of the public entry points, same
shapes, new values (key, data, SDE parameters `VPSDE(0.2, 15)`, a new `sr.exact_score`). Issue 12 asks the
second call to take < 5 % of the first. Every timing after `jax.block_until_ready`; float64 and float32.

    python benchmarks/bench_eager_calls.py [--out benchmarks/results/eager_calls.json]
    PYTHONPATH=/path/to/an/older/checkout python benchmarks/bench_eager_calls.py --out /tmp/before.json

The second form measures an older tree side by side (only `sr.` names common to every version are used).
Each precision runs in a fresh interpreter (x64 is a process-wide setting).
"""

import argparse
import json
import subprocess
import sys
import time

CASES = ("pc_sample", "ode_sample", "log_likelihood", "dsm_loss")


def measure(precision):
    """One row per entry point: first and second call, seconds, and their ratio."""
    import jax

    jax.config.update("jax_enable_x64", precision == "float64")
    import scoresde_ref as sr
    from scoresde_ref.examples import gmm_2d

    dist = gmm_2d()

    def call(name, k, sde):
        score = sr.exact_score(sde, dist)
        if name == "pc_sample":  # 512 particles, 500 Euler-Maruyama steps
            return sr.pc_sample(
                jax.random.key(k), sde, score, sde.prior_sample(jax.random.key(10 + k), (512, 2)), n_steps=500
            )[0]
        if name == "ode_sample":  # 512 particles, adaptive Tsit5, default tolerances
            return sr.ode_sample(sde, score, sde.prior_sample(jax.random.key(10 + k), (512, 2)))[0]
        if name == "log_likelihood":  # one example, default tolerances
            return sr.log_likelihood(sde, score, dist.sample(jax.random.key(20 + k), 1)[0])[0]
        return sr.dsm_loss(jax.random.key(k), sde, score, dist.sample(jax.random.key(30 + k), 256))

    def wall(name, k, sde):
        t0 = time.perf_counter()
        jax.block_until_ready(call(name, k, sde))
        return time.perf_counter() - t0

    rows = {}
    for name in CASES:
        first, second = wall(name, 0, sr.VPSDE(0.1, 20.0)), wall(name, 1, sr.VPSDE(0.2, 15.0))
        rows[name] = {"first_s": first, "second_s": second, "ratio": second / first}
    return {"package": sr.__file__, "version": getattr(sr, "__version__", None), **rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results/eager_calls.json")
    parser.add_argument("--precision", choices=("float64", "float32"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.precision:  # the child: one precision, JSON on stdout
        print(json.dumps(measure(args.precision)))
        return
    from bench_samplers import environment, write_result

    result = {
        **environment(),
        "cases": "VP SDE, exact score of examples.gmm_2d(); second call: new key, data, "
        "VPSDE(0.2, 15.0) and exact_score, same shapes",
    }
    for precision in ("float64", "float32"):
        child = subprocess.run(
            [sys.executable, __file__, "--precision", precision], capture_output=True, text=True, check=True
        )
        result[precision] = json.loads(child.stdout.strip().splitlines()[-1])
        for name in CASES:
            row = result[precision][name]
            print(f"{precision} {name}: {row['first_s']:.3f} s -> {row['second_s']:.4f} s ({100 * row['ratio']:.2f} %)")
    write_result(result, args.out)


if __name__ == "__main__":
    main()
