r"""`--data FILE.npy` with images `(n, H, W)` or `(n, C, H, W)`: the digits pipeline on a user's own images, standing
in for the data the documents used and that cannot be shipped here — 003_68ae16c2fc5b3c9b.txt's Fashion-MNIST and
004_77456edc02bb59d5.txt §2.1's cars (derivations/experiments_digits.md §6).

The array's values are mapped affinely onto $[-1, 1]$ by its own minimum and maximum (no quantisation is assumed:
the values are treated as continuous, so the likelihood is a density, reported in bits/dim of the scaled data,
not a discrete bits/dim), split 80/20 by the seed, and modelled by the size's network (as residual over the
fitted Gaussian when $d \le$ `MAX_GAUSSIAN_DIM`). Samples come back in the array's layout and scale.
"""

import jax
import numpy as np

from .._base import ExperimentOutput, train_or_resume
from .._figures import plot_training_curve
from .._user_data import load_user_array
from ._common import fmt, mean_se
from ._figures import image_grids
from ._metrics import frechet_distance
from ._score import SIZES, digits_sde, held_out_bits_per_dim, sample_flow, score_model

MAX_GAUSSIAN_DIM = 1024
"""Above this dimension no full covariance is formed (no Gaussian residual, no Gaussian baseline)."""
HELD_OUT = 0.2


def _gaussian_bpd(x_train, x_test) -> np.ndarray:
    r"""$-\log\mathcal N(x; \hat\mu, \hat\Sigma + 10^{-6} I)/(d\ln 2)$ per held-out row (the sample mean and
    covariance)."""
    mean = x_train.mean(axis=0)
    cov = np.cov(x_train, rowvar=False) + 1e-6 * np.eye(x_train.shape[1])
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, (x_test - mean).T)
    log_p = -0.5 * np.sum(z**2, axis=0) - np.sum(np.log(np.diag(chol))) - 0.5 * x_train.shape[1] * np.log(2 * np.pi)
    return -log_p / (x_train.shape[1] * np.log(2.0))


def _projected(x, d_max: int = 64, seed: int = 0):
    """`x` itself when it has at most `d_max` columns, else a fixed random orthonormal projection onto `d_max`."""
    if x.shape[1] <= d_max:
        return x
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((x.shape[1], d_max)))
    return x @ q


def run_user_images(config) -> ExperimentOutput:
    """The `digits` pipeline on the images of `config.data` (module docstring)."""
    array = load_user_array(config.data)
    if array.ndim not in (3, 4):
        raise ValueError(f"run_user_images: images must be (n, H, W) or (n, C, H, W); got shape {array.shape}")
    image_shape = array.shape[1:]
    chw = image_shape if array.ndim == 4 else (1, *image_shape)
    size = SIZES[config.size]
    if size.network == "unet" and (min(chw[1:]) < 8 or any(s % 4 for s in chw[1:])):
        size = SIZES["default"]  # the U-Net needs H, W >= 8 multiples of 4: the MLP instead
    lo, hi = float(array.min()), float(array.max())
    if not hi > lo:
        raise ValueError(f"run_user_images: the images must not all be equal; got every value = {lo}")
    x = 2 * (np.asarray(array, np.float64).reshape(len(array), -1) - lo) / (hi - lo) - 1
    n, d = x.shape
    order = np.random.default_rng(config.seed).permutation(n)
    n_test = max(1, int(round(HELD_OUT * n)))
    x_test, x_train = x[order[:n_test]], x[order[n_test:]]
    keys = jax.random.split(jax.random.PRNGKey(config.seed), 4)
    sde = digits_sde()
    gaussian = d <= MAX_GAUSSIAN_DIM
    model = score_model(keys[0], sde, size, chw, x_train if gaussian else None)
    result = train_or_resume(
        config, keys[1], sde, x_train.astype(np.float32), model=model, steps=size.steps,
        batch_size=min(size.batch_size, len(x_train)), learning_rate=size.learning_rate, ema_rate=size.ema_rate,
    )  # fmt: skip
    n_samples = min(size.n_samples, max(n_test, 16))
    samples, nfe = sample_flow(keys[2], sde, result.score, n_samples, d, size, progress=config.progress)
    n_bpd = min(size.n_bpd, n_test)
    # continuous data: no dequantisation offset (bits/dim of the density of the scaled data)
    bpd = held_out_bits_per_dim(keys[3], sde, result.score, x_test[:n_bpd], size, progress=config.progress, offset=0.0)
    rows = [{"model": "score model (PF ODE)", "held-out bits/dim (scaled data)": fmt(*mean_se(bpd))}]
    metrics = {"bits_per_dim_scaled": {"score model": mean_se(bpd)}, "sampling_nfe": nfe, "n_train": len(x_train),
               "n_test": n_test, "value_range": [lo, hi], "size": config.size}  # fmt: skip
    if gaussian:
        g = _gaussian_bpd(x_train, x_test[:n_bpd])
        rows.append(
            {"model": "Gaussian (sample mean and covariance)", "held-out bits/dim (scaled data)": fmt(*mean_se(g))}
        )
        metrics["bits_per_dim_scaled"]["gaussian"] = mean_se(g)
    ref, m = _projected(x_train, seed=config.seed), min(n_samples, n_test)
    fd = {"samples": frechet_distance(_projected(samples, seed=config.seed), ref),
          "held-out (floor)": frechet_distance(_projected(x_test[:m], seed=config.seed), ref)}  # fmt: skip
    rows += [{"model": f"pixel Fréchet distance to training: {k}", "value": fmt(v, digits=2)} for k, v in fd.items()]
    metrics["pixel_frechet_distance"] = fd
    out = lo + (np.clip(samples, -1, 1) + 1) / 2 * (hi - lo)
    out = out.reshape((n_samples, *image_shape))
    shown_real = array[order[:n_test]][:20]
    figures = {
        "real_vs_generated": image_grids(
            {"real (held out)": _display(shown_real, lo), "generated": _display(out[:20], lo)}, vmax=hi - lo
        ),
        "training_curve": plot_training_curve(result.losses, "your images: DSM loss (σ² weighting)"),
    }
    summary = f"""Your images `{config.data}` ({n} of shape {image_shape}, values in [{lo:g}, {hi:g}]), in place of
the data the documents used that cannot be shipped here: 003_68ae16c2fc5b3c9b.txt's Fashion-MNIST and
004_77456edc02bb59d5.txt §2.1's cars (60 × 60 grey images). The `digits` pipeline: values mapped onto [−1, 1],
{len(x_train)} training / {n_test} held-out (split by the seed), VP SDE, {size.network.upper()} score network
{"(residual over the fitted Gaussian) " if gaussian else ""}trained {size.steps} steps, {n_samples} samples from the PF
ODE, the held-out density through the PF ODE (Hutchinson) in bits/dim of the scaled, continuous data (no
dequantisation offset: your values are not assumed to be quantised), and the pixel-space Fréchet distance to the
training images (after a fixed random projection to 64 dimensions when d > 64), with the held-out images' as its
floor. `samples.npy`: shape {out.shape}, in your array's scale.
"""
    return ExperimentOutput("digits pipeline on your images (--data)", summary, rows, metrics, out, figures)


def _display(images, lo):
    return np.asarray(images, np.float64) - lo
