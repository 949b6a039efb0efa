"""`discretize(sde, N)`: one step $x_i = x_{i-1} + f_i(x_{i-1}) + G_i z_i$ of a forward SDE, in the form of
the paper's reference code (000_cce368350850b628.txt §3.1; the SMLD and DDPM chains of §2.3).

A discretization is an object: `EulerMaruyamaDiscretization` (any SDE), and `SMLDDiscretization` /
`DDPMDiscretization`, which wrap the chain whose noise levels the reference code reads off `VESDE` /
`VPSDE`. The chain formulas live on the chains (`chains/_smld.py`, `chains/_ddpm.py`); a chain
discretization only maps them to $(f_i, G_i)$. `discretize` picks the form by the type of the SDE
(`functools.singledispatch`: a new reference form registers itself for its SDE).
"""

import abc
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._custom_types import Scalar, Vector
from .._validation import check
from ..sde._base import AbstractSDE
from ..sde._ve import VESDE
from ..sde._vp import VPSDE
from ._base import AbstractChain, check_index, check_n_steps
from ._ddpm import DDPMChain
from ._smld import SMLDChain

_METHODS = ("reference", "euler_maruyama")


def _as_float(i, dtype=None):
    """An integer index (possibly a traced int array) as a float (`dtype`, default float), for strict promotion."""
    return jnp.asarray(i).astype(dtype or jnp.result_type(float))


def parameter_dtype(sde: AbstractSDE):
    """The floating dtype of the SDE's parameters (float32 parameters give float32 noise levels)."""
    leaves = [v for v in jax.tree_util.tree_leaves(sde) if isinstance(v, float | jax.Array)]
    return jnp.result_type(float, *leaves)


class AbstractDiscretization(eqx.Module):
    r"""The map $(x, i) \mapsto (f_i(x), G_i)$ of $N$ forward steps $x_i = x_{i-1} + f_i(x_{i-1}) + G_i z_i$,
    $i = 1, \dots, N$.

    Runs forward with `sample_path` like a chain (`step`); the reverse-diffusion predictor inverts it,
    and the Langevin correctors read `corrector_alpha` from it (`samplers/`).
    """

    sde: eqx.AbstractVar[AbstractSDE]
    n_steps: eqx.AbstractVar[int]

    @abc.abstractmethod
    def __call__(self, x: Vector, i) -> tuple[Vector, Scalar]:
        """`(f_i(x), G_i)` for step $i \\in \\{1, \\dots, N\\}$ (`i` may be traced), in the dtype of `x`."""

    @abc.abstractmethod
    def corrector_alpha(self, i, dtype) -> Scalar:
        """The factor $\\alpha_i$ of the reference code's Langevin step sizes at noise level $i$
        (`samplers/_correctors.py`)."""

    def step(self, x: Vector, i, z: Vector) -> Vector:
        """$x_i = x_{i-1} + f_i(x_{i-1}) + G_i z_i$ from `x` $= x_{i-1}$, `z` $= z_i$."""
        f, G = self(x, check_index(i, self.n_steps, f"{type(self).__name__}.step", lowest=1))
        return x + f + G * z


class EulerMaruyamaDiscretization(AbstractDiscretization):
    r"""Euler–Maruyama on the uniform grid $t_i = iT/N$, $\Delta t = T/N$: $f_i = f(x, t_{i-1})\,\Delta t$,
    $G_i = g(t_{i-1})\sqrt{\Delta t}$ (step $i$ evaluates $f$, $g$ at its left end $t_{i-1}$, Itô). $\alpha_i = 1$."""

    sde: AbstractSDE
    n_steps: int = eqx.field(static=True)

    def __call__(self, x: Vector, i) -> tuple[Vector, Scalar]:
        i = check_index(i, self.n_steps, "discretize", lowest=1)
        dt = self.sde.T / self.n_steps
        t = _as_float(i - 1, jnp.result_type(x)) * dt
        return self.sde.drift(x, t) * dt, self.sde.diffusion(t) * jnp.sqrt(dt)

    def corrector_alpha(self, i, dtype) -> Scalar:
        return jnp.ones((), dtype)


class AbstractChainDiscretization(AbstractDiscretization):
    r"""A chain $x_i = a_i x_{i-1} + b_i z_i$ written as a discretization: $f_i(x) = (a_i - 1)\,x$ (the chain's
    `drift_coefficients`), $G_i = b_i$. The chain is built from the SDE at construction (derived state,
    stored once): noise level $i$ (1-based) is read at $t'_i = (i-1)T/(N-1)$ (`t_ref`), the reference
    code's index map $t \mapsto \lfloor t (N-1)/T \rfloor$ (0-based).
    """

    chain: eqx.AbstractVar[AbstractChain]

    def t_ref(self, i, dtype=None) -> Float[Array, "*i"]:
        """Time $t'_i = (i-1)T/(N-1)$ at which noise level $i$ is read (in `dtype`, default float)."""
        return _as_float(i - 1, dtype) * self.sde.T / (self.n_steps - 1)

    def chain_as(self, dtype) -> AbstractChain:
        """The chain with its schedule in `dtype` (that of the state it acts on: no mixed-precision promotion)."""
        return jax.tree_util.tree_map(lambda a: a.astype(dtype), self.chain)

    def __call__(self, x: Vector, i) -> tuple[Vector, Scalar]:
        i = check_index(i, self.n_steps, "discretize", lowest=1)
        chain = self.chain_as(jnp.result_type(x))
        return chain.drift_coefficients()[i - 1] * x, chain.coefficients()[1][i - 1]


class SMLDDiscretization(AbstractChainDiscretization):
    r"""The reference code's VE form: `SMLDChain` with $\sigma_i = \sigma(t'_i)$ and the exact step ratio
    $\log(\sigma_i/\sigma_{i-1}) = \log(\sigma_{\max}/\sigma_{\min})/(N-1)$: $f_i = 0$,
    $G_i = \sqrt{\sigma_i^2 - \sigma_{i-1}^2}$, $\sigma_0 = 0$; exactly `SMLDChain.geometric(N, sigma_min, sigma_max)`.
    $\alpha_i = 1$."""

    sde: VESDE
    n_steps: int = eqx.field(static=True)
    chain: SMLDChain

    def __init__(self, sde: VESDE, n_steps: int):
        self.sde, self.n_steps = sde, check_n_steps(n_steps, "discretize", 2)
        t = self.t_ref(jnp.arange(1, self.n_steps + 1), parameter_dtype(sde))
        self.chain = SMLDChain(sde.sigma(t), step_log_ratio=sde._log_ratio() / (self.n_steps - 1))

    def corrector_alpha(self, i, dtype) -> Scalar:
        return jnp.ones((), dtype)


class DDPMDiscretization(AbstractChainDiscretization):
    r"""The reference code's VP form: `DDPMChain` with $\beta_i = \beta(t'_i)/N$: $f_i = (\sqrt{1 - \beta_i} - 1)\,x$,
    $G_i = \sqrt{\beta_i}$; exactly `DDPMChain.linear(N, beta_min, beta_max)`. Needs $N > \beta_{\max}$.
    $\alpha_i = 1 - \beta_i$ (the reference code's `alphas` for the Langevin corrector)."""

    sde: VPSDE
    n_steps: int = eqx.field(static=True)
    chain: DDPMChain

    def __init__(self, sde: VPSDE, n_steps: int):
        self.sde, self.n_steps = sde, check_n_steps(n_steps, "discretize", 2)
        shown = f"{float(sde.beta_max):g}" if not isinstance(sde.beta_max, jax.core.Tracer) else "(traced)"
        t = self.t_ref(jnp.arange(1, self.n_steps + 1), parameter_dtype(sde))
        betas = check(  # kept under jit: a traced beta_max is checked at run time (eqx.error_if)
            sde.beta(t) / self.n_steps,
            jnp.asarray(sde.beta_max) < self.n_steps,
            f"discretize: the VP (DDPM) form needs beta_i = beta(t)/N < 1, i.e. N > beta_max; "
            f"got N = {self.n_steps}, beta_max = {shown}",
        )
        self.chain = DDPMChain(betas)

    def corrector_alpha(self, i, dtype) -> Scalar:
        return (1 - self.chain.betas[i - 1]).astype(dtype)


Discretization = AbstractDiscretization  # the older name (isinstance checks keep working)


@functools.singledispatch
def reference_discretization(sde: AbstractSDE, n_steps: int) -> AbstractDiscretization:
    """The reference code's discretization of `sde`: Euler–Maruyama unless a chain form is registered for its type."""
    return EulerMaruyamaDiscretization(sde, check_n_steps(n_steps, "discretize", 1))


reference_discretization.register(VESDE, SMLDDiscretization)
reference_discretization.register(VPSDE, DDPMDiscretization)


def discretize(sde: AbstractSDE, n_steps: int, *, method: str = "reference") -> AbstractDiscretization:
    """The reference-code discretization of `sde` with `n_steps` steps: `(x, i) -> (f_i, G_i)`.

    `method="reference"` gives `SMLDDiscretization` for `VESDE`, `DDPMDiscretization` for `VPSDE` and
    `EulerMaruyamaDiscretization` for every other SDE (as the reference code does,
    `reference_discretization`); `method="euler_maruyama"` forces Euler–Maruyama.
    The result can be run forward with `sample_path` like a chain.
    """
    if method not in _METHODS:
        raise ValueError(f"discretize: method must be one of {_METHODS}; got {method!r}")
    if method == "euler_maruyama":
        return EulerMaruyamaDiscretization(sde, check_n_steps(n_steps, "discretize", 1))
    return reference_discretization(sde, n_steps)
