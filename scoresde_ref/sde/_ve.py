"""The variance-exploding SDE of SMLD (000_cce368350850b628.txt §2.3)."""

import jax.numpy as jnp

from .._custom_types import Scalar, ScalarLike, Times
from .._validation import check, check_positive
from ._base import AbstractLinearSDE


class VESDE(AbstractLinearSDE):
    r"""Variance-exploding SDE $dx = \sqrt{d\sigma^2(t)/dt}\,dw$ on $[0, 1]$.

    $\sigma(t) = \sigma_{\min} (\sigma_{\max}/\sigma_{\min})^t$, so
    $g(t) = \sigma(t)\sqrt{2 \log(\sigma_{\max}/\sigma_{\min})}$.

    **Kernels.** `kernel(t)` is exact for the SDE started at time 0:
    $x(t) \mid x(0) \sim \mathcal N(x(0), [\sigma(t)^2 - \sigma(0)^2] I)$ (000 §2.3 table, VE row).
    `reference_kernel(t)` is the convention of the paper's reference code, std $= \sigma(t)$,
    which is the exact law of $x(t)$ given $x(0)$ only if noise of scale $\sigma_{\min}$ was
    already added at $t = 0$. It is never used unless asked for by name.

    **Prior.** $\mathcal N(0, \sigma_{\max}^2 I)$, the reference-code choice (the exact $p_T$
    of a point mass at 0 has variance $\sigma_{\max}^2 - \sigma_{\min}^2$).

    **Arguments:** `sigma_min`, `sigma_max` with $0 < \sigma_{\min} < \sigma_{\max}$
    (floats or JAX scalars; traced values are checked with `eqx.error_if`).
    """

    sigma_min: ScalarLike
    sigma_max: ScalarLike
    T: ScalarLike

    def __init__(self, sigma_min: ScalarLike = 0.01, sigma_max: ScalarLike = 50.0):
        self.sigma_min = check_positive(sigma_min, "sigma_min", "VESDE")
        self.sigma_max = check(
            check_positive(sigma_max, "sigma_max", "VESDE"),
            jnp.asarray(sigma_max) > jnp.asarray(sigma_min),
            "VESDE: sigma_max must be > sigma_min (sigma(t) = sigma_min (sigma_max/sigma_min)^t must grow); "
            f"got sigma_min = {sigma_min!r}, sigma_max = {sigma_max!r}",
        )
        self.T = 1.0

    def _log_ratio(self) -> ScalarLike:
        # log(sigma_max/sigma_min) = log1p((sigma_max - sigma_min)/sigma_min): the difference is exact when the
        # ratio is below 2 (Sterbenz), so nothing cancels for a narrow schedule, where log(max) - log(min) would
        # lose every digit the two logarithms share (derivations/forward_sdes.md, "VE in float32").
        return jnp.log1p((self.sigma_max - self.sigma_min) / self.sigma_min)

    def sigma(self, t: Times) -> Times:
        r"""$\sigma(t) = \sigma_{\min} (\sigma_{\max}/\sigma_{\min})^t$, for $0 \le t \le T$."""
        return self.sigma_min * jnp.exp(self.check_time(t, "sigma") * self._log_ratio())

    def drift_coeff(self, t: Times) -> Times:
        return jnp.zeros_like(jnp.asarray(t))

    def diffusion(self, t: Times) -> Times:
        return self.sigma(self.check_time(t, "diffusion")) * jnp.sqrt(2 * self._log_ratio())

    def unchecked_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        # sigma(t)^2 - sigma_min^2 = sigma_min^2 expm1(2 t log r): no cancellation at small t.
        std = self.sigma_min * jnp.sqrt(jnp.expm1(2 * t * self._log_ratio()))
        return jnp.ones_like(std), std

    def reference_kernel(self, t: ScalarLike) -> tuple[Scalar, Scalar]:
        """`(1, sigma(t))`: the reference code's VE kernel (not the law from time 0; see class doc)."""
        std = self.sigma(self.check_time(t, "reference_kernel"))
        return jnp.ones_like(std), std

    @property
    def prior_std(self) -> ScalarLike:
        return jnp.asarray(self.sigma_max)
