"""Meshes with `Explicit` axes at the compiled boundary: each entry point runs them as `Auto` (GSPMD).

`jax.make_mesh(shape, names)` gives `AxisType.Explicit` axes by default (JAX ≥ 0.7): the sharding becomes part of
each array's type, and every operation whose output sharding is ambiguous must be told it (`out_sharding=`) or it
raises `ShardingTypeError` — a draw `jax.random.normal(key, x.shape)` is replicated while `x` is split, so
`vmap(step)(x, z)` refuses the pair, and diffrax's error norm contracts over a split axis. The compiled cores are
written once, for GSPMD: every operation is per example or a global reduction, and XLA propagates the batch's
sharding through them (derivations/sharding.md). So at the boundary (`_jit_boundary.compiled`) an array on a mesh
with `Explicit` axes is re-labelled onto the same devices with `Auto` axes — `jax.device_put` to the same
`PartitionSpec` over the same device grid, which moves no data — the core runs, and each output placed on that
`Auto` twin is re-labelled back. The values are the `Auto` run's, which equal the one-device run's
(tests/test_sharding.py). Inside a caller's `jit` the arrays are tracers whose types carry the `Explicit` sharding
and cannot be re-labelled from outside the trace: that case is refused with a clear error.
"""

import jax

AUTO = jax.sharding.AxisType.Auto


def has_explicit_axes(mesh) -> bool:
    """Whether `mesh` (concrete or abstract) has an `Explicit` axis."""
    return any(axis == jax.sharding.AxisType.Explicit for axis in mesh.axis_types)


def _explicit(sharding) -> bool:
    return isinstance(sharding, jax.sharding.NamedSharding) and has_explicit_axes(sharding.mesh)


def auto_twin(mesh: jax.sharding.Mesh) -> jax.sharding.Mesh:
    """`mesh` with every axis `Auto`: the same devices, names and shape."""
    return mesh.update(axis_types=(AUTO,) * len(mesh.axis_names))


def explicit_mesh(owner: str, tree):
    """The mesh with `Explicit` axes that the arrays of `tree` are placed on, or None (no array is). Raises
    `ValueError` for a traced array whose type carries such a sharding (inside a caller's `jit`), and for arrays
    on two different such meshes."""
    meshes = []
    for leaf in jax.tree_util.tree_leaves(tree):
        if isinstance(leaf, jax.core.Tracer):
            sharding = getattr(jax.typeof(leaf), "sharding", None)
            if sharding is not None and has_explicit_axes(sharding.mesh) and any(sharding.spec):
                raise ValueError(
                    f"{owner}: an array sharded over a mesh with Explicit axes inside jit; call it outside jit "
                    "(the entry point compiles itself), or use a mesh with Auto axes "
                    "(jax.make_mesh(shape, names, axis_types=(AxisType.Auto,) * len(names)))"
                )
        elif isinstance(leaf, jax.Array) and _explicit(leaf.sharding) and leaf.sharding.mesh not in meshes:
            meshes.append(leaf.sharding.mesh)
    if len(meshes) > 1:
        raise ValueError(f"{owner}: arrays on {len(meshes)} different meshes with Explicit axes; place them on one")
    return meshes[0] if meshes else None


def relabel(tree, source: jax.sharding.Mesh, target: jax.sharding.Mesh):
    """Each array of `tree` placed on `source` re-placed on `target` (same devices) with the same
    `PartitionSpec`; other leaves unchanged."""

    def move(leaf):
        if isinstance(leaf, jax.core.Tracer):  # a traced value has no placement to change
            return leaf
        sharding = getattr(leaf, "sharding", None)
        if not (isinstance(sharding, jax.sharding.NamedSharding) and sharding.mesh == source):
            return leaf
        spec = jax.sharding.PartitionSpec(*tuple(sharding.spec)[: leaf.ndim])  # a key array's spec has a hidden dim
        return jax.device_put(leaf, jax.sharding.NamedSharding(target, spec))

    return jax.tree_util.tree_map(move, tree)


def run_on_twin(mesh: jax.sharding.Mesh, fn, *args, **kwargs):
    """`fn(*args, **kwargs)` on the `Auto` twin of `mesh` (a mesh with `Explicit` axes): the arrays of the
    arguments on `mesh` moved onto the twin, the twin as the context mesh while `fn` runs (a caller inside
    `jax.set_mesh(mesh)`, JAX's pattern, would otherwise not match), the outputs on the twin moved back."""
    auto = auto_twin(mesh)
    args, kwargs = relabel((args, kwargs), mesh, auto)
    with jax.set_mesh(auto):
        out = fn(*args, **kwargs)
    return relabel(out, auto, mesh)


def run_as_auto(owner: str, fn, *args, **kwargs):
    """`fn(*args, **kwargs)`, on the `Auto` twin (`run_on_twin`) of the mesh with `Explicit` axes that its
    arrays are on; `fn` itself when no array is on such a mesh."""
    mesh = explicit_mesh(owner, (args, kwargs))
    return fn(*args, **kwargs) if mesh is None else run_on_twin(mesh, fn, *args, **kwargs)
