"""Forward SDEs dx = f(x, t) dt + g(t) dw: VE, VP, sub-VP, OU and the documents' elementary examples, their exact
kernels, the affine quadrature route (`AffineSDE`), and reverse-time and probability-flow drifts."""

from ._affine import AffineSDE as AffineSDE
from ._base import AbstractAffineSDE as AbstractAffineSDE
from ._base import AbstractLinearSDE as AbstractLinearSDE
from ._base import AbstractSDE as AbstractSDE
from ._elementary import BrownianMotion as BrownianMotion
from ._elementary import ConstantDriftSDE as ConstantDriftSDE
from ._elementary import ExpDiffusionSDE as ExpDiffusionSDE
from ._elementary import PowerDiffusionSDE as PowerDiffusionSDE
from ._ou import OUSDE as OUSDE
from ._reverse import Flow as Flow
from ._reverse import TimeReversedSDE as TimeReversedSDE
from ._reverse import probability_flow_drift as probability_flow_drift
from ._reverse import reverse_drift as reverse_drift
from ._reverse import reverse_drift_matrix as reverse_drift_matrix
from ._ve import VESDE as VESDE
from ._vp import VPSDE as VPSDE
from ._vp import SubVPSDE as SubVPSDE
