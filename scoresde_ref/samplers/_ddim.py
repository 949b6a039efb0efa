r"""DDIM / exponential-integrator sampling for variance-preserving SDEs (002_686d39656702d14a.txt
"Accelerated sampling"; Song, Meng & Ermon 2021).

With $x_t = m_t x_0 + \sigma_t\epsilon$ (the VP kernel, $m_t^2 + \sigma_t^2 = 1$), the score gives the
noise and data predictions $\hat\epsilon = -\sigma_t s(x_t, t)$, $\hat x_0 = (x_t - \sigma_t\hat\epsilon)/m_t$,
and one step from $t$ to $t' < t$ is
$x_{t'} = m_{t'}\hat x_0 + \sqrt{\sigma_{t'}^2 - \varsigma^2}\,\hat\epsilon + \varsigma z$,
$\varsigma = \eta\,(\sigma_{t'}/\sigma_t)\sqrt{1 - m_t^2/m_{t'}^2}$.
$\eta = 0$ is deterministic DDIM, the first-order exponential integrator of the probability-flow
ODE in $\epsilon$-form; $\eta = 1$ is the DDPM ancestral step on the same grid.
"""

import jax
import jax.numpy as jnp

from .._custom_types import Batch, Key, ScoreFn
from .._jit_boundary import compiled
from .._validation import check_integer, check_real
from ..sde._vp import VPSDE
from ._boundary import check_sampler_inputs
from ._result import SampleResult


def ddim_sample(
    sde: VPSDE,
    score_fn: ScoreFn,
    x_T: Batch,
    *,
    n_steps: int,
    eps: float = 1e-3,
    eta: float = 0.0,
    key: Key | None = None,
) -> SampleResult:
    r"""DDIM sampling on the grid $t_k = T - k(T - \epsilon)/N$, $k = 0, \dots, N$ (see module doc).

    Step $k$ draws its noise from `fold_in(key, k)` (used only when `eta > 0`). Compiled once per shape
    and `n_steps` (new `x_T`, `eps`, `eta`, keys, SDE parameters reuse it).
    **Returns** a `SampleResult` `(x_eps, nfe)`, `nfe` $= N$. A key is needed when `eta > 0`.
    """
    if not isinstance(sde, VPSDE):
        raise ValueError(f"ddim_sample: DDIM needs a VPSDE (m_t² + σ_t² = 1); got {type(sde).__name__}")
    # before check_real: inside a trace even a constant eta comes back from it as a tracer
    if key is None and (isinstance(eta, jax.core.Tracer) or float(eta) != 0.0):
        raise ValueError("ddim_sample: eta > 0 adds noise, so a key is needed (key=None is only for eta = 0)")
    eps = check_sampler_inputs("ddim_sample", sde, x_T, eps, score_fn)
    n_steps = check_integer(n_steps, "n_steps", "ddim_sample", minimum=1)
    eta = check_real(eta, "eta", "ddim_sample", lower=0.0, upper=1.0)
    key = jax.random.key(0) if key is None else key
    return SampleResult(_ddim_sample(sde, score_fn, x_T, eps, eta, key, n_steps), n_steps)


@compiled
def _ddim_sample(sde, score_fn, x_T, eps, eta, key, n_steps):
    h = (sde.T - eps) / n_steps

    def body(x, k):
        t = sde.T - k.astype(x.dtype) * h
        m, s = sde.kernel(t)
        m_next, s_next = sde.kernel(t - h)
        eps_hat = -s * jax.vmap(score_fn, (0, None))(x, t)
        x0_hat = (x - s * eps_hat) / m
        var_eta = eta**2 * (s_next / s) ** 2 * -jnp.expm1(2 * (jnp.log(m) - jnp.log(m_next)))
        z = jax.random.normal(jax.random.fold_in(key, k), x.shape, x.dtype)
        x = m_next * x0_hat + jnp.sqrt(s_next**2 - var_eta) * eps_hat + jnp.sqrt(var_eta) * z
        return x, None

    return jax.lax.scan(body, x_T, jnp.arange(n_steps))[0]
