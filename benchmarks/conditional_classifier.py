"""The time-dependent classifier of 000 §4 / appendix F against the exact class posterior, and
classifier guidance. Writes JSON.

    python benchmarks/conditional_classifier.py [--quick] [--out benchmarks/results/conditional_classifier.json]

For each labelled mixture (the documents' ½N(−3, ¼) + ½N(3, 1) of 000 §5.1, and the 2-D `gmm_2d()`),
under VP (0.1, 20), with the keys and settings of tests/test_classifier.py:

- training: 5,000 labelled points, `TimeClassifier` (2 × 64 SiLU, 8 Fourier time features), 2,000 Adam
  steps of 256 at lr 3e-3, t ~ U(1e-3, 1); wall time with compilation, and a second run (compiled);
- `vs_bayes`: at 21 times in [1e-3, 1], 4,000 points of p_t each: argmax agreement with the exact
  p_t(y | x), mean total variation ½Σ|p̂ − p|, and the exact classifier's own accuracy;
- `guided`: for each class y, 2,000 reverse-SDE samples (Euler–Maruyama, N = 500, from the prior) with
  the exact unconditional score plus λ∇log p̂_t(y | x) for λ = 0 (unguided), 1 (Bayes) and 3; the fraction
  whose Bayes label argmax p_eps(y | x) is y, the same for the exact class posterior as guide, and for the
  1-D case the KS distance to the exact class-conditional p_eps(x | y).
"""

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats
from bench_samplers import environment, write_result

jax.config.update("jax_enable_x64", True)

import scoresde_ref as sr  # noqa: E402
from scoresde_ref.examples import documents_gmm_1d, gmm_2d  # noqa: E402

SDE = sr.VPSDE()
EPS = 1e-3


def train(data, n_steps):
    x0, y0 = eqx.filter_jit(data.sample)(jax.random.key(0), 5000)
    model = sr.TimeClassifier(jax.random.key(1), data.mixture.dim, data.n_classes)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        trained, losses = sr.train_classifier(jax.random.key(2), model, SDE, x0, y0, n_steps=n_steps, batch_size=256)
        jax.block_until_ready(losses)
        times.append(time.perf_counter() - start)
    return trained, losses, times


@eqx.filter_jit
def guided_run(data, log_likelihood, scale, key, n, n_steps):
    score = sr.conditional_score(lambda x, t: sr.marginal(SDE, data.mixture, t).score(x), log_likelihood, scale)
    x_T = SDE.prior_sample(jax.random.fold_in(key, 0), (n, data.mixture.dim))
    xs, _ = sr.pc_sample(jax.random.fold_in(key, 1), SDE, score, x_T, n_steps=n_steps, eps=EPS)
    labels = jnp.argmax(jax.vmap(sr.class_log_posterior, (None, None, 0, None))(SDE, data, xs, EPS), -1)
    return xs, labels


def ks_to_class(data, y, xs):
    cond = sr.marginal(SDE, data.conditional(y), EPS)
    w, mu, sd = (np.asarray(v) for v in (cond.weights, cond.means[:, 0], jnp.sqrt(cond.covs[:, 0, 0])))
    cdf = lambda x: sum(w[k] * scipy.stats.norm.cdf(x, mu[k], sd[k]) for k in range(len(w)))  # noqa: E731
    return float(scipy.stats.kstest(np.asarray(xs[:, 0]), cdf).statistic)


def run(name, data, quick):
    n_steps, n_sample, n_grid = (500, 500, 6) if quick else (2000, 2000, 21)
    model, losses, train_times = train(data, n_steps)
    times = jnp.concatenate([jnp.array([1e-3]), jnp.linspace(0.05, 1.0, n_grid - 1)])
    vs_bayes = sr.classifier_vs_bayes(model, SDE, data, jax.random.key(3), times, 4000)
    guided = {}
    for y in range(data.n_classes):
        row = {}
        for label, guide, scale in [
            ("unguided", sr.classifier_log_likelihood(model, y), 0.0),
            ("classifier", sr.classifier_log_likelihood(model, y), 1.0),
            ("classifier_scale_3", sr.classifier_log_likelihood(model, y), 3.0),
            ("exact_posterior", sr.class_log_likelihood(SDE, data, y), 1.0),
        ]:
            start = time.perf_counter()
            xs, labels = guided_run(data, guide, jnp.asarray(scale), jax.random.key(10 + y), n_sample, 500)
            seconds = time.perf_counter() - start
            entry = {"class_accuracy": float(jnp.mean(labels == y)), "seconds_with_compile": seconds}
            if data.mixture.dim == 1:
                entry["ks_distance_to_class_conditional"] = ks_to_class(data, y, xs)
            row[label] = entry
        guided[f"y={y}"] = row
    return {
        "data": name,
        "training": {
            "n_points": 5000,
            "n_steps": n_steps,
            "batch_size": 256,
            "seconds_first_call_with_compile": train_times[0],
            "seconds_second_call": train_times[1],
            "loss_first": float(losses[0]),
            "loss_last_200_mean": float(losses[-200:].mean()),
        },
        "vs_bayes": {"t": np.asarray(times).tolist(), **{k: np.asarray(v).tolist() for k, v in vs_bayes.items()}},
        "max_tv": float(jnp.max(vs_bayes["tv"])),
        "guided": guided,
        "guided_samples": n_sample,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and samples (a smoke run)")
    parser.add_argument("--out", default="benchmarks/results/conditional_classifier.json")
    args = parser.parse_args()
    datasets = {"documents_gmm_1d": sr.LabelledMixture(documents_gmm_1d()), "gmm_2d": sr.LabelledMixture(gmm_2d())}
    result = {
        "command": "python benchmarks/conditional_classifier.py" + (" --quick" if args.quick else ""),
        "sde": "VPSDE(0.1, 20)",
        "eps": EPS,
        "results": [run(name, data, args.quick) for name, data in datasets.items()],
        **environment(),
    }
    write_result(result, args.out)


if __name__ == "__main__":
    main()
