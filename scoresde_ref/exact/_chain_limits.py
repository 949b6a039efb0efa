"""The measured SDE limits of the discrete chains: for each chain, its error against the SDE
kernel at resolution $N$, and the log–log fit of the order (derivations/chains.md, which derives
each order; tests/test_chains_convergence.py and `verify` measure them)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..chains._ddpm import DDPMChain
from ..chains._discretize import discretize
from ..chains._ou import OUChain
from ..chains._run import propagate_moments
from ..chains._smld import SMLDChain
from ..sde._ve import VESDE
from ..sde._vp import VPSDE

# The documents' parameters (000_cce368350850b628.txt §2.3) and a Gaussian data law N(mu, s0²)
# far from the prior (used by the reverse-chain limits).
BETA_MIN, BETA_MAX = 0.1, 20.0
SIGMA_MIN, SIGMA_MAX = 0.01, 50.0
OU_T = 2.0
DATA_MEAN, DATA_STD = 1.0, 0.5


def fit_order(ns, errors) -> float:
    """The order $p$ of a least-squares fit $\\log e = c - p \\log N$ (so $e \\propto N^{-p}$)."""
    slope, _ = np.polyfit(np.log(np.asarray(ns, float)), np.log(np.asarray(errors, float)), 1)
    return float(-slope)


def _doc_times(n):
    """The documents' map $x(i/N) = x_i$ (000 appendices C–D; 002): $t_i = i/N$, $i = 0, \\dots, N$."""
    return jnp.arange(n + 1) / n


def _kernel_gap(chain, sde, times):
    """max over i of |m_i - m(t_i)| and |s_i - s(t_i)| (absolute)."""
    m, s = chain.kernels()
    m_sde, s_sde = jax.vmap(sde.kernel)(times)
    return jnp.maximum(jnp.max(jnp.abs(m - m_sde)), jnp.max(jnp.abs(s - s_sde)))


@functools.partial(jax.jit, static_argnums=0)
def ddpm_terminal_error(n: int, beta_min=BETA_MIN, beta_max=BETA_MAX):
    """$|\\log\\bar\\alpha_N + B(1)|$ for `DDPMChain.linear` against `VPSDE` (the relative error of
    $\\bar\\alpha_N$ vs $e^{-B(1)}$ to first order). Derived: order 1, $\\approx \\int_0^1\\beta^2/(2N)$."""
    chain = DDPMChain.linear(n, beta_min, beta_max)
    return jnp.abs(chain.log_alphas_cumprod[-1] + VPSDE(beta_min, beta_max).integrated_beta(1.0))


@functools.partial(jax.jit, static_argnums=0)
def ddpm_kernel_error(n: int, beta_min=BETA_MIN, beta_max=BETA_MAX):
    """$\\max_i$ of the (mean_coeff, std) gaps between `DDPMChain.linear` and `VPSDE` at $t_i = i/N$.
    Derived: order 1."""
    return _kernel_gap(DDPMChain.linear(n, beta_min, beta_max), VPSDE(beta_min, beta_max), _doc_times(n))


@functools.partial(jax.jit, static_argnums=0)
def smld_kernel_error(n: int, sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX):
    """$\\max_{i \\ge 1} |\\sigma_i/\\sigma(i/N) - 1|$: `SMLDChain.geometric` against `VESDE.reference_kernel`
    at the documents' times. Derived: exactly $1 - (\\sigma_{\\max}/\\sigma_{\\min})^{-1/N}$, order 1."""
    chain, sde = SMLDChain.geometric(n, sigma_min, sigma_max), VESDE(sigma_min, sigma_max)
    return jnp.max(jnp.abs(chain.sigmas / sde.sigma(_doc_times(n)[1:]) - 1))


@functools.partial(jax.jit, static_argnums=0)
def ve_euler_maruyama_error(n: int, sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX):
    """Relative error of the Euler–Maruyama variance $\\sum_i G_i^2$ of `VESDE` against $\\sigma(1)^2 - \\sigma(0)^2$.
    Derived: order 1 (a left Riemann sum of $g^2$)."""
    disc = discretize(VESDE(sigma_min, sigma_max), n, method="euler_maruyama")
    var = propagate_moments(disc.step, jnp.zeros(1), jnp.zeros(1), jnp.arange(1, n + 1))[1][-1, 0]
    return jnp.abs(var / (sigma_max**2 - sigma_min**2) - 1)


@functools.partial(jax.jit, static_argnums=0)
def ou_kernel_error(n: int, T=OU_T):
    """`OUChain(T/N, N)` against `OUSDE(1, √2)` at $t_k = k\\gamma$: max gap of mean_coeff and variance.
    Derived: order 1."""
    chain = OUChain(jnp.asarray(T / n), n)
    return _ou_gap(chain, T)


@functools.partial(jax.jit, static_argnums=0)
def ou_schedule_kernel_error(n: int, T=OU_T, ratio=10.0):
    """`OUChain.linear` ($\\gamma_{\\max} = $ `ratio` $\\gamma_{\\min}$, $\\sum_k\\gamma_k = T$) against the OU kernel
    at the induced times $t_k = \\sum_{j<k}\\gamma_j$. Derived: order 1."""
    gamma_min = 2 * T / ((1 + ratio) * n)
    return _ou_gap(OUChain.linear(n, gamma_min, ratio * gamma_min), T)


def _ou_gap(chain, T):
    m, s = chain.kernels()
    t = chain.times
    return jnp.maximum(jnp.max(jnp.abs(m - jnp.exp(-t))), jnp.max(jnp.abs(s**2 + jnp.expm1(-2 * t))))


def gaussian_chain_score(chain, mean0, std0):
    """The exact score of the chain's marginal $p_i = \\mathcal N(m_i\\mu, (m_i^2 s_0^2 + s_i^2) I)$ for data
    $\\mathcal N(\\mu, s_0^2 I)$: `score_fn(x, i)`, indexed like the chain."""
    m, s = chain.kernels()
    return lambda x, i: -(x - m[i] * mean0) / (m[i] ** 2 * std0**2 + s[i] ** 2)


def reverse_terminal_moments(chain, mean0, std0):
    """Exact (mean, var) of $x_0$ from the chain's reverse steps with exact scores, started from the
    exact law of $x_N$ (so the only error is the documents' approximate reverse kernel)."""
    score = gaussian_chain_score(chain, mean0, std0)
    m, s = chain.kernels()
    step = lambda x, i, z: chain.reverse_step(x, i, score, z)  # noqa: E731
    mean_n, var_n = m[-1] * mean0 * jnp.ones(1), (m[-1] ** 2 * std0**2 + s[-1] ** 2) * jnp.ones(1)
    means, variances = propagate_moments(step, mean_n, var_n, jnp.arange(chain.n_steps, 0, -1))
    return means[-1, 0], variances[-1, 0]


@functools.partial(jax.jit, static_argnums=0)
def ddpm_ancestral_error(n: int, beta_min=BETA_MIN, beta_max=BETA_MAX, mean0=DATA_MEAN, std0=DATA_STD):
    """|Var x_0 - s_0²| after 000 appendix B's ancestral sampler with exact scores. Derived: order 1."""
    _, var = reverse_terminal_moments(DDPMChain.linear(n, beta_min, beta_max), mean0, std0)
    return jnp.abs(var - std0**2)


@functools.partial(jax.jit, static_argnums=0)
def ou_backward_error(n: int, T=OU_T, mean0=DATA_MEAN, std0=DATA_STD):
    """max(|E x_0 - μ|, |Var x_0 - s_0²|) after 001's backward chain with exact scores. Derived: order 1."""
    mean, var = reverse_terminal_moments(OUChain(jnp.asarray(T / n), n), mean0, std0)
    return jnp.maximum(jnp.abs(mean - mean0), jnp.abs(var - std0**2))


# name -> (error function, derived order, resolutions N)
LIMITS = {
    "ddpm_terminal": (ddpm_terminal_error, 1.0, (2000, 4000, 8000, 16000)),
    "ddpm_kernel": (ddpm_kernel_error, 1.0, (1000, 2000, 4000, 8000)),
    "ddpm_ancestral": (ddpm_ancestral_error, 1.0, (500, 1000, 2000, 4000)),
    "smld_kernel": (smld_kernel_error, 1.0, (500, 1000, 2000, 4000)),
    "ve_euler_maruyama": (ve_euler_maruyama_error, 1.0, (500, 1000, 2000, 4000)),
    "ou_kernel": (ou_kernel_error, 1.0, (100, 200, 400, 800)),
    "ou_schedule_kernel": (ou_schedule_kernel_error, 1.0, (100, 200, 400, 800)),
    "ou_backward": (ou_backward_error, 1.0, (100, 200, 400, 800)),
}


def measure(name: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """`(ns, errors, fitted_order, derived_order)` for one entry of `LIMITS`."""
    fn, derived, ns = LIMITS[name]
    errors = np.array([float(fn(n)) for n in ns])
    return np.asarray(ns), errors, fit_order(ns, errors), derived
