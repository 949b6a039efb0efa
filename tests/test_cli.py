"""The `scoresde-ref` command and the check registry/report behind it (fast; no real checks run)."""

import math

import pytest

from scoresde_ref import cli
from scoresde_ref.verify import CheckResult, _registry
from scoresde_ref.verify import Check, register, run_checks, summary_line, write_report

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
