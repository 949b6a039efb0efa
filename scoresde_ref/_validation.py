"""The one validation layer: parameter checks that work both eagerly and under `jit`/`vmap`/`grad`.

`check(value, ok, message)` raises `ValueError(message)` at once when `ok` is a concrete
boolean, and otherwise threads `eqx.error_if` into `value`, so a traced parameter is
checked at run time without breaking tracing. Returned values must be used (that is what
keeps the run-time check alive in the compiled graph).

Every helper below is built on `check` or on static facts (shapes, dtypes, Python integers), and
every message has one form, `"{owner}: {name} must be {requirement}; got {received}"`: the function
(or class) that refused, the parameter, the allowed range and the value received (shown when it is
concrete; a traced value is checked at run time and its message names the rule). Nothing is ever
rounded, clamped or broadcast to make it valid.
"""

import contextlib
import contextvars
import numbers
import operator

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

#: dtypes refused at every boundary: too few bits for the kernels' closed forms (Cholesky, expm1).
UNSUPPORTED_FLOATS = (jnp.float16, jnp.bfloat16)


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def check(value, ok, message: str):
    """Return `value`, failing with `message` unless `ok` holds (for every element)."""
    if _is_concrete(ok):
        if not bool(np.all(np.asarray(ok))):
            raise ValueError(message)
        return value
    return eqx.error_if(jnp.asarray(value), jnp.logical_not(jnp.all(ok)), message)


def _shown(value) -> str:
    """`value` as received, for a message (`"(traced)"` when it has no concrete value)."""
    if not _is_concrete(value):
        return "(traced)"
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{array.item()!r}"
    return f"an array of shape {array.shape}"


def _interval(lower, upper, lower_open: bool, upper_open: bool) -> str:
    lo = "-inf" if lower is None else f"{float(lower):g}"
    hi = "inf" if upper is None else f"{float(upper):g}"
    return f"{'(' if lower_open or lower is None else '['}{lo}, {hi}{')' if upper_open or upper is None else ']'}"


def _on_host(*values) -> bool:
    """Whether every value is a concrete number or numeric array, so a check can run in NumPy on the host (the
    same IEEE comparisons; a value of another kind keeps the JAX path and its error)."""
    return all(
        _is_concrete(v) and isinstance(v, numbers.Number | np.ndarray | np.generic | jax.Array) for v in values
    )


def check_real(
    value, name: str, owner: str, *, lower=None, upper=None, lower_open=False, upper_open=False, scalar=True
):
    """Return `value`, failing unless it is a finite real number (array if not `scalar`) in the interval.

    `lower`/`upper` may themselves be traced (e.g. `beta_max >= beta_min`); the bound is then named by value
    only where it is concrete. A non-scalar where a scalar is asked for is refused (never broadcast).
    """
    bounds = [b for b in (lower, upper) if b is not None]
    if _on_host(value, *bounds):  # all concrete numbers: compared in NumPy, no device round trip per check
        array, xp = np.asarray(value), np
        lower, upper = (None if b is None else np.asarray(b) for b in (lower, upper))
    else:
        array, xp = (jnp.asarray(value) if _is_concrete(value) else value), jnp
    if not jnp.issubdtype(jnp.result_type(array), jnp.number) or jnp.issubdtype(
        jnp.result_type(array), jnp.complexfloating
    ):
        raise TypeError(f"{owner}: {name} must be a real number; got {_shown(value)} of dtype {jnp.result_type(array)}")
    if scalar and jnp.ndim(array) != 0:
        raise ValueError(f"{owner}: {name} must be a scalar; got {_shown(value)}")
    ok = xp.isfinite(array)
    if lower is not None:
        ok = ok & ((array > lower) if lower_open else (array >= lower))
    if upper is not None:
        ok = ok & ((array < upper) if upper_open else (array <= upper))
    if xp is np and bool(np.all(ok)):
        return value  # the message is only written for a failure
    bounds_shown = all(_is_concrete(b) for b in (lower, upper) if b is not None)
    where = f" in {_interval(lower, upper, lower_open, upper_open)}" if bounds_shown else ""
    what = "a finite number" if scalar else "finite (every entry)"
    return check(value, ok, f"{owner}: {name} must be {what}{where}; got {name} = {_shown(value)}")


def tie(value, *checked):
    """`value`, kept dependent on inputs that passed a traced check, so the compiler cannot drop the check.

    `eqx.error_if` works by data dependence: a checked `t` whose value the result never reads (a constant
    diffusion `sigma * ones_like(t)`, a gather from a constant schedule) would be dead code, and XLA would remove
    its check with it. Adding $0 \\cdot t$ (cast to `value`'s dtype) keeps the dependence: IEEE arithmetic does not
    let the compiler fold $0 \\cdot t$ to 0 (it is NaN for infinite $t$), and for every $t$ that passed the check
    it adds exactly 0. Eagerly (all concrete) it returns `value` unchanged.
    """
    if all(_is_concrete(c) for c in checked):
        return value

    def tied(leaf):
        zero = sum(jnp.sum(jnp.asarray(c).astype(jnp.result_type(leaf))) for c in checked) * 0
        return leaf + zero

    return jax.tree_util.tree_map(tied, value)


def check_positive(value, name: str, owner: str):
    """A finite scalar > 0."""
    return check_real(value, name, owner, lower=0.0, lower_open=True)


def check_finite_array(value, name: str, owner: str):
    """Every entry of an array parameter (mixture means, covariances, data points) finite."""
    return check_real(value, name, owner, scalar=False)


def check_tolerance(value, name: str, owner: str):
    """An ODE tolerance: a finite scalar > 0."""
    return check_positive(value, name, owner)


def check_integer(value, name: str, owner: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A static (Python or NumPy) integer count, as `int`; a float, a bool or an array is refused, never rounded.

    An integral float such as `100.0` is refused as well: a step count that arrives as a float is a sign that
    something upstream computed it, and `int(2.5)` silently taking 2 steps is what this check exists to stop.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral | np.integer):
        integer_array = isinstance(value, np.ndarray | jax.Array) and jnp.issubdtype(value.dtype, jnp.integer)
        if integer_array and jnp.ndim(value) == 0:
            if not _is_concrete(value):
                raise TypeError(f"{owner}: {name} must be a static integer (it sets a loop length); got a traced value")
            value = int(value)
        else:
            raise TypeError(f"{owner}: {name} must be an integer; got {name} = {value!r} ({type(value).__name__})")
    value = operator.index(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(
            f"{owner}: {name} must be an integer in [{'-inf' if minimum is None else minimum}, "
            f"{'inf' if maximum is None else maximum}]; got {name} = {value}"
        )
    return value


def check_index(i, name: str, owner: str, *, minimum: int, maximum: int):
    """An integer index in `[minimum, maximum]`, possibly traced (checked at run time); never clamped or wrapped."""
    if isinstance(i, bool | np.bool_):
        raise TypeError(f"{owner}: {name} must be an integer index; got {i!r}")
    if not jnp.issubdtype(jnp.result_type(i), jnp.integer):
        raise TypeError(f"{owner}: index {name} must be an integer in [{minimum}, {maximum}]; got {_shown(i)}")
    if jnp.ndim(i) != 0:
        raise ValueError(f"{owner}: {name} must be a scalar index; got {_shown(i)}")
    return check(
        i,
        (jnp.asarray(i) >= minimum) & (jnp.asarray(i) <= maximum),
        f"{owner}: index {name} must be an integer in [{minimum}, {maximum}]; got {name} = {_shown(i)}",
    )


def check_label(y, n_classes: int, name: str, owner: str):
    """A class label (or an array of them) in `{0, ..., n_classes - 1}`, possibly traced; never wrapped."""
    if not jnp.issubdtype(jnp.result_type(y), jnp.integer) or isinstance(y, bool | np.bool_):
        raise TypeError(f"{owner}: {name} must be an integer class label in [0, {n_classes - 1}]; got {_shown(y)}")
    return check(
        y,
        (jnp.asarray(y) >= 0) & (jnp.asarray(y) < n_classes),
        f"{owner}: {name} must be a class label in [0, {n_classes - 1}]; got {name} = {_shown(y)}",
    )


#: the `(t, T)` pairs of `times_checked` blocks being traced (tracers, compared by identity)
_CHECKED_TIMES: contextvars.ContextVar[tuple] = contextvars.ContextVar("checked_times", default=())


@contextlib.contextmanager
def times_checked(t, T):
    r"""While tracing a loop body whose time `t` runs over a grid checked once before the loop: inside the block,
    `check_time` on this very `t` against this very `T` (both compared by identity, so a time computed from `t`,
    or another SDE's horizon, is still checked) returns `t` without a second, per-step run-time check.

    The caller must have checked $0 < t \le T$ for every value `t` takes, e.g. `check_time(grid, T, ...,
    lower_open=True)` on the whole grid, whose returned grid the loop then scans over (derivations/performance.md).
    """
    token = _CHECKED_TIMES.set(_CHECKED_TIMES.get() + ((t, T),))
    try:
        yield
    finally:
        _CHECKED_TIMES.reset(token)


def check_time(t, T, owner: str, name: str = "t", *, lower=0.0, lower_open: bool = False):
    """Return `t` (any shape: every entry checked), failing unless `lower <= t <= T` (the time domain of an SDE).

    Inside `times_checked(t, T)` with a lower bound 0 this returns `t` at once: the grid `t` runs over already
    passed $0 < t \\le T$ (which implies both $0 \\le t$ and $0 < t$)."""
    if isinstance(lower, int | float) and lower == 0 and any(t is t0 and T is T0 for t0, T0 in _CHECKED_TIMES.get()):
        return t
    if not jnp.issubdtype(jnp.result_type(t), jnp.number):
        raise TypeError(f"{owner}: time {name} must be a real number; got {_shown(t)}")
    T_shown = f" = {float(T):g}" if _is_concrete(T) else ""
    lo = f"{float(lower):g}"
    array = jnp.asarray(t)
    ok = (array > lower) if lower_open else (array >= lower)
    return check(
        t,
        ok & (array <= T),
        f"{owner}: time {name} must lie in {'(' if lower_open else '['}{lo}, T{T_shown}]; got {name} = {_shown(t)}",
    )


def check_float_dtype(x, name: str, owner: str):
    """Refuse half precision (and integer data): the kernels need float32 or float64."""
    dtype = jnp.result_type(x)
    if dtype in UNSUPPORTED_FLOATS:
        raise TypeError(f"{owner}: {name} has dtype {dtype}, which is not supported (use float32 or float64)")
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{owner}: {name} must be a floating-point array (float32 or float64); got dtype {dtype}")
    return x


def check_vector(x, d: int | None, name: str, owner: str):
    """One example: an array of shape `(d,)` (never a `(1,)` broadcast against `d`)."""
    shape = jnp.shape(x)
    if len(shape) != 1 or (d is not None and shape[0] != d):
        want = "(d,)" if d is None else f"({d},)"
        raise ValueError(f"{owner}: {name} must be one example of shape {want}; got shape {shape}")
    return x


def check_batch(x, d: int | None, name: str, owner: str):
    """A batch: an array of shape `(n, d)` with `n >= 1`."""
    shape = jnp.shape(x)
    if len(shape) != 2 or shape[0] < 1 or (d is not None and shape[1] != d):
        want = "(n, d)" if d is None else f"(n, {d})"
        raise ValueError(f"{owner}: {name} must be a batch of shape {want} with n >= 1; got shape {shape}")
    return x


def check_choice(value, allowed, name: str, owner: str):
    """An option name among `allowed`."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{owner}: {name} must be one of {tuple(allowed)}; got {name} = {value!r}")
    return value


#: `check_score_output`'s traced shapes, by the abstract signature of `(score_fn, x, t)` (bounded)
_SCORE_SHAPES: dict = {}
_SCORE_SHAPES_MAX = 256


def _abstract_signature(tree):
    """What `jax.eval_shape` of `tree`'s function can depend on: the tree structure, each array leaf's shape,
    dtype and weak type, and every other leaf itself (hashed as `jit` hashes static arguments; a function by
    identity). `None` when a leaf is traced or unhashable (then nothing is cached)."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    parts = []
    for leaf in leaves:
        if isinstance(leaf, jax.core.Tracer):
            return None
        if isinstance(leaf, jax.Array | np.ndarray | np.generic | jax.ShapeDtypeStruct):
            parts.append((leaf.shape, str(leaf.dtype), bool(getattr(leaf, "weak_type", False))))
        else:
            parts.append((type(leaf), leaf))
    signature = (treedef, tuple(parts))
    try:
        hash(signature)
    except TypeError:
        return None
    return signature


def _score_shape(score_fn, x, t):
    """`jax.eval_shape(score_fn, x, t)`, traced once per abstract signature (`_abstract_signature`): the same
    caching rule as the compiled samplers' own (a `filter_jit` cache hit reuses the trace, so a second trace
    here could not see anything the compiled sampler would)."""
    signature = _abstract_signature((score_fn, x, t))
    if signature is not None and signature in _SCORE_SHAPES:
        return _SCORE_SHAPES[signature]
    out = jax.eval_shape(score_fn, x, t)
    if signature is not None:
        if len(_SCORE_SHAPES) >= _SCORE_SHAPES_MAX:
            _SCORE_SHAPES.clear()
        _SCORE_SHAPES[signature] = out
    return out


def one_example(x) -> jax.ShapeDtypeStruct:
    """The abstract value of one row `x[0]` of a batch: its shape `x.shape[1:]`, dtype and weak type, and no
    sharding. Not the row itself: indexing a batch sharded over a mesh with `Explicit` axes is a gather whose
    output sharding JAX refuses to guess (`ShardingTypeError`), and the shape check needs no values."""
    return jax.ShapeDtypeStruct(jnp.shape(x)[1:], jnp.result_type(x), weak_type=bool(getattr(x, "weak_type", False)))


def check_score_output(owner: str, score_fn, x, name: str = "score_fn", input_name: str = "x_T") -> None:
    """`score_fn(x, t)` on one example `x` and a time `t` of its dtype must return an array of the shape and dtype
    of `x` (traced once by `jax.eval_shape` on abstract values, nothing computed; once per abstract signature,
    `_score_shape`): a `(d,)` score for `(d,)` data, and no float32/float64 mixture (with x64 on, float32 samples
    meeting a float64 score would otherwise fail deep inside `lax.scan` or diffrax)."""
    try:
        out = _score_shape(score_fn, x, jax.ShapeDtypeStruct((), jnp.result_type(x)))
    except (ValueError, TypeError) as exc:  # e.g. a (1,) example for 2-D data: say which input of `owner` it was
        message = f"{owner}: {input_name} (one example of shape {jnp.shape(x)}) does not fit {name}: {exc}"
        raise type(exc)(message) from exc
    shape, dtype = getattr(out, "shape", None), getattr(out, "dtype", None)
    if shape != jnp.shape(x):
        raise ValueError(f"{owner}: {name}(x, t) must return the shape of one example {jnp.shape(x)}; got {shape}")
    if dtype != jnp.result_type(x):
        raise TypeError(
            f"{owner}: mixed dtypes: {input_name} has dtype {jnp.result_type(x)} but {name}(x, t) returns {dtype}; "
            "cast x_T or the score's parameters (e.g. the data distribution) so they agree"
        )
