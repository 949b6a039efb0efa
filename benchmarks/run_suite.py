"""Run the performance suite in one process (`benchmarks/gpu.sh` calls this): `bench_pc_overhead`,
`bench_scale` and `bench_training`, each writing its JSON into `--out`, then `suite.json` with the machine,
the versions, each benchmark's wall time and the headline numbers.

    .venv/bin/python benchmarks/run_suite.py --mode gpu|cpu|cpu-smoke [--out DIR]

`gpu`: the issue's sizes and the full scaling grid (batch 10³ … 10⁶, d 2 … 3,072), no 4-device subprocess (one
GPU); `cpu`: the CPU defaults (scaling capped at n·d ≤ 2²¹); `cpu-smoke`: tiny sizes, seconds (the test).
"""

import argparse
import os
import pathlib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import bench_pc_overhead  # noqa: E402
import bench_scale  # noqa: E402
import bench_training  # noqa: E402
from _harness import environment, write_result  # noqa: E402

ARGS = {
    "gpu": {"pc_overhead": [], "scale": ["--full"], "training": ["--no-devices"]},
    "cpu": {"pc_overhead": [], "scale": [], "training": []},
    "cpu-smoke": {"pc_overhead": ["--smoke"], "scale": ["--smoke"], "training": ["--smoke"]},
}
MAINS = {"pc_overhead": bench_pc_overhead.main, "scale": bench_scale.main, "training": bench_training.main}


def nvidia_smi():
    try:
        done = subprocess.run(["nvidia-smi", "-q"], capture_output=True, text=True, timeout=30)
        return done.stdout[:20_000] if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def headline(name, record):
    """The numbers the issue asks for, from one benchmark's record."""
    if name == "pc_overhead":
        return {r["dtype"]: r["ours_over_hand_fused"] for r in record["results"]}
    if name == "scale":
        return [
            {k: v for k, v in ode.items() if k.endswith(("over_ours_best", "relative_difference", "batch"))}
            for ode in record["ode_vs_scipy"]
        ]
    return {f"{r['dtype']}_w{r['width']}_b{r['batch']}": r["ours_over_python_loop"] for r in record["results"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=tuple(ARGS), required=True)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "gpu"))
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    suite = {"mode": args.mode, **environment(), "nvidia_smi": nvidia_smi(), "benchmarks": {}}
    start = time.perf_counter()
    for name, bench_main in MAINS.items():
        t0 = time.perf_counter()
        record = bench_main([*ARGS[args.mode][name], "--out", str(out / f"{name}.json")])
        suite["benchmarks"][name] = {"wall_s": time.perf_counter() - t0, "headline": headline(name, record)}
        write_result(suite, out / "suite.json")  # after each benchmark: a partial suite survives a timeout
    suite["total_wall_s"] = time.perf_counter() - start
    write_result(suite, out / "suite.json")
    print("wrote", out / "suite.json", f"({suite['total_wall_s']:.1f} s)")
    return suite


if __name__ == "__main__":
    main()
