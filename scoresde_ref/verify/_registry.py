"""The registry of numerical checks and report figures, and the runner behind `scoresde-ref verify`.

A check is a zero-argument function returning a `CheckResult` (or raising `Skipped` where it does not
apply); a figure is a function `fn(out_dir) -> path` writing one PNG. Both are registered by decorators in
modules `scoresde_ref/verify/checks_*.py`, which `load_checks` imports. The same check functions are the
test functions of `tests/test_verify_checks.py` (one measurement, two runners: `run_check` serves both).
"""

import dataclasses
import importlib
import math
import pathlib
import pkgutil
import sys
import time
from collections.abc import Callable, Sequence

_COMPARISONS = ("<=", ">=")


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: a measured `value` against a `tolerance`.

    **Arguments:**

    - `value`: the measured quantity (anything `float()` accepts, e.g. a JAX scalar).
    - `tolerance`: the bound it is compared with.
    - `comparison`: `"<="` (pass iff `value <= tolerance`: the usual maximum error) or
      `">="` (pass iff `value >= tolerance`: e.g. a documented-wrong formula must leave a
      LARGE Fokker–Planck residual, so the check shows that the bug would be detected).
    - `note`: one line saying what was measured and why the tolerance is what it is.

    A NaN value (or tolerance) always fails.
    """

    value: float
    tolerance: float
    comparison: str = "<="
    note: str = ""

    def __post_init__(self):
        if self.comparison not in _COMPARISONS:
            raise ValueError(f"CheckResult: comparison must be one of {_COMPARISONS}; got {self.comparison!r}")
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "tolerance", float(self.tolerance))

    @property
    def passed(self) -> bool:
        if math.isnan(self.value) or math.isnan(self.tolerance):
            return False
        if self.comparison == "<=":
            return self.value <= self.tolerance
        return self.value >= self.tolerance


class Skipped(Exception):
    """Raised by a check that does not apply here (e.g. the derivations index outside a checkout).

    A skipped check is neither passed nor failed: `verify` lists it separately and pytest reports it as
    skipped. The message says why."""


def skip(reason: str):
    """Stop the running check as not applicable, with `reason` (raises `Skipped`)."""
    raise Skipped(reason)


@dataclasses.dataclass(frozen=True)
class Check:
    """A registered check: `fn()` returns a `CheckResult`."""

    name: str
    group: str
    fn: Callable[[], CheckResult]

    @property
    def label(self) -> str:
        return f"{self.group}/{self.name}"


@dataclasses.dataclass(frozen=True)
class Figure:
    """A registered report figure: `fn(out_dir)` writes one PNG under `out_dir` and returns its path."""

    name: str
    fn: Callable[[pathlib.Path], pathlib.Path]


def save_figure(fig, out_dir: pathlib.Path, filename: str) -> pathlib.Path:
    """Lay out `fig`, write it to `out_dir / filename` (PNG, 110 dpi) through a temporary file renamed over it
    (a crash mid-write leaves an earlier figure whole), close it, return the path."""
    import matplotlib.pyplot as plt

    from ._report import replaced_atomically  # imported here: _report imports this module

    fig.tight_layout()
    path = out_dir / filename
    with replaced_atomically(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


_CHECKS: dict[str, Check] = {}  # insertion order = registration order
_FIGURES: dict[str, Figure] = {}

Outcome = CheckResult | Skipped | Exception
RunResult = tuple[Check, Outcome, float]
FigureResult = tuple[Figure, pathlib.Path | Exception, float]


def register(name: str, group: str):
    """Decorator registering a zero-argument function returning a `CheckResult` as check `name` in `group`.

    Names are unique across all groups; a duplicate raises `ValueError`. Returns the function unchanged.
    """

    def decorator(fn: Callable[[], CheckResult]) -> Callable[[], CheckResult]:
        if name in _CHECKS:
            raise ValueError(f"register: a check named {name!r} is already registered (group {_CHECKS[name].group!r})")
        _CHECKS[name] = Check(name=name, group=group, fn=fn)
        return fn

    return decorator


def register_figure(name: str):
    """Decorator registering `fn(out_dir: Path) -> Path` (writes one PNG, returns its path) as figure `name`.

    Figures are drawn with matplotlib's Agg backend (set by `run_figures`). Duplicates raise `ValueError`.
    """

    def decorator(fn: Callable[[pathlib.Path], pathlib.Path]) -> Callable[[pathlib.Path], pathlib.Path]:
        if name in _FIGURES:
            raise ValueError(f"register_figure: a figure named {name!r} is already registered")
        _FIGURES[name] = Figure(name=name, fn=fn)
        return fn

    return decorator


def registered_checks() -> tuple[Check, ...]:
    """All registered checks, in registration order."""
    return tuple(_CHECKS.values())


def registered_figures() -> tuple[Figure, ...]:
    """All registered figures, in registration order."""
    return tuple(_FIGURES.values())


def load_checks() -> list[str]:
    """Import every module `scoresde_ref.verify.checks_*` (registering its checks and figures).

    Idempotent (modules are imported once). Returns the module names, sorted. An import
    error propagates: a check module that cannot be imported is a bug to see at once.
    """
    package = sys.modules[__package__]
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(package.__path__, prefix=f"{__package__}.")
        if info.name.rpartition(".")[2].startswith("checks_")
    )
    for module_name in names:
        importlib.import_module(module_name)
    return names


def _matches(select: str | None, *texts: str) -> bool:
    return select is None or any(select in text for text in texts)


def select_checks(select: str | None = None) -> list[Check]:
    """The registered checks whose group, name or `group/name` contains `select` (all if `None`)."""
    return [c for c in _CHECKS.values() if _matches(select, c.group, c.name, c.label)]


def select_figures(select: str | None = None) -> list[Figure]:
    """The registered figures whose name contains `select` (all if `None`)."""
    return [f for f in _FIGURES.values() if _matches(select, f.name)]


def _progress_start(i: int, n: int, label: str) -> None:
    width = len(str(n))
    sys.stderr.write(f"[{i:>{width}}/{n}] {label} ... ")
    sys.stderr.flush()


def _progress_end(status: str, seconds: float) -> None:
    sys.stderr.write(f"{status} ({seconds:.2f} s)\n")
    sys.stderr.flush()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def run_check(check: Check) -> Outcome:
    """Run one check: its `CheckResult`, the `Skipped` it raised, or the exception it raised (an exception,
    or a return value that is not a `CheckResult`, is a failure)."""
    try:
        outcome = check.fn()
        if not isinstance(outcome, CheckResult):
            raise TypeError(f"check returned {type(outcome).__name__}, not a CheckResult")
    except Exception as exc:  # noqa: BLE001 - a crashing check is a failed check; Skipped is kept as is
        outcome = exc
    return outcome


def verdict(outcome: Outcome) -> str:
    """`"pass"`, `"FAIL"`, `"skip"` or `"ERROR"`."""
    if isinstance(outcome, Skipped):
        return "skip"
    if isinstance(outcome, Exception):
        return "ERROR"
    return "pass" if outcome.passed else "FAIL"


def run_checks(select: str | None = None, progress: bool = True) -> list[RunResult]:
    """Run the registered checks (those matching `select`, see `select_checks`) in order.

    Returns `[(check, outcome, seconds)]` with `outcome` as `run_check` gives it.
    With `progress`, writes one line per check to stderr: `[12/40] group/name ... ok (0.31 s)`.
    """
    checks = select_checks(select)
    results: list[RunResult] = []
    for i, check in enumerate(checks, 1):
        if progress:
            _progress_start(i, len(checks), check.label)
        start = time.perf_counter()
        outcome = run_check(check)
        seconds = time.perf_counter() - start
        results.append((check, outcome, seconds))
        if progress:
            status = {"pass": "ok", "FAIL": "FAIL", "skip": f"skipped ({outcome})"}.get(verdict(outcome))
            _progress_end(status or f"ERROR {_one_line(outcome)}", seconds)
    return results


def run_figures(out_dir: pathlib.Path, select: str | None = None, progress: bool = True) -> list[FigureResult]:
    """Draw the registered figures (those whose name contains `select`) into `out_dir`.

    Uses matplotlib's Agg backend and closes every figure afterwards. Returns
    `[(figure, path_or_exception, seconds)]`; a figure that raises, or whose returned path
    does not exist, gives the exception.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = select_figures(select)
    results: list[FigureResult] = []
    for i, figure in enumerate(figures, 1):
        if progress:
            _progress_start(i, len(figures), f"figure/{figure.name}")
        start = time.perf_counter()
        try:
            path = pathlib.Path(figure.fn(out_dir))
            if not path.is_file():
                raise FileNotFoundError(f"figure function returned {path}, which does not exist")
            outcome: pathlib.Path | Exception = path
        except Exception as exc:  # noqa: BLE001
            outcome = exc
        finally:
            plt.close("all")
        seconds = time.perf_counter() - start
        results.append((figure, outcome, seconds))
        if progress:
            _progress_end("ok" if isinstance(outcome, pathlib.Path) else f"ERROR {_one_line(outcome)}", seconds)
    return results


def count(results: Sequence[RunResult]) -> tuple[int, int, int]:
    """`(passed, failed, skipped)` over run results; an exception counts as failed, `Skipped` as skipped."""
    verdicts = [verdict(outcome) for _, outcome, _ in results]
    skipped = verdicts.count("skip")
    passed = verdicts.count("pass")
    return passed, len(verdicts) - passed - skipped, skipped
