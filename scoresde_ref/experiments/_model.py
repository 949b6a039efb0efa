r"""The score model and optimiser of the 2-D and user-data experiments (derivations/experiments.md §4).

`train_score`'s default MLP (2 × 128, SiLU, Fourier time features) in the $\epsilon$-parameterisation
($s = -\hat\epsilon/\sigma(t)$: the network's output stays $O(1)$ where the smile's eyes, of std 0.02, make the score
$O(1/0.02)$), trained by Adam with a cosine decay from `PEAK_LEARNING_RATE` to 1% of it over the size's steps. The
schedule is set by the size's steps, not by `--steps`, so that a resumed run continues the same run.
"""

import functools

import jax.numpy as jnp
import optax

from ..nn._model import mlp_score_model

PEAK_LEARNING_RATE = 2e-2


def eps_score_model(key, sde, dim: int):
    """`mlp_score_model(key, sde, dim, parameterisation="eps")` in float32."""
    return mlp_score_model(key, sde, dim, parameterisation="eps", dtype=jnp.float32)


@functools.lru_cache(maxsize=16)
def cosine_adam(steps: int, peak: float = PEAK_LEARNING_RATE) -> optax.GradientTransformation:
    """`optax.adam` with `cosine_decay_schedule(peak, steps, alpha=0.01)`, one object per `(steps, peak)` (the
    training step is compiled with the optimiser as a static argument: a new object would compile again)."""
    return optax.adam(optax.cosine_decay_schedule(peak, int(steps), alpha=0.01))
