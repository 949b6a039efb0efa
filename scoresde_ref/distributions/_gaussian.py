"""The Gaussian distribution N(mean, cov) with a full covariance, through its Cholesky factor; its
closed forms for `push_forward`, `affine_posterior` and `gaussian_components` (registered here)."""

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float

from .._custom_types import Batch, Key, Matrix, Scalar, Vector
from .._validation import check, check_finite_array
from ._base import AbstractDensity, GaussianComponents, gaussian_components
from ._marginal import affine_posterior, identity_like, push_forward


def cholesky_checked(cov: Float[Array, "*k d d"], owner: str, name: str = "cov") -> Float[Array, "*k d d"]:
    """Lower Cholesky factor of `cov`, failing unless `cov` is symmetric positive definite."""
    eps = jnp.finfo(jnp.result_type(cov)).eps
    scale = jnp.max(jnp.abs(cov), axis=(-2, -1), keepdims=True)
    cov = check(
        cov,
        jnp.abs(cov - jnp.swapaxes(cov, -1, -2)) <= 100 * eps * scale,
        f"{owner}: {name} must be symmetric",
    )
    chol = jnp.linalg.cholesky(cov)
    return check(chol, jnp.all(jnp.isfinite(chol)), f"{owner}: {name} must be positive definite")


def gaussian_conditional(
    mean: Vector, cov: Matrix, A: Float[Array, "m d"], noise_cov: Float[Array, "m m"], y: Float[Array, " m"]
) -> tuple[Vector, Matrix]:
    r"""Mean and covariance of $X \mid AX + \varepsilon = y$ for $X \sim \mathcal N(\mu, \Sigma)$,
    $\varepsilon \sim \mathcal N(0, R)$
    independent (the Kalman update): $S = A\Sigma A^\top + R$, $K = \Sigma A^\top S^{-1}$,
    $\mu + K(y - A\mu)$, $\Sigma - KA\Sigma$ (symmetrised). `cov` may be singular; $S$ must be positive definite."""
    A_cov = A @ cov
    chol = jnp.linalg.cholesky(A_cov @ A.T + noise_cov)
    gain_t = jsl.cho_solve((chol, True), A_cov)  # S^{-1} A Σ = K^T (Σ, S symmetric)
    post_cov = cov - A_cov.T @ gain_t
    return mean + gain_t.T @ (y - A @ mean), 0.5 * (post_cov + post_cov.T)


def gaussian_affine_posterior(x: Vector, mean: Vector, cov: Matrix, m, c, s) -> tuple[Vector, Matrix]:
    r"""Mean and covariance of $X \mid mX + c + sZ = x$ for $X \sim \mathcal N(\mu, \Sigma)$ (the Kalman
    update `gaussian_conditional` with $A = mI$, $R = s^2 I$)."""
    eye = jnp.eye(mean.shape[-1], dtype=jnp.result_type(mean))
    return gaussian_conditional(mean, cov, m * eye, s**2 * eye, x - c)


def inverse_cholesky(chol: Matrix) -> Matrix:
    """$L^{-1}$ by a triangular solve. It does not depend on $x$, so under `vmap` over examples it
    is computed once and each example costs two matrix-vector products (not two batched solves)."""
    eye = jnp.eye(chol.shape[-1], dtype=chol.dtype)
    return jsl.solve_triangular(chol, eye, lower=True)


def gaussian_log_prob(x: Vector, mean: Vector, chol: Matrix) -> Scalar:
    r"""$\log \mathcal N(x; \mu, LL^\top) = -\tfrac12\|L^{-1}(x-\mu)\|^2 - \sum_i \log L_{ii} - \tfrac d2 \log 2\pi$."""
    z = inverse_cholesky(chol) @ (x - mean)
    d = x.shape[-1]
    return -0.5 * jnp.sum(z**2) - jnp.sum(jnp.log(jnp.diagonal(chol))) - 0.5 * d * jnp.log(2 * jnp.pi)


def gaussian_score(x: Vector, mean: Vector, chol: Matrix) -> Vector:
    r"""$\nabla \log \mathcal N(x; \mu, \Sigma) = -L^{-\top}L^{-1}(x - \mu)$."""
    inv = inverse_cholesky(chol)
    return -(inv.T @ (inv @ (x - mean)))


class Gaussian(AbstractDensity):
    r"""$\mathcal N(\mu, \Sigma)$ on $\mathbb R^d$; `mean` of shape `(d,)`, `cov` of shape `(d, d)`,
    symmetric positive definite (checked through its Cholesky factor, also under `jit`).

    `chol` (the lower Cholesky factor of `cov`) is derivable from `cov` and stored on purpose: it is
    computed once, at construction, where it validates `cov`, and then serves every `log_prob`,
    `score` and `sample` (under `vmap` over examples it is not refactorised per example).
    """

    mean: Vector
    cov: Matrix
    chol: Matrix

    def __init__(self, mean, cov):
        mean, cov = jnp.asarray(mean), jnp.asarray(cov)
        if mean.ndim != 1 or cov.shape != (mean.shape[0], mean.shape[0]):
            raise ValueError(
                f"Gaussian: mean must have shape (d,) and cov shape (d, d); got {mean.shape} and {cov.shape}"
            )
        self.mean = check_finite_array(mean, "mean", "Gaussian")
        self.cov = check_finite_array(cov, "cov", "Gaussian")
        self.chol = cholesky_checked(self.cov, "Gaussian")

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    def log_prob(self, x: Vector) -> Scalar:
        return gaussian_log_prob(self.check_x(x, "log_prob"), self.mean, self.chol)

    def score(self, x: Vector) -> Vector:
        return gaussian_score(self.check_x(x, "score"), self.mean, self.chol)

    def sample(self, key: Key, n: int) -> Batch:
        n = self.check_n(n)
        z = jax.random.normal(key, (n, self.dim), dtype=self.mean.dtype)
        return self.mean[None] + z @ self.chol.T


@push_forward.register
def _(dist: Gaussian, mean_coeff, offset, std) -> Gaussian:
    m, c, s = mean_coeff, offset, std
    return Gaussian(m * dist.mean + c, m**2 * dist.cov + s**2 * identity_like(dist))


@affine_posterior.register
def _(dist: Gaussian, x: Vector, mean_coeff, offset, std) -> Gaussian:
    return Gaussian(*gaussian_affine_posterior(x, dist.mean, dist.cov, mean_coeff, offset, std))


@gaussian_components.register
def _(dist: Gaussian) -> GaussianComponents:
    return GaussianComponents(jnp.ones((1,), dist.mean.dtype), dist.mean[None], dist.cov[None], dist.chol[None])
