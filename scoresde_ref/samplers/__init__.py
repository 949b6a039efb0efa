"""Samplers: predictor and corrector objects, the predictor-corrector sampler, the probability-flow ODE sampler,
diffrax SDE solvers, DDIM and (annealed) Langevin dynamics; one result type, `SampleResult`."""


from ._correctors import AbstractCorrector as AbstractCorrector
from ._correctors import AnnealedLangevinCorrector as AnnealedLangevinCorrector
from ._correctors import LangevinCorrector as LangevinCorrector
from ._ddim import ddim_sample as ddim_sample
from ._langevin import annealed_langevin_sample as annealed_langevin_sample
from ._langevin import langevin_mcmc as langevin_mcmc
from ._langevin import langevin_update as langevin_update
from ._ode import ode_sample as ode_sample
from ._ode import ode_sample_scipy as ode_sample_scipy
from ._options import ODE_SOLVERS as ODE_SOLVERS
from ._options import SDE_SOLVERS as SDE_SOLVERS
from ._options import as_corrector as as_corrector
from ._options import as_predictor as as_predictor
from ._options import as_solver as as_solver
from ._pc import pc_sample as pc_sample
from ._predictors import AbstractPredictor as AbstractPredictor
from ._predictors import Ancestral as Ancestral
from ._predictors import EulerMaruyama as EulerMaruyama
from ._predictors import ReverseDiffusion as ReverseDiffusion
from ._result import SampleResult as SampleResult
from ._sde_solvers import rk1_003_step as rk1_003_step
from ._sde_solvers import sde_sample as sde_sample
