"""The `scoresde-ref` command and the check registry/report behind it (fast; no real checks run)."""

import errno
import math
import os
import pathlib
import stat
import subprocess
import sys
import tempfile

import pytest

from scoresde_ref import cli
from scoresde_ref import verify as verify_package
from scoresde_ref.verify import (
    Check,
    CheckResult,
    _registry,
    _report,
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
    assert not any(tmp_path.iterdir())  # a usage error leaves nothing behind (not even DIR/select-<slug>/)


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
    path = tmp_path / "select-errata-000_" / "report.md"  # a selected run: beside the full report
    assert f"report: {path}" in out and not (tmp_path / "report.md").exists()
    assert f"{n} passed, 0 failed" in path.read_text()


# --- verify --out: checked first, written atomically, a selected run beside the full report -------------------------


@pytest.fixture
def spied_registry(monkeypatch):
    """A private registry with two checks (`g/alpha`, `g/beta`) that record that they ran, and a `load_checks`
    that records that it was called: `ran` lists both (`"load_checks"`, then the check names)."""
    ran: list[str] = []
    monkeypatch.setattr(_registry, "_CHECKS", {})
    monkeypatch.setattr(verify_package, "load_checks", lambda: ran.append("load_checks") or [])
    for name in ("alpha", "beta"):

        @register(name, group="g")
        def _check(name=name):
            ran.append(name)
            return CheckResult(0.0, 1.0)

    return ran


def _tree(root: pathlib.Path) -> dict[str, bytes | None]:
    """Every path under `root` with its bytes (`None` for a directory): what a refused run must leave as it was."""
    return {p.relative_to(root).as_posix(): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))}


def _unwritable(directory: pathlib.Path, monkeypatch) -> None:
    """Make `directory` refuse new files: mode r-x; where the mode does not bind (root bypasses it), the refusal the
    OS would give is simulated in the one call that writes there, `tempfile.mkstemp` (both the probe of
    `out_dir_problem` and the report write create their file with it)."""
    directory.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        fd, probe = tempfile.mkstemp(dir=directory)
    except PermissionError:
        return  # the mode binds: a real refusal
    os.close(fd)
    os.unlink(probe)
    real_mkstemp = tempfile.mkstemp

    def refusing_mkstemp(*args, dir=None, **kwargs):
        if dir is not None and pathlib.Path(dir).resolve() == directory.resolve():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refusing_mkstemp)


@pytest.mark.parametrize("select", [None, "g/alpha"])
@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("existing file", "file exists and is not a directory"),
        ("path under a file", "file exists and is not a directory"),
        ("unwritable directory", "locked is not writable"),
        ("directory that cannot be created", "cannot be created"),
    ],
)
def test_bad_out_is_refused_before_any_check_runs(case, reason, select, spied_registry, tmp_path, monkeypatch, capsys):
    """A `--out` that cannot hold the report: exit 2 (a usage error), one line on stderr naming `--out`, the path and
    the reason, no traceback, before the check modules are imported or any check runs, and nothing written.
    Planted bug caught: the old `verify`, which ran every check (minutes) and then died in `mkdir` with a traceback."""
    (tmp_path / "file").write_text("not a directory")
    locked = tmp_path / "locked"
    locked.mkdir()
    out = {
        "existing file": tmp_path / "file",
        "path under a file": tmp_path / "file" / "sub",
        "unwritable directory": locked,
        "directory that cannot be created": locked / "new" / "dir",
    }[case]
    before = _tree(tmp_path)
    if "unwritable" in case or "cannot be created" in case:
        _unwritable(locked, monkeypatch)
    argv = ["verify", "--out", str(out), "--no-figures"] + ([] if select is None else ["--select", select])
    try:
        status = cli.main(argv)
    finally:
        locked.chmod(stat.S_IRWXU)
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert lines[0].startswith(f"scoresde-ref verify: error: --out {out}: ") and reason in lines[0]
    assert spied_registry == []  # load_checks never called, no check run
    assert _tree(tmp_path) == before


def test_report_md_that_is_a_directory_is_refused(spied_registry, tmp_path, capsys):
    """`DIR/report.md` a directory: the final rename would fail after every check; refused first instead."""
    (tmp_path / "report.md").mkdir()
    assert cli.main(["verify", "--out", str(tmp_path), "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert f"--out {tmp_path}: {tmp_path / 'report.md'} exists and is not a regular file" in err
    assert spied_registry == []


def test_bad_out_from_the_console_gives_one_line_and_no_traceback(tmp_path):
    """The same refusal as a user sees it, in a fresh interpreter (`python -m scoresde_ref`, the console script's
    `main`): exit 2, exactly one line on stderr, nothing on stdout."""
    file = tmp_path / "file"
    file.write_text("not a directory")
    proc = subprocess.run(
        [sys.executable, "-m", "scoresde_ref", "verify", "--out", str(file / "sub"), "--no-figures"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    expected = f"scoresde-ref verify: error: --out {file / 'sub'}: {file} exists and is not a directory"
    assert proc.stderr.splitlines() == [expected]


def test_an_earlier_report_survives_a_failed_write(spied_registry, tmp_path, monkeypatch, capsys):
    """A full disk while writing `report.md` (simulated: `os.fsync` of the temporary file raises ENOSPC, after the
    temporary file was created and written): the earlier report is byte for byte what it was, no temporary file is
    left, the results are still printed, exit 1. Planted bug caught: `report.md` rewritten in place (truncated
    first), which a full disk left empty."""
    assert cli.main(["verify", "--out", str(tmp_path), "--no-figures"]) == 0
    capsys.readouterr()
    before = _tree(tmp_path)
    assert list(before) == ["report.md"]
    seen_at_failure: list[list[str]] = []

    def full_disk(fd):
        seen_at_failure.append(sorted(p.name for p in tmp_path.iterdir()))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    status = cli.main(["verify", "--out", str(tmp_path), "--no-figures"])
    monkeypatch.undo()
    captured = capsys.readouterr()
    assert status == 1
    assert len(seen_at_failure) == 1 and len(seen_at_failure[0]) == 2  # report.md and the temporary file
    (temp,) = set(seen_at_failure[0]) - {"report.md"}
    assert temp.startswith(".report.") and temp.endswith(".md")
    assert f"could not write {tmp_path / 'report.md'}" in captured.err and "unchanged" in captured.err
    assert "report: " not in captured.out and "verify: 2 passed, 0 failed" in captured.out
    assert _tree(tmp_path) == before


def test_a_selected_run_is_written_beside_the_full_report(spied_registry, tmp_path, capsys):
    """`--select` writes `DIR/select-<slug>/report.md` and leaves `DIR/report.md` as it was; `--overwrite` replaces
    it; the `report:` line says where each went. Planted bug caught: a one-check run silently replacing the full
    report that CI left."""
    assert cli.main(["verify", "--out", str(tmp_path), "--no-figures"]) == 0
    full = (tmp_path / "report.md").read_bytes()
    assert b"2 passed" in full and b"- checks: all" in full
    capsys.readouterr()

    assert cli.main(["verify", "--out", str(tmp_path), "--select", "g/alpha", "--no-figures"]) == 0
    selected = tmp_path / "select-g-alpha" / "report.md"
    assert f"report: {selected}" in capsys.readouterr().out
    assert (tmp_path / "report.md").read_bytes() == full
    text = selected.read_text()
    assert "1 passed" in text and "--select 'g/alpha'" in text
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "report.md",
        "select-g-alpha",
        "select-g-alpha/report.md",
    ]

    assert cli.main(["verify", "--out", str(tmp_path), "--select", "g/alpha", "--overwrite", "--no-figures"]) == 0
    assert f"report: {tmp_path / 'report.md'}" in capsys.readouterr().out
    assert "1 passed" in (tmp_path / "report.md").read_text()
    assert spied_registry.count("alpha") == 3 and spied_registry.count("beta") == 1


@pytest.mark.parametrize(
    ("select", "slug"),
    [
        ("errata/000_", "errata-000_"),
        ("kernels", "kernels"),
        ("a b//c", "a-b-c"),
        ("/chains/", "chains"),
        ("x" * 100, "x" * 60),
    ],
)
def test_select_slug(select, slug):
    assert _report.select_slug(select) == slug
    assert _report.report_dir("out", select) == pathlib.Path("out") / f"select-{slug}"
    assert _report.report_dir("out", select, overwrite=True) == pathlib.Path("out")
    assert _report.report_dir("out", None) == pathlib.Path("out")


@pytest.mark.parametrize("select", ["", "/", "..", "é"])
def test_select_slug_with_nothing_left_is_a_hash(select):
    """Nothing of the text survives: a name from its hash, never `select-` (or `select-..`, outside DIR)."""
    slug = _report.select_slug(select)
    assert len(slug) == 8 and all(c in "0123456789abcdef" for c in slug)
    assert _report.select_slug("") != _report.select_slug("/")


def test_replaced_atomically(tmp_path):
    """An exception inside the block leaves the old file and no temporary; a clean exit replaces it, with the mode a
    plain write gives (mkstemp's 0600 would hide the report from a CI artefact reader)."""
    path = tmp_path / "report.md"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="mid-write"):
        with _report.replaced_atomically(path) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".md"
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "old" and _tree(tmp_path) == {"report.md": b"old"}
    (tmp_path / "plain").write_text("")
    _report.write_text_atomically(path, "new")
    assert path.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["plain", "report.md"]
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE((tmp_path / "plain").stat().st_mode)


def test_save_figure_writes_a_png_through_a_temporary_file(tmp_path):
    """`save_figure`: a PNG at `out_dir/filename`, no temporary left (the temporary keeps the `.png` suffix, from
    which matplotlib reads the format)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    path = _registry.save_figure(fig, tmp_path, "line.png")
    assert path == tmp_path / "line.png" and [p.name for p in tmp_path.iterdir()] == ["line.png"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
