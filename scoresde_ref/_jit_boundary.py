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

#: `jnp.asarray(v)` of the floats `floats_as_arrays` has met, by bit pattern and by what fixes the array made
#: (x64, the default device, the context mesh): one device transfer per value, not per call (bounded)
_FLOAT_ARRAYS: dict = {}
_FLOAT_ARRAYS_MAX = 4096


def _float_array(value: float):
    # float.hex tells -0.0 from 0.0 (equal as dict keys) and gives every NaN one key
    key = (value.hex(), jax.config.jax_enable_x64, jax.config.jax_default_device, jax.sharding.get_abstract_mesh())
    array = _FLOAT_ARRAYS.get(key)
    if array is None:
        array = jnp.asarray(value)
        if isinstance(array, jax.core.Tracer):  # made inside a caller's trace: it belongs to that trace only
            return array
        if len(_FLOAT_ARRAYS) >= _FLOAT_ARRAYS_MAX:
            _FLOAT_ARRAYS.clear()
        _FLOAT_ARRAYS[key] = array
    return array


def floats_as_arrays(tree):
    """`tree` with each Python `float` leaf replaced by `jnp.asarray(leaf)` (a weakly typed 0-d array; immutable,
    so one array per value is made once and reused)."""
    return jax.tree_util.tree_map(lambda v: _float_array(v) if isinstance(v, float) else v, tree)


def compiled(fn, owner: str | None = None):
    """`eqx.filter_jit(fn)`, called with `floats_as_arrays` of its arguments (module docstring); `owner`, the
    public name errors give (default: `fn`'s name without its leading underscore)."""
    jitted = eqx.filter_jit(fn)
    owner = owner or fn.__name__.lstrip("_")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        args, kwargs = floats_as_arrays((args, kwargs))
        return run_as_auto(owner, jitted, *args, **kwargs)

    return wrapper
