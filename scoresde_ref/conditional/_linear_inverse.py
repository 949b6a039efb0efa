r"""Linear inverse problems $y = A x(0) + \sigma_y \varepsilon$ with Gaussian data: the exact
posterior, its marginal under the SDE, and the exact conditional score
(000_cce368350850b628.txt §4: "$y$ need not be a class"; derivations/conditional.md §4).

For $x(0) \sim \mathcal N(\mu, \Sigma)$ and $\varepsilon \sim \mathcal N(0, I_k)$:

- posterior (Gaussian conditional, Schur complement): $S = A\Sigma A^\top + \sigma_y^2 I$,
  $\mu_{|y} = \mu + \Sigma A^\top S^{-1}(y - A\mu)$, $\Sigma_{|y} = \Sigma - \Sigma A^\top S^{-1} A \Sigma$;
- $p_t(x \mid y) = \int p_{0t}(x \mid x_0)\,p(x_0 \mid y)\,dx_0
  = \mathcal N(m_t\mu_{|y} + c_t,\ m_t^2\Sigma_{|y} + s_t^2 I)$,
  nondegenerate for $s_t > 0$ even when $\sigma_y = 0$ (imputation, colorization);
- $p_t(y \mid x) = \mathcal N(y;\ A\,E[x_0 \mid x_t = x],\ A\,\mathrm{Cov}(x_0 \mid x_t)A^\top + \sigma_y^2 I)$,
  so Bayes'
  rule $\nabla\log p_t(x\mid y) = \nabla\log p_t(x) + \nabla\log p_t(y\mid x)$ has both sides in closed form.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Matrix, ScalarLike, Vector
from .._validation import check
from ..distributions._gaussian import Gaussian, gaussian_conditional, gaussian_log_prob
from ..distributions._marginal import posterior
from ..sde._base import AbstractAffineSDE


class LinearObservation(eqx.Module):
    r"""An observation $y = A\,x(0) + \sigma_y\varepsilon$, $\varepsilon \sim \mathcal N(0, I_k)$.

    `A` `(k, d)`, `y` `(k,)`, `noise_std` $\sigma_y \ge 0$ ($0$: $A x(0) = y$ exactly, e.g. known pixels).
    """

    A: Matrix
    y: Vector
    noise_std: ScalarLike = 0.0

    def __init__(self, A, y, noise_std: ScalarLike = 0.0):
        A, y = jnp.asarray(A), jnp.asarray(y)
        if A.ndim != 2 or y.shape != (A.shape[0],):
            raise ValueError(f"LinearObservation: need A (k, d) and y (k,); got {A.shape} and {y.shape}")
        self.A, self.y = A, y
        self.noise_std = check(noise_std, jnp.asarray(noise_std) >= 0, "LinearObservation: noise_std must be >= 0")


def masked_observation(y: Vector, mask, transform: Matrix | None = None) -> LinearObservation:
    r"""The noiseless observation of the coordinates `mask` of $W x(0)$: $A = W_{\text{mask},:}$, $y = y_{\text{mask}}$.

    `y` `(d,)` holds the known values of $W x(0)$ (other entries ignored), `mask` a concrete
    boolean `(d,)` (True = known), `transform` $W$ orthogonal `(d, d)` (`None`: the identity,
    i.e. imputation of the known coordinates of $x(0)$).
    """
    mask = np.asarray(mask, dtype=bool)
    y = jnp.asarray(y)
    W = jnp.eye(y.shape[0], dtype=y.dtype) if transform is None else jnp.asarray(transform)
    return LinearObservation(W[mask], y[mask], jnp.zeros((), y.dtype))


def linear_inverse_posterior(dist: Gaussian, obs: LinearObservation) -> tuple[Vector, Matrix]:
    r"""`(mean, cov)` of $x(0) \mid y$ (the Kalman update; `cov` is singular when $\sigma_y = 0$, so a pair, not a
    `Gaussian`)."""
    noise_cov = obs.noise_std**2 * jnp.eye(obs.A.shape[0], dtype=dist.mean.dtype)
    return gaussian_conditional(dist.mean, dist.cov, obs.A, noise_cov, obs.y)


def linear_inverse_marginal(sde: AbstractAffineSDE, dist: Gaussian, obs: LinearObservation, t: ScalarLike) -> Gaussian:
    r"""$p_t(x \mid y) = \mathcal N(m_t\mu_{|y} + c_t,\ m_t^2\Sigma_{|y} + s_t^2 I)$: the posterior pushed through
    the kernel."""
    mean, cov = linear_inverse_posterior(dist, obs)
    m, s = sde.kernel(t)
    eye = jnp.eye(mean.shape[0], dtype=mean.dtype)
    return Gaussian(m * mean + sde.kernel_offset(t), m**2 * cov + s**2 * eye)


class LinearInverseScore(eqx.Module):
    r"""$\nabla_x \log p_t(x \mid y)$, the exact posterior score (score of `linear_inverse_marginal`)."""

    sde: AbstractAffineSDE
    dist: Gaussian
    obs: LinearObservation

    def __call__(self, x: Vector, t: ScalarLike) -> Vector:
        return linear_inverse_marginal(self.sde, self.dist, self.obs, t).score(x)


class LinearInverseLogLikelihood(eqx.Module):
    r"""$\log p_t(y \mid x) = \log\mathcal N(y;\ A\,E[x_0\mid x_t = x],\ A\,\mathrm{Cov}(x_0\mid x_t)A^\top
    + \sigma_y^2 I)$, for $t > 0$.

    $x_0 \mid x_t$ is the Gaussian `posterior(sde, dist, x, t)`; $y = Ax_0 + \sigma_y\varepsilon$ with
    $\varepsilon$ independent of $(x_0, x_t)$. Pass it to `conditional_score` with the exact
    unconditional score to obtain `LinearInverseScore` by Bayes' rule.
    """

    sde: AbstractAffineSDE
    dist: Gaussian
    obs: LinearObservation

    def __call__(self, x: Vector, t: ScalarLike) -> jax.Array:
        post = posterior(self.sde, self.dist, x, t)
        A = self.obs.A
        cov = A @ post.cov @ A.T + self.obs.noise_std**2 * jnp.eye(A.shape[0], dtype=x.dtype)
        return gaussian_log_prob(self.obs.y, A @ post.mean, jnp.linalg.cholesky(0.5 * (cov + cov.T)))
