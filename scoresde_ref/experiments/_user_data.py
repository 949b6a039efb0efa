r"""`--data FILE.npy`: a user's own array in place of the documents' data (derivations/experiments.md §6).

`load_user_array` refuses, in one line and before anything trains, a file that is not a finite floating-point
`.npy` array of rank 2 (vectors `(n, d)`) or 3–4 (images `(n, H, W)`, `(n, C, H, W)`). Vectors are trained on here
(`run_user_vectors`); images go to the digits experiments' `run_user_images(config)`.
"""

import pathlib

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
