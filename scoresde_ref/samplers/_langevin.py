r"""Langevin MCMC (003_68ae16c2fc5b3c9b.txt §3.2) and the annealed Langevin dynamics of SMLD
(000_cce368350850b628.txt appendix A; Song & Ermon 2019)."""

import jax
import jax.numpy as jnp

from .._custom_types import Array, Key, Vector
from .._jit_boundary import compiled
from .._validation import check, check_finite_array, check_integer, check_positive, check_vector
from ._result import SampleResult


def langevin_update(x, grad, step_size, z):
    r"""One Langevin update with the noise given: $x_{\text{mean}} = x + \epsilon\,\nabla\log p(x)$,
    $x' = x_{\text{mean}} + \sqrt{2\epsilon}\,z$.

    `grad` the score at `x`, `step_size` $\epsilon$ (broadcasting against `x`). **Returns** `(x', x_mean)`.
    The one formula of the Langevin step: `langevin_mcmc` and the PC correctors call it.
    """
    x_mean = x + step_size * grad
    return x_mean + jnp.sqrt(2 * step_size) * z, x_mean


def langevin_mcmc(key: Key, score_fn, x0: Vector, *, step_size, n_steps: int, trajectory: bool = False):
    r"""$x_{k+1} = x_k + \epsilon\,\nabla\log p(x_k) + \sqrt{2\epsilon}\,z_k$ for one example; `score_fn(x)`.

    $z_k$ = `jax.random.normal(fold_in(key, k))`. Returns $x_{n}$ (and the path $x_1, \dots, x_n$ if
    `trajectory`). Exact only as $\epsilon \to 0$, $n\epsilon \to \infty$ (unadjusted Langevin; its bias is
    $O(\epsilon)$).
    """
    step_size = check_positive(step_size, "step_size", "langevin_mcmc")
    n_steps = check_integer(n_steps, "n_steps", "langevin_mcmc", minimum=1)
    check_vector(x0, None, "x0", "langevin_mcmc")

    def body(x, k):
        z = jax.random.normal(jax.random.fold_in(key, k), x.shape, x.dtype)
        x = langevin_update(x, score_fn(x), step_size, z)[0]
        return x, (x if trajectory else None)

    x, path = jax.lax.scan(body, x0, jnp.arange(n_steps))
    return (x, path) if trajectory else x


def annealed_langevin_sample(key: Key, score_fn, sigmas: Array, x0: Vector, *, eps, n_steps_each: int) -> SampleResult:
    r"""SMLD's annealed Langevin dynamics (000 appendix A): for $i = N, \dots, 1$ run `n_steps_each`
    Langevin steps with $\alpha_i = \epsilon\,\sigma_i^2/\sigma_1^2$ on `score_fn(x, sigma_i)`, where
    `sigmas` $= (\sigma_1 < \dots < \sigma_N)$ ($\sigma_1 = \sigma_{\min}$).

    **Returns** a `SampleResult`: `x` $= x_1^M$ for the one example `x0`, `nfe` $= N M$. Compiled once per
    shape and `n_steps_each` (new `sigmas`, `eps`, keys and starts reuse it).
    """
    owner = "annealed_langevin_sample"
    sigmas = jnp.asarray(sigmas)
    if sigmas.ndim != 1 or sigmas.shape[0] < 1:
        raise ValueError(f"{owner}: sigmas must be a non-empty vector (increasing); got shape {sigmas.shape}")
    sigmas = check(
        check_finite_array(sigmas, "sigmas", owner),
        jnp.all(jnp.diff(sigmas) > 0) & (sigmas[0] > 0),
        f"{owner}: sigmas must be positive and increasing",
    )
    eps = check_positive(eps, "eps", owner)
    n_steps_each = check_integer(n_steps_each, "n_steps_each", owner, minimum=1)
    check_vector(x0, None, "x0", owner)
    x = _annealed_langevin(key, score_fn, sigmas, x0, eps, n_steps_each)
    return SampleResult(x, sigmas.shape[0] * n_steps_each)


@compiled
def _annealed_langevin(key, score_fn, sigmas, x0, eps, n_steps_each):
    def level(x, k):
        sigma = sigmas[::-1][k]
        alpha = eps * sigma**2 / sigmas[0] ** 2
        x = langevin_mcmc(
            jax.random.fold_in(key, k), lambda y: score_fn(y, sigma), x, step_size=alpha, n_steps=n_steps_each
        )
        return x, None

    return jax.lax.scan(level, x0, jnp.arange(sigmas.shape[0]))[0]
