r"""`scoresde-ref experiment` for gmm1d, smile, smile-noisy and `--data` vectors (derivations/experiments.md §5).

Each experiment's `--quick` run happens once (session-scoped fixtures) and its metrics are asserted against thresholds
argued next to each assertion: a noise part (5 standard errors or KS at α = 1e-6, each a false-failure probability
≤ 6e-7 for a sampler whose law is exact) plus, where a learned model is measured, the quick size's stated accuracy
target (a tenth of the mass misplaced, or 0.1 nats), never a value read off a run. Then bad command lines (exit 2,
one line, nothing trained), the same seed giving byte-identical files, `--resume` giving the files of an
uninterrupted run, `--data` with a generated file, and the pieces (MMD², W₁ to a CDF, the smile's density).
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats

from scoresde_ref.experiments import _cli
from scoresde_ref.experiments._smile_law import PANELS, SmileLaw, theta_rule
from scoresde_ref.experiments._two_sample_extra import mmd2_unbiased, w1_to_cdf
from scoresde_ref.metrics._two_sample import sliced_w1

FILES = ("report.md", "metrics.json", "samples.npy")
KS_ALPHA = 1e-6
Z = 5.0  # standard errors: two-sided Gaussian tail 5.7e-7
QUICK_MASS = 0.1  # the quick size's target: at most a tenth of the mass misplaced (derivations/experiments.md §5)


def run_cli(*argv) -> int:
    return _cli.experiment_main([str(a) for a in argv])


def load(out: pathlib.Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def files_of(out: pathlib.Path) -> dict:
    names = [*FILES, *sorted(p.name for p in out.glob("*.png"))]
    return {name: (out / name).read_bytes() for name in names}


@pytest.fixture(scope="session")  # session: survives other modules interleaved on this worker
def gmm1d_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("gmm1d")
    assert run_cli("gmm1d", "--quick", "--out", out) == 0
    return out, load(out)


@pytest.fixture(scope="session")  # session: survives other modules interleaved on this worker
def smile_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("smile")
    assert run_cli("smile", "--quick", "--out", out) == 0
    return out, load(out)


@pytest.fixture(scope="session")  # session: survives other modules interleaved on this worker
def smile_noisy_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("smile-noisy")
    assert run_cli("smile-noisy", "--quick", "--out", out) == 0
    return out, load(out)


# ---------------------------------------------------------------------------------------------------------- gmm1d


def test_gmm1d_quick_writes_its_files(gmm1d_quick):
    out, m = gmm1d_quick
    for name in (*FILES, "timing.json", "density.png", "trajectories.png", "score_error.png", "training.png"):
        assert (out / name).is_file(), name
    samples = np.load(out / "samples.npy")
    assert samples.shape == (2000, 1) and np.all(np.isfinite(samples))
    report = (out / "report.md").read_text()
    assert "000_cce368350850b628.txt §5.1" in report and "| metric |" in report and "![density](density.png)" in report
    timing = json.loads((out / "timing.json").read_text())
    assert timing["wall_s"] > 0 and timing["peak_rss_mib"] > 0


def test_gmm1d_quick_samplers_match_the_exact_mixture(gmm1d_quick):
    """Every sampler, with the learned and with the exact score: KS against the exact p_ε at α = 1e-6 and the
    weight of the mode at −3 within 5 binomial standard errors (at the true ½) of ½. For the exact score both are
    pure noise bounds (false failure ≤ 1e-6 each; EM's O(h) bias at 100 steps is far below KS's resolution
    D ≈ 0.06 at n = 2000). For the learned score they say that the quick model's error is not detectable at
    n = 2000. Planted bugs caught: a sampler integrating the wrong way or without the score (KS p ~ 0), a model
    that drops a mode (weight 0 or 1)."""
    _, m = gmm1d_quick
    se_true = np.sqrt(0.25 / 2000)
    for which in ("learned", "exact"):
        for name, s in m["samplers"][which].items():
            assert s["ks_pvalue"] > KS_ALPHA, (which, name, s["ks_pvalue"])
            assert abs(s["mode_weights"][0] - 0.5) <= Z * se_true, (which, name, s["mode_weights"])


def test_gmm1d_quick_exact_score_w1_is_at_the_noise_floor(gmm1d_quick):
    """W₁ of the exact-score samples to the exact CDF ≤ the floor's mean + 5 of its standard deviations (the floor:
    W₁ of exact draws of the same size, 10 repeats): the samplers' discretisation error is invisible at this n."""
    _, m = gmm1d_quick
    floor = m["w1_floor"]
    for name, s in m["samplers"]["exact"].items():
        assert s["w1"] <= floor["mean"] + Z * floor["std"], (name, s["w1"], floor)


def test_gmm1d_quick_nll_and_score_error(gmm1d_quick):
    """NLL gap = mean(−log p_θ − (−log p_ε)) on the same fresh points estimates KL(p_0 ‖ p_θ) + O(ε) ≥ 0: it is
    ≥ −5 SE (a model cannot beat the truth; catches a sign or an exact-entropy error), and ≤ the quick target
    0.1 nats + 5 SE; the SDE model's bound ½∫g²e dt meets the same 0.1-nat target."""
    _, m = gmm1d_quick
    se = m["score_error"]
    assert se["nll_gap"] >= -Z * se["nll_gap_stderr"]
    assert se["nll_gap"] <= 0.1 + Z * se["nll_gap_stderr"]
    assert se["weighted_error"] <= 0.1 + Z * se["weighted_error_stderr"]


def test_gmm1d_rk1_is_euler_maruyama_with_the_same_noise(gmm1d_quick):
    """003's RK1 with EM's own draws equals EM: the correction vanishes for additive noise (ERRATA E38), so only
    rounding differs — ~100 steps × 2.2e-16 × |x| ≤ 10, far below 1e-10; a nonzero correction or other draws give
    O(0.1)."""
    _, m = gmm1d_quick
    assert m["rk1_vs_em_max_abs_diff"] <= 1e-10


# ---------------------------------------------------------------------------------------------------------- smile


def quick_smile_bounds(m: dict, name: str):
    """Thresholds for a quick smile run: noise (floor mean + 5 floor std) + the quick target of a tenth of the
    mass misplaced: by the face's radius 1 in sliced W₁ (which is ≤ W₁), and 2 × 0.1² in MMD² (a mixture
    (1 − q)p + q r has MMD²(p, ·) = q² MMD²(p, r) ≤ 2q², the kernel being ≤ 1)."""
    floor = m["two_sample"]["floor"]
    return {
        "sliced_w1": floor["sliced_w1"]["mean"] + Z * floor["sliced_w1"]["std"] + QUICK_MASS * 1.0,
        "mmd2": floor["mmd2"]["mean"] + Z * floor["mmd2"]["std"] + 2 * QUICK_MASS**2,
    }


@pytest.mark.parametrize("which", ["smile", "smile-noisy"])
def test_smile_quick_samples_against_fresh_data(which, request):
    """Sliced W₁, MMD², part weights and the off-smile share of each sampler against the bounds of
    `quick_smile_bounds`; the weights within 5 binomial SE (at the true ¼, ¼, ½); the share farther than 0.1 from
    every part ≤ 0.1 + 5 SE (truth: 4e-6); no sample beyond radius 10 (a diverged particle). Then the same bounds
    refuse prior draws N(0, I) (what an untrained or inverted sampler returns), so they can fail."""
    out, m = request.getfixturevalue("smile_quick" if which == "smile" else "smile_noisy_quick")
    bounds = quick_smile_bounds(m, which)
    n = m["two_sample"]["n_reference"]
    for s in m["samplers"]:
        for stat, bound in bounds.items():
            assert m["two_sample"][s][stat] <= bound, (s, stat, m["two_sample"][s][stat], bound)
        parts = m["components"][s]
        for w, truth in zip(parts["fractions"], m["true_weights"]):
            assert abs(w - truth) <= Z * np.sqrt(truth * (1 - truth) / n), (s, parts)
        assert parts["off_smile_fraction"] <= QUICK_MASS + Z * np.sqrt(QUICK_MASS * (1 - QUICK_MASS) / n)
        assert m["divergence"][s]["n_beyond"] == 0  # the law has no mass beyond radius 10 (eyes: e^-125000)
    law = SmileLaw(0.02 if which == "smile-noisy" else 0.0)
    fresh = law.sample(jax.random.key(7), n)
    prior = np.asarray(jax.random.normal(jax.random.key(8), (n, 2)), np.float64)
    bandwidths = np.asarray(m["two_sample"]["bandwidths"])
    assert sliced_w1(jax.random.key(9), prior, fresh, 128) > bounds["sliced_w1"]
    assert mmd2_unbiased(prior, fresh, bandwidths) > bounds["mmd2"]
    assert np.load(out / "samples.npy").shape == (n, 2)


def test_smile_noisy_quick_nll_against_the_entropy(smile_noisy_quick):
    """The model's NLL of fresh points minus the exact cross-entropy on the same points estimates KL ≥ 0: ≥ −5 SE.
    The entropy by quadrature is −log p_0 averaged over 20,000 fresh points; on the NLL's own points the same
    density gives a value within 5 combined SE of it (one law, two samples)."""
    _, m = smile_noisy_quick
    nll = m["nll"]
    assert nll["nll_gap"] >= -Z * nll["nll_gap_stderr"]
    assert np.isfinite(nll["nll_model"])
    assert m["nll"]["entropy_n"] == 20000
    smile_entropy_se = nll["entropy_stderr"] * np.sqrt(nll["entropy_n"] / nll["n"])  # SE of the 200-point mean
    assert abs(nll["minus_log_p0_same_points"] - nll["entropy"]) <= Z * np.hypot(
        smile_entropy_se, nll["entropy_stderr"]
    )


def test_smile_has_no_nll(smile_quick):
    """The noiseless mouth is a curve: no density in the plane, so no NLL is reported (never a number)."""
    assert smile_quick[1]["nll"] is None


# ------------------------------------------------------------------------------------- same seed, resume, --data


def test_same_seed_same_files_and_resume_continues_the_run(tmp_path, smile_quick):
    """Two runs with the same seed (smile, --steps 500: the quick run's compilations serve) write byte-identical
    report.md, metrics.json, samples.npy and PNGs; a run stopped at 500 steps and resumed to 1000 writes the files
    of an uninterrupted 1000-step run. A different seed gives other samples (the comparison can fail)."""
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert run_cli("smile", "--quick", "--steps", 500, "--out", a) == 0
    assert run_cli("smile", "--quick", "--steps", 500, "--out", b) == 0
    assert files_of(a) == files_of(b)
    assert run_cli("smile", "--quick", "--steps", 1000, "--out", c) == 0
    assert run_cli("smile", "--quick", "--steps", 1000, "--resume", "--out", a) == 0
    assert files_of(a) == files_of(c)
    assert np.load(a / "samples.npy").tobytes() != np.load(smile_quick[0] / "samples.npy").tobytes()


def test_resume_refuses_another_seed(tmp_path, capsys):
    """A checkpoint of seed 0 is not continued under seed 1: exit 2, one line, before any training."""
    out = tmp_path / "r"
    (out / "checkpoint").mkdir(parents=True)
    (out / "checkpoint" / "run.json").write_text(
        json.dumps({"name": "smile", "size": "quick", "seed": 0, "data": None})
    )
    assert run_cli("smile", "--quick", "--seed", 1, "--resume", "--out", out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "seed" in err[0] and not (out / "report.md").exists()


def test_data_vectors_are_trained_on_and_mapped_back(tmp_path):
    """`--data` with a generated (300, 2) file, far from unit scale (means (10, −5), stds (3, 0.5)): the samples
    come back in the data's scale (their mean within 5 SE of the held-out rows' — fails if the standardisation is
    not undone), sliced W₁ and MMD² to the held-out rows within the quick bounds around the floor (training rows
    vs held-out rows), and the report names the experiment it stands in for."""
    rng = np.random.default_rng(3)
    path = tmp_path / "vectors.npy"
    np.save(path, rng.normal([10.0, -5.0], [3.0, 0.5], size=(300, 2)))
    out = tmp_path / "out"
    assert run_cli("smile", "--quick", "--data", path, "--out", out) == 0
    m = load(out)
    samples = np.load(out / "samples.npy")
    assert samples.shape == (60, 2)
    se = np.array([3.0, 0.5]) * np.sqrt(2 / 60)  # difference of two means of 60 points each
    assert np.all(np.abs(samples.mean(0) - np.array([10.0, -5.0])) <= Z * se + np.array([3.0, 0.5]) * 0.1)
    floor = m["two_sample"]["floor"]
    scale = 3.0  # the data's largest scale: the sliced W₁ target is a tenth of the mass moved by it
    for s in m["samplers"]:
        assert (
            m["two_sample"][s]["sliced_w1"] <= floor["sliced_w1"]["mean"] + Z * floor["sliced_w1"]["std"] + 0.1 * scale
        )
        assert m["two_sample"][s]["mmd2"] <= floor["mmd2"]["mean"] + Z * floor["mmd2"]["std"] + 2 * QUICK_MASS**2
    assert "000 §5.2" in (out / "report.md").read_text()


# ---------------------------------------------------------------------------------------------------- bad input


def bad_arrays(tmp_path) -> dict:
    cases = {}

    def save(name, array):
        path = tmp_path / f"{name}.npy"
        np.save(path, array)
        cases[name] = path

    save("integer", np.zeros((50, 2), np.int64))
    save("float16", np.zeros((50, 2), np.float16))
    save("nan", np.where(np.arange(100).reshape(50, 2) == 7, np.nan, 0.0))
    save("rank1", np.zeros(50))
    save("rank5", np.zeros((50, 1, 2, 2, 2)))
    save("too_few_rows", np.zeros((10, 2)))
    np.savez(tmp_path / "archive.npz", x=np.zeros((50, 2)))
    cases["archive"] = tmp_path / "archive.npz"
    (tmp_path / "text.npy").write_text("not an array")
    cases["text"] = tmp_path / "text.npy"
    cases["missing"] = tmp_path / "missing.npy"
    return cases


@pytest.mark.parametrize(
    "case",
    ["name", "steps0", "steps_negative", "seed_negative", "seed_too_big", "out_is_file", "integer", "float16", "nan",
     "rank1", "rank5", "too_few_rows", "archive", "text", "missing"],
)  # fmt: skip
def test_bad_command_lines_exit_2_in_one_line_before_training(case, tmp_path, capsys):
    """Each bad input exits 2 with one line `scoresde-ref experiment: error: ...` and writes nothing."""
    out = tmp_path / "out"
    argv = ["smile", "--quick", "--out", out]
    if case == "name":
        argv[0] = "nope"
    elif case.startswith("steps"):
        argv += ["--steps", 0 if case == "steps0" else -5]
    elif case.startswith("seed"):
        argv += ["--seed", -1 if case == "seed_negative" else 2**32]
    elif case == "out_is_file":
        out.write_text("")
    else:
        argv += ["--data", bad_arrays(tmp_path)[case]]
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("scoresde-ref experiment: error: "), err
    assert not (out / "checkpoint").exists() and not (out.is_dir() and any(out.iterdir()))


@pytest.mark.parametrize("argv", [["smile", "--quick", "--size", "large"], ["smile", "--steps", "ten"], []])
def test_argparse_errors_exit_2(argv):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(*argv)
    assert exit_info.value.code == 2


def test_image_arrays_need_the_digits_runner(tmp_path, capsys, monkeypatch):
    """Images (n, H, W) given to a vector experiment go to `digits.run_user_images`; without it: exit 2."""
    import scoresde_ref.experiments._user_data as user_data

    def missing():
        raise user_data.ExperimentUsageError(f"{user_data.OWNER}: run_user_images is not available yet")

    monkeypatch.setattr(user_data, "image_runner", missing)
    path = tmp_path / "images.npy"
    np.save(path, np.zeros((30, 8, 8)))
    assert run_cli("smile", "--quick", "--data", path, "--out", tmp_path / "out") == 2
    assert "run_user_images" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------------- pieces


def test_mmd2_unbiased_against_the_double_sum():
    """`mmd2_unbiased` (chunked, expanded squares) against the definition as explicit double sums (1e-12: float64
    sums of ≤ 100 terms of size ≤ 1)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 2)), rng.normal(1.0, 2.0, size=(5, 2))
    h = np.array([0.3, 1.0])

    def k(a, b):
        return np.mean(np.exp(-np.sum((a - b) ** 2) / (2 * h**2)))

    xx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / 42
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
    xy = sum(k(x[i], y[j]) for i in range(7) for j in range(5)) / 35
    assert abs(mmd2_unbiased(x, y, h) - (xx + yy - 2 * xy)) <= 1e-12


def test_w1_to_cdf_against_the_quantile_integral():
    """W₁(F_n, Φ) by the merged-grid integral of |F_n − Φ| against the other route, ∫₀¹|F_n⁻¹(u) − Φ⁻¹(u)|du
    (Gauss–Legendre on each block of width 1/n, endpoints mapped away from the infinite quantiles); both agree to
    1e-4 (the grid's O(Δ²) cells and the tails beyond the quadrature nodes, each ≤ 1e-5)."""
    x = np.sort(np.random.default_rng(1).normal(size=200))
    u, w = np.polynomial.legendre.leggauss(40)
    total = 0.0
    for i in range(200):
        lo, hi = i / 200, (i + 1) / 200
        nodes = lo + (hi - lo) * (u + 1) / 2
        total += np.sum(w * (hi - lo) / 2 * np.abs(x[i] - scipy.stats.norm.ppf(nodes)))
    assert abs(w1_to_cdf(x, scipy.stats.norm.cdf) - total) <= 1e-4


def test_smile_quadrature_weights_and_node_doubling():
    """The θ rule integrates the mouth's density ½|sin θ| to 1 (1e-13: float64 sums of 2,048 positive terms); the
    log-density with twice the panels agrees to 1e-10 near the eyes, on and off the mouth, and far away
    (the Gauss–Legendre error is far below that once a panel is narrower than the Gaussian, module docstring)."""
    assert abs(theta_rule()[1].sum() - 1.0) <= 1e-13
    law = SmileLaw(0.02)
    y = jnp.asarray([[-0.6, 0.8], [0.61, 0.79], [0.0, -1.0], [0.8, -0.6], [0.9, -0.3], [0.0, 0.0], [2.0, 2.0]])
    for alpha, sigma in ((1.0, 0.0), (0.99, 0.05)):
        a = np.asarray(law.log_prob(y, alpha, sigma))
        b = np.asarray(law.log_prob(y, alpha, sigma, panels=2 * PANELS))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_smile_mouth_density_against_the_midpoint_rule_in_x():
    r"""The mouth's density by quadrature in θ (with the Jacobian ½|sin θ|) against the other parameterisation,
    $\tfrac12\int_{-1}^1 \mathcal N(y; (x, -\sqrt{1-x^2}), \tau^2 I)\,dx$ by the midpoint rule on 400,000 cells
    (≥ 2,000 cells per Gaussian width in x: its error is far below 1e-6 relative): within 1e-6 at points where
    |sin θ| = 0.6, 0.8, 1, where the eyes weigh nothing. Planted bug, checked once: θ taken uniform (weights 1/π,
    no Jacobian ½|sin θ|) is off by the factor 2/(π|sin θ|): 36% low at x = 0, 6% high at x = ±0.8."""
    law = SmileLaw(0.02)
    n = 400_000
    x = -1 + (np.arange(n) + 0.5) * (2 / n)
    curve = np.stack([x, -np.sqrt(1 - x**2)], axis=1)
    for point in ([0.8, -0.6], [-0.6, -0.8], [0.0, -1.0], [0.6, -0.81]):
        d2 = np.sum((curve - np.asarray(point)) ** 2, axis=1)
        midpoint = np.mean(np.exp(-d2 / (2 * 0.02**2)) / (2 * np.pi * 0.02**2))  # = ½∫ N dx (mean = sum × dx/2)
        mouth = np.exp(np.asarray(law.log_prob(jnp.asarray([point])))[0]) / 0.5  # p = ½ p_mouth + eyes (≈ 0 here)
        assert abs(mouth / midpoint - 1) <= 1e-6, (point, mouth, midpoint)
