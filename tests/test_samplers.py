"""Samplers on exact scores: the exact law of their output on Gaussian data (moment recursion),
measured weak orders, the probability-flow map, and statistical tests on the documents' mixture."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import scoresde_ref as sr
from scoresde_ref.examples import documents_gmm_1d, gaussian_2d


def test_euler_maruyama_step_matrix_is_the_derived_one():
    """One EM step on Gaussian data is x' = M x + v + g√h z with M = (1 − a h) I − h g² Σ_t⁻¹, v = h g² Σ_t⁻¹ μ_t
    (derivations/samplers.md); the law recursion reads M off the step, so compare both."""
    sde, dist = sr.VPSDE(), gaussian_2d()
    n, eps = 2, 0.5  # two steps of size h = 0.25 from T = 1
    law = sr.pc_sampler_law(sde, dist, n_steps=n, eps=eps, start="exact", denoise=False)
    h = (1 - eps) / n
    mean, cov = sr.marginal(sde, dist, 1.0).mean, sr.marginal(sde, dist, 1.0).cov
    for t in [1.0, 1.0 - h]:
        p_t = sr.marginal(sde, dist, t)
        a, g2 = sde.drift_coeff(t), sde.diffusion(t) ** 2
        M = (1 - a * h) * jnp.eye(2) - h * g2 * jnp.linalg.inv(p_t.cov)
        v = h * g2 * jnp.linalg.solve(p_t.cov, p_t.mean)
        mean, cov = M @ mean + v, M @ cov @ M.T + g2 * h * jnp.eye(2)
    np.testing.assert_allclose(law.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(law.cov, cov, rtol=1e-12)


CASES = [
    ("VP", "euler_maruyama", None, "corrector_first"),
    ("VP", "reverse_diffusion", None, "corrector_first"),
    ("VP", "ancestral", "ald", "corrector_first"),
    ("VP", "euler_maruyama", "ald", "predictor_first"),
    ("VE", "reverse_diffusion", "ald", "corrector_first"),
    ("VE", "ancestral", None, "predictor_first"),
    ("subVP", "euler_maruyama", None, "corrector_first"),
    ("VP", "euler_maruyama", None, "predictor_first"),  # denoise without a corrector (the last noise is left out)
]


@pytest.mark.parametrize("sde_name, predictor, corrector, order", CASES)
@pytest.mark.parametrize("denoise", [True, False])
def test_sampler_output_has_the_exact_law(sde_name, predictor, corrector, order, denoise, getkey):
    """pc_sample's output (n = 60,000, 40 steps, from the prior) has the mean and covariance of
    the moment recursion, within 5 SE per entry (false-failure probability < 5·6e-7 per case).

    Planted bug caught: noise added with variance G (not G²), a missed step, the corrector's ε
    off by 2, `denoise` returning the noisy sample."""
    sde = {"VP": sr.VPSDE(), "VE": sr.VESDE(0.01, 5.0), "subVP": sr.SubVPSDE()}[sde_name]
    dist = gaussian_2d()
    kw = dict(n_steps=40, eps=1e-2, predictor=predictor, corrector=corrector, snr=0.2, order=order, denoise=denoise)
    law = sr.pc_sampler_law(sde, dist, **kw)
    n = 60_000
    x_T = sde.prior_sample(getkey(), (n, 2))
    xs, nfe = sr.pc_sample(getkey(), sde, sr.exact_score(sde, dist), x_T, **kw)  # compiled at the boundary
    assert nfe == 40 * (2 if corrector else 1)
    se_mean = jnp.sqrt(jnp.diagonal(law.cov) / n)
    assert jnp.all(jnp.abs(xs.mean(0) - law.mean) < 5 * se_mean)
    se_cov = jnp.sqrt((jnp.diagonal(law.cov)[:, None] * jnp.diagonal(law.cov)[None] + law.cov**2) / n)
    assert jnp.all(jnp.abs(jnp.cov(xs.T) - law.cov) < 5 * se_cov)


@pytest.mark.parametrize("sde_name", ["VP", "VE", "subVP"])
def test_probability_flow_maps_p_T_to_p_eps(sde_name, getkey):
    """With the exact score the PF ODE transports p_T to p_eps: for Gaussian data (commuting
    covariances Σ_t = m²Σ₀ + s²I) the map is x ↦ μ_ε + Σ_ε^{1/2} Σ_T^{-1/2}(x − μ_T). The adaptive
    diffrax solution at rtol = atol = 1e-10 matches it to 1e-7 (solver tolerance, accumulated)."""
    sde = {"VP": sr.VPSDE(), "subVP": sr.SubVPSDE(), "VE": sr.VESDE(0.01, 50.0)}[sde_name]
    dist, eps = gaussian_2d(), 1e-3
    p_T, p_eps = sr.marginal(sde, dist, sde.T), sr.marginal(sde, dist, eps)
    x_T = p_T.sample(getkey(), 16)
    x_eps, nfe = sr.ode_sample(sde, sr.exact_score(sde, dist), x_T, eps=eps, rtol=1e-10, atol=1e-10, solver="dopri8")

    def sqrtm(c):
        w, V = jnp.linalg.eigh(c)
        return (V * jnp.sqrt(w)[None]) @ V.T

    A = sqrtm(p_eps.cov) @ jnp.linalg.inv(sqrtm(p_T.cov))
    expected = p_eps.mean[None] + (x_T - p_T.mean[None]) @ A.T
    scale = float(jnp.max(jnp.abs(expected)))
    assert float(jnp.max(jnp.abs(x_eps - expected))) < 1e-7 * scale
    assert nfe > 0


def _gmm_cdf(p):
    w, mu, sd = np.asarray(p.weights), np.asarray(p.means[:, 0]), np.sqrt(np.asarray(p.covs[:, 0, 0]))
    return lambda x: sum(w[k] * scipy.stats.norm.cdf(x, mu[k], sd[k]) for k in range(len(w)))


SAMPLERS = {
    "euler_maruyama": dict(predictor="euler_maruyama"),
    "reverse_diffusion": dict(predictor="reverse_diffusion"),
    "ancestral": dict(predictor="ancestral"),
    "em+langevin": dict(predictor="euler_maruyama", corrector="langevin", snr=0.16),
    "rd+langevin": dict(predictor="reverse_diffusion", corrector="langevin", snr=0.16),
    "em+ald": dict(predictor="euler_maruyama", corrector="ald", snr=0.16, order="predictor_first"),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS) + ["ode_diffrax", "ode_scipy"])
def test_documents_gmm_samples_pass_ks(name, getkey):
    """Every sampler, on ½N(−3, 1/4) + ½N(3, 1) (000 §5.1) with VP and the exact score, from the
    prior N(0, 1): 4,000 samples pass a KS test against the exact p_eps at α = 1e-6.

    Error budget (derivations/samplers.md): prior mismatch KL(p_T ‖ N(0,1)) ≈ 1e-8 and the
    discretization bias at N = 1000 (weak error ~1e-3 in the moments) are both far below the KS
    resolution at n = 4,000 (the 1e-6 critical distance is 0.041), so they are made negligible by
    the step count; a wrong sampler (e.g. missing the g² factor) moves the law by O(1)."""
    sde, dist, eps = sr.VPSDE(), documents_gmm_1d(), 1e-3
    x_T = sde.prior_sample(getkey(), (4000, 1))
    score = sr.exact_score(sde, dist)
    if name == "ode_diffrax":
        xs, _ = sr.ode_sample(sde, score, x_T, eps=eps)
    elif name == "ode_scipy":
        xs, _ = sr.ode_sample_scipy(sde, score, x_T, eps=eps)
    else:
        xs, _ = sr.pc_sample(getkey(), sde, score, x_T, n_steps=1000, eps=eps, **SAMPLERS[name])
    assert scipy.stats.kstest(np.asarray(xs[:, 0]), _gmm_cdf(sr.marginal(sde, dist, eps))).pvalue > 1e-6


def test_pc_sample_compiles_once_for_any_input(getkey):
    """One compilation serves new x_T values (n_steps is static: a new N is a new program)."""
    sde, dist = sr.VPSDE(), gaussian_2d()
    traces = []

    @eqx.filter_jit
    def run(key, x):
        traces.append(None)
        return sr.pc_sample(key, sde, sr.exact_score(sde, dist), x, n_steps=50)[0]

    run(getkey(), jnp.zeros((8, 2)))
    run(getkey(), jnp.ones((8, 2)))
    assert len(traces) == 1


def test_invalid_sampler_options():
    sde, x = sr.VPSDE(), jnp.zeros((4, 2))
    score = sr.exact_score(sde, gaussian_2d())
    for kw, phrase in [
        (dict(predictor="heun"), "predictor"),
        (dict(corrector="hmc"), "corrector"),
        (dict(order="random"), "order"),
        (dict(snr_norm="max"), "snr_norm"),
        (dict(eps=0.0), "eps"),
        (dict(n_steps=1), "n_steps"),
    ]:
        with pytest.raises(ValueError, match=phrase):
            sr.pc_sample(jax.random.key(0), sde, score, x, **{"n_steps": 10, **kw})
    with pytest.raises(ValueError, match="batch"):
        sr.pc_sample(jax.random.key(0), sde, score, jnp.zeros(2), n_steps=10)
    with pytest.raises(ValueError, match="ancestral"):
        sr.pc_sample(jax.random.key(0), sr.OUSDE(), score, x, n_steps=10, predictor="ancestral")
    with pytest.raises(ValueError, match="beta_max"):
        sr.pc_sample(jax.random.key(0), sde, score, x, n_steps=20, predictor="ancestral")  # β_N = 20/20 = 1
    with pytest.raises(ValueError, match="solver"):
        sr.ode_sample(sde, score, x, solver="rk4")
