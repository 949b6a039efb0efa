"""Samplers: predictors and correctors, the predictor-corrector sampler, the probability-flow ODE sampler, diffrax
SDE solvers, DDIM and (annealed) Langevin dynamics."""

from ._ddim import ddim_sample as ddim_sample
from ._langevin import annealed_langevin_sample as annealed_langevin_sample
from ._langevin import langevin_mcmc as langevin_mcmc
from ._ode import ode_sample as ode_sample
from ._ode import ode_sample_scipy as ode_sample_scipy
from ._pc import pc_sample as pc_sample
from ._sde_solvers import rk1_003_step as rk1_003_step
from ._sde_solvers import sde_sample as sde_sample
