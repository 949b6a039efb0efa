"""Exact log-likelihood through the probability-flow ODE (divergence by `ExactDivergence()` or `Hutchinson()`,
or the strings `"exact"`, `"hutchinson"`), and bits/dim."""

# Divergence estimators: one family shared by the ISM/sliced losses and the likelihood.
from .._divergence import AbstractDivergence as AbstractDivergence
from .._divergence import ExactDivergence as ExactDivergence
from .._divergence import Hutchinson as Hutchinson
from .._divergence import divergence as divergence
from .._divergence import hutchinson_divergence as hutchinson_divergence
from .._divergence import hutchinson_variance as hutchinson_variance
from .._divergence import sample_probe as sample_probe
from .._divergence import value_and_divergence as value_and_divergence
from .._divergence import value_and_quadratic_forms as value_and_quadratic_forms
from ._bits_per_dim import bits_per_dim as bits_per_dim
from ._bits_per_dim import dequantization_offset as dequantization_offset
from ._bits_per_dim import dequantize as dequantize
from ._log_likelihood import LikelihoodResult as LikelihoodResult
from ._log_likelihood import log_likelihood as log_likelihood
from ._log_likelihood import log_likelihood_details as log_likelihood_details
from ._log_likelihood import log_likelihood_scipy as log_likelihood_scipy
