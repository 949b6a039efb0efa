r"""The 8 × 8 digits (scikit-learn's bundled `load_digits`: 1,797 images, 17 grey levels $0 \dots 16$), a fixed
train / held-out split by seed, and the affine map between grey levels and the model's scale
(derivations/experiments_digits.md §1).

Levels $k \in \{0, \dots, L-1\}^d$ ($L = 17$, $d = 64$) are dequantised, $y = k + u$, $u \sim U[0, 1)^d$, and scaled
into $(lo, hi) = (-1, 1)$: $x = lo + (hi - lo)\,y / L$. A density $p$ of $x$ is a density of $y$ times
$((hi - lo)/L)^d$, and by Jensen $\log P(k) \ge E_u \log p_y(k + u)$, so

$$\text{bpd} = -\frac{\log p(x)}{d \ln 2} + \log_2 L - \log_2(hi - lo),$$

the offset $\log_2(17/2) = 3.087$ bits for the digits (`levels_offset`; for $L = 2^b$ it is
`likelihood/_bits_per_dim.py: dequantization_offset`).
"""

import dataclasses

import numpy as np

from ..._validation import check_integer

OWNER = "digits"
LEVELS = 17
"""Grey levels of `load_digits` (0, 1, ..., 16)."""
SHAPE = (8, 8)
DATA_RANGE = (-1.0, 1.0)
"""The model's scale: $x = lo + (hi - lo)(k + u)/L$."""
HELD_OUT = 0.2
"""The fraction of the images held out (360 of 1,797)."""


def load_digits_data() -> tuple[np.ndarray, np.ndarray]:
    """`(images (1797, 8, 8) float64 in 0..16, labels (1797,) int64)` from scikit-learn's bundled copy (offline)."""
    try:
        from sklearn.datasets import load_digits
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"{OWNER}: the digits need scikit-learn (only for its bundled data): "
            'pip install "scoresde-ref[experiments]"'
        ) from error
    bunch = load_digits()
    return np.asarray(bunch.images, np.float64), np.asarray(bunch.target, np.int64)


@dataclasses.dataclass(frozen=True)
class Split:
    """Images `(n, 8, 8)` in grey levels and labels `(n,)`, for the training and the held-out part."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def split_by_seed(images: np.ndarray, labels: np.ndarray, seed: int, held_out: float = HELD_OUT) -> Split:
    """A fixed split: `np.random.default_rng(seed).permutation`, the first `round(held_out · n)` held out."""
    seed = check_integer(seed, "seed", "split_by_seed", minimum=0)
    n = images.shape[0]
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(held_out * n))
    test, train = order[:n_test], order[n_test:]
    return Split(images[train], labels[train], images[test], labels[test])


def levels_offset(levels: int, data_range: tuple[float, float] = DATA_RANGE) -> float:
    r"""$\log_2 L - \log_2(hi - lo)$ bits: what turns $-\log p(x)/(d\ln 2)$ into bits per dimension of $L$-level data
    dequantised and scaled into `data_range` (module docstring)."""
    levels = check_integer(levels, "levels", "levels_offset", minimum=2)
    lo, hi = (float(v) for v in data_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(
            f"levels_offset: data_range must be finite (lo, hi) with hi > lo; got data_range = {data_range}"
        )
    return float(np.log2(levels) - np.log2(hi - lo))


def dequantize_levels(
    rng: np.random.Generator, k: np.ndarray, levels: int = LEVELS, data_range=DATA_RANGE
) -> np.ndarray:
    r"""$x = lo + (hi - lo)(k + u)/L$, $u \sim U[0, 1)$, flat `(n, d)` float64; `k` integer-valued in $[0, L)$."""
    k = np.asarray(k, np.float64).reshape(len(k), -1)
    if not (np.all(k == np.round(k)) and k.min() >= 0 and k.max() < levels):
        raise ValueError(
            f"dequantize_levels: k must be integers in [0, {levels}); got values in [{k.min()}, {k.max()}]"
        )
    lo, hi = data_range
    return lo + (hi - lo) * (k + rng.uniform(size=k.shape)) / levels


def to_levels(x: np.ndarray, levels: int = LEVELS, data_range=DATA_RANGE, shape=SHAPE) -> np.ndarray:
    r"""The grey level of the cube a point falls in: $k = \lfloor L (x - lo)/(hi - lo) \rfloor$ clipped to
    $[0, L - 1]$, as float64 `(n, *shape)` (the dequantisation's inverse; a sample outside the data's cube is put
    on its nearest face)."""
    lo, hi = data_range
    k = np.floor(levels * (np.asarray(x, np.float64) - lo) / (hi - lo))
    return np.clip(k, 0, levels - 1).reshape((len(k), *shape))
