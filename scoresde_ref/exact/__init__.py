"""Closed forms whose job is to check methods: exact laws of the samplers' outputs, affine-model objectives,
Gaussian flow maps, Fokker-Planck residuals, the chains' measured SDE limits, Wasserstein bounds, the
likelihood-weighting bound, Gauss-Hermite expectations."""

from ._affine_objectives import AffineScore as AffineScore
from ._affine_objectives import dsm_affine as dsm_affine
from ._affine_objectives import dsm_affine_minimiser as dsm_affine_minimiser
from ._affine_objectives import dsm_ism_gap as dsm_ism_gap
from ._affine_objectives import expected_sq_norm as expected_sq_norm
from ._affine_objectives import fisher_affine as fisher_affine
from ._affine_objectives import gaussian_fisher_information as gaussian_fisher_information
from ._affine_objectives import gaussian_score_coeffs as gaussian_score_coeffs
from ._affine_objectives import ism_affine as ism_affine
from ._affine_objectives import moments as moments
from ._chain_limits import LIMITS as LIMITS
from ._chain_limits import ddpm_kernel_error as ddpm_kernel_error
from ._chain_limits import fit_order as fit_order
from ._chain_limits import gaussian_chain_score as gaussian_chain_score
from ._chain_limits import measure as measure
from ._chain_limits import reverse_terminal_moments as reverse_terminal_moments
from ._fokker_planck import fokker_planck_relative_residual as fokker_planck_relative_residual
from ._fokker_planck import fokker_planck_residual as fokker_planck_residual
from ._fokker_planck import fokker_planck_terms as fokker_planck_terms
from ._fokker_planck import log_fokker_planck_residual as log_fokker_planck_residual
from ._fokker_planck import log_fokker_planck_terms as log_fokker_planck_terms
from ._gauss_hermite import gauss_hermite_expectation as gauss_hermite_expectation
from ._gaussian_flow import gaussian_flow_jacobian_integral as gaussian_flow_jacobian_integral
from ._gaussian_flow import gaussian_flow_map as gaussian_flow_map
from ._likelihood_bound import exact_score_coeffs as exact_score_coeffs
from ._likelihood_bound import gaussian_kl as gaussian_kl
from ._likelihood_bound import likelihood_weighting_bound as likelihood_weighting_bound
from ._likelihood_bound import reverse_sde_output as reverse_sde_output
from ._likelihood_bound import score_error_integral as score_error_integral
from ._likelihood_bound import sde_prior as sde_prior
from ._sampler_law import ode_sampler_law as ode_sampler_law
from ._sampler_law import pc_sampler_law as pc_sampler_law
from ._wasserstein import gaussian_w2 as gaussian_w2
from ._wasserstein import mixture_w2_bounds as mixture_w2_bounds
from ._wasserstein import ou_w2_bound as ou_w2_bound
