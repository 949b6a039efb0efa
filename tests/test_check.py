"""The conformance harness (`scoresde_ref.check`): error measures, the reports, the three ways in (Python, pytest
package, CLI) and the registry."""

import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from scoresde_ref import check
from scoresde_ref.check._cli import check_main
from scoresde_ref.check._report import case_errors, ulp_distance
from scoresde_ref.compat import diffusers as twins
from scoresde_ref.conformance import read_xfails


def test_ulp_distance_counts_floats_between():
    """Adjacent floats are 1 apart, across zero too (-0.0 and +0.0 are the same float); NaN vs NaN is 0."""
    x = np.float32(1.0)
    assert ulp_distance(x, np.nextafter(x, np.float32(2)), np.float32) == 1
    tiny = np.nextafter(np.float64(0), np.float64(1))
    assert ulp_distance(-tiny, tiny, np.float64) == 2
    assert ulp_distance(-0.0, 0.0, np.float64) == 0
    assert ulp_distance(np.nan, np.nan, np.float64) == 0 and np.isinf(ulp_distance(np.nan, 1.0, np.float64))


def test_case_errors_scale_and_non_finite():
    """The scaled error is |a - b| / (u S), S including the inputs; a NaN where the twin is finite is infinite."""
    u = 2.0**-53
    err = case_errors({"y": np.array([1.0 + 8 * u * 4])}, {"y": np.array([1.0])}, {"x": np.array([4.0])}, np.float64)
    assert err.scaled == pytest.approx(8.0)  # S = max(1, |x| = 4, |y|) = 4: 32 u absolute is 8 u of S
    bad = case_errors({"y": np.array([np.nan])}, {"y": np.array([1.0])}, {}, np.float64)
    assert np.isinf(bad.scaled) and "non-finite" in bad.message


def test_unmutated_diffusers_twins_pass_in_both_dtypes():
    """Every diffusers twin against itself (float64 and float32 storage) passes with zero error: the harness runs
    the same inputs through the same code on both sides (a harness that perturbed inputs would fail here)."""
    for name in (
        "diffusers.DDPMScheduler",
        "diffusers.DDIMScheduler",
        "diffusers.EulerDiscreteScheduler",
        "diffusers.EulerAncestralDiscreteScheduler",
    ):
        cls = getattr(twins, name.split(".")[1])
        for dtype in (np.float64, np.float32):
            report = check.compare(functools.partial(cls, dtype=dtype), name, examples=6)
            assert report.passed and report.dtype == np.dtype(dtype).name, report.table()
            assert all(m.max_abs_error == 0 and m.examples > 0 for m in report.methods)


def test_float32_target_against_float64_storage_differs_by_the_documented_offset():
    """A float32-storage DDPM checked as a float64 target fails at sqrt(1 - alpha_bar_0) (8e-5 relative, the
    float32 storage offset of derivations/compat.md), far above the float64 ULP bound: the harness tells the two
    precisions apart."""
    f32 = functools.partial(twins.DDPMScheduler, dtype=np.float32)
    report = check.compare(f32, "diffusers.DDPMScheduler", examples=10, methods=["add_noise"], dtype=np.float64)
    m = report["add_noise"]
    assert not m.passed and m.max_rel_error > 1e-7 and m.tolerance.kind == "ulp"


def test_report_structure_and_worst_input():
    """A failing report names the worst input (config and arrays), both outputs and the tolerance with a reason;
    JSON round-trips."""
    from scoresde_ref.check._mutants import DDIMLeading

    report = check.compare(DDIMLeading, "diffusers.DDIMScheduler", examples=10, methods=["set_timesteps"])
    m = report["set_timesteps"]
    assert not m.passed and m.worst_input["config"]["timestep_spacing"] != "leading"
    assert set(m.worst_outputs) == {"target", "twin"} and m.tolerance.kind == "exact" and m.tolerance.reason
    loaded = json.loads(report.to_json())
    assert loaded["passed"] is False and loaded["methods"][0]["method"] == "set_timesteps"
    assert "FAIL" in report.table()


def test_target_that_raises_fails_with_the_message():
    class Broken(twins.DDPMScheduler):
        def step(self, *args, **kwargs):
            raise RuntimeError("boom")

    m = check.compare(Broken, "diffusers.DDPMScheduler", examples=3, methods=["step"], dtype=np.float64)["step"]
    assert not m.passed and "RuntimeError: boom" in m.message


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="compare: examples"):
        check.compare(twins.DDPMScheduler, "diffusers.DDPMScheduler", examples=0)
    with pytest.raises(ValueError, match="get_twin: twin must be one of"):
        check.get_twin("nope")
    with pytest.raises(ValueError, match="load_target: target must be 'module:attribute'"):
        check.load_target("no_colon")
    with pytest.raises(ValueError, match="offers dtypes"):
        check.compare(twins.DDPMScheduler, "score_sde.LangevinCorrector", dtype=np.float32)


def test_registry_lists_every_twin():
    names = check.twin_names()
    for expected in (
        "diffusers.DDPMScheduler",
        "diffusers.DDIMScheduler",
        "diffusers.EulerDiscreteScheduler",
        "diffusers.EulerAncestralDiscreteScheduler",
        "diffusers.ScoreSdeVeScheduler",
        "diffusers.ScoreSdeVpScheduler",
        "score_sde.LangevinCorrector",
        "score_sde.get_pc_sampler",
        "k_diffusion.get_sigmas_vp",
        "k_diffusion.get_sigmas_karras",
        "paper.LangevinCorrector",
        "paper.get_pc_sampler",
    ):
        assert expected in names


def test_score_sde_ve_vp_twins_pass_against_themselves():
    """The continuous-time diffusers twins (slow eager steps: 2 inputs each)."""
    for name, cls in (
        ("diffusers.ScoreSdeVeScheduler", twins.ScoreSdeVeScheduler),
        ("diffusers.ScoreSdeVpScheduler", twins.ScoreSdeVpScheduler),
    ):
        assert check.compare(cls, name, examples=2, dtype=np.float64).passed


def test_cli_table_json_and_exit_status(tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = check_main(
        [
            "--target",
            "scoresde_ref.compat.diffusers:DDPMScheduler",
            "--twin",
            "diffusers.DDPMScheduler",
            "--examples",
            "5",
            "--json",
            str(out),
        ]
    )
    assert rc == 0 and "step" in capsys.readouterr().out and json.loads(out.read_text())["passed"] is True
    rc = check_main(
        [
            "--target",
            "scoresde_ref.check._mutants:DDIMFinalAlphaBar0",
            "--twin",
            "diffusers.DDIMScheduler",
            "--examples",
            "10",
            "--method",
            "step",
        ]
    )
    assert rc == 1 and "FAIL" in capsys.readouterr().out
    assert check_main(["--target", "nomodule_xyz:f", "--twin", "diffusers.DDPMScheduler"]) == 2


def test_xfails_file_needs_reasons(tmp_path):
    good, bad = tmp_path / "x.txt", tmp_path / "y.txt"
    good.write_text("# expected\nstep: diffusers #14569 (NaN)\n\n")
    bad.write_text("step\n")
    assert read_xfails(good) == {"step": "diffusers #14569 (NaN)"}
    with pytest.raises(ValueError, match="METHOD: reason"):
        read_xfails(bad)


def test_pytest_conformance_package_with_xfails(tmp_path):
    """`pytest --pyargs scoresde_ref.conformance` on a mutant: the listed method is XFAIL, the others pass."""
    xfail = tmp_path / "xfail.txt"
    xfail.write_text("step: planted bug, final alpha_bar_prev = alpha_bar_0 (Stability-AI/stablediffusion #345)\n")
    env = os.environ | {
        "SCORESDE_TARGET": "scoresde_ref.check._mutants:DDIMFinalAlphaBar0",
        "SCORESDE_TWIN": "diffusers.DDIMScheduler",
        "SCORESDE_XFAIL": str(xfail),
        "SCORESDE_EXAMPLES": "10",
    }
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--pyargs", "scoresde_ref.conformance"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed, 1 xfailed" in done.stdout
