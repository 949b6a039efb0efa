"""The losses and the likelihood compile at the boundary, their options are objects that the strings map
to, and their noise can be given: a second eager call with new values compiles nothing; the string form and
the object form give the same bits; the key-driven terms equal the noise-given terms with the documented draws."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scoresde_ref as sr
from helpers import count_compilations
from scoresde_ref import losses as L
from scoresde_ref.examples import gmm_2d

A = jnp.array([[-0.8, 0.3], [0.1, -1.4]])
B = jnp.array([0.4, -0.2])
SIGMAS = jnp.geomspace(0.05, 5.0, 4)
ABAR = jnp.cumprod(1 - jnp.linspace(1e-2, 0.3, 4))


def _problem(beta_min, beta_max, shift, seed):
    """A VP SDE with Python-float parameters, its exact score (a module) for a shifted GMM, data and a key:
    each call gives new values of the same shapes."""
    sde = sr.VPSDE(beta_min, beta_max)
    dist = gmm_2d()
    dist = eqx.tree_at(lambda d: d.means, dist, dist.means + shift)
    x0 = dist.sample(jax.random.key(seed), 32)
    return sde, sr.exact_score(sde, dist), x0, jax.random.key(seed + 1)


ENTRY_POINTS = {
    "dsm_loss": lambda sde, score, x0, key, eps: sr.dsm_loss(key, sde, score, x0, eps=eps, weighting="g2"),
    "ism_loss": lambda sde, score, x0, key, eps: sr.ism_loss(key, sde, score, x0, eps=eps, divergence="hutchinson"),
    "sliced_score_matching_loss": lambda sde, score, x0, key, eps: sr.sliced_score_matching_loss(
        key, sde, score, x0, eps=eps
    ),
    "fisher_loss": lambda sde, score, x0, key, eps: sr.fisher_loss(
        key, sde, sr.AffineScore(A, B), x0, eps=eps, target_score_fn=score, time_sampling="stratified"
    ),
    "loss_terms": lambda sde, score, x0, key, eps: sr.loss_terms(key, sde, score, x0, objective="ism", t=10 * eps),
    "ncsn_loss": lambda sde, score, x0, key, eps: sr.ncsn_loss(key, sr.AffineScore(A, B), x0, SIGMAS * (1 + eps)),
    "ddpm_loss": lambda sde, score, x0, key, eps: sr.ddpm_loss(key, sr.AffineScore(A, B), x0, ABAR * (1 - eps)),
    "log_likelihood": lambda sde, score, x0, key, eps: sr.log_likelihood(sde, score, x0[0], eps=eps),
    "log_likelihood_details": lambda sde, score, x0, key, eps: sr.log_likelihood_details(
        sde, score, x0[0], eps=eps, divergence="hutchinson", key=key, n_probes=2
    ).log_p,
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_second_eager_call_compiles_nothing(name):
    """A second eager call with a new key, new data of the same shape, a new eps, new SDE parameter values
    (Python floats) and a new `sr.exact_score(sde, dist)` with other numbers triggers no XLA compilation.

    Planted bugs caught (each checked once): the SDE's Python-float parameters passed to `filter_jit` as
    they are (static: a recompilation per new SDE), `eps` left a Python float, a validation that calls
    `float()` on a traced value, the jit wrapper dropped (every op of the loss compiled per call)."""
    run = ENTRY_POINTS[name]
    first = _problem(0.1, 20.0, 0.0, 0)
    jax.block_until_ready(run(*first, 1e-3))
    second = _problem(0.2, 15.0, 0.3, 5)
    with count_compilations() as n:
        jax.block_until_ready(run(*second, 2e-3))
    assert n[0] == 0, f"{name}: {n[0]} compilations on the second call"


def test_strings_and_objects_give_the_same_bits(getkey):
    """Every string option equals its object: objectives (with divergence and probe), weightings, time
    designs and the likelihood's divergence estimators, bit for bit with the same key; `loss_weight`
    and `mean_and_stderr` the same. Planted bug caught: a string mapped to the wrong object (e.g. `"g2"`
    to the kernel variance, the sliced loss's probe default taken from ISM's)."""
    sde, score, x0, key = _problem(0.1, 20.0, 0.0, 3)
    model = sr.AffineScore(A, B)
    pairs = [
        (dict(objective="dsm"), dict(objective=L.DSM())),
        (dict(objective="ism"), dict(objective=L.ISM())),
        (dict(objective="ism", divergence="exact"), dict(objective=L.ISM(L.ExactDivergence()))),
        (dict(objective="ism", divergence="hutchinson"), dict(objective=L.ISM(L.Hutchinson("rademacher")))),
        (
            dict(objective="ism", divergence="hutchinson", probe="gaussian"),
            dict(objective=L.ISM(L.Hutchinson("gaussian"))),
        ),
        (dict(objective="ism", divergence=L.Hutchinson("gaussian")), dict(objective=L.ISM(L.Hutchinson("gaussian")))),
        (dict(objective="sliced"), dict(objective=L.SlicedScoreMatching("rademacher"))),
        (dict(objective="sliced", probe="gaussian"), dict(objective=L.SlicedScoreMatching())),
        (dict(objective="fisher", target_score_fn=score), dict(objective=L.Fisher(score))),
        (dict(weighting="sigma2"), dict(weighting=L.SigmaSquaredWeighting())),
        (dict(weighting="g2"), dict(weighting=L.LikelihoodWeighting())),
        (dict(weighting="uniform"), dict(weighting=L.UnitWeighting())),
        (dict(time_sampling="uniform"), dict(time_sampling=L.UniformTimes())),
        (dict(time_sampling="stratified"), dict(time_sampling=L.StratifiedTimes())),
    ]
    for strings, objects in pairs:
        np.testing.assert_array_equal(
            sr.loss_terms(key, sde, model, x0, **strings),
            sr.loss_terms(key, sde, model, x0, **objects),
            err_msg=str(strings),
        )
    for name, weighting in [
        ("sigma2", L.SigmaSquaredWeighting()),
        ("g2", L.LikelihoodWeighting()),
        ("uniform", L.UnitWeighting()),
    ]:
        assert float(sr.loss_weight(sde, 0.4, name)) == float(weighting(sde, 0.4))
    np.testing.assert_array_equal(sr.ism_loss(key, sde, model, x0, divergence="hutchinson", probe="gaussian"),
                                  sr.ism_loss(key, sde, model, x0, divergence=L.Hutchinson("gaussian")))
    values = jax.random.normal(getkey(), (64,))
    for name, sampler in [("uniform", L.UniformTimes()), ("stratified", L.StratifiedTimes())]:
        np.testing.assert_array_equal(sr.mean_and_stderr(values, method=name), sampler.mean_and_stderr(values))
        np.testing.assert_array_equal(
            sr.sample_times(key, 16, 1.0, eps=1e-3, method=name),
            sr.sample_times(key, 16, 1.0, eps=1e-3, method=sampler),
        )
    x = x0[0]
    for strings, estimator in [
        (dict(divergence="exact"), sr.likelihood.ExactDivergence()),
        (dict(divergence="hutchinson", n_probes=3), sr.likelihood.Hutchinson(n_probes=3)),
        (dict(divergence="hutchinson", probe="gaussian", n_probes=2), sr.likelihood.Hutchinson("gaussian", 2)),
    ]:
        by_name = sr.log_likelihood_details(sde, score, x, key=key, **strings)
        by_object = sr.log_likelihood_details(sde, score, x, key=key, divergence=estimator)
        for a, b in zip(jax.tree_util.tree_leaves(by_name), jax.tree_util.tree_leaves(by_object)):
            np.testing.assert_array_equal(a, b, err_msg=str(strings))


@pytest.mark.parametrize(
    "options",
    [
        dict(objective="dsm", weighting="g2"),
        dict(objective="ism", divergence="hutchinson", time_sampling="stratified"),
        dict(objective="ism"),
        dict(objective="sliced", probe="gaussian"),
        dict(objective="fisher"),
    ],
    ids=lambda o: "-".join(str(v) for v in o.values()),
)
def test_key_driven_terms_are_the_noise_given_terms(options):
    """`loss_terms(key, ...)` is `loss_terms_at(..., *loss_noise(key, ...))` bit for bit, and `loss_noise` draws
    what its docstring states (`key_t, key_z, key_v = split(key, 3)`; times by the design; `z = normal(key_z)`;
    probe `i` from `split(key_v, n)[i]`; z and probes bit for bit, the times to 4 ULP: eager and fused
    rounding of eps + (T − eps) u differ), so another implementation fed the same t, z, v can be compared to
    the ULP. Planted bug caught: the key split in another order, or the probes drawn from `key_z`."""
    sde, score, x0, key = _problem(0.1, 20.0, 0.0, 7)
    model = sr.AffineScore(A, B)
    options = dict(options)
    time_sampling = options.pop("time_sampling", "uniform")
    draw_options = {k: v for k, v in options.items() if k in ("objective", "divergence", "probe")}
    if options["objective"] == "fisher":
        options["target_score_fn"] = score
    t, z, probes = L.loss_noise(key, sde, x0, time_sampling=time_sampling, **draw_options)
    drawn = sr.loss_terms(key, sde, model, x0, time_sampling=time_sampling, **options)
    np.testing.assert_array_equal(drawn, L.loss_terms_at(sde, model, x0, t, z, probes, **options))

    n, d = x0.shape
    key_t, key_z, key_v = jax.random.split(key, 3)
    np.testing.assert_allclose(t, sr.sample_times(key_t, n, sde.T, eps=1e-5, method=time_sampling), rtol=1e-15, atol=0)
    np.testing.assert_array_equal(z, jax.random.normal(key_z, x0.shape))
    probe = options.get("probe", "rademacher")
    if options["objective"] == "sliced" or options.get("divergence") == "hutchinson":
        np.testing.assert_array_equal(
            probes, jax.vmap(lambda k: sr.sample_probe(k, (d,), probe))(jax.random.split(key_v, n))
        )
    else:
        assert probes is None


def test_discrete_and_likelihood_noise_can_be_given():
    """`ncsn_terms` / `ddpm_terms` equal `ncsn_terms_at` / `ddpm_terms_at` with `z = normal(key, (n, N, d))`,
    and the Hutchinson likelihood with `key` equals it with `probes = sample_probe(key, (n_probes, d))`, bit
    for bit. Planted bug caught: noise drawn per level with split keys, probes redrawn from a split key."""
    sde, score, x0, key = _problem(0.1, 20.0, 0.0, 11)
    model = sr.AffineScore(A, B)
    n, d = x0.shape
    z = jax.random.normal(key, (n, SIGMAS.shape[0], d))
    np.testing.assert_array_equal(sr.ncsn_terms(key, model, x0, SIGMAS), L.ncsn_terms_at(model, x0, SIGMAS, z))
    np.testing.assert_array_equal(sr.ddpm_terms(key, model, x0, ABAR), L.ddpm_terms_at(model, x0, ABAR, z))
    run = dict(divergence="hutchinson", probe="gaussian", n_probes=3)
    with_key = sr.log_likelihood_details(sde, score, x0[0], key=key, **run)
    with_probes = sr.log_likelihood_details(sde, score, x0[0], probes=sr.sample_probe(key, (3, d), "gaussian"), **run)
    for a, b in zip(jax.tree_util.tree_leaves(with_key), jax.tree_util.tree_leaves(with_probes)):
        np.testing.assert_array_equal(a, b)


def test_option_objects_validate_their_fields(getkey):
    """Bad fields fail at construction or at the boundary with the allowed values named."""
    sde, score, x0, _ = _problem(0.1, 20.0, 0.0, 13)
    n, d = x0.shape
    cases = [
        (lambda: L.Hutchinson("uniform"), "rademacher"),
        (lambda: L.Hutchinson(n_probes=0), "n_probes"),
        (lambda: L.SlicedScoreMatching("sobol"), "probe must be one of"),
        (lambda: L.ISM(L.Hutchinson(n_probes=2)), "one probe per example"),
        (lambda: L.loss_terms_at(sde, score, x0, 0.3, jnp.zeros((n, d)), objective="sliced"), r"probes of shape"),
        (lambda: L.loss_terms_at(sde, score, x0, 0.3, jnp.zeros((n, d)), jnp.zeros((n, d))), "no probes"),
        (lambda: L.loss_terms_at(sde, score, x0, 0.3, jnp.zeros((n, d + 1))), "z must have the shape"),
        (lambda: L.ncsn_terms_at(score, x0, SIGMAS, jnp.zeros((n, d))), r"\(n, N, d\)"),
        (
            lambda: sr.log_likelihood(sde, score, x0[0], divergence="hutchinson", probes=jnp.zeros((2, d))),
            "probes must have shape",
        ),
        (lambda: sr.dsm_loss(getkey(), sde, score, x0, time_sampling="halton"), "UniformTimes|stratified"),
    ]
    for fn, message in cases:
        with pytest.raises(ValueError, match=message):
            fn()


def test_loss_terms_at_checks_its_times_eagerly():
    """`t` outside [0, T] or NaN raises the time-domain ValueError at once, and a `t` of shape (1,) for a batch of 8 is
    refused, not broadcast. Planted bugs caught: the range check left to the compiled graph (an opaque
    EquinoxRuntimeError), or `broadcast_to` accepting (1,)."""
    sde = sr.VPSDE()
    score = sr.exact_score(sde, gmm_2d())
    x0 = gmm_2d().sample(jax.random.key(0), 8)
    z = jnp.zeros_like(x0)
    for t in (2.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"loss_terms_at: time t must lie in \(0, T"):
            sr.losses.loss_terms_at(sde, score, x0, t, z)
    with pytest.raises(ValueError, match=r"t must be a scalar or of shape \(8,\)"):
        sr.losses.loss_terms_at(sde, score, x0, jnp.array([0.5]), z)
