"""`SampleResult`: the one result type of the samplers (`pc_sample`, `ode_sample`, `ode_sample_scipy`,
`sde_sample`, `ddim_sample`, `annealed_langevin_sample`, `impute_sample`)."""

import equinox as eqx
import jax


class SampleResult(eqx.Module):
    """The samples `x`, the number of score evaluations per example `nfe` and, when a trajectory was asked
    for, the `path`.

    It unpacks like the tuples the samplers have always returned: `x, nfe = result`, or
    `x, nfe, path = result` when `path` is not `None`; `result[0]` is `x`. A pytree (an `eqx.Module`),
    so it passes through `jit` (a Python-int `nfe` is static).
    """

    x: jax.Array
    nfe: int | jax.Array
    path: jax.Array | None = None

    def _as_tuple(self) -> tuple:
        return (self.x, self.nfe) if self.path is None else (self.x, self.nfe, self.path)

    def __iter__(self):
        return iter(self._as_tuple())

    def __len__(self) -> int:
        return len(self._as_tuple())

    def __getitem__(self, index):
        return self._as_tuple()[index]
