"""The conformance suite as a pytest package: `pytest --pyargs scoresde_ref.conformance` checks the target named by
`SCORESDE_TARGET=module:factory` against the twin `SCORESDE_TWIN=NAME`, one test per method (`scoresde_ref.check`).

- `SCORESDE_EXAMPLES=N` drawn inputs per method (default 25);
- `SCORESDE_DTYPE=float32|float64` the target's dtype (default: read off its first output);
- `SCORESDE_XFAIL=path`: expected failures, one per line, `METHOD: reason` (lines starting with `#` are
  comments; a reason is required) —
  a listed method that fails is XFAIL, one that passes is an error (strict), as array-api-tests' xfails file and
  scikit-learn's `_xfail_checks` do.

Without `SCORESDE_TARGET` every test is skipped with that reason.
"""

import os
import pathlib


def read_xfails(path) -> dict[str, str]:
    """`{method: reason}` from an expected-failures file (module docstring); a line without a reason is refused."""
    xfails = {}
    for n, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):  # a comment line (a reason may cite "#14569")
            continue
        method, sep, reason = line.partition(":")
        if not sep or not reason.strip():
            raise ValueError(f"read_xfails: line {n} of {path} must be 'METHOD: reason'; got {line!r}")
        xfails[method.strip()] = reason.strip()
    return xfails


def settings_from_env(environ=os.environ) -> dict:
    """The suite's settings from the environment (module docstring)."""
    return {
        "target": environ.get("SCORESDE_TARGET"),
        "twin": environ.get("SCORESDE_TWIN"),
        "examples": int(environ.get("SCORESDE_EXAMPLES", "25")),
        "dtype": environ.get("SCORESDE_DTYPE") or None,
        "xfails": read_xfails(environ["SCORESDE_XFAIL"]) if environ.get("SCORESDE_XFAIL") else {},
    }
