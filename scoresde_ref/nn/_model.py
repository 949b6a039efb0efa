r"""A network wrapped with its SDE and parameterisation: a score function `(x, t) -> score` for one example, which
every sampler, likelihood and conditional function takes unchanged (derivations/nn.md §5).

$s_\theta(x, t) = $ `parameterisation.to_score(sde, network(x, u(t)), x, t)` with $u(t) = $ `noise_input(sde, t)`
($\log\sigma(t)$ for VE, $t$ otherwise) and the parameterisations of `scoresde_ref.losses` (score, $\epsilon$:
$s = -\hat\epsilon/s(t)$, $x_0$).
"""

from collections.abc import Callable

import equinox as eqx
import jax

from .._custom_types import Key, ScalarLike, Vector
from ..losses._parameterisation import AbstractParameterisation, as_parameterisation
from ..sde._base import AbstractAffineSDE
from ._embedding import noise_input
from ._mlp import MLPScoreNet
from ._unet import UNetScoreNet


class ScoreModel(eqx.Module):
    r"""$s_\theta(x, t) = $ `parameterisation.to_score(sde, network(x, noise_input(sde, t)), x, t)`.

    `network(x, u)` is any `eqx.Module` (`MLPScoreNet`, `UNetScoreNet`, or one's own); `parameterisation` an
    `AbstractParameterisation` or `"score"`, `"eps"`, `"x0"`."""

    network: eqx.Module
    sde: AbstractAffineSDE
    parameterisation: AbstractParameterisation

    def __init__(self, network, sde: AbstractAffineSDE, parameterisation: str | AbstractParameterisation = "eps"):
        self.network = network
        self.sde = sde
        self.parameterisation = as_parameterisation(parameterisation, "ScoreModel")

    def __call__(self, x: Vector, t: ScalarLike) -> Vector:
        return self.parameterisation.to_score(self.sde, self.network(x, noise_input(self.sde, t)), x, t)


def mlp_score_model(
    key: Key,
    sde: AbstractAffineSDE,
    dim: int,
    *,
    parameterisation: str | AbstractParameterisation = "score",
    width: int = 128,
    depth: int = 2,
    activation: Callable = jax.nn.silu,
    n_features: int = 16,
    scale: float = 1.0,
    dtype=None,
) -> ScoreModel:
    r"""`ScoreModel(MLPScoreNet(key, dim, ...), sde, parameterisation)`: the default model of `train_score`.

    The default parameterisation is the score itself: the $\epsilon$-parameterisation divides the output's error by
    $s(t)$, which the likelihood integrates down to $t = \epsilon$ (derivations/nn.md §2, measured there)."""
    network = MLPScoreNet(
        key, dim, width=width, depth=depth, activation=activation, n_features=n_features, scale=scale, dtype=dtype
    )
    return ScoreModel(network, sde, parameterisation)


def unet_score_model(
    key: Key,
    sde: AbstractAffineSDE,
    shape: tuple[int, int, int],
    *,
    parameterisation: str | AbstractParameterisation = "eps",
    channels: tuple[int, int] = (16, 32),
    n_features: int = 16,
    scale: float = 1.0,
    dtype=None,
) -> ScoreModel:
    """`ScoreModel(UNetScoreNet(key, shape, ...), sde, parameterisation)` for images of `shape = (C, H, W)`."""
    network = UNetScoreNet(key, shape, channels=channels, n_features=n_features, scale=scale, dtype=dtype)
    return ScoreModel(network, sde, parameterisation)
