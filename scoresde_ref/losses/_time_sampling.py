r"""Drawing the times $t_i \in [\epsilon, T]$ of a Monte-Carlo loss, and the standard error of
the resulting estimate.

- `"uniform"`: $t_i = \epsilon + (T - \epsilon) u_i$, $u_i \sim U(0, 1)$ i.i.d.
- `"stratified"` (jittered, a low-discrepancy design): $t_i = \epsilon + (T - \epsilon)(i + u_i)/n$,
  one independent uniform point in each of $n$ equal strata. The estimate
  $\frac1n\sum_i y_i$ stays unbiased for $E_{t \sim U(\epsilon, T)}[\cdot]$, and its variance
  $\frac1{n^2}\sum_i \mathrm{Var}(y_i)$ drops the between-strata part of the uniform design's variance.

The standard error (`mean_and_stderr`): uniform, $\hat\sigma/\sqrt n$; stratified, the
collapsed-strata estimator $\widehat{\mathrm{Var}} = \frac{1}{n^2}\sum_{k}(y_{2k} - y_{2k+1})^2$
over adjacent pairs, whose expectation is $\frac1{n^2}\sum_i \mathrm{Var}(y_i)$ plus the squared
differences of adjacent strata means (conservative, by $O(n^{-3})$ for smooth integrands).
"""

import jax
import jax.numpy as jnp

from .._custom_types import Array, Key, ScalarLike
from .._validation import check

TIME_SAMPLINGS = ("uniform", "stratified")


def check_time_sampling(method: str, owner: str) -> str:
    """Return `method`, raising `ValueError` (listing the allowed names) unless it is in `TIME_SAMPLINGS`."""
    if method not in TIME_SAMPLINGS:
        raise ValueError(f"{owner}: time_sampling must be one of {TIME_SAMPLINGS}; got {method!r}")
    return method


def sample_times(key: Key, n: int, T: ScalarLike, *, eps: ScalarLike, method: str = "uniform", dtype=None) -> Array:
    """`n` times in $[\\epsilon, T]$ drawn by `method` (`"uniform"` or `"stratified"`), shape `(n,)`.

    With `"stratified"`, time `i` lies in the `i`-th of `n` equal strata (in increasing order).
    Fails unless $0 < \\epsilon < T$.
    """
    check_time_sampling(method, "sample_times")
    eps = check(eps, (jnp.asarray(eps) > 0) & (jnp.asarray(eps) < T), "sample_times: eps must satisfy 0 < eps < T")
    dtype = dtype or jnp.result_type(float)
    u = jax.random.uniform(key, (n,), dtype=dtype)
    if method == "stratified":
        u = (jnp.arange(n, dtype=dtype) + u) / n
    return eps + (T - eps) * u


def mean_and_stderr(values: Array, *, method: str = "uniform") -> tuple[Array, Array]:
    """`(mean, standard error)` of the Monte-Carlo estimate $\\frac1n\\sum_i y_i$.

    `values` are the per-example terms $y_i$, shape `(n,)`, in the order `sample_times` drew
    their times (for `"stratified"`, stratum order; `n` must then be even).
    """
    check_time_sampling(method, "mean_and_stderr")
    n = values.shape[0]
    mean = jnp.mean(values)
    if method == "uniform":
        if n < 2:
            raise ValueError(f"mean_and_stderr: need n >= 2 values; got {n}")
        return mean, jnp.std(values, ddof=1) / jnp.sqrt(n)
    if n < 2 or n % 2:
        raise ValueError(f"mean_and_stderr: stratified estimates need an even n >= 2 (pairs of strata); got n = {n}")
    pairs = jnp.reshape(values, (n // 2, 2))
    return mean, jnp.sqrt(jnp.sum((pairs[:, 0] - pairs[:, 1]) ** 2)) / n
