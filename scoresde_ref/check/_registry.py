r"""The one registry of twin specs: name $\to$ twin factory, methods, input strategies and tolerances.

A `TwinSpec` says how to build the twin in a dtype (`twin(dtype)` returns what a target is: a class or factory
called with the library's config, or the function itself) and lists `MethodSpec`s. A `MethodSpec` draws inputs
(`cases`, a Hypothesis strategy of dicts: config, scalars, and float32-representable NumPy arrays including all
noise), runs one method on a target or twin (`run(obj, case) -> {output name: array}`, the same code for both),
and gives the method's condition number $\kappa$ at an input (`condition(case, dtype)`, derivations/conformance.md
§tolerances). New twins plug in with `register(spec)`.
"""

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


def _unit_condition(case, dtype) -> float:
    return 1.0


class MethodSpec(NamedTuple):
    """One method of a twin: `name`, the input strategy `cases`, `run(obj, case)`, the condition `condition(case,
    dtype)` ($\\kappa \\ge 1$), `exact` (integer-valued outputs: no error allowed) and `reason` (why the bound
    holds, shown in the report)."""

    name: str
    cases: Any
    run: Callable
    condition: Callable = _unit_condition
    exact: bool = False
    reason: str = ""


class TwinSpec(NamedTuple):
    """A twin: `name` (`"diffusers.DDPMScheduler"`), `twin(dtype)` (the object a target stands for, in `dtype`),
    `methods`, `library` (the upstream object it mirrors), `dtypes` the twin offers, `doc` (one line)."""

    name: str
    twin: Callable
    methods: tuple
    library: str
    dtypes: tuple = (np.float64, np.float32)
    doc: str = ""

    def method(self, name: str) -> MethodSpec:
        for m in self.methods:
            if m.name == name:
                return m
        raise ValueError(f"TwinSpec {self.name}: method must be one of {[m.name for m in self.methods]}; got {name!r}")


REGISTRY: dict[str, TwinSpec] = {}


def register(spec: TwinSpec) -> TwinSpec:
    """Add `spec` to the registry under `spec.name` (a second spec of the same name replaces the first)."""
    REGISTRY[spec.name] = spec
    return spec


def _load_specs() -> None:
    from . import _specs_diffusers, _specs_k_diffusion, _specs_paper, _specs_score_sde  # noqa: F401  (register)


def get_twin(name) -> TwinSpec:
    """The registered `TwinSpec` called `name` (a `TwinSpec` is returned as is)."""
    if isinstance(name, TwinSpec):
        return name
    _load_specs()
    if name not in REGISTRY:
        raise ValueError(f"get_twin: twin must be one of {sorted(REGISTRY)}; got {name!r}")
    return REGISTRY[name]


def twin_names() -> list[str]:
    """The names of the registered twins, sorted."""
    _load_specs()
    return sorted(REGISTRY)


def load_target(spec: str):
    """The object named `"module:attribute"` (attribute may be dotted); a target factory is called with no
    arguments only if it is named `module:factory()`."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"load_target: target must be 'module:attribute' (e.g. 'mypkg.schedulers:DDPM'); got {spec!r}")
    module_name, _, attr = spec.partition(":")
    call = attr.endswith("()")
    attr = attr.removesuffix("()")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"load_target: cannot import module {module_name!r} of target {spec!r}: {err}") from err
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as err:
            raise ValueError(
                f"load_target: module {module_name!r} has no attribute {attr!r} (target {spec!r})"
            ) from err
    return obj() if call else obj
