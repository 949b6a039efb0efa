"""scoresde-ref: reference implementation and correctness oracle for score-based generative
modelling through SDEs (Song et al., ICLR 2021). See README.md for the tour and
derivations/ for the mathematics."""

from ._affine import AffineSDE as AffineSDE
from ._brownian import BrownianMotion as BrownianMotion
from ._brownian import ConstantDriftSDE as ConstantDriftSDE
from ._brownian import ExpDiffusionSDE as ExpDiffusionSDE
from ._brownian import PowerDiffusionSDE as PowerDiffusionSDE
from ._chain_base import AbstractChain as AbstractChain
from ._chain_run import chain_path as chain_path
from ._chain_run import propagate_moments as propagate_moments
from ._chain_run import sample_path as sample_path
from ._chain_run import sample_reverse_path as sample_reverse_path
from ._ddpm_chain import cosine_log_alpha_bar as cosine_log_alpha_bar
from ._ddpm_chain import DDPMChain as DDPMChain
from ._discretize import Discretization as Discretization
from ._discretize import discretize as discretize
from ._distribution_base import AbstractDensity as AbstractDensity
from ._distribution_base import AbstractDistribution as AbstractDistribution
from ._empirical import Empirical as Empirical
from ._fokker_planck import fokker_planck_relative_residual as fokker_planck_relative_residual
from ._fokker_planck import fokker_planck_residual as fokker_planck_residual
from ._fokker_planck import fokker_planck_terms as fokker_planck_terms
from ._fokker_planck import log_fokker_planck_residual as log_fokker_planck_residual
from ._fokker_planck import log_fokker_planck_terms as log_fokker_planck_terms
from ._gaussian import Gaussian as Gaussian
from ._marginal import marginal as marginal
from ._marginal import posterior as posterior
from ._marginal import push_forward as push_forward
from ._mixture import AbstractMixture as AbstractMixture
from ._mixture import GaussianMixture as GaussianMixture
from ._mixture import IsotropicGaussianMixture as IsotropicGaussianMixture
from ._ou import OUSDE as OUSDE
from ._ou_chain import OUChain as OUChain
from ._reverse import Flow as Flow
from ._reverse import probability_flow_drift as probability_flow_drift
from ._reverse import reverse_drift as reverse_drift
from ._reverse import TimeReversedSDE as TimeReversedSDE
from ._sde_base import AbstractAffineSDE as AbstractAffineSDE
from ._sde_base import AbstractLinearSDE as AbstractLinearSDE
from ._sde_base import AbstractSDE as AbstractSDE
from ._smld_chain import SMLDChain as SMLDChain
from ._ve import VESDE as VESDE
from ._vp import SubVPSDE as SubVPSDE
from ._vp import VPSDE as VPSDE

__version__ = "0.1.0"
