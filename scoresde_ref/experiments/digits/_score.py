r"""The digits' score model, its sizes, and the three things done with it: training on dequantised copies of the
training split, sampling through the probability-flow ODE, and the held-out bits/dim through the same ODE
(derivations/experiments_digits.md §1, §5).

The SDE is VP ($\beta_{\min} = 0.1$, $\beta_{\max} = 20$, the documents' and the reference code's), the data scaled to
$[-1, 1]$ (`_data.py`). Training runs in float32; the likelihood's divergence is Hutchinson's estimator with
Rademacher probes (unbiased for the trace, so the held-out mean of the bits/dim is unbiased; its standard error
counts the probes' spread and the data's).
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._progress import ProgressBar
from ...likelihood._log_likelihood import log_likelihood
from ...nn._mlp import MLPScoreNet
from ...nn._model import ScoreModel
from ...nn._unet import UNetScoreNet
from ...samplers._ode import ode_sample
from ...sde._vp import VPSDE
from .._base import train_or_resume
from ._data import LEVELS, levels_offset

DTYPE = jnp.float32
"""Training and sampling precision (the metrics are float64)."""


@dataclasses.dataclass(frozen=True)
class DigitsSize:
    """Everything a size fixes: the network, training, sampling and evaluation budgets, the baselines' grids."""

    network: str  # "mlp" or "unet"
    width: int  # MLP
    depth: int
    channels: tuple[int, int]  # U-Net
    steps: int
    batch_size: int
    learning_rate: float
    ema_rate: float  # the start's weight in the EMA, ema_rate**steps, is <= 0.003 (and the start is the Gaussian)
    copies: int  # dequantised copies of the training split
    n_samples: int
    ode_tol: float
    n_bpd: int  # held-out examples scored
    n_probes: int
    likelihood_eps: float
    classifier_steps: int
    gaussian_components: tuple[int, ...]
    categorical_components: tuple[int, ...]
    em_iterations: int
    # conditional / inpainting
    time_classifier_steps: int
    per_class: int
    guidance_scales: tuple[float, ...]
    pc_steps: int
    n_inpaint: int
    inpaint_draws: int


SIZES = {
    "quick": DigitsSize(
        network="mlp", width=256, depth=2, channels=(16, 32), steps=1500, batch_size=128, learning_rate=2e-3,
        ema_rate=0.99,
        copies=4, n_samples=200, ode_tol=1e-3, n_bpd=100, n_probes=1, likelihood_eps=1e-3, classifier_steps=600,
        gaussian_components=(1, 5), categorical_components=(10,), em_iterations=40,
        time_classifier_steps=600, per_class=10, guidance_scales=(0.0, 1.0, 4.0), pc_steps=100, n_inpaint=60,
        inpaint_draws=2,
    ),
    "default": DigitsSize(
        network="mlp", width=256, depth=2, channels=(16, 32), steps=6000, batch_size=128, learning_rate=1e-3,
        ema_rate=0.999,
        copies=16, n_samples=360, ode_tol=1e-5, n_bpd=360, n_probes=4, likelihood_eps=1e-3, classifier_steps=2000,
        gaussian_components=(1, 2, 5, 10), categorical_components=(10, 30, 60), em_iterations=300,
        time_classifier_steps=3000, per_class=36, guidance_scales=(0.0, 1.0, 2.0, 4.0), pc_steps=500, n_inpaint=200,
        inpaint_draws=4,
    ),
    "large": DigitsSize(
        network="unet", width=512, depth=3, channels=(32, 64), steps=50_000, batch_size=256, learning_rate=5e-4,
        ema_rate=0.9995,
        copies=32, n_samples=1000, ode_tol=1e-5, n_bpd=360, n_probes=16, likelihood_eps=1e-3,
        classifier_steps=4000, gaussian_components=(1, 2, 5, 10, 20), categorical_components=(10, 30, 60, 100),
        em_iterations=500, time_classifier_steps=8000, per_class=100, guidance_scales=(0.0, 1.0, 2.0, 4.0, 8.0),
        pc_steps=1000, n_inpaint=360, inpaint_draws=16,
    ),
}  # fmt: skip


EPS_BOUND = 5.0
r"""The residual's noise prediction is bounded by this in each coordinate (`BoundedNetwork`); the true one,
$E[z \mid x_t]$, has coordinates of a standard normal's size."""


class BoundedNetwork(eqx.Module):
    r"""`(x, u) -> b tanh(network(x, u) / b)`: a network whose output stays in $(-b, b)$ per coordinate (≈ the
    network itself where $|\text{out}| \ll b$). As the $\epsilon$-prediction of the residual of
    `GaussianResidualScore` it keeps $|r_\theta| \le b/s_t$: far from the data the Gaussian's $-x/(m_t^2\lambda +
    s_t^2)$ dominates and the probability flow cannot run away (an unbounded residual sent 2 of 20 held-out digits'
    flows to $|x(T)| \sim 10^{58}$, measured)."""

    network: eqx.Module
    bound: float = eqx.field(static=True)

    def __call__(self, x, u):
        out = self.network(x, u)
        return self.bound * jnp.tanh(out / self.bound)


class GaussianResidualScore(eqx.Module):
    r"""$s(x, t) = -V\,\mathrm{diag}\big(1/(m_t^2\lambda + s_t^2)\big)V^\top(x - m_t\mu) + r_\theta(x, t)$: the exact
    score
    of $p_t$ for data $\mathcal N(\mu, V\Lambda V^\top)$ (the Gaussian fitted to the training split, fixed:
    `stop_gradient`) plus a trained residual `residual`: a `ScoreModel` in the $\epsilon$-parameterisation of a
    `BoundedNetwork`, its output layer started at zero.
    At initialisation the model is the Gaussian baseline; training can only add structure to it."""

    sde: VPSDE
    mean: jax.Array
    eigenvalues: jax.Array
    eigenvectors: jax.Array
    residual: eqx.Module

    def gaussian_score(self, x, t):
        mean, lam, vecs = (jax.lax.stop_gradient(a) for a in (self.mean, self.eigenvalues, self.eigenvectors))
        m, s = self.sde.kernel(t)
        return -vecs @ ((vecs.T @ (x - m * mean)) / (m**2 * lam + s**2))

    def __call__(self, x, t):
        return self.gaussian_score(x, t) + self.residual(x, t)


def as_float64(model):
    r"""`model` with its floating-point leaves cast to float64: training runs in float32, sampling and likelihoods in
    float64 (the samplers' and the likelihood's times are float64 under x64; and in float32 the likelihood's
    tolerance 1e-5 on $\Delta\log p \sim 10^2$ is at the round-off floor, where the step-size controller stalls)."""
    return jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, model)


def digits_sde() -> VPSDE:
    return VPSDE(beta_min=0.1, beta_max=20.0)


def score_model(key, sde, size: DigitsSize, shape: tuple[int, int, int], x_train=None):
    r"""The size's network on images of `shape` `(C, H, W)` (flat `(C·H·W,)` examples), score-parameterised; with
    `x_train`, the bounded $\epsilon$-residual of `GaussianResidualScore` over the Gaussian fitted to it (sample mean
    and covariance)."""
    dim = int(np.prod(shape))
    if size.network == "unet":
        net = UNetScoreNet(key, shape, channels=size.channels, zero_output=x_train is not None, dtype=DTYPE)
    else:
        net = MLPScoreNet(key, dim, width=size.width, depth=size.depth, zero_output=x_train is not None, dtype=DTYPE)
    if x_train is None:
        return ScoreModel(net, sde, "score")
    model = ScoreModel(BoundedNetwork(net, EPS_BOUND), sde, "eps")
    x = np.asarray(x_train, np.float64)
    lam, vecs = np.linalg.eigh(np.cov(x, rowvar=False))
    arrays = (jnp.asarray(a, DTYPE) for a in (x.mean(axis=0), np.clip(lam, 1e-8, None), vecs))
    return GaussianResidualScore(sde, *arrays, model)


def train_digits_score(config, key, sde, x_train: np.ndarray, size: DigitsSize, shape):
    """`train_or_resume` of the size's model, the residual over the Gaussian fitted to `x_train` `(n, d)`
    (dequantised copies, model scale), on `x_train`, float32."""
    key_model, key_train = jax.random.split(key)
    model = score_model(key_model, sde, size, shape, x_train)
    return train_or_resume(
        config, key_train, sde, np.asarray(x_train, np.float32), model=model, steps=size.steps,
        batch_size=size.batch_size, learning_rate=size.learning_rate, ema_rate=size.ema_rate,
    )  # fmt: skip


def chunks(n: int, chunk: int):
    return [(i, min(i + chunk, n)) for i in range(0, n, chunk)]


def padded(x, lo: int, hi: int, chunk: int):
    """Rows `lo:hi` of `x`, padded with copies of the last row to `chunk` rows (one shape, one compilation)."""
    rows = x[lo:hi]
    if hi - lo == chunk:
        return rows
    return jnp.concatenate([rows, jnp.repeat(rows[-1:], chunk - (hi - lo), axis=0)])


def sample_flow(key, sde, score_fn, n: int, dim: int, size: DigitsSize, *, progress: bool, chunk: int = 100):
    r"""`n` samples `(n, dim)` (model scale, float64: `as_float64`) of the PF ODE from $\mathcal N(0, I)$ at $T$ to
    $\epsilon = 10^{-3}$
    (tsit5 at rtol = atol = `size.ode_tol`), `chunk` at a time; also the number of score evaluations."""
    score_fn = as_float64(score_fn)
    x_T = jax.random.normal(key, (n, dim), jnp.float64)
    chunk = min(chunk, n)
    out, nfe = [], 0
    with ProgressBar(n, "digits: PF-ODE sampling", enabled=progress, unit="samples") as bar:
        for lo, hi in chunks(n, chunk):
            x = padded(x_T, lo, hi, chunk)
            result = ode_sample(sde, score_fn, x, eps=1e-3, rtol=size.ode_tol, atol=size.ode_tol)
            out.append(np.asarray(result.x, np.float64)[: hi - lo])
            nfe += int(result.nfe)
            bar.update(hi - lo)
    return np.concatenate(out), nfe


@eqx.filter_jit
def _log_likelihoods(sde, score_fn, x, keys, eps, n_probes):
    def one(xi, ki):
        return log_likelihood(sde, score_fn, xi, eps=eps, divergence="hutchinson", key=ki, n_probes=n_probes)[0]

    return jax.vmap(one)(x, keys)


def held_out_bits_per_dim(key, sde, score_fn, x, size: DigitsSize, *, progress: bool, offset: float | None = None,
                          chunk: int = 20) -> np.ndarray:  # fmt: skip
    r"""Bits/dim of each row of `x` `(n, d)` (dequantised, model scale) under the PF-ODE density at
    $\epsilon$ = `size.likelihood_eps`: $-\log p(x)/(d\ln2) + $ `offset` (default `levels_offset(17)`, the digits';
    0 for continuous data), Hutchinson with
    `size.n_probes` probes per example (one key per example), in float64 (`as_float64`)."""
    score_fn = as_float64(score_fn)
    x = jnp.asarray(x, jnp.float64)
    n, d = x.shape
    keys = jax.random.split(key, n)
    offset = levels_offset(LEVELS) if offset is None else float(offset)
    chunk = min(chunk, n)
    out = []
    with ProgressBar(n, "digits: PF-ODE likelihood", enabled=progress, unit="examples") as bar:
        for lo, hi in chunks(n, chunk):
            xs, ks = padded(x, lo, hi, chunk), padded(keys, lo, hi, chunk)
            log_p = np.asarray(_log_likelihoods(sde, score_fn, xs, ks, size.likelihood_eps, size.n_probes))[: hi - lo]
            out.append(-log_p.astype(np.float64) / (d * np.log(2.0)) + offset)
            bar.update(hi - lo)
    return np.concatenate(out)
