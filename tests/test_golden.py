"""Golden files: `write_golden` writes them, `scoresde_ref/golden.py` reads them with NumPy alone — tested in a
fresh interpreter where importing JAX fails, loading the file by path as a PyTorch user would."""

import ast
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import scoresde_ref
from scoresde_ref.check._golden_writer import write_golden

GOLDEN_PY = pathlib.Path(scoresde_ref.__file__).parent / "golden.py"
BLOCK_JAX = """
import sys
class _NoJax:
    def find_spec(self, name, path=None, target=None):
        if name == "jax" or name.startswith("jax.") or name == "jaxlib" or name.startswith("scoresde_ref"):
            raise ImportError(f"{name} is blocked in this test (a NumPy-only user)")
sys.meta_path.insert(0, _NoJax())
"""
READER = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("golden", sys.argv[1])
golden = importlib.util.module_from_spec(spec); spec.loader.exec_module(golden)
g = golden.load(sys.argv[2])
case = g["kernel/vp"]
assert "jax" not in sys.modules and not any(m.startswith("scoresde_ref") for m in sys.modules)
try:
    import jax  # noqa: F401
    raise SystemExit("jax importable: the block failed")
except ImportError:
    pass
print(json.dumps({"n": len(g.cases), "t": case.inputs["t"].tolist(), "std": case.outputs["std"].tolist(),
                  "ratio": case.check(case.outputs)}))
"""


@pytest.fixture(scope="module")
def golden_dir(tmp_path_factory):
    return write_golden(tmp_path_factory.mktemp("golden"))


def test_golden_py_imports_only_the_standard_library_and_numpy():
    tree = ast.parse(GOLDEN_PY.read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= {"json", "pathlib", "sys", "typing", "numpy"}, names


def test_numpy_only_process_reads_the_golden_files(golden_dir, tmp_path):
    """With `jax` and `scoresde_ref` unimportable (a meta-path hook in `sitecustomize` on `PYTHONPATH`), the loader,
    loaded by path, reads every case; the VP kernel's std equals sqrt(-expm1(-int beta)) computed here in NumPy."""
    (tmp_path / "sitecustomize.py").write_text(BLOCK_JAX)
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", READER, str(GOLDEN_PY), str(golden_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    t = np.asarray(got["t"])
    integral = 0.1 * t + 0.5 * (20.0 - 0.1) * t**2
    # float64 closed form: the writer's value and this one agree to a few ulp; 1e-12 is the case's own rtol
    np.testing.assert_allclose(got["std"], np.sqrt(-np.expm1(-integral)), rtol=1e-12)
    assert got["n"] == len(json.loads((golden_dir / "golden.json").read_text())["cases"])
    assert got["ratio"] == {"mean_coeff": 0.0, "std": 0.0}
    listing = subprocess.run(
        [sys.executable, str(GOLDEN_PY), str(golden_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert listing.returncode == 0 and "kernel/vp" in listing.stdout, listing.stderr


def test_schema_and_every_case_has_its_fields(golden_dir):
    meta = json.loads((golden_dir / "golden.json").read_text())
    assert meta["schema_version"] == 1 and meta["provenance"]["version"] == scoresde_ref.__version__
    ids = [c["id"] for c in meta["cases"]]
    for prefix in (
        "kernel/vp",
        "kernel/ve",
        "kernel/subvp",
        "score/gmm",
        "chain/ddpm",
        "pc/reverse_diffusion",
        "pc/langevin",
        "loss/dsm",
        "diffusers/ddpm",
        "diffusers/ddim",
        "diffusers/euler",
    ):
        assert any(i.startswith(prefix) for i in ids), prefix
    with np.load(golden_dir / "golden.npz") as arrays:
        for c in meta["cases"]:
            assert c["tolerance"]["reason"] and c["computed_by"] and c["dtype"] in ("float64", "float32")
            for kind in ("inputs", "outputs"):
                for name in c[kind]:
                    assert f"{c['id']}/{kind}/{name}" in arrays


def test_golden_values_against_independent_numpy(golden_dir):
    """Cases recomputed here in NumPy from their stored inputs: the VE kernel (std^2 = sigma(t)^2 - sigma(0)^2) and
    the DDPM chain (alpha_bar by a float64 cumprod: within 1e-12 relative, the case's rtol, since the cumprod of 1000
    factors errs by <= 1000 u = 1.1e-13)."""
    from scoresde_ref import golden

    g = golden.load(golden_dir)
    ve = g["kernel/ve"]
    t = ve.inputs["t"]
    sigma = 0.01 * (50.0 / 0.01) ** t
    np.testing.assert_allclose(ve.outputs["std"], np.sqrt(sigma**2 - 0.01**2), rtol=1e-12)
    chain = g["chain/ddpm_linear"]
    betas = (0.1 + np.arange(1000) / 999 * (20.0 - 0.1)) / 1000
    np.testing.assert_allclose(chain.outputs["alphas_cumprod"], np.cumprod(1 - betas), rtol=1e-12)
    assert max(chain.check({k: v * (1 + 1e-9) for k, v in chain.outputs.items()}).values()) > 1  # 1e-9 is flagged


def test_newer_schema_is_refused(golden_dir, tmp_path):
    from scoresde_ref import golden

    meta = json.loads((golden_dir / "golden.json").read_text())
    (tmp_path / "golden.json").write_text(json.dumps(meta | {"schema_version": 99}))
    (tmp_path / "golden.npz").write_bytes((golden_dir / "golden.npz").read_bytes())
    with pytest.raises(ValueError, match="schema_version must be an integer <= 1"):
        golden.load(tmp_path)
