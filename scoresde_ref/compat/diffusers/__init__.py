"""Twins of Hugging Face diffusers' schedulers, computed from this project's chains, kernels and step objects
(derivations/compat.md §diffusers): same class, method, argument and attribute names, defaults and return structure;
the library's random draws are passed in (`noise=`, or DDIM's `variance_noise=`); NumPy arrays in and out, batch
first; float64 by default, `dtype=np.float32` for the library's float32 schedule storage.

Stateful like the library (`set_timesteps` and `step` update the scheduler), unlike the rest of this project: a twin
must be driven by the same loop as the object it mirrors.
"""

from ._ddim import DDIMScheduler as DDIMScheduler
from ._ddpm import DDPMScheduler as DDPMScheduler
from ._euler import EulerAncestralDiscreteScheduler as EulerAncestralDiscreteScheduler
from ._euler import EulerDiscreteScheduler as EulerDiscreteScheduler
from ._output import DDIMSchedulerOutput as DDIMSchedulerOutput
from ._output import DDPMSchedulerOutput as DDPMSchedulerOutput
from ._output import EulerAncestralDiscreteSchedulerOutput as EulerAncestralDiscreteSchedulerOutput
from ._output import EulerDiscreteSchedulerOutput as EulerDiscreteSchedulerOutput
from ._output import SchedulerOutput as SchedulerOutput
from ._output import SdeVeOutput as SdeVeOutput
from ._schedule import betas_for_alpha_bar as betas_for_alpha_bar
from ._sde import ScoreSdeVeScheduler as ScoreSdeVeScheduler
from ._sde import ScoreSdeVpScheduler as ScoreSdeVpScheduler
