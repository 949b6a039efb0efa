"""Compilation at the boundary: the public samplers compile once per shape and static configuration.

`compiled(fn)` is `eqx.filter_jit(fn)` whose arguments have their Python floats turned into weakly
typed JAX scalars first. `filter_jit` treats every non-array leaf as static, so without this a new
`eps`, `snr` or SDE parameter given as a Python float (`VPSDE(0.1, 19.0)`) would be a new program; a
weak scalar is traced and follows the same dtype rules as the float it replaces. Integers, strings,
bools and functions stay static: `n_steps` sets shapes, and a score function that is a plain Python
function is hashed by identity — pass an `eqx.Module` (like `exact_score(sde, dist)`, whose numbers
are traced) or the same function object to reuse the compilation; a new `lambda` per call compiles anew.

Validation stays eager, before `compiled` is entered, so bad input raises a clear `ValueError` at once.
"""

import functools

import equinox as eqx
import jax
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


def traced_floats(tree):
    """`tree` with every Python `float` leaf as a weakly typed JAX scalar (a traced, not a static, argument)."""
    return jax.tree_util.tree_map(lambda v: jnp.asarray(v) if isinstance(v, float) else v, tree)


def compiled(fn):
    """`eqx.filter_jit(fn)`, called with `traced_floats` of its arguments (module docstring)."""
    jitted = eqx.filter_jit(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        args, kwargs = traced_floats((args, kwargs))
        return jitted(*args, **kwargs)

    return wrapper
