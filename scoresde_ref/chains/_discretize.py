"""`discretize(sde, N)`: one step $x_i = x_{i-1} + f_i(x_{i-1}) + G_i z_i$ of a forward SDE, in the form of
the paper's reference code (000_cce368350850b628.txt §3.1; the SMLD and DDPM chains of §2.3)."""

import equinox as eqx
import jax
import jax.numpy as jnp

from ._base import check_index, check_n_steps
from .._custom_types import Scalar, Vector
from ..sde._base import AbstractSDE
from ..sde._ve import VESDE
from ..sde._vp import VPSDE

_METHODS = ("reference", "euler_maruyama")


def _as_float(i, dtype=None):
    """An integer index (possibly a traced int array) as a float (`dtype`, default float), for strict promotion."""
    return jnp.asarray(i).astype(dtype or jnp.result_type(float))


class Discretization(eqx.Module):
    r"""The map $(x, i) \mapsto (f_i(x), G_i)$ of $N$ forward steps $x_i = x_{i-1} + f_i(x_{i-1}) + G_i z_i$, $i = 1, \dots, N$.

    **Forms** (`form`):

    - `"ve"` (`VESDE`, reference code): $f_i = 0$, $G_i = \sqrt{\sigma_i^2 - \sigma_{i-1}^2}$ with
      $\sigma_i = \sigma(t'_i)$, $\sigma_0 = 0$: exactly `SMLDChain.geometric(N, sigma_min, sigma_max)`.
    - `"vp"` (`VPSDE`, reference code): $f_i = (\sqrt{1 - \beta_i} - 1)\,x$, $G_i = \sqrt{\beta_i}$ with
      $\beta_i = \beta(t'_i)/N$: exactly `DDPMChain.linear(N, beta_min, beta_max)`.
    - `"euler_maruyama"` (any SDE): $f_i = f(x, t_{i-1})\,\Delta t$, $G_i = g(t_{i-1})\sqrt{\Delta t}$.

    **Time-to-index convention.** Euler–Maruyama: uniform grid $t_i = iT/N$, $\Delta t = T/N$; step $i$
    goes from $t_{i-1}$ to $t_i$ and evaluates $f$, $g$ at its left end $t_{i-1}$ (Itô).
    VE/VP: the reference code's index map $t \mapsto \lfloor t (N-1)/T \rfloor$ (0-based), i.e. noise
    level $i$ (1-based) is read at $t'_i = (i-1)T/(N-1)$, so $\sigma_1 = \sigma_{\min}$, $\sigma_N = \sigma_{\max}$.
    """

    sde: AbstractSDE
    n_steps: int = eqx.field(static=True)
    form: str = eqx.field(static=True)

    def t_ref(self, i, dtype=None) -> Scalar:
        """Time $t'_i = (i-1)T/(N-1)$ at which the VE/VP forms read noise level $i$ (in `dtype`, default float)."""
        return _as_float(i - 1, dtype) * self.sde.T / (self.n_steps - 1)

    def __call__(self, x: Vector, i) -> tuple[Vector, Scalar]:
        """`(f_i(x), G_i)` for step $i \\in \\{1, \\dots, N\\}$ (`i` may be traced)."""
        i = check_index(i, self.n_steps, "discretize", lowest=1)
        if self.form == "ve":
            sigma = self.sde.sigma(self.t_ref(i, jnp.result_type(x)))
            # σ_{i-1}/σ_i = (σ_max/σ_min)^{-1/(N-1)} for i >= 2 and 0 for i = 1; expm1 keeps G accurate.
            log_rho2 = jnp.where(i == 1, -jnp.inf, -2 * self.sde._log_ratio() / (self.n_steps - 1))
            return jnp.zeros_like(x), sigma * jnp.sqrt(-jnp.expm1(log_rho2))
        if self.form == "vp":
            beta = self.sde.beta(self.t_ref(i, jnp.result_type(x))) / self.n_steps
            return jnp.expm1(0.5 * jnp.log1p(-beta)) * x, jnp.sqrt(beta)
        dt = self.sde.T / self.n_steps
        t = _as_float(i - 1, jnp.result_type(x)) * dt
        return self.sde.drift(x, t) * dt, self.sde.diffusion(t) * jnp.sqrt(dt)

    def step(self, x: Vector, i, z: Vector) -> Vector:
        """$x_i = x_{i-1} + f_i(x_{i-1}) + G_i z_i$ from `x` $= x_{i-1}$, `z` $= z_i$."""
        f, G = self(x, i)
        return x + f + G * z


def discretize(sde: AbstractSDE, n_steps: int, *, method: str = "reference") -> Discretization:
    """The reference-code discretization of `sde` with `n_steps` steps: `(x, i) -> (f_i, G_i)`.

    `method="reference"` gives the SMLD form for `VESDE`, the DDPM form for `VPSDE` and
    Euler–Maruyama for every other SDE (as the reference code does); `method="euler_maruyama"`
    forces Euler–Maruyama. See `Discretization` for the forms and the time-to-index convention.
    The result can be run forward with `sample_path` like a chain.
    """
    if method not in _METHODS:
        raise ValueError(f"discretize: method must be one of {_METHODS}; got {method!r}")
    form = "euler_maruyama"
    if method == "reference" and isinstance(sde, VESDE | VPSDE):
        form = "ve" if isinstance(sde, VESDE) else "vp"
    n_steps = check_n_steps(n_steps, "discretize", 2 if form != "euler_maruyama" else 1)
    if form == "vp" and not isinstance(sde.beta_max, jax.core.Tracer) and not sde.beta_max < n_steps:
        raise ValueError(
            f"discretize: the VP (DDPM) form needs beta_i = beta(t)/N < 1, i.e. N > beta_max; "
            f"got N = {n_steps}, beta_max = {float(sde.beta_max):g}"
        )
    return Discretization(sde, n_steps, form)
