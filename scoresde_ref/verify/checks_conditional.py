"""Checks of controllable generation (derivations/conditional.md): Bayes' rule for scores with the
exact class posterior and with a linear observation, imputation on Gaussian data by the exact route
and by the replacement method (its law, its limit and its measured bias), and a trained
time-dependent classifier with guidance."""

import functools
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import scoresde_ref as sr
from scoresde_ref.examples import documents_gmm_1d

from ._registry import CheckResult, register, register_figure, save_figure

EXACT = 1e-12  # float64 rounding (verify runs in float64)
SDE = sr.VPSDE()
RHO, Y_KNOWN, MASK = 0.8, 1.5, np.array([True, False])


def _bivariate():
    return sr.Gaussian(jnp.zeros(2), jnp.array([[1.0, RHO], [RHO, 1.0]]))


def _data():
    """½N(−3, ¼) + ½N(3, 1) (000 §5.1) labelled by component (built at call time)."""
    return sr.LabelledMixture(documents_gmm_1d())


def _unconditional(sde, dist):
    return lambda x, t: sr.marginal(sde, dist, t).score(x)


@register("exact_class_score_equals_component_score", group="conditional")
def _():
    data = _data()

    @eqx.filter_jit
    def error(x, t, y):
        cond = sr.conditional_score(_unconditional(SDE, data.mixture), sr.class_log_likelihood(SDE, data, y))(x, t)
        target = sr.marginal(SDE, data.conditional(y), t).score(x)
        return jnp.max(jnp.abs(cond - target)) / (1 + jnp.max(jnp.abs(target)))

    grid = [(x, t, y) for x in (-6.0, -1.0, 0.5, 4.0) for t in (1e-3, 0.1, 0.5, 1.0) for y in (0, 1)]
    err = max(float(error(jnp.array([x]), jnp.asarray(t), jnp.asarray(y))) for x, t, y in grid)
    return CheckResult(err, EXACT, note="score + ∇log p_t(y|x) vs the class-y marginal score, ½N(−3,¼)+½N(3,1), VP, 32 points")


@register("linear_inverse_bayes_vs_posterior_score", group="conditional")
def _():
    dist = sr.Gaussian(jnp.array([0.5, -1.0, 0.2]), jnp.array([[1.0, 0.3, 0.1], [0.3, 0.5, -0.2], [0.1, -0.2, 0.8]]))
    obs = sr.LinearObservation(jnp.array([[1.0, 0.3, 0.0], [-0.5, 0.8, 1.0]]), jnp.array([0.4, -0.7]), 0.3)

    @eqx.filter_jit
    def error(x, t):
        bayes = sr.conditional_score(_unconditional(SDE, dist), sr.LinearInverseLogLikelihood(SDE, dist, obs))(x, t)
        post = sr.LinearInverseScore(SDE, dist, obs)(x, t)
        return jnp.max(jnp.abs(bayes - post)) / (1 + jnp.max(jnp.abs(post)))

    err = max(float(error(jnp.array([u, -u, 0.5 * u]), jnp.asarray(t))) for u in (-2.0, 0.3, 3.0) for t in (0.01, 0.3, 1.0))
    tol = 1e-9
    return CheckResult(err, tol, note="∇log p_t(x) + ∇log p_t(y|x) (autodiff) vs the pushed-forward posterior's score; Cov(x0|x_t) cancels at small t")


def _exact_conditional(sde, eps):
    return sr.marginal(sde, sr.Gaussian(jnp.array([RHO * Y_KNOWN]), jnp.array([[1 - RHO**2]])), eps)


@register("imputation_exact_route_law", group="conditional")
def _():
    sde, eps, n = SDE, 1e-2, 1000
    cond = sr.Gaussian(jnp.array([RHO * Y_KNOWN]), jnp.array([[1 - RHO**2]]))
    law = sr.pc_sampler_law(sde, cond, n_steps=n, eps=eps, start="exact")
    target = _exact_conditional(sde, eps)
    err = float(jnp.abs(law.mean - target.mean)[0] + jnp.abs(law.cov - target.cov)[0, 0])
    return CheckResult(err, 5e-3, note="EM law of the unknown coordinate (exact posterior score) vs the conditional Gaussian, N = 1000: weak error O(1/N), measured ≈ 1/N")


@functools.cache
def _replacement():
    """(limit law, closed-form limit, exact conditional, sampler law at N = 2000) for VE (0.01, 50)."""
    sde, eps, y = sr.VESDE(0.01, 50.0), 1e-3, jnp.array([Y_KNOWN, 0.0])
    limit = sr.replacement_limit_law(sde, _bivariate(), y, MASK, eps=eps)
    (_, s_T), (_, s_eps) = sde.kernel(sde.T), sde.kernel(eps)
    V, V_T, G_T = 1 + s_eps**2, 1 + s_T**2, sde.prior_std**2
    mean = Y_KNOWN * V / RHO - Y_KNOWN * V_T / RHO * jnp.sqrt((V**2 - RHO**2) / (V_T**2 - RHO**2))
    var = (V**2 - RHO**2) * (G_T / (V_T**2 - RHO**2) + (jnp.arctanh(RHO / V) - jnp.arctanh(RHO / V_T)) / RHO)
    law = eqx.filter_jit(sr.impute_sampler_law)(sde, _bivariate(), y, MASK, n_steps=2000, eps=eps, denoise=False)
    return limit, (float(mean), float(var)), _exact_conditional(sde, eps), law


@register("replacement_limit_closed_form", group="conditional")
def _():
    limit, (mean, var), _, _ = _replacement()
    err = abs(float(limit.mean[0]) - mean) / abs(mean) + abs(float(limit.cov[0, 0]) - var) / var
    return CheckResult(err, 1e-8, note="ODE route (Dopri8, rtol 1e-10) vs the VE closed form of conditional.md §6, ρ = 0.8, y = 1.5")


@register("replacement_sampler_to_limit", group="conditional")
def _():
    limit, _, _, (mean, cov) = _replacement()
    err = float(jnp.abs(mean[1] - limit.mean[0]) + jnp.abs(cov[1, 1] - limit.cov[0, 0]))
    return CheckResult(err, 1e-3, note="exact law of the replacement sampler (EM, VE, N = 2000) vs its N → ∞ limit: order 1, ≈ 1/N")


@register("replacement_bias_measured", group="conditional")
def _():
    limit, _, exact, _ = _replacement()
    bias_mean = float(exact.mean[0] - limit.mean[0])
    bias_var = float(limit.cov[0, 0] - exact.cov[0, 0])
    note = (
        f"E[x_U|y]: exact {float(exact.mean[0]):.4f}, replacement {float(limit.mean[0]):.4f} (bias −{bias_mean:.4f}); "
        f"Var: exact {float(exact.cov[0, 0]):.4f}, replacement {float(limit.cov[0, 0]):.4f} (+{bias_var:.4f}); must be ≥ 0.1: the method is biased"
    )
    return CheckResult(min(bias_mean, 10 * bias_var), 0.1, ">=", note=note)


@functools.cache
def _classifier():
    """The trained classifier of tests/test_classifier.py (same keys; ≈ 2 s on 2 CPU cores)."""
    x0, y0 = eqx.filter_jit(_data().sample)(jax.random.key(0), 5000)
    model = sr.TimeClassifier(jax.random.key(1), 1, 2)
    return sr.train_classifier(jax.random.key(2), model, SDE, x0, y0, n_steps=2000, batch_size=256)[0]


@eqx.filter_jit
def _guided(model, data, y, scale, key, n=2000):
    score = sr.conditional_score(_unconditional(SDE, data.mixture), sr.classifier_log_likelihood(model, y), scale)
    x_T = SDE.prior_sample(jax.random.fold_in(key, 0), (n, 1))
    xs, _ = sr.pc_sample(jax.random.fold_in(key, 1), SDE, score, x_T, n_steps=500)
    return xs, jnp.argmax(jax.vmap(sr.class_log_posterior, (None, None, 0, None))(SDE, data, xs, 1e-3), -1)


@register("classifier_vs_bayes_tv", group="conditional")
def _():
    r = sr.classifier_vs_bayes(_classifier(), SDE, _data(), jax.random.key(3), jnp.linspace(1e-3, 1.0, 11), 4000)
    return CheckResult(
        float(jnp.max(r["tv"])), 0.05, note="max over 11 t of mean |p̂_t − p_t| (trains a classifier, ≈ 2 s; a t-blind one gives ≥ 0.2)"
    )


@register("classifier_guided_accuracy", group="conditional")
def _():
    model, data = _classifier(), _data()
    acc = min(float(jnp.mean(_guided(model, data, jnp.asarray(y), jnp.asarray(1.0), jax.random.key(10 + y))[1] == y)) for y in (0, 1))
    return CheckResult(acc, 0.98, ">=", note="min over y of the fraction of 2,000 guided samples with Bayes label y (unguided: 0.5)")


@register_figure("conditional_guidance")
def _(out_dir: pathlib.Path) -> pathlib.Path:
    import matplotlib.pyplot as plt

    model, data = _classifier(), _data()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    grid = np.linspace(-6, 7, 400)
    p_eps = sr.marginal(SDE, data.mixture, 1e-3)
    for y, colour in [(0, "C0"), (1, "C1")]:
        xs, _ = _guided(model, data, jnp.asarray(y), jnp.asarray(1.0), jax.random.key(10 + y))
        ax1.hist(np.asarray(xs[:, 0]), bins=80, density=True, alpha=0.45, color=colour, label=f"guided, y = {y}")
        density = jax.vmap(sr.marginal(SDE, data.conditional(y), 1e-3).log_prob)(jnp.asarray(grid)[:, None])
        ax1.plot(grid, np.exp(np.asarray(density)), color=colour, lw=1.5, label=f"exact p(x | y = {y})")
    xs, _ = _guided(model, data, jnp.asarray(0), jnp.asarray(0.0), jax.random.key(20))
    ax1.hist(np.asarray(xs[:, 0]), bins=80, density=True, histtype="step", color="k", label="unguided")
    ax1.plot(grid, np.exp(np.asarray(jax.vmap(p_eps.log_prob)(jnp.asarray(grid)[:, None]))), "k:", lw=1, label="exact p(x)")
    ax1.set(xlabel="x", ylabel="density", title="classifier guidance, ½N(−3, ¼) + ½N(3, 1), VP")
    ax1.legend(fontsize=7)
    times = jnp.linspace(1e-3, 1.0, 21)
    r = sr.classifier_vs_bayes(model, SDE, data, jax.random.key(3), times, 4000)
    ax2.plot(times, r["tv"], "o-", label="mean |p̂_t(y|x) − p_t(y|x)|")
    ax2.plot(times, 1 - r["agreement"], "s-", label="1 − argmax agreement")
    ax2.plot(times, 1 - r["bayes_accuracy"], "k--", label="1 − Bayes accuracy")
    ax2.set(xlabel="t", ylabel="error", title="trained classifier vs exact posterior", yscale="log")
    ax2.legend(fontsize=7)
    return save_figure(fig, out_dir, "conditional_guidance.png")
