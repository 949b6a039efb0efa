"""Sharded runs equal single-device runs (derivations/sharding.md).

Every entry point runs on one small batch (8 rows at four scales) sharded over a mesh, `NamedSharding(mesh,
P("batch"))`, in processes of their own (the device count is fixed when JAX starts its backend; this process
already has one device): 2 and 4 host CPU devices (`tests/sharding_worker.py`), and two processes of two devices
each joined by `jax.distributed` with the gloo CPU collectives (`tests/multiprocess_worker.py`). The single-device
reference is computed here, by the same code (`sharding_worker.run(None)`), while the 2- and 4-device workers
compile and run; the two processes start after them, on a quieter machine (their timeout is 120 s).

Each result is compared with the reference bit for bit (the random bits: counter-based, partitionable draws) or
within `EXPECTED[name]` units of float64 roundoff of its row's magnitude: per-example maps do the same operations
on every mesh but in another compiled program, and cross-example reductions are global but summed in another order;
the bound of each is argued in `EXPECTED` and derivations/sharding.md §3–§5. Per-example results are also the same
bits on 2 and 4 devices.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import equinox as eqx
import jax
import numpy as np
import pytest
import sharding_worker
from multiprocess_worker import NO_COLLECTIVES

import scoresde_ref as sr

pytestmark = pytest.mark.skipif(
    jax.default_backend() != "cpu", reason="host CPU devices simulate a mesh; the sharding tests run on CPU only"
)

TESTS = Path(__file__).parent
U = np.finfo(np.float64).eps  # one unit of roundoff (2^-52) at magnitude 1
BITS = 0  # the same bits

# Per-example results: the partitioned program does the same operations per element as the one-device program,
# but it is another XLA program, fused and vectorised differently (an a*b + c contracted to one FMA in one and not
# in the other): at most 1 U per operation of the score and the step, carried through N = 5 steps of maps that do
# not amplify errors (the reverse VP steps are contractions up to 1 + O(h)); measured: <= 14 U, 0 for most.
PER_EXAMPLE = 64
# Largest allowed difference from the one-device result, in units U of each row's magnitude (derivations/sharding.md
# §4 for each argument).
EXPECTED = {
    "random_bits": BITS,  # threefry is integer arithmetic, partitionable: element i's bits depend on (key, i) only
    "normal_draw": 4,  # those bits through the elementwise uniform -> normal transform (measured: 0)
    "pc_em": PER_EXAMPLE,
    "pc_langevin_per_example": PER_EXAMPLE,
    "sde_sample": PER_EXAMPLE,  # one key per example, `split(key, n)`, and per-example diffrax solves
    "ddim_sample": PER_EXAMPLE,
    "loss_terms": PER_EXAMPLE,
    "langevin_step_per_example": PER_EXAMPLE,
    "langevin_step_per_example_per_device": PER_EXAMPLE,  # per-example norms need no cross-device reduction at all
    # The Langevin step size 2α(r·mean|z|/mean|s|)² comes from two means of n = 8 non-negative norms: each summation
    # order is within (n-1)U of the exact mean, so two orders differ by <= 2(n-1)U = 14U, the ratio squared by
    # <= 56U, and each update x + ε s + √(2ε) z by <= 56U of its terms; with the per-example roundings, 64 (measured:
    # <= 2.5U). A per-device mean changes the step by orders of magnitude here (the rows' scales span 10^3).
    "pc_langevin_batch": 64,
    "langevin_step_batch": 64,
    "langevin_step_batch_pmean": 64,  # the reference code's form: per-device means, then `lax.pmean`
    # the whole batch is one ODE state: the controller's RMS error norm is a global reduction (reordered: <= 2(nd-1)U
    # relative), which moves the step sizes, hence the solution, by a few U (measured: <= 4U)
    "ode_sample": 64,
    # per-example adaptive integrations (the Hutchinson divergence v·Jv per example), carried through the steps of
    # a stable flow (measured: <= 13U)
    "log_likelihood": 64,
    # the mean of n = 8 non-negative terms: two summation orders differ by <= 2(n-1)U = 14U relative, plus the
    # terms' own PER_EXAMPLE roundings, averaged (measured: 0)
    "dsm_loss": 64,
    # per example: N = 4 levels summed in the same order on every mesh; the loss: their mean over n = 8, as dsm_loss
    "ncsn_terms": PER_EXAMPLE,
    "ncsn_loss": 64,
    # the loss mean and the gradient are global sums over the minibatch (reordered), then 3 Adam steps, whose
    # normalised update m/(√v + ε) carries a gradient's relative error at most linearly (measured: <= 2.1U)
    "train": 64,
}
# the reference result each planted or alternative form is compared with
REFERENCE_OF = {
    "langevin_step_per_example_per_device": "langevin_step_per_example",
    "langevin_step_batch_pmean": "langevin_step_batch",
}
# Per-example results that are the same bits on 2 and 4 devices: both are partitioned programs with the same
# operations per row, and the score has no matrix product whose generated code depends on the rows per device.
SAME_BITS_ON_2_AND_4 = (
    "random_bits",
    "normal_draw",
    "pc_em",
    "pc_langevin_per_example",
    "sde_sample",
    "ddim_sample",
    "loss_terms",
    "langevin_step_per_example",
)
MULTIPROCESS = ("pc_em", "pc_langevin_batch", "train")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment() -> dict:
    """This environment without a device count of its own (each worker sets its own) and on the CPU."""
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    flags = [f for f in env.pop("XLA_FLAGS", "").split() if "xla_force_host_platform_device_count" not in f]
    env.pop("JAX_NUM_CPU_DEVICES", None)
    return dict(env, XLA_FLAGS=" ".join(flags)) if flags else env


class Run:
    """A worker process started now; `result()` waits for it and loads what it wrote."""

    def __init__(self, args, path, timeout):
        self.path, self.start, self.timeout = path, time.monotonic(), timeout
        self.process = subprocess.Popen(
            [sys.executable, *map(str, args)],
            cwd=TESTS.parent,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.loaded = None

    def result(self):
        if self.loaded is None:
            try:
                output, _ = self.process.communicate(timeout=max(1.0, self.timeout - (time.monotonic() - self.start)))
            except subprocess.TimeoutExpired:
                self.process.kill()
                output, _ = self.process.communicate()
                output = f"timed out after {self.timeout} s\n{output}"
            self.loaded = (self.process.returncode, output)
        code, output = self.loaded
        if code == NO_COLLECTIVES:
            pytest.skip(
                f"this platform's jaxlib has no CPU collectives (gloo), so two processes cannot share a mesh: "
                f"{output.strip().splitlines()[-1]}"
            )
        assert code == 0, f"worker {self.process.args[1:]} failed (exit {code}):\n{output[-4000:]}"
        return dict(np.load(self.path))


@pytest.fixture(scope="session")  # session: survives other modules interleaved on this worker
def reference():
    """The one-device results, computed in this process by the same code as the workers'."""
    return sharding_worker.run(None)


#: the mesh workers: name -> (devices, worker options); "4-explicit" is the 4-device mesh with the `Explicit` axis
#: type (`jax.make_mesh`'s default), which every entry point runs on its `Auto` twin (scoresde_ref/_mesh.py)
MESHES = {"2": (2, ()), "4": (4, ()), "4-explicit": (4, ("explicit",))}


@pytest.fixture(scope="session")  # session: survives other modules interleaved on this worker
def meshes(tmp_path_factory):
    """The mesh workers (`MESHES`), started together (their compilations overlap with the reference's)."""
    folder = tmp_path_factory.mktemp("meshes")
    workers = {
        name: Run([TESTS / "sharding_worker.py", n, folder / f"{name}.npz", *options], folder / f"{name}.npz", 300)
        for name, (n, options) in MESHES.items()
    }
    yield workers
    _stop(workers)


@pytest.fixture(scope="session")  # session: survives other modules interleaved on this worker
def processes(tmp_path_factory):
    """The two processes of one mesh, started together on a free port (after the mesh tests: they run alone)."""
    out, port = tmp_path_factory.mktemp("processes") / "out", _free_port()
    workers = {pid: Run([TESTS / "multiprocess_worker.py", pid, port, out], f"{out}.{pid}.npz", 120) for pid in (0, 1)}
    yield workers
    _stop(workers)


def _stop(workers):
    for worker in workers.values():
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.communicate()


def _difference_in_units(result, reference) -> float:
    """max |result - reference| in units U of each row's largest |reference| (of each entry for a vector)."""
    result, reference = np.asarray(result), np.asarray(reference)
    assert result.shape == reference.shape and result.dtype == reference.dtype == np.float64, (result, reference)
    scale = np.max(np.abs(reference), axis=-1, keepdims=True) if reference.ndim == 2 else np.abs(reference)
    return float(np.max(np.abs(result - reference) / (np.maximum(scale, np.finfo(np.float64).tiny) * U)))


def _assert_equal_to_reference(name, result, reference):
    if EXPECTED[name] == BITS or result.dtype != np.float64:
        np.testing.assert_array_equal(result, reference, err_msg=f"{name}: not bit-identical to one device")
    else:
        units = _difference_in_units(result, reference)
        assert units <= EXPECTED[name], f"{name}: {units:.3g} U from one device > {EXPECTED[name]} U"


@pytest.mark.parametrize("mesh", sorted(MESHES))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sharded_equals_one_device(reference, meshes, name, mesh):
    """The result on a mesh of 2 and of 4 devices (`Auto` axes, and `Explicit` on 4) equals the one-device result
    with the same key: bit for bit for the random bits, within `EXPECTED[name]` U otherwise (another program's
    roundings; reordered reductions). Planted bug caught: a per-device batch norm
    (`test_langevin_batch_norm_is_global`)."""
    _assert_equal_to_reference(name, meshes[mesh].result()[name], reference[REFERENCE_OF.get(name, name)])


@pytest.mark.parametrize("mesh", sorted(MESHES))
@pytest.mark.parametrize(
    "name",
    [
        *(n for n in sorted(EXPECTED) if n not in ("dsm_loss", "ncsn_loss", "train")),
    ],
)
def test_output_keeps_input_sharding(meshes, name, mesh):
    """A batch sharded over the mesh stays sharded: `out.sharding.is_equivalent_to(in.sharding, out.ndim)` (no
    gather to one device, no replication), and with `Explicit` axes on the caller's very mesh."""
    assert bool(meshes[mesh].result()[f"{name}.kept"]), f"{name}: the output's sharding is not the input's"


@pytest.mark.parametrize("mesh", sorted(MESHES))
def test_a_failed_solve_raises_promptly_on_a_mesh(meshes, mesh):
    """`ode_sample` with `max_steps = 2` on a sharded batch raises its `RuntimeError` on the host, within seconds (the
    failure flag comes back with the result; planted bug caught: the check as an `eqx.error_if` callback inside
    the partitioned program, which stalled the other devices for XLA's 40 s rendezvous timeout and aborted)."""
    raised, seconds = meshes[mesh].result()["solve_failure"]
    assert raised == 1.0 and seconds < 20.0, (raised, seconds)


def test_explicit_axes_give_the_auto_bits(meshes):
    """On 4 devices, every result with the `Explicit` axis type is the `Auto` result bit for bit: the entry points
    run the same program on the `Auto` twin of the caller's mesh (re-labelled, no data moved; `_mesh.py`), and
    `train_score` with an `Explicit` sharding trains on the twin and returns its weights on the caller's mesh.
    Planted bug caught: a library that refuses `jax.make_mesh`'s default axes, or re-places the batch (a gather)."""
    auto, explicit = meshes["4"].result(), meshes["4-explicit"].result()
    assert sorted(auto) == sorted(explicit)
    for name in (n for n in auto if n != "solve_failure"):  # its second entry is a wall time
        np.testing.assert_array_equal(explicit[name], auto[name], err_msg=name)


@pytest.mark.parametrize("name", SAME_BITS_ON_2_AND_4)
def test_two_and_four_devices_same_bits(meshes, name):
    """Per-example results are the same bits on 2 and on 4 devices (the same partitioned arithmetic per row). A
    planted bug caught: noise drawn per shard (each device drawing `normal(key, shard.shape)`: the rows of a shard
    would depend on the device count)."""
    np.testing.assert_array_equal(meshes["2"].result()[name], meshes["4"].result()[name], err_msg=name)


@pytest.mark.parametrize("mesh", sorted(MESHES))
def test_trained_weights_replicated_over_the_mesh(meshes, mesh):
    """`train_score(..., sharding=NamedSharding(mesh, P("batch")))` returns weights replicated on every device of
    the mesh (they are then used there to sample), and its step loss splits the minibatch over the devices: the
    compiled program holds `(batch_size / P, d)` rows per device and all-reduces (planted bug caught: the
    `with_sharding_constraint` left out, when the whole minibatch is computed on every device)."""
    assert bool(meshes[mesh].result()["train.kept"])


@pytest.mark.parametrize("mesh", sorted(MESHES))
def test_langevin_batch_norm_is_global(reference, meshes, mesh):
    """The Langevin corrector's `snr_norm="batch"` step size averages the norms over the whole batch, across
    devices: the sharded step equals the one-device step (and the reference code's per-device means followed by a
    `pmean`, equal shards), while the same step run per device (`shard_map` without the `pmean`, the planted bug)
    is far from it on this batch (row scales 0.01 to 10, so the shards' norms differ by 10^3). `"per_example"`
    needs no reduction: even per device it gives the same bits."""
    result = meshes[mesh].result()
    _assert_equal_to_reference("langevin_step_batch", result["langevin_step_batch"], reference["langevin_step_batch"])
    per_device = result["langevin_step_batch_per_device"]
    units = _difference_in_units(per_device, reference["langevin_step_batch"])
    assert units > 1e6, f"a per-device norm differs by only {units:.3g} U: the batch cannot detect it"
    np.testing.assert_array_equal(
        result["langevin_step_per_example_per_device"], reference["langevin_step_per_example"]
    )


@pytest.mark.parametrize("name", MULTIPROCESS)
@pytest.mark.parametrize("process", [0, 1])
def test_two_processes_equal_one_device(reference, processes, name, process):
    """On a 4-device mesh spanning two processes (2 CPU devices each, gloo collectives), `pc_sample` (EM; the
    Langevin corrector's batch norm, reduced across processes) and 3 `train_score` steps give the one-device
    result, gathered in each process with `process_allgather`; the outputs stay sharded over both processes."""
    result = processes[process].result()
    assert list(result["devices"]) == [4, 2, 2]
    _assert_equal_to_reference(name, result[name], reference[name])
    assert bool(result[f"{name}.kept"])


def test_train_score_refuses_a_bad_sharding():
    """`sharding` must be a `NamedSharding` (of the minibatch); anything else is refused before any compile."""
    run = lambda sharding: sr.train_score(  # noqa: E731
        jax.random.key(0), sr.VPSDE(), np.zeros((4, 2)), steps=1, batch_size=2, sharding=sharding
    )
    with pytest.raises(TypeError, match="train_score: sharding must be None or a jax.sharding.NamedSharding"):
        run("batch")


def _explicit_mesh():
    """A one-device mesh with the `Explicit` axis type (this process has one device; the 4-device case is the
    "4-explicit" worker)."""
    return jax.make_mesh((1,), ("batch",), axis_types=(jax.sharding.AxisType.Explicit,))


def _entry_points(sde, score, x, sharding):
    """pc_sample, the batch likelihood, dsm_loss and one train_score step on the batch `x` placed by `sharding`
    (None: no mesh); the outputs themselves, to read their shardings."""
    x = jax.numpy.asarray(x) if sharding is None else jax.device_put(x, sharding)
    key = jax.random.key(3)
    outputs = {
        "pc_em": sr.pc_sample(key, sde, score, x, n_steps=2).x,
        "log_likelihood": sr.log_likelihood(sde, score, x, divergence="hutchinson", key=key)[0],
        "dsm_loss": sr.dsm_loss(key, sde, score, x),
    }
    trained = sr.train_score(key, sde, x, steps=1, batch_size=4, progress=False, sharding=sharding)
    outputs["train"] = jax.tree_util.tree_leaves(eqx.filter(trained.model, eqx.is_array))[0]
    return outputs


def test_explicit_mesh_under_set_mesh_equals_no_mesh():
    """JAX's own pattern for `Explicit` axes — the mesh set as the context (`jax.set_mesh`), the model and data
    built inside it, so even the score's parameters carry the mesh in their type — works for the entry points: the
    results equal those without a mesh within `EXPECTED` U, and each output is on the caller's `Explicit` mesh.
    Planted bug caught: the entry points refusing the context mesh (the `Auto` twin must be the context while the
    compiled core runs, `_mesh.run_as_auto`)."""
    mesh, x_T, (sde, score) = _explicit_mesh(), sharding_worker.inputs()[0], (None, None)
    batch = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    with jax.set_mesh(mesh):
        sde = sr.VPSDE(beta_min=0.1, beta_max=4.0)
        score = sr.exact_score(sde, sr.examples.gmm_2d())
        on_mesh = _entry_points(sde, score, x_T, batch)
    plain_sde = sr.VPSDE(beta_min=0.1, beta_max=4.0)
    plain = _entry_points(plain_sde, sr.exact_score(plain_sde, sr.examples.gmm_2d()), x_T, None)
    for name, y in on_mesh.items():
        assert y.sharding.mesh == mesh, (name, y.sharding)
        _assert_equal_to_reference(name, np.asarray(y), np.asarray(plain[name]))


def test_explicit_sharded_tracer_inside_jit_is_refused():
    """Inside a caller's `jit` an array's `Explicit` sharding is part of its traced type, which the entry point
    cannot re-label: refused with one clear `ValueError` naming the two ways out (planted bug caught: a
    `ShardingTypeError` from deep inside the sampler)."""
    batch = jax.sharding.NamedSharding(_explicit_mesh(), jax.sharding.PartitionSpec("batch"))
    sde = sr.VPSDE(beta_min=0.1, beta_max=4.0)
    score = sr.exact_score(sde, sr.examples.gmm_2d())
    x = jax.device_put(sharding_worker.inputs()[0], batch)
    with pytest.raises(ValueError, match="pc_sample: an array sharded over a mesh with Explicit axes inside jit"):
        jax.jit(lambda x: sr.pc_sample(jax.random.key(3), sde, score, x, n_steps=2).x)(x)


def test_relabel_moves_no_data():
    """Re-labelling onto the `Auto` twin keeps each shard's buffer (the same device pointer): the `Explicit` route
    costs no copy of the batch (planted bug caught: a copying transfer, `device_put(..., may_alias=False)`)."""
    from scoresde_ref._mesh import auto_twin, relabel

    mesh = _explicit_mesh()
    x = jax.device_put(np.ones((64, 2)), jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch")))
    y = relabel(x, mesh, auto_twin(mesh))
    assert y.sharding.mesh.axis_types == (jax.sharding.AxisType.Auto,)
    pointers = lambda a: [shard.data.unsafe_buffer_pointer() for shard in a.addressable_shards]  # noqa: E731
    assert pointers(y) == pointers(x)
