r"""Gaussian random Fourier features of the noise level (Tancik et al. 2020; Song et al. 2021,
`GaussianFourierProjection`; 000_cce368350850b628.txt §5.3 "Gaussian Fourier projections").

$$\gamma(u) = [\sin(2\pi W u),\ \cos(2\pi W u)] \in \mathbb R^{2n},\qquad W_j \sim \mathcal N(0, \text{scale}^2),$$

$W$ drawn once and never trained (`jax.lax.stop_gradient`, and `trainable_filter` leaves it out of the optimiser).
The input $u$ is the time for VP, sub-VP and the other SDEs and $\log\sigma(t)$ for VE (`noise_input`), as in
Song et al.'s continuous models. Song et al. use $n = 256$ at scale 16, the common tutorial $n = 128$ at 30
(derivations/nn.md §1).
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Array, Key, Scalar, ScalarLike
from ..sde._base import AbstractSDE
from ..sde._ve import VESDE


class GaussianFourierEmbedding(eqx.Module):
    r"""$u \mapsto [\sin(2\pi W u), \cos(2\pi W u)]$, shape `(2 n_features,)`; $W \sim \mathcal N(0, \text{scale}^2)$
    fixed. **Arguments:** `key`, `n_features` $n \ge 1$, `scale` $> 0$, `dtype`."""

    W: Array

    def __init__(self, key: Key, n_features: int = 16, scale: float = 1.0, dtype=None):
        if int(n_features) < 1:
            raise ValueError(f"GaussianFourierEmbedding: n_features must be >= 1; got {n_features}")
        if not float(scale) > 0:
            raise ValueError(f"GaussianFourierEmbedding: scale must be > 0; got {scale}")
        dtype = dtype or jnp.result_type(float)
        self.W = scale * jax.random.normal(key, (int(n_features),), dtype=dtype)

    @property
    def n_features(self) -> int:
        return self.W.shape[0]

    def __call__(self, u: ScalarLike) -> Array:
        angle = 2 * jnp.pi * jax.lax.stop_gradient(self.W) * jnp.asarray(u, self.W.dtype)
        return jnp.concatenate([jnp.sin(angle), jnp.cos(angle)])


def noise_input(sde: AbstractSDE, t: ScalarLike) -> Scalar:
    r"""The network's noise-level input: $\log\sigma(t)$ for `VESDE` (Song et al.'s continuous VE models embed
    $\log\sigma$), $t$ for every other SDE."""
    if isinstance(sde, VESDE):
        return jnp.log(sde.sigma(t))
    return jnp.asarray(t)


def trainable_filter(model) -> object:
    r"""The `eqx.partition` filter of the trained leaves of `model`: every inexact array except the frequencies $W$ of
    each `GaussianFourierEmbedding` (fixed by construction) and the parameters of an SDE the model holds (a
    `ScoreModel` carries its SDE; its $\beta$ or $\sigma$ are not weights)."""

    def fixed(node) -> bool:
        return isinstance(node, GaussianFourierEmbedding | AbstractSDE)

    def spec(node):
        if isinstance(node, AbstractSDE):
            return jax.tree_util.tree_map(lambda _: False, node)
        if isinstance(node, GaussianFourierEmbedding):
            return eqx.tree_at(lambda e: e.W, node, False)
        return eqx.is_inexact_array(node)

    return jax.tree_util.tree_map(spec, model, is_leaf=fixed)
