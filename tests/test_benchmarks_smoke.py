"""The performance suite runs end to end (`benchmarks/gpu.sh --cpu-smoke`: every benchmark at tiny size), and
the per-step overhead removed from `pc_sample` stays removed (issue 17; derivations/performance.md).

The regression tests count operations, not seconds (a shared machine makes timings noisy): the loop body of
`pc_sample` has exactly the `cond`s (run-time checks) of a hand-fused loop calling the same score, and at most
`EXTRA_OPS` more equations; the hoisted time check still refuses a bad grid at run time; the score's shape
check traces the score once per abstract signature.
"""

import json
import os
import pathlib
import subprocess
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import scoresde_ref as sr
import scoresde_ref.samplers._pc as pc
from scoresde_ref._jit_boundary import floats_as_arrays
from scoresde_ref.examples import gaussian_2d
from scoresde_ref.samplers import EulerMaruyama

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_pc_overhead  # noqa: E402

#: Equations of `pc_sample`'s EM loop body beyond the hand-fused body (jaxpr, sub-jaxprs counted), today exactly
#: these 20: the corrector's key kept from the split (slice, squeeze); `tie`'s $0 \cdot t$ on the drift's two
#: coefficients (2 × convert, reduce_sum, mul, add, add); the drift's offset $b(t) = 0$ added (zeros, add);
#: $\beta(t)$ evaluated by both `drift_coeff` and `diffusion` (sub, mul, add) and $g^2$ from $g = \sqrt\beta$
#: (sqrt, mul). All act on 0-d scalars except the one `+ b`, which XLA fuses into the step's elementwise loop:
#: no extra pass over the batch. A new per-step check (a `cond`) or a per-step batch computation breaks the bound.
EXTRA_OPS = 20


def _problem(n=64):
    sde, score, x_T, key = bench_pc_overhead.problem(jnp.float32, n)
    return sde, score, x_T, key, floats_as_arrays((sde, score, bench_pc_overhead.EPS))


def test_pc_sample_loop_body_has_no_check_of_its_own():
    """Planted bug it catches: the per-step time checks (each coefficient's `check_time` an `eqx.error_if`, a
    `cond` in the loop) back in the body — `ours_per_step_checks` is that bug, and it fails both assertions."""
    _, _, x_T, key, dyn = _problem()
    fused = bench_pc_overhead.scan_body_ops(bench_pc_overhead.hand_fused(10), key, x_T, *dyn)
    ours = bench_pc_overhead.scan_body_ops(bench_pc_overhead.ours_traced(10), key, x_T, *dyn)
    bug = bench_pc_overhead.scan_body_ops(bench_pc_overhead.ours_traced(10, per_step_checks=True), key, x_T, *dyn)
    assert ours["conds"] == fused["conds"], (ours, fused)  # the score's own checks only, in both
    assert ours["eqns"] <= fused["eqns"] + EXTRA_OPS, (ours, fused)
    assert bug["conds"] > fused["conds"] and bug["eqns"] > fused["eqns"] + EXTRA_OPS, (bug, fused)


def test_pc_sample_equals_hand_fused_bit_for_bit():
    """Same arithmetic, same key scheme: the same bits (float32), so the speed comparison compares like with like."""
    sde, score, x_T, key, dyn = _problem()
    ours = sr.pc_sample(key, sde, score, x_T, n_steps=10, eps=bench_pc_overhead.EPS, denoise=False).x
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(bench_pc_overhead.hand_fused(10)(key, x_T, *dyn)))


def test_hoisted_time_check_still_refuses_a_bad_grid():
    """The grid check moved out of the loop is alive: the compiled core (`_pc_sample`, past the eager boundary that
    refuses eps >= T) given eps = 1.5 > T (a grid above T) fails at run time, naming the grid; eps = 1e-3 runs.
    Planted bug it catches: the grid scanned without its check (`times_checked` trusting an unchecked grid)."""
    sde, score, x_T, key, _ = _problem(8)
    options = (None, EulerMaruyama(), None, None, 10, "corrector_first", False, False)
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"pc_sample: time t_k must lie in \(0, T"):
        jax.block_until_ready(pc._pc_sample(key, sde, score, x_T, 1.5, *options))
    assert np.all(np.isfinite(np.asarray(pc._pc_sample(key, sde, score, x_T, 1e-3, *options)[0])))


def test_score_shape_check_traces_once_per_signature():
    """`check_score_output` (every sampler's boundary) traced the whole score on every call; now once per abstract
    signature: a second call with new numbers traces nothing new, a new shape (d = 3 data) is traced and refused."""
    sde = sr.VPSDE()
    traces, exact = [], sr.exact_score(sde, gaussian_2d())

    def score(x, t):  # a plain function: static, hashed by identity, as the compiled samplers treat it
        traces.append(1)
        return exact(x, t)

    x_T = sde.prior_sample(jax.random.key(0), (4, 2))
    sr.pc_sample(jax.random.key(1), sde, score, x_T, n_steps=3)
    first = len(traces)
    sr.pc_sample(jax.random.key(2), sde, score, x_T + 1.0, n_steps=3)
    assert len(traces) == first  # nothing traced again: neither the shape check nor the compiled core
    with pytest.raises((ValueError, TypeError), match="x_T"):
        sr.pc_sample(jax.random.key(1), sde, score, jnp.ones((4, 3)), n_steps=3)


def test_gpu_sh_cpu_smoke(tmp_path):
    """`benchmarks/gpu.sh --cpu-smoke` runs every benchmark at tiny size and writes JSON with the machine and the
    versions, the bit-identity of ours and the hand-fused loop, the memory rows and the training comparison."""
    env = dict(os.environ, PYTHON=sys.executable, JAX_PLATFORMS="cpu")
    done = subprocess.run(
        [str(ROOT / "benchmarks" / "gpu.sh"), "--cpu-smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    suite = json.loads((tmp_path / "suite.json").read_text())
    assert suite["mode"] == "cpu-smoke" and suite["versions"]["jax"] == jax.__version__
    assert set(suite["benchmarks"]) == {"pc_overhead", "scale", "training"}
    pc = json.loads((tmp_path / "pc_overhead.json").read_text())["results"][0]
    assert (
        pc["ours_bit_identical_to_hand_fused"]
        and pc["ops_per_step"]["ours"]["conds"] == pc["ops_per_step"]["hand_fused"]["conds"]
    )
    scale = json.loads((tmp_path / "scale.json").read_text())
    assert all(row["no_per_step_buffers"] for row in scale["em_scaling"]["rows"])
    assert scale["ode_vs_scipy"][0]["nfe"]["ode_ours"] > 0
    training = json.loads((tmp_path / "training.json").read_text())["results"][0]
    assert training["params_bit_identical_to_scan"] and training["params_bit_identical_to_python_loop"]
