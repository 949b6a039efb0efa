"""`train_score`: bit-identical runs and resumes, the loss of a step is the project's loss object, the DSM optimum
in a model class that contains the exact score, the NaN stop, bad input before any compile, the progress bar
(derivations/training.md)."""

import io
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import scoresde_ref as sr
from helpers import count_compilations
from scoresde_ref._progress import ProgressBar
from scoresde_ref.nn import ScoreModel, mlp_score_model, trainable_filter
from scoresde_ref.training import TrainingDiverged, minibatch_loss, train_score


class Affine(eqx.Module):
    """`(x, u) -> A x + b`: with the score parameterisation, a model class that contains the exact score −x of
    stationary OU data N(0, I)."""

    A: jax.Array
    b: jax.Array

    def __call__(self, x, u):
        return self.A @ x + self.b


class RootScaled(eqx.Module):
    """`(x, u) -> √c A x + b`: NaN once c < 0."""

    A: jax.Array
    b: jax.Array
    c: jax.Array

    def __call__(self, x, u):
        return jnp.sqrt(self.c) * (self.A @ x) + self.b


def _leaves(tree):
    return [np.asarray(v) for v in jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))]


def _same_bits(a, b) -> bool:
    la, lb = _leaves(a), _leaves(b)
    return len(la) == len(lb) and all(np.array_equal(x, y) for x, y in zip(la, lb))


def _tiny(sde, d=2, key=0):
    return eqx.filter_jit(lambda k: mlp_score_model(k, sde, d, width=8, depth=1, n_features=2))(jax.random.key(key))


def test_same_key_and_resume_are_bit_identical(tmp_path):
    """Same key: bit-identical weights, EMA, optimiser state and losses; 12 steps in chunks of 5 equal 12 in chunks
    of 4; 7 steps checkpointed (JSON config + `tree_serialise_leaves`, no pickle) then resumed to 12 equal the
    uninterrupted 12. A resume with another configuration is refused, naming the field. Planted bugs caught: a key
    drawn per chunk (chunking changes the weights), the EMA or the optimiser state not saved (resume differs)."""
    sde = sr.VPSDE()
    data = sr.examples.gmm_2d().sample(jax.random.key(1), 64)
    model = _tiny(sde)
    run = lambda **kw: train_score(jax.random.key(2), sde, data, model=model, batch_size=16, **kw)  # noqa: E731
    full = run(steps=12, steps_per_call=5)
    again = run(steps=12, steps_per_call=5)
    for field in ("model", "ema_model", "opt_state"):
        assert _same_bits(getattr(full, field), getattr(again, field)), field
    np.testing.assert_array_equal(full.losses, again.losses)
    assert full.losses.shape == (12,) and full.step == 12
    assert not _same_bits(full.model, model) and not _same_bits(full.score, full.raw_score)
    assert _same_bits(run(steps=12, steps_per_call=4).model, full.model)
    part = run(steps=7, steps_per_call=5, checkpoint=tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["step"] == 7 and config["batch_size"] == 16 and config["format"] == 1
    np.testing.assert_array_equal(np.load(tmp_path / "ckpt" / "losses.npy", allow_pickle=False), part.losses)
    resumed = run(steps=12, steps_per_call=5, resume=tmp_path / "ckpt")
    for field in ("model", "ema_model", "opt_state"):
        assert _same_bits(getattr(resumed, field), getattr(full, field)), field
    np.testing.assert_array_equal(resumed.losses, full.losses)
    with pytest.raises(ValueError, match="train_score: resume: the checkpoint's batch_size is 16"):
        train_score(jax.random.key(2), sde, data, model=model, steps=12, batch_size=8, resume=tmp_path / "ckpt")


def test_step_loss_is_the_project_loss_object():
    """The loss of step k is `mean(loss_terms(key_loss, sde, model, batch))` with `key_batch, key_loss =
    split(fold_in(key_train, k))`: the losses' own draws (times, noises) and weighting, not a copy (float64,
    1e-12: the same operations in another compiled program). Planted bug caught: a training loss that draws its
    times or noises differently from `loss_terms` (the losses would differ at O(1))."""
    sde = sr.VESDE(0.01, 5.0)
    data = sr.examples.gmm_2d().sample(jax.random.key(1), 32)
    model = _tiny(sde)
    key_model, key_train = jax.random.split(jax.random.key(4))
    res = train_score(jax.random.key(4), sde, data, model=model, steps=1, batch_size=8, weighting="g2",
                      time_sampling="uniform")
    key_batch, key_loss = jax.random.split(jax.random.fold_in(key_train, 0))
    batch = data[jax.random.randint(key_batch, (8,), 0, 32)]
    terms = sr.losses.loss_terms(key_loss, sde, model, batch, weighting="g2", eps=1e-5, time_sampling="uniform")
    np.testing.assert_allclose(res.losses[0], jnp.mean(terms), rtol=1e-12)
    params, static = eqx.partition(model, trainable_filter(model))
    direct = minibatch_loss(params, static, sde, data, jax.random.fold_in(key_train, 0), objective=sr.losses.DSM(),
                            weighting=sr.losses.LikelihoodWeighting(), times=sr.losses.UniformTimes(), eps=1e-5,
                            batch_size=8, replace=True)
    np.testing.assert_allclose(direct, jnp.mean(terms), rtol=1e-12)


def test_dsm_optimum_in_a_class_containing_the_exact_score_is_the_exact_score():
    """OU dX = −X dt + √2 dB started at its stationary law N(0, I): p_t = N(0, I), ∇log p_t(x) = −x for all t, which
    the affine model A x + b (score parameterisation) contains at A = −I, b = 0.

    (i) At the exact score the expected DSM gradient vanishes ("initialised there, it stays there" in expectation):
    the mean per-example gradient over 4096 examples is within 5 standard errors of 0 (5.7e-7 two-sided per entry,
    6 entries), while at A = −0.8 I it is > 5 SE away. (ii) Trained from A = 0 (Adam 0.05, 2000 steps, λ = s²) the
    EMA weights (ρ = 0.99) reach A = −I within 0.05 per entry: Adam's iterates wander around the optimum by about the
    learning rate (0.05, as measured on the raw weights), and the EMA averages ~100 of them; after 2000 steps the
    EMA's memory of the start (0.99^2000 ≈ 2e-9) is gone. Planted bug caught: a wrong DSM target (−z instead of
    −z/s, or a missing weighting) moves the optimum off −I."""
    sde = sr.OUSDE(theta=1.0, sigma=2**0.5, T=1.0)
    d = 2
    data = jax.random.normal(jax.random.key(5), (4096, d))
    exact = ScoreModel(Affine(-jnp.eye(d), jnp.zeros(d)), sde, "score")
    off = ScoreModel(Affine(-0.8 * jnp.eye(d), jnp.zeros(d)), sde, "score")

    @eqx.filter_jit
    def per_example_grads(model, key):
        params, static = eqx.partition(model, trainable_filter(model))
        t, z, _ = sr.losses.loss_noise(key, sde, data, eps=1e-5)

        def one(p, x0, t, z):
            m = eqx.combine(p, static)
            _, std = sde.kernel(t)
            x_t = sde.kernel_mean(x0, t) + std * z
            return std**2 * sr.losses.DSM().integrand(m, x_t, t, z, std, None)

        g = jax.vmap(jax.grad(one), (None, 0, 0, 0))(params, data, t, z)
        return jnp.concatenate([g.network.A.reshape(data.shape[0], -1), g.network.b], axis=1)

    for model, should_vanish in ((exact, True), (off, False)):
        g = np.asarray(per_example_grads(model, jax.random.key(6)))
        z_scores = g.mean(0) / (g.std(0, ddof=1) / np.sqrt(g.shape[0]))
        assert np.all(np.abs(z_scores[:4]) < 5) == should_vanish, z_scores
        assert np.all(np.abs(z_scores[4:]) < 5), z_scores  # b = 0 is optimal in both
    start = ScoreModel(Affine(jnp.zeros((d, d)), jnp.zeros(d)), sde, "score")
    res = train_score(jax.random.key(7), sde, data, model=start, steps=2000, batch_size=256,
                      optimiser=optax.adam(0.05), ema_rate=0.99)
    np.testing.assert_allclose(res.score.network.A, -np.eye(d), atol=0.05)
    np.testing.assert_allclose(res.score.network.b, np.zeros(d), atol=0.05)


def test_non_finite_loss_stops_naming_the_step_and_keeps_the_last_good_state():
    """An optimiser that lowers c by 1 per step from 2.5: the model √c A x is NaN from step 3 (c = −0.5). The run
    (chunks of 2) raises `TrainingDiverged` naming step 3; its result holds the state after step 2 (c = −0.5, the
    input of the failing step, never updated by it), 3 finite losses. Planted bugs caught: the NaN step applied
    (c = −1.5), the error reported at the end of the chunk (step 4) or never."""
    sde = sr.OUSDE(theta=1.0, sigma=2**0.5, T=1.0)
    data = jax.random.normal(jax.random.key(5), (64, 2))
    model = ScoreModel(RootScaled(-jnp.eye(2), jnp.zeros(2), jnp.asarray(2.5)), sde, "score")

    def update(grads, state, params=None):
        minus_one_on_c = jax.tree_util.tree_map(jnp.zeros_like, grads)
        return eqx.tree_at(lambda g: g.network.c, minus_one_on_c, -jnp.ones_like(grads.network.c)), state

    lower_c = optax.GradientTransformation(lambda params: optax.EmptyState(), update)
    with pytest.raises(TrainingDiverged, match="train_score: the loss or its gradient at step 3 is not finite") as err:
        train_score(jax.random.key(0), sde, data, model=model, steps=8, batch_size=16, optimiser=lower_c,
                    steps_per_call=2)
    assert err.value.step == 3
    kept = err.value.result
    assert kept.step == 3 and kept.losses.shape == (3,) and np.all(np.isfinite(kept.losses))
    assert float(kept.model.network.c) == -0.5


def test_bad_input_fails_before_any_compile():
    """NaN/inf data, data of the wrong rank or dimension, steps < 1, batch_size < 1 or > n without replacement,
    ema_rate outside [0, 1), eps outside (0, T): a ValueError naming train_score and the parameter, with nothing
    compiled. Planted bug caught: a check after the model is built or the run is traced (compilations > 0)."""
    sde = sr.VPSDE()
    data = np.random.default_rng(0).normal(size=(10, 2))
    model = ScoreModel(Affine(-jnp.eye(3), jnp.zeros(3)), sde, "score")
    nan_data, inf_data = data.copy(), data.copy()
    nan_data[3, 1], inf_data[0, 0] = np.nan, np.inf
    cases = [
        (dict(data=nan_data), "data must be finite; got 1 NaN/inf entries \\(first in row 3\\)"),
        (dict(data=inf_data), "data must be finite"),
        (dict(data=data[:, 0]), "data must be a batch of shape \\(n, d\\)"),
        (dict(model=model), "model\\(x, t\\) must return shape \\(d,\\) = \\(2,\\)"),
        (dict(steps=0), "steps must be an integer >= 1; got 0"),
        (dict(steps=2.5), "steps must be an integer"),
        (dict(batch_size=0), "batch_size must be an integer >= 1; got 0"),
        (dict(batch_size=11, replace=False), "batch_size must be <= n = 10 when sampling without replacement"),
        (dict(ema_rate=1.0), "ema_rate must be a finite number in \\[0, 1\\); got ema_rate = 1.0"),
        (dict(eps=0.0), "eps must be a finite number in \\(0, 1\\); got eps = 0.0"),
        (dict(eps=float("nan")), "eps must be a finite number"),
    ]
    key = jax.random.key(0)
    for change, message in cases:
        kwargs = dict(data=data, steps=5, batch_size=4) | change
        with count_compilations() as n, pytest.raises(ValueError, match="train_score: " + message):
            train_score(key, sde, kwargs.pop("data"), **kwargs)
        assert n[0] == 0, (change, n[0])


def test_progress_bar_shows_rate_and_loss_only_when_enabled():
    """Enabled: the line carries count/total, a rate in steps/s and the loss; default on a non-TTY stream and
    disabled: nothing written (logs and tests stay quiet)."""
    stream = io.StringIO()
    with ProgressBar(10, "train_score", enabled=True, stream=stream, unit="steps", min_interval=0.0) as bar:
        bar.update(4, loss=0.125)
        bar.update(6, loss=0.0625)
    text = stream.getvalue()
    assert "10/10" in text and "steps/s" in text and "loss=0.0625" in text and text.endswith("\n")
    for enabled in (None, False):
        quiet = io.StringIO()
        with ProgressBar(10, enabled=enabled, stream=quiet) as bar:
            bar.update(10, loss=1.0)
        assert quiet.getvalue() == ""
