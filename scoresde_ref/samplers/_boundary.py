"""The eager checks every sampler makes at its boundary, before its compiled core is entered
(`_jit_boundary.compiled`: one compilation per shape and static configuration)."""

import jax.numpy as jnp

from .._validation import check_batch, check_float_dtype, check_real, check_score_output, one_example


def check_sampler_inputs(owner: str, sde, x_T, eps=None, score_fn=None):
    """The eager checks every sampler makes at its boundary: `x_T` a floating batch `(n, d)` with `n >= 1`,
    `eps` a finite number in $(0, T)$ (returned, or the `eqx.error_if` that checks it when traced), and, when
    given, `score_fn` returning the shape and dtype of one example (`check_score_output`)."""
    check_batch(x_T, None, "x_T", owner)
    check_float_dtype(x_T, "x_T", owner)
    if eps is not None:
        eps = check_real(eps, "eps", owner, lower=0.0, upper=sde.T, lower_open=True, upper_open=True)
    if score_fn is not None:
        check_score_output(owner, score_fn, one_example(x_T))
    return eps


def check_noise_shape(owner: str, x, z) -> None:
    """A step given its noise: `z` must have the shape of `x` (never broadcast a `(1,)` noise silently)."""
    if jnp.shape(z) != jnp.shape(x):
        raise ValueError(f"{owner}: z must have the shape of x {jnp.shape(x)}; got shape {jnp.shape(z)}")
