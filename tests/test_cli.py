"""The `scoresde-ref` command and the check registry/report behind it (fast; no real checks run)."""

import math

import pytest

from scoresde_ref import cli
from scoresde_ref import verify as verify_package
from scoresde_ref.verify import (
    Check,
    CheckResult,
    _registry,
    count,
    register,
    run_checks,
    skip,
    summary_line,
    write_report,
)

NO_MATCH = "no-check-or-group-has-this-name"


def test_verify_with_no_matching_checks_fails(tmp_path, capsys):
    """Planted bug caught: an empty selection reported as success (exit 0 with nothing checked)."""
    status = cli.main(["verify", "--select", NO_MATCH, "--out", str(tmp_path), "--no-figures"])
    assert status == 1
    captured = capsys.readouterr()
    assert "no checks" in captured.out + captured.err
    assert not (tmp_path / "report.md").exists()


def test_no_subcommand_prints_help_and_exits_2(capsys):
    try:
        status = cli.main([])
    except SystemExit as exc:
        status = exc.code
    assert status == 2
    assert "verify" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("value", "tolerance", "comparison", "passed"),
    [
        (1e-13, 1e-12, "<=", True),
        (1e-12, 1e-12, "<=", True),
        (1e-11, 1e-12, "<=", False),
        (0.5, 1e-1, ">=", True),
        (1e-3, 1e-1, ">=", False),
        (math.nan, 1e-12, "<=", False),
        (math.nan, 1e-12, ">=", False),
        (math.inf, 1e-12, "<=", False),
    ],
)
def test_check_result_verdict(value, tolerance, comparison, passed):
    assert CheckResult(value, tolerance, comparison).passed is passed


def test_check_result_rejects_unknown_comparison():
    with pytest.raises(ValueError, match="comparison"):
        CheckResult(0.0, 1.0, "<")


def test_duplicate_names_raise_and_errors_are_failures(monkeypatch):
    monkeypatch.setattr(_registry, "_CHECKS", {})  # a private registry: nothing leaks out of this test

    @register("ok", group="g")
    def _ok():
        return CheckResult(0.0, 1.0)

    @register("boom", group="g")
    def _boom():
        raise RuntimeError("boom")

    with pytest.raises(ValueError, match="already registered"):
        register("ok", group="other")(_ok)
    results = run_checks(progress=False)
    assert [check.name for check, _, _ in results] == ["ok", "boom"]
    assert isinstance(results[1][1], RuntimeError)
    assert summary_line(results) == "verify: 1 passed, 1 failed"
    assert [c.name for c, _, _ in run_checks("boo", progress=False)] == ["boom"]


def test_skipped_checks_are_neither_passed_nor_failed(monkeypatch, tmp_path, capsys):
    """A check that does not apply raises `Skipped`: the summary, the table, the report and the exit status list it
    apart. Planted bug caught: "not applicable" counted as a pass (the old `CheckResult(0, 0, "not applicable")`)."""
    monkeypatch.setattr(_registry, "_CHECKS", {})
    monkeypatch.setattr(verify_package, "load_checks", lambda: [])

    @register("applies", group="g")
    def _applies():
        return CheckResult(0.0, 1.0)

    @register("elsewhere", group="g")
    def _elsewhere():
        skip("not applicable: no checkout here")

    results = run_checks(progress=False)
    assert count(results) == (1, 0, 1)
    assert summary_line(results) == "verify: 1 passed, 0 failed, 1 skipped"
    assert cli.main(["verify", "--out", str(tmp_path), "--no-figures"]) == 0
    out = capsys.readouterr().out
    assert "g/elsewhere: not applicable: no checkout here" in out and "skip" in out
    report = (tmp_path / "report.md").read_text()
    assert "1 skipped" in report and "## Skipped" in report and "## Errors" not in report


def test_a_failing_check_gives_a_nonzero_exit_status(monkeypatch, tmp_path, capsys):
    """Planted bug caught: `verify` exiting 0 while a check fails (CI would then pass on a wrong formula)."""
    monkeypatch.setattr(_registry, "_CHECKS", {})
    monkeypatch.setattr(verify_package, "load_checks", lambda: [])

    @register("wrong", group="g")
    def _wrong():
        return CheckResult(1.0, 1e-12)

    assert cli.main(["verify", "--out", str(tmp_path), "--no-figures"]) == 1
    assert "verify: 0 passed, 1 failed" in capsys.readouterr().out


def test_version_flag_prints_the_installed_version(capsys):
    """`scoresde-ref --version` prints the version of the installed distribution (one source: importlib.metadata).
    Planted bug caught: a version string written a second time in the code, drifting from pyproject.toml."""
    import importlib.metadata

    import scoresde_ref

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    version = importlib.metadata.version("scoresde-ref")
    assert capsys.readouterr().out.strip() == f"scoresde-ref {version}"
    assert scoresde_ref.__version__ == version


def test_write_report(tmp_path):
    def fn():
        raise AssertionError("never called")

    results = [
        (Check("a", "kernels", fn), CheckResult(1.234e-15, 1e-12, note="closed form | quadrature"), 0.1),
        (Check("b", "kernels", fn), CheckResult(2.0, 1e-12), 0.1),
        (Check("c", "fokker_planck", fn), CheckResult(0.3, 0.1, ">="), 0.1),
        (Check("d", "demo", fn), ValueError("broken"), 0.1),
    ]
    path = write_report(results, [], tmp_path / "out")
    assert path == tmp_path / "out" / "report.md"
    text = path.read_text()
    assert "verify: 2 passed, 2 failed" in text
    assert "1.23e-15" in text and "closed form \\| quadrature" in text
    assert "ValueError: broken" in text


def test_verify_runs_real_checks_and_writes_report(tmp_path, capsys):
    """End to end on a real subset (the errata checks): exit 0, table, report with figures."""
    from scoresde_ref.cli import main

    code = main(["verify", "--select", "errata/000_", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "000_vp_kernel_table_detected" in out
    n = out.count("errata ")  # one table row per selected check
    assert n >= 2 and f"verify: {n} passed, 0 failed" in out
    report = (tmp_path / "report.md").read_text()
    assert f"{n} passed, 0 failed" in report
