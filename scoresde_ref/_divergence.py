r"""The divergence $\nabla\cdot f(x) = \mathrm{tr}\,\partial f/\partial x$: exactly (forward-mode
Jacobian) and by Hutchinson's estimator $v^\top (\partial f/\partial x)\, v$.

One family of estimators serves the implicit score-matching loss (`losses/_objectives.py: ISM`) and the
likelihood (`likelihood/_log_likelihood.py: log_likelihood`):

- `ExactDivergence()`: $\mathrm{tr}\,J$ from the `d` columns $J e_i$ (`d` JVPs); no probes.
- `Hutchinson(probe, n_probes)`: $v^\top J v$ for probes $v$ with $E[v v^\top] = I$ (one JVP each),
  `"rademacher"` ($v_i = \pm 1$) or `"gaussian"` ($v \sim \mathcal N(0, I)$).

For such a probe $E[v^\top J v] = \mathrm{tr} J$ (unbiased). Its variance, with $J_s = (J + J^\top)/2$
(derivations/hutchinson.md):

- Gaussian $v \sim \mathcal N(0, I)$: $\mathrm{Var} = 2\|J_s\|_F^2 = \|J\|_F^2 + \mathrm{tr}(J^2)$;
- Rademacher $v_i = \pm 1$: $\mathrm{Var} = 2\|J_s\|_F^2 - 2\sum_i J_{ii}^2$ (never larger).

**Noise can be given.** An estimator draws its probes with `sample_probes(key, shape)` and evaluates with
`divergence(fn, x, v)` / `value_and_divergence(fn, x, probes)`, which take the probes explicitly; the
exact trace draws none (`None`). The strings `"exact"`, `"hutchinson"` of the public functions are mapped
to these objects by `as_divergence`, the one place that reads them.

Sources: 001_cbf75b2ce1966cfb.txt "Implicit Score matching"; 004_77456edc02bb59d5.txt §1.2–1.3
(sliced score matching; Hutchinson's estimator in the likelihood).
"""

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from ._custom_types import Array, Key, Matrix, Scalar, Vector

VectorFn = Callable[[Vector], Vector]
_PROBE_SAMPLERS = {"gaussian": jax.random.normal, "rademacher": jax.random.rademacher}
PROBES = tuple(_PROBE_SAMPLERS)
DIVERGENCES = ("exact", "hutchinson")


def check_probe(probe: str, owner: str) -> str:
    """Return `probe`, raising `ValueError` (listing the allowed names) unless it is in `PROBES`."""
    if probe not in _PROBE_SAMPLERS:
        raise ValueError(f"{owner}: probe must be one of {PROBES}; got {probe!r}")
    return probe


def sample_probe(key: Key, shape: tuple[int, ...], probe: str = "rademacher", dtype=None) -> Array:
    """Probe vectors with $E[v v^\\top] = I$: standard normal, or independent $\\pm 1$ signs."""
    check_probe(probe, "sample_probe")
    return _PROBE_SAMPLERS[probe](key, shape, dtype=dtype or jnp.result_type(float))


def _value_and_jvps(fn: VectorFn, x: Vector, tangents: Array) -> tuple[Vector, Array]:
    """`(f(x), rows J t_k)` for the rows `t_k` of `tangents` `(n, d)`: one evaluation of $f$, one JVP per row."""
    return jax.vmap(lambda v: jax.jvp(fn, (x,), (v,)), out_axes=(None, 0))(tangents)


def value_and_divergence(fn: VectorFn, x: Vector) -> tuple[Vector, Scalar]:
    """`(f(x), ∇·f(x))`: one evaluation of $f$ and `d` JVPs (the columns of the Jacobian)."""
    value, columns = _value_and_jvps(fn, x, jnp.eye(x.shape[-1], dtype=jnp.result_type(x)))
    return value, jnp.trace(columns)


def value_and_quadratic_forms(fn: VectorFn, x: Vector, probes: Array) -> tuple[Vector, Array]:
    """`(f(x), [v_k^T J v_k]_k)` for the probes `v_k`, the rows of `probes` `(n, d)`: one evaluation of
    $f$ and `n` JVPs. Each entry is a one-probe Hutchinson estimate of $\\nabla\\cdot f(x)$."""
    value, jv = _value_and_jvps(fn, x, probes)
    return value, jnp.sum(probes * jv, axis=-1)


def divergence(fn: VectorFn, x: Vector) -> Scalar:
    """$\\nabla\\cdot f(x)$, the trace of the forward-mode Jacobian (`d` JVPs)."""
    return value_and_divergence(fn, x)[1]


def quadratic_form(fn: VectorFn, x: Vector, v: Vector) -> Scalar:
    """$v^\\top (\\partial f/\\partial x)\\, v$ for one given probe `v` `(d,)` (one JVP)."""
    _, jv = jax.jvp(fn, (x,), (v,))
    return jnp.vdot(v, jv)


def hutchinson_divergence(key: Key, fn: VectorFn, x: Vector, *, probe: str = "rademacher") -> Scalar:
    """One-probe Hutchinson estimate $v^\\top (\\partial f/\\partial x)\\, v$ (one JVP), unbiased for
    $\\nabla\\cdot f(x)$."""
    return quadratic_form(fn, x, sample_probe(key, x.shape, probe, jnp.result_type(x)))


def hutchinson_variance(jac: Matrix, probe: str) -> Scalar:
    """The exact variance of $v^\\top J v$ for one probe: $\\|J\\|_F^2 + \\mathrm{tr}(J^2)$ (Gaussian),
    minus $2\\sum_i J_{ii}^2$ (Rademacher)."""
    check_probe(probe, "hutchinson_variance")
    gaussian = jnp.sum(jac**2) + jnp.trace(jac @ jac)
    if probe == "gaussian":
        return gaussian
    return gaussian - 2 * jnp.sum(jnp.diagonal(jac) ** 2)


class AbstractDivergence(eqx.Module):
    """An estimator of $\\nabla\\cdot f(x)$ with explicit probes (`None` when it needs none); `uses_probes` says
    whether it draws any (then it needs a key, or the probes given)."""

    uses_probes: eqx.AbstractClassVar[bool]

    @abc.abstractmethod
    def sample_probes(self, key: Key | None, shape: tuple[int, ...], dtype=None) -> Array | None:
        """The probes of one estimate: `shape` is `(d,)` for one probe, `(n_probes, d)` for the likelihood."""

    @abc.abstractmethod
    def divergence(self, fn: VectorFn, x: Vector, v: Vector | None) -> Scalar:
        """One estimate of $\\nabla\\cdot f(x)$ from the probe `v` `(d,)` (`None` for the exact trace)."""

    @abc.abstractmethod
    def value_and_divergence(self, fn: VectorFn, x: Vector, probes: Array | None) -> tuple[Vector, Array]:
        """`(f(x), estimate)`: the trace (a scalar), or the `(n_probes,)` one-probe estimates of `probes`
        `(n_probes, d)`."""


class ExactDivergence(AbstractDivergence):
    r"""$\nabla\cdot f(x) = \mathrm{tr}\,\partial f/\partial x$ from the forward-mode Jacobian (`d` JVPs); no probes."""

    uses_probes: ClassVar[bool] = False

    def sample_probes(self, key, shape, dtype=None) -> None:
        return None

    def divergence(self, fn, x, v=None) -> Scalar:
        return divergence(fn, x)

    def value_and_divergence(self, fn, x, probes=None):
        return value_and_divergence(fn, x)


class Hutchinson(AbstractDivergence):
    r"""Hutchinson's estimator $v^\top (\partial f/\partial x)\, v$, $E[v v^\top] = I$, one JVP per probe.

    **Arguments:** `probe`: `"rademacher"` (the reference code's default; smaller variance) or
    `"gaussian"`; `n_probes` (the likelihood): probes drawn once per integration (a loss draws one per
    example, `n_probes = 1`).
    """

    probe: str = eqx.field(default="rademacher", static=True)
    n_probes: int = eqx.field(default=1, static=True)
    uses_probes: ClassVar[bool] = True

    def __check_init__(self):
        check_probe(self.probe, "Hutchinson")
        if int(self.n_probes) < 1:
            raise ValueError(f"Hutchinson: n_probes must be >= 1; got {self.n_probes}")

    def sample_probes(self, key, shape, dtype=None) -> Array:
        return sample_probe(key, shape, self.probe, dtype)

    def divergence(self, fn, x, v) -> Scalar:
        return quadratic_form(fn, x, v)

    def value_and_divergence(self, fn, x, probes):
        return value_and_quadratic_forms(fn, x, probes)

    def variance(self, jac: Matrix) -> Scalar:
        """The exact variance of one estimate for the Jacobian `jac` (`hutchinson_variance`)."""
        return hutchinson_variance(jac, self.probe)


def as_divergence(
    divergence: str | AbstractDivergence, owner: str, *, probe: str = "rademacher", n_probes: int = 1
) -> AbstractDivergence:
    """The one place the strings are read: `"exact"` -> `ExactDivergence()`, `"hutchinson"` ->
    `Hutchinson(probe, n_probes)`; an estimator object is returned as it is (then `probe`, `n_probes` unused)."""
    if isinstance(divergence, AbstractDivergence):
        return divergence
    if divergence not in DIVERGENCES:
        raise ValueError(
            f"{owner}: divergence must be one of {DIVERGENCES} or an AbstractDivergence; got {divergence!r}"
        )
    check_probe(probe, owner)
    if divergence == "exact":
        return ExactDivergence()
    if int(n_probes) < 1:
        raise ValueError(f"{owner}: n_probes must be >= 1; got {n_probes}")
    return Hutchinson(probe, int(n_probes))
