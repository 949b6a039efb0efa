"""Twin of k-diffusion (Crowson; Karras et al. 2022): `sampling` (schedules, `to_d`, `get_ancestral_step`, Euler /
Heun / DPM-2 / Euler-ancestral samplers, `log_likelihood`) and `external` (`DiscreteSchedule`,
`DiscreteEpsDDPMDenoiser`), computed from the project's VE / VP SDEs, DDPM and SMLD chains and likelihood
(derivations/compat.md, "k-diffusion").

The library's random draws are given as the keyword `noise` (a sequence of arrays in its order); models have the
library's signature, the denoiser `model(x, sigma)` on a batch. Arrays in: NumPy or JAX, batch first; out: JAX,
float64 unless `dtype=np.float32` is asked for.
"""

from . import external as external
from . import sampling as sampling
