"""Render check results: an aligned plain-text table for the terminal and `report.md`.

Where a report goes, and how it is written: `report_dir` (a full run writes `DIR/report.md`, a `--select` run
`DIR/select-<slug>/report.md`, beside it), `out_dir_problem` (is that directory usable, asked before any check
runs), `replaced_atomically` (a temporary file in the same directory, `os.replace`d over the target: a full disk
or a crash mid-write leaves the earlier file whole).
"""

import contextlib
import datetime
import hashlib
import importlib.metadata
import os
import pathlib
import platform
import re
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence

from ._registry import CheckResult, FigureResult, RunResult, Skipped, count

REPORT_NAME = "report.md"
_SLUG_MAX = 60
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


def select_slug(select: str) -> str:
    """A directory name for the selection `select`: runs of characters outside `[A-Za-z0-9._-]` become one `-`
    (`"errata/000_"` -> `"errata-000_"`), at most 60 characters; a selection with nothing left (`""`, `"/"`,
    `".."`) gets the first 8 hex digits of its SHA-1 instead."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", select).strip("-.")[:_SLUG_MAX].rstrip("-.")
    return slug or hashlib.sha1(select.encode("utf-8")).hexdigest()[:8]


def report_dir(out_dir: str | os.PathLike, select: str | None, overwrite: bool = False) -> pathlib.Path:
    """The directory a run writes its `report.md` and figures to.

    A full run (`select is None`) and a selected run with `overwrite` write to `out_dir` itself; any other selected
    run to `out_dir/select-<select_slug(select)>`, so that it never replaces the full report or its figures.
    """
    out_dir = pathlib.Path(out_dir)
    if select is None or overwrite:
        return out_dir
    return out_dir / f"select-{select_slug(select)}"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def out_dir_problem(directory: str | os.PathLike) -> str | None:
    """Why `report.md` and the figures could not be written under `directory`, in one line; `None` if they can.

    Asked before any check runs, and creates nothing: `directory` must be a directory or creatable (its nearest
    existing ancestor a directory), that ancestor writable (probed by creating and removing a temporary file in
    it, which is what the report write does), and `directory/report.md`, if present, a regular file.
    """
    directory = pathlib.Path(directory)
    try:
        if directory.exists():
            if not directory.is_dir():
                return f"{directory} exists and is not a directory"
            existing, failure = directory, "is not writable"
        else:
            existing = next((p for p in directory.parents if p.exists()), pathlib.Path("."))
            if not existing.is_dir():
                return f"{existing} exists and is not a directory"
            failure = f"cannot be created: {existing} is not writable"
        report = directory / REPORT_NAME
        if report.exists() and not report.is_file():
            return f"{report} exists and is not a regular file"
    except OSError as exc:  # e.g. a parent that cannot be searched
        return f"{directory} cannot be inspected ({_reason(exc)})"
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-probe-")
    except OSError as exc:
        return f"{directory} {failure} ({_reason(exc)})"
    os.close(fd)
    os.unlink(probe)
    return None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replaced_atomically(path: str | os.PathLike) -> Iterator[pathlib.Path]:
    """Yield a temporary path in `path`'s directory to write; on a clean exit it is flushed to disk and
    `os.replace`d over `path` (atomic on POSIX and Windows), on any exception removed and `path` left as it was.

    The temporary name keeps `path`'s suffix (`.report.k2j4x.md`, `.kernels.k2j4x.png`) so that writers that read
    the format from the name (matplotlib's `savefig`) still do; the file gets the mode a plain `open` would give.
    """
    path = pathlib.Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    tmp = pathlib.Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # the bytes on disk before the name points at them
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomically(path: str | os.PathLike, text: str) -> pathlib.Path:
    """Write `text` (UTF-8) to `path` through `replaced_atomically`; return `path`."""
    path = pathlib.Path(path)
    with replaced_atomically(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_report(
    results: Sequence[RunResult],
    figures: Sequence[FigureResult],
    out_dir: str | os.PathLike,
    *,
    select: str | None = None,
) -> pathlib.Path:
    """Write `out_dir/report.md` atomically (`write_text_atomically`) and return its path.

    **Arguments:**

    - `results`: `[(check, outcome, seconds)]` as returned by `run_checks`.
    - `figures`: `[(figure, path_or_exception, seconds)]` as returned by `run_figures`
      (may be empty); image links are relative to `out_dir` where possible.
    - `out_dir`: created if missing (choose it with `report_dir`).
    - `select`: the `--select` text of the run, recorded in the header (`None`: a full run).

    An `OSError` while writing (a full disk) propagates, and an earlier `out_dir/report.md` is left whole.
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    md = ["# scoresde-ref verification report", ""]
    md.append(f"- date: {now.isoformat()}")
    md.append("- checks: all" if select is None else f"- checks: those matching --select {_md_cell(repr(select))}")
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

    return write_text_atomically(out_dir / REPORT_NAME, "\n".join(md).rstrip() + "\n")
