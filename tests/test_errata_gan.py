"""The documents' errors about generative adversarial networks (001 "Definición Formal de una GAN",
"Entrenando a tu GAN"; derivations/gan.md). The GAN is outside the library's scope, so these tests work on
two 1-D Gaussians with Gauss–Hermite quadrature; each asserts that the document's version fails."""

import jax
import jax.numpy as jnp
import numpy as np

# π = N(0, 1) (data), μ_G = N(1.5, 1) (generator): log π/μ_G = 1.125 − 1.5x, so the optimal discriminator
# D* = π/(π + μ_G) = sigmoid(1.125 − 1.5x) is a logistic model with weights W_STAR.
SHIFT = 1.5
W_STAR = np.array([SHIFT**2 / 2, -SHIFT])
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(60)  # exact for the polynomial parts; log-sigmoid is smooth


def _value(w):
    """V(μ_G, D_w) = E_π log D_w + E_{μ_G} log(1 − D_w) for D_w(x) = sigmoid(w_0 + w_1 x) (001 L186)."""
    weights = jnp.asarray(_WEIGHTS / _WEIGHTS.sum())
    x_data, x_gen = jnp.asarray(_NODES), SHIFT + jnp.asarray(_NODES)
    return weights @ jax.nn.log_sigmoid(w[0] + w[1] * x_data) + weights @ jax.nn.log_sigmoid(-(w[0] + w[1] * x_gen))


def test_001_discriminator_update_ascends_the_value():
    """001 "Entrenando a tu GAN" (L321–323, L332–334): "actualizar el discriminador según SGD" with the gradient
    ∇_{θ_d}[(1/m) Σ log D(x) + log(1 − D(G(z)))]. The discriminator maximises V (L188), so it must *ascend* this
    gradient (Goodfellow et al. 2014, Algorithm 1); only the generator descends. On the population objective,
    gradient ascent from D ≡ ½ converges to D* = π/(π + μ_G) (001 L198); descent — SGD read literally — drives V
    to −∞ and the weights away from D*."""
    grad = jax.jit(jax.grad(_value))
    w_up = w_down = jnp.zeros(2)
    for _ in range(400):
        w_up, w_down = w_up + grad(w_up), w_down - grad(w_down)
    np.testing.assert_allclose(w_up, W_STAR, atol=1e-10)
    np.testing.assert_allclose(_value(w_up), 2 * _js() - np.log(4), rtol=1e-10)
    assert float(_value(w_down)) < float(_value(jnp.zeros(2))) - 100  # descent: V falls without bound
    assert float(jnp.linalg.norm(w_down - W_STAR)) > 100


def _js():
    """JS(π, μ_G) = ½KL(π‖M) + ½KL(μ_G‖M), M = (π + μ_G)/2, by quadrature: by symmetry of the pair,
    JS = KL(π‖M) = E_π[log 2 − log(1 + μ_G/π)] = E_π[log 2 + log_sigmoid(1.125 − 1.5x)]."""
    weights = _WEIGHTS / _WEIGHTS.sum()
    return float(weights @ (np.log(2) + jax.nn.log_sigmoid(W_STAR[0] + W_STAR[1] * _NODES)))
