r"""Exact values of the score-matching objectives at a fixed time for an affine model
$s(x) = A x + b$ and Gaussian or Gaussian-mixture data (derivations/losses.md).

With $x_t = m x_0 + c + s z$ and $p_t$ the exact marginal (`marginal`):

- $E_p\|A x + b\|^2 = \sum_k w_k [\mathrm{tr}(A \Sigma_k A^\top) + \|A\mu_k + b\|^2]$ (one term for a Gaussian);
- ISM $= E_{p_t}\|A x + b\|^2 + 2\,\mathrm{tr} A$;
- DSM $= E_{x_0}\|A(m x_0 + c) + b\|^2 + \|s A + I/s\|_F^2$ (from the data law and the noise, not from $p_t$);
- Fisher, Gaussian $p_t = \mathcal N(\mu, S)$: $E\|(A + S^{-1})x + b - S^{-1}\mu\|^2$.

Hence DSM $-$ ISM $= d/s^2 = E\|\nabla\log p_{0t}\|^2$ and, with $J(p) = E_p\|\nabla\log p\|^2$
($= \mathrm{tr}\,S^{-1}$ for a Gaussian), DSM $-$ Fisher $= d/s^2 - J(p_t)$ and ISM $-$ Fisher $= -J(p_t)$,
free of $(A, b)$ (000_cce368350850b628.txt §2.2 Theorem 1 and eqs (2)–(5);
001_cbf75b2ce1966cfb.txt "Implicit Score matching").
"""

import equinox as eqx
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from .._custom_types import Matrix, Scalar, ScalarLike, Vector
from ..distributions._base import AbstractDistribution, gaussian_components
from ..distributions._gaussian import Gaussian
from ..distributions._marginal import marginal
from ..sde._base import AbstractAffineSDE


class AffineScore(eqx.Module):
    r"""The time-independent affine score model $s(x, t) = A x + b$; `A` `(d, d)`, `b` `(d,)`."""

    A: Matrix
    b: Vector

    def __call__(self, x: Vector, t: ScalarLike | None = None) -> Vector:
        return self.A @ x + self.b


def expected_sq_norm(dist: AbstractDistribution, A: Matrix, b: Vector) -> Scalar:
    r"""$E_{x \sim \text{dist}}\|A x + b\|^2$ exactly, for any distribution with `gaussian_components`
    (a `Gaussian` or `GaussianMixture`)."""
    weights, means, covs, _ = gaussian_components(dist)
    traces = jnp.einsum("ij,kjl,il->k", A, covs, A)
    shifts = jnp.sum((means @ A.T + b[None]) ** 2, axis=-1)
    return weights @ (traces + shifts)


def moments(dist: AbstractDistribution) -> tuple[Vector, Matrix]:
    r"""Mean and covariance of a `Gaussian` or `GaussianMixture` (any distribution with
    `gaussian_components`; law of total covariance)."""
    weights, means, covs, _ = gaussian_components(dist)
    mean = weights @ means
    centred = means - mean[None]
    return mean, jnp.einsum("k,kij->ij", weights, covs) + jnp.einsum("k,ki,kj->ij", weights, centred, centred)


def gaussian_score_coeffs(p: Gaussian) -> tuple[Matrix, Vector]:
    r"""$(K, k)$ with $\nabla\log p(x) = K x + k$: $K = -S^{-1}$, $k = S^{-1}\mu$ for $p = \mathcal N(\mu, S)$."""
    inv = jsl.cho_solve((p.chol, True), jnp.eye(p.dim, dtype=p.mean.dtype))
    return -inv, inv @ p.mean


def gaussian_fisher_information(p: Gaussian) -> Scalar:
    r"""$J(p) = E_p\|\nabla\log p\|^2 = \mathrm{tr}\,S^{-1}$ for $p = \mathcal N(\mu, S)$."""
    return -jnp.trace(gaussian_score_coeffs(p)[0])


def fisher_affine(p: Gaussian, A: Matrix, b: Vector) -> Scalar:
    r"""$E_p\|A x + b - \nabla\log p(x)\|^2$ for Gaussian $p$ (closed form; for mixtures see
    `gauss_hermite_expectation`)."""
    K, k = gaussian_score_coeffs(p)
    return expected_sq_norm(p, A - K, b - k)


def ism_affine(p: AbstractDistribution, A: Matrix, b: Vector) -> Scalar:
    r"""$E_p[\|A x + b\|^2 + 2\,\nabla\cdot(A x + b)] = E_p\|A x + b\|^2 + 2\,\mathrm{tr} A$."""
    return expected_sq_norm(p, A, b) + 2 * jnp.trace(A)


def dsm_affine(sde: AbstractAffineSDE, dist: AbstractDistribution, t: ScalarLike, A: Matrix, b: Vector) -> Scalar:
    r"""$E_{x_0 \sim \text{dist}} E_z\|A x_t + b + z/s\|^2$ with $x_t = m x_0 + c + s z$, i.e.
    $E_{x_0}\|m A x_0 + A c + b\|^2 + \|s A + I/s\|_F^2$ ($x_0$ and $z$ independent)."""
    mean_coeff, std = sde.kernel(t)
    d = A.shape[0]
    c = jnp.broadcast_to(sde.kernel_offset(t), (d,))
    noise = jnp.sum((std * A + jnp.eye(d, dtype=A.dtype) / std) ** 2)
    return expected_sq_norm(dist, mean_coeff * A, A @ c + b) + noise


def dsm_ism_gap(sde: AbstractAffineSDE, t: ScalarLike, d: int) -> Scalar:
    r"""DSM $-$ ISM $= E\|\nabla\log p_{0t}(x_t\mid x_0)\|^2 = d/s(t)^2$, for every model."""
    return d / sde.kernel(t)[1] ** 2


def dsm_affine_minimiser(sde: AbstractAffineSDE, dist: AbstractDistribution, t: ScalarLike) -> tuple[Matrix, Vector]:
    r"""The exact minimiser $(A^*, b^*)$ of DSM over affine models: least squares of the target
    $\tau = -z/s$ on the features $(x_t, 1)$, $[A^*\ b^*] = E[\tau\,(x_t, 1)^\top]\,E[(x_t, 1)(x_t, 1)^\top]^{-1}$
    with $E[\tau x_t^\top] = -I$, $E[\tau] = 0$. So $A^* = -\mathrm{Cov}(x_t)^{-1}$, $b^* = -A^* E[x_t]$:
    the score of $p_t$ for Gaussian data, of its moment-matched Gaussian otherwise."""
    mean, cov = moments(marginal(sde, dist, t))
    d = mean.shape[0]
    gram = jnp.block([[cov + jnp.outer(mean, mean), mean[:, None]], [mean[None, :], jnp.ones((1, 1), mean.dtype)]])
    cross = jnp.concatenate([-jnp.eye(d, dtype=mean.dtype), jnp.zeros((d, 1), mean.dtype)], axis=1)
    W = jnp.linalg.solve(gram, cross.T).T  # gram symmetric: W = cross gram^{-1}
    return W[:, :d], W[:, d]
