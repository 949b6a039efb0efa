r"""A time-dependent classifier $\hat p_t(y \mid x(t))$ trained by a mixture of cross-entropies over
times, and its use for guidance (000_cce368350850b628.txt §4 and appendix F; 004_77456edc02bb59d5.txt
§1.4; derivations/conditional.md §3).

000 §4: draw $(x(0), y)$ from a labelled data set, $x(t) \sim p_{0t}(\cdot \mid x(0))$, and minimise
$$\mathcal L(\theta) = E_{t \sim U(\epsilon, T)}\,E_{(x(0), y)}\,E_{x(t) \mid x(0)}
\big[-\log \hat p_\theta(y \mid x(t), t)\big],$$
whose minimiser over all functions is the exact $p_t(y \mid x)$ at every $t$ (the cross-entropy is
minimised by the conditional law of the label given the input $(x(t), t)$). 000 appendix F uses an
MLP on (pixels, time) with two hidden ReLU layers of 128 units; here the time enters through
Gaussian Fourier features (the time embedding of 000 §5.3).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .._custom_types import Batch, Key, ScalarLike, Vector
from .._validation import check_batch, check_float_dtype, check_integer, check_label, check_positive
from ..losses._time_sampling import sample_times
from ..sde._base import AbstractAffineSDE
from ._bayes import LabelledMixture, class_log_posterior, labelled_marginal


class TimeClassifier(eqx.Module):
    r"""Logits of $\hat p(y \mid x, t)$: an MLP on $[x,\ \sin(2\pi f t),\ \cos(2\pi f t)]$, `(d,)`, scalar $\to$ `(C,)`.

    The frequencies $f_j \sim \mathcal N(0, \text{embed\_scale}^2)$ are drawn once and not trained
    (`stop_gradient`). **Arguments:** `key`, `dim` $d$, `n_classes` $C$, `width`, `depth` (hidden
    layers), `n_frequencies`, `embed_scale`, `dtype`.
    """

    frequencies: jax.Array
    mlp: eqx.nn.MLP

    def __init__(
        self,
        key: Key,
        dim: int,
        n_classes: int,
        *,
        width: int = 64,
        depth: int = 2,
        n_frequencies: int = 8,
        embed_scale: float = 1.0,
        dtype=None,
    ):
        dtype = dtype or jnp.result_type(float)
        key_f, key_m = jax.random.split(key)
        self.frequencies = embed_scale * jax.random.normal(key_f, (n_frequencies,), dtype=dtype)
        self.mlp = eqx.nn.MLP(
            dim + 2 * n_frequencies, n_classes, width, depth, activation=jax.nn.silu, key=key_m, dtype=dtype
        )

    def __call__(self, x: Vector, t: ScalarLike) -> jax.Array:
        angle = 2 * jnp.pi * jax.lax.stop_gradient(self.frequencies) * t
        return self.mlp(jnp.concatenate([x, jnp.sin(angle), jnp.cos(angle)]))


def classifier_loss(
    model, key: Key, sde: AbstractAffineSDE, x0: Batch, y0: jax.Array, *, eps: float = 1e-3
) -> jax.Array:
    r"""The Monte-Carlo cross-entropy $\frac1n\sum_i -\log\hat p(y_i \mid x_i(t_i), t_i)$, $t_i \sim U(\epsilon, T)$,
    $x_i(t_i) = $ `sde.perturb`$(x_i(0), t_i)$ (one time and one perturbation per example)."""
    owner = "classifier_loss"
    check_float_dtype(check_batch(x0, None, "x0", owner), "x0", owner)
    if jnp.shape(y0) != x0.shape[:1]:
        raise ValueError(f"{owner}: y0 must hold one label per example, shape {x0.shape[:1]}; got {jnp.shape(y0)}")
    key_t, key_x = jax.random.split(key)
    n = x0.shape[0]
    t = sample_times(key_t, n, sde.T, eps=eps, dtype=x0.dtype)
    xt = jax.vmap(sde.perturb)(jax.random.split(key_x, n), x0, t)
    log_p = jax.nn.log_softmax(jax.vmap(model)(xt, t))
    y0 = check_label(y0, log_p.shape[-1], "y0", owner)  # the model's output size is the number of classes
    return -jnp.mean(jnp.take_along_axis(log_p, y0[:, None], axis=1))


@eqx.filter_jit
def _train(params, static, key, sde, x0, y0, n_steps, batch_size, learning_rate, eps):
    optimiser = optax.adam(learning_rate)

    def loss_fn(params, key, x, y):
        return classifier_loss(eqx.combine(params, static), key, sde, x, y, eps=eps)

    def step(carry, k):
        params, opt_state = carry
        key_b, key_l = jax.random.split(jax.random.fold_in(key, k))
        idx = jax.random.randint(key_b, (batch_size,), 0, x0.shape[0])
        loss, grads = jax.value_and_grad(loss_fn)(params, key_l, x0[idx], y0[idx])
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
            updates, opt_state = optimiser.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    (params, _), losses = jax.lax.scan(step, (params, optimiser.init(params)), jnp.arange(n_steps))
    return params, losses


def train_classifier(
    key: Key,
    model,
    sde: AbstractAffineSDE,
    x0: Batch,
    y0: jax.Array,
    *,
    n_steps: int = 2000,
    batch_size: int = 256,
    learning_rate: float = 3e-3,
    eps: float = 1e-3,
):
    r"""Minimise `classifier_loss` by Adam (`optax`) on minibatches of the labelled set `(x0, y0)`.

    One jitted `lax.scan` over `n_steps` steps (compiled once per model structure, data shape and
    settings); step $k$ uses `fold_in(key, k)` for its minibatch (drawn with replacement), times and
    perturbations, so the same key gives the same model. **Returns** `(trained_model, losses)` with
    `losses` `(n_steps,)` the minibatch losses.
    """
    owner = "train_classifier"
    check_batch(x0, None, "x0", owner)
    n_steps = check_integer(n_steps, "n_steps", owner, minimum=1)
    batch_size = check_integer(batch_size, "batch_size", owner, minimum=1)
    learning_rate = check_positive(learning_rate, "learning_rate", owner)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    settings = (n_steps, batch_size, float(learning_rate), float(eps))
    params, losses = _train(params, static, key, sde, x0, y0, *settings)
    return eqx.combine(params, static), losses


class ClassifierLogLikelihood(eqx.Module):
    r"""`(x, t) -> log p̂(y | x, t)` = `log_softmax(model(x, t))[y]`: guidance by a trained classifier
    (`conditional_score(score_fn, ClassifierLogLikelihood(model, y), scale)`)."""

    model: eqx.Module
    y: jax.Array | int

    def __call__(self, x: Vector, t: ScalarLike) -> jax.Array:
        log_p = jax.nn.log_softmax(self.model(x, t))
        return log_p[check_label(self.y, log_p.shape[-1], "y", "ClassifierLogLikelihood")]


def classifier_log_likelihood(model, y) -> ClassifierLogLikelihood:
    """`ClassifierLogLikelihood(model, y)`."""
    return ClassifierLogLikelihood(model, y)


def classifier_vs_bayes(model, sde: AbstractAffineSDE, data: LabelledMixture, key: Key, times, n: int) -> dict:
    r"""How close $\hat p_t(y \mid x)$ is to the exact $p_t(y \mid x)$ (`class_log_posterior`) at each time.

    For each $t$ in `times`: $n$ points $x \sim p_t$ (the marginal; key `fold_in(key, j)` at the
    $j$-th time), and **Returns** a dict of arrays of shape `(len(times),)`: `"agreement"`, the fraction
    with $\arg\max_y \hat p = \arg\max_y p$; `"tv"`, the mean total variation
    $\frac12\sum_y|\hat p_t(y\mid x) - p_t(y\mid x)|$ (for two classes, the mean $|\hat p - p|$); `"bayes_accuracy"`,
    $E\max_y p_t(y \mid x)$, the accuracy of the exact classifier (the ceiling of any classifier at that $t$).

    Compiled once per model structure, shapes and `n` (`eqx.filter_jit`): a second call with new
    values (model weights, key, times) compiles nothing.
    """
    return _classifier_vs_bayes(model, sde, data, key, jnp.asarray(times), int(n))


@eqx.filter_jit
def _classifier_vs_bayes(model, sde, data, key, times, n):
    def at(j, t):
        x = labelled_marginal(sde, data, t).mixture.sample(jax.random.fold_in(key, j), n)
        p = jnp.exp(jax.vmap(class_log_posterior, (None, None, 0, None))(sde, data, x, t))
        q = jax.nn.softmax(jax.vmap(model, (0, None))(x, t))
        return {
            "agreement": jnp.mean(jnp.argmax(p, -1) == jnp.argmax(q, -1)),
            "tv": jnp.mean(0.5 * jnp.sum(jnp.abs(p - q), -1)),
            "bayes_accuracy": jnp.mean(jnp.max(p, -1)),
        }

    return jax.vmap(at)(jnp.arange(times.shape[0]), times)
