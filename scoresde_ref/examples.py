"""The documents' worked examples, as ready-made objects (used by the tests and by `verify`)."""

import jax.numpy as jnp

from .sde._affine import AffineSDE
from .sde._elementary import BrownianMotion, ConstantDriftSDE, ExpDiffusionSDE, PowerDiffusionSDE
from .distributions._gaussian import Gaussian
from .distributions._mixture import GaussianMixture
from .sde._ou import OUSDE
from .sde._ve import VESDE
from .sde._vp import SubVPSDE, VPSDE


def sde_zoo() -> dict:
    """One instance of every closed-form SDE, with the documents' parameters.

    VE/VP/sub-VP: 000_cce368350850b628.txt §2.3 (σ_min = 0.01, σ_max = 50; β_min = 0.1, β_max = 20);
    OU dX = -X dt + √2 dB: 001_cbf75b2ce1966cfb.txt; dx = e^t dw: 003_68ae16c2fc5b3c9b.txt §5.2;
    dx = σ^t dw with σ = 25: 004_77456edc02bb59d5.txt §2.1; dx = (1, 0)ᵀ dt + 0.1 dw:
    002_686d39656702d14a.txt "Example: Forward SDE"; Brownian motion: 002 "Example: Brownian Motion".
    """
    return {
        "VE": VESDE(sigma_min=0.01, sigma_max=50.0),
        "VP": VPSDE(beta_min=0.1, beta_max=20.0),
        "subVP": SubVPSDE(beta_min=0.1, beta_max=20.0),
        "OU": OUSDE(theta=1.0, sigma=2**0.5, T=2.0),
        "Brownian": BrownianMotion(sigma=1.0, T=1.0),
        "exp_t": ExpDiffusionSDE(T=1.0),
        "sigma_t": PowerDiffusionSDE(sigma=25.0, T=1.0),
        "const_drift": ConstantDriftSDE(b=jnp.array([1.0, 0.0]), sigma=0.1, T=1.0),
    }


def affine_zoo() -> dict:
    """Every SDE of `sde_zoo` rebuilt from its coefficients only (kernel by quadrature)."""
    return {name: AffineSDE.from_sde(sde) for name, sde in sde_zoo().items()}


def gaussian_2d() -> Gaussian:
    """A correlated 2-D Gaussian."""
    return Gaussian(jnp.array([0.5, -1.0]), jnp.array([[1.0, 0.3], [0.3, 0.5]]))


def gmm_2d() -> GaussianMixture:
    """A two-component 2-D mixture with full, unequal covariances."""
    return GaussianMixture(
        jnp.array([0.3, 0.7]),
        jnp.array([[-2.0, 1.0], [1.5, -0.5]]),
        jnp.array([[[0.25, 0.1], [0.1, 0.4]], [[1.0, -0.2], [-0.2, 0.6]]]),
    )


def documents_gmm_1d() -> GaussianMixture:
    """½ N(-3, 1/4) + ½ N(3, 1), the mixture of 000_cce368350850b628.txt §5.1."""
    return GaussianMixture(jnp.array([0.5, 0.5]), jnp.array([[-3.0], [3.0]]), jnp.array([[[0.25]], [[1.0]]]))


def slides_2d_p0() -> Gaussian:
    """p_0 = N(0, 0.1 I) of the 2-D constant-drift example (002, "Example: Forward SDE")."""
    return Gaussian(jnp.zeros(2), 0.1 * jnp.eye(2))
