"""Parameter validation that works both eagerly and under `jit`/`vmap`/`grad`.

`check(value, ok, message)` raises `ValueError(message)` at once when `ok` is a concrete
boolean, and otherwise threads `eqx.error_if` into `value`, so a traced parameter is
checked at run time without breaking tracing. Returned values must be used (that is what
keeps the run-time check alive in the compiled graph).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def check(value, ok, message: str):
    """Return `value`, failing with `message` unless `ok` holds (for every element)."""
    if _is_concrete(ok):
        if not bool(np.all(np.asarray(ok))):
            raise ValueError(message)
        return value
    return eqx.error_if(jnp.asarray(value), jnp.logical_not(jnp.all(ok)), message)


def check_time(t, T, owner: str):
    """Return `t`, failing unless 0 <= t <= T (the time domain of an SDE)."""
    shown_T = f" = {float(T):g}" if _is_concrete(T) else ""
    shown_t = f"; got t = {float(t):g}" if _is_concrete(t) and jnp.ndim(t) == 0 else ""
    return check(
        t,
        (jnp.asarray(t) >= 0) & (jnp.asarray(t) <= T),
        f"{owner}: time t must lie in [0, T{shown_T}]{shown_t}",
    )
