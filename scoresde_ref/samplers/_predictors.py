r"""Predictors: one reverse-time step of the sampler, from $t$ to $t - h$ (000_cce368350850b628.txt §3.1;
002_686d39656702d14a.txt "How to solve the reverse SDE", "Predictor-Corrector sampling methods").

A predictor is a small `eqx.Module` (diffrax's pattern for solvers) carrying its own properties:
`weak_order` (the order the tests measure) and `uses_discretization` (whether it needs
`discretize(sde, N)`). For one example `x`, `mean_and_std(sde, score_fn, x, t, h, i, disc)` gives
`(x_mean, noise_std)`, and `step(..., z)` the update $x \leftarrow x_{\text{mean}} + \text{noise\_std}\cdot z$ with
the noise `z` given (`pc_sample` draws it from its key and calls the same step). With an affine
score the step is affine in $(x, z)$, so the exact law of a sampler's output on Gaussian data follows
by moment recursion (`exact/_sampler_law.py`). `i` is the 1-based chain index of the step ($N$ at the
first step from $T$, 1 at the last) and `disc` the discretization (`None` when not used).
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._custom_types import Scalar, Vector
from ..chains._discretize import AbstractChainDiscretization, AbstractDiscretization
from ..sde._reverse import reverse_drift
from ._boundary import check_noise_shape


class AbstractPredictor(eqx.Module):
    """A reverse-time step $x \\mapsto x_{\\text{mean}}(x) + \\text{noise\\_std}\\cdot z$ (module docstring).

    **To add a predictor**, subclass (final class) and set the class variables `weak_order` and
    `uses_discretization` and implement `mean_and_std`.
    """

    weak_order: ClassVar[float]
    uses_discretization: ClassVar[bool]

    @abc.abstractmethod
    def mean_and_std(
        self, sde, score_fn, x: Vector, t, h, i, disc: AbstractDiscretization | None
    ) -> tuple[Vector, Scalar]:
        """`(x_mean, noise_std)` of the step from `t` to `t - h` at chain index `i`."""

    def step(self, sde, score_fn, x: Vector, t, h, i, disc, z: Vector) -> tuple[Vector, Vector]:
        """`(x_next, x_mean)` with $x_{\\text{next}} = x_{\\text{mean}} + \\text{noise\\_std}\\,z$, `z` given."""
        check_noise_shape(f"{type(self).__name__}.step", x, z)
        x_mean, std = self.mean_and_std(sde, score_fn, x, t, h, i, disc)
        return x_mean + std * z, x_mean


class EulerMaruyama(AbstractPredictor):
    r"""$x \leftarrow x - [f(x,t) - g(t)^2 s(x,t)]\,h + g(t)\sqrt h\,z$ (Euler–Maruyama on the reverse SDE,
    $dt = -h$). Weak order 1."""

    weak_order: ClassVar[float] = 1.0
    uses_discretization: ClassVar[bool] = False

    def mean_and_std(self, sde, score_fn, x, t, h, i, disc):
        return x - reverse_drift(sde, score_fn, x, t) * h, sde.diffusion(t) * jnp.sqrt(h)


class ReverseDiffusion(AbstractPredictor):
    r"""$x_{i-1} = x_i - f_i(x_i) + G_i^2\,s(x_i, t) + G_i z$, the reverse of `discretize`'s step $i$ (000 §3.1).
    Weak order 1."""

    weak_order: ClassVar[float] = 1.0
    uses_discretization: ClassVar[bool] = True

    def mean_and_std(self, sde, score_fn, x, t, h, i, disc):
        f, G = disc(x, i)
        return x - f + G**2 * score_fn(x, t), G


class Ancestral(AbstractPredictor):
    r"""Ancestral sampling of the chain behind `discretize(sde, N)` (reference-code noise levels): the chain's
    own `reverse_kernel` with the score at the continuous time $t$ of the step —

    - DDPM (`VPSDE`; 000 appendix B): $x_{i-1} = (x_i + \beta_i s)/\sqrt{1 - \beta_i} + \sqrt{\beta_i}\,z$;
    - SMLD (`VESDE`): $x_{i-1} = x_i + (\sigma_i^2 - \sigma_{i-1}^2) s
      + \sqrt{\sigma_{i-1}^2(\sigma_i^2 - \sigma_{i-1}^2)/\sigma_i^2}\,z$ ($\sigma_0 = 0$).

    Weak order 1. Other SDEs have no chain: a `ValueError`.
    """

    weak_order: ClassVar[float] = 1.0
    uses_discretization: ClassVar[bool] = True

    def mean_and_std(self, sde, score_fn, x, t, h, i, disc):
        if not isinstance(disc, AbstractChainDiscretization):
            raise ValueError(
                f"ancestral sampling is defined for VESDE (SMLD) and VPSDE (DDPM); got {type(sde).__name__}"
            )
        return disc.chain_as(jnp.result_type(x)).reverse_kernel(x, i, lambda y, _: score_fn(y, t))
