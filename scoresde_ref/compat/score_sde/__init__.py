"""Twin of score_sde_pytorch (Song et al. 2021, the paper's reference code): `sde_lib`, `sampling`, `losses`,
`likelihood`, `controllable_generation` with the library's names, arguments, defaults and return structure,
computed from the project's SDEs, chains, step objects, losses and likelihood (derivations/compat.md, "score_sde").

Random draws are given as the keyword `noise` (in the library's order); score functions are passed directly,
`score_fn(x, t)` on a batch (the library's `mutils.get_score_fn` is the user's business). Arrays in: NumPy or
JAX, batch first, any trailing shape; arrays out: JAX, float64 unless an SDE is built with `dtype=np.float32`.
"""

from . import controllable_generation as controllable_generation
from . import likelihood as likelihood
from . import losses as losses
from . import sampling as sampling
from . import sde_lib as sde_lib
