r"""Predictors: one reverse-time step of the sampler, from $t$ to $t - h$ (000_cce368350850b628.txt §3.1;
002_686d39656702d14a.txt "How to solve the reverse SDE", "Predictor-Corrector sampling methods").

Every predictor is a pure function `(sde, score_fn, x, t, h, i, disc) -> (x_mean, noise_std)` for
one example `x`: the step is $x \leftarrow x_{\text{mean}} + \text{noise\_std}\cdot z$, $z \sim \mathcal N(0, I)$,
and `x_mean` is the "denoised" output. With an affine score the mean map is affine, so the exact
law of a sampler's output on Gaussian data follows by moment recursion (`exact/_sampler_law.py`). `i` is the 1-based
chain index of the step ($N$ at the first step from $T$, 1 at the last) and `disc` the
`discretize(sde, N)` object; only the reverse-diffusion and ancestral predictors use them.
"""

import jax.numpy as jnp

from ..chains._discretize import Discretization
from ..sde._reverse import reverse_drift


def euler_maruyama(sde, score_fn, x, t, h, i, disc):
    r"""$x \leftarrow x - [f(x,t) - g(t)^2 s(x,t)]\,h + g(t)\sqrt h\,z$ (Euler–Maruyama on the reverse SDE, $dt = -h$)."""
    return x - reverse_drift(sde, score_fn, x, t) * h, sde.diffusion(t) * jnp.sqrt(h)


def reverse_diffusion(sde, score_fn, x, t, h, i, disc: Discretization):
    r"""$x_{i-1} = x_i - f_i(x_i) + G_i^2\,s(x_i, t) + G_i z$, the reverse of `discretize`'s step $i$ (000 §3.1)."""
    f, G = disc(x, i)
    return x - f + G**2 * score_fn(x, t), G


def ancestral(sde, score_fn, x, t, h, i, disc: Discretization):
    r"""Ancestral sampling of the chains (reference-code noise levels of `discretize`):

    - DDPM (`VPSDE`; 000 appendix B): $x_{i-1} = (x_i + \beta_i s)/\sqrt{1 - \beta_i} + \sqrt{\beta_i}\,z$;
    - SMLD (`VESDE`): $x_{i-1} = x_i + (\sigma_i^2 - \sigma_{i-1}^2) s
      + \sqrt{\sigma_{i-1}^2(\sigma_i^2 - \sigma_{i-1}^2)/\sigma_i^2}\,z$, the exact reverse kernel
      of the SMLD chain for Gaussian data ($\sigma_0 = 0$).
    """
    _, G = disc(x, i)
    score = score_fn(x, t)
    if disc.form == "vp":
        return (x + G**2 * score) / jnp.sqrt(1 - G**2), G
    if disc.form == "ve":
        sigma_i2 = disc.sde.sigma(disc.t_ref(i)) ** 2
        return x + G**2 * score, jnp.sqrt((sigma_i2 - G**2) * G**2 / sigma_i2)
    raise ValueError(f"ancestral sampling is defined for VESDE (SMLD) and VPSDE (DDPM); got {type(sde).__name__}")


PREDICTORS = {"euler_maruyama": euler_maruyama, "reverse_diffusion": reverse_diffusion, "ancestral": ancestral}
