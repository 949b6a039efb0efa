"""The linter runs with the tests: `ruff check` on the package, the tests and the benchmarks ([tool.ruff] in
pyproject.toml) must report nothing."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    """Planted bug caught: an unused import or a shadowed name (F401, F811) added anywhere in the three trees."""
    ruff = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "scoresde_ref",
            "tests",
            "benchmarks",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
