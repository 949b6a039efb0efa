"""Gaussian mixtures: full covariances, and a shared isotropic scale (the law of a perturbed
finite training set); their closed forms for `push_forward`, `affine_posterior` and
`gaussian_components` (registered here)."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from .._custom_types import Batch, Key, Scalar, ScalarLike, Vector
from .._validation import check, check_finite_array
from ._base import AbstractDensity, GaussianComponents, check_weights, gaussian_components, sample_components
from ._gaussian import cholesky_checked, gaussian_affine_posterior, inverse_cholesky
from ._marginal import affine_posterior, as_row, identity_like, push_forward


class AbstractMixture(AbstractDensity):
    r"""$p(x) = \sum_k w_k p_k(x)$ with Gaussian components, evaluated by `logsumexp`."""

    weights: eqx.AbstractVar[jax.Array]
    means: eqx.AbstractVar[jax.Array]

    @abc.abstractmethod
    def component_log_probs(self, x: Vector) -> jax.Array:
        """$(\\log p_k(x))_k$, shape `(K,)`."""

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def mean(self) -> Vector:
        return self.weights @ self.means

    def responsibilities(self, x: Vector) -> jax.Array:
        """$r_k(x) = w_k p_k(x) / p(x)$ (softmax of the logits), shape `(K,)`."""
        x = self.check_x(x, "responsibilities")
        return jax.nn.softmax(jnp.log(self.weights) + self.component_log_probs(x))

    def log_prob(self, x: Vector) -> Scalar:
        x = self.check_x(x, "log_prob")
        return logsumexp(jnp.log(self.weights) + self.component_log_probs(x))


class GaussianMixture(AbstractMixture):
    r"""$\sum_k w_k \mathcal N(\mu_k, \Sigma_k)$ with full covariances.

    `weights` `(K,)` nonnegative summing to 1, `means` `(K, d)`, `covs` `(K, d, d)` symmetric
    positive definite. `log_prob` uses `logsumexp` and `score` the softmax responsibilities
    $r_k(x)$, $\nabla\log p = \sum_k r_k(x)\,(-\Sigma_k^{-1}(x - \mu_k))$, so both stay finite far
    from every mode (e.g. at $|x| = 10^3$).

    `chols` is derivable from `covs` and stored on purpose, as `Gaussian.chol` is: computed once at
    construction (where it validates `covs`), reused by every evaluation.
    """

    weights: jax.Array
    means: jax.Array
    covs: jax.Array
    chols: jax.Array

    def __init__(self, weights, means, covs):
        means, covs = jnp.asarray(means), jnp.asarray(covs)
        self.weights = check_weights(weights, "GaussianMixture")
        K = self.weights.shape[0]
        if means.ndim != 2 or means.shape[0] != K or covs.shape != (K, means.shape[1], means.shape[1]):
            raise ValueError(
                "GaussianMixture: need weights (K,), means (K, d), covs (K, d, d); "
                f"got {self.weights.shape}, {means.shape}, {covs.shape}"
            )
        self.means = check_finite_array(means, "means", "GaussianMixture")
        self.covs = check_finite_array(covs, "covs", "GaussianMixture")
        self.chols = cholesky_checked(self.covs, "GaussianMixture", "covs")

    def _whitened(self, x: Vector) -> tuple[jax.Array, jax.Array]:
        """$L_k^{-1}$ (independent of $x$: hoisted out of a `vmap` over examples) and $z_k = L_k^{-1}(x - \\mu_k)$."""
        inv = jax.vmap(inverse_cholesky)(self.chols)
        return inv, jnp.einsum("kij,kj->ki", inv, x[None] - self.means)

    def _log_probs_from(self, z: jax.Array) -> jax.Array:
        d = self.dim
        log_det = jnp.sum(jnp.log(jnp.diagonal(self.chols, axis1=-2, axis2=-1)), axis=-1)
        return -0.5 * jnp.sum(z**2, axis=-1) - log_det - 0.5 * d * jnp.log(2 * jnp.pi)

    def component_log_probs(self, x: Vector) -> jax.Array:
        """$(\\log \\mathcal N(x; \\mu_k, \\Sigma_k))_k$, shape `(K,)`."""
        return self._log_probs_from(self._whitened(self.check_x(x, "component_log_probs"))[1])

    def score(self, x: Vector) -> Vector:
        # One whitening z_k = L_k^{-1}(x - mu_k) serves the responsibilities and the component
        # scores -L_k^{-T} z_k: the same arithmetic as the closed form, without recomputation.
        inv, z = self._whitened(self.check_x(x, "score"))
        r = jax.nn.softmax(jnp.log(self.weights) + self._log_probs_from(z))
        return -jnp.einsum("k,kji,kj->i", r, inv, z)

    def sample(self, key: Key, n: int) -> Batch:
        n = self.check_n(n)
        key_k, key_z = jax.random.split(key)
        k = sample_components(key_k, self.weights, n)
        z = jax.random.normal(key_z, (n, self.dim), dtype=self.means.dtype)
        return self.means[k] + jnp.einsum("nij,nj->ni", self.chols[k], z)


class IsotropicGaussianMixture(AbstractMixture):
    r"""$\sum_k w_k \mathcal N(\mu_k, \tau^2 I)$ with one shared scale $\tau > 0$.

    The exact marginal $p_t$ of a finite training set under an affine SDE
    (`marginal(sde, Empirical(points), t)`), with $O(K d)$ cost per evaluation.
    """

    weights: jax.Array
    means: jax.Array
    std: ScalarLike

    def __init__(self, weights, means, std: ScalarLike):
        means = jnp.asarray(means)
        self.weights = check_weights(weights, "IsotropicGaussianMixture")
        if means.ndim != 2 or means.shape[0] != self.weights.shape[0]:
            raise ValueError(
                "IsotropicGaussianMixture: need weights (K,) and means (K, d); "
                f"got {self.weights.shape} and {means.shape}"
            )
        self.means = check_finite_array(means, "means", "IsotropicGaussianMixture")
        self.std = check(
            std,
            jnp.isfinite(jnp.asarray(std)) & (jnp.asarray(std) > 0),
            "IsotropicGaussianMixture: std must be finite and > 0 (the marginal of a finite training set "
            "has a density only for t > 0)",
        )

    def component_log_probs(self, x: Vector) -> jax.Array:
        d = self.dim
        x = self.check_x(x, "component_log_probs")
        sq = jnp.sum((x[None] - self.means) ** 2, axis=-1)
        return -0.5 * sq / self.std**2 - d * jnp.log(self.std) - 0.5 * d * jnp.log(2 * jnp.pi)

    def score(self, x: Vector) -> Vector:
        # sum_k r_k (mu_k - x) / tau^2 = (E_r[mu] - x) / tau^2
        x = self.check_x(x, "score")
        return (self.responsibilities(x) @ self.means - x) / self.std**2

    def sample(self, key: Key, n: int) -> Batch:
        n = self.check_n(n)
        key_k, key_z = jax.random.split(key)
        k = sample_components(key_k, self.weights, n)
        z = jax.random.normal(key_z, (n, self.dim), dtype=self.means.dtype)
        return self.means[k] + self.std * z


@push_forward.register
def _(dist: GaussianMixture, mean_coeff, offset, std) -> GaussianMixture:
    m, c, s = mean_coeff, offset, std
    covs = m**2 * dist.covs + s**2 * identity_like(dist)[None]
    return GaussianMixture(dist.weights, m * dist.means + as_row(c), covs)


@push_forward.register
def _(dist: IsotropicGaussianMixture, mean_coeff, offset, std) -> IsotropicGaussianMixture:
    m, c, s = mean_coeff, offset, std
    return IsotropicGaussianMixture(dist.weights, m * dist.means + as_row(c), jnp.sqrt(m**2 * dist.std**2 + s**2))


@affine_posterior.register
def _(dist: GaussianMixture, x: Vector, mean_coeff, offset, std) -> GaussianMixture:
    # weights: the responsibilities under p_t; components: the per-component Kalman updates
    m, c, s = mean_coeff, offset, std
    weights = push_forward(dist, m, c, s).responsibilities(x)
    means, covs = jax.vmap(gaussian_affine_posterior, (None, 0, 0, None, None, None))(x, dist.means, dist.covs, m, c, s)
    return GaussianMixture(weights, means, covs)


@affine_posterior.register
def _(dist: IsotropicGaussianMixture, x: Vector, mean_coeff, offset, std) -> IsotropicGaussianMixture:
    m, c, s = mean_coeff, offset, std
    weights = push_forward(dist, m, c, s).responsibilities(x)
    tau2 = dist.std**2
    gain = m * tau2 / (m**2 * tau2 + s**2)
    means = dist.means + gain * (as_row(x) - m * dist.means - as_row(c))
    return IsotropicGaussianMixture(weights, means, jnp.sqrt(tau2 - m * gain * tau2))


@gaussian_components.register
def _(dist: GaussianMixture) -> GaussianComponents:
    return GaussianComponents(dist.weights, dist.means, dist.covs, dist.chols)


@gaussian_components.register
def _(dist: IsotropicGaussianMixture) -> GaussianComponents:
    K, d = dist.means.shape
    eye = jnp.eye(d, dtype=dist.means.dtype)
    covs, chols = jnp.broadcast_to(dist.std**2 * eye, (K, d, d)), jnp.broadcast_to(dist.std * eye, (K, d, d))
    return GaussianComponents(dist.weights, dist.means, covs, chols)
