r"""`--data FILE.npy`: a user's own array in place of the documents' data (derivations/experiments.md §6).

`load_user_array` refuses, in one line and before anything trains, a file that is not a finite floating-point
`.npy` array of rank 2 (vectors `(n, d)`) or 3–4 (images `(n, H, W)`, `(n, C, H, W)`). Vectors are trained on here
(`run_user_vectors`); images go to the digits experiments' `run_user_images(config)`.
"""

import pathlib
from typing import NamedTuple

import numpy as np

from ._base import ExperimentUsageError

OWNER = "experiment --data"
MIN_POINTS = 20
"""At least this many rows: a held-out split of a fifth must hold a few points to compare with."""

IMAGE_RANKS = (3, 4)


def load_user_array(path) -> np.ndarray:
    """The array in `path`, checked: a `.npy` file (no pickle) holding a finite floating-point array of rank 2, 3
    or 4 with at least `MIN_POINTS` rows and no empty axis. Raises `ExperimentUsageError` naming what is wrong."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ExperimentUsageError(f"{OWNER}: FILE must be an existing .npy file; got FILE = {str(path)!r}")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ExperimentUsageError(f"{OWNER}: FILE must be a .npy array; got {str(path)!r} ({reason})") from None
    if not isinstance(array, np.ndarray):
        raise ExperimentUsageError(
            f"{OWNER}: FILE must hold one array (.npy), not an archive (.npz); got {type(array).__name__}"
        )
    if not np.issubdtype(array.dtype, np.floating) or array.dtype == np.float16:
        raise ExperimentUsageError(
            f"{OWNER}: the array must be float32 or float64 (convert with .astype(float)); got dtype {array.dtype}"
        )
    if array.ndim not in (2, *IMAGE_RANKS):
        raise ExperimentUsageError(
            f"{OWNER}: the array must have rank 2 (n, d) or 3-4 (n, H, W) / (n, C, H, W); got shape {array.shape}"
        )
    if array.shape[0] < MIN_POINTS or 0 in array.shape:
        raise ExperimentUsageError(
            f"{OWNER}: the array must have at least {MIN_POINTS} rows and no empty axis; got shape {array.shape}"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ExperimentUsageError(
            f"{OWNER}: the array must be finite; got {int(bad.sum())} NaN/inf entries (first in row {row})"
        )
    return array


def is_image_array(array: np.ndarray) -> bool:
    """Images `(n, H, W)` or `(n, C, H, W)` (rank 3 or 4), routed to the digits experiments."""
    return np.ndim(array) in IMAGE_RANKS


def image_runner():
    """The digits experiments' `run_user_images(config)`; `ExperimentUsageError` if it does not exist yet."""
    try:
        from . import digits
    except ModuleNotFoundError as error:
        if error.name is None or not f"{__package__}.digits".startswith(error.name):
            raise
        digits = None
    runner = getattr(digits, "run_user_images", None)
    if runner is None:
        raise ExperimentUsageError(
            f"{OWNER}: image arrays go to the digits experiments, whose run_user_images is not available yet "
            "(scoresde_ref.experiments.digits); pass vectors (n, d) instead"
        )
    return runner


class UserSize(NamedTuple):
    """Training steps and batch, EM's NFE, noise-floor repeats for a user's vectors."""

    steps: int
    batch_size: int
    nfe: int
    floor_repeats: int


USER_SIZES = {
    "quick": UserSize(steps=2000, batch_size=256, nfe=100, floor_repeats=10),
    "default": UserSize(steps=20000, batch_size=256, nfe=200, floor_repeats=10),
    "large": UserSize(steps=200000, batch_size=1024, nfe=1000, floor_repeats=10),
}
TEST_FRACTION = 5  # one row in five is held out


def run_user_data(config, *, stands_in_for: str):
    """`--data`: images to the digits experiments' `run_user_images(config)`, vectors to `run_user_vectors`."""
    array = load_user_array(config.data)
    if is_image_array(array):
        return image_runner()(config)
    return run_user_vectors(config, array, stands_in_for=stands_in_for)


def standardise(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(mean, scale)` per coordinate of the training split, scale 1 where a coordinate is constant: the model sees
    $(x - \\text{mean})/\\text{scale}$, unit scale as the VP prior, and samples map back by the inverse."""
    mean, scale = train.mean(axis=0), train.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


def run_user_vectors(config, array: np.ndarray, *, stands_in_for: str):
    """Train on a user's vectors `(n, d)` (a fifth held out), sample with the PF ODE (RK45) and EM, and compare the
    samples, in the data's scale, with the held-out rows by sliced W₁ and MMD² beside their noise floor (the same
    statistic for training rows drawn without replacement against the held-out rows)."""
    import jax
    import jax.numpy as jnp

    from ..sde._vp import VPSDE
    from ._base import EMA_RATES, ExperimentOutput, Stopwatch, train_or_resume
    from ._figures import plot_training_curve, plot_trajectories
    from ._model import cosine_adam, eps_score_model
    from ._report import markdown_table
    from ._samplers import RK45, SAMPLERS, as_float64, run_samplers, trajectories
    from ._two_sample_extra import two_sample_metrics

    size = USER_SIZES[config.size]
    n, d = array.shape
    sde = VPSDE(beta_min=0.1, beta_max=20.0)
    keys = jax.random.split(jax.random.key(config.seed), 6)
    order = np.asarray(jax.random.permutation(keys[0], n))
    n_test = n // TEST_FRACTION
    test, train = array[order[:n_test]].astype(np.float64), array[order[n_test:]].astype(np.float64)
    mean, scale = standardise(train)
    watch = Stopwatch()
    with watch("train"):
        model = eps_score_model(keys[1], sde, d)
        result = train_or_resume(
            config, keys[2], sde, jnp.asarray(((train - mean) / scale).astype(np.float32)), model=model,
            steps=size.steps, batch_size=size.batch_size, ema_rate=EMA_RATES[config.size],
            optimiser=cosine_adam(size.steps),
        )  # fmt: skip
    learned = as_float64(result.score)
    with watch("samplers"):
        x_T = sde.prior_sample(keys[3], (n_test, d), dtype=jnp.float64)
        runs = run_samplers(keys[4], sde, learned, x_T, nfe=size.nfe, names=("ode_rk45", "em"), n_path=8)
    samples = {s: r.x * scale + mean for s, r in runs.items()}

    def draw_pair(key):
        rows = np.asarray(jax.random.choice(key, train.shape[0], (n_test,), replace=False))
        return train[rows], test

    with watch("two-sample metrics"):
        two_sample = two_sample_metrics(keys[5], samples, test, draw_pair, size.floor_repeats)
    paths = trajectories(sde, learned, x_T, runs["em"], n_path=8, **RK45)
    paths = paths._replace(em_path=paths.em_path * scale + mean, ode_path=paths.ode_path * scale + mean)
    floor = two_sample["floor"]
    table = [
        {
            "metric": f"{SAMPLERS[s]} [{runs[s].nfe} NFE]: {stat} to the held-out rows",
            "model": f"{two_sample[s][stat]:.4g}",
            "floor (training rows vs held-out)": f"{floor[stat]['mean']:.3g} ± {floor[stat]['std']:.2g}",
            "document": stands_in_for,
        }
        for s in runs
        for stat in ("sliced_w1", "mmd2")
    ]
    metrics = {
        "data": {"file": str(config.data), "shape": [n, d], "n_train": int(train.shape[0]), "n_test": n_test},
        "standardisation": {"mean": mean, "scale": scale},
        "train_steps": int(result.step),
        "samplers": {s: {"nfe": r.nfe} for s, r in runs.items()},
        "two_sample": two_sample,
        "stands_in_for": stands_in_for,
    }
    summary = (
        f"Trains on the user's array `{config.data}` ({n} vectors of dimension {d}) in place of the data of "
        f"**{stands_in_for}**: {n - n_test} rows for training and {n_test} held out (a random fifth). Each coordinate "
        "is standardised with the training rows' mean and standard deviation (unit scale, as the VP prior; a constant "
        "coordinate keeps scale 1) and the samples are mapped back, so every number is in the data's own scale. "
        "The samples (as many as held-out rows; PF ODE by RK45 at rtol = atol = 1e-5, and Euler–Maruyama) are "
        "compared with the held-out rows by sliced W₁ and MMD²_u, beside the noise floor: the same statistic for "
        "training rows, which are draws of the same law, against the held-out rows.\n\n"
        + markdown_table(
            [
                {
                    "training rows": str(n - n_test),
                    "held out": str(n_test),
                    "model": "MLP, ε-parameterised",
                    "steps": str(int(result.step)),
                }
            ]
        )  # fmt: skip
    )
    return ExperimentOutput(
        title=f"{config.name} --data: a user's vectors in place of {stands_in_for}",
        summary=summary,
        table=table,
        metrics=metrics,
        samples=samples["ode_rk45"],
        figures={
            "trajectories": plot_trajectories(
                paths, "the user's data: particles of the reverse SDE and PF ODE", "probability-flow ODE (RK45)"
            ),
            "training": plot_training_curve(result.losses, "DSM loss per step"),
        },
        timing=watch.times,
    )
