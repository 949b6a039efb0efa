"""The digits experiments (`scoresde_ref/experiments/digits/`, derivations/experiments_digits.md): the baselines, the
sample metrics and the bits/dim pipeline against constructed truth, then each experiment's `--quick` run once with
its metrics against thresholds argued in derivations/experiments_digits.md §8 (each argument repeated beside its
assertion), and `--data` with a generated image file (twice: the same seed gives the same files)."""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

# scikit-learn (the digits' data) is a declared test dependency (pyproject.toml, test extras): without it this
# file must fail, not skip
import sklearn  # noqa: F401

import scoresde_ref as sr
from scoresde_ref.experiments import RunConfig, run_experiment
from scoresde_ref.experiments.digits import _baselines, _data, _metrics, _score

UNIFORM_BPD = float(np.log2(17))


# ---------------------------------------------------------------------------------------------------- dequantisation


@pytest.mark.parametrize("data_range", [(0.0, 1.0), (-1.0, 1.0), (-3.0, 5.0)])
def test_levels_offset_is_log2_levels_over_width_and_matches_the_power_of_two_route(data_range):
    """`levels_offset(L, (lo, hi)) = log2 L - log2(hi - lo)`; for L = 2^b it is `dequantization_offset(b, ...)`, the
    route of `likelihood/_bits_per_dim.py` (catches an offset that assumes 2^b levels, e.g. log2 16 for 17 levels)."""
    for b in range(1, 9):
        assert _data.levels_offset(2**b, data_range) == pytest.approx(
            sr.likelihood.dequantization_offset(b, data_range), abs=1e-12
        )
    # 17 levels in [-1, 1]: log2(17/2), not the 16-level log2(8) = 3
    assert _data.levels_offset(17) == pytest.approx(np.log2(8.5), abs=1e-12)
    with pytest.raises(ValueError, match="levels_offset: levels must be"):
        _data.levels_offset(1)


def test_dequantize_and_to_levels_invert_each_other():
    """`to_levels(dequantize_levels(k)) == k` for every level (each lands in its own cube) and bad levels refused."""
    k = np.tile(np.arange(17.0), (3, 4))[:, :64].reshape(3, 64) % 17
    x = _data.dequantize_levels(np.random.default_rng(0), k)
    assert x.min() >= -1 and x.max() < 1
    np.testing.assert_array_equal(_data.to_levels(x).reshape(3, 64), k)
    with pytest.raises(ValueError, match="dequantize_levels: k must be integers"):
        _data.dequantize_levels(np.random.default_rng(0), k + 0.5)


# ---------------------------------------------------------------------------------------------------- baselines


def _known_gmm(rng, n):
    weights = np.array([0.3, 0.7])
    means = np.array([[-4.0, 0.0, 1.0], [3.0, 1.0, -1.0]])
    a = np.array([[1.0, 0.3, 0.0], [0.0, 0.5, 0.2], [0.0, 0.0, 0.8]])
    covs = np.stack([a @ a.T, np.diag([0.5, 1.5, 1.0])])
    k = rng.choice(2, size=n, p=weights)
    x = means[k] + np.einsum("nij,nj->ni", np.linalg.cholesky(covs)[k], rng.standard_normal((n, 3)))
    return x, weights, means, covs


def test_gaussian_mixture_em_recovers_a_known_mixture():
    """EM on 20,000 draws of a well-separated 2-component mixture in 3-D recovers its weights, means and covariances.

    Tolerances: standard errors of the maximum-likelihood estimates with n_k >= 6,000 points per component —
    weight sqrt(0.21/n) = 0.003, mean entries sqrt(σ²/n_k) <= 0.016, covariance entries <= sqrt(2σ⁴/n_k) = 0.03;
    the bounds are 5 of them (two-sided false-failure probability < 1e-6 each); the ridge (1e-6) is far below them.
    Fails for an M-step without the responsibilities' weights or an E-step that drops log det Σ."""
    x, weights, means, covs = _known_gmm(np.random.default_rng(1), 20_000)
    fit = _baselines.fit_gaussian_mixture(x, 2, seed=3, ridge=1e-6)
    order = np.argsort(fit.means[:, 0])
    np.testing.assert_allclose(fit.weights[order], weights, atol=0.015)
    np.testing.assert_allclose(fit.means[order], means, atol=0.08)
    np.testing.assert_allclose(fit.covs[order], covs, atol=0.15)
    assert np.all(np.diff(fit.history) >= -1e-9)  # EM never decreases the training log-likelihood


def test_gaussian_mixture_log_prob_and_sampler_agree_with_sr_gaussian_mixture():
    """Two routes for the density: the baseline's batched-Cholesky log p and `sr.GaussianMixture.log_prob` (float64
    round-off on d = 3: 1e-10); its sampler's mean matches the mixture's within 5 standard errors."""
    x, _, _, _ = _known_gmm(np.random.default_rng(2), 2000)
    fit = _baselines.fit_gaussian_mixture(x, 2, seed=0, n_iter=20)
    ref = sr.GaussianMixture(jnp.asarray(fit.weights), jnp.asarray(fit.means), jnp.asarray(fit.covs))
    np.testing.assert_allclose(
        fit.log_prob(x[:50]), np.asarray(jax.vmap(ref.log_prob)(jnp.asarray(x[:50]))), atol=1e-10
    )
    draws = fit.sample(np.random.default_rng(3), 40_000)
    mean = fit.weights @ fit.means
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=5 * draws.std(axis=0).max() / np.sqrt(40_000))


def test_gaussian_mixture_conditional_mean_is_the_schur_complement_for_one_component():
    """With K = 1 the conditional mean is μ_U + Σ_UK Σ_KK⁻¹ (x_K − μ_K), computed here independently (1e-10)."""
    x, _, _, _ = _known_gmm(np.random.default_rng(4), 500)
    fit = _baselines.fit_gaussian_mixture(x, 1, seed=0)
    known = np.array([True, False, True])
    mu, cov = fit.means[0], fit.covs[0]
    expected = mu[1] + (x[:, [0, 2]] - mu[[0, 2]]) @ np.linalg.solve(cov[np.ix_([0, 2], [0, 2])], cov[[0, 2], 1])
    np.testing.assert_allclose(fit.conditional_mean(x, known)[:, 0], expected, atol=1e-10)


def test_categorical_mixture_with_one_component_is_the_direct_count():
    """K = 1: θ_j[l] = (count_jl + α)/(n + Lα), bits/dim −Σ_j log2 θ_j[k_j]/d, computed by a direct count (1e-12)."""
    rng = np.random.default_rng(5)
    k = rng.integers(0, 5, size=(300, 7)).astype(float)
    k[:, 0] = 2.0  # a pixel with one level: the pseudo-count keeps the others finite
    fit = _baselines.fit_categorical_mixture(k, 1, 5, seed=0, alpha=0.5)
    test = rng.integers(0, 5, size=(40, 7)).astype(float)
    counts = np.stack([np.bincount(k[:, j].astype(int), minlength=5) for j in range(7)])  # (d, L)
    theta = (counts + 0.5) / (300 + 5 * 0.5)
    direct = -np.mean([np.sum(np.log2(theta[np.arange(7), row.astype(int)])) for row in test]) / 7
    assert -np.mean(fit.log_prob(test)) / (7 * np.log(2)) == pytest.approx(direct, abs=1e-12)


def test_categorical_mixture_em_recovers_a_known_mixture():
    """EM on 20,000 draws of two well-separated products of categoricals (d = 6, L = 3) recovers weights and θ.

    Tolerances: the standard error of a frequency from n_c >= 8,000 points is <= sqrt(0.25/8000) = 0.006; bounds at
    5 of them (0.03). Fails for an M-step that forgets the responsibilities or normalises over the wrong axis."""
    rng = np.random.default_rng(6)
    theta = np.stack([np.tile([0.8, 0.15, 0.05], (6, 1)), np.tile([0.1, 0.2, 0.7], (6, 1))])  # (2, 6, 3)
    weights = np.array([0.45, 0.55])
    c = rng.choice(2, size=20_000, p=weights)
    u = rng.uniform(size=(20_000, 6, 1))
    k = np.sum(u > np.cumsum(theta[c], axis=2), axis=2).astype(float)
    fit = _baselines.fit_categorical_mixture(k, 2, 3, seed=1, alpha=1e-3)
    order = np.argsort(-np.exp(fit.log_theta[:, 0, 0]))
    np.testing.assert_allclose(fit.weights[order], weights, atol=0.03)
    np.testing.assert_allclose(np.exp(fit.log_theta[order]), theta, atol=0.03)
    assert np.all(np.diff(fit.history) >= -1e-9)


def test_baselines_refuse_bad_input():
    with pytest.raises(ValueError, match="fit_gaussian_mixture: n_components must be an integer >= 1"):
        _baselines.fit_gaussian_mixture(np.zeros((5, 2)), 0)
    with pytest.raises(ValueError, match="fit_gaussian_mixture: x must be finite"):
        _baselines.fit_gaussian_mixture(np.full((5, 2), np.nan), 1)
    with pytest.raises(ValueError, match="fit_categorical_mixture: alpha must be > 0"):
        _baselines.fit_categorical_mixture(np.zeros((5, 2)), 1, 3, alpha=0.0)


# ---------------------------------------------------------------------------------------------------- IS and FD


def test_inception_score_bounds_and_the_mean_of_exp_erratum():
    """One-hot predictions spread evenly over 10 classes: IS = 10 exactly; identical rows: IS = 1. 004 §2.2 (E41)
    averages exp(KL) per image instead: by Jensen that is >= the IS, strictly for unequal KLs (here 2.50 vs
    3^(3/4) = 2.28)."""
    assert _metrics.inception_score(np.eye(10)[np.arange(200) % 10]) == pytest.approx(10.0, abs=1e-12)
    assert _metrics.inception_score(np.tile([0.2, 0.3, 0.5], (7, 1))) == pytest.approx(1.0, abs=1e-12)
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3]])
    marginal = probs.mean(axis=0)
    kl = np.sum(probs * np.log(np.where(probs > 0, probs, 1) / marginal), axis=1)
    assert _metrics.inception_score(probs) == pytest.approx(np.exp(kl.mean()), abs=1e-12)
    assert np.mean(np.exp(kl)) == pytest.approx(2.5, abs=1e-12)  # 004 (E41): (3 + 3 + 3 + 1)/4
    assert _metrics.inception_score(probs) == pytest.approx(np.exp(0.75 * np.log(3)), abs=1e-12)  # 3^(3/4) = 2.28


def test_frechet_distance_is_zero_on_itself_and_the_gaussian_w2_in_closed_form():
    """FD(A, A) = 0 (up to the eigenvalue round-off of a 5 × 5 problem, 1e-9); diagonal covariances:
    ||Δμ||² + Σ(√a − √b)²; general SPD pairs: against the scipy.linalg.sqrtm route (1e-8)."""
    rng = np.random.default_rng(7)
    f = rng.standard_normal((400, 5)) @ rng.standard_normal((5, 5))
    assert abs(_metrics.frechet_distance(f, f)) < 1e-9
    a, b = np.array([1.0, 2.0, 0.5]), np.array([0.3, 2.0, 4.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 2.0])
    closed = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert _metrics.gaussian_frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(closed, abs=1e-12)
    for _ in range(3):
        m1, m2 = rng.standard_normal((2, 6, 6))
        s1, s2 = m1 @ m1.T + 0.1 * np.eye(6), m2 @ m2.T + 0.1 * np.eye(6)
        cross = np.real(np.trace(scipy.linalg.sqrtm(s1 @ s2)))
        expected = np.trace(s1) + np.trace(s2) - 2 * cross
        assert _metrics.gaussian_frechet_distance(np.zeros(6), s1, np.zeros(6), s2) == pytest.approx(expected, abs=1e-8)


# ---------------------------------------------------------------------------------------------------- bits/dim pipeline


def test_flow_bits_per_dim_of_the_exact_gaussian_score_is_the_gaussians_own():
    """The pipeline of `digits` (PF ODE from ε, Hutchinson, offset log2(17/2)) with the exact score of a Gaussian
    fitted to dequantised digits gives that Gaussian's directly computed bits/dim (catches a wrong offset, sign or
    dimension in the conversion: the offset alone is 3.09 bits).

    Tolerance: Hutchinson's one-probe estimate is unbiased with a per-example spread; the mean over 24 examples is
    within 5 of its standard errors (measured spread), plus the p_ε-vs-p_0 and ODE-tolerance differences (ε = 1e-3
    blurs by std 0.01 against a covariance whose smallest eigenvalue is ~1e-3: < 0.02 bits, measured 0.01)."""
    images, labels = _data.load_digits_data()
    split = _data.split_by_seed(images, labels, 0)
    rng = np.random.default_rng(0)
    x_train = _data.dequantize_levels(rng, split.train_images)
    x_test = _data.dequantize_levels(rng, split.test_images)[:24]
    fit = _baselines.fit_gaussian_mixture(x_train, 1)
    direct = -fit.log_prob(x_test) / (64 * np.log(2)) + _data.levels_offset(17)
    sde = _score.digits_sde()
    score = sr.exact_score(sde, sr.Gaussian(jnp.asarray(fit.means[0]), jnp.asarray(fit.covs[0])))
    size = _score.SIZES["quick"]
    flow = _score.held_out_bits_per_dim(jax.random.PRNGKey(1), sde, score, x_test, size, progress=False, chunk=24)
    se = np.std(flow - direct, ddof=1) / np.sqrt(len(flow))
    assert abs(np.mean(flow) - np.mean(direct)) < 5 * se + 0.02


# ---------------------------------------------------------------------------------------------------- quick runs


def _run(name, out, **kwargs) -> tuple[dict, np.ndarray, str]:
    config = RunConfig(name=name, size="quick", seed=0, out=out, steps=None, resume=False, data=None, progress=False)
    report = run_experiment(RunConfig(**{**config.__dict__, **kwargs}))
    metrics = json.loads((out / "metrics.json").read_text())
    return metrics, np.load(out / "samples.npy"), report.read_text()


def test_digits_quick_run(tmp_path):
    """`digits --quick`: files written; thresholds of derivations/experiments_digits.md §8."""
    metrics, samples, report = _run("digits", tmp_path / "digits")
    assert "## Metrics" in report and (tmp_path / "digits" / "samples.png").is_file()
    # results in the data's scale: grey levels 0..16, (n, 8, 8)
    assert samples.ndim == 3 and samples.shape[1:] == (8, 8)
    assert np.all(samples == np.round(samples)) and samples.min() >= 0 and samples.max() <= 16
    bpd = metrics["bits_per_dim"]
    score = bpd["score model (PF ODE)"]
    single = bpd["single Gaussian (the score model's start)"]
    # exact bound: any model worse than the uniform law on 17 levels (log2 17 = 4.087) has learned nothing
    assert score["mean"] + 5 * score["se"] < UNIFORM_BPD
    # the model starts as the fitted Gaussian (bits/dim 2.96-2.98 through this pipeline): a quick run must improve on
    # its own start. The run is deterministic (fixed seed), so the bound guards against a broken model, not against
    # flakiness: one-sided at 3 paired standard errors, a model no better than its start passes with probability
    # 1e-3 (measured: -0.137 ± 0.031, i.e. 4.4 standard errors)
    diff = metrics["bits_per_dim_score_minus_baseline"]["single Gaussian (the score model's start)"]
    assert diff["mean"] + 3 * diff["se"] < 0, (score, single, diff)
    # the metrics' classifier: a 2-layer MLP on digits; below 90% held-out accuracy IS/FD would measure it, not
    # the samples (nearest-class-mean already reaches ~0.9)
    assert metrics["classifier_held_out_accuracy"] > 0.9
    s = metrics["samples"]
    real, gen = s["held-out real digits"], s["score model (PF ODE)"]
    # ceiling: real digits are recognised (IS near 10 for confident balanced predictions)
    assert real["inception_score"] > 8.0
    # generated digits: IS > 4, i.e. more than 4 effective classes (IS = 1 for samples with no class structure, 10 at
    # most; measured 6.7); the score model starts as the single Gaussian, so its samples must be closer to the data
    # than its start's, in FD (same n, same reference set, so the same finite-sample bias; measured 19.0 against 27.8);
    # and no closer than the held-out real digits, the floor (4.1)
    start = s["single Gaussian (the score model's start)"]
    assert gen["inception_score"] > 4.0
    assert real["frechet_distance"] < gen["frechet_distance"] < start["frechet_distance"], (gen, start)


def test_digits_conditional_quick_run(tmp_path):
    """`digits-conditional --quick`: guidance makes the held-out classifier see the class asked for.

    Unguided, the fraction labelled c is ~0.1; with 10 samples per class, 100 per scale, a mean accuracy that
    ignored the label would stay below 0.1 + 5·sqrt(0.09/100) = 0.25 with false-failure probability < 1e-6, so
    Bayes' rule (λ = 1) and the strongest guidance must beat 0.25 (measured 0.89 and 0.96)."""
    metrics, samples, _ = _run("digits-conditional", tmp_path / "cond")
    assert samples.shape[1:] == (8, 8)
    acc = metrics["mean_accuracy"]
    assert acc["unguided"] < 0.25
    assert acc["λ = 1"] > 0.25
    assert acc[f"λ = {max(metrics['guidance_scales']):g}"] > 0.25


def test_digits_inpaint_quick_run(tmp_path):
    """`digits-inpaint --quick`: the known half bit-exact against the held-out truth (rebuilt here from the seed), and
    the completions use it.

    A draw from a sampler that ignored the known half (with the data's marginal) has expected squared error
    E||X' - x||² = 2 Var(x_U), twice the training mean image's; so per image D_i = MSE_draw,i - 2 MSE_mean,i has
    mean 0 for such a sampler, and the score model's draws must give mean(D) + 5 se(D) < 0 (false-failure
    probability < 1e-6 under the normal approximation over 60 images; measured RMSE 4.85 against the mean image's
    4.46, an MSE ratio of 1.18, far from 2)."""
    metrics, samples, _ = _run("digits-inpaint", tmp_path / "inpaint")
    images, labels = _data.load_digits_data()
    split = _data.split_by_seed(images, labels, 0)
    truth = split.test_images[: len(samples)]
    np.testing.assert_array_equal(samples[:, :4, :], truth[:, :4, :])  # bit for bit
    assert metrics["known_half_bit_exact"] is True
    mean_image = split.train_images.mean(axis=0)
    mse_draw = np.mean((samples[:, 4:, :] - truth[:, 4:, :]) ** 2, axis=(1, 2))
    mse_mean = np.mean((mean_image[None, 4:, :] - truth[:, 4:, :]) ** 2, axis=(1, 2))
    d = mse_draw - 2 * mse_mean
    assert d.mean() + 5 * d.std(ddof=1) / np.sqrt(len(d)) < 0, (mse_draw.mean(), mse_mean.mean())
    # the reported RMSE is the one recomputed here
    draw = metrics["rmse_grey_levels"]["score model: one completion (draw)"]
    assert draw == pytest.approx(np.sqrt(mse_draw.mean()), rel=1e-12)


def _image_file(path: pathlib.Path) -> pathlib.Path:
    """60 images 8 × 8: a bright horizontal or vertical bar at a random place, plus noise (float32)."""
    rng = np.random.default_rng(11)
    images = 0.05 * rng.standard_normal((60, 8, 8))
    for i, img in enumerate(images):
        j = rng.integers(1, 7)
        if i % 2:
            img[j] += 1.0
        else:
            img[:, j] += 1.0
    np.save(path, images.astype(np.float32))
    return path


def test_user_images_run_twice_gives_the_same_files(tmp_path):
    """`--data FILE.npy` of images: samples in the array's shape and scale, the report says what it stands in for,
    and the same seed twice gives byte-identical files (all but timing.json)."""
    data = _image_file(tmp_path / "bars.npy")
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        metrics, samples, report = _run("digits", out, data=data, steps=300)
    assert samples.shape[1:] == (8, 8)
    assert "Fashion-MNIST" in report and "cars" in report
    assert metrics["n_train"] == 48
    names = sorted(p.name for p in outs[0].iterdir() if p.is_file() and p.name != "timing.json")
    assert names == sorted(p.name for p in outs[1].iterdir() if p.is_file() and p.name != "timing.json")
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
