"""Cancellation-free elementary functions used by the closed-form kernels."""

import jax.numpy as jnp


def expm1_ratio(a, t):
    r"""$\int_0^t e^{a s}\,ds = (e^{a t} - 1)/a$, equal to $t$ at $a = 0$, accurate for small $a t$.

    Uses `expm1` and the double-`where` trick so that gradients at $a = 0$ are finite.
    """
    a = jnp.asarray(a)
    small = jnp.abs(a) < 1e-30
    safe_a = jnp.where(small, jnp.ones_like(a), a)
    return jnp.where(small, t * jnp.ones_like(a), jnp.expm1(safe_a * t) / safe_a)
