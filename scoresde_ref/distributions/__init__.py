"""Data distributions (Gaussian, Gaussian mixtures, empirical) with log-density, score and sampling; their
marginals p_t under an affine SDE in closed form, and the exact score (x, t) -> grad log p_t(x)."""

from ._base import AbstractDensity as AbstractDensity
from ._base import AbstractDistribution as AbstractDistribution
from ._base import GaussianComponents as GaussianComponents
from ._base import gaussian_components as gaussian_components
from ._empirical import Empirical as Empirical
from ._gaussian import Gaussian as Gaussian
from ._marginal import ExactScore as ExactScore
from ._marginal import affine_posterior as affine_posterior
from ._marginal import exact_score as exact_score
from ._marginal import marginal as marginal
from ._marginal import posterior as posterior
from ._marginal import push_forward as push_forward
from ._mixture import AbstractMixture as AbstractMixture
from ._mixture import GaussianMixture as GaussianMixture
from ._mixture import IsotropicGaussianMixture as IsotropicGaussianMixture
