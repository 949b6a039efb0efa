"""Scaling of Euler–Maruyama `pc_sample` with batch size and dimension (throughput, memory, bandwidth), and the
probability-flow ODE sampler and likelihood against scipy's RK45 route. Writes JSON and a log–log figure.

    .venv/bin/python benchmarks/bench_scale.py [--quick | --full] [--out benchmarks/results/scale.json]

- `em_scaling`: VP SDE, data $\\mathcal N(\\mu, \\sigma^2 I)$ with the analytic score
  $-(x - m\\mu)/(m^2\\sigma^2 + s^2)$ (O(d) per example, `IsotropicGaussianScore`), float32, `n_steps` steps,
  over a batch sweep (d = 2 and d = 64, n = 10³ … 10⁶) and a dimension sweep (n fixed, d = 2 … 3,072); each
  point capped at `max_elements` = n·d (the CPU default keeps the run to a few minutes; `--full`, the GPU
  script's grid, lifts it). Per point: best and median of interleaved repeats, particle-steps/s, the
  compiled computation's `memory_analysis()` (arguments, outputs, temporaries) at `n_steps` and at
  10·`n_steps` (no per-step buffers: the temporaries grow by the time grid and step indices only, ≤ 16 bytes
  a step, whatever n·d), the process's peak RSS, the device's `memory_stats()` where it
  has them, and the bandwidth estimate: bytes moved per step ≥ 2·n·d·itemsize (read x, write x; the noise
  is generated inside the fused step) against `--peak-bandwidth` (H200: 4.8e12 B/s).
- `ode_vs_scipy`: `sr.ode_sample` (diffrax Tsit5, the batch as one state) vs `sr.ode_sample_scipy`
  (solve_ivp RK45, jit-compiled velocity), and `sr.log_likelihood` vmapped vs `sr.log_likelihood_scipy`
  (the batch as one state, the reference code's route), same rtol = atol, float64, exact GMM score; NFE
  of both reported (the comparison is fair when they agree within 20 %).
"""

import argparse
import os
import resource
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _harness import RESULTS, environment, interleaved, write_result  # noqa: E402

import scoresde_ref as sr  # noqa: E402
import scoresde_ref.samplers._pc as pc  # noqa: E402
from scoresde_ref._jit_boundary import floats_as_arrays  # noqa: E402
from scoresde_ref._progress import ProgressBar  # noqa: E402
from scoresde_ref.examples import gmm_2d  # noqa: E402

EPS = 1e-3
BLOCK = 5  # ode_vs_scipy: consecutive calls per timed run (warm, as in a loop; `_harness.interleaved`)
H200_BANDWIDTH = 4.8e12


class IsotropicGaussianScore(eqx.Module):
    r"""The exact score of $p_t$ for $p_0 = \mathcal N(\mu, \sigma^2 I)$ under an affine SDE with kernel
    $(m, s)$: $-(x - m\mu)/(m^2\sigma^2 + s^2)$, O(d) per example (a module: compiled once per shape)."""

    sde: sr.VPSDE
    mean: jax.Array
    var: jax.Array

    def __call__(self, x, t):
        m, s = self.sde.kernel(t)
        return -(x - m * self.mean) / (m**2 * self.var + s**2)


def core(n_steps):
    """`pc_sample`'s compiled core (EM, `denoise=False`) under one `jax.jit`, for `lower().compile()`."""
    raw = pc._pc_sample.__wrapped__

    @jax.jit
    def run(key, x, sde, score, eps):
        args = (None, sr.samplers.EulerMaruyama(), None, None, n_steps, "corrector_first", False, False)
        return raw(key, sde, score, x, eps, *args)[0]

    return run


def memory(n_steps, key, x, dyn) -> dict:
    """Bytes of the compiled EM loop (`memory_analysis()`), at `n_steps` and at 10·`n_steps`."""
    out = {}
    for label, steps in (("n_steps", n_steps), ("10_n_steps", 10 * n_steps)):
        analysis = core(steps).lower(key, x, *dyn).compile().memory_analysis()
        out[label] = {
            name: int(getattr(analysis, f"{name}_size_in_bytes", -1))
            for name in ("argument", "output", "temp", "generated_code")
        }
    return out


def device_peak_bytes():
    stats = jax.devices()[0].memory_stats() if hasattr(jax.devices()[0], "memory_stats") else None
    return None if not stats else int(stats.get("peak_bytes_in_use", -1))


def em_point(n, d, n_steps, repeats, peak_bandwidth, dtype=jnp.float32):
    sde = sr.VPSDE()
    score = IsotropicGaussianScore(sde, jnp.linspace(-1.0, 1.0, d, dtype=dtype), jnp.asarray(0.5, dtype))
    x_T = sde.prior_sample(jax.random.key(n + d), (n, d), dtype=dtype)
    key = jax.random.key(1)
    fn = lambda: sr.pc_sample(key, sde, score, x_T, n_steps=n_steps, eps=EPS, denoise=False).x  # noqa: E731
    timing = interleaved({"ours": fn}, repeats)["ours"]
    itemsize = np.dtype(dtype).itemsize
    mem = memory(n_steps, key, x_T, floats_as_arrays((sde, score, EPS)))
    bytes_per_step = 2 * n * d * itemsize
    return {
        "n": n,
        "d": d,
        "n_steps": n_steps,
        "dtype": str(np.dtype(dtype)),
        "best_s": timing["best_s"],
        "median_s": timing["median_s"],
        "compile_s": timing["compile_s"],
        "particle_steps_per_s": n * n_steps / timing["best_s"],
        "element_steps_per_s": n * d * n_steps / timing["best_s"],
        "memory_analysis": mem,
        "temp_bytes_over_n_d_itemsize": mem["n_steps"]["temp"] / (n * d * itemsize),
        # the only O(N) temporaries are the time grid and the step indices (<= 16 bytes a step), whatever n·d:
        "temp_growth_bytes_per_added_step": (mem["10_n_steps"]["temp"] - mem["n_steps"]["temp"]) / (9 * n_steps),
        "no_per_step_buffers": (mem["10_n_steps"]["temp"] - mem["n_steps"]["temp"]) <= 16 * 9 * n_steps,
        "peak_rss_bytes_so_far": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "device_peak_bytes_in_use": device_peak_bytes(),
        "bandwidth": {
            "bytes_per_step_lower_bound": bytes_per_step,
            "achieved_bytes_per_s": bytes_per_step * n_steps / timing["best_s"],
            "fraction_of_peak": bytes_per_step * n_steps / timing["best_s"] / peak_bandwidth,
            "peak_bytes_per_s": peak_bandwidth,
        },
    }


def memory_point(n, d, n_steps, dtype=jnp.float32):
    """The compiled loop's `memory_analysis()` at `(n, d)` without running it (abstract inputs: nothing of size
    n·d is allocated), for the grid points over the timing cap."""
    sde = sr.VPSDE()
    score = IsotropicGaussianScore(sde, jnp.zeros((d,), dtype), jnp.asarray(0.5, dtype))
    x_T = jax.ShapeDtypeStruct((n, d), dtype)
    mem = memory(n_steps, jax.random.key(1), x_T, floats_as_arrays((sde, score, EPS)))
    itemsize = np.dtype(dtype).itemsize
    return {
        "n": n,
        "d": d,
        "n_steps": n_steps,
        "memory_analysis": mem,
        "temp_bytes_over_n_d_itemsize": mem["n_steps"]["temp"] / (n * d * itemsize),
        "temp_growth_bytes_per_added_step": (mem["10_n_steps"]["temp"] - mem["n_steps"]["temp"]) / (9 * n_steps),
        "no_per_step_buffers": (mem["10_n_steps"]["temp"] - mem["n_steps"]["temp"]) <= 16 * 9 * n_steps,
    }


def em_scaling(grid, n_steps, repeats, max_elements, peak_bandwidth):
    points = [(n, d) for n, d in grid if n * d <= max_elements]
    skipped = [(n, d) for n, d in grid if n * d > max_elements]
    rows = []
    with ProgressBar(len(points) + len(skipped), "em_scaling") as bar:
        for n, d in points:
            rows.append(em_point(n, d, n_steps, repeats, peak_bandwidth))
            bar.update(1, batch=n, d=d)
        memory_only = []  # over the cap: compiled, not run (the memory claim on the whole grid)
        for n, d in skipped:
            memory_only.append(memory_point(n, d, n_steps))
            bar.update(1, batch=n, d=d)
    return {"max_elements": max_elements, "skipped_over_cap": skipped, "rows": rows, "memory_only": memory_only}


def velocity_seconds(sde, score, x_T, evaluations=100) -> float:
    """Seconds per evaluation of the batch probability-flow velocity alone (`evaluations` of them in one compiled
    `fori_loop`, no solver, no dispatch): both routes make ~the same number of these, so `scipy time / (NFE_ours *
    this)` bounds the ratio any integrator could reach at that batch."""
    from scoresde_ref.samplers._ode import batch_velocity

    @jax.jit
    def run(x, sde, score):
        v = batch_velocity(sde, score)
        return jax.lax.fori_loop(0, evaluations, lambda i, y: y + 1e-9 * v(0.5 + 1e-4 * i, y, None), x)

    dyn = floats_as_arrays((sde, score))
    timing = interleaved({"velocity": lambda: run(x_T, *dyn)}, 5)["velocity"]
    return timing["best_s"] / evaluations


def ode_vs_scipy(batch, tol, likelihood_batch, repeats, likelihood=True):
    sde, dist = sr.VPSDE(), gmm_2d()
    score = sr.exact_score(sde, dist)
    x_T = sde.prior_sample(jax.random.key(2), (batch, 2))
    eps_ll = 1e-5
    p_T, p_eps = sr.marginal(sde, dist, sde.T), sr.marginal(sde, dist, eps_ll)
    xs = p_eps.sample(jax.random.key(7), likelihood_batch)
    ours_ll = eqx.filter_jit(
        jax.vmap(lambda x: sr.log_likelihood(sde, score, x, eps=eps_ll, rtol=tol, atol=tol, prior=p_T))
    )
    fns = {
        "ode_ours": lambda: sr.ode_sample(sde, score, x_T, rtol=tol, atol=tol).x,
        "ode_scipy": lambda: sr.ode_sample_scipy(sde, score, x_T, rtol=tol, atol=tol).x,
        "ll_ours": lambda: ours_ll(xs)[0],
        "ll_scipy": lambda: sr.log_likelihood_scipy(sde, score, xs, eps=eps_ll, rtol=tol, atol=tol, prior=p_T)[0],
    }
    if not likelihood:  # the smoke run: the sampler pair only (the likelihood's compile is the slow one)
        fns = {k: v for k, v in fns.items() if k.startswith("ode")}
    timings = interleaved(fns, repeats, block=BLOCK)
    out = {"rtol": tol, "atol": tol, "ode_batch": batch, "block": BLOCK, "timings": timings}
    out["nfe"] = {
        "ode_ours": int(sr.ode_sample(sde, score, x_T, rtol=tol, atol=tol).nfe),
        "ode_scipy": int(sr.ode_sample_scipy(sde, score, x_T, rtol=tol, atol=tol).nfe),
    }
    out["ode_nfe_relative_difference"] = abs(out["nfe"]["ode_ours"] - out["nfe"]["ode_scipy"]) / out["nfe"]["ode_scipy"]
    out["ode_scipy_over_ours_best"] = timings["ode_scipy"]["best_s"] / timings["ode_ours"]["best_s"]
    out["ode_max_abs_difference"] = float(np.max(np.abs(np.asarray(fns["ode_ours"]()) - fns["ode_scipy"]())))
    out["velocity_s_per_evaluation"] = velocity_seconds(sde, score, x_T)
    # the best ratio an integrator making our NFE could reach: scipy's time over our evaluations of the velocity
    out["ode_ratio_bound_at_our_nfe"] = timings["ode_scipy"]["best_s"] / (
        out["nfe"]["ode_ours"] * out["velocity_s_per_evaluation"]
    )
    if not likelihood:
        return out
    nfe = {
        **out["nfe"],
        "ll_ours_mean_per_example": float(jnp.mean(ours_ll(xs)[1])),
        "ll_ours_max_per_example": int(jnp.max(ours_ll(xs)[1])),
        "ll_scipy": int(sr.log_likelihood_scipy(sde, score, xs, eps=eps_ll, rtol=tol, atol=tol, prior=p_T)[1]),
    }
    closed = np.asarray(jax.vmap(p_eps.log_prob)(xs))
    # each example integrated alone evaluates the score at its own time: the mixture pushed forward (its 2x2
    # factorisations) per example, where the batch-as-one-state route shares one time per evaluation
    dyn = floats_as_arrays((score,))
    shared = jax.jit(lambda x, score: jax.vmap(lambda y: score(y, 0.5))(x))
    own = jax.jit(lambda x, t, score: jax.vmap(score)(x, t))
    ts = jnp.linspace(0.1, 0.9, likelihood_batch)
    score_cost = interleaved({"shared": lambda: shared(xs, *dyn), "own": lambda: own(xs, ts, *dyn)}, 20)
    return {
        **out,
        "likelihood_batch": likelihood_batch,
        "nfe": nfe,
        # ours solves each example alone (its own steps; a vmapped while loop runs to the slowest example),
        # scipy the batch as one state (one error norm): per-example mean and max against scipy's count
        "ll_nfe_relative_difference": abs(nfe["ll_ours_mean_per_example"] - nfe["ll_scipy"]) / nfe["ll_scipy"],
        "ll_nfe_relative_difference_max": abs(nfe["ll_ours_max_per_example"] - nfe["ll_scipy"]) / nfe["ll_scipy"],
        "ll_scipy_over_ours_best": timings["ll_scipy"]["best_s"] / timings["ll_ours"]["best_s"],
        "score_s_shared_time": score_cost["shared"]["best_s"],
        "score_s_own_time_per_example": score_cost["own"]["best_s"],
        "ll_max_abs_error_vs_closed_form": {
            "ours": float(np.max(np.abs(np.asarray(fns["ll_ours"]()) - closed))),
            "scipy": float(np.max(np.abs(np.asarray(fns["ll_scipy"]()) - closed))),
        },
    }


def figure(rows, path, memory_only=()):
    """Throughput and temporaries against n·d, log–log (matplotlib, written beside the JSON); `memory_only`: the
    points compiled but not run (temporaries only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for d in sorted({r["d"] for r in rows}):
        sub = sorted((r for r in rows if r["d"] == d), key=lambda r: r["n"])
        if len(sub) > 1:
            axes[0].loglog([r["n"] for r in sub], [r["particle_steps_per_s"] for r in sub], "o-", label=f"d = {d}")
    axes[0].set(xlabel="batch n", ylabel="particle-steps / s", title="EM pc_sample throughput (float32, 100 steps)")
    axes[0].legend()
    n_dim = max({r["n"] for r in rows}, key=lambda n: sum(r["n"] == n for r in rows))
    sub = sorted((r for r in rows if r["n"] == n_dim), key=lambda r: r["d"])
    axes[2].loglog([r["d"] for r in sub], [r["element_steps_per_s"] for r in sub], "o-")
    axes[2].set(xlabel="dimension d", ylabel="n·d element-steps / s", title=f"EM throughput against d (n = {n_dim})")
    nd = [r["n"] * r["d"] for r in rows]
    axes[1].loglog(nd, [max(r["memory_analysis"]["n_steps"]["temp"], 1) for r in rows], "o", label="temp")
    axes[1].loglog(nd, [r["memory_analysis"]["n_steps"]["argument"] for r in rows], "s", label="arguments")
    if memory_only:
        nd_c = [r["n"] * r["d"] for r in memory_only]
        temps = [max(r["memory_analysis"]["n_steps"]["temp"], 1) for r in memory_only]
        axes[1].loglog(nd_c, temps, "x", label="temp (compiled, not run)")
    everything = sorted(nd + [r["n"] * r["d"] for r in memory_only])
    axes[1].loglog(everything, [4 * v for v in everything], "k--", label="4 n d bytes")
    axes[1].set(xlabel="n · d", ylabel="bytes", title="compiled memory (float32)")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure_from(path):
    """Redraw the figure of a written `scale.json` (no measurement)."""
    import json
    import pathlib

    path = pathlib.Path(path)
    scaling = json.loads(path.read_text())["em_scaling"]
    figure(scaling["rows"], path.with_suffix(".png"), scaling.get("memory_only", ()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="three small points, short ODE/likelihood batches")
    size.add_argument("--smoke", action="store_true", help="one tiny point and the ODE pair only (seconds)")
    size.add_argument("--full", action="store_true", help="the full grid, no cap (the GPU script)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--peak-bandwidth", type=float, default=H200_BANDWIDTH)
    parser.add_argument("--out", default=str(RESULTS / "scale.json"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    batches = [10**3, 10**4, 10**5, 10**6]
    dims = [2, 16, 64, 256, 1024, 3072]
    if args.smoke:
        grid, n_steps, repeats, cap = [(1000, 2)], 10, 1, 10**5
    elif args.quick:
        grid, n_steps, repeats, cap = [(1000, 2), (10_000, 2), (1000, 64)], 10, 1, 10**5
    else:
        dim_n = 4096 if not args.full else 65_536
        grid = [(n, 2) for n in batches] + [(n, 64) for n in batches] + [(dim_n, d) for d in dims]
        n_steps, repeats, cap = 100, 3, (2**40 if args.full else 2**21)
    n_steps = args.steps or n_steps
    repeats = args.repeats or repeats
    grid = list(dict.fromkeys(grid))
    scaling = em_scaling(grid, n_steps, repeats, cap, args.peak_bandwidth)
    small = args.quick or args.smoke
    # (ODE batch, likelihood batch): scipy's route pays a host round trip per evaluation, ours does not, so the
    # ratio falls as the batch grows and each evaluation's compute dominates both; three sizes show where
    batches = [(16, 16)] if args.smoke else [(256, 16)] if args.quick else [(64, 16), (512, 64), (4096, 256)]
    ode = [ode_vs_scipy(n_ode, 1e-5, n_ll, 1 if small else 7, likelihood=not args.smoke) for n_ode, n_ll in batches]
    record = {
        "benchmark": "EM pc_sample scaling (analytic isotropic Gaussian score, VP, float32); PF-ODE and "
        "likelihood vs scipy RK45 (gmm_2d, float64)",
        **environment(),
        "command": "benchmarks/bench_scale.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "em_scaling": scaling,
        "ode_vs_scipy": ode,
        "total_wall_s": time.perf_counter() - start,
        "loadavg_at_end": os.getloadavg(),
    }
    path = write_result(record, args.out)
    figure(scaling["rows"], path.with_suffix(".png"), scaling["memory_only"])
    print("wrote", path, "and", path.with_suffix(".png"))
    return record


if __name__ == "__main__":
    main()
