r"""The documents' experiments end to end: `scoresde-ref experiment NAME` (derivations/experiments.md).

| name | reruns | module |
|---|---|---|
| `gmm1d` | 000 §5.1 (the 1-D mixture), with 003 §6's sampler comparison | `gmm1d.py` |
| `smile`, `smile-noisy` | 000 §5.2 and App. E (the 2-D smile, without and with noise on the mouth) | `smile.py` |
| `digits`, `digits-conditional`, `digits-inpaint` | 000 §5.3 and App. F, 004 (the 8 × 8 digits) | `digits/` |

The registry is filled lazily: `get_experiment(name)` imports the module that registers `name` (`EXPERIMENTS`),
so the command line can refuse an unknown name before JAX is imported.
"""

import importlib

from ._base import SIZES as SIZES
from ._base import ExperimentOutput as ExperimentOutput
from ._base import ExperimentUsageError as ExperimentUsageError
from ._base import RunConfig as RunConfig
from ._base import register as register
from ._base import registered as registered
from ._base import run_experiment as run_experiment
from ._base import train_or_resume as train_or_resume

EXPERIMENTS = {
    "gmm1d": "gmm1d",
    "smile": "smile",
    "smile-noisy": "smile",
    "digits": "digits",
    "digits-conditional": "digits",
    "digits-inpaint": "digits",
}
"""Experiment name -> the module of this package that registers it."""


def get_experiment(name: str):
    """The registered `Experiment` `name` (its module imported first); `ExperimentUsageError` if unknown or if its
    module is not available."""
    if name not in EXPERIMENTS:
        raise ExperimentUsageError(f"experiment: NAME must be one of {', '.join(EXPERIMENTS)}; got NAME = {name!r}")
    module = f"{__name__}.{EXPERIMENTS[name]}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not module.startswith(error.name):
            raise
        raise ExperimentUsageError(f"experiment: {name} is not available ({module} does not exist yet)") from error
    experiment = registered().get(name)
    if experiment is None:
        raise ExperimentUsageError(f"experiment: {name} is not available ({module} does not register it)")
    return experiment
