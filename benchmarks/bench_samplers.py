"""Reverse-SDE Euler–Maruyama with an exact GMM score, ours vs three baselines, and the
probability-flow ODE (diffrax) vs scipy's RK45, in one run. Writes JSON.

    python benchmarks/bench_samplers.py [--quick] [--out benchmarks/results/samplers.json]

Baselines, same inputs, same float64 arithmetic:
- `hand_fused_scan`: a lax.scan written by hand for this one model (GMM score in closed form,
  per-step constants hoisted): the speed target (ours must be within 1.2× of it);
- `numpy_loop`: the same Euler–Maruyama in NumPy, vectorized over the batch, looping over steps;
- `diffrax_default`: `diffrax.diffeqsolve(Euler, VirtualBrownianTree)` on the time-reversed SDE
  with the batch as one state (what a diffrax user would write first).
"""

import argparse
import json
import os
import pathlib
import platform
import time

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax
import numpy as np
import scipy

jax.config.update("jax_enable_x64", True)

import scoresde_ref as sr  # noqa: E402
from scoresde_ref.examples import gmm_2d  # noqa: E402


def timed(fn, *args, repeat=3):
    """(compile + first run, best of `repeat` further runs) in seconds."""
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t0
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return first, best


def environment():
    """The machine and library versions, recorded in every benchmark's JSON."""
    return {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "jax_devices": [str(d) for d in jax.devices()],
        },
        "versions": {
            "jax": jax.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "diffrax": diffrax.__version__,
            "equinox": eqx.__version__,
        },
    }


def write_result(result, out):
    """Write `result` as indented JSON to `out` (creating its folder) and print it."""
    path = pathlib.Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def em_benchmarks(n, n_steps, eps, repeat):
    sde, dist = sr.VPSDE(), gmm_2d()
    score = lambda x, t: sr.marginal(sde, dist, t).score(x)  # noqa: E731
    x_T = sde.prior_sample(jax.random.key(0), (n, 2))
    key = jax.random.key(1)
    h = (sde.T - eps) / n_steps
    results = {}

    # pc_sample compiles at its boundary: the same score function object reuses the compilation.
    ours = lambda k, x: sr.pc_sample(k, sde, score, x, n_steps=n_steps, eps=eps)[0]  # noqa: E731
    results["ours_pc_sample"] = timed(ours, key, x_T, repeat=repeat)

    w, mu0, cov0 = dist.weights, dist.means, dist.covs

    @jax.jit
    def fused(key, x):
        def body(x, k):
            t = sde.T - k * h
            B = sde.beta_min * t + 0.5 * (sde.beta_max - sde.beta_min) * t**2
            m, v = jnp.exp(-0.5 * B), -jnp.expm1(-B)
            beta = sde.beta_min + (sde.beta_max - sde.beta_min) * t
            mu = m * mu0
            cov = m**2 * cov0 + v * jnp.eye(2)[None]
            prec = jnp.linalg.inv(cov)
            logdet = jnp.linalg.slogdet(cov)[1]
            diff = x[:, None, :] - mu[None]  # (n, K, d)
            pd = jnp.einsum("kij,nkj->nki", prec, diff)
            logits = jnp.log(w)[None] - 0.5 * jnp.sum(diff * pd, -1) - 0.5 * logdet[None]
            r = jax.nn.softmax(logits, axis=-1)
            s = -jnp.einsum("nk,nki->ni", r, pd)
            z = jax.random.normal(jax.random.fold_in(key, k), x.shape)
            x = x + (0.5 * beta * x + beta * s) * h + jnp.sqrt(beta * h) * z
            return x, None

        x, _ = jax.lax.scan(body, x, jnp.arange(n_steps, dtype=x.dtype))
        return x

    results["hand_fused_scan"] = timed(fused, key, x_T, repeat=repeat)

    def numpy_loop(seed, x):
        rng = np.random.default_rng(seed)
        x = np.array(x)
        wn, mun, covn = map(np.asarray, (w, mu0, cov0))
        for k in range(n_steps):
            t = 1.0 - k * h
            B = 0.1 * t + 0.5 * 19.9 * t**2
            m, v = np.exp(-0.5 * B), -np.expm1(-B)
            beta = 0.1 + 19.9 * t
            cov = m**2 * covn + v * np.eye(2)[None]
            prec = np.linalg.inv(cov)
            logdet = np.linalg.slogdet(cov)[1]
            diff = x[:, None, :] - m * mun[None]
            pd = np.einsum("kij,nkj->nki", prec, diff)
            logits = np.log(wn)[None] - 0.5 * np.sum(diff * pd, -1) - 0.5 * logdet[None]
            logits -= logits.max(-1, keepdims=True)
            r = np.exp(logits)
            r /= r.sum(-1, keepdims=True)
            s = -np.einsum("nk,nki->ni", r, pd)
            x = x + (0.5 * beta * x + beta * s) * h + np.sqrt(beta * h) * rng.standard_normal(x.shape)
        return x

    t0 = time.perf_counter()
    numpy_loop(0, x_T)
    results["numpy_loop"] = (None, time.perf_counter() - t0)

    rev = sr.TimeReversedSDE(sde, score)

    @jax.jit
    def diffrax_default(key, x):
        shape = x.shape
        drift = lambda u, y, args: jax.vmap(lambda xi: rev.drift(xi, u))(y.reshape(shape)).reshape(-1)  # noqa: E731
        diffusion = lambda u, y, args: lineax.DiagonalLinearOperator(rev.diffusion(u) * jnp.ones_like(y))  # noqa: E731
        bm = diffrax.VirtualBrownianTree(0.0, sde.T - eps, tol=h / 2, shape=(x.size,), key=key)
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, bm))
        sol = diffrax.diffeqsolve(
            terms, diffrax.Euler(), 0.0, sde.T - eps, dt0=h, y0=x.reshape(-1), max_steps=n_steps + 1
        )
        return sol.ys[-1]

    results["diffrax_default"] = timed(diffrax_default, key, x_T, repeat=1)

    out = {}
    for name, (first, best) in results.items():
        out[name] = {
            "compile_and_first_run_s": first,
            "run_s": best,
            "particle_steps_per_s": n * n_steps / best,
        }
    ours_s = out["ours_pc_sample"]["run_s"]
    for name in out:
        out[name]["time_ratio_to_ours"] = out[name]["run_s"] / ours_s
    out["ours_over_hand_fused"] = ours_s / out["hand_fused_scan"]["run_s"]
    out["within_1.2x_of_hand_fused"] = bool(out["ours_over_hand_fused"] <= 1.2)
    return out


def ode_benchmarks(n, rtol, atol):
    sde, dist = sr.VPSDE(), gmm_2d()
    score = lambda x, t: sr.marginal(sde, dist, t).score(x)  # noqa: E731
    x_T = sde.prior_sample(jax.random.key(2), (n, 2))
    ours = lambda x: sr.ode_sample(sde, score, x, rtol=rtol, atol=atol)  # noqa: E731  (compiled at its boundary)
    first, best = timed(lambda x: ours(x)[0], x_T, repeat=2)
    _, nfe = ours(x_T)
    sr.ode_sample_scipy(sde, score, x_T, rtol=rtol, atol=atol)  # compiles the velocity once
    t0 = time.perf_counter()
    x_sp, nfe_sp = sr.ode_sample_scipy(sde, score, x_T, rtol=rtol, atol=atol)
    scipy_s = time.perf_counter() - t0
    x_ours = np.asarray(ours(x_T)[0])
    return {
        "rtol": rtol,
        "atol": atol,
        "batch": n,
        "ours_diffrax_tsit5": {"nfe": int(nfe), "compile_and_first_run_s": first, "run_s": best},
        "scipy_rk45": {
            "nfe": int(nfe_sp),
            "run_s": scipy_s,
            "note": "velocity jit-compiled once beforehand; time is scipy's loop + host transfers",
        },
        "time_ratio_scipy_over_ours": scipy_s / best,
        "max_abs_difference_of_outputs": float(np.max(np.abs(x_ours - x_sp))),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--out", default="benchmarks/results/samplers.json")
    args = parser.parse_args()
    n, n_steps = (4096, 100) if args.quick else (65_536, 1_000)
    result = {
        **environment(),
        "reverse_em": {
            "batch": n,
            "d": 2,
            "n_steps": n_steps,
            "dtype": "float64",
            **em_benchmarks(n, n_steps, 1e-3, repeat=2 if args.quick else 3),
        },
        "probability_flow_ode": ode_benchmarks(1024 if args.quick else 4096, 1e-5, 1e-5),
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
