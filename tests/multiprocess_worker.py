"""One of two JAX processes on localhost (tests/test_sharding.py; derivations/sharding.md §6), each with two CPU
devices, joined by `jax.distributed.initialize` with the CPU collectives (gloo): `pc_sample` (Euler–Maruyama, and
the Langevin corrector's global batch-mean norm across processes) and `train_score` steps on a four-device mesh
spanning both processes, gathered to every process and written to `OUT.PROCESS_ID.npz`:

    python tests/multiprocess_worker.py PROCESS_ID PORT OUT

Exit status 3 (with the reason on stderr) when this jaxlib has no CPU collectives. Not collected by pytest.
"""

import pathlib
import sys

import numpy as np

# Its sibling module, importable also under PYTHONSAFEPATH=1 (scripts/test sets it: the script's directory is then
# not put on sys.path)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import sharding_worker  # noqa: E402

CASES = ("pc_em", "pc_langevin_batch", "train")
NO_COLLECTIVES = 3


def main(argv) -> None:
    process_id, port, out = int(argv[1]), int(argv[2]), argv[3]
    sharding_worker.configure(2)
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=process_id, initialization_timeout=60
    )
    try:
        devices = jax.devices()  # starts the backend: the CPU client with the gloo collectives
    except RuntimeError as error:  # a jaxlib built without gloo
        print(f"no CPU collectives: {error}", file=sys.stderr)
        sys.exit(NO_COLLECTIVES)
    assert jax.process_count() == 2 and len(devices) == 4 and len(jax.local_devices()) == 2, devices
    mesh = sharding_worker.mesh_of(devices)
    results = sharding_worker.run(sharding_worker.batch_sharding(mesh), names=CASES)
    results["devices"] = np.asarray([len(devices), len(jax.local_devices()), jax.process_count()])
    np.savez(f"{out}.{process_id}.npz", **results)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv)
