"""The shared benchmark harness: machine and versions, interleaved repeated timings, JSON out.

Every timing is taken after `jax.block_until_ready`. The machine may be shared (other processes load
its cores), so compared variants are timed *interleaved* — one run of each per round, `repeats` rounds —
and each reports its best (the least disturbed run) and its median wall time, with the process CPU time
beside it (`time.process_time`, all threads: less sensitive to other processes than wall time) and
`os.getloadavg()` before and after. Compilation is timed apart: the first call minus the best steady call.
"""

import json
import os
import pathlib
import platform
import time

import diffrax
import equinox as eqx
import jax
import numpy as np
import optax
import scipy

RESULTS = pathlib.Path(__file__).parent / "results"


def environment() -> dict:
    """The machine and library versions, recorded in every benchmark's JSON."""
    devices = jax.devices()
    return {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "backend": jax.default_backend(),
            "jax_devices": [str(d) for d in devices],
            "device_kind": devices[0].device_kind,
            "loadavg_at_start": os.getloadavg(),
        },
        "versions": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "jaxlib": getattr(jax.lib, "__version__", None) or jax.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "diffrax": diffrax.__version__,
            "equinox": eqx.__version__,
            "optax": optax.__version__,
        },
        "x64": bool(jax.config.jax_enable_x64),
    }


def interleaved(fns: dict, repeats: int, progress=None, block: int = 1) -> dict:
    """Time each `fns[name]()` (a function returning arrays) once to compile, then `repeats` rounds,
    `block` consecutive calls of each per round (a run's time is the block's mean: with `block > 1` a call
    is timed warm, its thread pool awake, as in a user's loop, not just after another function's run).
    **Returns** `{name: {first_s, best_s, median_s, compile_s, best_cpu_s, median_cpu_s, runs_s}}`, plus
    `"loadavg"` (before, after)."""
    load_before = os.getloadavg()
    out = {}
    for name, fn in fns.items():
        start = time.perf_counter()
        jax.block_until_ready(fn())
        out[name] = {"first_s": time.perf_counter() - start, "runs_s": [], "cpu_s": []}
    for _ in range(repeats):
        for name, fn in fns.items():
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(block):
                jax.block_until_ready(fn())
            out[name]["runs_s"].append((time.perf_counter() - start) / block)
            out[name]["cpu_s"].append((time.process_time() - cpu) / block)
        if progress is not None:
            progress.update(1)
    for row in out.values():
        row["best_s"], row["median_s"] = min(row["runs_s"]), float(np.median(row["runs_s"]))
        row["best_cpu_s"], row["median_cpu_s"] = min(row["cpu_s"]), float(np.median(row["cpu_s"]))
        row["compile_s"] = row["first_s"] - row["best_s"]
        del row["cpu_s"]
    out["loadavg"] = {"before": load_before, "after": os.getloadavg()}
    return out


def ratios(timings: dict, num: str, den: str) -> dict:
    """`num / den` of the best, median and best-CPU times (a ratio > 1: `num` is slower)."""
    a, b = timings[num], timings[den]
    return {
        "best": a["best_s"] / b["best_s"],
        "median": a["median_s"] / b["median_s"],
        "best_cpu": a["best_cpu_s"] / b["best_cpu_s"],
    }


def write_result(result: dict, out) -> pathlib.Path:
    """Write `result` as indented JSON to `out` (creating its folder); return the path."""
    path = pathlib.Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=float) + "\n", encoding="utf-8")
    return path
