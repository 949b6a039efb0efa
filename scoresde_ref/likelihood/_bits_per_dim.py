r"""Bits per dimension and uniform dequantisation of `n_bits`-bit data (002_686d39656702d14a.txt
"Competitive likelihoods on test data", negative log-probability in bits/dim).

Integer data $k \in \{0, \dots, 2^b - 1\}^d$ are dequantised to $y = k + u$, $u \sim U[0, 1)^d$, and scaled
affinely into `data_range` $= (lo, hi)$: $x = lo + (hi - lo)\,y / 2^b$. A density $p$ of $x$ is the density
$p(x)\,((hi - lo)/2^b)^d$ of $y$, and by Jensen
$\log P(k) \ge E_u \log p_y(k + u) = E_u \log p(x) - d\log(2^b/(hi - lo))$ (derivations/likelihood.md §5), so

$$\text{bpd} = -\frac{\log p(x)}{d\ln 2} + b - \log_2(hi - lo)$$

bounds $-\log_2 P(k)/d$ from above in expectation over $u$: $+8$ for 8-bit data in $[0, 1]$, $+7$ in
$[-1, 1]$ (the reference code's `offset = 7 - inverse_scaler(-1)`). `data_range=None` means $x = y$ (integer
units), offset $0$.
"""

import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Array, Key, Scalar
from .._validation import check, check_integer


def _range(data_range, owner):
    lo, hi = (float(v) for v in data_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"{owner}: data_range must be finite (lo, hi) with hi > lo; got data_range = {data_range}")
    return lo, hi


def dequantization_offset(n_bits: int = 8, data_range: tuple[float, float] | None = (0.0, 1.0)) -> float:
    r"""$b - \log_2(hi - lo)$ bits: `8.0` for `(0, 1)`, `7.0` for `(-1, 1)`, `0.0` for `data_range=None`."""
    n_bits = check_integer(n_bits, "n_bits", "dequantization_offset", minimum=1)
    if data_range is None:
        return 0.0
    lo, hi = _range(data_range, "dequantization_offset")
    return float(n_bits) - float(np.log2(hi - lo))


def bits_per_dim(log_p, d: int, *, n_bits: int = 8, data_range: tuple[float, float] | None = (0.0, 1.0)) -> Scalar:
    r"""$-\log p(x)/(d \ln 2)$ plus the dequantisation offset $b - \log_2(hi - lo)$ (see the module docstring).

    `log_p` is a log-density (nats) of the scaled, dequantised data, e.g. from `log_likelihood`; `d` its
    dimension (pixels × channels for images)."""
    d = check_integer(d, "d", "bits_per_dim", minimum=1)
    return -jnp.asarray(log_p) / (d * jnp.log(2.0)) + dequantization_offset(n_bits, data_range)


def dequantize(
    key: Key, k, *, n_bits: int = 8, data_range: tuple[float, float] | None = (0.0, 1.0), dtype=None
) -> Array:
    r"""Uniform dequantisation $x = lo + (hi - lo)(k + u)/2^b$, $u \sim U[0, 1)$ of the shape of `k` from `key`.

    `data_range=None` returns $k + u$ (integer data in its own units; `n_bits` then unused and `k` unchecked).
    Otherwise `k` must be integers in $[0, 2^b)$ (checked eagerly, or under `jit` through `eqx.error_if`).
    """
    dtype = dtype or jnp.result_type(float)
    k = jnp.asarray(k)
    u = jax.random.uniform(key, k.shape, dtype=dtype)
    y = k.astype(dtype) + u
    if data_range is None:
        return y
    lo, hi = _range(data_range, "dequantize")
    levels = 2**n_bits
    ok = (k >= 0) & (k < levels) & (k == jnp.round(k))
    y = check(y, ok, f"dequantize: k must be integers in [0, 2**n_bits = {levels})")
    return lo + (hi - lo) * y / levels
