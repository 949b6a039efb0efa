"""Render check results: an aligned plain-text table for the terminal and `report.md`."""

import datetime
import importlib.metadata
import os
import pathlib
import platform
import sys
import traceback
from collections.abc import Sequence

from ._registry import CheckResult, FigureResult, RunResult, Skipped, count

_PACKAGES = ("jax", "jaxlib", "numpy", "scipy", "diffrax", "equinox")
_COLUMNS = ("group", "check", "value", "tolerance", "verdict", "note")


def format_value(x: float) -> str:
    """Three significant digits in scientific notation: `1.23e-12`."""
    return f"{x:.2e}"


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


def _row(check, outcome) -> tuple[str, ...]:
    if isinstance(outcome, CheckResult):
        return (
            check.group,
            check.name,
            format_value(outcome.value),
            f"{outcome.comparison} {format_value(outcome.tolerance)}",
            "pass" if outcome.passed else "FAIL",
            _first_line(outcome.note),
        )
    message = _first_line(str(outcome))
    if isinstance(outcome, Skipped):
        return (check.group, check.name, "-", "-", "skip", message)
    note = f"{type(outcome).__name__}: {message}" if message else type(outcome).__name__
    return (check.group, check.name, "-", "-", "ERROR", note)


def summary_line(results: Sequence[RunResult]) -> str:
    """`verify: N passed, M failed[, K skipped]` (prefixed so it cannot be mistaken for pytest's summary)."""
    passed, failed, skipped = count(results)
    return f"verify: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")


def skipped_lines(results: Sequence[RunResult]) -> list[str]:
    """One line `group/name: reason` per skipped check (a skipped check is listed, never counted as passed)."""
    return [
        f"{check.label}: {_first_line(str(outcome))}" for check, outcome, _ in results if isinstance(outcome, Skipped)
    ]


def format_table(results: Sequence[RunResult]) -> str:
    """The results as an aligned plain-text table (no trailing summary line)."""
    rows = [_COLUMNS] + [_row(check, outcome) for check, outcome, _ in results]
    widths = [max(len(row[j]) for row in rows) for j in range(len(_COLUMNS) - 1)]
    lines = []
    for k, row in enumerate(rows):
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(_COLUMNS[-1]))
    return "\n".join(lines)


def _versions() -> list[tuple[str, str]]:
    from .. import __version__

    versions = [("python", platform.python_version()), ("scoresde-ref", __version__)]
    for name in _PACKAGES:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return versions


def _jax_setup() -> list[tuple[str, str]]:
    if "jax" not in sys.modules:
        return []
    import jax

    return [
        ("float64 (jax_enable_x64)", "on" if jax.config.jax_enable_x64 else "off"),
        ("jax backend", f"{jax.default_backend()} ({', '.join(str(d) for d in jax.devices())})"),
    ]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def write_report(
    results: Sequence[RunResult],
    figures: Sequence[FigureResult],
    out_dir: str | os.PathLike,
) -> pathlib.Path:
    """Write `out_dir/report.md` and return its path.

    **Arguments:**

    - `results`: `[(check, outcome, seconds)]` as returned by `run_checks`.
    - `figures`: `[(figure, path_or_exception, seconds)]` as returned by `run_figures`
      (may be empty); image links are relative to `out_dir` where possible.
    - `out_dir`: created if missing.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    md = ["# scoresde-ref verification report", ""]
    md.append(f"- date: {now.isoformat()}")
    md.append(f"- platform: {platform.platform()}")
    for name, value in _versions() + _jax_setup():
        md.append(f"- {name}: {value}")
    md += ["", "## Checks", ""]
    md.append("| " + " | ".join(_COLUMNS) + " |")
    md.append("|" + "|".join(["---", "---", "---:", "---:", "---", "---"]) + "|")
    for check, outcome, _ in results:
        md.append("| " + " | ".join(_md_cell(cell) for cell in _row(check, outcome)) + " |")
    md += ["", f"**{summary_line(results)}**", ""]
    if skipped := skipped_lines(results):
        md += ["## Skipped (not applicable here)", ""] + [f"- {_md_cell(line)}" for line in skipped] + [""]

    errors = [
        (c, outcome) for c, outcome, _ in results if isinstance(outcome, Exception) and not isinstance(outcome, Skipped)
    ]
    errors += [(figure, outcome) for figure, outcome, _ in figures if isinstance(outcome, Exception)]
    if errors:
        md += ["## Errors", ""]
        for item, exc in errors:
            label = getattr(item, "label", f"figure/{item.name}")
            tb = "".join(traceback.format_exception(exc)).rstrip()
            md += [f"### {label}", "", "```", tb, "```", ""]

    drawn = [(figure, path) for figure, path, _ in figures if isinstance(path, pathlib.Path)]
    if drawn:
        md += ["## Figures", ""]
        for figure, path in drawn:
            try:
                link = path.resolve().relative_to(out_dir.resolve()).as_posix()
            except ValueError:
                link = path.resolve().as_posix()
            md += [f"### {figure.name}", "", f"![{figure.name}]({link})", ""]

    report = out_dir / "report.md"
    report.write_text("\n".join(md).rstrip() + "\n", encoding="utf-8")
    return report
