r"""Time weightings $\lambda(t)$ of the continuous-time score-matching objectives.

The objectives of 000_cce368350850b628.txt §2.2 and 002_686d39656702d14a.txt ("Estimating the
reverse SDE with score-based models") are $E_{t \sim U(\epsilon, T)}[\lambda(t)\,\cdot]$ with

- `SigmaSquaredWeighting()` (`"sigma2"`): $\lambda(t) = s(t)^2$, the kernel variance. Since
  $E\|\nabla\log p_{0t}(x_t \mid x_0)\|^2 = d / s(t)^2$, this is
  $\lambda \propto 1/E\|\nabla\log p_{0t}\|^2$ (000 §2.2, 002 "Typically, we use ..."), and the
  continuous analogue of the NCSN weights $\sigma_i^2$ and DDPM weights $1 - \bar\alpha_i$.
- `LikelihoodWeighting()` (`"g2"`): $\lambda(t) = g(t)^2$, the likelihood weighting of Song et al. (2021),
  as stated in 002 ("If weighting function $\lambda(t) = g^2(t)$ ..."): derivations/likelihood_weighting_bound.md.
- `UnitWeighting()` (`"uniform"`): $\lambda(t) = 1$.

A weighting is called as `weighting(sde, t)`; `as_weighting` maps the strings to these objects (the one
place that reads them).
"""

import abc

import equinox as eqx
import jax.numpy as jnp

from .._custom_types import Scalar, ScalarLike
from .._validation import tie
from ..sde._base import AbstractAffineSDE


class AbstractWeighting(eqx.Module):
    r"""A time weighting $\lambda(t)$ of a score-matching objective: `weighting(sde, t) -> scalar`."""

    @abc.abstractmethod
    def __call__(self, sde: AbstractAffineSDE, t: ScalarLike) -> Scalar:
        """$\\lambda(t)$ for `sde`."""


class SigmaSquaredWeighting(AbstractWeighting):
    r"""$\lambda(t) = s(t)^2$, the variance of the exact kernel `sde.kernel(t)` (for VE:
    $\sigma(t)^2 - \sigma(0)^2$, not the reference code's $\sigma(t)^2$; see `VESDE`)."""

    def __call__(self, sde, t):
        return sde.kernel(t)[1] ** 2


class LikelihoodWeighting(AbstractWeighting):
    r"""$\lambda(t) = g(t)^2$, which makes the DSM loss a bound on the negative log-likelihood."""

    def __call__(self, sde, t):
        return sde.diffusion(t) ** 2


class UnitWeighting(AbstractWeighting):
    r"""$\lambda(t) = 1$."""

    def __call__(self, sde, t):
        t = sde.check_time(t, "loss_weight")
        return tie(jnp.ones_like(jnp.asarray(t, dtype=jnp.result_type(float))), t)


_WEIGHTINGS = {"sigma2": SigmaSquaredWeighting, "g2": LikelihoodWeighting, "uniform": UnitWeighting}
WEIGHTINGS = tuple(_WEIGHTINGS)


def as_weighting(weighting: str | AbstractWeighting, owner: str) -> AbstractWeighting:
    """`"sigma2"`, `"g2"`, `"uniform"` -> the weighting object (an object is returned as it is); other
    names raise `ValueError` listing the allowed ones."""
    if isinstance(weighting, AbstractWeighting):
        return weighting
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"{owner}: weighting must be one of {WEIGHTINGS} or an AbstractWeighting; got {weighting!r}")
    return _WEIGHTINGS[weighting]()


def loss_weight(sde: AbstractAffineSDE, t: ScalarLike, weighting: str | AbstractWeighting) -> Scalar:
    r"""$\lambda(t)$ for `weighting` (`"sigma2"`, `"g2"`, `"uniform"` or a weighting object): $s(t)^2$, $g(t)^2$
    or 1."""
    return as_weighting(weighting, "loss_weight")(sde, t)
