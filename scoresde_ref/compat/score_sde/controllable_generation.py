r"""Twin of score_sde_pytorch's `controllable_generation.py`: `get_pc_inpainter` and `get_pc_colorizer`, the PC
sampler of `sampling` with the known part replaced after every predictor and corrector update by a draw of
$p_{0t}(\cdot \mid y)$ (the replacement method; `scoresde_ref.conditional` `impute_sample` is the project's
version of it).

**Noise** (a flat sequence in the library's order): the prior draw; then at each of the $N$ times of
`linspace(T, eps, N)` the corrector's `n_steps` draws, the corrector replacement's draw, the predictor's draw and the
predictor replacement's draw (a replacement draws even when its predictor or corrector is `None`).

**Conventions kept from the library** (derivations/compat.md): after a replacement, `x_mean` is
`x * (1 - mask) + known_mean * mask` with `x` the *noisy* updated state (the library reuses `x`, not `x_mean`), so
`denoise` removes no noise from the unknown pixels; `eps` defaults to 1e-5 here (1e-3 in `get_pc_sampler`).

The colorizer's orthonormal colour basis $M$ has columns $(1, 1, 1)/\sqrt3$, $(-2, 1, 1)/\sqrt6$, $(0, 1, -1)/\sqrt2$,
computed exactly here; the library hard-codes a float32 rounding of it (entries within 1.2e-7 of these, and
4.7e-8 where 0 is exact), which moves its outputs by about that much relative.
"""

import jax.numpy as jnp

from ._arrays import as_batch, noise_sequence, per_example
from .sampling import _draw_counts, shared_corrector_update_fn, shared_predictor_update_fn


def _update_fns(sde, predictor, corrector, snr, n_steps, probability_flow, continuous):
    def predictor_update_fn(x, t, model, noise):
        return shared_predictor_update_fn(x, t, sde, model, predictor, probability_flow, continuous, noise=noise)

    def corrector_update_fn(x, t, model, noise):
        return shared_corrector_update_fn(x, t, sde, model, corrector, continuous, snr, n_steps, noise=noise)

    return predictor_update_fn, corrector_update_fn


def _run(sde, eps, n_p, n_c, shape, draws, x, corrector_step, predictor_step):
    """The library's loop: at each time the corrector update and its replacement, then the predictor's."""
    k, x_mean = 1, x
    for t in jnp.linspace(sde.T, eps, sde.N, dtype=sde.dtype):
        x, x_mean = corrector_step(x, t, draws[k : k + n_c] if n_c else None, draws[k + n_c])
        k += n_c + 1
        x, x_mean = predictor_step(x, t, draws[k] if n_p else None, draws[k + n_p])
        k += n_p + 1
    return x, x_mean


def get_pc_inpainter(sde, predictor, corrector, inverse_scaler, snr, n_steps=1, probability_flow=False,
                     continuous=False, denoise=True, eps=1e-5):
    """The library's inpainter: `pc_inpainter(model, data, mask, *, noise)`; `mask` is 1 on known pixels."""
    predictor_update_fn, corrector_update_fn = _update_fns(
        sde, predictor, corrector, snr, n_steps, probability_flow, continuous
    )
    n_p, n_c = _draw_counts(predictor, corrector, n_steps)

    def get_inpaint_update_fn(update_fn):
        def inpaint_update_fn(model, data, mask, x, t, noise, replacement_noise):
            vec_t = jnp.ones(data.shape[0], sde.dtype) * t
            x, x_mean = update_fn(x, vec_t, model, noise)
            masked_data_mean, std = sde.marginal_prob(data, vec_t)
            masked_data = masked_data_mean + replacement_noise * per_example(std, data)
            x = x * (1.0 - mask) + masked_data * mask
            x_mean = x * (1.0 - mask) + masked_data_mean * mask
            return x, x_mean

        return inpaint_update_fn

    projector_inpaint_update_fn = get_inpaint_update_fn(predictor_update_fn)
    corrector_inpaint_update_fn = get_inpaint_update_fn(corrector_update_fn)

    def pc_inpainter(model, data, mask, *, noise):
        data = as_batch(data, sde.dtype, "data", "pc_inpainter")
        mask = jnp.asarray(mask, dtype=sde.dtype)
        draws = noise_sequence(noise, 1 + sde.N * (n_c + n_p + 2), data.shape, sde.dtype, "pc_inpainter")
        x = data * mask + sde.prior_sampling(data.shape, noise=draws[0]) * (1.0 - mask)
        x, x_mean = _run(
            sde, eps, n_p, n_c, data.shape, draws, x,
            lambda x, t, z, r: corrector_inpaint_update_fn(model, data, mask, x, t, z, r),
            lambda x, t, z, r: projector_inpaint_update_fn(model, data, mask, x, t, z, r),
        )
        return inverse_scaler(x_mean if denoise else x)

    return pc_inpainter


def colour_basis(dtype=jnp.float64):
    """The orthonormal $M$ (columns: the grey direction $(1,1,1)/\\sqrt3$ and two chroma directions), `(3, 3)`."""
    s3, s6, s2 = jnp.sqrt(3.0), jnp.sqrt(6.0), jnp.sqrt(2.0)
    return jnp.array([[1 / s3, -2 / s6, 0.0], [1 / s3, 1 / s6, 1 / s2], [1 / s3, 1 / s6, -1 / s2]], dtype=dtype)


def get_pc_colorizer(sde, predictor, corrector, inverse_scaler, snr, n_steps=1, probability_flow=False,
                     continuous=False, denoise=True, eps=1e-5):
    """The library's colorizer: `pc_colorizer(model, gray_scale_img, *, noise)` on images `(n, 3, H, W)`."""
    M = colour_basis(sde.dtype)
    invM = M.T  # M is orthonormal: its inverse is its transpose (the library calls torch.inverse)

    def decouple(inputs):
        return jnp.einsum("bihw,ij->bjhw", inputs, M)

    def couple(inputs):
        return jnp.einsum("bihw,ij->bjhw", inputs, invM)

    def get_mask(image):
        return jnp.concatenate([jnp.ones_like(image[:, :1, ...]), jnp.zeros_like(image[:, 1:, ...])], axis=1)

    predictor_update_fn, corrector_update_fn = _update_fns(
        sde, predictor, corrector, snr, n_steps, probability_flow, continuous
    )
    n_p, n_c = _draw_counts(predictor, corrector, n_steps)

    def get_colorization_update_fn(update_fn):
        def colorization_update_fn(model, gray_scale_img, x, t, noise, replacement_noise):
            mask = get_mask(x)
            vec_t = jnp.ones(x.shape[0], sde.dtype) * t
            x, x_mean = update_fn(x, vec_t, model, noise)
            masked_data_mean, std = sde.marginal_prob(decouple(gray_scale_img), vec_t)
            masked_data = masked_data_mean + replacement_noise * per_example(std, x)
            x = couple(decouple(x) * (1.0 - mask) + masked_data * mask)
            x_mean = couple(decouple(x) * (1.0 - mask) + masked_data_mean * mask)
            return x, x_mean

        return colorization_update_fn

    predictor_colorize_update_fn = get_colorization_update_fn(predictor_update_fn)
    corrector_colorize_update_fn = get_colorization_update_fn(corrector_update_fn)

    def pc_colorizer(model, gray_scale_img, *, noise):
        gray = as_batch(gray_scale_img, sde.dtype, "gray_scale_img", "pc_colorizer")
        if gray.ndim != 4 or gray.shape[1] != 3:
            raise ValueError(f"pc_colorizer: gray_scale_img must be images (n, 3, H, W); got shape {gray.shape}")
        draws = noise_sequence(noise, 1 + sde.N * (n_c + n_p + 2), gray.shape, sde.dtype, "pc_colorizer")
        mask = get_mask(gray)
        x = couple(decouple(gray) * mask + decouple(sde.prior_sampling(gray.shape, noise=draws[0]) * (1.0 - mask)))
        x, x_mean = _run(
            sde, eps, n_p, n_c, gray.shape, draws, x,
            lambda x, t, z, r: corrector_colorize_update_fn(model, gray, x, t, z, r),
            lambda x, t, z, r: predictor_colorize_update_fn(model, gray, x, t, z, r),
        )
        return inverse_scaler(x_mean if denoise else x)

    return pc_colorizer
