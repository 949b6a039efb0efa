"""The eager checks every sampler makes at its boundary, before its compiled core is entered
(`_jit_boundary.compiled`: one compilation per shape and static configuration)."""

import jax.numpy as jnp

from .._validation import check


def check_sampler_inputs(owner: str, sde, x_T, eps=None):
    """The eager checks every sampler makes at its boundary: `x_T` a batch `(n, d)`, and `eps` in $(0, T)$
    (returned, or the `eqx.error_if` that checks it when traced)."""
    if x_T.ndim != 2:
        raise ValueError(f"{owner}: x_T must be a batch of shape (n, d); got shape {x_T.shape}")
    if eps is None:
        return None
    return check(eps, (jnp.asarray(eps) > 0) & (jnp.asarray(eps) < sde.T), f"{owner}: eps must lie in (0, T)")


def check_noise_shape(owner: str, x, z) -> None:
    """A step given its noise: `z` must have the shape of `x` (never broadcast a `(1,)` noise silently)."""
    if jnp.shape(z) != jnp.shape(x):
        raise ValueError(f"{owner}: z must have the shape of x {jnp.shape(x)}; got shape {jnp.shape(z)}")
