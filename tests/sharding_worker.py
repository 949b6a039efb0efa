"""The computations the sharding tests compare (tests/test_sharding.py; derivations/sharding.md), written once.

Every entry point runs on one small batch placed with a given sharding (`None`: one device, the reference).
`run(sharding)` returns the results as NumPy arrays (gathered from every process) and, for each result, whether it
kept the input's sharding. Imported by the test process for the one-device reference, and run as a script in a
process of its own for a mesh (the device count is fixed when JAX starts its backend):

    python tests/sharding_worker.py N_DEVICES OUT.npz [full_covariance] [explicit]

(`N_DEVICES = 1`: the reference; `full_covariance`: the measurement with a score that has matrix products;
`explicit`: a mesh with the `Explicit` axis type, `jax.make_mesh`'s default, instead of `Auto`.)

`tests/multiprocess_worker.py` runs some of the same cases on a mesh spanning two processes. Not collected by pytest
(its name does not start with `test_`).
"""

import sys

import numpy as np

N = 8  # rows: 2 per device on 4 devices
# Row scales spanning four decades, two rows each: on 2 or 4 devices the shards' score and noise norms differ by
# orders of magnitude, so a per-device batch-mean norm (the planted bug) changes the Langevin step size visibly.
SCALES = np.repeat([0.01, 0.1, 1.0, 10.0], 2)[:, None]
N_STEPS = 5  # > beta_max = 4: the VP discretisation (beta_i = beta(t)/N < 1) is defined
SNR, STEP_T, STEP_I = 0.16, 0.5, 3
SIGMAS = np.geomspace(0.01, 10.0, 4)  # the noise levels of the NCSN case


def _level_score(x, sigma):
    """The score of N(0, (1 + sigma^2) I) at level sigma (a closed form for `ncsn_terms`; a module-level function, so
    one compilation serves every call)."""
    return -x / (1.0 + sigma**2)


TRAIN = dict(steps=3, batch_size=8, steps_per_call=2, learning_rate=1e-2)


def configure(n_devices: int) -> None:
    """The test suite's configuration (tests/conftest.py) with `n_devices` CPU devices; before JAX starts."""
    import jax

    jax.config.update("jax_num_cpu_devices", n_devices)
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.config.update("jax_numpy_rank_promotion", "raise")


def batch_sharding(mesh):
    """`NamedSharding(mesh, P("batch"))`: rows split over the mesh's one axis."""
    import jax

    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))


def mesh_of(devices, axis_type: str = "Auto"):
    """A one-axis mesh `"batch"` over `devices` with the axis type `"Auto"` (GSPMD propagation) or `"Explicit"`
    (the sharding in each array's type; `jax.make_mesh`'s default)."""
    import jax

    kind = getattr(jax.sharding.AxisType, axis_type)
    return jax.make_mesh((len(devices),), ("batch",), axis_types=(kind,), devices=devices)


def inputs():
    """Host (NumPy) inputs, the same in every process: `x_T` (rows at four scales), noise `z`, data `x0`."""
    rng = np.random.default_rng(20260)
    x_T = rng.standard_normal((N, 2)) * SCALES
    z = rng.standard_normal((N, 2))
    return x_T, z


def _problem(full_covariance: bool):
    """The VP SDE (beta_max = 4), the exact score of a 2-D two-component mixture, data `x0` and a training set.

    The default mixture is isotropic: its score is elementwise arithmetic and sums over d = 2, which XLA's CPU
    backend generates the same way for any number of rows, so a per-example computation gives the same bits on
    every per-device shape. `full_covariance=True` (`sr.examples.gmm_2d()`) puts small matrix products in the score,
    whose generated code (and rounding) depends on the rows per device (derivations/sharding.md §3)."""
    import jax
    import jax.numpy as jnp

    import scoresde_ref as sr

    sde = sr.VPSDE(beta_min=0.1, beta_max=4.0)
    if full_covariance:
        dist = sr.examples.gmm_2d()
    else:
        dist = sr.IsotropicGaussianMixture(jnp.array([0.3, 0.7]), jnp.array([[-2.0, 1.0], [1.5, -0.5]]), 0.5)
    x0 = np.asarray(dist.sample(jax.random.key(1), N))
    data = np.asarray(dist.sample(jax.random.key(2), 2 * N))
    return sde, sr.exact_score(sde, dist), x0, data


def place(host, sharding):
    """A global array from the host array `host` (each process fills its addressable shards), or a one-device
    array when `sharding` is None."""
    import jax
    import jax.numpy as jnp

    if sharding is None:
        return jnp.asarray(host)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def gather(y) -> np.ndarray:
    """The whole array on the host, from every process (`process_allgather` when not fully addressable)."""
    from jax.experimental import multihost_utils

    return np.asarray(y) if y.is_fully_addressable else np.asarray(multihost_utils.process_allgather(y, tiled=True))


def _flat(tree) -> np.ndarray:
    import equinox as eqx
    import jax

    leaves = jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))
    return np.concatenate([gather(v).ravel() for v in leaves])


def _tiny_model(sde):
    import equinox as eqx
    import jax

    from scoresde_ref.nn import mlp_score_model

    build = eqx.filter_jit(lambda k: mlp_score_model(k, sde, 2, width=8, depth=1, n_features=2))
    return build(jax.random.key(5))


def _corrector_cases(sde, score, x, z, sharding):
    """One Langevin corrector update `LangevinCorrector.step` with the noise given, on the whole (sharded) batch
    under `jit`; on a mesh also per device (`shard_map` without a `pmean`: the planted bug) and in the reference
    code's form (per-device means, then `lax.pmean` over the mesh, written out independently here)."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import PartitionSpec as P

    import scoresde_ref as sr

    disc = sr.discretize(sde, N_STEPS)
    t = jnp.asarray(STEP_T)
    out = {}
    for norm in ("batch", "per_example"):
        corrector = sr.samplers.LangevinCorrector(SNR, 1, norm)

        def step(x, z, corrector=corrector):
            return corrector.step(sde, score, x, t, STEP_I, disc, z)[0]

        out[f"langevin_step_{norm}"] = (jax.jit(step)(x, z), x)
        if sharding is not None:
            per_device = jax.shard_map(step, mesh=sharding.mesh, in_specs=(P("batch"),) * 2, out_specs=P("batch"))
            out[f"langevin_step_{norm}_per_device"] = (jax.jit(per_device)(x, z), x)
    if sharding is not None:
        alpha = disc.corrector_alpha(STEP_I, x.dtype)

        def reference_code(x, z):  # score_sde_pytorch/jax LangevinCorrector: mean norms per device, then pmean
            grad = jax.vmap(score, (0, None))(x, t)
            g_norm = jax.lax.pmean(jnp.mean(jnp.linalg.norm(grad, axis=-1)), "batch")
            z_norm = jax.lax.pmean(jnp.mean(jnp.linalg.norm(z, axis=-1)), "batch")
            step_size = 2 * alpha * (SNR * z_norm / g_norm) ** 2
            return x + step_size * grad + jnp.sqrt(2 * step_size) * z

        pmean = jax.shard_map(reference_code, mesh=sharding.mesh, in_specs=(P("batch"),) * 2, out_specs=P("batch"))
        out["langevin_step_batch_pmean"] = (jax.jit(pmean)(x, z), x)
    return out


def _minibatch_is_split(sde, data, sharding) -> bool:
    """Whether the compiled step loss (`minibatch_loss` with `sharding`, and its gradient) works on each device's
    rows: the per-device program holds `(batch_size / P, 2)` arrays and all-reduces the loss mean and gradient."""
    import equinox as eqx
    import jax

    import scoresde_ref as sr
    from scoresde_ref.nn import trainable_filter
    from scoresde_ref.training import minibatch_loss
    from scoresde_ref.training._train import replicated

    model = _tiny_model(sde)
    params, static = eqx.partition(model, trainable_filter(model))
    options = dict(objective=sr.losses.DSM(), weighting=sr.losses.LikelihoodWeighting(), times=sr.losses.UniformTimes())
    options.update(eps=1e-5, batch_size=TRAIN["batch_size"], replace=True, sharding=sharding)

    def step(params, data):
        return jax.value_and_grad(minibatch_loss)(params, static, sde, data, jax.random.key(0), **options)

    text = jax.jit(step).lower(*replicated((params, data), sharding)).compile().as_text()
    rows = TRAIN["batch_size"] // sharding.num_devices
    return "all-reduce" in text and f"f64[{rows},2]" in text


def _train(sde, data, sharding):
    import jax

    import scoresde_ref as sr
    from scoresde_ref._mesh import auto_twin

    res = sr.train_score(
        jax.random.key(6), sde, data, model=_tiny_model(sde), progress=False, sharding=sharding, **TRAIN
    )
    weights = np.concatenate([_flat(res.model), _flat(res.ema_model), np.asarray(res.losses)])
    leaves = [v for v in jax.tree_util.tree_leaves(res.model) if isinstance(v, jax.Array)]
    everywhere = all(v.is_fully_replicated for v in leaves)
    if sharding is not None:
        everywhere = everywhere and all(v.sharding.device_set == sharding.device_set for v in leaves)
        # the step train_score compiles: on a mesh with Explicit axes, the one of its Auto twin (scoresde_ref/_mesh.py)
        twin = jax.sharding.NamedSharding(auto_twin(sharding.mesh), sharding.spec)
        everywhere = everywhere and _minibatch_is_split(sde, data, twin)
    return weights, everywhere


def _kept(y, x) -> bool:
    """Whether `y` is placed as `x`: the same devices and split (`is_equivalent_to`), and on a mesh with `Explicit`
    axes the very same mesh (the axis types are part of the array's type)."""
    import jax

    same = y.sharding.is_equivalent_to(x.sharding, y.ndim)
    mesh = getattr(x.sharding, "mesh", None)
    if mesh is not None and jax.sharding.AxisType.Explicit in mesh.axis_types:
        same = same and getattr(y.sharding, "mesh", None) == mesh
    return bool(same)


def _solve_failure(sde, score, x_T) -> np.ndarray:
    """`[raised, seconds]`: whether `ode_sample` with `max_steps = 2` on the (sharded) batch raised its
    `RuntimeError`, and how long the call took (a failure check run as a callback inside a partitioned program
    would stall the other devices at the next collective until XLA's rendezvous timeout)."""
    import time

    import scoresde_ref as sr

    start = time.monotonic()
    try:
        sr.ode_sample(sde, score, x_T, max_steps=2)
        raised = 0.0
    except RuntimeError as error:
        raised = float("ode_sample: the ODE solve failed" in str(error))
    return np.asarray([raised, time.monotonic() - start])


SAMPLERS = ("pc_em", "pc_langevin_batch", "pc_langevin_per_example", "ode_sample", "sde_sample", "ddim_sample")
ALL = (*SAMPLERS, "log_likelihood", "dsm_loss", "ncsn", "loss_terms", "normal_draw", "langevin_step", "train")
ALL = (*ALL, "solve_failure")


def run(sharding, names=ALL, full_covariance: bool = False) -> dict[str, np.ndarray]:
    """The results of the cases `names` with the batch placed by `sharding` (None: one device). For each result
    `name`, `name.kept` says whether its sharding is the input's (`_kept`), or for `train` whether the
    weights are replicated over the mesh and each step's minibatch is split over it. `full_covariance`: the score of
    `sr.examples.gmm_2d()` (`_problem`)."""
    import jax

    import scoresde_ref as sr

    sde, score, x0_host, data = _problem(full_covariance)
    x_T_host, z_host = inputs()
    x_T, z, x0 = place(x_T_host, sharding), place(z_host, sharding), place(x0_host, sharding)
    key = jax.random.key(3)
    pc = lambda **kw: sr.pc_sample(key, sde, score, x_T, n_steps=N_STEPS, **kw).x  # noqa: E731
    langevin = dict(predictor="reverse_diffusion", corrector="langevin", snr=SNR)
    cases = {
        "pc_em": lambda: {"pc_em": (pc(), x_T)},
        "pc_langevin_batch": lambda: {"pc_langevin_batch": (pc(**langevin, snr_norm="batch"), x_T)},
        "pc_langevin_per_example": lambda: {"pc_langevin_per_example": (pc(**langevin, snr_norm="per_example"), x_T)},
        "ode_sample": lambda: {"ode_sample": (sr.ode_sample(sde, score, x_T).x, x_T)},
        "sde_sample": lambda: {"sde_sample": (sr.sde_sample(key, sde, score, x_T, n_steps=N_STEPS).x, x_T)},
        "ddim_sample": lambda: {
            "ddim_sample": (sr.ddim_sample(sde, score, x_T, n_steps=N_STEPS, eta=0.5, key=key).x, x_T)
        },
        # the batch (n, d): each example alone, probes of example i from split(key, n)[i]
        "log_likelihood": lambda: {
            "log_likelihood": (sr.log_likelihood(sde, score, x0, divergence="hutchinson", key=key)[0], x0)
        },
        "dsm_loss": lambda: {"dsm_loss": (sr.dsm_loss(key, sde, score, x0), None)},
        # the discrete-level objectives (SMLD/NCSN), per example and their mean, with a closed-form level score
        "ncsn": lambda: {
            "ncsn_terms": (sr.ncsn_terms(key, _level_score, x0, SIGMAS), x0),
            "ncsn_loss": (sr.ncsn_loss(key, _level_score, x0, SIGMAS), None),
        },
        "loss_terms": lambda: {"loss_terms": (sr.loss_terms(key, sde, score, x0), x0)},
        # `+ 0 * x` (exact) and `| 0 * x` only tie the draws to the batch's sharding
        "normal_draw": lambda: {
            "normal_draw": (jax.jit(lambda x: jax.random.normal(key, x.shape) + 0 * x)(x_T), x_T),
            "random_bits": (
                jax.jit(lambda x: jax.random.bits(key, x.shape, "uint32") | (0 * x).astype("uint32"))(x_T),
                x_T,
            ),
        },
        "langevin_step": lambda: _corrector_cases(sde, score, x_T, z, sharding),
    }
    out = {}
    for name in names:
        if name == "solve_failure":
            out["solve_failure"] = _solve_failure(sde, score, x_T)
            continue
        if name == "train":
            out["train"], out["train.kept"] = _train(sde, data, sharding)
            continue
        for key_name, (y, x) in cases[name]().items():
            out[key_name] = gather(y)
            if x is not None:
                out[f"{key_name}.kept"] = np.asarray(_kept(y, x))
    return out


def main(argv) -> None:
    """`N_DEVICES OUT.npz [full_covariance] [explicit]`; `N_DEVICES = 1` without a mesh (the one-device reference);
    `explicit`: the mesh's axis has the `Explicit` type (default `Auto`)."""
    n_devices, path, options = int(argv[1]), argv[2], set(argv[3:])
    unknown = options - {"full_covariance", "explicit"}
    if unknown:
        raise SystemExit(f"sharding_worker: unknown options {sorted(unknown)}")
    configure(n_devices)
    import jax

    axis_type = "Explicit" if "explicit" in options else "Auto"
    sharding = None if n_devices == 1 else batch_sharding(mesh_of(jax.devices(), axis_type))
    np.savez(path, **run(sharding, full_covariance="full_covariance" in options))


if __name__ == "__main__":
    main(sys.argv)
