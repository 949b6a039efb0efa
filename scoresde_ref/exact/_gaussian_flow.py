r"""The probability-flow map of Gaussian data in closed form: the oracle behind the likelihood checks.

For $p_0 = \mathcal N(\mu_0, \Sigma_0)$ under an affine SDE, $p_t = \mathcal N(\mu_t, \Sigma_t)$ with
$\Sigma_t = m_t^2\Sigma_0 + s_t^2 I$; all $\Sigma_t$ share the eigenvectors $U$ of $\Sigma_0$. With the exact
score the flow velocity is $\tilde f = a x + b + \tfrac12 g^2\Sigma_t^{-1}(x - \mu_t)$, whose Jacobian
$J(t) = aI + \tfrac12 g^2\Sigma_t^{-1} = \tfrac12\dot\Sigma_t\Sigma_t^{-1}$ does not depend on $x$. Hence
(derivations/likelihood.md §4)

$$x(t) = \mu_t + \Sigma_t^{1/2}\Sigma_s^{-1/2}(x(s) - \mu_s),\qquad
\int_s^t J\,du = \tfrac12(\log\Sigma_t - \log\Sigma_s),$$

matrix square roots and logarithms taken in the common eigenbasis.
"""

import jax.numpy as jnp

from .._custom_types import Matrix, ScalarLike, Vector
from ..distributions._gaussian import Gaussian
from ..sde._base import AbstractAffineSDE


def _eigen_variances(sde: AbstractAffineSDE, dist: Gaussian, t: ScalarLike):
    """`(U, λ_t)`: eigenvectors of $\\Sigma_0$ and the eigenvalues $m_t^2\\lambda_i + s_t^2$ of $\\Sigma_t$."""
    lam, U = jnp.linalg.eigh(dist.cov)
    m, s = sde.kernel(t)
    return U, m**2 * lam + s**2


def gaussian_flow_map(sde: AbstractAffineSDE, dist: Gaussian, s: ScalarLike, t: ScalarLike) -> tuple[Matrix, Vector]:
    r"""`(M, c)` with $x(t) = M x(s) + c$ along the probability-flow ODE of Gaussian data (exact score):
    $M = \Sigma_t^{1/2}\Sigma_s^{-1/2}$, $c = \mu_t - M\mu_s$."""
    U, lam_s = _eigen_variances(sde, dist, s)
    _, lam_t = _eigen_variances(sde, dist, t)
    M = (U * jnp.sqrt(lam_t / lam_s)[None]) @ U.T
    mu_s = sde.kernel_mean(dist.mean, s)
    return M, sde.kernel_mean(dist.mean, t) - M @ mu_s


def gaussian_flow_jacobian_integral(sde: AbstractAffineSDE, dist: Gaussian, s: ScalarLike, t: ScalarLike) -> Matrix:
    r"""$A = \int_s^t \partial\tilde f/\partial x\,du = \tfrac12(\log\Sigma_t - \log\Sigma_s)$ for Gaussian data
    (exact score).

    $\mathrm{tr}A = \int_s^t\nabla\cdot\tilde f\,du = \tfrac12\log(\det\Sigma_t/\det\Sigma_s)$, and a Hutchinson
    probe $v$ reused along the path estimates it by $v^\top A v$, of variance `hutchinson_variance(A, probe)`."""
    U, lam_s = _eigen_variances(sde, dist, s)
    _, lam_t = _eigen_variances(sde, dist, t)
    return (U * (0.5 * jnp.log(lam_t / lam_s))[None]) @ U.T
