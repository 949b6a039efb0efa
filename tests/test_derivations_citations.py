"""Every module and function that `derivations/*.md` cites resolves in the package (issue 12, item 8: a move of
the modules must not leave the derivations pointing at files that are gone).

Three forms are checked, in backtick spans:

- a module path `x/_y.py` (relative to `scoresde_ref/`; a leading `scoresde_ref/` is allowed) exists: any path whose
  first part is a subpackage, or whose file name starts with `_` or `checks_`, or is `cli.py`, `examples.py`,
  `__main__.py`, `__init__.py` (other `.py` names, e.g. the paper's reference code `sde_lib.py`, are not ours);
- `x/_y.py: name` (also `Class.method`) names an attribute of that module, defined or re-exported there;
- `sr.name` (also `sr.Class.method`) is an attribute of the top-level package.

The code map of `derivations/README.md` is checked row by row: its first column lists modules, and each plain
identifier of its second column is an attribute of one of them or of a class defined in them, or (a cross-reference)
of the top-level package; `sr.name` is resolved on the package, and names of JAX/NumPy (`jax.`, `lax.`, `eqx.`, `jnp.`,
`np.`) are not ours to check.
"""

import importlib
import pathlib
import re

import pytest

import scoresde_ref

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scoresde_ref"
DOCS = sorted((ROOT / "derivations").glob("*.md"))
SUBPACKAGES = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
_SPAN = re.compile(r"`([^`]+)`")
_PATH = re.compile(r"^(?:scoresde_ref/)?((?:\w+/)*[\w]+\.py)(?::\s*([A-Za-z_][\w.]*))?")
_SR = re.compile(r"^sr\.([A-Za-z_][\w.]*)")
_IDENT = re.compile(r"^[A-Za-z_]\w*(?:\.\w+)*$")
_FOREIGN = ("jax.", "lax.", "eqx.", "jnp.", "np.")


def _ours(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (
        path.split("/", 1)[0] in SUBPACKAGES
        or name.startswith(("_", "checks_"))
        or name in ("cli.py", "examples.py", "__main__.py", "__init__.py")
    )


def _module_name(path: str) -> str:
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["scoresde_ref", *parts])


def _resolve(obj, dotted: str) -> bool:
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def _has(path: str, name: str) -> bool:
    return _resolve(importlib.import_module(_module_name(path)), name)


def broken_citations(text: str, source: str) -> list[str]:
    """`source:line: why` for each citation of `text` that does not resolve."""
    bad = []
    for number, line in enumerate(text.splitlines(), 1):
        for span in _SPAN.findall(line):
            span = span.strip()
            if m := _PATH.match(span):
                path, name = m.groups()
                if path.startswith(("tests/", "benchmarks/", "scripts/")):
                    if not (ROOT / path).is_file():
                        bad.append(f"{source}:{number}: {path} does not exist")
                    continue
                if not _ours(path):
                    continue
                if not (PACKAGE / path).is_file():
                    bad.append(f"{source}:{number}: scoresde_ref/{path} does not exist")
                elif name and not _has(path, name):
                    bad.append(f"{source}:{number}: {path} has no {name}")
            elif (m := _SR.match(span)) and not _resolve(scoresde_ref, m.group(1).rstrip(".")):
                bad.append(f"{source}:{number}: sr.{m.group(1)} does not exist")
    return bad


def code_map_rows(text: str) -> list[tuple[int, list[str], list[str]]]:
    """`(line, module paths, identifiers)` of each row of the `## Code map` tables."""
    start = text.index("## Code map")
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if sum(len(x) + 1 for x in text.splitlines()[: number - 1]) < start or not line.startswith("| `"):
            continue
        cells = line.strip().strip("|").split("|", 1)
        if len(cells) != 2:
            continue
        paths = [s for s in _SPAN.findall(cells[0]) if s.endswith(".py")]
        names = [s for s in _SPAN.findall(cells[1]) if _IDENT.match(s) and not s.startswith(_FOREIGN)]
        rows.append((number, paths, names))
    return rows


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_cited_modules_and_names_resolve(doc):
    """Planted bugs caught: a module moved (`_pc_sampler.py` after the subpackage move), a function renamed
    (`samplers/_predictors.py: euler_maruyama` after the predictors became objects)."""
    bad = broken_citations(doc.read_text(encoding="utf-8"), f"derivations/{doc.name}")
    assert not bad, "\n".join(bad)


def test_the_resolver_can_fail():
    """The checks above would pass vacuously if the parser saw nothing: it must flag each planted form."""
    text = "`_pc_sampler.py: pc_sample`; `samplers/_pc.py: no_such_name`; `sr.no_such_name`; `sde_lib.py`; `sr.VPSDE`"
    bad = broken_citations(text, "s")
    assert bad == [
        "s:1: scoresde_ref/_pc_sampler.py does not exist",
        "s:1: samplers/_pc.py has no no_such_name",
        "s:1: sr.no_such_name does not exist",
    ]


def test_code_map_lists_every_module_and_its_names_exist():
    """The code map of derivations/README.md names every module of the package (one row may hold several), and each
    identifier of a row is an attribute of one of its modules or of a class defined there. Planted bugs caught: a
    module added without a row, a name in the map that the module no longer defines."""
    rows = code_map_rows((ROOT / "derivations" / "README.md").read_text(encoding="utf-8"))
    mapped = {p.removeprefix("scoresde_ref/") for _, paths, _ in rows for p in paths}
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    assert not modules - mapped, sorted(modules - mapped)
    bad = []
    for number, paths, names in rows:
        # `__main__.py` runs the command when imported: its names are those of `cli.py`
        mods = [
            importlib.import_module(_module_name(p.removeprefix("scoresde_ref/"))) for p in paths if p != "__main__.py"
        ]
        classes = [v for m in mods for v in vars(m).values() if isinstance(v, type)]
        for name in names:
            if name.startswith("sr."):
                ok = _resolve(scoresde_ref, name.removeprefix("sr."))
            else:
                ok = any(_resolve(obj, name) for obj in [*mods, *classes, scoresde_ref])
            if not ok:
                bad.append(f"README.md:{number}: {name} not in {', '.join(paths)}")
    assert not bad, "\n".join(bad)
