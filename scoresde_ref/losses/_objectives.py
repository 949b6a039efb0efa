r"""The integrands $\ell$ of the continuous-time score-matching objectives, as objects.

At one example, $x_t = m(t) x_0 + c(t) + s(t) z$ (derivations/losses.md):

| object | $\ell$ |
|---|---|
| `DSM()` | $\|s_\theta(x_t, t) - \nabla\log p_{0t}(x_t\mid x_0)\|^2$, target $-z/s(t)$ |
| `ISM(divergence)` | $\|s_\theta(x_t, t)\|^2 + 2\,\nabla\cdot s_\theta(x_t, t)$ |
| `SlicedScoreMatching(probe)` | $(v^\top s_\theta)^2 + 2\,v^\top (\partial_x s_\theta) v$, $E[vv^\top] = I$ |
| `Fisher(target_score_fn)` | $\|s_\theta(x_t, t) - \nabla\log p_t(x_t)\|^2$ (needs the true score) |

| object | string | source |
|---|---|---|
| `DSM()` | `"dsm"` | 000 §2.2 eq (5); 001 "Denoising Score matching" |
| `ISM(divergence)` | `"ism"` | 000 §2.2 eq (3); 001 "Implicit Score matching" |
| `SlicedScoreMatching(probe)` | `"sliced"` | Song et al. (2019), cited by 004 §1.2 |
| `Fisher(target_score_fn)` | `"fisher"` | 000 §2.2; 002 "Recap"; 003 §3.1 |

**Scale.** All four are on the scale of the Fisher divergence $E\|s - \nabla\log p\|^2$, so that
$\text{DSM} - \text{Fisher}$ and $\text{ISM} - \text{Fisher}$ are constants free of $\theta$. The ISM
form of 001 and 002 ($\tfrac12\|s\|^2 + \nabla\cdot s$) and sliced score matching of Song et al.
are half of ours; 002's $D_F$ carries a $\tfrac12$ too.

The DSM target is formed as $-z/s(t)$, exactly $\nabla\log p_{0t}(x_t \mid x_0)$, never as
$-(x_t - m x_0 - c)/s^2$ (which cancels catastrophically at small $t$).

**Noise can be given.** `integrand(score_fn, x_t, t, z, std, v)` takes the noise $z$ and the probe
$v$ (`None` for objectives without one); `sample_probe(key, d, dtype)` draws the probe of one example.
`as_objective` maps the strings to these objects (the one place that reads them).
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._custom_types import Array, Key, Scalar, ScalarLike, ScoreFn, Vector
from .._divergence import AbstractDivergence, ExactDivergence, Hutchinson, as_divergence, check_probe, sample_probe


class AbstractObjective(eqx.Module):
    r"""A score-matching integrand $\ell(s_\theta; x_t, t, z, v)$, on the Fisher-divergence scale.

    `uses_probe`: whether the integrand reads a probe $v$ (then `sample_probe` draws it)."""

    uses_probe: ClassVar[bool] = False

    def sample_probe(self, key: Key, d: int, dtype) -> Vector | None:
        """The probe $v$ `(d,)` of one example; `None` (no probe) unless the objective uses one."""
        return None

    @abc.abstractmethod
    def integrand(
        self, score_fn: ScoreFn, x_t: Vector, t: ScalarLike, z: Vector, std: Scalar, v: Vector | None
    ) -> Scalar:
        """$\\ell$ at one example: `x_t` $= m x_0 + c + s z$ with `std` $= s(t)$, `v` the probe."""


class DSM(AbstractObjective):
    r"""Denoising score matching, $\ell = \|s_\theta(x_t, t) + z/s(t)\|^2$."""

    def integrand(self, score_fn, x_t, t, z, std, v=None):
        return jnp.sum((score_fn(x_t, t) + z / std) ** 2)


class ISM(AbstractObjective):
    r"""Implicit score matching, $\ell = \|s_\theta(x_t, t)\|^2 + 2\,\nabla\cdot s_\theta(x_t, t)$, the divergence
    by `divergence` (`ExactDivergence()`, or `Hutchinson(probe)` with one probe per example)."""

    divergence: AbstractDivergence = ExactDivergence()

    def __check_init__(self):
        if isinstance(self.divergence, Hutchinson) and self.divergence.n_probes != 1:
            raise ValueError(f"ISM: the loss draws one probe per example; got n_probes = {self.divergence.n_probes}")

    @property
    def uses_probe(self) -> bool:
        return self.divergence.uses_probes

    def sample_probe(self, key, d, dtype):
        return self.divergence.sample_probes(key, (d,), dtype)

    def integrand(self, score_fn, x_t, t, z, std, v):
        f = lambda y: score_fn(y, t)  # noqa: E731
        return jnp.sum(f(x_t) ** 2) + 2 * self.divergence.divergence(f, x_t, v)


class SlicedScoreMatching(AbstractObjective):
    r"""Sliced score matching, $\ell = (v^\top s_\theta)^2 + 2\,v^\top (\partial_x s_\theta)\, v$ for a probe
    $v$ (`probe`: `"gaussian"`, as Song et al., or `"rademacher"`); its mean over $v$ is the ISM integrand."""

    probe: str = eqx.field(default="gaussian", static=True)
    uses_probe: ClassVar[bool] = True

    def __check_init__(self):
        check_probe(self.probe, "SlicedScoreMatching")

    def sample_probe(self, key, d, dtype):
        return sample_probe(key, (d,), self.probe, dtype)

    def integrand(self, score_fn, x_t, t, z, std, v):
        s, jv = jax.jvp(lambda y: score_fn(y, t), (x_t,), (v,))
        return jnp.vdot(v, s) ** 2 + 2 * jnp.vdot(v, jv)


class Fisher(AbstractObjective):
    r"""The Fisher divergence, $\ell = \|s_\theta(x_t, t) - \nabla\log p_t(x_t)\|^2$; `target_score_fn(x, t)` is
    the exact score, e.g. `sr.exact_score(sde, dist)`."""

    target_score_fn: ScoreFn

    def integrand(self, score_fn, x_t, t, z, std, v=None):
        return jnp.sum((score_fn(x_t, t) - self.target_score_fn(x_t, t)) ** 2)


OBJECTIVES = ("dsm", "ism", "sliced", "fisher")


def as_objective(
    objective: str | AbstractObjective,
    owner: str,
    *,
    divergence: str | AbstractDivergence = "exact",
    probe: str = "rademacher",
    target_score_fn: ScoreFn | None = None,
) -> AbstractObjective:
    """The one place the strings are read: `"dsm"` -> `DSM()`, `"ism"` -> `ISM(as_divergence(divergence, probe))`,
    `"sliced"` -> `SlicedScoreMatching(probe)`, `"fisher"` -> `Fisher(target_score_fn)`. An objective object is
    returned as it is (then `divergence`, `probe`, `target_score_fn` are unused)."""
    if isinstance(objective, AbstractObjective):
        return objective
    if objective not in OBJECTIVES:
        raise ValueError(f"{owner}: objective must be one of {OBJECTIVES} or an AbstractObjective; got {objective!r}")
    estimator = as_divergence(divergence, owner, probe=probe)
    if objective == "fisher" and target_score_fn is None:
        raise ValueError(f"{owner}: objective 'fisher' needs target_score_fn (the exact score of p_t)")
    makers = {
        "dsm": DSM,
        "ism": lambda: ISM(estimator),
        "sliced": lambda: SlicedScoreMatching(probe),
        "fisher": lambda: Fisher(target_score_fn),
    }
    return makers[objective]()


def draw_probes(objective: AbstractObjective, key: Key, n: int, d: int, dtype) -> Array | None:
    """One probe per example, `(n, d)` from `jax.random.split(key, n)` (`None` if the objective has none)."""
    return jax.vmap(lambda k: objective.sample_probe(k, d, dtype))(jax.random.split(key, n))
