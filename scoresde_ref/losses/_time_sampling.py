r"""Drawing the times $t_i \in [\epsilon, T]$ of a Monte-Carlo loss, and the standard error of
the resulting estimate: each design carries its own standard-error rule.

- `UniformTimes()` (`"uniform"`): $t_i = \epsilon + (T - \epsilon) u_i$, $u_i \sim U(0, 1)$ i.i.d.;
  standard error $\hat\sigma/\sqrt n$.
- `StratifiedTimes()` (`"stratified"`; jittered, a low-discrepancy design):
  $t_i = \epsilon + (T - \epsilon)(i + u_i)/n$, one independent uniform point in each of $n$ equal
  strata. The estimate $\frac1n\sum_i y_i$ stays unbiased for $E_{t \sim U(\epsilon, T)}[\cdot]$, and
  its variance $\frac1{n^2}\sum_i \mathrm{Var}(y_i)$ drops the between-strata part of the uniform
  design's variance. Standard error: the collapsed-strata estimator
  $\widehat{\mathrm{Var}} = \frac{1}{n^2}\sum_{k}(y_{2k} - y_{2k+1})^2$ over adjacent pairs, whose
  expectation is $\frac1{n^2}\sum_i \mathrm{Var}(y_i)$ plus the squared differences of adjacent strata
  means (conservative, by $O(n^{-3})$ for smooth integrands).

`as_time_sampler` maps the strings to these objects (the one place that reads them).
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Array, Key, ScalarLike
from .._validation import check_integer, check_positive, check_real


class AbstractTimeSampler(eqx.Module):
    r"""A design for the times of a Monte-Carlo loss, and the standard error that goes with it."""

    @abc.abstractmethod
    def unit_points(self, key: Key, n: int, dtype) -> Array:
        """`n` points in $[0, 1)$, shape `(n,)`; the times are $\\epsilon + (T - \\epsilon)$ times these."""

    @abc.abstractmethod
    def mean_and_stderr(self, values: Array) -> tuple[Array, Array]:
        """`(mean, standard error)` of $\\frac1n\\sum_i y_i$ for the terms `values` `(n,)`, in drawing order."""

    def sample(self, key: Key, n: int, T: ScalarLike, eps: ScalarLike, dtype=None) -> Array:
        """`n` times in $[\\epsilon, T]$, shape `(n,)` (unchecked; `sample_times` checks `eps`)."""
        return eps + (T - eps) * self.unit_points(key, n, dtype or jnp.result_type(float))


class UniformTimes(AbstractTimeSampler):
    r"""$t_i = \epsilon + (T - \epsilon) u_i$, $u_i \sim U(0, 1)$ i.i.d.; standard error $\hat\sigma/\sqrt n$."""

    def unit_points(self, key, n, dtype):
        return jax.random.uniform(key, (n,), dtype=dtype)

    def mean_and_stderr(self, values):
        n = values.shape[0]
        if n < 2:
            raise ValueError(f"mean_and_stderr: need n >= 2 values; got {n}")
        return jnp.mean(values), jnp.std(values, ddof=1) / jnp.sqrt(n)


class StratifiedTimes(AbstractTimeSampler):
    r"""$t_i = \epsilon + (T - \epsilon)(i + u_i)/n$, one point per stratum in increasing order; standard
    error by collapsed strata, $\sqrt{\sum_k (y_{2k} - y_{2k+1})^2}/n$ (`n` even)."""

    def unit_points(self, key, n, dtype):
        return (jnp.arange(n, dtype=dtype) + jax.random.uniform(key, (n,), dtype=dtype)) / n

    def mean_and_stderr(self, values):
        n = values.shape[0]
        if n < 2 or n % 2:
            raise ValueError(
                f"mean_and_stderr: stratified estimates need an even n >= 2 (pairs of strata); got n = {n}"
            )
        pairs = jnp.reshape(values, (n // 2, 2))
        return jnp.mean(values), jnp.sqrt(jnp.sum((pairs[:, 0] - pairs[:, 1]) ** 2)) / n


_TIME_SAMPLERS = {"uniform": UniformTimes, "stratified": StratifiedTimes}
TIME_SAMPLINGS = tuple(_TIME_SAMPLERS)


def as_time_sampler(method: str | AbstractTimeSampler, owner: str) -> AbstractTimeSampler:
    """`"uniform"`, `"stratified"` -> the sampler object (an object is returned as it is); other names
    raise `ValueError` listing the allowed ones."""
    if isinstance(method, AbstractTimeSampler):
        return method
    if method not in _TIME_SAMPLERS:
        raise ValueError(
            f"{owner}: time_sampling must be one of {TIME_SAMPLINGS} or an AbstractTimeSampler; got {method!r}"
        )
    return _TIME_SAMPLERS[method]()


def check_eps(eps: ScalarLike, T: ScalarLike, owner: str):
    """Return `eps`, failing unless $0 < \\epsilon < T$ (eagerly, or through `eqx.error_if` when traced)."""
    return check_real(eps, "eps", owner, lower=0.0, upper=T, lower_open=True, upper_open=True)


def sample_times(
    key: Key, n: int, T: ScalarLike, *, eps: ScalarLike, method: str | AbstractTimeSampler = "uniform", dtype=None
) -> Array:
    """`n` times in $[\\epsilon, T]$ drawn by `method` (`"uniform"`, `"stratified"` or a sampler object), shape `(n,)`.

    With `"stratified"`, time `i` lies in the `i`-th of `n` equal strata (in increasing order).
    Fails unless $0 < \\epsilon < T$.
    """
    sampler = as_time_sampler(method, "sample_times")
    n = check_integer(n, "n", "sample_times", minimum=1)
    return sampler.sample(key, n, check_positive(T, "T", "sample_times"), check_eps(eps, T, "sample_times"), dtype)


def mean_and_stderr(values: Array, *, method: str | AbstractTimeSampler = "uniform") -> tuple[Array, Array]:
    """`(mean, standard error)` of the Monte-Carlo estimate $\\frac1n\\sum_i y_i$.

    `values` are the per-example terms $y_i$, shape `(n,)`, in the order `sample_times` drew
    their times (for `"stratified"`, stratum order; `n` must then be even).
    """
    return as_time_sampler(method, "mean_and_stderr").mean_and_stderr(values)
