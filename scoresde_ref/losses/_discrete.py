r"""The discrete-noise-level objectives of SMLD/NCSN and DDPM, as weighted sums of DSM terms.

- NCSN (000_cce368350850b628.txt App. A; 002_686d39656702d14a.txt "Noise conditional score network"):
  $\sum_{i=1}^N \sigma_i^2\, E_x E_{\tilde x \sim \mathcal N(x, \sigma_i^2 I)}
  \|s_\theta(\tilde x, \sigma_i) - \nabla\log q_{\sigma_i}(\tilde x \mid x)\|^2$,
  with $\nabla\log q_{\sigma_i}(\tilde x \mid x) = -(\tilde x - x)/\sigma_i^2 = -z/\sigma_i$ for
  $\tilde x = x + \sigma_i z$.
- DDPM (000 App. B; 002 "Denoising diffusion probabilistic models"):
  $\sum_{i=1}^N (1 - \bar\alpha_i)\, E_x E_{\tilde x \sim \mathcal N(\sqrt{\bar\alpha_i} x, (1 - \bar\alpha_i) I)}
  \|s_\theta(\tilde x, i) - \nabla\log q(\tilde x \mid x)\|^2$,
  target $-z/\sqrt{1 - \bar\alpha_i}$. 000 App. B writes $\alpha_i$ for the cumulative product
  $\bar\alpha_i = \prod_{j \le i}(1 - \beta_j)$; here it is always `alphas_cumprod` $= \bar\alpha$.

Each example of the batch gets one independent noise per level and the sum runs over all
levels (no sampling of $i$), so the estimate's only randomness is over $(x, z)$. Compiled at the
boundary (`_jit_boundary.compiled` after eager validation): new keys, data and levels of the same shapes compile
nothing, and a batch on a mesh with `Explicit` axes runs on its `Auto` twin.
"""

import jax
import jax.numpy as jnp

from .._custom_types import Array, Batch, Key, Scalar, ScoreFn
from .._jit_boundary import compiled, floats_as_arrays
from .._validation import check, check_batch, check_float_dtype


def _check(x0, levels, ok, message):
    x0, levels = jnp.asarray(x0), jnp.asarray(levels)
    name = message.split(":")[0]
    check_float_dtype(check_batch(x0, None, "x0", name), "x0", name)
    if levels.ndim != 1 or levels.shape[0] < 1:
        raise ValueError(f"{name}: the noise levels must be a non-empty vector (N,); got shape {levels.shape}")
    return x0, check(levels, ok(levels) & jnp.isfinite(levels), message)


def _check_noise(z, x0, levels, name):
    z = jnp.asarray(z)
    shape = (x0.shape[0], levels.shape[0], x0.shape[1])
    if z.shape != shape:
        raise ValueError(f"{name}: z must have shape (n, N, d) = {shape}; got shape {z.shape}")
    return z


def _weighted_dsm_terms_at(score_fn, x0, z, labels, mean_coeffs, stds, weights) -> Array:
    """Per example: $\\sum_i w_i \\|s(m_i x + s_i z_i, \\ell_i) + z_i / s_i\\|^2$ for given noises `z` `(n, N, d)`."""

    def level(x, z_i, label, m, s, w):
        return w * jnp.sum((score_fn(m * x + s * z_i, label) + z_i / s) ** 2)

    per_level = jax.vmap(jax.vmap(level, (None, 0, 0, 0, 0, 0)), (0, 0, None, None, None, None))
    return jnp.sum(per_level(x0, z, labels, mean_coeffs, stds, weights), axis=1)


OWNER = "ncsn/ddpm loss"  # the name errors from the compiled cores give


def _noise(key, x0, levels):
    """The noises of the key-driven losses, `jax.random.normal(key, (n, N, d))`."""
    n, d = x0.shape
    return jax.random.normal(key, (n, levels.shape[0], d), dtype=jnp.result_type(x0))


def _terms(score_fn, x0, z, labels, mean_coeffs, stds, weights, mean: bool) -> Array:
    """The terms (or, with `mean`, their mean) for given noises `z`; the key-driven losses draw `z` first."""
    terms = _weighted_dsm_terms_at(score_fn, x0, z, labels, mean_coeffs, stds, weights)
    return jnp.mean(terms) if mean else terms


_draw_noise = compiled(_noise, OWNER)
_compiled_terms = compiled(_terms, OWNER)


def _ncsn(key, score_fn, x0, sigmas, z, mean):
    name = "ncsn_loss"
    x0, sigmas = _check(x0, sigmas, lambda s: s > 0, f"{name}: sigmas must be > 0")
    z = _draw_noise(key, x0, sigmas) if z is None else _check_noise(z, x0, sigmas, name)
    score_fn = floats_as_arrays(score_fn)
    return _compiled_terms(score_fn, x0, z, sigmas, jnp.ones_like(sigmas), sigmas, sigmas**2, mean)


def _ddpm(key, score_fn, x0, alphas_cumprod, z, mean):
    name = "ddpm_loss"
    x0, abar = _check(x0, alphas_cumprod, lambda a: (a > 0) & (a < 1), f"{name}: alphas_cumprod must lie in (0, 1)")
    z = _draw_noise(key, x0, abar) if z is None else _check_noise(z, x0, abar, name)
    labels = jnp.arange(1, abar.shape[0] + 1)
    score_fn = floats_as_arrays(score_fn)
    return _compiled_terms(score_fn, x0, z, labels, jnp.sqrt(abar), jnp.sqrt(1 - abar), 1 - abar, mean)


def ncsn_terms(key: Key, score_fn: ScoreFn, x0: Batch, sigmas: Array) -> Array:
    r"""Per-example NCSN terms $\sum_i \sigma_i^2 \|s_\theta(x + \sigma_i z_i, \sigma_i) + z_i/\sigma_i\|^2$,
    shape `(n,)`.

    `score_fn(x_tilde, sigma)` is called with the noise level $\sigma_i$ as its second argument;
    `sigmas` `(N,)` positive (any order). The noises are `jax.random.normal(key, (n, N, d))`
    (`ncsn_terms_at` takes them given).
    """
    return _ncsn(key, score_fn, x0, sigmas, None, False)


def ncsn_terms_at(score_fn: ScoreFn, x0: Batch, sigmas: Array, z: Array) -> Array:
    r"""`ncsn_terms` for given noises `z` `(n, N, d)` (example, level, coordinate); no key."""
    return _ncsn(None, score_fn, x0, sigmas, z, False)


def ncsn_loss(key: Key, score_fn: ScoreFn, x0: Batch, sigmas: Array) -> Scalar:
    r"""The NCSN loss $\sum_i \sigma_i^2 E\|s_\theta(\tilde x, \sigma_i) - \nabla\log q_{\sigma_i}(\tilde x\mid x)\|^2$,
    the mean of `ncsn_terms` over the batch `x0` (n, d)."""
    return _ncsn(key, score_fn, x0, sigmas, None, True)


def ddpm_terms(key: Key, score_fn: ScoreFn, x0: Batch, alphas_cumprod: Array) -> Array:
    r"""Per-example DDPM terms
    $\sum_i (1 - \bar\alpha_i)\|s_\theta(\sqrt{\bar\alpha_i} x + \sqrt{1 - \bar\alpha_i} z_i, i) +
    z_i/\sqrt{1 - \bar\alpha_i}\|^2$.

    `score_fn(x_tilde, i)` is called with the level index $i = 1, \dots, N$ (an integer array);
    `alphas_cumprod` `(N,)` is $\bar\alpha_i \in (0, 1)$. The noises are `jax.random.normal(key, (n, N, d))`
    (`ddpm_terms_at` takes them given).
    """
    return _ddpm(key, score_fn, x0, alphas_cumprod, None, False)


def ddpm_terms_at(score_fn: ScoreFn, x0: Batch, alphas_cumprod: Array, z: Array) -> Array:
    r"""`ddpm_terms` for given noises `z` `(n, N, d)` (example, level, coordinate); no key."""
    return _ddpm(None, score_fn, x0, alphas_cumprod, z, False)


def ddpm_loss(key: Key, score_fn: ScoreFn, x0: Batch, alphas_cumprod: Array) -> Scalar:
    r"""The DDPM loss $\sum_i (1 - \bar\alpha_i) E\|s_\theta(\tilde x, i) - \nabla\log q(\tilde x\mid x)\|^2$,
    the mean of `ddpm_terms` over the batch `x0` (n, d)."""
    return _ddpm(key, score_fn, x0, alphas_cumprod, None, True)
