r"""Twins of the paper's conventions where score_sde_pytorch departs from them, built on the score_sde twin and the
project's step objects (Song et al. 2021, Algorithms 2–5):

- `paper.LangevinCorrector`: Algorithm 5's step size $\epsilon = 2\bar\alpha_i(r\|z\|/\|s\|)^2$ with the product
  $\bar\alpha_i = \prod_{j \le i}(1 - \beta_j)$ (the library uses $1 - \beta_i$: score_sde_pytorch #73);
- `paper.get_pc_sampler`: the predictor, then the corrector, at each time (the library runs the corrector first:
  #50), draws in that order (prior, then per time the predictor's and the corrector's).
"""

import jax.numpy as jnp
import numpy as np

from ..compat.score_sde import sampling as ss
from ..samplers._correctors import AbstractCorrector
from ..samplers._correctors import LangevinCorrector as _Langevin
from ._registry import MethodSpec, TwinSpec, register
from ._specs_score_sde import corrector_cases, corrector_run, sampler_cases, sampler_run


class _AlphaBar:
    """A discretization seen by the corrector with $\\alpha_i = \\bar\\alpha_i$ (the chain's product)."""

    def __init__(self, disc):
        self.disc = disc

    def corrector_alpha(self, i, dtype):
        return jnp.asarray(self.disc.chain.alphas_cumprod, dtype)[jnp.asarray(i) - 1]


class PaperAlphaLangevin(AbstractCorrector):
    """`LangevinCorrector(snr, n_steps, "batch")` with the paper's $\\alpha_i = \\bar\\alpha_i$."""

    snr: jnp.ndarray
    n_steps: int
    linear_gaussian = False

    def __init__(self, snr, n_steps):
        self.snr, self.n_steps = jnp.asarray(snr), int(n_steps)

    def step_size(self, sde, grad, z, t, i, disc):
        return _Langevin(self.snr, self.n_steps, "batch").step_size(sde, grad, z, t, i, _AlphaBar(disc))


class LangevinCorrector(ss.LangevinCorrector):
    """score_sde's `LangevinCorrector` interface with the paper's $\\bar\\alpha_i$ (module docstring)."""

    def _project_corrector(self):
        return PaperAlphaLangevin(self.snr, self.n_steps)


def get_pc_sampler(
    sde,
    shape,
    predictor,
    corrector,
    inverse_scaler,
    snr,
    n_steps=1,
    probability_flow=False,
    continuous=False,
    denoise=True,
    eps=1e-3,
    device="cuda",
):
    """score_sde's `get_pc_sampler` interface, predictor then corrector at each time (module docstring)."""
    n_p, n_c = ss._draw_counts(predictor, corrector, n_steps)

    def pc_sampler(model, *, noise):
        draws = list(noise)
        x, k = sde.prior_sampling(shape, noise=draws[0]), 1
        x_mean = x
        for t in np.asarray(jnp.linspace(sde.T, eps, sde.N, dtype=sde.dtype)):
            vec_t = jnp.ones(shape[0], sde.dtype) * t
            x, x_mean = ss.shared_predictor_update_fn(
                x, vec_t, sde, model, predictor, probability_flow, continuous, noise=draws[k] if n_p else None
            )
            k += n_p
            x, x_mean = ss.shared_corrector_update_fn(
                x, vec_t, sde, model, corrector, continuous, snr, n_steps, noise=draws[k : k + n_c] if n_c else None
            )
            k += n_c
        return inverse_scaler(x_mean if denoise else x), sde.N * (n_steps + 1)

    return pc_sampler


register(
    TwinSpec(
        "paper.LangevinCorrector",
        lambda dtype: LangevinCorrector,
        (MethodSpec("update_fn", corrector_cases(), corrector_run),),
        "Song et al. 2021, Algorithm 5 (VP corrector)",
        dtypes=(np.float64,),
        doc="Langevin corrector with the paper's alpha_bar_i (score_sde's interface)",
    )
)
register(
    TwinSpec(
        "paper.get_pc_sampler",
        lambda dtype: get_pc_sampler,
        (MethodSpec("pc_sampler", sampler_cases(), sampler_run),),
        "Song et al. 2021, Algorithms 2-3 (predictor, then corrector)",
        dtypes=(np.float64,),
        doc="PC sampler in the paper's order (score_sde's interface)",
    )
)
