"""Discrete chains: SMLD (NCSN), DDPM and autoregressive OU chains with their exact kernels; discretizations of
SDEs (x, i) -> (f_i, G_i) as objects that wrap the chains; running chains forward and backward in one `lax.scan`."""

from ._base import AbstractChain as AbstractChain
from ._ddpm import DDPMChain as DDPMChain
from ._ddpm import cosine_log_alpha_bar as cosine_log_alpha_bar
from ._discretize import AbstractChainDiscretization as AbstractChainDiscretization
from ._discretize import AbstractDiscretization as AbstractDiscretization
from ._discretize import DDPMDiscretization as DDPMDiscretization
from ._discretize import Discretization as Discretization
from ._discretize import EulerMaruyamaDiscretization as EulerMaruyamaDiscretization
from ._discretize import SMLDDiscretization as SMLDDiscretization
from ._discretize import discretize as discretize
from ._discretize import reference_discretization as reference_discretization
from ._ou import OUChain as OUChain
from ._run import chain_path as chain_path
from ._run import propagate_moments as propagate_moments
from ._run import sample_path as sample_path
from ._run import sample_reverse_path as sample_reverse_path
from ._smld import SMLDChain as SMLDChain
