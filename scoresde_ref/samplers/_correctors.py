r"""Correctors: Langevin MCMC steps at a fixed time $t$ (000_cce368350850b628.txt §3.1, appendix A;
002_686d39656702d14a.txt "Predictor-Corrector sampling methods"; 003_68ae16c2fc5b3c9b.txt §3.2).

A corrector acts on the whole batch `x` of shape `(n, d)` because the reference code's step-size
rule averages norms over the batch: `(key, sde, score_fn, x, t, i, disc, snr, n_steps, snr_norm)
-> (x, x_mean)`. `ald_step_size` is exposed for the exact-law recursion (`exact/_sampler_law.py`).

**Step-size rules** ($z \sim \mathcal N(0, I)$, $s = \nabla\log p_t$):

- `"langevin"` (Song et al. 2021, Algorithm 4): $\epsilon = 2\alpha\,(r\,\|z\| / \|s\|)^2$ with the
  signal-to-noise ratio $r$ = `snr`; $\alpha = 1 - \beta_i$ for `VPSDE` (reference-code levels of
  `discretize`), 1 otherwise. `snr_norm="batch"` uses norms averaged over the batch (the reference
  code), `"per_example"` each example's own norms — meaningful only in high dimension, where
  $\|z\|$ concentrates; in $d = 1$ a near-zero score makes single steps explode.
- `"ald"`: annealed Langevin dynamics with $\epsilon = 2\alpha\,(r\,\sigma_t)^2$, $\sigma_t$ the kernel
  std (the reference code's `AnnealedLangevinDynamics`). For the original SMLD rule
  $\alpha_i = \epsilon\,\sigma_i^2/\sigma_{\min}^2$ see `annealed_langevin_sample`.

Then $x \leftarrow x + \epsilon s(x, t) + \sqrt{2\epsilon}\,z$, `n_steps` times.
"""

import jax
import jax.numpy as jnp

from ..chains._discretize import Discretization

SNR_NORMS = ("batch", "per_example")


def _alpha(disc: Discretization, x, i):
    """α_i = 1 − β_i for the VP form of `discretize`, 1 otherwise; `x` is one example or a batch."""
    if disc.form == "vp":
        _, G = disc(jnp.zeros(x.shape[-1:], x.dtype), i)
        return 1 - G**2
    return jnp.ones((), x.dtype)


def _langevin_loop(key, score_fn, x, t, n_steps, step_size_fn):
    def body(carry, k):
        x, _ = carry
        grad = jax.vmap(score_fn, (0, None))(x, t)
        z = jax.random.normal(jax.random.fold_in(key, k), x.shape, x.dtype)
        eps = step_size_fn(grad, z)
        x_mean = x + eps * grad
        return (x_mean + jnp.sqrt(2 * eps) * z, x_mean), None

    (x, x_mean), _ = jax.lax.scan(body, (x, x), jnp.arange(n_steps))
    return x, x_mean


def langevin(key, sde, score_fn, x, t, i, disc, snr, n_steps, snr_norm):
    """Langevin corrector with the signal-to-noise step rule (module docstring)."""
    alpha = _alpha(disc, x, i)

    def step_size(grad, z):
        g_norm = jnp.linalg.norm(grad, axis=-1, keepdims=True)
        z_norm = jnp.linalg.norm(z, axis=-1, keepdims=True)
        if snr_norm == "batch":
            g_norm, z_norm = jnp.mean(g_norm), jnp.mean(z_norm)
        return 2 * alpha * (snr * z_norm / g_norm) ** 2

    return _langevin_loop(key, score_fn, x, t, n_steps, step_size)


def ald_step_size(sde, x, t, i, disc, snr):
    """ε = 2α (snr σ_t)², σ_t the kernel std at t."""
    _, std = sde.kernel(t)
    return 2 * _alpha(disc, x, i) * (snr * std) ** 2


def ald(key, sde, score_fn, x, t, i, disc, snr, n_steps, snr_norm):
    """Annealed Langevin dynamics corrector (module docstring)."""
    eps = ald_step_size(sde, x, t, i, disc, snr)
    return _langevin_loop(key, score_fn, x, t, n_steps, lambda grad, z: eps)


CORRECTORS = {"langevin": langevin, "ald": ald}
