"""Batch plumbing shared by the twins: the libraries act on a batch `(n, ...)` of any trailing shape, the project's
mathematics on one example `(d,)`; these helpers flatten, broadcast per-example coefficients and check given noise."""

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np


def as_batch(x, dtype, name: str, owner: str):
    """`x` as a JAX array of `dtype` with a batch axis first (at least 1-D), else a `ValueError`."""
    x = jnp.asarray(x, dtype=dtype)
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError(f"{owner}: {name} must be a batch (n, ...) with n >= 1; got shape {x.shape}")
    return x


def batch_times(t, n: int, dtype, owner: str):
    """The times as a vector `(n,)`: a scalar is repeated (the library's `vec_t`), a vector must have length `n`."""
    t = jnp.asarray(t, dtype=dtype)
    if t.ndim == 0:
        return jnp.broadcast_to(t, (n,))
    if t.shape != (n,):
        raise ValueError(f"{owner}: t must be a scalar or a vector of shape ({n},); got shape {t.shape}")
    return t


def flat(x):
    """`(n, ...)` -> `(n, d)`: each example as the project's vector."""
    return jnp.reshape(x, (x.shape[0], -1))


def per_example(c, x):
    """A per-example coefficient `(n,)` shaped `(n, 1, ..., 1)` to multiply `x` `(n, ...)` (explicit broadcast)."""
    c = jnp.asarray(c)
    return jnp.reshape(c, c.shape + (1,) * (x.ndim - c.ndim))


def noise_sequence(noise, count: int, shape, dtype, owner: str) -> list:
    """The given draws as a list of `count` arrays of `shape`: a sequence, or one array stacked on axis 0."""
    if noise is None:
        raise ValueError(
            f"{owner}: noise must be given ({count} standard normal array(s) of shape {tuple(shape)}, in the order "
            "the library draws them); got None"
        )
    if not isinstance(noise, Sequence):
        noise = jnp.asarray(noise)
        if noise.ndim == len(shape):
            noise = [noise]
    draws = [jnp.asarray(z, dtype=dtype) for z in noise]
    if len(draws) != count:
        raise ValueError(f"{owner}: noise must hold {count} draw(s) in the library's order; got {len(draws)}")
    for k, z in enumerate(draws):
        if z.shape != tuple(shape):
            raise ValueError(f"{owner}: noise[{k}] must have shape {tuple(shape)}; got shape {z.shape}")
    return draws


def check_dtype(dtype, owner: str):
    """`np.float64` (default) or `np.float32`, the two precisions of the twins."""
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{owner}: dtype must be np.float64 or np.float32; got {dtype}")
    return dtype
