"""Checks of the probability-flow likelihood on exact scores: exactness against the closed-form
marginal density (VE, VP, sub-VP), Hutchinson's probes reused along the path (v^T A v, unbiased), the
prior-mismatch identity, and the bits/dim offsets; one figure (log p error vs solver tolerance)."""

import math
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import scoresde_ref as sr
from scoresde_ref.examples import gaussian_2d, gmm_2d

from ._keys import key_sequence
from ._registry import CheckResult, register, register_figure, save_figure

EPS = 1e-5
TOL = 1e-8  # rtol = atol (verify runs in float64)
BOUND = 100 * TOL  # accumulated local errors over the 25–75 accepted steps (derivations/likelihood.md §4)
_SDES = {"VE": sr.VESDE(0.01, 50.0), "VP": sr.VPSDE(), "subVP": sr.SubVPSDE()}
_X = jnp.array([-1.0, 0.5])
# The documents' SDEs with traced parameters (one compile per SDE class and data family), and the data.
_TRACED_SDES = {
    "VE": lambda: sr.VESDE(jnp.asarray(0.01), jnp.asarray(50.0)),
    "VP": lambda: sr.VPSDE(jnp.asarray(0.1), jnp.asarray(20.0)),
    "subVP": lambda: sr.SubVPSDE(jnp.asarray(0.1), jnp.asarray(20.0)),
}
_DATA = {"gaussian": gaussian_2d, "gmm": gmm_2d}


@eqx.filter_jit
def _error(sde, dist, x, tol):
    """|computed − closed-form log p_eps(x)| with the exact score and prior p_T; `tol` = rtol = atol (traced)."""
    p_T = sr.marginal(sde, dist, sde.T)
    log_p, _ = sr.log_likelihood(sde, sr.exact_score(sde, dist), x, eps=EPS, rtol=tol, atol=tol, prior=p_T)
    return jnp.abs(log_p - sr.marginal(sde, dist, EPS).log_prob(x))


_EXACT_CASES = {
    "VE": ("VE", "gmm"),
    "VP": ("VP", "gmm"),
    "subVP": ("subVP", "gmm"),
    "subVP_gaussian": ("subVP", "gaussian"),
}

for _name, (_sde_name, _data) in _EXACT_CASES.items():

    @register(f"{_name}_log_likelihood_exact", group="likelihood")
    def _(sde_name=_sde_name, data=_data):
        """log p_eps(x) = log p_T(x(T)) + ∫ ∇·f̃ dt equals the closed-form log-density of the marginal p_eps for the
        documents' VE (σ ∈ [0.01, 50]), VP and sub-VP (β ∈ [0.1, 20]), eps = 1e-5, at 4 points of p_eps and at
        x = (−1, 0.5): |error| ≤ 1e-6 at rtol = atol = 1e-8. Tsit5 keeps each local error below tol·(1 + |y|) on
        [x, Δ] (|y| ≲ 10); over the 25–75 accepted steps the global error stays below 100·tol (measured 0.5–6e-8).
        (VP and VE on Gaussian data: the prior-mismatch checks, whose identity holds only if this is exact.)
        Planted bugs caught: the divergence integral subtracted (error ≈ 2|Δ| ≥ 1), g for g² or the ½ dropped in
        f̃ (O(1)), the prior argument ignored (the VP/VE prior mismatch, 1e-4–1e-2 per point on GMM data)."""
        sde, dist = _TRACED_SDES[sde_name](), _DATA[data]()
        xs = jnp.concatenate([sr.marginal(sde, dist, EPS).sample(key_sequence()(), 4), _X[None]])
        err = jnp.max(jax.vmap(lambda x: _error(sde, dist, x, jnp.asarray(TOL)))(xs))
        return CheckResult(
            err, BOUND, note=f"exact score, prior p_T, {data} data, 5 points, rtol = atol = {TOL:g}: 100 × tol"
        )


def probe_channels(sde, dist, x, key, probe, n_probes, *, eps=EPS, tol=TOL):
    """All `n_probes` one-probe estimates of ∫∇·f̃ dt along the one (probe-independent) path from x, and their mean
    (used by this module's checks and by tests/test_likelihood_hutchinson.py)."""
    run = sr.log_likelihood_details(
        sde,
        sr.exact_score(sde, dist),
        x,
        eps=eps,
        rtol=tol,
        atol=tol,
        divergence="hutchinson",
        key=key,
        probe=probe,
        n_probes=n_probes,
    )
    return run.delta_logp_probes, run.delta_logp


def _rotated_gaussian(d: int) -> sr.Gaussian:
    """N(0, U diag(λ) Uᵀ), λ evenly spaced in [0.2, 2], U a fixed random rotation: A is not diagonal, so Rademacher
    probes have a nonzero variance."""
    U, _ = jnp.linalg.qr(jax.random.normal(jax.random.key(d), (d, d)))
    lam = jnp.linspace(0.2, 2.0, d)
    return sr.Gaussian(jnp.zeros(d), (U * lam[None]) @ U.T)


@register("hutchinson_probes_reused_along_the_path", group="likelihood")
def _():
    """The path-integrated Jacobian of a Gaussian flow is the constant-in-x A = ½(log Σ_T − log Σ_eps)
    (`gaussian_flow_jacobian_integral`), so each probe channel must equal v_kᵀ A v_k for the probes
    v_k = sample_probe(key, (n_probes, d))[k], and `delta_logp` their mean, to 1e-6: gaussian_2d with 8 Gaussian
    probes, and a rotated d = 3 Gaussian (eps = 1e-3) with 4 Rademacher probes, whose channels are not the trace.
    Planted bugs caught: probes redrawn at each step (a channel then averages many probes and drifts towards
    tr A), probes of the wrong kind or from another split of the key, the mean replaced by the first probe."""
    sde, key = sr.VPSDE(), jax.random.key(0)
    channels, _ = probe_channels(sde, gaussian_2d(), _X, key, "gaussian", 8)
    v = sr.sample_probe(key, (8, 2), "gaussian")
    A = sr.gaussian_flow_jacobian_integral(sde, gaussian_2d(), EPS, sde.T)
    err = float(jnp.max(jnp.abs(channels - jnp.einsum("ki,ij,kj->k", v, A, v))))
    getkey = key_sequence()
    dist, key = _rotated_gaussian(3), getkey()
    A = sr.gaussian_flow_jacobian_integral(sde, dist, 1e-3, sde.T)
    x = dist.sample(getkey(), 1)[0]
    run = sr.log_likelihood_details(
        sde,
        sr.exact_score(sde, dist),
        x,
        eps=1e-3,
        rtol=TOL,
        atol=TOL,
        divergence="hutchinson",
        key=key,
        probe="rademacher",
        n_probes=4,
    )
    expected = jnp.einsum(
        "ki,ij,kj->k", sr.sample_probe(key, (4, 3), "rademacher"), A, sr.sample_probe(key, (4, 3), "rademacher")
    )
    assert abs(float(run.delta_logp - jnp.mean(expected))) <= 1e-6
    assert float(jnp.min(jnp.abs(expected - jnp.trace(A)))) > 1e-2  # the channels are not the trace
    err = max(err, float(jnp.max(jnp.abs(run.delta_logp_probes - expected))))
    return CheckResult(
        err, BOUND, note="each probe channel = vᵀAv, A = ½(log Σ_T − log Σ_eps): one probe per integration, reused"
    )


@register("hutchinson_likelihood_unbiased", group="likelihood")
def _():
    sde, dist = sr.VPSDE(), gmm_2d()
    p_T = sr.marginal(sde, dist, sde.T)
    run = sr.log_likelihood_details(
        sde,
        sr.exact_score(sde, dist),
        _X,
        eps=EPS,
        rtol=TOL,
        atol=TOL,
        divergence="hutchinson",
        key=jax.random.key(1),
        n_probes=2000,
        prior=p_T,
    )
    estimates = run.prior_logp + run.delta_logp_probes
    se = float(jnp.std(estimates)) / math.sqrt(estimates.shape[0])
    z = abs(float(jnp.mean(estimates) - sr.marginal(sde, dist, EPS).log_prob(_X))) / se
    return CheckResult(
        z, 5.0, note=f"|mean − exact| / SE over 2,000 Rademacher channels on gmm_2d (SE {se:.2g}); false-failure 6e-7"
    )


_MISMATCH = {"VP_beta_max_3": (sr.VPSDE(0.1, 3.0), 1.0), "VE_sigma_max_3": (sr.VESDE(0.01, 3.0), 3.0)}

for _name, (_sde, _prior_std) in _MISMATCH.items():

    @register(f"prior_mismatch_identity_{_name}", group="likelihood")
    def _(sde=_sde, prior_std=_prior_std):
        """With the SDE's own prior π (N(0, I) for VP, N(0, σ_max² I) for VE) instead of p_T, on Gaussian data, per
        point: log p^π_eps(x) − log p_eps(x) = log π(φ(x)) − log p_T(φ(x)), φ the closed-form flow map, and
        x(T) = φ(x), both to 1e-6 (relative to 1 + max |·|) on 2,000 points of p_eps (and to 1e-6 at x = (−1, 0.5));
        averaged over x ~ p_eps the error is −KL(p_T ‖ π) within 5 SE (false-failure probability 6e-7). Short
        horizons make the KL O(0.1–1). Planted bugs caught: the default prior of the wrong scale (N(0, I) for VE),
        the end point x(T) misreported, the mismatch taken at x instead of at x(T)."""
        dist, eps = gaussian_2d(), 1e-3
        p_eps, p_T = sr.marginal(sde, dist, eps), sr.marginal(sde, dist, sde.T)
        prior = sr.Gaussian(jnp.zeros(2), prior_std**2 * jnp.eye(2))  # written out, not read from the SDE
        xs = p_eps.sample(key_sequence()(), 2000)
        run = eqx.filter_jit(
            jax.vmap(
                lambda x: sr.log_likelihood_details(sde, sr.exact_score(sde, dist), x, eps=eps, rtol=TOL, atol=TOL)
            )
        )
        result = run(jnp.concatenate([xs, _X[None]]))
        M, c = sr.gaussian_flow_map(sde, dist, eps, sde.T)
        phi = xs @ M.T + c[None]
        assert float(jnp.max(jnp.abs(result.x_T[:-1] - phi))) <= 1e-6 * (1 + float(jnp.max(jnp.abs(phi))))
        error = result.log_p[:-1] - jax.vmap(p_eps.log_prob)(xs)
        mismatch = jax.vmap(prior.log_prob)(phi) - jax.vmap(p_T.log_prob)(phi)
        kl = float(sr.gaussian_kl(p_T, prior))
        assert kl > 0.05
        se = float(jnp.std(error)) / math.sqrt(len(xs))
        assert abs(float(jnp.mean(error)) + kl) <= 5 * se, (float(jnp.mean(error)), kl, se)
        phi_x = M @ _X + c
        at_x = abs(float(result.log_p[-1] - p_eps.log_prob(_X) - (prior.log_prob(phi_x) - p_T.log_prob(phi_x))))
        assert at_x <= BOUND, at_x
        rel = float(jnp.max(jnp.abs(error - mismatch))) / (1 + float(jnp.max(jnp.abs(mismatch))))
        return CheckResult(
            rel, 1e-6, note=f"max |error − mismatch| / (1 + max |mismatch|), 2,000 points; KL(p_T ‖ π) = {kl:.3f}"
        )


@register("bits_per_dim_offsets", group="likelihood")
def _():
    """8-bit data: +8 bits in [0, 1], +7 in [−1, 1] (the reference code's `7 − inverse_scaler(−1)` with
    inverse_scaler = id resp. (x + 1)/2), 0 in integer units; b − log2(hi − lo) in general. Planted bug caught: the
    offsets swapped, or log2 256 used for [−1, 1]."""
    assert sr.dequantization_offset(8, (0.0, 1.0)) == 8.0 == 7.0 - (-1.0)
    assert sr.dequantization_offset(8, (-1.0, 1.0)) == 7.0 == 7.0 - ((-1.0 + 1.0) / 2)
    assert sr.dequantization_offset(8, None) == 0.0
    assert sr.dequantization_offset(5, (0.0, 4.0)) == 3.0
    d, log_p = 3072, -5000.0
    np.testing.assert_allclose(sr.bits_per_dim(log_p, d), 5000.0 / (d * math.log(2)) + 8.0, rtol=1e-15)
    np.testing.assert_allclose(
        sr.bits_per_dim(log_p, d, data_range=(-1.0, 1.0)), 5000.0 / (d * math.log(2)) + 7.0, rtol=1e-15
    )
    err = abs(sr.dequantization_offset(8, (0.0, 1.0)) - 8.0) + abs(sr.dequantization_offset(8, (-1.0, 1.0)) - 7.0)
    return CheckResult(
        err, 0.0, note="8-bit data: +8 bits in [0, 1], +7 in [−1, 1], 0 for integers; bits_per_dim adds them"
    )


@register_figure("likelihood_error_vs_tolerance")
def _(out_dir: pathlib.Path) -> pathlib.Path:
    import matplotlib.pyplot as plt

    tols = [1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]
    fig, ax = plt.subplots(figsize=(6.0, 4.5))
    for name, sde in _SDES.items():
        errors = [float(_error(sde, gmm_2d(), _X, jnp.asarray(tol))) for tol in tols]
        ax.loglog(tols, errors, "o-", label=name)
    ax.loglog(tols, tols, "k:", label="error = tol")
    ax.set(
        xlabel="rtol = atol", ylabel="|log p_eps − closed form|", title="PF-ODE likelihood, exact score and p_T, gmm_2d"
    )
    ax.legend(fontsize=8)
    return save_figure(fig, out_dir, "likelihood_error_vs_tolerance.png")
