r"""`digits`: 000 §5.3's experiment (a score model on scikit-learn's 8 × 8 digits, sampled through the PF ODE),
measured: held-out bits/dim next to two baselines fitted in the same run on the same split, and 004 §2.2's
metrics with a classifier trained on the real training split (derivations/experiments_digits.md)."""

import numpy as np

from .._figures import plot_training_curve
from ._baselines import fit_categorical_mixture, fit_gaussian_mixture
from ._common import classifier_input, fmt, held_out_classifier, mean_se, prepare, trained_score
from ._data import LEVELS, levels_offset, to_levels
from ._figures import image_grids
from ._metrics import class_probabilities_and_features, frechet_distance, inception_score
from ._score import held_out_bits_per_dim, sample_flow

VALIDATION = 0.2
"""The fraction of the training split the baselines choose their number of components on."""


def _select(fit, score, candidates, train, seed):
    """Fit each candidate on the first 80% of `train`, score (bits/dim) the last 20%, refit the best on all of it."""
    n_fit = int(round((1 - VALIDATION) * len(train)))
    scores = {int(c): float(np.mean(score(fit(train[:n_fit], c, seed), train[n_fit:]))) for c in candidates}
    best = min(scores, key=scores.get)
    return fit(train, best, seed), best, scores


def fit_baselines(prep, seed: int):
    """The two baselines on the training split: the Gaussian mixture on its first dequantised copy, the categorical
    mixture on its grey levels, each with its number of components chosen on a validation part."""
    size, offset, d = prep.size, levels_offset(LEVELS), prep.x_test.shape[1]
    gaussian_train = prep.x_train[: len(prep.k_train)]

    def fit_gaussian(x, c, s):
        return fit_gaussian_mixture(x, c, seed=s, n_iter=size.em_iterations)

    def gaussian_bpd(model, x):
        return -model.log_prob(x) / (d * np.log(2.0)) + offset

    def fit_categorical(k, c, s):
        return fit_categorical_mixture(k, c, LEVELS, seed=s, n_iter=size.em_iterations)

    def categorical_bpd(model, k):
        return -model.log_prob(k) / (d * np.log(2.0))

    gmm, gmm_k, gmm_val = _select(fit_gaussian, gaussian_bpd, size.gaussian_components, gaussian_train, seed)
    cat, cat_k, cat_val = _select(fit_categorical, categorical_bpd, size.categorical_components, prep.k_train, seed)
    single = fit_gaussian(gaussian_train, 1, seed)  # the score model's starting point (`GaussianResidualScore`)
    return {
        "single_gaussian": (single, 1, {}, gaussian_bpd(single, prep.x_test)),
        "gaussian": (gmm, gmm_k, gmm_val, gaussian_bpd(gmm, prep.x_test)),
        "categorical": (cat, cat_k, cat_val, categorical_bpd(cat, prep.k_test)),
    }


def sample_metrics(clf, sets: dict, reference: np.ndarray) -> dict:
    """For each set of grey-level images: IS, Fréchet distance to the `reference` set's features (the training
    split), the mean top-class probability, the class histogram."""
    _, ref_features = class_probabilities_and_features(clf, classifier_input(reference))
    out = {}
    for name, images in sets.items():
        probs, features = class_probabilities_and_features(clf, classifier_input(images))
        out[name] = {
            "inception_score": inception_score(probs),
            "frechet_distance": frechet_distance(features, ref_features),
            "confidence": float(np.mean(probs.max(axis=1))),
            "class_histogram": np.bincount(probs.argmax(axis=1), minlength=10).tolist(),
            "n": len(images),
        }
    return out


def run_digits(config):
    prep = prepare(config)
    size, sde = prep.size, prep.sde
    baselines = fit_baselines(prep, config.seed)
    result = trained_score(config, prep)
    n = min(size.n_samples, len(prep.k_test))
    x, nfe = sample_flow(prep.keys["sample"], sde, result.score, n, 64, size, progress=config.progress)
    generated = to_levels(x)
    n_bpd = min(size.n_bpd, len(prep.x_test))
    bpd = held_out_bits_per_dim(
        prep.keys["likelihood"], sde, result.score, prep.x_test[:n_bpd], size, progress=config.progress
    )
    clf, accuracy, clf_losses = held_out_classifier(prep)
    rng = np.random.default_rng(config.seed + 1)
    single, gmm, cat = (baselines[name][0] for name in ("single_gaussian", "gaussian", "categorical"))
    sets = {
        "score model (PF ODE)": generated,
        "held-out real digits": prep.split.test_images[:n],
        "single Gaussian (the score model's start)": to_levels(single.sample(rng, n)),
        f"Gaussian mixture (K = {baselines['gaussian'][1]})": to_levels(gmm.sample(rng, n)),
        f"categorical mixture (K = {baselines['categorical'][1]})": cat.sample(rng, n).reshape(n, 8, 8),
    }
    samples = sample_metrics(clf, sets, prep.split.train_images)

    uniform = float(np.log2(LEVELS))
    bpd_rows = {"score model (PF ODE)": bpd}
    labels = {"single_gaussian": "single Gaussian (the score model's start)", "gaussian": "Gaussian mixture",
              "categorical": "categorical mixture"}  # fmt: skip
    for name, (_, k, _, values) in baselines.items():
        bpd_rows[labels[name] + ("" if name == "single_gaussian" else f" (K = {k})")] = values
    differences = {
        name: mean_se(bpd - values[:n_bpd]) for name, values in bpd_rows.items() if name != "score model (PF ODE)"
    }
    table = [
        {
            "model": name,
            "held-out bits/dim": fmt(*mean_se(values)),
            "median": fmt(float(np.median(values))),
            "score model − this (paired)": fmt(*differences[name]) if name in differences else "",
        }
        for name, values in bpd_rows.items()
    ]
    table.append({"model": "uniform over 17 levels", "held-out bits/dim": fmt(uniform)})
    for name, m in samples.items():
        table.append({
            "model": f"samples: {name}", "IS": fmt(m["inception_score"], digits=2),
            "FD to training features": fmt(m["frechet_distance"], digits=2), "confidence": fmt(m["confidence"]),
        })  # fmt: skip
    metrics = {
        "bits_per_dim": {
            name: {"mean": mean_se(v)[0], "se": mean_se(v)[1], "median": float(np.median(v)), "n": len(v)}
            for name, v in bpd_rows.items()
        },
        "score_bits_per_dim_per_example": bpd,
        "bits_per_dim_score_minus_baseline": {k: {"mean": m, "se": s} for k, (m, s) in differences.items()},
        "uniform_bits_per_dim": uniform,
        "dequantization_offset_bits": levels_offset(LEVELS),
        "baseline_selection": {
            name: {"chosen": k, "validation_bits_per_dim": val}
            for name, (_, k, val, _) in baselines.items()
            if name != "single_gaussian"
        },
        "samples": samples,
        "classifier_held_out_accuracy": accuracy,
        "sampling_nfe": nfe,
        "training": {"steps": int(result.step), "final_loss": float(np.mean(result.losses[-100:]))},
        "size": config.size,
    }
    figures = {
        "samples": image_grids({"generated (PF ODE)": generated[:50]}, vmax=LEVELS - 1),
        "real_vs_generated": image_grids(
            {"real (held out)": prep.split.test_images[:30], "generated": generated[:30]}, vmax=LEVELS - 1
        ),
        "training_curve": plot_training_curve(result.losses, "digits: DSM loss (σ² weighting)"),
        "classifier_training_curve": plot_training_curve(clf_losses, "held-out classifier: cross-entropy"),
    }
    summary = _summary(config, size, accuracy, len(prep.k_train), len(prep.k_test), n_bpd, n)
    title = "digits: a score model on scikit-learn's 8 × 8 digits (000 §5.3), with 004's metrics"
    return title, summary, table, metrics, generated, figures


def _summary(config, size, accuracy, n_train, n_test, n_bpd, n) -> str:
    net = f"MLP {size.depth} × {size.width}" if size.network == "mlp" else f"U-Net channels {size.channels}"
    return f"""Reruns 000_cce368350850b628.txt §5.3 (a score model on scikit-learn's `load_digits`, 17 grey levels
0…16, sampled with the probability-flow ODE) and carries 004_77456edc02bb59d5.txt §2.2's metrics over to it.

- Data: {n_train} training / {n_test} held-out images (split fixed by the seed), dequantised $k + u$ and scaled to
  $[-1, 1]$; {size.copies} dequantised copies of the training split.
- Score model: VP SDE (β 0.1…20), {net}, score-parameterised, DSM with σ² weighting, {size.steps} Adam steps
  (batch {size.batch_size}, lr {size.learning_rate}), EMA 0.999.
- Bits/dim of {n_bpd} held-out images through the PF ODE from ε = {size.likelihood_eps} (Hutchinson,
  {size.n_probes} Rademacher probe(s)), plus the offset log₂(17/2) = {levels_offset(LEVELS):.4f} derived for 17
  levels in [−1, 1] (derivations/experiments_digits.md §1). Baselines fitted by EM in this run on the same
  training split, their size chosen on a validation fifth of it: a full-covariance Gaussian mixture (same
  dequantised footing) and a mixture of independent categoricals (a pmf; its bits/dim are exactly the
  dequantised ones). The uniform law on 17 levels is log₂ 17 = 4.087.
- Samples: {n} from the PF ODE (tsit5, rtol = atol = {size.ode_tol}), quantised back to grey levels. IS and the
  Fréchet distance (to the training split's features) use a classifier trained here on the real training
  split (held-out accuracy {accuracy:.3f}) instead of Inception; the held-out real digits are the ceiling.
"""
