r"""004's sample metrics carried over to the digits, with a classifier trained here on the real training split in
place of Inception (004_77456edc02bb59d5.txt §2.2; derivations/experiments_digits.md §3).

- Inception Score $\mathrm{IS} = \exp\big(E_x\,\mathrm{KL}(p(y \mid x)\,\|\,p(y))\big)$, $p(y) = E_x\,p(y \mid x)$ over
  the same set (Salimans et al. 2016): $1 \le \mathrm{IS} \le C$, $= C$ for confident predictions spread evenly over
  the $C$ classes. 004 writes it as the mean of $\exp(\mathrm{KL})$ per image (erratum E41): by Jensen that is
  $\ge$ the IS, and not the number the papers report.
- Fréchet distance of two feature sets through the Gaussians with their means and covariances,
  $\|\mu_1 - \mu_2\|^2 + \mathrm{tr}\big(\Sigma_1 + \Sigma_2 - 2(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}\big)$
  (Heusel et al. 2017's FID with this classifier's last hidden layer for Inception's pool layer).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.special import xlogy

from ..._custom_types import Key
from ..._validation import check_integer, check_positive


class DigitClassifier(eqx.Module):
    r"""A time-independent MLP $x \mapsto$ logits: `dim` $\to$ `width` $\to$ `feature_width` $\to$ `n_classes`
    (ReLU); `features(x)` is the last hidden layer, the Fréchet distance's feature."""

    hidden: eqx.nn.Linear
    feature: eqx.nn.Linear
    head: eqx.nn.Linear

    def __init__(self, key: Key, dim: int, n_classes: int, *, width: int = 256, feature_width: int = 64, dtype=None):
        dtype = dtype or jnp.result_type(float)
        k1, k2, k3 = jax.random.split(key, 3)
        self.hidden = eqx.nn.Linear(dim, width, key=k1, dtype=dtype)
        self.feature = eqx.nn.Linear(width, feature_width, key=k2, dtype=dtype)
        self.head = eqx.nn.Linear(feature_width, n_classes, key=k3, dtype=dtype)

    def features(self, x: jax.Array) -> jax.Array:
        return jax.nn.relu(self.feature(jax.nn.relu(self.hidden(x))))

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.head(self.features(x))


@eqx.filter_jit
def _train(params, static, key, x, y, steps, batch_size, optimiser):
    def loss_fn(params, xb, yb):
        logits = jax.vmap(eqx.combine(params, static))(xb)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], axis=1))

    def step(carry, k):
        params, opt_state = carry
        idx = jax.random.randint(jax.random.fold_in(key, k), (batch_size,), 0, x.shape[0])
        loss, grads = jax.value_and_grad(loss_fn)(params, x[idx], y[idx])
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
            updates, opt_state = optimiser.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimiser.init(params)
    (params, _), losses = jax.lax.scan(step, (params, opt_state), jnp.arange(steps))
    return params, losses


def train_digit_classifier(
    key: Key,
    x,
    y,
    n_classes: int,
    *,
    steps: int = 2000,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
):
    r"""Cross-entropy by AdamW (`optax.adamw`) on minibatches of `(x (n, d), y (n,))` drawn with replacement, step
    $k$ from `fold_in(key_train, k)`; one `lax.scan`. **Returns** `(classifier, losses (steps,))`."""
    owner = "train_digit_classifier"
    steps = check_integer(steps, "steps", owner, minimum=1)
    batch_size = check_integer(batch_size, "batch_size", owner, minimum=1)
    learning_rate = float(check_positive(learning_rate, "learning_rate", owner))
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    if x.ndim != 2 or y.shape != x.shape[:1]:
        raise ValueError(f"{owner}: x must be (n, d) and y (n,); got shapes {x.shape} and {y.shape}")
    key_model, key_train = jax.random.split(key)
    model = DigitClassifier(key_model, x.shape[1], n_classes, dtype=x.dtype)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    optimiser = optax.adamw(learning_rate, weight_decay=weight_decay)
    params, losses = _train(params, static, key_train, x, y, steps, batch_size, optimiser)
    return eqx.combine(params, static), np.asarray(losses)


def class_probabilities_and_features(classifier: DigitClassifier, x) -> tuple[np.ndarray, np.ndarray]:
    """`(p(y | x) (n, C), features (n, F))` as float64 NumPy."""
    x = jnp.asarray(x)
    probs = jax.nn.softmax(jax.vmap(classifier)(x), axis=-1)
    return np.asarray(probs, np.float64), np.asarray(jax.vmap(classifier.features)(x), np.float64)


def inception_score(probs) -> float:
    r"""$\exp\big(\frac1n\sum_i \mathrm{KL}(p_i\,\|\,\bar p)\big)$, $\bar p = \frac1n\sum_i p_i$, for `probs` `(n, C)`
    (rows
    probability vectors; $0\log 0 = 0$)."""
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError(f"inception_score: probs must be (n, C) rows of probabilities; got shape {p.shape}")
    marginal = p.mean(axis=0)
    kl = np.sum(xlogy(p, p) - xlogy(p, marginal[None]), axis=1)
    return float(np.exp(np.mean(kl)))


def gaussian_frechet_distance(mean1, cov1, mean2, cov2) -> float:
    r"""$\|\mu_1 - \mu_2\|^2 + \mathrm{tr}\,\Sigma_1 + \mathrm{tr}\,\Sigma_2 - 2\,\mathrm{tr}(\Sigma_1^{1/2}\Sigma_2
    \Sigma_1^{1/2})^{1/2}$, the squared 2-Wasserstein distance of the two Gaussians; the last trace is
    $\sum_i \sqrt{\lambda_i}$ over the eigenvalues of the symmetric $\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}$ (`eigh`)."""
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    w, v = np.linalg.eigh(cov1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root1 @ cov2 @ root1
    lam = np.linalg.eigvalsh(0.5 * (middle + middle.T))
    cross = np.sum(np.sqrt(np.clip(lam, 0, None)))
    return float(np.sum((mean1 - mean2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * cross)


def frechet_distance(features1, features2) -> float:
    """`gaussian_frechet_distance` of the sample means and covariances (`np.cov`, unbiased) of two feature sets
    `(n1, F)`, `(n2, F)`."""
    f1, f2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1] or min(len(f1), len(f2)) < 2:
        raise ValueError(f"frechet_distance: need two sets (n, F) of the same F, n >= 2; got {f1.shape}, {f2.shape}")
    return gaussian_frechet_distance(f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False))
