r"""Time weightings $\lambda(t)$ of the continuous-time score-matching objectives.

The objectives of 000_cce368350850b628.txt §2.2 and 002_686d39656702d14a.txt ("Estimating the
reverse SDE with score-based models") are $E_{t \sim U(\epsilon, T)}[\lambda(t)\,\cdot]$ with

- `"sigma2"`: $\lambda(t) = s(t)^2$, the kernel variance. Since
  $E\|\nabla\log p_{0t}(x_t \mid x_0)\|^2 = d / s(t)^2$, this is
  $\lambda \propto 1/E\|\nabla\log p_{0t}\|^2$ (000 §2.2, 002 "Typically, we use ..."), and the
  continuous analogue of the NCSN weights $\sigma_i^2$ and DDPM weights $1 - \bar\alpha_i$.
- `"g2"`: $\lambda(t) = g(t)^2$, the likelihood weighting of Song et al. (2021), as stated in 002
  ("If weighting function $\lambda(t) = g^2(t)$ ..."): derivations/likelihood_weighting_bound.md.
- `"uniform"`: $\lambda(t) = 1$.
"""

import jax.numpy as jnp

from .._custom_types import Scalar, ScalarLike
from ..sde._base import AbstractAffineSDE

WEIGHTINGS = ("sigma2", "g2", "uniform")


def check_weighting(weighting: str, owner: str) -> str:
    """Return `weighting`, raising `ValueError` (listing the allowed names) unless it is one of `WEIGHTINGS`."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"{owner}: weighting must be one of {WEIGHTINGS}; got {weighting!r}")
    return weighting


def loss_weight(sde: AbstractAffineSDE, t: ScalarLike, weighting: str) -> Scalar:
    r"""$\lambda(t)$ for `weighting` in `("sigma2", "g2", "uniform")`: $s(t)^2$, $g(t)^2$ or 1.

    $s(t)$ is the std of the exact kernel `sde.kernel(t)` (for VE: $\sigma(t)^2 - \sigma(0)^2$,
    not the reference code's $\sigma(t)^2$; see `VESDE`).
    """
    check_weighting(weighting, "loss_weight")
    if weighting == "sigma2":
        return sde.kernel(t)[1] ** 2
    if weighting == "g2":
        return sde.diffusion(t) ** 2
    return jnp.ones_like(jnp.asarray(t, dtype=jnp.result_type(float)))
