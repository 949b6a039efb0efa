"""Helpers shared by the tests, written once (as diffrax's and lineax's `test/helpers.py`).

- `assert_mean_within`, `assert_var_within`, `assert_moments`: Monte-Carlo moments against exact
  ones, within `n_se` standard errors per entry. At 5 SE a Gaussian-approximated statistic fails with
  probability 5.7e-7 per entry (two-sided); the keys are fixed, so the suite is never flaky.
- `fit_order`: the slope of a log–log fit (convergence orders are asserted within ±0.15 of theory).
- `count_compilations`: how many XLA compilations a block triggers (compiled entry points compile
  once per shape and static configuration: a second eager call must compile nothing).
- `write_peer_table`: the peer files' comparison rows, as one markdown table at `$SCORESDE_PEERS_TABLE`.
"""

import contextlib
import os
import threading
import time

import jax
import numpy as np

from scoresde_ref.exact import fit_order as fit_order  # one log–log fit serves the tests and `verify`

N_SE = 5.0  # 5 standard errors: two-sided Gaussian tail 5.7e-7 per entry


def assert_mean_within(xs, mean, var, n_se=N_SE):
    """|x̄_i − m_i| < n_se √(v_i / n) for every entry i; `xs` is `(n, ...)`, `mean` and `var` broadcast to
    `xs.shape[1:]` (var is the variance of one draw)."""
    xs = np.asarray(xs)
    n = xs.shape[0]
    err = np.abs(xs.mean(0) - np.asarray(mean))
    bound = n_se * np.sqrt(np.asarray(var) / n)
    assert np.all(err < bound), f"sample mean off by {err} > {bound} ({n_se} SE, n = {n})"


def assert_var_within(xs, var, n_se=N_SE):
    """|ŝ²_i − v_i| < n_se v_i √(2 / n) for every entry i (Gaussian draws: Var(ŝ²) ≈ 2 v² / n)."""
    xs = np.asarray(xs)
    n = xs.shape[0]
    var = np.asarray(var)
    err = np.abs(xs.var(0) - var)
    bound = n_se * var * np.sqrt(2 / n)
    assert np.all(err < bound), f"sample variance off by {err} > {bound} ({n_se} SE, n = {n})"


def assert_moments(xs, mean, cov, n_se=N_SE):
    """Sample mean and covariance of `xs` `(n, d)` within `n_se` standard errors per entry (Gaussian
    samples: Var(x̄_i) = C_ii/n, Var(Ĉ_ij) = (C_ii C_jj + C_ij²)/n)."""
    xs = np.asarray(xs)
    n = xs.shape[0]
    mean, cov = np.asarray(mean), np.asarray(cov)
    var = np.diagonal(cov)
    assert_mean_within(xs, mean, var, n_se)
    err = np.abs(np.cov(xs.T).reshape(cov.shape) - cov)
    bound = n_se * np.sqrt((var[:, None] * var[None] + cov**2) / n)
    assert np.all(err < bound), f"sample covariance off by {err} > {bound} ({n_se} SE, n = {n})"


_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_counter = threading.local()


def _listener(event, duration, **kwargs):
    if event == _COMPILE_EVENT and getattr(_counter, "active", None) is not None:
        _counter.active[0] += 1


jax.monitoring.register_event_duration_secs_listener(_listener)


@contextlib.contextmanager
def count_compilations():
    """`with count_compilations() as n: f(x)`; then `n[0]` is the number of XLA backend compilations
    inside the block (every jit, eager op or `filter_jit` that is not a cache hit counts one)."""
    previous = getattr(_counter, "active", None)
    _counter.active = [0]
    try:
        yield _counter.active
    finally:
        _counter.active = previous


_SESSION_START = time.time()  # this process's first import: a table older than this is from an earlier run


def write_peer_table(rows) -> None:
    """Write `rows` `(library, method, max error, verdict)` to the markdown table at `$SCORESDE_PEERS_TABLE`,
    appended when another peer file of this run already started it (its mtime is after this process started),
    else started afresh. Nothing is written when the variable is unset or there are no rows."""
    path = os.environ.get("SCORESDE_PEERS_TABLE")
    if not path or not rows:
        return
    fresh = not os.path.exists(path) or os.path.getmtime(path) < _SESSION_START
    with open(path, "w" if fresh else "a") as f:
        if fresh:
            f.write("| library | method | max error | verdict |\n|---|---|---|---|\n")
        f.writelines(f"| {lib} | {m} | {e:.2e} | {v} |\n" for lib, m, e, v in rows)
