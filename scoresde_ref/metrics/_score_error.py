r"""The error of a learned score against the exact one, for data whose $p_t$ is known in closed form (Gaussians,
Gaussian mixtures: `scoresde_ref.distributions.marginal`, `exact_score`); derivations/score_error.md.

- the time profile $e(t) = E_{x \sim p_t}\|s_\theta(x, t) - \nabla\log p_t(x)\|^2$ on a grid, with its standard error,
  beside the per-$t$ DSM loss $\ell(t) = E\|s_\theta(x_t, t) + z/s(t)\|^2$ and the same loss of the exact score
  $\ell^*(t)$: $\ell(t) - \ell^*(t) = e(t)$ (the DSM–Fisher constant cancels), a second route to $e(t)$;
- its weighted integral $\tfrac12\int\lambda(t)e(t)\,dt$ (trapezoid on the grid); with $\lambda = g^2$ it bounds
  $\mathrm{KL}(p_0\,\|\,p_\theta^{\mathrm{SDE}})$ up to $\mathrm{KL}(p_T\,\|\,\pi)$ (reported too, by Monte Carlo)
  and the part of the integral below the grid's first time;
- the probability-flow NLL of fresh points against the exact cross-entropy (same points, paired);
- samples of the learned probability-flow ODE against the exact $p_\epsilon$: 1-D KS, sliced $W_1$ and its noise
  floor, mode weights (`_two_sample.py`).
"""

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Key, ScoreFn
from .._progress import ProgressBar
from .._validation import check_integer
from ..distributions._base import AbstractDistribution, gaussian_components
from ..distributions._marginal import marginal
from ..likelihood._log_likelihood import log_likelihood
from ..losses._weighting import AbstractWeighting, as_weighting
from ..samplers._ode import ode_sample
from ..sde._base import AbstractAffineSDE
from ._two_sample import ks_test, mode_weights, sliced_w1, sliced_w1_noise_floor

OWNER = "score_error"


class ScoreErrorProfile(NamedTuple):
    r"""Per time `times` `(m,)`: `error` $e(t)$ and `error_stderr`; `dsm_loss` $\ell(t)$, `dsm_loss_exact` $\ell^*(t)$
    (same draws) and `dsm_excess` $\ell - \ell^*$ with `dsm_excess_stderr` (paired)."""

    times: np.ndarray
    error: np.ndarray
    error_stderr: np.ndarray
    dsm_loss: np.ndarray
    dsm_loss_exact: np.ndarray
    dsm_excess: np.ndarray
    dsm_excess_stderr: np.ndarray


@eqx.filter_jit
def _profile(sde, data, score_fn, times, key, n):
    def at(j, t):
        key_x, key_0, key_z = jax.random.split(jax.random.fold_in(key, j), 3)
        p_t = marginal(sde, data, t)
        x = p_t.sample(key_x, n)
        err = jnp.sum((jax.vmap(score_fn, (0, None))(x, t) - jax.vmap(p_t.score)(x)) ** 2, axis=1)
        x0 = data.sample(key_0, n)
        z = jax.random.normal(key_z, x0.shape, dtype=x0.dtype)
        std = sde.kernel(t)[1]
        x_t = jax.vmap(sde.kernel_mean, (0, None))(x0, t) + std * z
        loss = jnp.sum((jax.vmap(score_fn, (0, None))(x_t, t) + z / std) ** 2, axis=1)
        loss_exact = jnp.sum((jax.vmap(p_t.score)(x_t) + z / std) ** 2, axis=1)
        root_n = jnp.sqrt(jnp.asarray(n, x0.dtype))
        excess = loss - loss_exact
        return (
            jnp.mean(err),
            jnp.std(err, ddof=1) / root_n,
            jnp.mean(loss),
            jnp.mean(loss_exact),
            jnp.mean(excess),
            jnp.std(excess, ddof=1) / root_n,
        )

    return jax.vmap(at)(jnp.arange(times.shape[0]), times)


def score_error_profile(
    key: Key, sde: AbstractAffineSDE, data: AbstractDistribution, score_fn: ScoreFn, times, *, n: int = 4096
) -> ScoreErrorProfile:
    r"""$e(t)$ by `n` exact draws $x \sim p_t$ at each time of `times`, and the per-$t$ DSM losses (`n` draws
    $x_0 \sim p_0$, $z$); time $j$ uses `fold_in(key, j)`. Compiled once per shapes (`eqx.filter_jit`)."""
    times = jnp.asarray(times, dtype=jnp.result_type(float))
    if times.ndim != 1 or times.shape[0] < 1 or not bool(jnp.all((times > 0) & (times <= sde.T))):
        raise ValueError(f"{OWNER}: times must be a 1-D array in (0, T = {float(sde.T):g}]; got {times}")
    n = check_integer(n, "n (n_per_time)", OWNER, minimum=2)  # >= 2: a standard error
    out = _profile(sde, data, score_fn, times, key, n)
    return ScoreErrorProfile(np.asarray(times), *(np.asarray(v) for v in out))


def trapezoid_weights(times) -> np.ndarray:
    """Weights $w_i$ of the trapezoid rule on the (increasing) grid `times`: $\\int f \\approx \\sum_i w_i f(t_i)$."""
    t = np.asarray(times, np.float64)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError(f"trapezoid_weights: times must be increasing, at least two; got {t}")
    w = np.zeros_like(t)
    w[:-1] += np.diff(t) / 2
    w[1:] += np.diff(t) / 2
    return w


class ScoreErrorReport(NamedTuple):
    r"""Everything `score_error` measures (NumPy values; `None` for what was not asked or does not apply).

    - `profile`: the `ScoreErrorProfile`; `weighting`: the name of $\lambda$;
    - `weighted_error`, `weighted_error_stderr`: $\tfrac12\int_{t_1}^{t_m}\lambda e\,dt$ (trapezoid) and its standard
      error (independent times); `kl_prior`, `kl_prior_stderr`: $\mathrm{KL}(p_T\,\|\,\pi)$ by Monte Carlo;
    - `nll_model`, `nll_exact`: mean $-\log p_\epsilon$ of `n_nll` fresh points by the PF ODE of the model (prior the
      SDE's) and exactly; `nll_gap` $=$ their difference, `nll_gap_stderr` (paired), `nll_eps`;
    - `ks_statistic`, `ks_pvalue` (1-D only), `sliced_w1`, `sliced_w1_floor`, `sliced_w1_floor_std`,
      `mode_weights`, `mode_weights_stderr`, `true_weights`: `n_samples` PF-ODE samples at `sample_eps` against
      the exact $p_{\epsilon}$; `sample_nfe`.
    """

    profile: ScoreErrorProfile
    weighting: str
    weighted_error: float
    weighted_error_stderr: float
    kl_prior: float
    kl_prior_stderr: float
    nll_model: float | None = None
    nll_exact: float | None = None
    nll_gap: float | None = None
    nll_gap_stderr: float | None = None
    nll_eps: float | None = None
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    sliced_w1: float | None = None
    sliced_w1_floor: float | None = None
    sliced_w1_floor_std: float | None = None
    mode_weights: np.ndarray | None = None
    mode_weights_stderr: np.ndarray | None = None
    true_weights: np.ndarray | None = None
    sample_nfe: int | None = None

    def to_dict(self) -> dict:
        """A JSON-able dict (arrays as lists)."""

        def plain(v):
            if isinstance(v, tuple) and hasattr(v, "_asdict"):
                return {k: plain(x) for k, x in v._asdict().items()}
            if isinstance(v, np.ndarray | jax.Array):
                return np.asarray(v).tolist()
            if isinstance(v, np.generic):
                return v.item()
            return v

        return {k: plain(v) for k, v in self._asdict().items()}


@eqx.filter_jit
def _kl_prior(sde, data, key, n):
    p_T = marginal(sde, data, sde.T)
    x = p_T.sample(key, n)
    v = jax.vmap(p_T.log_prob)(x) - jax.vmap(sde.prior_log_prob)(x)
    return jnp.mean(v), jnp.std(v, ddof=1) / jnp.sqrt(jnp.asarray(n, x.dtype))


def _nll(sde, score_fn, data, x, eps, rtol, atol):
    log_p = jax.vmap(lambda xi: log_likelihood(sde, score_fn, xi, eps=eps, rtol=rtol, atol=atol)[0])(x)
    log_p_exact = jax.vmap(marginal(sde, data, eps).log_prob)(x)
    diff = np.asarray(log_p_exact - log_p)
    return (
        float(-jnp.mean(log_p)),
        float(-jnp.mean(log_p_exact)),
        float(diff.mean()),
        float(diff.std(ddof=1) / np.sqrt(diff.size)),
    )


def score_error(
    key: Key,
    sde: AbstractAffineSDE,
    data: AbstractDistribution,
    score_fn: ScoreFn,
    *,
    times=None,
    n_per_time: int = 4096,
    weighting: str | AbstractWeighting = "g2",
    n_nll: int = 10_000,
    nll_eps: float = 1e-5,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    n_samples: int = 10_000,
    sample_eps: float = 1e-3,
    n_projections: int = 64,
    progress: bool | None = None,
) -> ScoreErrorReport:
    r"""Measure a learned score `score_fn(x, t)` against the exact score of `sde` started from `data` (a Gaussian
    or Gaussian mixture).

    **Arguments:** `key` (the four parts use `split(key, 4)`); `times` (default 24 log-spaced in $[10^{-3}, T]$) and
    `n_per_time` draws for $e(t)$; `weighting` $\lambda$ (`"g2"`: the KL bound; `"sigma2"`, `"uniform"`, an object);
    `n_nll` fresh points for the NLL at `nll_eps` with tolerances `rtol`, `atol` (0: skipped); `n_samples`
    PF-ODE samples to `sample_eps` (0: skipped), compared with `n_projections` directions.

    **Returns** a `ScoreErrorReport`.
    """
    weighting = as_weighting(weighting, OWNER)
    if times is None:
        times = np.geomspace(1e-3, float(sde.T), 24)
    key_e, key_kl, key_nll, key_s = jax.random.split(key, 4)
    bar = ProgressBar(4, OWNER, enabled=progress, min_interval=0.0, unit="parts")
    with bar:
        profile = score_error_profile(key_e, sde, data, score_fn, times, n=n_per_time)
        lam = np.asarray(jax.vmap(lambda t: weighting(sde, t))(jnp.asarray(profile.times)))
        w = 0.5 * trapezoid_weights(profile.times) * lam
        weighted = float(w @ profile.error)
        weighted_se = float(np.sqrt(np.sum((w * profile.error_stderr) ** 2)))
        kl, kl_se = (float(v) for v in _kl_prior(sde, data, key_kl, int(n_per_time)))
        bar.update(1, part="e(t)")
        fields = {}
        if n_nll:
            x = data.sample(key_nll, int(n_nll))
            nll_model, nll_exact, gap, gap_se = _nll(sde, score_fn, data, x, nll_eps, rtol, atol)
            fields.update(
                nll_model=nll_model, nll_exact=nll_exact, nll_gap=gap, nll_gap_stderr=gap_se, nll_eps=float(nll_eps)
            )
        bar.update(1, part="nll")
        if n_samples:
            k_T, k_ref, k_floor, k_proj = jax.random.split(key_s, 4)
            d = data.dim
            x_T = sde.prior_sample(k_T, (int(n_samples), d), dtype=jnp.result_type(float))
            samples, nfe = ode_sample(sde, score_fn, x_T, eps=sample_eps, rtol=rtol, atol=atol)
            truth = marginal(sde, data, sample_eps)
            reference = truth.sample(k_ref, int(n_samples))
            floor, floor_std = sliced_w1_noise_floor(
                k_floor, truth, int(n_samples), int(n_samples), n_projections=n_projections
            )
            weights, weights_se = mode_weights(samples, data)
            fields.update(
                sliced_w1=sliced_w1(k_proj, samples, reference, n_projections),
                sliced_w1_floor=floor,
                sliced_w1_floor_std=floor_std,
                mode_weights=weights,
                mode_weights_stderr=weights_se,
                true_weights=np.asarray(gaussian_components(data).weights),
                sample_nfe=int(nfe),
            )
            if d == 1:
                fields["ks_statistic"], fields["ks_pvalue"] = ks_test(samples, truth)
        bar.update(2, part="samples")
    return ScoreErrorReport(profile, type(weighting).__name__, weighted, weighted_se, kl, kl_se, **fields)


def plot_score_error(report: ScoreErrorReport, path=None, *, title: str | None = None):
    r"""The figure: $e(t)$ with a ±2 SE band on log–log axes, the per-$t$ DSM excess $\ell - \ell^*$ (a second
    route to $e$), and on a second axis the per-$t$ DSM loss $\ell(t)$. Saved to `path` if given (Agg backend);
    returns the matplotlib `Figure`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = report.profile
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.loglog(p.times, p.error, "o-", ms=3, label=r"$e(t) = E_{p_t}\|s_\theta - \nabla\log p_t\|^2$")
    ax.fill_between(p.times, np.maximum(p.error - 2 * p.error_stderr, 1e-300), p.error + 2 * p.error_stderr, alpha=0.3)
    excess = np.where(p.dsm_excess > 0, p.dsm_excess, np.nan)
    ax.loglog(p.times, excess, "--", label=r"per-$t$ DSM loss $-$ its exact minimum")
    ax.set_xlabel("t")
    ax.set_ylabel("squared score error")
    ax2 = ax.twinx()
    ax2.loglog(p.times, p.dsm_loss, ":", color="gray", label=r"per-$t$ DSM loss $\ell(t)$")
    ax2.set_ylabel(r"DSM loss $\ell(t)$", color="gray")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="upper right")
    text = f"½∫λe dt = {report.weighted_error:.4g} ± {report.weighted_error_stderr:.2g} ({report.weighting})"
    if report.nll_gap is not None:
        text += f"\nNLL gap = {report.nll_gap:.4f} ± {report.nll_gap_stderr:.4f} nats"
    ax.set_title(title or "learned score against the exact score", fontsize=10)
    ax.text(0.02, 0.03, text, transform=ax.transAxes, fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
