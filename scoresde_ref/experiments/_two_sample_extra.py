r"""Two-sample quantities the experiments need beyond `scoresde_ref.metrics` (derivations/experiments.md §3): the
unbiased MMD² with a multi-scale Gaussian kernel, the $W_1$ distance of a 1-D sample to an exact CDF, and the
two-sample noise floor of any statistic (the statistic between two independent draws of the truth itself).
NumPy on the host, inputs `(n, d)`.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

CHUNK = 1024
BANDWIDTH_FACTORS = (1 / 16, 1 / 4, 1.0)
"""Bandwidths $h_j$ = these × the median pairwise distance of the reference sample: $h/16$ sees the smile's eyes
(std 0.02 against a median distance of ≈ 1.1), $h$ its overall shape."""


@jax.jit
def _block_sum(block, y, inv):
    d2 = jnp.sum(block * block, axis=1)[:, None] + jnp.sum(y * y, axis=1)[None, :] - 2 * block @ y.T
    return jnp.sum(jnp.mean(jnp.exp(jnp.maximum(d2, 0.0)[..., None] * inv[None, None, :]), axis=-1))


def _kernel_sum(x, y, bandwidths, *, same: bool) -> float:
    r"""$\sum_{i, j} k(x_i, y_j)$ ($i \ne j$ when `same`), $k = \frac1J\sum_j e^{-|a-b|^2/2h_j^2}$, in row chunks of
    `CHUNK` (compiled; float64 when x64 is on)."""
    inv = jnp.asarray(-0.5 / np.asarray(bandwidths, np.float64) ** 2)
    y = jnp.asarray(y)
    total = sum(float(_block_sum(jnp.asarray(x[start : start + CHUNK]), y, inv)) for start in range(0, len(x), CHUNK))
    return total - x.shape[0] if same else total  # the diagonal, k(x_i, x_i) = 1


def mmd2_unbiased(x, y, bandwidths) -> float:
    r"""The unbiased $\widehat{\mathrm{MMD}}{}^2_u$ (Gretton et al. 2012, eq. 3) between samples `x` `(n, d)` and `y`
    `(m, d)` with the kernel $k(a, b) = \frac1J\sum_j \exp(-|a - b|^2/2h_j^2)$ (characteristic, $0 < k \le 1$):
    $\frac{1}{n(n-1)}\sum_{i\ne j}k(x_i,x_j) + \frac{1}{m(m-1)}\sum_{i\ne j}k(y_i,y_j) - \frac{2}{nm}\sum_{i,j}
    k(x_i,y_j)$. Its mean is 0 when the two laws agree (it can be negative)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(x.shape[0], y.shape[0]) < 2:
        raise ValueError(f"mmd2_unbiased: x and y must be (n, d) and (m, d) with n, m >= 2; got {x.shape}, {y.shape}")
    n, m = x.shape[0], y.shape[0]
    xx = _kernel_sum(x, x, bandwidths, same=True) / (n * (n - 1))
    yy = _kernel_sum(y, y, bandwidths, same=True) / (m * (m - 1))
    xy = _kernel_sum(x, y, bandwidths, same=False) / (n * m)
    return xx + yy - 2 * xy


def median_bandwidths(reference, factors=BANDWIDTH_FACTORS, max_points: int = 1000) -> np.ndarray:
    """`factors` × the median pairwise distance of (the first `max_points` rows of) `reference`."""
    r = np.asarray(reference, np.float64)[:max_points]
    d2 = np.sum(r * r, 1)[:, None] + np.sum(r * r, 1)[None, :] - 2 * r @ r.T
    median = float(np.sqrt(np.median(np.maximum(d2[np.triu_indices(r.shape[0], 1)], 0.0))))
    return median * np.asarray(factors, np.float64)


def w1_to_cdf(samples, cdf: Callable, *, n_grid: int = 20_001, pad: float = 5.0) -> float:
    r"""$W_1(F_n, F) = \int|F_n(x) - F(x)|\,dx$ of a 1-D sample against an exact CDF `cdf` (NumPy, vectorised):
    on the merged grid of the sorted sample and `n_grid` points over [min − pad, max + pad], $F_n$ is constant on
    each cell and $|F_n - F|$ is integrated by the trapezoid rule (error $O(\Delta^2)$ per cell)."""
    x = np.sort(np.asarray(samples, np.float64).reshape(-1))
    grid = np.linspace(x[0] - pad, x[-1] + pad, n_grid)
    z = np.sort(np.concatenate([x, grid]))
    fn = np.searchsorted(x, z[:-1], side="right") / x.size  # F_n on [z_j, z_{j+1})
    gap_left, gap_right = np.abs(fn - cdf(z[:-1])), np.abs(fn - cdf(z[1:]))
    return float(np.sum(0.5 * (gap_left + gap_right) * np.diff(z)))


def two_sample_metrics(key, samples: dict, reference, draw_pair: Callable, repeats: int, n_projections=128) -> dict:
    r"""Sliced $W_1$ (`metrics.sliced_w1`, `n_projections` directions) and $\widehat{\mathrm{MMD}}{}^2_u$
    (bandwidths `median_bandwidths(reference)`) of each of `samples` (name -> `(n, d)`) against `reference`, and the
    noise floor of both: the same statistic, directions and bandwidths over `repeats` pairs
    `draw_pair(fold_in(key, r))` of two independent samples of the truth at the sizes of (a sample, `reference`).
    **Returns** `{"floor": {stat: {mean, std, values}}, name: {stat: value}, "bandwidths": [...]}`."""
    from ..metrics._two_sample import sliced_w1

    k_proj, k_floor = jax.random.split(key)
    bandwidths = median_bandwidths(reference)
    stats = {
        "sliced_w1": lambda a, b: sliced_w1(k_proj, a, b, n_projections),
        "mmd2": lambda a, b: mmd2_unbiased(a, b, bandwidths),
    }
    pairs = [draw_pair(jax.random.fold_in(k_floor, r)) for r in range(int(repeats))]
    out = {"bandwidths": bandwidths.tolist(), "n_reference": int(np.shape(reference)[0]), "floor": {}}
    for stat_name, stat in stats.items():
        values = [float(stat(a, b)) for a, b in pairs]
        out["floor"][stat_name] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)),
            "values": values,
        }
    for name, x in samples.items():
        out[name] = {stat_name: float(stat(x, reference)) for stat_name, stat in stats.items()}
    return out
