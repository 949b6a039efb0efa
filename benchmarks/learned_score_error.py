"""A learned score measured against the exact one: the numbers of issue 15's "What it must show".

On the documents' mixture ½N(−3, ¼) + ½N(3, 1) (000 §5.1; `sr.examples.documents_gmm_1d`) and on a 2-D mixture
(`sr.examples.gmm_2d`), VP SDE (β in [0.1, 20]): train the default MLP score model (`train_score`, ε-parameterisation,
DSM with λ = s², stratified times, Adam 1e-3, EMA 0.999) in float32 within a fixed step budget (a wall-clock cap is
checked, `--max-train-s`, default 120 s), then, in float64, measure with `sr.metrics.score_error`: e(t) on 24
log-spaced times in [1e-3, 1], its g²-weighted integral, KL(p_T ‖ π), the PF-ODE NLL of 10,000 fresh points against
the exact cross-entropy (target gap ≤ 0.05 nats), PF-ODE samples against the exact law (KS at α = 1e-6 in 1-D,
sliced W₁ and its noise floor, mode weights). Writes benchmarks/results/learned_score_error.json and one figure per
data set (learned_score_error_<name>.png). The machine may be shared: training times are noisy.

    .venv/bin/python benchmarks/learned_score_error.py [--steps 20000] [--quick]
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

import scoresde_ref as sr  # noqa: E402
from scoresde_ref.metrics import plot_score_error, score_error  # noqa: E402
from scoresde_ref.training import train_score  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results"
KS_ALPHA = 1e-6
NLL_TARGET = 0.05


def as_float64(tree):
    return jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, tree)


def run(name, data_dist, *, steps, n_train, batch_size, max_train_s, n_nll, n_samples, n_per_time, key):
    sde = sr.VPSDE(beta_min=0.1, beta_max=20.0)
    key_data, key_train, key_eval = jax.random.split(key, 3)
    data = data_dist.sample(key_data, n_train).astype(jnp.float32)
    start = time.perf_counter()
    result = train_score(key_train, sde, data, steps=steps, batch_size=batch_size, progress=None)
    train_s = time.perf_counter() - start
    score = as_float64(result.score)
    start = time.perf_counter()
    report = score_error(key_eval, sde, data_dist, score, n_per_time=n_per_time, n_nll=n_nll, n_samples=n_samples)
    eval_s = time.perf_counter() - start
    figure = RESULTS / f"learned_score_error_{name}.png"
    plot_score_error(report, figure, title=f"{name}: learned score vs exact ({steps} steps, {train_s:.0f} s)")
    out = report.to_dict()
    out.update(
        data=name,
        train_steps=steps,
        train_size=n_train,
        batch_size=batch_size,
        train_seconds=train_s,
        train_seconds_cap=max_train_s,
        within_time_cap=train_s <= max_train_s,
        eval_seconds=eval_s,
        final_loss_mean_last_1000=float(np.mean(result.losses[-1000:])),
        nll_target=NLL_TARGET,
        nll_gap_within_target=bool(abs(report.nll_gap) <= NLL_TARGET) if report.nll_gap is not None else None,
        ks_alpha=KS_ALPHA,
        ks_passes=None if report.ks_pvalue is None else bool(report.ks_pvalue > KS_ALPHA),
        figure=figure.name,
    )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--max-train-s", type=float, default=120.0)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not the reported numbers)")
    parser.add_argument("--out", default=str(RESULTS / "learned_score_error.json"))
    args = parser.parse_args()
    sizes = dict(n_nll=10_000, n_samples=10_000, n_per_time=4096)
    if args.quick:
        sizes = dict(n_nll=500, n_samples=1000, n_per_time=512)
        args.steps = min(args.steps, 2000)
    RESULTS.mkdir(parents=True, exist_ok=True)
    cases = {"documents_gmm_1d": sr.examples.documents_gmm_1d(), "gmm_2d": sr.examples.gmm_2d()}
    results = [
        run(
            name,
            dist,
            steps=args.steps,
            n_train=args.n_train,
            batch_size=args.batch_size,
            max_train_s=args.max_train_s,
            key=jax.random.fold_in(jax.random.key(15), i),
            **sizes,
        )
        for i, (name, dist) in enumerate(cases.items())
    ]
    record = {
        "benchmark": "learned score vs exact: e(t), g2-weighted integral, PF-ODE NLL gap, samples (issue 15)",
        "sde": "VPSDE(beta_min=0.1, beta_max=20)",
        "machine": {
            "cpu_count": os.cpu_count(),
            "devices": [str(d) for d in jax.devices()],
            "platform": platform.platform(),
        },
        "versions": {"jax": jax.__version__, "equinox": eqx.__version__, "python": platform.python_version()},
        "note": "training in float32, evaluation in float64; the machine may be shared (timings noisy)",
        "results": results,
    }
    pathlib.Path(args.out).write_text(json.dumps(record, indent=1), encoding="utf-8")
    for r in results:
        print(
            f"{r['data']}: train {r['train_seconds']:.0f} s ({r['train_steps']} steps); "
            f"1/2 int g2 e dt = {r['weighted_error']:.4g} +- {r['weighted_error_stderr']:.2g}; "
            f"KL prior {r['kl_prior']:.2e}; NLL model {r['nll_model']:.4f} exact {r['nll_exact']:.4f} "
            f"gap {r['nll_gap']:.4f} +- {r['nll_gap_stderr']:.4f}; KS p {r['ks_pvalue']}; "
            f"SW1 {r['sliced_w1']:.4f} (floor {r['sliced_w1_floor']:.4f}); modes {r['mode_weights']}"
        )


if __name__ == "__main__":
    main()
