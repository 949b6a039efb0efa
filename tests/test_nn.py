"""Score networks: the Fourier embedding, the parameterisations (objects shared with the losses), the MLP and U-Net,
and a wrapped model used unchanged by the samplers and the likelihood (derivations/nn.md)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scoresde_ref as sr
from helpers import count_compilations
from scoresde_ref.losses import (
    EpsParameterisation,
    ParameterisedScore,
    ScoreParameterisation,
    X0Parameterisation,
)
from scoresde_ref.nn import (
    GaussianFourierEmbedding,
    MLPScoreNet,
    ScoreModel,
    UNetScoreNet,
    mlp_score_model,
    noise_input,
    trainable_filter,
    unet_score_model,
)

PARAMETERISATIONS = [ScoreParameterisation(), EpsParameterisation(), X0Parameterisation()]


def test_fourier_embedding_is_sin_cos_of_fixed_gaussian_frequencies():
    """γ(u) = [sin 2πWu, cos 2πWu] with W = scale · N(0, 1) from the key, computed here in NumPy (1e-13: a few ulps
    of angles up to ~100); W gets no gradient and `trainable_filter` leaves it (and the SDE's β) out. Planted bugs
    caught: a missing 2π, W trained (a non-zero gradient, or True in the filter), the SDE's parameters trained."""
    key = jax.random.key(3)
    emb = GaussianFourierEmbedding(key, n_features=8, scale=16.0)
    W = 16.0 * np.asarray(jax.random.normal(key, (8,)))
    np.testing.assert_allclose(np.asarray(emb.W), W, rtol=1e-15)
    u = 0.37
    expected = np.concatenate([np.sin(2 * np.pi * W * u), np.cos(2 * np.pi * W * u)])
    np.testing.assert_allclose(np.asarray(emb(u)), expected, rtol=1e-13, atol=1e-13)
    grad = jax.grad(lambda e: jnp.sum(e(u)))(emb)
    assert float(jnp.max(jnp.abs(grad.W))) == 0.0
    sde = sr.VPSDE(jnp.asarray(0.1), jnp.asarray(20.0))
    model = eqx.filter_jit(lambda k: mlp_score_model(k, sde, 2, width=4, depth=1, n_features=8))(key)
    spec = trainable_filter(model)
    assert spec.network.embedding.W is False
    assert spec.sde.beta_min is False and spec.sde.beta_max is False
    assert spec.network.mlp.layers[0].weight is True
    with pytest.raises(ValueError, match="GaussianFourierEmbedding: n_features"):
        GaussianFourierEmbedding(key, n_features=0)
    with pytest.raises(ValueError, match="GaussianFourierEmbedding: scale"):
        GaussianFourierEmbedding(key, scale=-1.0)


def test_noise_input_is_log_sigma_for_ve_and_t_otherwise():
    """Song et al.'s continuous VE models embed log σ(t), the VP ones t (exact to rounding). Planted bug caught:
    σ(t) itself, or the exact kernel's std √(σ(t)² − σ(0)²), for VE."""
    ve, vp = sr.VESDE(0.01, 50.0), sr.VPSDE()
    for t in (1e-3, 0.5, 1.0):
        np.testing.assert_allclose(float(noise_input(ve, t)), np.log(0.01 * 5000.0**t), rtol=1e-14)
        assert float(noise_input(vp, t)) == t


@pytest.mark.parametrize("name", ["VP", "VE", "const_drift"])
@pytest.mark.parametrize("param", PARAMETERISATIONS, ids=lambda p: type(p).__name__)
def test_parameterisations_invert_and_scale_the_dsm_loss(getkey, name, param):
    """For each parameterisation: `from_score` inverts `to_score`, the target's score is the conditional score −z/s,
    and per sample ‖s_θ + z/s‖² = dsm_factor · ‖out − target‖² (1, 1/s², m²/s⁴), at a random output. Float64
    closed forms, 1e-10 relative (divisions by s(t)² ≥ 1e-4). Planted bugs caught: the x₀ factor m²/s² (the SNR
    weighting of the x₀-loss is (m/s)² only relative to λ = s²), a missing offset c(t) (const_drift has one)."""
    sde = sr.examples.sde_zoo()[name]
    d = 2
    for t in (0.01, 0.3, 0.9):
        x0, z, out = (jax.random.normal(getkey(), (d,)) for _ in range(3))
        m, s = sde.kernel(t)
        x = sde.kernel_mean(x0, t) + s * z
        score = param.to_score(sde, out, x, t)
        np.testing.assert_allclose(param.from_score(sde, score, x, t), out, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(param.to_score(sde, param.target(sde, x0, z, t), x, t), -z / s, rtol=1e-10)
        lhs = jnp.sum((score + z / s) ** 2)
        rhs = param.dsm_factor(sde, t) * jnp.sum((out - param.target(sde, x0, z, t)) ** 2)
        np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
    wrapped = ParameterisedScore(sde, param, lambda x, t: 2 * x)
    np.testing.assert_allclose(wrapped(x, 0.5), param.to_score(sde, 2 * x, x, 0.5), rtol=1e-15)


def test_score_model_is_a_score_function_for_samplers(getkey):
    """A wrapped MLP is a score function `(x, t) -> (d,)` that `pc_sample` takes unchanged; new weights compile
    nothing (the model is a module: its weights are traced; the likelihood takes it in tests/test_score_error.py).
    Planted bug caught: a model whose weights are static (a closure) recompiles on every new network."""
    sde = sr.VPSDE()
    build = eqx.filter_jit(lambda k: mlp_score_model(k, sde, 2, width=16, depth=1, n_features=4))
    model, other = build(getkey()), build(getkey())
    x_T = sde.prior_sample(getkey(), (8, 2))
    key = getkey()
    res = sr.pc_sample(key, sde, model, x_T, n_steps=5)
    assert res.x.shape == (8, 2) and bool(jnp.all(jnp.isfinite(res.x)))
    with count_compilations() as n:
        again = sr.pc_sample(key, sde, other, x_T, n_steps=5)
    assert n[0] == 0, f"{n[0]} compilations for new weights"
    assert not bool(jnp.all(again.x == res.x))


def test_mlp_and_unet_shapes_and_bad_arguments(getkey):
    """The MLP maps (d,) to (d,); the U-Net maps a flat (C·H·W,) or (C, H, W) image to the same shape for 8 × 8
    (run) and 28 × 28, 3 × 12 × 20 (traced only, `jax.eval_shape`); bad sizes raise ValueError naming the class."""
    net = eqx.filter_jit(lambda k: MLPScoreNet(k, 3, width=8, depth=2, n_features=4, zero_output=True))(getkey())
    out = eqx.filter_jit(lambda n, x: n(x, 0.2))(net, jnp.ones(3))
    np.testing.assert_array_equal(out, net.mlp.layers[-1].bias)  # zero output weights: the output is the bias
    unet = eqx.filter_jit(lambda k: unet_score_model(k, sr.VPSDE(), (1, 8, 8), channels=(4, 8), n_features=4))(getkey())
    assert isinstance(unet, ScoreModel)
    score, flat, image = eqx.filter_jit(
        lambda u: (u(jnp.ones(64), 0.3), u.network(jnp.ones(64), 0.3), u.network(jnp.ones((1, 8, 8)), 0.3))
    )(unet)
    assert score.shape == flat.shape == (64,) and image.shape == (1, 8, 8)
    np.testing.assert_allclose(flat, image.ravel(), rtol=1e-15)
    for shape in [(1, 28, 28), (3, 12, 20)]:
        big = eqx.filter_eval_shape(UNetScoreNet, getkey(), shape, channels=(4, 8), n_features=4)
        size = int(np.prod(shape))
        x, u = jax.ShapeDtypeStruct((size,), jnp.float64), jax.ShapeDtypeStruct((), jnp.float64)
        out = jax.eval_shape(lambda net, x, u: net(x, u), big, x, u)
        assert out.shape == (size,)
    with pytest.raises(ValueError, match="UNetScoreNet: shape"):
        UNetScoreNet(getkey(), (1, 10, 10))
    with pytest.raises(ValueError, match="UNetScoreNet: x must have shape"):
        unet.network(jnp.ones(63), 0.3)
    with pytest.raises(ValueError, match="MLPScoreNet: width"):
        MLPScoreNet(getkey(), 2, width=0)
    with pytest.raises(ValueError, match="ScoreModel: parameterisation"):
        ScoreModel(net, sr.VPSDE(), "v")
    assert eqx.is_array(net.embedding.W)
