r"""Imputation (inpainting) and colorization by the replacement method of the reference code,
its exact law on Gaussian data, and the law it converges to (000_cce368350850b628.txt §4;
004_77456edc02bb59d5.txt §1.4 "complétion d'images masquées ou la colorisation";
derivations/conditional.md §5–6).

**Replacement.** Known coordinates $K$ of $w = W x$ ($W$ orthogonal: the identity for
imputation, `colorization_transform` for colorization) hold the values $y_K$ of $W x(0)$. After
every update of the sampler, at the time $t$ the state has reached, $w_K$ is overwritten by a
fresh draw of the forward kernel, $w_K \leftarrow m_t y_K + (W c_t)_K + s_t z$, and $x \leftarrow W^\top w$.
The unknown coordinates follow the unconditional reverse SDE with $w_K$ plugged in: the method
uses $\nabla_{w_U}\log p_t(w_U, w_K = \hat w_K)$, $\hat w_K \sim p_{0t}(\cdot \mid y_K)$, in place of the exact
$\nabla_{w_U}\log p_t(w_U \mid w_K(0) = y_K)$, and is biased (`replacement_limit_law`). The exact
route is the posterior score of `masked_observation` (`LinearInverseScore`).

Differences from the reference code (`controllable_generation.py`): it replaces at the time $t$ at
the start of the step (here: the time reached, an $O(h)$ difference), starts the known
coordinates at $y$ (here: at the given $x_T$; they are replaced after the first update), and its
`x_mean` keeps the *noisy* unknown coordinates (here: the predictor's mean, as `pc_sample`).
"""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._custom_types import Batch, Key, Matrix, ScalarLike, ScoreFn, Vector
from .._validation import check
from ..distributions._gaussian import Gaussian
from ..exact._sampler_law import pc_sampler_moments, start_law
from ..samplers._pc import pc_sample
from ..sde._base import AbstractAffineSDE


def colorization_transform(n_pixels: int = 1, dtype=None) -> Matrix:
    r"""The orthogonal $W = I_P \otimes W_3$ that decouples gray from colour, pixel-major `(r, g, b)` layout.

    $W_3$ has rows $(1,1,1)/\sqrt3$, $(-2,1,1)/\sqrt6$, $(0,1,-1)/\sqrt2$ (the reference code's matrix
    `M`, as $W_3 = M^\top$): $(W_3x)_0 = \sqrt3\cdot$gray for gray $= (r+g+b)/3$, so colorization is
    imputation of coordinate $0$ of each pixel in these coordinates (`colorization_mask`).
    """
    dtype = dtype or jnp.result_type(float)
    W3 = np.array([[1, 1, 1], [-2, 1, 1], [0, 1, -1]], dtype=np.float64) / np.sqrt([[3.0], [6.0], [2.0]])
    return jnp.asarray(np.kron(np.eye(n_pixels), W3), dtype=dtype)


def colorization_mask(n_pixels: int = 1) -> np.ndarray:
    """The known coordinates of `colorization_transform(n_pixels) @ x`: the gray channel of every pixel."""
    return np.tile([True, False, False], n_pixels)


class Replacement(eqx.Module):
    r"""The projection $w_K \leftarrow m_t y_K + (Wc_t)_K + s_t z$, $w = Wx$ (module docstring): `pc_sample`'s
    `project` hook.

    `y` `(d,)` or `(n, d)` the known values of $W x(0)$ (entries outside `mask` ignored); `mask`
    `(d,)` boolean, True = known; `transform` $W$ orthogonal `(d, d)` or `None` (identity).
    `law` is the same map on laws, for `pc_sampler_law`.
    """

    sde: AbstractAffineSDE
    y: jax.Array
    mask: jax.Array
    transform: jax.Array | None = None

    def __init__(self, sde: AbstractAffineSDE, y, mask, transform=None):
        self.sde, self.y, self.mask = sde, jnp.asarray(y), jnp.asarray(mask, dtype=bool)
        d = self.y.shape[-1]
        if self.mask.shape != (d,):
            raise ValueError(f"Replacement: mask must have shape ({d},) like the last axis of y; got {self.mask.shape}")
        if transform is not None:
            W = jnp.asarray(transform)
            if W.shape != (d, d):
                raise ValueError(f"Replacement: transform must have shape ({d}, {d}); got {W.shape}")
            eye = jnp.eye(d, dtype=W.dtype)
            transform = check(W, jnp.max(jnp.abs(W @ W.T - eye)) <= 1e-6, "Replacement: transform must be orthogonal")
        self.transform = transform

    def _to(self, x):  # w = W x, row-wise
        return x if self.transform is None else x @ self.transform.T

    def _back(self, w):  # x = Wᵀ w, row-wise
        return w if self.transform is None else w @ self.transform

    def _known(self, t):
        """(mean, std) of the forward-noised known values $m_t y + W c_t$, $s_t$."""
        m, s = self.sde.kernel(t)
        offset = jnp.broadcast_to(self.sde.kernel_offset(t), self.y.shape[-1:]).astype(self.y.dtype)
        return m * self.y + jnp.broadcast_to(self._to(offset), self.y.shape), s

    def __call__(self, key: Key, x: Batch, x_mean: Batch, t: ScalarLike) -> tuple[Batch, Batch]:
        known, s = self._known(t)
        known, mask = jnp.broadcast_to(known, x.shape), jnp.broadcast_to(self.mask, x.shape)
        z = jax.random.normal(key, x.shape, x.dtype)
        x_new = self._back(jnp.where(mask, known + s * z, self._to(x)))
        x_mean_new = self._back(jnp.where(mask, known, self._to(x_mean)))
        return x_new, x_mean_new

    def law(self, mean: Vector, cov: Matrix, pending: Matrix, t: ScalarLike) -> tuple[Vector, Matrix, Matrix]:
        r"""The map on `(mean, cov, pending)` (see `pc_sampler_law`): with $P_U = W^\top D_U W$, $P_K = I - P_U$,
        mean $\to W^\top[\text{known on } K,\ (W\text{mean})_U]$, cov $\to P_U\,\text{cov}\,P_U$,
        pending $\to P_U\,\text{pending}\,P_U + s_t^2 P_K$ (the replaced values' noise, left out by `denoise`)."""
        known, s = self._known(t)
        D_U = jnp.diag((~self.mask).astype(mean.dtype))
        P_U = D_U if self.transform is None else self.transform.T @ D_U @ self.transform
        P_K = jnp.eye(mean.shape[0], dtype=mean.dtype) - P_U
        mean = self._back(jnp.where(self.mask, known, self._to(mean)))
        return mean, P_U @ cov @ P_U, P_U @ pending @ P_U + s**2 * P_K


def impute_sample(
    key: Key, sde: AbstractAffineSDE, score_fn: ScoreFn, x_T: Batch, y, mask, *, transform=None, **kwargs
):
    r"""Imputation / colorization by the replacement method: `pc_sample` with the
    `Replacement(sde, y, mask, transform)` hook.

    **Arguments:** as `pc_sample` (keywords `n_steps`, `eps`, `predictor`, `corrector`, ... pass
    through), plus `y` `(d,)` or `(n, d)` the known values of $Wx(0)$, `mask` `(d,)` the known
    coordinates, `transform` $W$ (`None`: imputation of $x$ itself). `score_fn` is the
    *unconditional* score. **Returns** what `pc_sample` returns (a `SampleResult`; compiled once per
    shape and configuration through `pc_sample`, the `Replacement` hook being a traced `eqx.Module`); the known
    coordinates of the output are $m_\epsilon y + (Wc_\epsilon)_K$ (with `denoise`) or a draw around it.
    """
    return pc_sample(key, sde, score_fn, x_T, project=Replacement(sde, y, mask, transform), **kwargs)


def impute_sampler_law(
    sde: AbstractAffineSDE, dist: Gaussian, y, mask, *, transform=None, **kwargs
) -> tuple[Vector, Matrix]:
    """`(mean, cov)` of the exact (Gaussian) law of `impute_sample`'s output for Gaussian data and the
    exact unconditional score (`pc_sampler_law`'s recursion with `Replacement.law`; same keywords, `y`
    of shape `(d,)`). A pair, not a `Gaussian`: with `denoise` the known coordinates are exact, and
    `cov` is singular."""
    return pc_sampler_moments(sde, dist, project=Replacement(sde, y, mask, transform).law, **kwargs)


def replacement_limit_law(
    sde: AbstractAffineSDE,
    dist: Gaussian,
    y,
    mask,
    *,
    transform=None,
    eps: float = 1e-3,
    start: str = "prior",
    rtol: float = 1e-10,
    atol: float = 1e-10,
) -> Gaussian:
    r"""The law of the unknown coordinates $w_U$ that the replacement sampler (no corrector) converges to as
    $N \to \infty$.

    Each step's fresh $\hat w_K$ enters the unknown coordinates' update through $h\,g^2 P_{UK}\hat w_K$ with
    $P = \Sigma_t^{-1}$: its fluctuation adds $O(h^2)$ variance per step, $O(h)$ in all, so in the limit
    $w_U$ follows the reverse SDE whose score is the score of $p_t(w_U \mid w_K = \bar k_t)$ at the
    *mean* $\bar k_t = m_t y_K + (Wc_t)_K$. Its mean $\eta$ and covariance $\Gamma$ solve (time running down)
    $$\dot\eta = a\eta + b_U + g^2[P_{UU}(\eta - \mu_{t,U}) + P_{UK}(\bar k_t - \mu_{t,K})],\qquad
    \dot\Gamma = 2a\Gamma + g^2(P_{UU}\Gamma + \Gamma P_{UU}) - g^2 I,$$
    with $\mu_t = m_t W\mu + Wc_t$, $\Sigma_t = m_t^2 W\Sigma W^\top + s_t^2 I$, from the prior (`start="prior"`) or
    $p_T$ (`"exact"`) at $T$ down to `eps` (diffrax Dopri8, `rtol`, `atol`). Compare with the exact
    $p_\epsilon(w_U \mid y_K)$ (derivations/conditional.md §6; a closed form for VE in 2-D).
    **Returns** a `Gaussian` of dimension $|U|$.
    """
    mask = np.asarray(mask, dtype=bool)
    U, K = np.flatnonzero(~mask), np.flatnonzero(mask)
    y = jnp.asarray(y)
    d = y.shape[0]
    W = jnp.eye(d, dtype=y.dtype) if transform is None else jnp.asarray(transform)
    mu0, cov0 = W @ dist.mean, W @ dist.cov @ W.T
    eye = jnp.eye(d, dtype=y.dtype)

    def rotated(v):
        return W @ jnp.broadcast_to(v, (d,)).astype(y.dtype)

    def field(t, state, args):
        eta, Gamma = state
        m, s = sde.kernel(t)
        mu_t = m * mu0 + rotated(sde.kernel_offset(t))
        P = jnp.linalg.inv(m**2 * cov0 + s**2 * eye)
        P_UU, P_UK = P[U][:, U], P[U][:, K]
        a, b, g2 = sde.drift_coeff(t), rotated(sde.drift_offset(t))[U], sde.diffusion(t) ** 2
        score = -P_UU @ (eta - mu_t[U]) - P_UK @ (m * y[K] + rotated(sde.kernel_offset(t))[K] - mu_t[K])
        dGamma = 2 * a * Gamma + g2 * (P_UU @ Gamma + Gamma @ P_UU) - g2 * jnp.eye(U.size, dtype=y.dtype)
        return a * eta + b - g2 * score, dGamma

    if start not in ("prior", "exact"):
        raise ValueError(f"replacement_limit_law: start must be 'prior' or 'exact'; got {start!r}")
    x_T = start_law(sde, dist, start)  # the law at T in x coordinates, rotated to w = W x
    eta_T, Gamma_T = (W @ x_T.mean)[U], (W @ x_T.cov @ W.T)[U][:, U]
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Dopri8(),
        t0=sde.T,
        t1=eps,
        dt0=-(sde.T - eps) / 100,
        y0=(eta_T, Gamma_T),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=100_000,
    )
    eta, Gamma = jax.tree_util.tree_map(lambda v: v[-1], sol.ys)
    return Gaussian(eta, 0.5 * (Gamma + Gamma.T))
