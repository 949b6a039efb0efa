"""What the three digits experiments share: the run's keys and data (split, dequantised copies), the trained score
model, the held-out classifier and the formatting of the metrics table."""

import dataclasses

import jax
import numpy as np

from ._data import LEVELS, Split, dequantize_levels, load_digits_data, split_by_seed
from ._metrics import train_digit_classifier
from ._score import SIZES, DigitsSize, digits_sde, train_digits_score

SHAPE = (1, 8, 8)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A run's size, SDE, named keys, split, dequantised training copies `(copies·n, 64)` and one dequantised
    draw of the held-out images `(n_test, 64)` (model scale), from the seed alone."""

    size: DigitsSize
    sde: object
    keys: dict
    split: Split
    x_train: np.ndarray
    x_test: np.ndarray

    @property
    def k_train(self) -> np.ndarray:
        return self.split.train_images.reshape(len(self.split.train_images), -1)

    @property
    def k_test(self) -> np.ndarray:
        return self.split.test_images.reshape(len(self.split.test_images), -1)


KEY_NAMES = ("score", "sample", "likelihood", "classifier", "time_classifier", "conditional", "inpaint")


def prepare(config) -> Prepared:
    """The digits, split by `config.seed`, `size.copies` dequantised copies of the training part, one of the held-out
    part (NumPy `default_rng(seed)`), and one JAX key per use (`KEY_NAMES`) from `PRNGKey(seed)`."""
    size = SIZES[config.size]
    images, labels = load_digits_data()
    split = split_by_seed(images, labels, config.seed)
    rng = np.random.default_rng(config.seed)
    k_train = split.train_images.reshape(len(split.train_images), -1)
    x_train = np.concatenate([dequantize_levels(rng, k_train) for _ in range(size.copies)])
    x_test = dequantize_levels(rng, split.test_images.reshape(len(split.test_images), -1))
    keys = dict(zip(KEY_NAMES, jax.random.split(jax.random.PRNGKey(config.seed), len(KEY_NAMES)), strict=True))
    return Prepared(size, digits_sde(), keys, split, x_train, x_test)


def trained_score(config, prep: Prepared):
    """The score model trained (or resumed) on `prep.x_train`: a `TrainResult`."""
    return train_digits_score(config, prep.keys["score"], prep.sde, prep.x_train, prep.size, SHAPE)


def classifier_input(k: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """Grey levels `(n, ...)` to the classifier's input `(n, d)`: $2k/(L - 1) - 1 \\in [-1, 1]$, float32."""
    k = np.asarray(k, np.float64).reshape(len(k), -1)
    return (2 * k / (levels - 1) - 1).astype(np.float32)


def held_out_classifier(prep: Prepared):
    """The time-independent classifier trained on the real training split; also its held-out accuracy."""
    split = prep.split
    clf, losses = train_digit_classifier(
        prep.keys["classifier"], classifier_input(split.train_images), split.train_labels, 10,
        steps=prep.size.classifier_steps,
    )  # fmt: skip
    logits = jax.vmap(clf)(classifier_input(split.test_images))
    accuracy = float(np.mean(np.argmax(np.asarray(logits), axis=1) == split.test_labels))
    return clf, accuracy, losses


def fmt(value: float, se: float | None = None, digits: int = 3) -> str:
    """`value` (± `se`) with `digits` decimals."""
    return f"{value:.{digits}f}" if se is None else f"{value:.{digits}f} ± {se:.{digits}f}"


def mean_se(values) -> tuple[float, float]:
    """The mean and its standard error $s/\\sqrt n$."""
    values = np.asarray(values, np.float64)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
