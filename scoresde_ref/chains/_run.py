"""Running chains and discretizations forward and backward as one jit-compiled `lax.scan`, and the
exact moment recursion of a linear-Gaussian step (the deterministic route of the chain tests)."""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Array, Key, Vector


@eqx.filter_jit  # a failed run-time check (an index) raises a readable EquinoxRuntimeError
def chain_path(chain, x0: Vector, zs: Array, *, trajectory: bool = False):
    """Run $x_i = $ `chain.step(x_{i-1}, i, zs[i-1])` for $i = 1, \\dots, N$ with given noises `zs` of shape `(N, d)`.

    `chain` is any object with `n_steps` and `step(x, i, z)`: a chain or a `Discretization`.
    Returns $x_N$, or `(x_N, path)` with `path` of shape `(N + 1, d)` (rows $x_0, \\dots, x_N$) if `trajectory`.
    """
    indices = jnp.arange(1, chain.n_steps + 1)

    def body(x, i_z):
        x = chain.step(x, *i_z)
        return x, (x if trajectory else None)

    x_last, path = jax.lax.scan(body, x0, (indices, zs))
    return (x_last, jnp.concatenate([x0[None], path])) if trajectory else x_last


@eqx.filter_jit
def sample_path(key: Key, chain, x0: Vector, *, trajectory: bool = False):
    """Draw a forward path from $x_0$: `chain_path` with $z_i$ = `jax.random.normal(key, (N, d))[i - 1]`.

    One `lax.scan` (the step is traced once, whatever $N$); compiled once per `(N, d)` and dtype:
    new schedule values of the same length reuse the compilation.
    """
    zs = jax.random.normal(key, (chain.n_steps,) + jnp.shape(x0), dtype=jnp.result_type(x0))
    return chain_path(chain, x0, zs, trajectory=trajectory)


@eqx.filter_jit
def sample_reverse_path(key: Key, chain, score_fn: Callable, x_N: Vector, *, trajectory: bool = False):
    """Ancestral sampling: $x_{i-1}$ = `chain.reverse_step(x_i, i, score_fn, z_i)` for $i = N, \\dots, 1$.

    `chain` is any `AbstractChain` (see its `reverse_kernel` for the index of the score).
    $z_i$ = `jax.random.normal(key, (N, d))[i - 1]`. Returns $x_0$, or `(x_0, path)` with rows
    $x_N, \\dots, x_0$ if `trajectory`.
    """
    zs = jax.random.normal(key, (chain.n_steps,) + jnp.shape(x_N), dtype=jnp.result_type(x_N))
    indices = jnp.arange(chain.n_steps, 0, -1)

    def body(x, i):
        x = chain.reverse_step(x, i, score_fn, zs[i - 1])
        return x, (x if trajectory else None)

    x_first, path = jax.lax.scan(body, x_N, indices)
    return (x_first, jnp.concatenate([x_N[None], path])) if trajectory else x_first


@eqx.filter_jit  # a failed run-time check (an index) raises a readable EquinoxRuntimeError
def propagate_moments(step: Callable, mean: Vector, var: Vector, indices: Array) -> tuple[Array, Array]:
    """Exact per-coordinate mean and variance through steps $x' = $ `step(x, i, z)`, $z \\sim \\mathcal N(0, I)$,
    for `i` in `indices`, when `step` is affine in `x` and `z` with diagonal coefficients:
    $x' = c \\odot x + e + b \\odot z$, read off as $e$ = `step(0, i, 0)`, $c$ = `step(1, i, 0)` $- e$,
    $b$ = `step(0, i, 1)` $- e$. Then mean' $= c\\,$mean $+ e$, var' $= c^2$ var $+ b^2$ (a deterministic recursion).

    Returns `(means, vars)` of shape `(len(indices) + 1, d)`, the first row the input.
    """

    def body(carry, i):
        m, v = carry
        zero, one = jnp.zeros_like(m), jnp.ones_like(m)
        e = step(zero, i, zero)
        c, b = step(one, i, zero) - e, step(zero, i, one) - e
        new = (c * m + e, c**2 * v + b**2)
        return new, new

    _, (means, variances) = jax.lax.scan(body, (mean, var), indices)
    return jnp.concatenate([mean[None], means]), jnp.concatenate([var[None], variances])
