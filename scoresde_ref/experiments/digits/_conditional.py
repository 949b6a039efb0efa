r"""`digits-conditional`: class-conditional digits by Bayes' rule for scores with a time-dependent classifier
(000_cce368350850b628.txt §4 and appendix F; 004_77456edc02bb59d5.txt §1.4; derivations/experiments_digits.md §4).

$\nabla_x\log p_t(x \mid y) = \nabla_x\log p_t(x) + \lambda\nabla_x\log p_t(y \mid x)$, with $\lambda = 1$ Bayes' rule
and $\lambda \ne 1$ guidance; the classifier $\hat p_t(y \mid x(t))$ is trained by the mixture of cross-entropies
over times of 000 §4 (`conditional/_classifier.py: train_classifier`). The samples come from the reverse SDE
(Euler–Maruyama, 000 §4's SDE) and are scored by the held-out, time-independent classifier: the per-class
accuracy is the fraction of the samples asked for class $c$ that it labels $c$; the unguided samples'
fraction labelled $c$ is what guidance must beat.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ..._progress import ProgressBar
from ...conditional._bayes import conditional_score
from ...conditional._classifier import ClassifierLogLikelihood, TimeClassifier, train_classifier
from ...samplers._pc import pc_sample
from .._figures import plot_training_curve
from ._common import classifier_input, fmt, held_out_classifier, prepare, trained_score
from ._data import LEVELS, to_levels
from ._figures import class_grid
from ._metrics import class_probabilities_and_features
from ._score import DTYPE, as_float64

N_CLASSES = 10


def train_time_classifier(prep):
    """$\\hat p_t(y \\mid x)$ on the dequantised training copies (labels repeated), 000 appendix F's MLP shape (two
    hidden layers; 256 units here) with Fourier features of $t$."""
    labels = np.tile(prep.split.train_labels, prep.size.copies)
    key_model, key_train = jax.random.split(prep.keys["time_classifier"])
    model = TimeClassifier(key_model, 64, N_CLASSES, width=256, depth=2, n_frequencies=16, dtype=DTYPE)
    return train_classifier(
        key_train, model, prep.sde, jnp.asarray(prep.x_train, DTYPE), jnp.asarray(labels),
        n_steps=prep.size.time_classifier_steps, batch_size=256, learning_rate=1e-3, eps=1e-3,
    )  # fmt: skip


def conditional_samples(prep, score, time_clf, scale: float, label: int, n: int, key):
    """`n` reverse-SDE samples (model scale, float64) for class `label` at guidance `scale` (0: unguided)."""
    if scale == 0:
        score_fn = score
    else:  # label and scale as arrays: traced, so one compilation serves every class and scale
        likelihood = ClassifierLogLikelihood(time_clf, jnp.asarray(label, jnp.int32))
        score_fn = conditional_score(score, likelihood, jnp.asarray(scale, jnp.float64))
    key_T, key_sde = jax.random.split(key)
    x_T = jax.random.normal(key_T, (n, 64), jnp.float64)
    result = pc_sample(key_sde, prep.sde, score_fn, x_T, n_steps=prep.size.pc_steps, eps=1e-3)
    return np.asarray(result.x, np.float64)


def run_digits_conditional(config):
    prep = prepare(config)
    size = prep.size
    result = trained_score(config, prep)
    score = as_float64(result.score)
    time_clf, time_losses = train_time_classifier(prep)
    time_clf = as_float64(time_clf)
    clf, accuracy, _ = held_out_classifier(prep)
    m = size.per_class
    keys = jax.random.split(prep.keys["conditional"], len(size.guidance_scales) * N_CLASSES + 1)
    unguided = to_levels(conditional_samples(prep, score, time_clf, 0.0, 0, N_CLASSES * m, keys[-1]))
    probs, _ = class_probabilities_and_features(clf, classifier_input(unguided))
    predicted = probs.argmax(axis=1)
    per_scale = {"unguided": [float(np.mean(predicted == c)) for c in range(N_CLASSES)]}
    images = {}
    guided = [s for s in size.guidance_scales if s != 0]
    with ProgressBar(len(guided) * N_CLASSES, "digits-conditional: sampling", enabled=config.progress,
                     unit="classes") as bar:  # fmt: skip
        for i, scale in enumerate(guided):
            batch, acc = [], []
            for c in range(N_CLASSES):
                x = conditional_samples(prep, score, time_clf, scale, c, m, keys[i * N_CLASSES + c])
                k = to_levels(x)
                p, _ = class_probabilities_and_features(clf, classifier_input(k))
                acc.append(float(np.mean(p.argmax(axis=1) == c)))
                batch.append(k)
                bar.update(1)
            per_scale[f"λ = {scale:g}"] = acc
            images[scale] = np.stack(batch)
    table = [
        {"guidance": name, **{str(c): fmt(a[c], digits=2) for c in range(N_CLASSES)}, "mean": fmt(np.mean(a))}
        for name, a in per_scale.items()
    ]
    metrics = {
        "per_class_accuracy": per_scale,
        "mean_accuracy": {name: float(np.mean(a)) for name, a in per_scale.items()},
        "unguided_class_histogram": np.bincount(predicted, minlength=N_CLASSES).tolist(),
        "classifier_held_out_accuracy": accuracy,
        "time_classifier_final_loss": float(np.mean(time_losses[-100:])),
        "samples_per_class": m,
        "guidance_scales": list(size.guidance_scales),
        "size": config.size,
    }
    shown = 1.0 if 1.0 in images else guided[0]
    n_show = min(m, 10)
    figures = {
        f"classes_scale_{s:g}".replace(".", "p"): class_grid(
            images[s][:, :n_show], vmax=LEVELS - 1, row_labels=range(N_CLASSES),
            title=f"digits-conditional: rows = classes asked for, guidance λ = {s:g}",
        )
        for s in images
    }  # fmt: skip
    figures["time_classifier_training_curve"] = plot_training_curve(
        time_losses, "time-dependent classifier: cross-entropy over t"
    )
    samples = np.concatenate([images[shown].reshape(-1, 8, 8)])
    summary = f"""Reruns 000_cce368350850b628.txt §4 and appendix F (class-conditional digits by Bayes' rule for scores,
with a time-dependent classifier $\\hat p_t(y \\mid x(t))$ trained by cross-entropies over times, as 004 §1.4
describes), on the score model of `digits` (same size, seed and split).

- Time-dependent classifier: MLP 2 × 256 on (pixels, Fourier features of t), {size.time_classifier_steps} Adam steps
  on the dequantised training copies, t ~ U(10⁻³, 1).
- Conditional score $s_\\theta(x, t) + \\lambda\\nabla_x\\log\\hat p_t(y \\mid x)$, λ = 1 Bayes' rule, other λ guidance;
  {m} samples per class and scale from the reverse SDE (Euler–Maruyama, {size.pc_steps} steps, ε = 10⁻³).
- Per-class accuracy: the fraction labelled as asked by the held-out time-independent classifier (trained on
  the real training split; held-out accuracy {accuracy:.3f}). "unguided": the fraction of {N_CLASSES * m}
  unguided samples labelled $c$ (what an ignored label would give, ≈ 0.1).

`samples.npy` holds the λ = {shown:g} samples, class by class ({m} each).
"""
    title = "digits-conditional: Bayes' rule for scores with a time-dependent classifier (000 §4, App. F)"
    return title, summary, table, metrics, samples, figures
