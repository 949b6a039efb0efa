"""Cancellation-free elementary functions used by the closed-form kernels."""

import jax.numpy as jnp


def expm1_ratio(a, t):
    r"""$\int_0^t e^{a s}\,ds = (e^{a t} - 1)/a$, equal to $t$ at $a = 0$, accurate for small $a t$.

    Uses `expm1` and the double-`where` trick so that gradients at $a = 0$ are finite; there the
    Taylor polynomial $t + a t^2/2 + a^2 t^3/6$ stands in, so the first and second derivatives in
    $a$ are right too ($t^2/2$ and $t^3/3$), not zero.
    """
    a = jnp.asarray(a)
    small = jnp.abs(a) < 1e-30
    safe_a = jnp.where(small, jnp.ones_like(a), a)
    taylor = t * (1 + a * t / 2 + (a * t) ** 2 / 6)
    return jnp.where(small, taylor, jnp.expm1(safe_a * t) / safe_a)
