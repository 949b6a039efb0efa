"""The parser of the derivations index (derivations/README.md) and the errata (derivations/ERRATA.md), and the order
of the index. That the index cites only tests and checks that exist, that every row has a status and every erratum a
test or a stated reason are the `verify` checks `derivations/index_cited_tests_exist`, `index_rows_have_a_status` and
`errata_entries_have_a_test_or_a_reason` (run by pytest in tests/test_verify_checks.py; one measurement, two runners),
on the parsing of scoresde_ref/verify/_citations.py."""

import pathlib
import re

from scoresde_ref.verify._citations import (
    STATUSES,
    Citation,
    check_labels,
    citations,
    index_rows,
    missing,
    verify_citations,
)

# The checkout these tests live in (not `repo_root()`, which is None for an installed package:
# the suite runs against the installed package, and must still check this checkout's index).
ROOT = pathlib.Path(__file__).resolve().parents[1]
assert (ROOT / "derivations" / "README.md").is_file(), f"no derivations/README.md beside {ROOT / 'tests'}"


def _text(name):
    return (ROOT / "derivations" / name).read_text(encoding="utf-8")


def test_the_parser_sees_every_citation_form():
    """The parser must see file-qualified, continued (`::name`) and bare citations, and a missing name must be
    reported (otherwise the check above could never fail)."""
    line = "`tests/test_a.py::test_x`, `::test_y`; `test_b.py::test_z` and `test_w`; `tests/test_c.py`"
    got = [(c.file, c.name) for c in citations(line, "s")]
    assert got == [
        ("test_a.py", "test_x"),
        ("test_a.py", "test_y"),
        ("test_b.py", "test_z"),
        (None, "test_w"),
        ("test_c.py", None),
    ]
    names = {"test_a.py": {"test_x"}, "test_b.py": {"test_z", "test_w"}, "test_c.py": set()}
    assert missing(citations(line, "s"), names) == [Citation("s", 1, "test_a.py", "test_y")]


def test_check_citations_name_registered_checks():
    """A check is cited as `tests/test_verify_checks.py::test_check[group/name]` or, as a status, `verify: group/name`
    (several separated by commas); each label must be registered. Planted bug caught: a citation of a check that was
    renamed or never written (the test function `test_check` exists, so only the label can be wrong)."""
    line = (
        "`tests/test_verify_checks.py::test_check[chains/a_order]`; verify: kernels/b, errata/c+d; `::test_check[x/y]`"
    )
    cites = citations(line, "s") + verify_citations(line, "s")
    assert [(c.file, c.name, c.check) for c in cites] == [
        ("test_verify_checks.py", "test_check", "chains/a_order"),
        ("test_verify_checks.py", "test_check", "x/y"),
        ("test_verify_checks.py", "test_check", "kernels/b"),
        ("test_verify_checks.py", "test_check", "errata/c+d"),
    ]
    names = {"test_verify_checks.py": {"test_check"}}
    bad = missing(cites, names, {"chains/a_order", "kernels/b"})
    assert [c.check for c in bad] == ["x/y", "errata/c+d"]
    assert "kernels/VP_kernel_vs_quadrature" in check_labels()


def test_index_covers_every_document_in_order():
    """The index has a section per document, in the order 000–004, and the line numbers within each document's
    tables never go backwards (a reader can follow with the document open)."""
    text = _text("README.md")
    headers = [m.start() for m in re.finditer(r"^## 00[0-4]_\w+\.txt", text, flags=re.MULTILINE)]
    assert len(headers) == 5 and headers == sorted(headers)
    for start, end in zip(headers, headers[1:] + [text.index("## Results the documents state")]):
        firsts = [int(re.match(r"\d+", cells[0]).group()) for _, cells in index_rows(text[start:end])]
        assert firsts == sorted(firsts), firsts


def test_statuses_are_documented():
    """The status words the parser accepts are the ones the index's preamble explains."""
    preamble = _text("README.md").split("## 000_")[0]
    for status in STATUSES:
        assert status.rstrip(":") in preamble, status


def test_verify_checks_are_skipped_outside_a_checkout(monkeypatch):
    """`scoresde-ref verify` from an installed package (no derivations/, tests/) reports the index checks as
    skipped (not applicable) instead of failing or passing; in the checkout they pass. Planted bugs caught: a crash
    (FileNotFoundError) or a failure when the files are absent, and a "not applicable" counted as a pass."""
    from scoresde_ref import verify
    from scoresde_ref.verify import checks_derivations

    verify.load_checks()
    names = ["index_cited_tests_exist", "index_rows_have_a_status", "errata_entries_have_a_test_or_a_reason"]
    checks = [c for c in verify.select_checks("derivations/") if c.name in names]
    assert len(checks) == 3
    assert all(verify.verdict(verify.run_check(c)) == "pass" for c in checks)
    monkeypatch.setattr(checks_derivations, "repo_root", lambda: None)
    for check in checks:
        outcome = verify.run_check(check)
        assert isinstance(outcome, verify.Skipped) and str(outcome).startswith("not applicable"), (check.name, outcome)
        assert verify.verdict(outcome) == "skip"
