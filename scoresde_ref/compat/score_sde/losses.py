r"""Twin of score_sde_pytorch's `losses.py`: `get_sde_loss_fn`, `get_smld_loss_fn`, `get_ddpm_loss_fn`, computed with
the project's denoising score-matching integrand (`scoresde_ref.losses.DSM`) and kernels, the draws given.

**Noise.** The library draws, in order, the times `torch.rand(n)` (or the labels `torch.randint(0, N, (n,))`) and
then `torch.randn_like(batch)`; `loss_fn(model, batch, *, noise)` takes them as `noise = (u, z)` or
`(labels, z)`, with $t = u\,(T - \epsilon) + \epsilon$.

**Terms** (per example, then averaged over the batch; `reduce_mean` averages over the data dimensions $D$,
otherwise the library's $\tfrac12\sum$):

- `get_sde_loss_fn`: $x_t = m(t)x + s(t)z$ from `sde.marginal_prob` (VE: $s = \sigma(t)$), the DSM integrand
  $\ell = \|s_\theta(x_t, t) + z/s\|^2$ weighted by $s^2$, or by $g(t)^2$ with `likelihood_weighting`
  (`scoresde_ref.losses.loss_terms_at` with `SigmaSquaredWeighting` / `LikelihoodWeighting` for VP and sub-VP);
- `get_smld_loss_fn`: $\sigma = $ `discrete_sigmas` reversed (descending, the library's `smld_sigma_array`) at the
  label, $\sigma^2\|s_\theta(x + \sigma z, \text{label}) + z/\sigma\|^2$ (`ncsn_terms_at` at that level);
- `get_ddpm_loss_fn`: $\|\hat\epsilon_\theta(\sqrt{\bar\alpha}x + \sqrt{1 - \bar\alpha}z, \text{label}) - z\|^2$, i.e.
  $(1 - \bar\alpha)\|s + z/\sqrt{1-\bar\alpha}\|^2$ with $s = -\hat\epsilon/\sqrt{1 - \bar\alpha}$ (`ddpm_terms_at`);
  the labels are 0-based, chain index `label + 1`.

`model` is the score function `score_fn(x, t)` for `get_sde_loss_fn` (see `sampling`), and the raw network
`model(x, labels)` for the SMLD (score output) and DDPM ($\hat\epsilon$ output) losses, as the library's `model_fn`.
`train` is accepted and unused.
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from ...losses._objectives import DSM
from ._arrays import as_batch, flat, per_example
from .sde_lib import VESDE, VPSDE


def _reduce_factor(reduce_mean, x):
    """The library's `reduce_op` as a factor of the summed squares: $1/D$ (mean) or $\\tfrac12$ (half sum)."""
    return 1.0 / flat(x).shape[1] if reduce_mean else 0.5


@eqx.filter_jit
def _weighted_dsm(score, x_t, z, std, weight):
    """Per example: `weight * DSM().integrand` at the given score, `x_t`, noise `z` and kernel std."""
    objective = DSM()

    def one(si, xi, zi, s, w):
        return w * objective.integrand(lambda _y, _t: si, xi, None, zi, s)

    return jax.vmap(one)(flat(score), flat(x_t), flat(z), std, weight)


def _given(noise, batch, owner):
    if noise is None or len(noise) != 2:
        raise ValueError(f"{owner}: noise must be the library's two draws (times or labels (n,), z like batch)")
    first, z = noise
    first = jnp.asarray(first)
    z = jnp.asarray(z, dtype=batch.dtype)
    if first.shape != batch.shape[:1] or z.shape != batch.shape:
        raise ValueError(
            f"{owner}: noise must be ((n,), {batch.shape}) = (times or labels, z); got ({first.shape}, {z.shape})"
        )
    return first, z


def get_sde_loss_fn(sde, train, reduce_mean=True, continuous=True, likelihood_weighting=True, eps=1e-5):
    """The library's continuous-time DSM loss: `loss_fn(model, batch, *, noise=(u, z)) -> loss` (module docstring)."""

    def loss_fn(model, batch, *, noise):
        owner = "get_sde_loss_fn.loss_fn"
        batch = as_batch(batch, sde.dtype, "batch", owner)
        u, z = _given(noise, batch, owner)
        t = u.astype(sde.dtype) * (sde.T - eps) + eps
        mean, std = sde.marginal_prob(batch, t)
        perturbed_data = mean + per_example(std, z) * z
        score = jnp.asarray(model(perturbed_data, t), dtype=sde.dtype)
        weight = sde.sde(jnp.zeros_like(batch), t)[1] ** 2 if likelihood_weighting else std**2
        terms = _weighted_dsm(score, perturbed_data, z, std, weight) * _reduce_factor(reduce_mean, batch)
        return jnp.mean(terms)

    return loss_fn


def _labels(labels, N, owner):
    if not jnp.issubdtype(labels.dtype, jnp.integer) or bool(jnp.any((labels < 0) | (labels >= N))):
        raise ValueError(f"{owner}: labels must be integers in [0, {N}); got {labels}")
    return labels


def get_smld_loss_fn(vesde, train, reduce_mean=False):
    """The library's NCSN loss: `loss_fn(model, batch, *, noise=(labels, z)) -> loss` (module docstring)."""
    if not isinstance(vesde, VESDE):
        raise ValueError(f"get_smld_loss_fn: SMLD training only works for VESDEs; got {type(vesde).__name__}")
    smld_sigma_array = jnp.flip(vesde.discrete_sigmas, axis=0)

    def loss_fn(model, batch, *, noise):
        owner = "get_smld_loss_fn.loss_fn"
        batch = as_batch(batch, vesde.dtype, "batch", owner)
        labels, z = _given(noise, batch, owner)
        sigmas = smld_sigma_array[_labels(labels, vesde.N, owner)]
        perturbed_data = batch + per_example(sigmas, z) * z
        score = jnp.asarray(model(perturbed_data, labels), dtype=vesde.dtype)
        terms = _weighted_dsm(score, perturbed_data, z, sigmas, sigmas**2) * _reduce_factor(reduce_mean, batch)
        return jnp.mean(terms)

    return loss_fn


def get_ddpm_loss_fn(vpsde, train, reduce_mean=True):
    """The library's DDPM (epsilon) loss: `loss_fn(model, batch, *, noise=(labels, z)) -> loss` (module docstring)."""
    if not isinstance(vpsde, VPSDE):
        raise ValueError(f"get_ddpm_loss_fn: DDPM training only works for VPSDEs; got {type(vpsde).__name__}")

    def loss_fn(model, batch, *, noise):
        owner = "get_ddpm_loss_fn.loss_fn"
        batch = as_batch(batch, vpsde.dtype, "batch", owner)
        labels, z = _given(noise, batch, owner)
        labels = _labels(labels, vpsde.N, owner)
        mean_coeff, std = vpsde.sqrt_alphas_cumprod[labels], vpsde.sqrt_1m_alphas_cumprod[labels]
        perturbed_data = per_example(mean_coeff, batch) * batch + per_example(std, z) * z
        eps_hat = jnp.asarray(model(perturbed_data, labels), dtype=vpsde.dtype)
        score = -eps_hat / per_example(std, eps_hat)
        terms = _weighted_dsm(score, perturbed_data, z, std, std**2) * _reduce_factor(reduce_mean, batch)
        return jnp.mean(terms)

    return loss_fn
