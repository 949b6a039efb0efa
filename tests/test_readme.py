"""The README's API tour runs as written (a stale example is a bug a new user meets first)."""

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"

SCRIPT = """
import pathlib, re, sys
from jaxtyping import install_import_hook
with install_import_hook("scoresde_ref", "beartype.beartype"):
    import scoresde_ref
readme = pathlib.Path(sys.argv[1])
for code in re.findall(r"```python\\n(.*?)```", readme.read_text(), re.S):
    exec(compile(code, str(readme), "exec"), {})
print("tour ok")
"""


def test_readme_api_tour_runs():
    """The tour runs as written, and with the jaxtyping shape annotations checked at run time (as diffrax's test run
    does): the package is imported under `jaxtyping.install_import_hook(..., "beartype.beartype")` in a fresh
    interpreter (the hook acts at import), and the tour, which touches every family of the public API, must run
    without a `TypeCheckError`. One run serves both checks.

    Why the tour and not the whole suite under `--jaxtyping-packages=scoresde_ref,beartype.beartype`: the validation
    tests pass ill-shaped values on purpose and assert the package's own `ValueError` naming the parameter; the
    run-time checker pre-empts it with a `TypeCheckError`, which those tests do not expect.

    Planted bugs caught (each was found this way): a stale example; `-> Scalar` on a coefficient evaluated on a grid
    of times (`VPSDE.beta`, `t_ref`) or on a method that returns a Python float; `Matrix` ("d d") for a stack of
    covariances (`cholesky_checked`) or a non-square observation matrix (`gaussian_conditional`)."""
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(README)], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0 and "tour ok" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]


def test_readme_layout_maps_every_subpackage():
    """The README's Layout block has one line per subpackage of the package (`name/  sr.name  what it holds`),
    plus `sr.examples`, `verify/` and `cli`. Planted bug caught: a subpackage added (or renamed) without its line."""
    text = README.read_text()
    layout = text[text.index("## Layout") :]
    block = layout[layout.index("```") + 3 : layout.index("```", layout.index("```") + 3)]
    package = README.parent / "scoresde_ref"
    subpackages = sorted(p.name for p in package.iterdir() if (p / "__init__.py").is_file() and p.name != "verify")
    assert len(subpackages) >= 8, subpackages
    for name in subpackages:
        assert re.search(rf"^\s+{name}/\s+sr\.{name}\s+\S", block, re.M), name
    assert re.search(r"^\s+examples\.py\s+sr\.examples\s+\S", block, re.M)
    assert re.search(r"^\s+verify/\s+verify\s+\S", block, re.M)
    assert re.search(r"^\s+cli\.py\s+cli\s+\S", block, re.M)
