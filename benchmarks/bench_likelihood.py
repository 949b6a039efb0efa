"""Log-likelihood through the probability-flow ODE: exact trace vs Hutchinson as d grows, and our
diffrax route vs the reference code's scipy RK45 route at equal tolerance. Writes JSON.

    python benchmarks/bench_likelihood.py [--quick] [--out benchmarks/results/likelihood.json]

- `time_vs_d`: a batch of 64 examples (vmapped), VP SDE, Gaussian data with a diagonal covariance so the
  exact score costs O(d) per evaluation; exact trace (d JVPs per evaluation) vs Hutchinson (one
  Rademacher probe, drawn once per integration), rtol = atol = 1e-5, eps = 1e-5 (the reference code's
  defaults). Time excludes compilation (best of `repeat` runs after one warm-up).
- `ours_vs_scipy`: the 2-D mixture `gmm_2d()` under VP, exact score, prior = exact p_T, a batch of 64:
  diffrax Tsit5 vmapped (one adaptive solve per example) vs `solve_ivp(RK45)` on the whole batch as one
  state (the reference code), at rtol = atol in {1e-5, 1e-8}; NFE, time and the error against the
  closed-form log p_eps.
The first-vs-second eager-call measurement is `benchmarks/bench_eager_calls.py`.
"""

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from bench_samplers import environment, timed, write_result

jax.config.update("jax_enable_x64", True)

import scoresde_ref as sr  # noqa: E402
from scoresde_ref.examples import gmm_2d  # noqa: E402

EPS = 1e-5


def diagonal_gaussian_score(sde, mean, var):
    """The exact score of p_t for p_0 = N(mean, diag(var)): −(x − m·mean)/(m² var + s²), O(d)."""

    def score(x, t):
        m, s = sde.kernel(t)
        return -(x - m * mean) / (m**2 * var + s**2)

    return score


def time_vs_d(dims, batch, repeat):
    sde = sr.VPSDE()
    rows = []
    for d in dims:
        mean = jnp.linspace(-1.0, 1.0, d)
        var = jnp.linspace(0.2, 2.0, d)
        dist = sr.Gaussian(mean, jnp.diag(var))
        score = diagonal_gaussian_score(sde, mean, var)
        xs = sr.marginal(sde, dist, EPS).sample(jax.random.key(d), batch)
        keys = jax.random.split(jax.random.key(1000 + d), batch)
        p_T = sr.marginal(sde, dist, sde.T)
        row = {"d": d}
        for name in ("exact", "hutchinson"):
            fn = eqx.filter_jit(
                jax.vmap(
                    lambda x, k, name=name, score=score, p_T=p_T: sr.log_likelihood(
                        sde, score, x, eps=EPS, divergence=name, key=k, prior=p_T
                    )
                )
            )
            first, best = timed(fn, xs, keys, repeat=repeat)
            log_p, nfe = fn(xs, keys)
            closed_form = jax.vmap(sr.marginal(sde, dist, EPS).log_prob)(xs)
            row[name] = {
                "compile_and_first_run_s": first,
                "run_s": best,
                "nfe_mean": float(jnp.mean(nfe)),
                "max_abs_error_vs_closed_form": float(jnp.max(jnp.abs(log_p - closed_form))),
            }
        row["time_ratio_exact_over_hutchinson"] = row["exact"]["run_s"] / row["hutchinson"]["run_s"]
        row["jvps_per_evaluation"] = {"exact": d, "hutchinson": 1}
        rows.append(row)
        print(
            f"d = {d:4d}: exact {row['exact']['run_s']:.4f} s, hutchinson {row['hutchinson']['run_s']:.4f} s, "
            f"ratio {row['time_ratio_exact_over_hutchinson']:.2f}",
            flush=True,
        )
    return {
        "batch": batch,
        "sde": "VP(0.1, 20)",
        "data": "N(linspace(-1, 1, d), diag(linspace(0.2, 2, d)))",
        "rtol": 1e-5,
        "atol": 1e-5,
        "eps": EPS,
        "probe": "rademacher, one per integration",
        "prior": "exact p_T (the error is the solver's only)",
        "note": (
            "for diagonal data the Rademacher estimate is exact (A = ∫J dt is diagonal), "
            "so both errors are solver errors"
        ),
        "rows": rows,
    }


def ours_vs_scipy(batch, tolerances):
    sde, dist = sr.VPSDE(), gmm_2d()
    score = sr.exact_score(sde, dist)
    p_T, p_eps = sr.marginal(sde, dist, sde.T), sr.marginal(sde, dist, EPS)
    xs = p_eps.sample(jax.random.key(7), batch)
    closed_form = np.asarray(jax.vmap(p_eps.log_prob)(xs))
    out = []
    for tol in tolerances:
        ours = eqx.filter_jit(
            jax.vmap(lambda x, tol=tol: sr.log_likelihood(sde, score, x, eps=EPS, rtol=tol, atol=tol, prior=p_T))
        )
        first, best = timed(lambda x, ours=ours: ours(x)[0], xs, repeat=2)
        log_p, nfe = ours(xs)
        sr.log_likelihood_scipy(sde, score, xs, eps=EPS, rtol=tol, atol=tol, prior=p_T)  # compiles the velocity once
        t0 = time.perf_counter()
        log_p_sp, nfe_sp = sr.log_likelihood_scipy(sde, score, xs, eps=EPS, rtol=tol, atol=tol, prior=p_T)
        scipy_s = time.perf_counter() - t0
        out.append(
            {
                "rtol": tol,
                "atol": tol,
                "ours_diffrax_tsit5_vmapped": {
                    "nfe_mean_per_example": float(jnp.mean(nfe)),
                    "nfe_max_per_example": int(jnp.max(nfe)),
                    "compile_and_first_run_s": first,
                    "run_s": best,
                    "max_abs_error_vs_closed_form": float(np.max(np.abs(np.asarray(log_p) - closed_form))),
                },
                "scipy_rk45_batch_as_one_state": {
                    "nfe": int(nfe_sp),
                    "run_s": scipy_s,
                    "max_abs_error_vs_closed_form": float(np.max(np.abs(log_p_sp - closed_form))),
                    "note": "velocity jit-compiled once beforehand; time is scipy's loop + host transfers",
                },
                "time_ratio_scipy_over_ours": scipy_s / best,
            }
        )
        print(
            f"tol {tol:g}: ours {best:.4f} s (NFE {float(jnp.mean(nfe)):.0f}/example), "
            f"scipy {scipy_s:.4f} s (NFE {nfe_sp})",
            flush=True,
        )
    return {"batch": batch, "sde": "VP(0.1, 20)", "data": "gmm_2d()", "prior": "exact p_T", "eps": EPS, "rows": out}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="d up to 16 (a smoke run)")
    parser.add_argument("--out", default="benchmarks/results/likelihood.json")
    args = parser.parse_args()
    dims = [2, 4, 8, 16] if args.quick else [2, 4, 8, 16, 32, 64, 128, 256]
    t0 = time.perf_counter()
    result = {
        **environment(),
        "dtype": "float64",
        "time_vs_d": time_vs_d(dims, batch=64, repeat=2 if args.quick else 7),
        "ours_vs_scipy": ours_vs_scipy(64, [1e-5, 1e-8]),
    }
    result["total_wall_s"] = time.perf_counter() - t0
    write_result(result, args.out)


if __name__ == "__main__":
    main()
