r"""The tests cited by `derivations/README.md` (the index) and `derivations/ERRATA.md`, and whether they exist.

Used by the `derivations/index_*` checks of `scoresde-ref verify` and by `tests/test_derivations_index.py`.
Citations are read from backtick spans:

- `tests/test_x.py::test_name` or `test_x.py::test_name` cites a test in that file and makes the file current;
- `::test_name` cites a test in the current file (the last file named on the same line);
- a bare `test_name` cites a test that must exist in some test file (ERRATA's summary: tests/test_errata.py);
- `tests/test_x.py` alone cites the file;
- `tests/test_verify_checks.py::test_check[group/name]` cites the `verify` check `group/name` (pytest runs every
  check under that id), which must be registered;
- outside backticks, a status `verify: group/name` (checked by `scoresde-ref verify`) names a registered check too
  (`verify_citations`).

The files live in a repository checkout (`derivations/`, `tests/`); `repo_root()` finds it next to the package
or in the working directory, and is `None` when neither holds one.
"""

import dataclasses
import pathlib
import re

_SPAN = re.compile(r"`([^`]+)`")
_FILE = re.compile(r"^(?:tests/)?(test_\w+\.py)(?:::(test_\w+)(?:\[([^\]\s]+)\])?)?")
_VERIFY = re.compile(r"verify: ((?:[\w.+-]+/[\w.+-]+)(?:,\s*[\w.+-]+/[\w.+-]+)*)")
_MORE = re.compile(r"^::(test_\w+)(?:\[([^\]\s]+)\])?")
_BARE = re.compile(r"^(test_\w+)$")
_DEF = re.compile(r"^def (test_\w+)\(", re.MULTILINE)

INDEX_HEADER = "| line | formula / claim | derivation | code | test / status |"
STATUSES = ("not implemented", "out of scope", "verify:")


@dataclasses.dataclass(frozen=True)
class Citation:
    """One cited test: `file` (e.g. `test_errata.py`, or `None` for a bare name), `name` (or `None` for a file), and
    `check`, the `group/name` label of a cited `verify` check (`test_check[label]` or `verify: label`), else `None`."""

    source: str
    line: int
    file: str | None
    name: str | None
    check: str | None = None

    def __str__(self) -> str:
        where = f"tests/{self.file}" if self.file else "tests/*"
        return (
            f"{self.source}:{self.line}: {where}"
            + (f"::{self.name}" if self.name else "")
            + (f"[{self.check}]" if self.check else "")
        )


def repo_root() -> pathlib.Path | None:
    """The repository checkout with `derivations/` and `tests/`: the one holding this package (an editable
    install), else the working directory if it is a scoresde-ref checkout (`./scripts/verify` runs there
    with the package installed into `.venv`); `None` if neither."""
    for root in (pathlib.Path(__file__).resolve().parents[2], pathlib.Path.cwd()):
        if (
            (root / "derivations" / "README.md").is_file()
            and (root / "tests").is_dir()
            and (root / "scoresde_ref").is_dir()
        ):
            return root
    return None


def citations(text: str, source: str) -> list[Citation]:
    """Every test citation in a markdown `text` (see the module docstring), with its 1-based line number."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        current = None
        for span in _SPAN.findall(line):
            span = span.strip()
            if m := _FILE.match(span):
                current = m.group(1)
                found.append(Citation(source, number, current, m.group(2), m.group(3)))
            elif (m := _MORE.match(span)) and current is not None:
                found.append(Citation(source, number, current, m.group(1), m.group(2)))
            elif m := _BARE.match(span):
                found.append(Citation(source, number, None, m.group(1)))
    return found


def verify_citations(text: str, source: str) -> list[Citation]:
    """Every `verify: group/name[, group/name…]` status in a markdown `text`, as citations of the checks (run by pytest
    as `tests/test_verify_checks.py::test_check[group/name]`)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for m in _VERIFY.finditer(line):
            for label in re.split(r",\s*", m.group(1)):
                found.append(Citation(source, number, VERIFY_TESTS, "test_check", label))
    return found


VERIFY_TESTS = "test_verify_checks.py"


def check_labels() -> set[str]:
    """The labels `group/name` of every registered `verify` check (imports the check modules)."""
    from ._registry import load_checks, registered_checks

    load_checks()
    return {check.label for check in registered_checks()}


def defined_tests(root: pathlib.Path) -> dict[str, set[str]]:
    """`{file name: {test function names}}` for `root/tests/test_*.py` (top-level `def test_…`)."""
    return {
        p.name: set(_DEF.findall(p.read_text(encoding="utf-8"))) for p in sorted((root / "tests").glob("test_*.py"))
    }


def missing(cites: list[Citation], names: dict[str, set[str]], labels: set[str] | None = None) -> list[Citation]:
    """The citations whose file, test or `verify` check does not exist (`labels`: the registered check labels;
    `None` reads them from the registry)."""
    every = set().union(*names.values()) if names else set()
    if labels is None and any(c.check for c in cites):
        labels = check_labels()
    out = []
    for c in cites:
        if c.file is None:
            ok = c.name in every
        else:
            ok = c.file in names and (c.name is None or c.name in names[c.file])
        if c.check is not None:
            ok = ok and c.check in labels
        if not ok:
            out.append(c)
    return out


def index_rows(text: str) -> list[tuple[int, list[str]]]:
    """`(line number, cells)` of every row of the formula tables (those with `INDEX_HEADER`) of the index."""
    rows, inside = [], False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped == INDEX_HEADER:
            inside = True
            continue
        if not stripped.startswith("|"):
            inside = False
            continue
        if inside and not set(stripped) <= set("|- "):
            rows.append((number, [cell.strip() for cell in _split_row(stripped)]))
    return rows


def _split_row(row: str) -> list[str]:
    """Split a markdown table row on `|` outside backticks and `$…$`."""
    cells, cell, code, math = [], [], False, False
    for ch in row.strip()[1:-1] if row.strip().endswith("|") else row.strip()[1:]:
        if ch == "`" and not math:
            code = not code
        elif ch == "$" and not code:
            math = not math
        if ch == "|" and not code and not math:
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(ch)
    cells.append("".join(cell))
    return cells


def row_status(cells: list[str]) -> str | None:
    """`"tested"` if the last cell cites a test, else the status it starts with (one of `STATUSES`), else `None`.

    `not implemented` and `out of scope` must say why (text after a colon)."""
    last = cells[-1] if cells else ""
    if any(c.name for c in citations(last, "")):
        return "tested"
    for status in STATUSES:
        if last.startswith(status):
            needs_reason = status in ("not implemented", "out of scope")
            if needs_reason and not last[len(status) :].lstrip().startswith(":"):
                return None
            return status.rstrip(":")
    return None


def errata_entries(text: str) -> list[tuple[str, str]]:
    """`(number, test field)` for every `### E<n>` entry of ERRATA.md (its `**Test:**` text, '' if none)."""
    entries = []
    for block in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        number = block.split()[0]
        if not re.fullmatch(r"E\d+", number):
            continue
        m = re.search(r"\*\*Test:\*\*(.*)", block)
        entries.append((number, m.group(1).strip() if m else ""))
    return entries
