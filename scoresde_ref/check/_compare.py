r"""`compare(target, twin)`: run a target against its twin on Hypothesis-drawn inputs and report per method.

Hypothesis drives the inputs (`@given(method.cases)` run programmatically, derandomized: the same inputs on every
run, no example database, no shrinking), each input runs through the same `method.run` on the target and on the
twin in the target's dtype, and the worst input (largest scaled error over its allowed limit) is kept
(derivations/conformance.md).
"""

import warnings

import jax
import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings

from .._progress import ProgressBar
from ._registry import MethodSpec, get_twin
from ._report import CaseErrors, CompareReport, MethodReport, Tolerance, case_errors

#: refusals of the twin that mean "outside the library's domain": the input is skipped, not failed
REFUSALS = (ValueError, NotImplementedError, TypeError, ZeroDivisionError)

BOUNDS = {
    "ulp": (
        16.0,
        "float64 target vs the float64 twin: a step is ~10 correctly rounded operations whose errors enter with "
        "coefficients <= 1 in the scale S, so 16 u; kappa is the method's condition (e.g. 1 - alpha_bar formed by "
        "subtraction after a cumprod loses (t + 2)/(1 - alpha_bar_t) u)",
    ),
    "rtol": (
        64.0,
        "float32 target vs the twin with the library's float32 storage: ~10 float32 roundings, and x0_hat = "
        "(x - s eps)/m amplifies them; 64 u covers the 14 u measured against diffusers 0.42.1 "
        "(tests/test_peers_diffusers.py STEP_TOL); kappa the method's condition",
    ),
    "exact": (0.0, "integer-valued outputs (timesteps, indices): the same integers or the convention differs"),
}


def _kind(method: MethodSpec, dtype) -> str:
    if method.exact:
        return "exact"
    return "ulp" if np.dtype(dtype) == np.float64 else "rtol"


def _inputs(case: dict) -> dict:
    return {k: v for k, v in case.items() if isinstance(v, np.ndarray)}


def _outputs(result) -> dict:
    return {k: np.asarray(v) for k, v in dict(result).items()}


def _infer_dtype(target, method: MethodSpec) -> type:
    """The dtype of the target's floating outputs on the method's first explicit-free input."""
    found = []

    @settings(
        max_examples=1,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(method.cases)
    def first(case):
        if not found:
            found.append({k: v.dtype for k, v in _outputs(method.run(target, case)).items()})

    first()
    dtypes = [d for d in found[0].values() if np.issubdtype(d, np.floating)] if found else []
    return np.float32 if any(d == np.float32 for d in dtypes) else np.float64


def compare_method(target, spec, method: MethodSpec, dtype, examples: int, progress=None) -> MethodReport:
    """Run `method` on `target` and on `spec.twin(dtype)` over `examples` drawn inputs; the `MethodReport`."""
    twin = spec.twin(dtype)
    kind = _kind(method, dtype)
    bound, reason = BOUNDS[kind]
    state = {
        "n": 0,
        "skipped": 0,
        "abs": 0.0,
        "rel": 0.0,
        "ulp": 0.0,
        "scaled": 0.0,
        "ratio": -1.0,
        "worst": None,
        "outs": None,
        "kappa": 1.0,
        "message": "",
    }
    bar = ProgressBar(examples, f"{spec.name}.{method.name}", enabled=progress)

    def one(case):
        bar.update()
        try:
            with jax.enable_x64(True):  # the twins compute in float64 whatever the process's default
                expected = _outputs(method.run(twin, case))
        except REFUSALS:
            state["skipped"] += 1
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                got = _outputs(method.run(target, case))
                errors = case_errors(got, expected, _inputs(case), dtype)
            except Exception as err:  # noqa: BLE001  (a target that raises where the twin answers fails)
                got, errors = {}, CaseErrors(np.inf, np.inf, np.inf, np.inf, f"raised {type(err).__name__}: {err}")
        with jax.enable_x64(True):
            kappa = 1.0 if kind == "exact" else max(1.0, float(method.condition(case, dtype)))
        limit = bound * kappa
        ratio = errors.scaled / limit if limit > 0 else (0.0 if errors.scaled == 0 else np.inf)
        state["n"] += 1
        for key in ("abs", "rel", "ulp", "scaled"):
            state[key] = max(state[key], getattr(errors, key))
        if ratio > state["ratio"]:
            state.update(
                ratio=ratio, worst=case, outs={"target": got, "twin": expected}, kappa=kappa, message=errors.message
            )

    run = settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )(given(method.cases)(one))
    run()
    bar.close()
    tolerance = Tolerance(kind, bound, state["kappa"], method.reason or reason)
    passed = state["n"] > 0 and state["ratio"] <= 1.0
    message = state["message"] if state["n"] else "no input ran (the twin refused every one)"
    return MethodReport(
        method.name,
        state["n"],
        state["skipped"],
        state["abs"],
        state["rel"],
        state["ulp"],
        state["scaled"],
        tolerance,
        passed,
        state["worst"] or {},
        state["outs"] or {},
        message,
    )


def compare(target, twin, *, examples: int = 25, methods=None, dtype=None, progress=None) -> CompareReport:
    r"""Check `target` against the registered twin `twin` (a name such as `"diffusers.DDPMScheduler"`, or a
    `TwinSpec`) on `examples` Hypothesis-drawn inputs per method.

    **Arguments:** `target` what the twin stands for (a scheduler class or factory called with the library's config,
    or the function itself); `methods` a subset of the spec's method names (default: all); `dtype` the target's
    floating dtype (`None`: read off its first output) — a float32 target is compared with the twin's float32
    storage (`dtype=np.float32`) at the float32 bound, a float64 target with the float64 twin at the ULP bound;
    `progress` a progress bar on stderr (`None`: when it is a terminal).

    **Returns** a `CompareReport` (`.passed`, `.table()`, `.to_json()`, `report["step"]` a `MethodReport`).
    """
    spec = get_twin(twin)
    if isinstance(examples, bool) or not isinstance(examples, int | np.integer) or examples < 1:
        raise ValueError(f"compare: examples must be an integer >= 1; got {examples!r}")
    chosen = spec.methods if methods is None else tuple(spec.method(m) for m in methods)
    if dtype is None:
        floating = [m for m in chosen if not m.exact] or list(chosen)
        dtype = _infer_dtype(target, floating[0])
    dtype = np.dtype(dtype).type
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"compare: dtype must be np.float64 or np.float32; got {np.dtype(dtype).name}")
    if dtype not in spec.dtypes:
        raise ValueError(
            f"compare: twin {spec.name} offers dtypes {[np.dtype(d).name for d in spec.dtypes]}; "
            f"got {np.dtype(dtype).name}"
        )
    reports = tuple(compare_method(target, spec, m, dtype, int(examples), progress) for m in chosen)
    return CompareReport(spec.name, _describe(target), np.dtype(dtype).name, reports)


def _describe(target) -> str:
    module = getattr(target, "__module__", None) or type(target).__module__
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}:{name}"
