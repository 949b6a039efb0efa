r"""Continuous-time score-matching objectives, estimated by Monte Carlo over a batch $x_0$ (n, d).

Each objective is $E_{t \sim U(\epsilon, T)}\,\lambda(t)\,E_{x_0 \sim p_0}\,E_{x_t \sim p_{0t}(\cdot|x_0)}[\ell]$
with one time $t_i$ and one noise $z_i$ per example, $x_t = m(t) x_0 + c(t) + s(t) z$, and
(derivations/losses.md):

| objective | $\ell$ | source |
|---|---|---|
| `"dsm"` | $\|s_\theta(x_t, t) - \nabla\log p_{0t}(x_t\mid x_0)\|^2$, target $-z/s(t)$ | 000 §2.2 eq (5); 001 "Denoising Score matching" |
| `"ism"` | $\|s_\theta(x_t, t)\|^2 + 2\,\nabla\cdot s_\theta(x_t, t)$ | 000 §2.2 eq (3); 001 "Implicit Score matching" |
| `"sliced"` | $(v^\top s_\theta)^2 + 2\,v^\top (\partial_x s_\theta) v$, $E[vv^\top] = I$ | Song et al. (2019), cited by 004 §1.2 |
| `"fisher"` | $\|s_\theta(x_t, t) - \nabla\log p_t(x_t)\|^2$ (needs the true score) | 000 §2.2; 002 "Recap"; 003 §3.1 |

**Scale.** All four are on the scale of the Fisher divergence $E\|s - \nabla\log p\|^2$, so that
$\text{DSM} - \text{Fisher}$ and $\text{ISM} - \text{Fisher}$ are constants free of $\theta$. The ISM
form of 001 and 002 ($\tfrac12\|s\|^2 + \nabla\cdot s$) and sliced score matching of Song et al.
are half of ours; 002's $D_F$ carries a $\tfrac12$ too.

The DSM target is formed as $-z/s(t)$, exactly $\nabla\log p_{0t}(x_t \mid x_0)$, never as
$-(x_t - m x_0 - c)/s^2$ (which cancels catastrophically at small $t$).
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from .._custom_types import Array, Batch, Key, Scalar, ScalarLike, ScoreFn, Vector
from .._divergence import check_probe, hutchinson_divergence, sample_probe
from .._divergence import divergence as exact_divergence
from ..sde._base import AbstractAffineSDE
from ._time_sampling import sample_times
from ._weighting import check_weighting, loss_weight

OBJECTIVES = ("dsm", "ism", "sliced", "fisher")
DIVERGENCES = ("exact", "hutchinson")


def _dsm(score_fn, x_t, t, z, std, key, options) -> Scalar:
    return jnp.sum((score_fn(x_t, t) + z / std) ** 2)


def _ism(score_fn, x_t, t, z, std, key, options) -> Scalar:
    f = lambda y: score_fn(y, t)  # noqa: E731
    if options["divergence"] == "exact":
        s, div = f(x_t), exact_divergence(f, x_t)
    else:
        s, div = f(x_t), hutchinson_divergence(key, f, x_t, probe=options["probe"])
    return jnp.sum(s**2) + 2 * div


def _sliced(score_fn, x_t, t, z, std, key, options) -> Scalar:
    v = sample_probe(key, x_t.shape, options["probe"], jnp.result_type(x_t))
    s, jv = jax.jvp(lambda y: score_fn(y, t), (x_t,), (v,))
    return jnp.vdot(v, s) ** 2 + 2 * jnp.vdot(v, jv)


def _fisher(score_fn, x_t, t, z, std, key, options) -> Scalar:
    return jnp.sum((score_fn(x_t, t) - options["target_score_fn"](x_t, t)) ** 2)


_TERMS = {"dsm": _dsm, "ism": _ism, "sliced": _sliced, "fisher": _fisher}


def _check_options(objective, weighting, divergence, probe, target_score_fn):
    if objective not in OBJECTIVES:
        raise ValueError(f"loss_terms: objective must be one of {OBJECTIVES}; got {objective!r}")
    check_weighting(weighting, "loss_terms")
    if divergence not in DIVERGENCES:
        raise ValueError(f"loss_terms: divergence must be one of {DIVERGENCES}; got {divergence!r}")
    check_probe(probe, "loss_terms")
    if objective == "fisher" and target_score_fn is None:
        raise ValueError("loss_terms: objective 'fisher' needs target_score_fn (the exact score of p_t)")


def _check_batch(x0) -> Batch:
    x0 = jnp.asarray(x0)
    if x0.ndim != 2:
        raise ValueError(f"loss_terms: x0 must be a batch of shape (n, d); got shape {x0.shape}")
    return x0


def loss_terms(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    objective: str = "dsm",
    weighting: str = "sigma2",
    eps: ScalarLike = 1e-5,
    time_sampling: str = "uniform",
    t: ScalarLike | Array | None = None,
    divergence: str = "exact",
    probe: str = "rademacher",
    target_score_fn: ScoreFn | None = None,
) -> Array:
    r"""The per-example terms $\lambda(t_i)\,\ell(x_0^{(i)}, t_i, z_i)$, shape `(n,)`; their mean is the loss.

    **Arguments:**

    - `key`: one key; the times, the noises $z$ and the probes come from independent splits of it.
    - `sde`: an affine SDE (exact kernel); `score_fn(x, t)` acts on one example `x` of shape `(d,)`.
    - `x0`: data batch `(n, d)`.
    - `objective`: `"dsm"`, `"ism"`, `"sliced"` or `"fisher"` (module table).
    - `weighting`: `"sigma2"`, `"g2"` or `"uniform"` (`loss_weight`).
    - `eps`, `time_sampling`: $t_i$ drawn on $[\epsilon, T]$ by `"uniform"` or `"stratified"` (`sample_times`).
    - `t`: fixed times instead (a scalar or shape `(n,)`); then `eps` and `time_sampling` are unused.
    - `divergence` (ISM): `"exact"` (Jacobian trace) or `"hutchinson"` (one probe per example).
    - `probe` (Hutchinson ISM, sliced): `"gaussian"` or `"rademacher"`.
    - `target_score_fn` (Fisher): the exact score $\nabla\log p_t(x)$ as `(x, t) -> (d,)`.

    Use `mean_and_stderr(terms, method=time_sampling)` for the estimate and its standard error.
    """
    _check_options(objective, weighting, divergence, probe, target_score_fn)
    x0 = _check_batch(x0)
    n, dtype = x0.shape[0], jnp.result_type(x0)
    key_t, key_z, key_v = jax.random.split(key, 3)
    if t is None:
        t = sample_times(key_t, n, sde.T, eps=eps, method=time_sampling, dtype=dtype)
    t = jnp.broadcast_to(jnp.asarray(t, dtype=dtype), (n,))
    z = jax.random.normal(key_z, x0.shape, dtype=dtype)
    options = {"divergence": divergence, "probe": probe, "target_score_fn": target_score_fn}
    term = _TERMS[objective]

    def one(x0_i, t_i, z_i, key_i):
        _, std = sde.kernel(t_i)
        x_t = sde.kernel_mean(x0_i, t_i) + std * z_i
        return loss_weight(sde, t_i, weighting) * term(score_fn, x_t, t_i, z_i, std, key_i, options)

    return jax.vmap(one)(x0, t, z, jax.random.split(key_v, n))


def dsm_loss(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    weighting: str = "sigma2",
    eps: ScalarLike = 1e-5,
    time_sampling: str = "uniform",
) -> Scalar:
    r"""Denoising score matching, $E_t \lambda(t) E_{x_0} E_{x_t|x_0}\|s_\theta(x_t, t) - \nabla\log p_{0t}(x_t|x_0)\|^2$.

    000_cce368350850b628.txt §2.2 eq (5) and the objective below it; 001_cbf75b2ce1966cfb.txt
    "Denoising Score matching". The Monte-Carlo mean over the batch `x0` (n, d) of `loss_terms`.
    """
    return jnp.mean(
        loss_terms(key, sde, score_fn, x0, objective="dsm", weighting=weighting, eps=eps, time_sampling=time_sampling)
    )


def ism_loss(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    weighting: str = "sigma2",
    eps: ScalarLike = 1e-5,
    divergence: str = "exact",
    probe: str = "rademacher",
    time_sampling: str = "uniform",
) -> Scalar:
    r"""Implicit score matching, $E_t \lambda(t) E_{x_t \sim p_t}[\|s_\theta(x_t, t)\|^2 + 2\nabla\cdot s_\theta(x_t, t)]$.

    000_cce368350850b628.txt §2.2 eq (3); twice the $E[\tfrac12\|s\|^2 + \mathrm{div}\, s]$ of
    001_cbf75b2ce1966cfb.txt "Implicit Score matching", so that ISM − Fisher is a constant.
    `divergence`: `"exact"` or `"hutchinson"` (with `probe` `"gaussian"` or `"rademacher"`).
    """
    return jnp.mean(
        loss_terms(
            key, sde, score_fn, x0, objective="ism", weighting=weighting, eps=eps,
            time_sampling=time_sampling, divergence=divergence, probe=probe,
        )
    )


def sliced_score_matching_loss(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    weighting: str = "sigma2",
    eps: ScalarLike = 1e-5,
    probe: str = "gaussian",
    time_sampling: str = "uniform",
) -> Scalar:
    r"""Sliced score matching, $E_t \lambda(t) E_{x_t, v}[(v^\top s_\theta)^2 + 2 v^\top \partial_x s_\theta\, v]$.

    Song, Garg, Shi & Ermon (2019), cited by 004_77456edc02bb59d5.txt §1.2; twice their
    objective. Its expectation over $v$ is the ISM integrand, so it equals `ism_loss` in expectation.
    """
    return jnp.mean(
        loss_terms(
            key, sde, score_fn, x0, objective="sliced", weighting=weighting, eps=eps,
            time_sampling=time_sampling, probe=probe,
        )
    )


def fisher_loss(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    target_score_fn: Callable[[Vector, ScalarLike], Vector],
    weighting: str = "sigma2",
    eps: ScalarLike = 1e-5,
    time_sampling: str = "uniform",
) -> Scalar:
    r"""The weighted Fisher divergence $E_t \lambda(t) E_{x_t \sim p_t}\|s_\theta(x_t, t) - \nabla\log p_t(x_t)\|^2$.

    000_cce368350850b628.txt §2.2 (the "intractable" loss), 002_686d39656702d14a.txt
    "Estimating the reverse SDE with score-based models". `target_score_fn(x, t)` is the exact
    score, e.g. `lambda x, t: sr.marginal(sde, dist, t).score(x)`.
    """
    return jnp.mean(
        loss_terms(
            key, sde, score_fn, x0, objective="fisher", weighting=weighting, eps=eps,
            time_sampling=time_sampling, target_score_fn=target_score_fn,
        )
    )
