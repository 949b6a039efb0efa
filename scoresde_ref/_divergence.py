r"""The divergence $\nabla\cdot f(x) = \mathrm{tr}\,\partial f/\partial x$: exactly (forward-mode
Jacobian) and by Hutchinson's estimator $v^\top (\partial f/\partial x)\, v$.

For a probe $v$ with $E[v v^\top] = I$, $E[v^\top J v] = \mathrm{tr} J$ (unbiased). Its variance,
with $J_s = (J + J^\top)/2$ (derivations/hutchinson.md):

- Gaussian $v \sim \mathcal N(0, I)$: $\mathrm{Var} = 2\|J_s\|_F^2 = \|J\|_F^2 + \mathrm{tr}(J^2)$;
- Rademacher $v_i = \pm 1$: $\mathrm{Var} = 2\|J_s\|_F^2 - 2\sum_i J_{ii}^2$ (never larger).

Used by the implicit and sliced score-matching losses (001_cbf75b2ce1966cfb.txt "Implicit Score
matching"; 004_77456edc02bb59d5.txt §1.2 cites sliced score matching).
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ._custom_types import Array, Key, Matrix, Scalar, Vector

PROBES = ("gaussian", "rademacher")


def check_probe(probe: str, owner: str) -> str:
    """Return `probe`, raising `ValueError` (listing the allowed names) unless it is in `PROBES`."""
    if probe not in PROBES:
        raise ValueError(f"{owner}: probe must be one of {PROBES}; got {probe!r}")
    return probe


def sample_probe(key: Key, shape: tuple[int, ...], probe: str = "rademacher", dtype=None) -> Array:
    """Probe vectors with $E[v v^\\top] = I$: standard normal, or independent $\\pm 1$ signs."""
    check_probe(probe, "sample_probe")
    dtype = dtype or jnp.result_type(float)
    if probe == "gaussian":
        return jax.random.normal(key, shape, dtype=dtype)
    return jax.random.rademacher(key, shape, dtype=dtype)


def _value_and_jvps(fn: Callable[[Vector], Vector], x: Vector, tangents: Array) -> tuple[Vector, Array]:
    """`(f(x), rows J t_k)` for the rows `t_k` of `tangents` `(n, d)`: one evaluation of $f$, one JVP per row."""
    return jax.vmap(lambda v: jax.jvp(fn, (x,), (v,)), out_axes=(None, 0))(tangents)


def value_and_divergence(fn: Callable[[Vector], Vector], x: Vector) -> tuple[Vector, Scalar]:
    """`(f(x), ∇·f(x))`: one evaluation of $f$ and `d` JVPs (the columns of the Jacobian)."""
    value, columns = _value_and_jvps(fn, x, jnp.eye(x.shape[-1], dtype=jnp.result_type(x)))
    return value, jnp.trace(columns)


def value_and_quadratic_forms(fn: Callable[[Vector], Vector], x: Vector, probes: Array) -> tuple[Vector, Array]:
    """`(f(x), [v_k^T J v_k]_k)` for the probes `v_k`, the rows of `probes` `(n, d)`: one evaluation of
    $f$ and `n` JVPs. Each entry is a one-probe Hutchinson estimate of $\\nabla\\cdot f(x)$."""
    value, jv = _value_and_jvps(fn, x, probes)
    return value, jnp.sum(probes * jv, axis=-1)


def divergence(fn: Callable[[Vector], Vector], x: Vector) -> Scalar:
    """$\\nabla\\cdot f(x)$, the trace of the forward-mode Jacobian (`d` JVPs)."""
    return value_and_divergence(fn, x)[1]


def hutchinson_divergence(key: Key, fn: Callable[[Vector], Vector], x: Vector, *, probe: str = "rademacher") -> Scalar:
    """One-probe Hutchinson estimate $v^\\top (\\partial f/\\partial x)\\, v$ (one JVP), unbiased for $\\nabla\\cdot f(x)$."""
    v = sample_probe(key, x.shape, probe, jnp.result_type(x))
    _, jv = jax.jvp(fn, (x,), (v,))
    return jnp.vdot(v, jv)


def hutchinson_variance(jac: Matrix, probe: str) -> Scalar:
    """The exact variance of $v^\\top J v$ for one probe: $\\|J\\|_F^2 + \\mathrm{tr}(J^2)$ (Gaussian),
    minus $2\\sum_i J_{ii}^2$ (Rademacher)."""
    check_probe(probe, "hutchinson_variance")
    gaussian = jnp.sum(jac**2) + jnp.trace(jac @ jac)
    if probe == "gaussian":
        return gaussian
    return gaussian - 2 * jnp.sum(jnp.diagonal(jac) ** 2)
