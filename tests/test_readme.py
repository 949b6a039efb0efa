"""The README's API tour runs as written (a stale example is a bug a new user meets first)."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_api_tour_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README.md has no python block"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})


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
