"""Invalid parameters fail with a message naming the parameter: eagerly with ValueError, and
under jit through eqx.error_if, without breaking tracing."""

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import scoresde_ref as sr

EAGER_CASES = [
    (lambda: sr.VESDE(sigma_min=1.0, sigma_max=0.5), "sigma_max"),
    (lambda: sr.VESDE(sigma_min=0.0, sigma_max=0.5), "sigma_min"),
    (lambda: sr.VPSDE(beta_min=-0.1, beta_max=20.0), "beta_min"),
    (lambda: sr.VPSDE(beta_min=1.0, beta_max=0.5), "beta_max"),
    (lambda: sr.SubVPSDE(beta_min=-1.0, beta_max=20.0), "beta_min"),
    (lambda: sr.OUSDE(theta=0.0, sigma=1.0), "theta"),
    (lambda: sr.OUSDE(theta=-1.0, sigma=1.0), "theta"),
    (lambda: sr.OUSDE(theta=1.0, sigma=0.0), "sigma"),
    (lambda: sr.BrownianMotion(sigma=-1.0), "sigma"),
    (lambda: sr.BrownianMotion(T=0.0), "T"),
    (lambda: sr.PowerDiffusionSDE(sigma=0.0), "sigma"),
    (lambda: sr.ExpDiffusionSDE(T=-1.0), "T"),
    (lambda: sr.ConstantDriftSDE(b=jnp.ones(2), sigma=0.0), "sigma"),
    (lambda: sr.ConstantDriftSDE(b=1.0), "b"),
    (lambda: sr.AffineSDE(lambda t: t, lambda t: t, lambda t: t, T=0.0), "T"),
    (lambda: sr.Gaussian(jnp.zeros(2), jnp.array([[1.0, 2.0], [2.0, 1.0]])), "positive definite"),
    (lambda: sr.Gaussian(jnp.zeros(2), jnp.array([[1.0, 0.5], [0.0, 1.0]])), "symmetric"),
    (lambda: sr.Gaussian(jnp.zeros(2), jnp.eye(3)), "shape"),
    (lambda: sr.GaussianMixture(jnp.array([0.5, 0.6]), jnp.zeros((2, 1)), jnp.ones((2, 1, 1))), "sum to 1"),
    (lambda: sr.GaussianMixture(jnp.array([1.5, -0.5]), jnp.zeros((2, 1)), jnp.ones((2, 1, 1))), ">= 0"),
    (lambda: sr.GaussianMixture(jnp.array([0.5, 0.5]), jnp.zeros((2, 1)), -jnp.ones((2, 1, 1))), "positive definite"),
    (lambda: sr.GaussianMixture(jnp.array([0.5, 0.5]), jnp.zeros((3, 1)), jnp.ones((2, 1, 1))), "means"),
    (lambda: sr.IsotropicGaussianMixture(jnp.array([1.0]), jnp.zeros((1, 2)), 0.0), "std"),
    (lambda: sr.Empirical(jnp.zeros((3, 2)), jnp.array([0.5, 0.5, 0.5])), "sum to 1"),
    (lambda: sr.Empirical(jnp.zeros(3)), "points"),
    (lambda: sr.VPSDE().kernel(1.5), "time t"),
    (lambda: sr.VPSDE().kernel(-1e-3), "time t"),
    (lambda: sr.OUSDE(T=2.0).kernel_offset(2.5), "time t"),
    (lambda: sr.marginal(sr.VESDE(), sr.Empirical(jnp.zeros((2, 1))), 0.0), "std"),
]


@pytest.mark.parametrize("make, phrase", EAGER_CASES)
def test_invalid_parameters_raise_eagerly(make, phrase):
    with pytest.raises(ValueError, match=phrase):
        make()


@pytest.mark.parametrize(
    "fn, args, phrase",
    [
        (lambda a, t: sr.VESDE(a, 0.5).kernel(t), (1.0, 0.3), "sigma_max"),
        (lambda a, t: sr.VPSDE(a, 20.0).kernel(t), (-0.5, 0.3), "beta_min"),
        (lambda a, t: sr.OUSDE(a, 1.0).kernel(t), (-1.0, 0.3), "theta"),
        (lambda a, t: sr.VPSDE(0.1, a).kernel(t), (20.0, 1.2), "time t"),
        (
            lambda a, t: sr.marginal(
                sr.VPSDE(), sr.GaussianMixture(jnp.stack([a, 0.5]), jnp.zeros((2, 1)), jnp.ones((2, 1, 1))), t
            ).mean,
            (0.7, 0.3),
            "sum to 1",
        ),
        (
            lambda a, t: sr.Gaussian(jnp.zeros(1), jnp.reshape(a, (1, 1))).log_prob(jnp.zeros(1)) * t,
            (-1.0, 0.3),
            "positive definite",
        ),
    ],
)
def test_invalid_traced_parameters_fail_under_jit(fn, args, phrase):
    """Under jit the values are tracers: the check is threaded with eqx.error_if and fires at run
    time; the same function with valid values runs (tracing is not broken)."""
    jitted = eqx.filter_jit(fn)  # (with jax.jit the same message arrives inside an XLA runtime error)
    with pytest.raises(eqx.EquinoxRuntimeError, match=phrase):
        jax.block_until_ready(jitted(*map(jnp.asarray, args)))


def test_valid_traced_parameters_run_under_jit_vmap_and_grad():
    fn = jax.jit(lambda beta_max, t: sr.VPSDE(0.1, beta_max).kernel(t)[1])
    ts = jnp.linspace(0.0, 1.0, 5)
    assert jnp.all(jnp.isfinite(jax.vmap(fn, (None, 0))(jnp.asarray(20.0), ts)))
    assert jnp.isfinite(jax.grad(fn)(jnp.asarray(20.0), jnp.asarray(0.5)))
