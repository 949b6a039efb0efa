r"""`digits-inpaint`: the reference code's replacement method (`conditional/_inpainting.py: impute_sample`) on
held-out digits whose top half is known (000_cce368350850b628.txt §4; 004_77456edc02bb59d5.txt §1.4 "complétion
d'images masquées"; derivations/experiments_digits.md §5).

The completed half is scored against the truth by the root-mean-square error in grey levels, next to the
baselines' completions: the Gaussian mixture's conditional mean (the squared-error-optimal guess under that
model) and one conditional draw, the categorical mixture's conditional mean, the training mean. A draw has about
twice the posterior variance of the mean as its expected squared error, so draws are compared with draws and means
with means (the score model's mean is the average of its draws). The known half of every returned image is the
given one, bit for bit.
"""

import jax
import numpy as np

from ..._progress import ProgressBar
from ...conditional._inpainting import impute_sample
from .._figures import plot_training_curve
from ._common import fmt, prepare, trained_score
from ._data import DATA_RANGE, LEVELS, to_levels
from ._figures import image_grids
from ._score import as_float64, chunks, padded
from ._unconditional import fit_baselines


def known_top_half(shape=(8, 8)) -> np.ndarray:
    """The mask `(H·W,)`: True on the top half of the rows."""
    mask = np.zeros(shape, bool)
    mask[: shape[0] // 2] = True
    return mask.ravel()


def level_values(x, levels: int = LEVELS, data_range=DATA_RANGE) -> np.ndarray:
    r"""A continuous estimate in model scale to grey levels: $L(x - lo)/(hi - lo) - \tfrac12$ (the centre of the
    cube $[k, k + 1)$ is $k + \tfrac12$)."""
    lo, hi = data_range
    return levels * (np.asarray(x, np.float64) - lo) / (hi - lo) - 0.5


def rmse(estimate, truth) -> float:
    return float(np.sqrt(np.mean((np.asarray(estimate, np.float64) - truth) ** 2)))


def inpaint(prep, score, known, n: int, draws: int, key, *, progress: bool, chunk: int = 100):
    """`draws` replacement-method completions of the first `n` held-out images `(draws, n, 64)` in grey levels
    (quantised), with the sampler's own known values (before the known half is put back)."""
    score = as_float64(score)
    y = jax.numpy.asarray(np.tile(prep.x_test[:n], (draws, 1)), jax.numpy.float64)
    chunk = min(chunk, len(y))
    out = []
    with ProgressBar(len(y), "digits-inpaint: replacement sampling", enabled=progress, unit="images") as bar:
        for j, (lo, hi) in enumerate(chunks(len(y), chunk)):
            yb = padded(y, lo, hi, chunk)
            key_T, key_sde = jax.random.split(jax.random.fold_in(key, j))
            x_T = jax.random.normal(key_T, yb.shape, jax.numpy.float64)
            result = impute_sample(key_sde, prep.sde, score, x_T, yb, known, n_steps=prep.size.pc_steps, eps=1e-3)
            out.append(to_levels(np.asarray(result.x, np.float64)).reshape(len(yb), -1)[: hi - lo])
            bar.update(hi - lo)
    return np.concatenate(out).reshape(draws, n, -1)


def run_digits_inpaint(config):
    prep = prepare(config)
    size = prep.size
    result = trained_score(config, prep)
    known = known_top_half()
    n = min(size.n_inpaint, len(prep.k_test))
    truth = prep.k_test[:n]
    raw = inpaint(prep, result.score, known, n, size.inpaint_draws, prep.keys["inpaint"], progress=config.progress)
    completed = np.where(known, truth, raw)  # the known half as given
    if not np.array_equal(completed[:, :, known], np.broadcast_to(truth[:, known], completed[:, :, known].shape)):
        raise AssertionError("digits-inpaint: the known half changed")  # cannot happen: np.where above
    sampler_known_exact = float(np.mean(raw[:, :, known] == truth[:, known]))
    baselines = fit_baselines(prep, config.seed)
    gmm, cat = baselines["gaussian"][0], baselines["categorical"][0]
    rng = np.random.default_rng(config.seed + 2)
    x_known = prep.x_test[:n]
    unknown_truth = truth[:, ~known]
    errors = {
        "score model: one completion (draw)": rmse(completed[0][:, ~known], unknown_truth),
        f"score model: mean of {size.inpaint_draws} completions":
            rmse(completed.mean(axis=0)[:, ~known], unknown_truth),
        f"Gaussian mixture (K = {baselines['gaussian'][1]}): conditional draw":
            rmse(np.clip(np.floor(level_values(gmm.conditional_sample(rng, x_known, known)) + 0.5), 0, LEVELS - 1),
                 unknown_truth),
        f"Gaussian mixture (K = {baselines['gaussian'][1]}): conditional mean":
            rmse(level_values(gmm.conditional_mean(x_known, known)), unknown_truth),
        f"categorical mixture (K = {baselines['categorical'][1]}): conditional mean":
            rmse(cat.conditional_mean(truth, known), unknown_truth),
        "training mean image": rmse(np.broadcast_to(prep.k_train[:, ~known].mean(axis=0), unknown_truth.shape),
                                    unknown_truth),
    }  # fmt: skip
    table = [
        {"completion of the bottom half": name, "RMSE (grey levels)": fmt(e, digits=2)} for name, e in errors.items()
    ]
    masked = np.where(known, truth, np.nan)
    shown = min(n, 10)
    figures = {
        "inpainting": image_grids(
            {
                "masked (bottom half unknown)": np.nan_to_num(masked[:shown], nan=0.0).reshape(-1, 8, 8),
                "completed (score model)": completed[0, :shown].reshape(-1, 8, 8),
                "truth": truth[:shown].reshape(-1, 8, 8),
            },
            vmax=LEVELS - 1,
            title="digits-inpaint: the replacement method, top half known",
        ),
        "training_curve": plot_training_curve(result.losses, "digits: DSM loss (σ² weighting)"),
    }
    metrics = {
        "rmse_grey_levels": errors,
        "known_half_bit_exact": True,
        "sampler_known_half_equal_before_restoring": sampler_known_exact,
        "n_images": n,
        "draws": size.inpaint_draws,
        "pc_steps": size.pc_steps,
        "size": config.size,
    }
    summary = f"""Reruns the inpainting of 000_cce368350850b628.txt §4 / 004_77456edc02bb59d5.txt §1.4 ("complétion
d'images masquées") on {n} held-out digits with the top half (32 of 64 pixels) known: the reference code's
replacement method (reverse SDE, Euler–Maruyama, {size.pc_steps} steps; after every step the known pixels are
replaced by a fresh forward-noised copy of the given ones), {size.inpaint_draws} completions per image, on the score
model of `digits` (same size, seed and split).

RMSE of the completed (bottom) half against the truth, in grey levels (0…16). Draws are compared with draws,
means with means (a draw's expected squared error is the posterior variance plus the mean's). The returned images
carry the known half exactly as given (asserted bit for bit); before that restoration the sampler's own quantised
known pixels equal the given ones in {100 * sampler_known_exact:.1f}% of cases (its last update leaves
$m_\\epsilon y$, not $y$). `samples.npy`: the first completion of each image, `(n, 8, 8)`.
"""
    title = "digits-inpaint: the replacement method on held-out digits, half the pixels known"
    return title, summary, table, metrics, completed[0].reshape(n, 8, 8), figures
