"""The jaxtyping shape annotations are checked at run time (as diffrax's test run does), here along the README's
API tour, which touches every family of the public API: the package is imported under
`jaxtyping.install_import_hook(..., "beartype.beartype")` in a fresh interpreter (the hook acts at import), and the
tour must run without a `TypeCheckError`.

Why the tour and not the whole suite (`--jaxtyping-packages=scoresde_ref,beartype.beartype`): the validation tests
pass ill-shaped values on purpose and assert the package's own `ValueError` naming the parameter; under the
run-time checker the same call fails earlier with a `TypeCheckError`, which those tests do not expect."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

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


def test_readme_tour_satisfies_the_shape_annotations():
    """Planted bugs caught (each was found this way): `-> Scalar` on a coefficient evaluated on a grid of times
    (`VPSDE.beta`, `t_ref`), `-> Scalar` on a method that returns a Python float, `Matrix` ("d d") for a stack of
    covariances (`cholesky_checked`) or a non-square observation matrix (`gaussian_conditional`)."""
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "README.md")], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0 and "tour ok" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
