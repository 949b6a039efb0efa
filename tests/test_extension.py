"""The families are open: a distribution registered in one place, and an SDE written outside the package
by subclassing the public base and implementing only its documented hooks, work with `marginal`,
`exact_score`, `posterior`, the kernel and the Fokker–Planck residual (issue 12, items 3 and 4)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scoresde_ref as sr
from scoresde_ref.examples import gaussian_2d

# --- a new distribution: registered with the dispatch points, in this file only ----------------------


class PointMass(sr.distributions.AbstractDistribution):
    r"""$\delta_{x_0}$: a distribution the package does not know."""

    mean: jax.Array

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    def sample(self, key, n):
        return jnp.broadcast_to(self.mean, (n, self.dim))


@sr.distributions.push_forward.register
def _(dist: PointMass, mean_coeff, offset, std):
    # m x0 + c + s Z is N(m x0 + c, s^2 I)
    eye = jnp.eye(dist.dim, dtype=dist.mean.dtype)
    return sr.Gaussian(mean_coeff * dist.mean + offset, std**2 * eye)


@sr.distributions.affine_posterior.register
def _(dist: PointMass, x, mean_coeff, offset, std):
    return dist  # x(0) = x0 whatever x(t) is


def test_a_registered_distribution_works_with_marginal_exact_score_and_posterior():
    """`marginal`, `exact_score` and `posterior` reach a distribution through the dispatch points only.

    The marginal of δ_{x0} is the kernel N(m x0 + c, s² I) (both sides the same closed form; the score
    goes through a Cholesky solve, so 1e-12 relative). Planted bug caught: an `isinstance` chain in
    `marginal` (it raises `TypeError: no closed form for PointMass`)."""
    sde, x0, t = sr.ConstantDriftSDE(b=jnp.array([1.0, 0.0]), sigma=0.5), jnp.array([0.3, -0.7]), 0.4
    p_t = sr.marginal(sde, PointMass(x0), t)
    m, s = sde.kernel(t)
    np.testing.assert_allclose(p_t.mean, sde.kernel_mean(x0, t), rtol=1e-15)
    np.testing.assert_allclose(p_t.cov, s**2 * np.eye(2), rtol=1e-15)
    x = jnp.array([1.1, 0.2])
    score = eqx.filter_jit(sr.exact_score(sde, PointMass(x0)))(x, t)
    np.testing.assert_allclose(score, sde.kernel_score(x, x0, t), rtol=1e-12)
    assert sr.posterior(sde, PointMass(x0), x, t) == PointMass(x0)


def test_an_unregistered_distribution_fails_with_a_message():
    """A distribution with no closed form registered fails with `TypeError` naming it (never a number)."""

    class Unknown(sr.distributions.AbstractDistribution):
        mean: jax.Array

        @property
        def dim(self):
            return self.mean.shape[0]

        def sample(self, key, n):
            return jnp.broadcast_to(self.mean, (n, self.dim))

    with pytest.raises(TypeError, match="no closed form for Unknown"):
        sr.marginal(sr.VPSDE(), Unknown(jnp.zeros(2)), 0.5)
    with pytest.raises(TypeError, match="got Unknown"):
        sr.exact.moments(Unknown(jnp.zeros(2)))


# --- a new SDE: only the documented hooks of the public base -----------------------------------------


class GrowingNoiseOU(sr.sde.AbstractLinearSDE):
    r"""$dx = -\theta x\,dt + \sigma e^{t}\,dw$ on $[0, T]$ (not in the package).

    $m(t) = e^{-\theta t}$ and $s(t)^2 = \int_0^t e^{-2\theta(t-u)}\sigma^2 e^{2u}\,du
    = \sigma^2 (e^{2t} - e^{-2\theta t}) / (2(\theta + 1))$.
    """

    theta: float
    sigma: float
    T: float = 1.0

    def drift_coeff(self, t):
        return -self.theta * jnp.ones_like(jnp.asarray(t))

    def diffusion(self, t):
        return self.sigma * jnp.exp(t)

    def unchecked_kernel(self, t):
        var = self.sigma**2 * (jnp.exp(2 * t) - jnp.exp(-2 * self.theta * t)) / (2 * (self.theta + 1))
        return jnp.exp(-self.theta * t), jnp.sqrt(var)

    @property
    def prior_std(self):
        return self.unchecked_kernel(self.T)[1]


TIMES = (1e-3, 0.1, 0.5, 1.0)


def test_an_sde_written_outside_the_package_gets_kernel_marginal_and_fokker_planck():
    """Subclassing `AbstractLinearSDE` with `T`, `drift_coeff`, `diffusion`, `unchecked_kernel` and
    `prior_std` only gives a checked `kernel`, `marginal`, `exact_score` and a Fokker–Planck residual.

    Two independent routes: the closed form against `AffineSDE.from_sde` (Gauss–Legendre quadrature
    of the coefficients; 64 nodes reach ~1e-14 relative for these analytic integrands, so 1e-12), and
    the exact marginal of Gaussian data against the Fokker–Planck equation (relative residual below
    1e-10, the bar of tests/test_fokker_planck.py). Planted bug caught: a variance missing its
    1/(2(θ+1)) (quadrature ratio off by 4 at θ = 1, residual O(1)); a base class calling a private
    hook instead of `unchecked_kernel` (instantiation fails: abstract method)."""
    sde = GrowingNoiseOU(theta=1.0, sigma=0.8)
    quadrature = sr.AffineSDE.from_sde(sde)
    for t in TIMES:
        (m, s), (m_q, s_q) = sde.kernel(t), quadrature.kernel(t)
        np.testing.assert_allclose([m, s], [m_q, s_q], rtol=1e-12)
    with pytest.raises(ValueError, match="GrowingNoiseOU.kernel: time t must lie in"):
        sde.kernel(1.5)

    dist = gaussian_2d()
    log_p = lambda x, s: sr.marginal(sde, dist, s).log_prob(x)  # noqa: E731
    residual = eqx.filter_jit(lambda x, t: sr.fokker_planck_relative_residual(sde, log_p, x, t))
    for t in TIMES[1:]:
        for x in sr.marginal(sde, dist, t).sample(jax.random.key(0), 3):
            assert float(residual(x, jnp.asarray(t))) < 1e-10
    x, t = jnp.array([0.2, -0.4]), 0.5
    np.testing.assert_allclose(sr.exact_score(sde, dist)(x, t), jax.grad(log_p)(x, t), rtol=1e-12)
    np.testing.assert_allclose(sde.prior_std, quadrature.prior_std, rtol=1e-12)
