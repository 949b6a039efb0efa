r"""The result of `train_score`, and the error raised when the loss stops being finite."""

import equinox as eqx
import numpy as np

from .._custom_types import ScoreFn


class TrainResult(eqx.Module):
    r"""A trained score model and its history (derivations/training.md).

    - `model`: the raw weights after the last step, a score function `(x, t) -> score` (also `.raw_score`);
    - `ema_model`: the exponential moving average $\bar\theta_k = \rho\bar\theta_{k-1} + (1-\rho)\theta_k$ of the
      weights, the same kind of score function (also `.score`, the one to sample with);
    - `losses`: the minibatch loss of each step taken, `(steps,)` (also `.history`);
    - `opt_state`: the optimiser's state, `step`: the number of steps taken, `config`: the JSON-able configuration
      (what `save_checkpoint` writes beside the weights).
    """

    model: eqx.Module
    ema_model: eqx.Module
    losses: np.ndarray
    opt_state: object
    step: int
    config: dict

    @property
    def score(self) -> ScoreFn:
        """The EMA model: $(x, t) \\mapsto s_{\\bar\\theta}(x, t)$."""
        return self.ema_model

    @property
    def raw_score(self) -> ScoreFn:
        """The raw model: $(x, t) \\mapsto s_{\\theta}(x, t)$ with the last step's weights."""
        return self.model

    @property
    def history(self) -> np.ndarray:
        """The loss of each step, `(step,)`."""
        return self.losses


class TrainingDiverged(FloatingPointError):
    """A step gave a non-finite loss or gradient: `step` is its index (0-based), `result` the `TrainResult` with
    the weights, EMA and optimiser state of the last finite step (its `losses` end before `step`)."""

    def __init__(self, message: str, step: int, result: TrainResult):
        super().__init__(message)
        self.step = step
        self.result = result
