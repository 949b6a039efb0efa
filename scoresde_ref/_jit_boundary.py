"""What the compiled public entry points do to their arguments before `eqx.filter_jit` sees them.

`eqx.filter_jit` traces arrays and holds everything else static (part of the cache key): a Python
float is static, so a new SDE parameter value or a new `eps` given as a float would compile again.
`floats_as_arrays` turns the Python-float leaves of a pytree (SDE parameters, the fields of a score
module such as `sr.exact_score(sde, dist)`, `eps`, `t`) into 0-d arrays, weakly typed like the float, so
they promote exactly as the float did and one compilation serves new values. Python ints and bools,
strings and callables stay static. A score function that is a plain Python function is static too: pass
an `eqx.Module` (like `sr.exact_score`) or the same function object, not a new lambda per call.
"""

import jax
import jax.numpy as jnp


def floats_as_arrays(tree):
    """`tree` with each Python `float` leaf replaced by `jnp.asarray(leaf)` (a weakly typed 0-d array)."""
    return jax.tree_util.tree_map(lambda v: jnp.asarray(v) if isinstance(v, float) else v, tree)
