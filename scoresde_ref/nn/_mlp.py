r"""An MLP score network for vector data: $[x, \gamma(u)] \mapsto$ out, $\gamma$ the Fourier embedding of the noise
level (derivations/nn.md §3). 000_cce368350850b628.txt §5.1 uses one hidden layer of 128 ReLU units for the 1-D
mixture and two for the "smile"; here width, depth and activation are arguments."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Key, ScalarLike, Vector
from ._embedding import GaussianFourierEmbedding


class MLPScoreNet(eqx.Module):
    r"""`(x (d,), u) -> (d,)`: `eqx.nn.MLP` on $[x, \gamma(u)]$ with `depth` hidden layers of `width` units.

    **Arguments:** `key`, `dim` $d$, `width` (128), `depth` (2), `activation` (`jax.nn.silu`), `n_features` (16) and
    `scale` (1.0) of the embedding, `dtype`. The output layer starts at zero weights when `zero_output` (so the
    initial $\hat\epsilon$ is the bias, 0): a common choice for residual/noise predictors."""

    embedding: GaussianFourierEmbedding
    mlp: eqx.nn.MLP

    def __init__(
        self,
        key: Key,
        dim: int,
        *,
        width: int = 128,
        depth: int = 2,
        activation: Callable = jax.nn.silu,
        n_features: int = 16,
        scale: float = 1.0,
        zero_output: bool = False,
        dtype=None,
    ):
        for name, value, low in (("dim", dim, 1), ("width", width, 1), ("depth", depth, 0)):
            if int(value) < low:
                raise ValueError(f"MLPScoreNet: {name} must be >= {low}; got {value}")
        dtype = dtype or jnp.result_type(float)
        key_e, key_m = jax.random.split(key)
        self.embedding = GaussianFourierEmbedding(key_e, n_features, scale, dtype)
        mlp = eqx.nn.MLP(
            int(dim) + 2 * int(n_features),
            int(dim),
            int(width),
            int(depth),
            activation=activation,
            key=key_m,
            dtype=dtype,
        )
        if zero_output:
            mlp = eqx.tree_at(lambda m: m.layers[-1].weight, mlp, jnp.zeros_like(mlp.layers[-1].weight))
        self.mlp = mlp

    def __call__(self, x: Vector, u: ScalarLike) -> Vector:
        return self.mlp(jnp.concatenate([x, self.embedding(u)]))
