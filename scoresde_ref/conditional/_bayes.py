r"""Controllable generation by Bayes' rule for scores, and the exact class posterior of a
labelled Gaussian mixture (000_cce368350850b628.txt §4; 004_77456edc02bb59d5.txt §1.4;
derivations/conditional.md).

$p_t(x \mid y) \propto p_t(y \mid x)\,p_t(x)$, the normaliser $p(y)$ not depending on $x$, so
$$\nabla_x \log p_t(x \mid y) = \nabla_x \log p_t(x) + \nabla_x \log p_t(y \mid x),$$
and sampling the reverse SDE with this score samples $p_0(x \mid y)$. Any sampler that takes a
`score_fn(x, t)` (`pc_sample`, `ode_sample`, ...) is a conditional sampler when handed
`conditional_score(score_fn, log_likelihood_fn)`.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from .._custom_types import Key, ScalarLike, ScoreFn, Vector
from .._validation import check_label, check_real
from ..distributions._marginal import marginal
from ..distributions._mixture import AbstractMixture
from ..sde._base import AbstractAffineSDE

LogLikelihoodFn = Callable[[Vector, ScalarLike], jax.Array]
"""`log_likelihood_fn(x, t) -> scalar`: $\\log p_t(y \\mid x)$ for a fixed observation $y$."""


class ConditionalScore(eqx.Module):
    r"""$s(x, t) + \lambda\,\nabla_x \log p_t(y \mid x)$ (the score of $p_t(x)\,p_t(y \mid x)^\lambda$).

    $\lambda = 1$ is Bayes' rule (000 §4); $\lambda \ne 1$ is classifier guidance with a scale
    (the conditional law is then $\propto p_t(x)\,p_t(y\mid x)^\lambda$, not $p_t(x \mid y)$).
    """

    score_fn: ScoreFn
    log_likelihood_fn: LogLikelihoodFn
    scale: ScalarLike = 1.0

    def __call__(self, x: Vector, t: ScalarLike) -> Vector:
        grad = jax.grad(self.log_likelihood_fn)(x, t)
        return self.score_fn(x, t) + self.scale * grad


def conditional_score(
    score_fn: ScoreFn, log_likelihood_fn: LogLikelihoodFn, scale: ScalarLike = 1.0
) -> ConditionalScore:
    r"""The score `(x, t) -> score_fn(x, t) + scale * grad_x log_likelihood_fn(x, t)`.

    **Arguments:** `score_fn(x, t)` the unconditional score $\nabla\log p_t(x)$ (exact or learned);
    `log_likelihood_fn(x, t)` the scalar $\log p_t(y \mid x)$ for the fixed $y$ (differentiated by
    `jax.grad` in $x$): an exact class posterior (`class_log_likelihood`), a trained classifier
    (`classifier_log_likelihood`), a linear observation (`LinearInverseLogLikelihood`);
    `scale` the guidance weight $\lambda$.

    **Returns** a `ConditionalScore` (an `eqx.Module`, so it can be passed through `jit`).
    """
    return ConditionalScore(score_fn, log_likelihood_fn, check_real(scale, "scale", "conditional_score"))


def _check_labels(labels, n_components: int) -> tuple[int, ...]:
    labels = tuple(int(v) for v in np.asarray(labels).reshape(-1))
    if len(labels) != n_components:
        raise ValueError(f"LabelledMixture: need one label per component ({n_components}); got {len(labels)}")
    if min(labels) < 0 or set(labels) != set(range(max(labels) + 1)):
        raise ValueError(f"LabelledMixture: labels must be 0, 1, ..., C-1, each used at least once; got {labels}")
    return labels


class LabelledMixture(eqx.Module):
    r"""A Gaussian mixture whose components carry class labels: $p(x, y) = \sum_{k: \ell_k = y} w_k p_k(x)$.

    `labels[k]` $= \ell_k \in \{0, \dots, C-1\}$ is the class of component $k$ (default: one class per
    component). A class may own several components (its conditional law is then a mixture).

    - `class_weights` $p(y) = \sum_{\ell_k = y} w_k$;
    - `log_posterior(x)` $\log p(y \mid x) = \operatorname{logsumexp}_{\ell_k = y}(\log w_k + \log p_k(x))
      - \log p(x)$, shape `(C,)`;
    - `conditional(y)` the mixture $p(x \mid y)$: the same components with weights $w_k 1[\ell_k = y]/p(y)$.
    """

    mixture: AbstractMixture
    labels: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, mixture: AbstractMixture, labels=None):
        if not isinstance(mixture, AbstractMixture):
            raise TypeError(f"LabelledMixture: mixture must be a Gaussian mixture; got {type(mixture).__name__}")
        K = mixture.weights.shape[0]
        self.mixture = mixture
        self.labels = _check_labels(range(K) if labels is None else labels, K)

    @property
    def n_classes(self) -> int:
        return max(self.labels) + 1

    def _membership(self, dtype) -> jax.Array:
        """$1[\\ell_k = y]$, shape `(K, C)` (a constant: `labels` are static)."""
        return jnp.asarray(np.eye(self.n_classes)[list(self.labels)], dtype=dtype)

    @property
    def class_weights(self) -> jax.Array:
        return self.mixture.weights @ self._membership(self.mixture.weights.dtype)

    def log_posterior(self, x: Vector) -> jax.Array:
        logits = jnp.log(self.mixture.weights) + self.mixture.component_log_probs(x)
        log_member = jnp.log(self._membership(logits.dtype))  # 0 or -inf
        return logsumexp(logits[:, None] + log_member, axis=0) - logsumexp(logits)

    def conditional(self, y) -> AbstractMixture:
        """$p(x \\mid y)$, the mixture of the components labelled `y` (an integer in $[0, C)$, never wrapped)."""
        y = check_label(y, self.n_classes, "y", "LabelledMixture.conditional")
        member = self._membership(self.mixture.weights.dtype)[:, y]
        weights = self.mixture.weights * member
        return eqx.tree_at(lambda m: m.weights, self.mixture, weights / jnp.sum(weights))

    def sample(self, key: Key, n: int) -> tuple[jax.Array, jax.Array]:
        """`n` labelled draws `(x (n, d), y (n,))`: $x \\sim p(x)$, then $y \\sim p(y \\mid x)$ (the joint law)."""
        key_x, key_y = jax.random.split(key)
        x = self.mixture.sample(key_x, n)
        y = jax.random.categorical(key_y, jax.vmap(self.log_posterior)(x))
        return x, y


def labelled_marginal(sde: AbstractAffineSDE, data: LabelledMixture, t: ScalarLike) -> LabelledMixture:
    r"""The labelled marginal at time $t$: $p_t(x, y) = p(y)\,p_t(x \mid y)$, components pushed through the kernel.

    The label is not perturbed, so component $k$ of $p_t$ keeps label $\ell_k$; hence
    $p_t(y \mid x) = \sum_{\ell_k = y} w_k \mathcal N(x; m_t\mu_k + c_t, m_t^2\Sigma_k + s_t^2 I)/p_t(x)$.
    """
    return LabelledMixture(marginal(sde, data.mixture, t), data.labels)


def class_log_posterior(sde: AbstractAffineSDE, data: LabelledMixture, x: Vector, t: ScalarLike) -> jax.Array:
    r"""$\log p_t(y \mid x)$ for every class $y$, shape `(C,)`, in closed form (any $t \in [0, T]$)."""
    return labelled_marginal(sde, data, t).log_posterior(x)


class ClassLogLikelihood(eqx.Module):
    r"""`(x, t) -> log p_t(y | x)` for the class `y`: the exact time-dependent classifier.

    With it, `conditional_score(exact unconditional score, ClassLogLikelihood(...))` is exactly
    the score of `marginal(sde, data.conditional(y), t)` (Bayes' rule; tests/test_conditional.py).
    `y` may be traced (e.g. `vmap` over labels).
    """

    sde: AbstractAffineSDE
    data: LabelledMixture
    y: jax.Array | int

    def __call__(self, x: Vector, t: ScalarLike) -> jax.Array:
        y = check_label(self.y, self.data.n_classes, "y", "ClassLogLikelihood")
        return class_log_posterior(self.sde, self.data, x, t)[y]


def class_log_likelihood(sde: AbstractAffineSDE, data: LabelledMixture, y) -> ClassLogLikelihood:
    r"""`ClassLogLikelihood(sde, data, y)`: $\log p_t(y \mid x)$ as a function of `(x, t)`."""
    return ClassLogLikelihood(sde, data, check_label(y, data.n_classes, "y", "class_log_likelihood"))
