"""Packaging hygiene: the declared licence ships as a file, the version has one source, `py.typed` is installed,
and the dependency floors admit only versions that have the APIs the code uses."""

import importlib.metadata
import importlib.resources
import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGE = ROOT / "scoresde_ref"


def _floor(name):
    for requirement in PYPROJECT["project"]["dependencies"]:
        if m := re.fullmatch(rf"{re.escape(name)}>=([\d.]+)", requirement.split(";")[0].strip()):
            return tuple(int(p) for p in m.group(1).split("."))
    raise AssertionError(f"no `{name}>=` floor in pyproject.toml")


def test_license_file_is_the_declared_apache_2_text():
    """Planted bug caught: `license = "Apache-2.0"` declared with no LICENSE file, or a file that is not the full
    text (the terms and the end marker)."""
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    for phrase in (
        "Apache License",
        "Version 2.0, January 2004",
        "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
        "9. Accepting Warranty or Additional Liability.",
        "END OF TERMS AND CONDITIONS",
    ):
        assert phrase in text, phrase


def test_version_has_one_source():
    """`scoresde_ref.__version__` is the installed distribution's version, and no module writes a version literal
    of its own. Planted bug caught: `__version__ = "0.1.0"` next to pyproject's version (they drift apart)."""
    import scoresde_ref

    assert scoresde_ref.__version__ == importlib.metadata.version("scoresde-ref")
    literal = re.compile(r"""__version__\s*=\s*["']|version\s*=\s*["']\d""")
    offenders = [
        str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py") if literal.search(p.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders


def test_py_typed_ships_with_the_installed_package():
    """PEP 561 marker: present in the installed package (the suite runs against the install in ./scripts/test).
    Planted bug caught: `py.typed` in the source tree but not declared as package data."""
    assert PYPROJECT["tool"]["setuptools"]["package-data"]["scoresde_ref"] == ["py.typed"]
    assert importlib.resources.files("scoresde_ref").joinpath("py.typed").is_file()


def test_dependency_floors_have_the_apis_used():
    """`np.trapezoid` exists from numpy 2.0 (`np.trapz` before): a floor below 2 would admit a numpy on which the
    code fails. Planted bug caught: the old `numpy>=1.26` floor with `np.trapezoid` in the code."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    if "np.trapezoid" in source:
        assert _floor("numpy") >= (2, 0)
    if "SpaceTimeLevyArea" in source or "ForwardMode" in source:
        assert _floor("diffrax") >= (0, 6)
    if "jax.random.key(" in source:
        assert _floor("jax") >= (0, 4, 16)
    assert "ruff" in " ".join(PYPROJECT["project"]["optional-dependencies"]["test"])
