"""The conformance harness: check an implementation against its twin (derivations/conformance.md).

`compare(target, "diffusers.DDPMScheduler", examples=25)` runs the target and the twin on the same
Hypothesis-drawn inputs (values, shapes, timesteps, noise) and returns a `CompareReport` per method: max abs / rel
error, max ULP distance, the worst input, and the tolerance with its reason. One registry (`REGISTRY`, `get_twin`,
`register`) serves three ways in: this function, `pytest --pyargs scoresde_ref.conformance` (`SCORESDE_TARGET`,
`SCORESDE_TWIN`, `SCORESDE_XFAIL`) and `scoresde-ref check --target module:factory --twin NAME`.
"""

from ._compare import compare as compare
from ._registry import REGISTRY as REGISTRY
from ._registry import MethodSpec as MethodSpec
from ._registry import TwinSpec as TwinSpec
from ._registry import get_twin as get_twin
from ._registry import load_target as load_target
from ._registry import register as register
from ._registry import twin_names as twin_names
from ._report import CompareReport as CompareReport
from ._report import MethodReport as MethodReport
from ._report import Tolerance as Tolerance
from ._report import ulp_distance as ulp_distance
