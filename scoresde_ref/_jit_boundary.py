"""Compilation at the boundary: the public entry points compile once per shape and static configuration.

`eqx.filter_jit` traces arrays and holds everything else static (part of the cache key): a Python
float is static, so a new SDE parameter value (`VPSDE(0.1, 19.0)`) or a new `eps` given as a float would
compile again. `floats_as_arrays` turns the Python-float leaves of a pytree (SDE parameters, the fields of a
score module such as `sr.exact_score(sde, dist)`, `eps`, `snr`, `t`) into 0-d arrays, weakly typed like the
float, so they promote exactly as the float did and one compilation serves new values. Python ints and
bools, strings and callables stay static (`n_steps` sets shapes). A score function that is a plain Python
function is static too, hashed by identity: pass an `eqx.Module` (like `sr.exact_score`) or the same
function object; a new lambda per call compiles anew.

`compiled(fn)` is `eqx.filter_jit(fn)` called with `floats_as_arrays` of its arguments, and arrays on a mesh
with `Explicit` axes run on its `Auto` twin (`_mesh.run_as_auto`). Validation stays eager, before a compiled
function is entered, so bad input raises a clear `ValueError` at once.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from ._mesh import run_as_auto


def floats_as_arrays(tree):
    """`tree` with each Python `float` leaf replaced by `jnp.asarray(leaf)` (a weakly typed 0-d array)."""
    return jax.tree_util.tree_map(lambda v: jnp.asarray(v) if isinstance(v, float) else v, tree)


def compiled(fn):
    """`eqx.filter_jit(fn)`, called with `floats_as_arrays` of its arguments (module docstring)."""
    jitted = eqx.filter_jit(fn)
    owner = fn.__name__.lstrip("_")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        args, kwargs = floats_as_arrays((args, kwargs))
        return run_as_auto(owner, jitted, *args, **kwargs)

    return wrapper
