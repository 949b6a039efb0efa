r"""Continuous-time score-matching losses, estimated by Monte Carlo over a batch $x_0$ (n, d).

Each loss is $E_{t}\,\lambda(t)\,E_{x_0 \sim p_0}\,E_{x_t \sim p_{0t}(\cdot|x_0)}[\ell]$ with one time
$t_i$ and one noise $z_i$ per example, $x_t = m(t) x_0 + c(t) + s(t) z$: the integrand $\ell$ is an
objective (`losses/_objectives.py`: `DSM`, `ISM`, `SlicedScoreMatching`, `Fisher`), $\lambda$ a weighting
(`losses/_weighting.py`), the times come from a design (`losses/_time_sampling.py`).

**Noise can be given.** `loss_terms_at(sde, score_fn, x0, t, z, probes)` computes the terms from given
times, noises and probes, without a key; `loss_terms` (and the losses, its means) draws them from one
key with `loss_noise` (`jax.random.split(key, 3)`: times, noises, probes; probe `i` from
`jax.random.split(key_v, n)[i]`) and calls the same compiled function.

**Compiled at the boundary.** The public functions validate their options eagerly (clear `ValueError`s;
`eqx.error_if` when traced), then call an `eqx.filter_jit` core that compiles once per shape and static
configuration: new keys, data, `eps`, `t` and SDE or score-module parameters compile nothing
(`_jit_boundary.py`). A plain Python score function is static: a new lambda per call compiles again.
"""

import jax
import jax.numpy as jnp

from .._custom_types import Array, Batch, Key, Scalar, ScalarLike, ScoreFn
from .._divergence import AbstractDivergence
from .._jit_boundary import compiled, floats_as_arrays
from .._validation import check_batch, check_float_dtype, check_score_output, check_time, one_example
from ..sde._base import AbstractAffineSDE
from ._objectives import AbstractObjective, Fisher, as_objective, draw_probes
from ._time_sampling import AbstractTimeSampler, as_time_sampler, check_eps
from ._weighting import AbstractWeighting, as_weighting


def _check_batch(x0, owner, sde=None, score_fn=None) -> Batch:
    """`x0` a floating batch `(n, d)`, `n >= 1` (an empty batch has no mean loss), and `score_fn` returning the
    shape and dtype of one example (a `(8, 1)` batch for 2-D data is refused, not broadcast)."""
    x0 = check_float_dtype(check_batch(jnp.asarray(x0), None, "x0", owner), "x0", owner)
    if score_fn is not None:
        check_score_output(owner, score_fn, one_example(x0), input_name="x0")
    return x0


def _check_times(t, x0, sde, owner):
    """`t` a scalar or `(n,)` in $(0, T]$: at $t = 0$ the kernel std is 0 and every objective divides by it, so
    $t = 0$ is refused (never a NaN loss); a `(1,)` or `(n, 1)` is refused, not broadcast."""
    t = jnp.asarray(t, dtype=jnp.result_type(x0))
    if t.shape not in ((), x0.shape[:1]):
        raise ValueError(f"{owner}: t must be a scalar or of shape {x0.shape[:1]}; got shape {t.shape}")
    return check_time(t, sde.T, owner, lower_open=True)  # eager ValueError when t is concrete


def _terms_at(sde, score_fn, x0, t, z, probes, objective, weighting) -> Array:
    """$\\lambda(t_i)\\,\\ell(x_0^{(i)}, t_i, z_i, v_i)$ for given `t` `(n,)`, `z` `(n, d)`, `probes` `(n, d)` or
    `None`."""

    def one(x0_i, t_i, z_i, v_i):
        _, std = sde.kernel(t_i)
        x_t = sde.kernel_mean(x0_i, t_i) + std * z_i
        return weighting(sde, t_i) * objective.integrand(score_fn, x_t, t_i, z_i, std, v_i)

    return jax.vmap(one)(x0, t, z, probes)


def _draw(key, sde, x0, t, eps, objective, times):
    r"""`(t, z, probes)` from `key`: `key_t, key_z, key_v = split(key, 3)`; times by the design on
    $[\epsilon, T]$ unless `t` is given; `z = normal(key_z, x0.shape)`; probe `i` from `split(key_v, n)[i]`."""
    n, d = x0.shape
    dtype = jnp.result_type(x0)
    key_t, key_z, key_v = jax.random.split(key, 3)
    if t is None:
        t = times.sample(key_t, n, sde.T, eps, dtype)
    t = jnp.broadcast_to(jnp.asarray(t, dtype=dtype), (n,))
    z = jax.random.normal(key_z, x0.shape, dtype=dtype)
    return t, z, draw_probes(objective, key_v, n, d, dtype)


OWNER = "score-matching loss"  # the name errors from the compiled cores give (shared by every loss here)
_compiled_draw = compiled(_draw, OWNER)
_compiled_terms_at = compiled(_terms_at, OWNER)


def _mean_at(*args) -> Scalar:
    return jnp.mean(_terms_at(*args))


_compiled_mean_at = compiled(_mean_at, OWNER)


def _prepare(owner, key, sde, score_fn, x0, *, objective, weighting, eps, time_sampling, t):
    """Validate eagerly, turn floats into arrays, and draw `(t, z, probes)` (compiled)."""
    weighting = as_weighting(weighting, owner)
    times = as_time_sampler(time_sampling, owner)
    x0 = _check_batch(x0, owner, sde, score_fn)
    if t is None:
        eps = check_eps(eps, sde.T, owner)
    else:
        t = _check_times(t, x0, sde, owner)
    sde, score_fn, objective, eps, t = floats_as_arrays((sde, score_fn, objective, eps, t))
    t, z, probes = _compiled_draw(key, sde, x0, t, eps, objective, times)
    return sde, score_fn, x0, t, z, probes, objective, weighting


def _key_driven(owner, compiled, key, sde, score_fn, x0, **options):
    """The key-driven route: draw `(t, z, probes)`, then the same compiled function as `loss_terms_at`."""
    return compiled(*_prepare(owner, key, sde, score_fn, x0, **options))


def _unused_target(x, t):
    """The Fisher target is not read by `loss_noise` (Fisher draws no probe); one object, so one compilation."""
    return x


def loss_noise(
    key: Key,
    sde: AbstractAffineSDE,
    x0: Batch,
    *,
    objective: str | AbstractObjective = "dsm",
    eps: ScalarLike = 1e-5,
    time_sampling: str | AbstractTimeSampler = "uniform",
    t: ScalarLike | Array | None = None,
    divergence: str | AbstractDivergence = "exact",
    probe: str = "rademacher",
) -> tuple[Array, Batch, Batch | None]:
    r"""The draws `(t, z, probes)` of `loss_terms(key, ...)`: times `(n,)`, noises `(n, d)` and probes `(n, d)`
    (`None` unless the objective reads one), so that
    `loss_terms(key, ...) == loss_terms_at(..., *loss_noise(key, ...))`.

    `key_t, key_z, key_v = jax.random.split(key, 3)`; `t = sample_times(key_t, n, T, eps=eps, method=time_sampling)`
    unless `t` is given; `z = jax.random.normal(key_z, x0.shape)`; probe `i` drawn by the objective
    (`sr.sample_probe(k_i, (d,), probe)`) from `k_i = jax.random.split(key_v, n)[i]`. Options as `loss_terms`.
    """
    owner = "loss_noise"
    objective = as_objective(objective, owner, divergence=divergence, probe=probe, target_score_fn=_unused_target)
    _, _, _, t, z, probes, _, _ = _prepare(
        owner, key, sde, None, x0, objective=objective, weighting="uniform", eps=eps, time_sampling=time_sampling, t=t
    )
    return t, z, probes


def loss_terms(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    objective: str | AbstractObjective = "dsm",
    weighting: str | AbstractWeighting = "sigma2",
    eps: ScalarLike = 1e-5,
    time_sampling: str | AbstractTimeSampler = "uniform",
    t: ScalarLike | Array | None = None,
    divergence: str | AbstractDivergence = "exact",
    probe: str = "rademacher",
    target_score_fn: ScoreFn | None = None,
) -> Array:
    r"""The per-example terms $\lambda(t_i)\,\ell(x_0^{(i)}, t_i, z_i)$, shape `(n,)`; their mean is the loss.

    **Arguments:**

    - `key`: one key; the times, the noises $z$ and the probes come from independent splits of it.
    - `sde`: an affine SDE (exact kernel); `score_fn(x, t)` acts on one example `x` of shape `(d,)`
      (an `eqx.Module` such as `sr.exact_score`, or the same function object each call, compiles once).
    - `x0`: data batch `(n, d)`.
    - `objective`: `DSM()`, `ISM(divergence)`, `SlicedScoreMatching(probe)`, `Fisher(target_score_fn)`, or
      the strings `"dsm"`, `"ism"`, `"sliced"`, `"fisher"` (built from `divergence`, `probe`, `target_score_fn`).
    - `weighting`: `SigmaSquaredWeighting()`, `LikelihoodWeighting()`, `UnitWeighting()` or `"sigma2"`,
      `"g2"`, `"uniform"`.
    - `eps`, `time_sampling`: $t_i$ drawn on $[\epsilon, T]$ by `UniformTimes()` / `"uniform"` or
      `StratifiedTimes()` / `"stratified"` (`sample_times`).
    - `t`: fixed times instead (a scalar or shape `(n,)`); then `eps` and `time_sampling` are unused.
    - `divergence` (string ISM): `"exact"` (Jacobian trace), `"hutchinson"` (one probe per example) or an
      estimator (`ExactDivergence()`, `Hutchinson(probe)`).
    - `probe` (string Hutchinson ISM, sliced): `"gaussian"` or `"rademacher"`.
    - `target_score_fn` (string Fisher): the exact score $\nabla\log p_t(x)$ as `(x, t) -> (d,)`.

    Use `mean_and_stderr(terms, method=time_sampling)` for the estimate and its standard error.
    """
    owner = "loss_terms"
    objective = as_objective(objective, owner, divergence=divergence, probe=probe, target_score_fn=target_score_fn)
    return _key_driven(
        owner, _compiled_terms_at, key, sde, score_fn, x0,
        objective=objective, weighting=weighting, eps=eps, time_sampling=time_sampling, t=t,
    )


def loss_terms_at(
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    t: ScalarLike | Array,
    z: Batch,
    probes: Batch | None = None,
    *,
    objective: str | AbstractObjective = "dsm",
    weighting: str | AbstractWeighting = "sigma2",
    divergence: str | AbstractDivergence = "exact",
    probe: str = "rademacher",
    target_score_fn: ScoreFn | None = None,
) -> Array:
    r"""The terms of `loss_terms` at given times `t` (scalar or `(n,)`), noises `z` `(n, d)` and, for ISM with
    Hutchinson's estimator and sliced score matching, probes `probes` `(n, d)` (one per example); no key.

    `loss_terms(key, ...)` equals `loss_terms_at(..., t, z, probes)` with `key_t, key_z, key_v =
    jax.random.split(key, 3)`, `z = jax.random.normal(key_z, x0.shape)` and probe `i` drawn by the objective
    from `jax.random.split(key_v, n)[i]`. Options as `loss_terms`.
    """
    owner = "loss_terms_at"
    objective = as_objective(objective, owner, divergence=divergence, probe=probe, target_score_fn=target_score_fn)
    weighting = as_weighting(weighting, owner)
    x0 = _check_batch(x0, owner, sde, score_fn)
    z = jnp.asarray(z)
    if z.shape != x0.shape:
        raise ValueError(f"{owner}: z must have the shape of x0 {x0.shape}; got shape {z.shape}")
    if objective.uses_probe != (probes is not None) or (probes is not None and jnp.shape(probes) != x0.shape):
        expected = f"probes of shape {x0.shape}" if objective.uses_probe else "no probes (probes=None)"
        got = None if probes is None else f"shape {jnp.shape(probes)}"
        raise ValueError(f"{owner}: {type(objective).__name__} takes {expected}; got {got}")
    t = jnp.broadcast_to(_check_times(t, x0, sde, owner), x0.shape[:1])
    sde, score_fn, objective = floats_as_arrays((sde, score_fn, objective))
    return _compiled_terms_at(sde, score_fn, x0, t, z, probes, objective, weighting)


def dsm_loss(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    weighting: str | AbstractWeighting = "sigma2",
    eps: ScalarLike = 1e-5,
    time_sampling: str | AbstractTimeSampler = "uniform",
) -> Scalar:
    r"""Denoising score matching,
    $E_t \lambda(t) E_{x_0} E_{x_t|x_0}\|s_\theta(x_t, t) - \nabla\log p_{0t}(x_t|x_0)\|^2$.

    000_cce368350850b628.txt §2.2 eq (5) and the objective below it; 001_cbf75b2ce1966cfb.txt
    "Denoising Score matching". The Monte-Carlo mean over the batch `x0` (n, d) of `loss_terms` with `DSM()`.
    """
    return _key_driven(
        "dsm_loss", _compiled_mean_at, key, sde, score_fn, x0,
        objective=as_objective("dsm", "dsm_loss"), weighting=weighting, eps=eps, time_sampling=time_sampling, t=None,
    )


def ism_loss(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    weighting: str | AbstractWeighting = "sigma2",
    eps: ScalarLike = 1e-5,
    divergence: str | AbstractDivergence = "exact",
    probe: str = "rademacher",
    time_sampling: str | AbstractTimeSampler = "uniform",
) -> Scalar:
    r"""Implicit score matching,
    $E_t \lambda(t) E_{x_t \sim p_t}[\|s_\theta(x_t, t)\|^2 + 2\nabla\cdot s_\theta(x_t, t)]$.

    000_cce368350850b628.txt §2.2 eq (3); twice the $E[\tfrac12\|s\|^2 + \mathrm{div}\, s]$ of
    001_cbf75b2ce1966cfb.txt "Implicit Score matching", so that ISM − Fisher is a constant.
    `divergence`: `"exact"`, `"hutchinson"` (with `probe` `"gaussian"` or `"rademacher"`) or an estimator
    (`ExactDivergence()`, `Hutchinson(probe)`): the objective `ISM(divergence)`.
    """
    owner = "ism_loss"
    return _key_driven(
        owner, _compiled_mean_at, key, sde, score_fn, x0,
        objective=as_objective("ism", owner, divergence=divergence, probe=probe),
        weighting=weighting, eps=eps, time_sampling=time_sampling, t=None,
    )


def sliced_score_matching_loss(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    weighting: str | AbstractWeighting = "sigma2",
    eps: ScalarLike = 1e-5,
    probe: str = "gaussian",
    time_sampling: str | AbstractTimeSampler = "uniform",
) -> Scalar:
    r"""Sliced score matching, $E_t \lambda(t) E_{x_t, v}[(v^\top s_\theta)^2 + 2 v^\top \partial_x s_\theta\, v]$.

    Song, Garg, Shi & Ermon (2019), cited by 004_77456edc02bb59d5.txt §1.2; twice their
    objective. Its expectation over $v$ is the ISM integrand, so it equals `ism_loss` in expectation.
    The objective `SlicedScoreMatching(probe)`.
    """
    owner = "sliced_score_matching_loss"
    return _key_driven(
        owner, _compiled_mean_at, key, sde, score_fn, x0,
        objective=as_objective("sliced", owner, probe=probe),
        weighting=weighting, eps=eps, time_sampling=time_sampling, t=None,
    )


def fisher_loss(
    key: Key,
    sde: AbstractAffineSDE,
    score_fn: ScoreFn,
    x0: Batch,
    *,
    target_score_fn: ScoreFn,
    weighting: str | AbstractWeighting = "sigma2",
    eps: ScalarLike = 1e-5,
    time_sampling: str | AbstractTimeSampler = "uniform",
) -> Scalar:
    r"""The weighted Fisher divergence $E_t \lambda(t) E_{x_t \sim p_t}\|s_\theta(x_t, t) - \nabla\log p_t(x_t)\|^2$.

    000_cce368350850b628.txt §2.2 (the "intractable" loss), 002_686d39656702d14a.txt
    "Estimating the reverse SDE with score-based models". `target_score_fn(x, t)` is the exact
    score, e.g. `sr.exact_score(sde, dist)`: the objective `Fisher(target_score_fn)`.
    """
    return _key_driven(
        "fisher_loss", _compiled_mean_at, key, sde, score_fn, x0,
        objective=Fisher(target_score_fn),
        weighting=weighting, eps=eps, time_sampling=time_sampling, t=None,
    )
