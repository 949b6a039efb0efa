"""Euler–Maruyama `pc_sample` against a hand-fused `lax.scan` calling the same score, float32 and float64,
in one run, interleaved and repeated; and where the difference is (ops per step). Writes JSON.

    .venv/bin/python benchmarks/bench_pc_overhead.py [--quick] [--repeats 5] [--out benchmarks/results/pc_overhead.json]

The problem (issue 17): VP SDE, the exact score `sr.exact_score(sde, gmm_2d())` of a 2-component 2-D mixture,
batch 65,536, 1,000 steps, eps = 1e-3. Variants, all on the same `x_T` and key:

- `hand_fused`: one `jax.jit` of a `lax.scan` written for this SDE: per step $t = T - k h$,
  $\\beta(t)$, $g = \\sqrt\\beta$ and $x \\leftarrow x - [f - g^2 s]h + g\\sqrt h\\,z$ with $f = -\\tfrac12\\beta x$,
  $s$ = the same score vmapped, $z$ from `split(fold_in(key, k))[1]` (pc_sample's key scheme), no checks
  of its own (the score's own checks are in both: it is the same score);
- `ours`: `sr.pc_sample(..., denoise=False)` (the same output as `hand_fused`: compared bit for bit);
- `ours_denoise`: `sr.pc_sample` with its default `denoise=True` (carries `x_mean` as well);
- `ours_core`: pc_sample's compiled core called directly (`_pc_sample` under one `jax.jit`): ours without
  its eager boundary (input checks, `floats_as_arrays`, `filter_jit` dispatch), so `ours - ours_core` is
  the per-call cost of the boundary;
- `ours_per_step_checks`: the core traced with `times_checked` disabled, i.e. every coefficient checking its
  time in every step, as before the fix (derivations/performance.md): the cost of those checks, measured.

`ops_per_step` counts the equations of the scan body's jaxpr (recursively) and the `cond`s in it (each
`eqx.error_if` is one), and the conditionals of the compiled while body.
"""

import argparse
import contextlib
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _harness import RESULTS, environment, interleaved, ratios, write_result  # noqa: E402

import scoresde_ref as sr  # noqa: E402
import scoresde_ref.samplers._pc as pc  # noqa: E402
from scoresde_ref._jit_boundary import floats_as_arrays  # noqa: E402
from scoresde_ref._progress import ProgressBar  # noqa: E402
from scoresde_ref.examples import gmm_2d  # noqa: E402

EPS = 1e-3


def problem(dtype, n):
    """The issue's problem in `dtype`: VP SDE, the exact score of `gmm_2d()` cast to `dtype`, `x_T` `(n, 2)`."""
    sde, d0 = sr.VPSDE(), gmm_2d()
    dist = sr.GaussianMixture(d0.weights.astype(dtype), d0.means.astype(dtype), d0.covs.astype(dtype))
    x_T = sde.prior_sample(jax.random.key(0), (n, 2), dtype=dtype)
    return sde, sr.exact_score(sde, dist), x_T, jax.random.key(1)


def hand_fused(n_steps):
    """The hand-written loop (module docstring): `fused(key, x_T, sde, score, eps) -> x` after `n_steps` steps."""

    @jax.jit
    def fused(key, x, sde, score, eps):
        h = (sde.T - eps) / n_steps

        def body(x, k):
            t = sde.T - k.astype(x.dtype) * h
            beta = sde.beta_min + (sde.beta_max - sde.beta_min) * t
            g = jnp.sqrt(beta)
            z = jax.random.normal(jax.random.split(jax.random.fold_in(key, k))[1], x.shape, x.dtype)
            s = jax.vmap(score, (0, None))(x, t)
            return x - (-0.5 * beta * x - g**2 * s) * h + g * jnp.sqrt(h) * z, None

        return jax.lax.scan(body, x, jnp.arange(n_steps))[0]

    return fused


def ours_traced(n_steps, *, per_step_checks=False, denoise=False):
    """`pc_sample`'s compiled core as one `jax.jit` (its eager boundary checks left out, so the jaxpr is the loop);
    with `per_step_checks`, traced with `times_checked` disabled (every coefficient checks its time every step)."""
    raw = pc._pc_sample.__wrapped__

    @jax.jit
    def run(key, x, sde, score, eps):
        saved = pc.times_checked
        if per_step_checks:
            pc.times_checked = lambda t, T: contextlib.nullcontext()
        try:
            predictor = sr.samplers.EulerMaruyama()
            args = (None, predictor, None, None, n_steps, "corrector_first", denoise, False)
            return raw(key, sde, score, x, eps, *args)[0]
        finally:
            pc.times_checked = saved

    return run


def scan_body_ops(fn, *args) -> dict:
    """Equations (recursively, sub-jaxprs included) and `cond`s of the body of the first `scan` in `fn`'s jaxpr."""
    jaxpr = jax.make_jaxpr(fn)(*args)

    def sub_jaxprs(eqn):
        for value in eqn.params.values():
            for v in value if isinstance(value, list | tuple) else (value,):
                if isinstance(v, jax.extend.core.ClosedJaxpr):
                    yield v.jaxpr
                elif isinstance(v, jax.extend.core.Jaxpr):
                    yield v

    def count(j):
        eqns = conds = 0
        for eqn in j.eqns:
            eqns += 1
            conds += eqn.primitive.name == "cond"
            for sub in sub_jaxprs(eqn):
                e, c = count(sub)
                eqns, conds = eqns + e, conds + c
        return eqns, conds

    def first_scan(j):
        for eqn in j.eqns:
            if eqn.primitive.name == "scan":
                return eqn.params["jaxpr"].jaxpr
            for sub in sub_jaxprs(eqn):
                found = first_scan(sub)
                if found is not None:
                    return found
        return None

    body = first_scan(jaxpr.jaxpr)
    eqns, conds = count(body)
    return {"eqns": eqns, "conds": conds}


def compiled_conditionals(fn, *args) -> int:
    """Number of `conditional` instructions in the optimised HLO of `fn` (all in the while body here)."""
    return fn.lower(*args).compile().as_text().count(" conditional(")


def bench(dtype, n, n_steps, repeats, progress, hlo=True):
    sde, score, x_T, key = problem(dtype, n)
    dyn = floats_as_arrays((sde, score, EPS))
    fused = hand_fused(n_steps)
    ours, per_step = ours_traced(n_steps), ours_traced(n_steps, per_step_checks=True)
    fns = {
        "hand_fused": lambda: fused(key, x_T, *dyn),
        "ours": lambda: sr.pc_sample(key, sde, score, x_T, n_steps=n_steps, eps=EPS, denoise=False).x,
        "ours_denoise": lambda: sr.pc_sample(key, sde, score, x_T, n_steps=n_steps, eps=EPS).x,
        "ours_core": lambda: ours(key, x_T, *dyn),
        "ours_per_step_checks": lambda: per_step(key, x_T, *dyn),
    }
    if not hlo:  # the smoke run: the two compared loops and the core only (the per-step variant is counted below)
        fns = {k: fns[k] for k in ("hand_fused", "ours", "ours_core")}
    timings = interleaved(fns, repeats, progress)
    x_fused, x_ours = np.asarray(fns["hand_fused"]()), np.asarray(fns["ours"]())
    small = (key, x_T[:64], *dyn)
    ops = {
        "hand_fused": scan_body_ops(fused, *small),
        "ours": scan_body_ops(ours, *small),
        "ours_per_step_checks": scan_body_ops(per_step, *small),
    }
    for name, fn in (("hand_fused", fused), ("ours", ours), ("ours_per_step_checks", per_step)) if hlo else ():
        ops[name]["compiled_conditionals"] = compiled_conditionals(fn, *small)
    best = timings["ours"]["best_s"]
    return {
        "dtype": str(np.dtype(dtype)),
        "batch": n,
        "d": 2,
        "n_steps": n_steps,
        "timings": timings,
        "particle_steps_per_s_best": {k: n * n_steps / v["best_s"] for k, v in timings.items() if k != "loadavg"},
        "ours_over_hand_fused": ratios(timings, "ours", "hand_fused"),
        "ours_core_over_hand_fused": ratios(timings, "ours_core", "hand_fused"),
        **(
            {
                "ours_denoise_over_hand_fused": ratios(timings, "ours_denoise", "hand_fused"),
                "per_step_checks_over_ours_core": ratios(timings, "ours_per_step_checks", "ours_core"),
            }
            if hlo
            else {}
        ),
        "eager_boundary_s_per_call_best": timings["ours"]["best_s"] - timings["ours_core"]["best_s"],
        "within_1.1x_of_hand_fused_best": bool(best / timings["hand_fused"]["best_s"] <= 1.1),
        "ours_bit_identical_to_hand_fused": bool(np.array_equal(x_ours, x_fused)),
        "max_abs_difference_ours_vs_hand_fused": float(np.max(np.abs(x_ours - x_fused))),
        "ops_per_step": ops,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="batch 4,096, 100 steps, 2 rounds")
    size.add_argument("--smoke", action="store_true", help="batch 256, 10 steps, 1 round, float32, no HLO (seconds)")
    parser.add_argument("--batch", type=int, default=65_536)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS / "pc_overhead.json"))
    args = parser.parse_args(argv)
    n, n_steps, repeats = (4096, 100, 2) if args.quick else (args.batch, args.steps, args.repeats)
    dtypes = (jnp.float32, jnp.float64)
    if args.smoke:
        n, n_steps, repeats, dtypes = 256, 10, 1, (jnp.float32,)
    with ProgressBar(len(dtypes) * repeats, "pc_overhead") as progress:
        results = [bench(dtype, n, n_steps, repeats, progress, hlo=not args.smoke) for dtype in dtypes]
    record = {
        "benchmark": "EM pc_sample vs a hand-fused lax.scan, same score (VP, exact GMM score, d = 2)",
        **environment(),
        "command": "benchmarks/bench_pc_overhead.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "results": results,
        "loadavg_at_end": os.getloadavg(),
    }
    path = write_result(record, args.out)
    for r in results:
        print(
            r["dtype"], "ours/hand_fused", r["ours_over_hand_fused"], "same bits", r["ours_bit_identical_to_hand_fused"]
        )
    print("wrote", path)
    return record


if __name__ == "__main__":
    main()
