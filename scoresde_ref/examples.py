r"""`sr.examples`: the documents' worked examples as ready-made objects, the shared fixtures of the tests
(`tests/test_*.py` import them) and of `scoresde-ref verify` (`verify/checks_*.py`), so that both runners
measure the same objects. Each function builds a fresh object (float64 when `jax_enable_x64` is on):

- `sde_zoo()`: one instance of every closed-form SDE, by name, with the documents' parameters:
  `"VE"`, `"VP"`, `"subVP"` (000_cce368350850b628.txt §2.3: $\sigma_{\min} = 0.01$, $\sigma_{\max} = 50$;
  $\beta_{\min} = 0.1$, $\beta_{\max} = 20$); `"OU"`, $dX = -X\,dt + \sqrt2\,dB$ on $[0, 2]$
  (001_cbf75b2ce1966cfb.txt "Análisis del proceso Ornstein-Uhlenbeck"); `"exp_t"`, $dx = e^t dw$
  (003_68ae16c2fc5b3c9b.txt §5.2); `"sigma_t"`, $dx = \sigma^t dw$ with $\sigma = 25$
  (004_77456edc02bb59d5.txt §2.1); `"const_drift"`, $dx = (1, 0)^\top dt + 0.1\,dw$
  (002_686d39656702d14a.txt "Example: Forward SDE"); `"Brownian"` (002 "Example: Brownian Motion").
- `affine_zoo()`: the same SDEs rebuilt from their coefficients $a, b, g$ only (`AffineSDE`, kernel by
  quadrature), the second route every closed-form kernel is tested against (derivations/forward_sdes.md).
- `gaussian_2d()`: $\mathcal N((0.5, -1), [[1, 0.3], [0.3, 0.5]])$, a correlated 2-D Gaussian (built for the
  tests: a generic full covariance; no document).
- `gmm_2d()`: a two-component 2-D mixture, weights 0.3/0.7, with full, unequal covariances (built for the
  tests: a non-Gaussian $p_0$ whose $p_t$ is still known in closed form; no document).
- `documents_gmm_1d()`: $\tfrac12\mathcal N(-3, \tfrac14) + \tfrac12\mathcal N(3, 1)$, the 1-D experiment of
  000_cce368350850b628.txt §5.1.
- `slides_2d_p0()`: $p_0 = \mathcal N(0, 0.1 I)$, the starting law of the constant-drift example
  (002_686d39656702d14a.txt "Example: Forward SDE").
- `chain_zoo()`: discrete chains, by name: the reference code's DDPM (linear, cosine) and SMLD (geometric)
  schedules, OU chains (constant, overshooting with $1 - \gamma < 0$, linear), and random schedules (fixed seed)
  that no closed-form shortcut can match by accident.
"""

import jax.numpy as jnp
import numpy as np

from .chains._ddpm import DDPMChain
from .chains._ou import OUChain
from .chains._smld import SMLDChain
from .distributions._gaussian import Gaussian
from .distributions._mixture import GaussianMixture
from .sde._affine import AffineSDE
from .sde._elementary import BrownianMotion, ConstantDriftSDE, ExpDiffusionSDE, PowerDiffusionSDE
from .sde._ou import OUSDE
from .sde._ve import VESDE
from .sde._vp import VPSDE, SubVPSDE


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
    """Every SDE of `sde_zoo` rebuilt from its coefficients only (`AffineSDE.from_sde`: kernel by
    Gauss–Legendre quadrature), the independent route against which the closed forms are tested."""
    return {name: AffineSDE.from_sde(sde) for name, sde in sde_zoo().items()}


def gaussian_2d() -> Gaussian:
    r"""A correlated 2-D Gaussian $\mathcal N((0.5, -1), [[1, 0.3], [0.3, 0.5]])$ (built for the tests: a
    generic full covariance, so that no formula is checked only on isotropic data)."""
    return Gaussian(jnp.array([0.5, -1.0]), jnp.array([[1.0, 0.3], [0.3, 0.5]]))


def gmm_2d() -> GaussianMixture:
    r"""A two-component 2-D mixture, weights 0.3/0.7, means (−2, 1) and (1.5, −0.5), with full, unequal
    covariances (built for the tests: a non-Gaussian $p_0$ whose $p_t$ is still known in closed form)."""
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


def chain_zoo() -> dict:
    """Discrete chains by name: DDPM (`ddpm_linear`: N = 1000, β in [0.1, 20]/N; `ddpm_cosine`: N = 200;
    `ddpm_random`: 50 β's uniform in [1e-4, 0.3]), SMLD (`smld_geometric`: N = 1000, σ in [0.01, 50];
    `smld_random`: 50 increasing σ's), OU (`ou_constant`: γ = 0.02, 500 steps; `ou_overshoot`: γ = 1.7, 40 steps,
    so 1 − γ < 0 and the chain oscillates; `ou_linear`: 300 γ's from 0.001 to 0.02). The random schedules come
    from `numpy.random.default_rng(0)`, so every call gives the same chains."""
    rng = np.random.default_rng(0)
    return {
        "ddpm_linear": DDPMChain.linear(1000, 0.1, 20.0),
        "ddpm_cosine": DDPMChain.cosine(200),
        "ddpm_random": DDPMChain(jnp.asarray(rng.uniform(1e-4, 0.3, 50))),
        "smld_geometric": SMLDChain.geometric(1000, 0.01, 50.0),
        "smld_random": SMLDChain(jnp.asarray(np.cumsum(rng.uniform(0.01, 1.0, 50)))),
        "ou_constant": OUChain(jnp.asarray(0.02), 500),
        "ou_overshoot": OUChain(jnp.asarray(1.7), 40),
        "ou_linear": OUChain.linear(300, 0.001, 0.02),
    }
