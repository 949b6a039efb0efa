"""Monte-Carlo score-matching losses: options and validation, agreement with the exact
closed forms within stated error bars, time sampling and its standard error, compile-once,
the ε- and x0-parameterisations, and the discrete NCSN and DDPM losses."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scoresde_ref as sr
from helpers import N_SE
from scoresde_ref.examples import gaussian_2d, gmm_2d, sde_zoo

A = jnp.array([[-0.8, 0.3], [0.1, -1.4]])
B = jnp.array([0.4, -0.2])
MODEL = sr.AffineScore(A, B)
Z5 = N_SE  # 5 standard errors: two-sided false-failure probability 5.7e-7 per comparison


def _true_score(sde, dist):
    return lambda x, t: sr.marginal(sde, dist, t).score(x)


def _terms(key, sde, score_fn, x0, objective, weighting, time_sampling, t, divergence, probe, target):
    return sr.loss_terms(
        key, sde, score_fn, x0, objective=objective, weighting=weighting, eps=1e-3, time_sampling=time_sampling,
        t=t, divergence=divergence, probe=probe, target_score_fn=target,
    )


def test_weightings():
    """λ(t): "sigma2" = kernel variance 1 − e^{−B(t)} (VP), "g2" = β(t), "uniform" = 1; a bad name
    raises ValueError listing the allowed names. Planted bug caught: "sigma2" returning the std."""
    sde, t = sr.VPSDE(0.1, 20.0), 0.4
    B_t = 0.1 * t + 0.5 * 19.9 * t**2
    np.testing.assert_allclose(sr.loss_weight(sde, t, "sigma2"), -np.expm1(-B_t), rtol=1e-14)
    np.testing.assert_allclose(sr.loss_weight(sde, t, "g2"), 0.1 + 19.9 * t, rtol=1e-14)
    assert float(sr.loss_weight(sde, t, "uniform")) == 1.0
    with pytest.raises(ValueError, match="sigma2.*g2.*uniform"):
        sr.loss_weight(sde, t, "likelihood")


def test_options_are_validated(getkey):
    """Every option name is checked and the error lists the allowed names; shapes and eps too."""
    sde, x0 = sr.VPSDE(), jnp.zeros((4, 2))
    cases = [
        (lambda: sr.dsm_loss(getkey(), sde, MODEL, x0, weighting="lambda"), "weighting must be one of"),
        (lambda: sr.ism_loss(getkey(), sde, MODEL, x0, divergence="skilling"), "divergence must be one of"),
        (lambda: sr.ism_loss(getkey(), sde, MODEL, x0, divergence="hutchinson", probe="uniform"), "rademacher"),
        (lambda: sr.dsm_loss(getkey(), sde, MODEL, x0, time_sampling="sobol"), "stratified"),
        (lambda: sr.loss_terms(getkey(), sde, MODEL, x0, objective="nce"), "objective must be one of"),
        (lambda: sr.loss_terms(getkey(), sde, MODEL, x0, objective="fisher"), "target_score_fn"),
        (lambda: sr.dsm_loss(getkey(), sde, MODEL, x0[0]), r"shape \(n, d\)"),
        (lambda: sr.dsm_loss(getkey(), sde, MODEL, x0, eps=0.0), "eps"),
        (lambda: sr.mean_and_stderr(jnp.ones(5), method="stratified"), "even"),
        (lambda: sr.ncsn_loss(getkey(), MODEL, x0, jnp.array([0.1, -1.0])), "sigmas must be > 0"),
        (lambda: sr.ddpm_loss(getkey(), MODEL, x0, jnp.array([0.5, 1.0])), r"\(0, 1\)"),
    ]
    for fn, message in cases:
        with pytest.raises(ValueError, match=message):
            fn()


def _exact_fixed_t(objective, sde, dist, t):
    p_t = sr.marginal(sde, dist, t)
    if objective == "dsm":
        return sr.dsm_affine(sde, dist, t, A, B)
    if objective in ("ism", "sliced"):
        return sr.ism_affine(p_t, A, B)
    if isinstance(dist, sr.Gaussian):
        return sr.fisher_affine(p_t, A, B)
    return sr.gauss_hermite_expectation(lambda x: jnp.sum((A @ x + B - p_t.score(x)) ** 2), p_t, 60)


VARIANTS = [
    ("dsm", "exact", "gaussian"),
    ("ism", "exact", "gaussian"),
    ("ism", "hutchinson", "rademacher"),
    ("ism", "hutchinson", "gaussian"),
    ("sliced", "exact", "gaussian"),
    ("sliced", "exact", "rademacher"),
    ("fisher", "exact", "gaussian"),
]
CASES = [("VP", make, *v) for make in (gaussian_2d, gmm_2d) for v in VARIANTS] + [
    ("VE", gmm_2d, *v) for v in VARIANTS[:3]
]


@pytest.mark.parametrize("sde_name,make_dist,objective,divergence,probe", CASES)
def test_monte_carlo_matches_closed_form(sde_name, make_dist, objective, divergence, probe, getkey):
    """At fixed t = 0.3 T, each estimator (n = 20,000) agrees with the exact objective of the affine
    model within 5 SE (false-failure probability 5.7e-7 each; GMM Fisher by 60-node quadrature,
    error < 1e-12). Planted bugs caught: DSM target −z/s² (001 L614), ISM with one ∇·s, sliced
    term (vᵀs)² without the 2, Hutchinson probes of variance ≠ 1."""
    sde, dist = sde_zoo()[sde_name], make_dist()
    t = 0.3 * sde.T
    x0 = dist.sample(getkey(), 20_000)
    target = _true_score(sde, dist) if objective == "fisher" else None
    terms = _terms(getkey(), sde, MODEL, x0, objective, "uniform", "uniform", t, divergence, probe, target)
    mean, se = sr.mean_and_stderr(terms)
    exact = _exact_fixed_t(objective, sde, dist, t)
    assert abs(float(mean - exact)) < Z5 * float(se), (float(mean), float(exact), float(se))


def _mlp(key):
    k1, k2 = jax.random.split(key)
    W1, W2 = jax.random.normal(k1, (8, 2)), 0.3 * jax.random.normal(k2, (2, 8))
    return lambda x, t: W2 @ jnp.tanh(W1 @ x + t) - x


def test_dsm_minus_ism_for_a_network(getkey):
    """For a non-affine model (tanh MLP), DSM − ISM = d/s² at fixed t (Stein's lemma against the
    Gaussian kernel), estimated with paired samples (same key: same t, z, x_t) within 5 SE.
    Planted bug caught: ISM with divergence computed w.r.t. the wrong argument (zero), or
    DSM's target −z/s²."""
    sde, dist, t = sr.VPSDE(), gmm_2d(), 0.05
    model = _mlp(getkey())
    x0 = dist.sample(getkey(), 20_000)
    key = getkey()
    dsm = _terms(key, sde, model, x0, "dsm", "uniform", "uniform", t, "exact", "gaussian", None)
    ism = _terms(key, sde, model, x0, "ism", "uniform", "uniform", t, "exact", "gaussian", None)
    mean, se = sr.mean_and_stderr(dsm - ism)
    assert abs(float(mean - sr.dsm_ism_gap(sde, t, 2))) < Z5 * float(se)


def _time_average(sde, weighting, exact_at, n_nodes=64, eps=1e-3):
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    ts = eps + (sde.T - eps) * 0.5 * (x + 1)
    vals = jax.vmap(lambda t: sr.loss_weight(sde, t, weighting) * exact_at(t))(jnp.asarray(ts))
    return 0.5 * float(jnp.asarray(w) @ vals)  # mean over U(eps, T)


@pytest.mark.parametrize("weighting", ["sigma2", "g2", "uniform"])
@pytest.mark.parametrize("time_sampling", ["uniform", "stratified"])
def test_time_averaged_losses_match_quadrature(weighting, time_sampling, getkey):
    """dsm_loss and ism_loss with t ~ U(1e-3, 1) agree with E_t λ(t) × (closed form at t), the
    t-average by 64-node Gauss–Legendre (smooth integrand; error ≪ SE), within 5 SE reported by
    mean_and_stderr for the design used. Gaussian data, VP. False-failure probability 1.1e-6."""
    sde, dist = sr.VPSDE(), gaussian_2d()
    x0 = dist.sample(getkey(), 20_000)
    for objective, exact_at in [
        ("dsm", lambda t: sr.dsm_affine(sde, dist, t, A, B)),
        ("ism", lambda t: sr.ism_affine(sr.marginal(sde, dist, t), A, B)),
    ]:
        terms = _terms(getkey(), sde, MODEL, x0, objective, weighting, time_sampling, None, "exact", "gaussian", None)
        mean, se = sr.mean_and_stderr(terms, method=time_sampling)
        exact = _time_average(sde, weighting, exact_at)
        assert abs(float(mean) - exact) < Z5 * float(se), (objective, float(mean), exact, float(se))


def test_public_losses_are_the_means_of_their_terms(getkey):
    """dsm_loss / ism_loss / sliced_score_matching_loss / fisher_loss equal the mean of loss_terms
    with the same key and options (one code path)."""
    sde, dist = sr.VPSDE(), gaussian_2d()
    x0, key = dist.sample(getkey(), 64), getkey()
    target = _true_score(sde, dist)
    pairs = [
        (sr.dsm_loss(key, sde, MODEL, x0, weighting="g2", eps=1e-3), dict(objective="dsm", weighting="g2")),
        (sr.ism_loss(key, sde, MODEL, x0, divergence="hutchinson"), dict(objective="ism", divergence="hutchinson")),
        (sr.sliced_score_matching_loss(key, sde, MODEL, x0), dict(objective="sliced", probe="gaussian")),
        (sr.fisher_loss(key, sde, MODEL, x0, target_score_fn=target), dict(objective="fisher", target_score_fn=target)),
    ]
    for loss, options in pairs:
        eps = options.pop("eps", 1e-3 if options.get("weighting") == "g2" else 1e-5)
        np.testing.assert_allclose(loss, jnp.mean(sr.loss_terms(key, sde, MODEL, x0, eps=eps, **options)), rtol=1e-14)


def test_stratified_times_and_standard_errors(getkey):
    """Stratified times put one point in each stratum; uniform times lie in [eps, T]. Over 300
    independent replicates of dsm_loss (n = 256, VP, λ = g², whose integrand varies strongly
    with t), the reported standard error matches the empirical spread of the estimates within
    ±25% (the relative SE of a 300-sample SD is 4%, so ±25% is > 5 SE), and stratification cuts
    the spread. Planted bug caught: the paired (collapsed-strata) estimator dividing by 2n."""
    n = 256
    t = sr.sample_times(getkey(), n, 1.0, eps=1e-3, method="stratified")
    edges = 1e-3 + (1.0 - 1e-3) * jnp.arange(n + 1, dtype=float) / n
    assert jnp.all((t >= edges[:-1]) & (t < edges[1:]))
    tu = sr.sample_times(getkey(), 10_000, 2.0, eps=0.5, method="uniform")
    assert jnp.all((tu >= 0.5) & (tu <= 2.0)) and abs(float(tu.mean()) - 1.25) < Z5 * 1.5 / np.sqrt(12 * 10_000)

    sde, dist = sr.VPSDE(), gaussian_2d()

    @jax.jit(static_argnums=1)
    def replicate(key, method_is_stratified):
        k1, k2 = jax.random.split(key)
        x0 = dist.sample(k1, n)
        method = "stratified" if method_is_stratified else "uniform"
        terms = sr.loss_terms(k2, sde, MODEL, x0, weighting="g2", eps=1e-3, time_sampling=method)
        return sr.mean_and_stderr(terms, method=method)

    spreads = {}
    for stratified in (False, True):
        keys = jax.random.split(getkey(), 300)
        means, ses = jax.vmap(replicate, (0, None))(keys, stratified)
        ratio = float(jnp.std(means, ddof=1) / jnp.mean(ses))
        assert 0.75 < ratio < 1.25, (stratified, ratio)
        spreads[stratified] = float(jnp.std(means, ddof=1))
    assert spreads[True] < 0.8 * spreads[False]


def test_loss_compiles_once(getkey):
    """A jitted dsm_loss / ism_loss compiles once and serves new keys, data and SDE parameters."""
    traces = []

    @eqx.filter_jit
    def loss(key, sde, x0):
        traces.append(None)
        return sr.dsm_loss(key, sde, MODEL, x0, weighting="g2") + sr.ism_loss(key, sde, MODEL, x0)

    x0 = gaussian_2d().sample(getkey(), 32)
    loss(getkey(), sr.VPSDE(jnp.asarray(0.1), jnp.asarray(20.0)), x0)
    n = len(traces)
    loss(getkey(), sr.VPSDE(jnp.asarray(0.2), jnp.asarray(10.0)), 2 * x0)
    assert len(traces) == n


def test_parameterisations_exact(getkey):
    """ε- and x0-prediction: per sample, s²‖s_θ + z/s‖² = ‖ε̂ − z‖² = (m/s)²‖x̂0 − x0‖² for the
    converted scores (x_t = m x0 + c + s z, const-drift SDE so c ≠ 0); round trips are exact;
    and the conversions of the exact score are Tweedie's E[z|x_t] and E[x0|x_t] (sr.posterior).
    Planted bug caught: score = −ε̂/s² (001 L614), or a missing offset c(t)."""
    sde, dist, t = sde_zoo()["const_drift"], gmm_2d(), 0.4
    m, s = sde.kernel(t)
    c = sde.kernel_offset(t)
    eps_fn = lambda x, t: jnp.tanh(x) - 0.3 * x  # noqa: E731
    x0_fn = lambda x, t: 0.5 * x + jnp.sin(x)  # noqa: E731
    x0, z = dist.sample(getkey(), 50), jax.random.normal(getkey(), (50, 2))
    xt = m * x0 + c[None] + s * z
    score_eps, score_x0 = sr.score_from_eps(sde, eps_fn), sr.score_from_x0(sde, x0_fn)
    for xt_i, x0_i, z_i in zip(xt[:5], x0[:5], z[:5]):
        dsm_eps = s**2 * jnp.sum((score_eps(xt_i, t) + z_i / s) ** 2)
        np.testing.assert_allclose(dsm_eps, jnp.sum((eps_fn(xt_i, t) - z_i) ** 2), rtol=1e-12)
        dsm_x0 = s**2 * jnp.sum((score_x0(xt_i, t) + z_i / s) ** 2)
        np.testing.assert_allclose(dsm_x0, (m / s) ** 2 * jnp.sum((x0_fn(xt_i, t) - x0_i) ** 2), rtol=1e-10)
        np.testing.assert_allclose(sr.eps_from_score(sde, score_eps)(xt_i, t), eps_fn(xt_i, t), rtol=1e-14)
        np.testing.assert_allclose(sr.x0_from_score(sde, score_x0)(xt_i, t), x0_fn(xt_i, t), rtol=1e-12)
    true = _true_score(sde, dist)
    for x in xt[:5]:
        post_mean = sr.posterior(sde, dist, x, t).mean
        np.testing.assert_allclose(sr.x0_from_score(sde, true)(x, t), post_mean, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            sr.eps_from_score(sde, true)(x, t), (x - m * post_mean - c) / s, rtol=1e-9, atol=1e-12
        )


def _gaussian_level_fisher(dist, mean_coeff, std):
    return sr.gaussian_fisher_information(sr.push_forward(dist, mean_coeff, 0.0, std))


def test_ncsn_and_ddpm_losses_of_the_exact_score(getkey):
    """With the exact score of each level, the NCSN loss is Σ σ_i²(d/σ_i² − J(p_{σ_i})) and the
    DDPM loss Σ (1 − ᾱ_i)(d/(1 − ᾱ_i) − J(p_i)) (the DSM constant of each level; 000 App. A–B,
    002 Recap), within 5 SE (n = 20,000, Gaussian data). An affine model's losses match the closed
    forms too. Planted bug caught: the DDPM kernel std (1 − ᾱ) instead of √(1 − ᾱ), or a level
    weight σ_i instead of σ_i²."""
    dist, d = gaussian_2d(), 2
    sigmas = jnp.geomspace(0.05, 5.0, 6)
    abar = jnp.cumprod(1 - jnp.linspace(1e-2, 0.3, 6))
    x0 = dist.sample(getkey(), 20_000)

    ncsn_score = lambda x, sigma: sr.push_forward(dist, 1.0, 0.0, sigma).score(x)  # noqa: E731
    ddpm_score = lambda x, i: sr.push_forward(dist, jnp.sqrt(abar[i - 1]), 0.0, jnp.sqrt(1 - abar[i - 1])).score(x)  # noqa: E731
    ncsn_exact = sum(float(s**2 * (d / s**2 - _gaussian_level_fisher(dist, 1.0, s))) for s in sigmas)
    ddpm_exact = sum(
        float((1 - a) * (d / (1 - a) - _gaussian_level_fisher(dist, jnp.sqrt(a), jnp.sqrt(1 - a)))) for a in abar
    )
    ncsn_affine = sum(
        float(s**2 * (sr.expected_sq_norm(dist, A, B) + jnp.sum((s * A + jnp.eye(2) / s) ** 2))) for s in sigmas
    )
    ddpm_affine = sum(
        float(
            (1 - a)
            * (
                sr.expected_sq_norm(dist, jnp.sqrt(a) * A, B)
                + jnp.sum((jnp.sqrt(1 - a) * A + jnp.eye(2) / jnp.sqrt(1 - a)) ** 2)
            )
        )
        for a in abar
    )
    for terms, exact in [
        (sr.ncsn_terms(getkey(), ncsn_score, x0, sigmas), ncsn_exact),
        (sr.ddpm_terms(getkey(), ddpm_score, x0, abar), ddpm_exact),
        (sr.ncsn_terms(getkey(), MODEL, x0, sigmas), ncsn_affine),
        (sr.ddpm_terms(getkey(), MODEL, x0, abar), ddpm_affine),
    ]:
        mean, se = sr.mean_and_stderr(terms)
        assert abs(float(mean) - exact) < Z5 * float(se), (float(mean), exact, float(se))
    assert float(sr.ncsn_loss(jax.random.key(3), MODEL, x0, sigmas)) == pytest.approx(
        float(jnp.mean(sr.ncsn_terms(jax.random.key(3), MODEL, x0, sigmas))), rel=1e-14
    )
