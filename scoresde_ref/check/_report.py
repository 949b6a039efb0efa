r"""The harness's result types and its error measures (derivations/conformance.md §tolerances).

For one drawn input, with $a$ the target's output, $b$ the twin's and the *scale*
$S = \max(1, \max|\text{inputs}|, \max|a|, \max|b|)$ (the largest magnitude the method handles, the size of its
roundings: a step that cancels $x$ against its drift loses digits of the output, not of $S$), the **scaled error**
is $e = \max|a - b| / (u S)$ in units of the target dtype's unit roundoff $u$ ($2^{-53}$ or $2^{-24}$). The case
passes when $e \le$ `bound` $\cdot\,\kappa$, $\kappa \ge 1$ the method's condition number at that input.
"""

import json
from typing import Any, NamedTuple

import numpy as np

UNIT_ROUNDOFF = {np.dtype(np.float64): 2.0**-53, np.dtype(np.float32): 2.0**-24}


class Tolerance(NamedTuple):
    """A bound on the scaled error: `bound` units of roundoff times the condition `kappa` of the worst input;
    `kind` is `"exact"` (integer-valued outputs, bound 0), `"ulp"` (float64 target against the float64 twin) or
    `"rtol"` (float32 target against the float32-storage twin); `reason` says where the bound comes from."""

    kind: str
    bound: float
    kappa: float
    reason: str

    @property
    def limit(self) -> float:
        """The largest scaled error allowed at the worst input: `bound * kappa`."""
        return self.bound * self.kappa


class MethodReport(NamedTuple):
    """The comparison of one method over the drawn inputs.

    `examples` inputs ran on both (`skipped`: inputs the twin refuses, outside the library's domain); the maxima are
    over inputs and elements: `max_abs_error` $\\max|a - b|$, `max_rel_error` $\\max|a-b|/|b|$ (where $b \\ne 0$),
    `max_ulp` the largest distance in units in the last place of the target dtype, `max_scaled_error` $e$ (module
    docstring); `worst_input` the input with the largest $e/\\kappa$, with `worst_outputs` (target and twin) there;
    `tolerance` at that input; `message` why the worst input failed where it was not a number (an exception, a NaN,
    a shape)."""

    method: str
    examples: int
    skipped: int
    max_abs_error: float
    max_rel_error: float
    max_ulp: float
    max_scaled_error: float
    tolerance: Tolerance
    passed: bool
    worst_input: dict
    worst_outputs: dict
    message: str = ""

    def to_dict(self) -> dict:
        d = self._asdict()
        d["tolerance"] = self.tolerance._asdict() | {"limit": self.tolerance.limit}
        d["worst_input"] = jsonable(self.worst_input)
        d["worst_outputs"] = jsonable(self.worst_outputs)
        return d


class CompareReport(NamedTuple):
    """The result of `compare`: the twin's name, the target, the target dtype and one `MethodReport` per method."""

    twin: str
    target: str
    dtype: str
    methods: tuple

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.methods)

    def __getitem__(self, key):
        if isinstance(key, str):
            for m in self.methods:
                if m.method == key:
                    return m
            raise KeyError(key)
        return tuple.__getitem__(self, key)

    def to_dict(self) -> dict:
        return {
            "twin": self.twin,
            "target": self.target,
            "dtype": self.dtype,
            "passed": self.passed,
            "methods": [m.to_dict() for m in self.methods],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=True)

    def table(self) -> str:
        """A fixed-width table: method, examples, max abs / rel error, max ULP, scaled error, limit, verdict."""
        cols = ("max abs", "max rel", "max ulp", "e/u", "limit")
        head = f"{'method':<28} {'n':>4} " + " ".join(f"{c:>10}" for c in cols) + "  verdict"
        lines = [f"{self.twin} vs {self.target} ({self.dtype})", head, "-" * len(head)]
        for m in self.methods:
            verdict = "pass" if m.passed else "FAIL" + (f" ({m.message})" if m.message else "")
            lines.append(
                f"{m.method:<28} {m.examples:>4} {m.max_abs_error:>10.3g} {m.max_rel_error:>10.3g} {m.max_ulp:>10.3g}"
                f" {m.max_scaled_error:>10.3g} {m.tolerance.limit:>10.3g}  {verdict}"
            )
        return "\n".join(lines)


def jsonable(value: Any):
    """Arrays as nested lists, NumPy scalars as Python numbers, recursively (JSON-ready)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, type):
        return value.__name__
    return value


def _ordered(x: np.ndarray) -> np.ndarray:
    """The float bits as integers ordered like the floats (negatives mirrored), for ULP distances."""
    ints = {np.dtype(np.float64): np.int64, np.dtype(np.float32): np.int32}[x.dtype]
    bits = x.view(ints).astype(np.int64)
    return np.where(bits < 0, np.int64(np.iinfo(ints).min) - bits, bits)


def ulp_distance(a, b, dtype) -> np.ndarray:
    """Elementwise number of `dtype` floats between `a` and `b`, both rounded to `dtype` (0 where both are NaN,
    inf where one is)."""
    a, b = np.asarray(a, np.float64).astype(dtype), np.asarray(b, np.float64).astype(dtype)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    d = np.abs(_ordered(np.where(nan_a | nan_b, 0, a)) - _ordered(np.where(nan_a | nan_b, 0, b))).astype(np.float64)
    return np.where(nan_a & nan_b, 0.0, np.where(nan_a | nan_b, np.inf, d))


class CaseErrors(NamedTuple):
    """The errors of one input: abs, rel, ULP, scaled (in units of roundoff), and why it is infinite if it is."""

    abs: float
    rel: float
    ulp: float
    scaled: float
    message: str = ""


def case_errors(target: dict, twin: dict, inputs: dict, dtype) -> CaseErrors:
    """Compare the outputs `target` and `twin` (dicts of arrays, same keys) of one input (module docstring)."""
    if set(target) != set(twin):
        return CaseErrors(np.inf, np.inf, np.inf, np.inf, f"outputs {sorted(target)} != twin's {sorted(twin)}")
    u = UNIT_ROUNDOFF[np.dtype(dtype)]
    scale = [1.0] + [float(np.max(np.abs(v))) for v in inputs.values() if _is_float_array(v) and np.size(v)]
    worst = CaseErrors(0.0, 0.0, 0.0, 0.0)
    pairs = []
    for key in twin:
        a, b = np.asarray(target[key], np.float64), np.asarray(twin[key], np.float64)
        if a.shape != b.shape:
            return CaseErrors(np.inf, np.inf, np.inf, np.inf, f"{key}: shape {a.shape} != twin's {b.shape}")
        pairs.append((key, a, b))
        scale += [float(np.max(np.abs(x[np.isfinite(x)]))) for x in (a, b) if np.any(np.isfinite(x))]
    scale = max(scale)
    for key, a, b in pairs:
        if a.size == 0:
            continue
        both_nan = np.isnan(a) & np.isnan(b)
        bad = (~np.isfinite(a) | ~np.isfinite(b)) & ~both_nan & ~((a == b) & np.isinf(a))
        if np.any(bad):
            return CaseErrors(
                np.inf, np.inf, np.inf, np.inf, f"{key}: non-finite {a[bad][0]} where the twin has {b[bad][0]}"
            )
        ok = ~both_nan & np.isfinite(a)
        diff = np.abs(a - b)[ok]
        if diff.size == 0:
            continue
        rel = np.max(diff / np.where(b[ok] != 0, np.abs(b[ok]), np.inf), initial=0.0)
        worst = CaseErrors(
            max(worst.abs, float(np.max(diff))),
            max(worst.rel, float(rel)),
            max(worst.ulp, float(np.max(ulp_distance(a, b, dtype)))),
            max(worst.scaled, float(np.max(diff)) / (u * scale)),
        )
    return worst


def _is_float_array(v) -> bool:
    return isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating)
