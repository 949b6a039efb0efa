"""Read the golden files written by `scoresde-ref golden --out DIR` with NumPy alone (no JAX, no other part of
scoresde_ref): `load(DIR)` returns every case; `case.inputs` / `case.outputs` are dicts of NumPy arrays.

`import scoresde_ref.golden` runs the package's `__init__` (which imports JAX). A PyTorch or NumPy user without JAX
loads this file by path or copies it — it depends on the standard library and NumPy only::

    import importlib.util
    spec = importlib.util.spec_from_file_location("golden", "path/to/golden.py")
    golden = importlib.util.module_from_spec(spec); spec.loader.exec_module(golden)
    for case in golden.load("golden/"): ...

or from a shell `python path/to/golden.py DIR` (lists the cases).

**Layout** (schema `SCHEMA_VERSION`): `DIR/golden.json` holds `{"schema_version", "provenance", "cases": [...]}`,
each case `{"id", "object", "conventions", "dtype", "tolerance": {"rtol", "atol", "reason"}, "computed_by",
"inputs": [names], "outputs": [names]}`; `DIR/golden.npz` holds the arrays under `"{id}/inputs/{name}"` and
`"{id}/outputs/{name}"` (derivations/conformance.md §golden files).
"""

import json
import pathlib
import sys
from typing import NamedTuple

import numpy as np

SCHEMA_VERSION = 1
JSON_NAME, NPZ_NAME = "golden.json", "golden.npz"


class GoldenCase(NamedTuple):
    """One golden case: `id`, `object` (what was computed), `conventions`, `dtype`, `tolerance` (`rtol`, `atol`,
    `reason`), `computed_by`, `inputs` and `outputs` (name -> NumPy array, all noise included in the inputs)."""

    id: str
    object: str
    conventions: dict
    dtype: str
    tolerance: dict
    computed_by: str
    inputs: dict
    outputs: dict

    def check(self, outputs: dict) -> dict:
        """`{name: max |got - expected| / (atol + rtol |expected|)}` for `outputs` (name -> array); a value <= 1
        passes."""
        rtol, atol = float(self.tolerance["rtol"]), float(self.tolerance["atol"])
        ratios = {}
        for name, expected in self.outputs.items():
            got = np.asarray(outputs[name], np.float64)
            if got.shape != expected.shape:
                raise ValueError(f"GoldenCase.check: {self.id}/{name} has shape {expected.shape}; got {got.shape}")
            ratios[name] = float(np.max(np.abs(got - expected) / (atol + rtol * np.abs(expected)), initial=0.0))
        return ratios


class Golden(NamedTuple):
    """A golden directory: `schema_version`, `provenance` (package version, git revision, ...), `cases`."""

    schema_version: int
    provenance: dict
    cases: tuple

    def __getitem__(self, key):
        if isinstance(key, str):
            for case in self.cases:
                if case.id == key:
                    return case
            raise KeyError(key)
        return tuple.__getitem__(self, key)


def load(directory) -> Golden:
    """Read `DIR/golden.json` and `DIR/golden.npz` (module docstring); a newer schema is refused."""
    directory = pathlib.Path(directory)
    meta = json.loads((directory / JSON_NAME).read_text())
    version = meta.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"golden.load: schema_version must be an integer <= {SCHEMA_VERSION}; got {version!r}")
    cases = []
    with np.load(directory / NPZ_NAME, allow_pickle=False) as arrays:
        for c in meta["cases"]:
            inputs = {name: arrays[f"{c['id']}/inputs/{name}"] for name in c["inputs"]}
            outputs = {name: arrays[f"{c['id']}/outputs/{name}"] for name in c["outputs"]}
            cases.append(
                GoldenCase(
                    c["id"],
                    c["object"],
                    c["conventions"],
                    c["dtype"],
                    c["tolerance"],
                    c["computed_by"],
                    inputs,
                    outputs,
                )
            )
    return Golden(version, meta["provenance"], tuple(cases))


if __name__ == "__main__":
    golden = load(sys.argv[1] if len(sys.argv) > 1 else ".")
    print(f"schema {golden.schema_version}, {len(golden.cases)} cases, provenance {golden.provenance}")
    for case in golden.cases:
        print(f"  {case.id}: {case.object} ({case.dtype}; outputs {', '.join(case.outputs)})")
