r"""Correctors: Langevin MCMC steps at a fixed time $t$ (000_cce368350850b628.txt §3.1, appendix A;
002_686d39656702d14a.txt "Predictor-Corrector sampling methods"; 003_68ae16c2fc5b3c9b.txt §3.2).

A corrector is a small `eqx.Module` carrying its parameters (`snr`, `n_steps`, and for
`LangevinCorrector` the `norm` of its step-size rule) and the property `linear_gaussian`: whether
its step size is free of $x$ and of the noise drawn, so that on Gaussian data with the exact score
its output is Gaussian (the exact-law code, `exact/_sampler_law.py`, reads it).

A corrector acts on the whole batch `x` of shape `(n, d)` because the reference code's step-size
rule averages norms over the batch (a cross-example reduction, explicit here: `norm="batch"`).
`step(sde, score_fn, x, t, i, disc, z) -> (x, x_mean)` is one Langevin update with the noise `z`
`(n, d)` given; `correct(key, ...)` runs `n_steps` of them, drawing $z$ from `fold_in(key, j)`.

**Step-size rules** ($z \sim \mathcal N(0, I)$, $s = \nabla\log p_t$, $\alpha_i$ = `disc.corrector_alpha(i)`:
$1 - \beta_i$ for `VPSDE` (reference-code levels of `discretize`), 1 otherwise):

- `LangevinCorrector` (Song et al. 2021, Algorithm 4; the string `"langevin"`):
  $\epsilon = 2\alpha\,(r\,\|z\| / \|s\|)^2$ with the signal-to-noise ratio $r$ = `snr`. `norm="batch"` uses
  norms averaged over the batch (the reference code), `"per_example"` each example's own norms —
  meaningful only in high dimension, where $\|z\|$ concentrates; in $d = 1$ a near-zero score makes
  single steps explode. Not linear-Gaussian.
- `AnnealedLangevinCorrector` (the string `"ald"`): annealed Langevin dynamics with
  $\epsilon = 2\alpha\,(r\,\sigma_t)^2$, $\sigma_t$ the kernel std (the reference code's
  `AnnealedLangevinDynamics`). Linear-Gaussian. For the original SMLD rule
  $\alpha_i = \epsilon\,\sigma_i^2/\sigma_{\min}^2$ see `annealed_langevin_sample`.

Then $x \leftarrow x + \epsilon s(x, t) + \sqrt{2\epsilon}\,z$ (`langevin_update`), `n_steps` times.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Batch, Key
from .._validation import check_choice, check_integer, check_positive
from ._boundary import check_noise_shape
from ._langevin import langevin_update

SNR_NORMS = ("batch", "per_example")


def _check_n_steps(n_steps, owner):
    return check_integer(n_steps, "n_steps (corrector_steps)", owner, minimum=1)


def _check_snr(snr, owner):
    return jnp.asarray(check_positive(snr, "snr", owner))


class AbstractCorrector(eqx.Module):
    """Langevin-type corrector (module docstring). **To add one**, subclass (final class, fields `snr`,
    `n_steps` there), set `linear_gaussian` and implement `step_size`."""

    snr: eqx.AbstractVar[jax.Array]
    n_steps: eqx.AbstractVar[int]
    linear_gaussian: ClassVar[bool]

    @abc.abstractmethod
    def step_size(self, sde, grad: Batch, z: Batch, t, i, disc):
        """$\\epsilon$ of one update, a scalar or `(n, 1)`, from the scores `grad` and the noise `z` of the batch."""

    def step(self, sde, score_fn, x: Batch, t, i, disc, z: Batch) -> tuple[Batch, Batch]:
        """One update $x \\leftarrow x + \\epsilon s(x, t) + \\sqrt{2\\epsilon}\\,z$ of the batch with the noise `z`
        given: `(x, x_mean)`."""
        check_noise_shape(f"{type(self).__name__}.step", x, z)
        grad = jax.vmap(score_fn, (0, None))(x, t)
        return langevin_update(x, grad, self.step_size(sde, grad, z, t, i, disc), z)

    def correct(self, key: Key, sde, score_fn, x: Batch, t, i, disc) -> tuple[Batch, Batch]:
        """`n_steps` updates, update $j$ with $z$ = `jax.random.normal(fold_in(key, j), x.shape)`: `(x, x_mean)`."""

        def body(carry, j):
            z = jax.random.normal(jax.random.fold_in(key, j), carry[0].shape, carry[0].dtype)
            return self.step(sde, score_fn, carry[0], t, i, disc, z), None

        return jax.lax.scan(body, (x, x), jnp.arange(self.n_steps))[0]


class LangevinCorrector(AbstractCorrector):
    """The signal-to-noise Langevin corrector (`"langevin"`): `snr` $r$, `n_steps` updates, `norm` in
    `"batch"` (the reference code's batch-mean norms) or `"per_example"`."""

    snr: jax.Array
    n_steps: int = eqx.field(static=True)
    norm: str = eqx.field(static=True)
    linear_gaussian: ClassVar[bool] = False

    def __init__(self, snr=0.16, n_steps: int = 1, norm: str = "batch"):
        self.norm = check_choice(norm, SNR_NORMS, "snr_norm (norm)", "LangevinCorrector")
        self.snr, self.n_steps = _check_snr(snr, "LangevinCorrector"), _check_n_steps(n_steps, "LangevinCorrector")

    def step_size(self, sde, grad, z, t, i, disc):
        g_norm = jnp.linalg.norm(grad, axis=-1, keepdims=True)
        z_norm = jnp.linalg.norm(z, axis=-1, keepdims=True)
        if self.norm == "batch":  # the cross-example reduction of the reference code
            g_norm, z_norm = jnp.mean(g_norm), jnp.mean(z_norm)
        # A zero score (a flat log-density: no signal) makes the rule (r |z| / |s|)^2 infinite; the step is then
        # defined as 0, the identity update (derivations/samplers.md, "Langevin corrector at zero score").
        flat = g_norm == 0
        ratio = jnp.where(flat, 0.0, z_norm / jnp.where(flat, 1.0, g_norm))
        return 2 * disc.corrector_alpha(i, grad.dtype) * (self.snr * ratio) ** 2


class AnnealedLangevinCorrector(AbstractCorrector):
    """Annealed Langevin dynamics (`"ald"`): $\\epsilon = 2\\alpha_i (r\\sigma_t)^2$, `snr` $r$, `n_steps` updates."""

    snr: jax.Array
    n_steps: int = eqx.field(static=True)
    linear_gaussian: ClassVar[bool] = True

    def __init__(self, snr=0.16, n_steps: int = 1):
        owner = "AnnealedLangevinCorrector"
        self.snr, self.n_steps = _check_snr(snr, owner), _check_n_steps(n_steps, owner)

    def step_size(self, sde, grad, z, t, i, disc):
        _, std = sde.kernel(t)
        return 2 * disc.corrector_alpha(i, grad.dtype) * (self.snr * std) ** 2
