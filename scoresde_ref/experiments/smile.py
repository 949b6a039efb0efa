r"""`smile`, `smile-noisy`: 000_cce368350850b628.txt §5.2 and appendix E — a score model trained on the 400-point
smile (VP SDE), sampled with the probability-flow ODE as the document did (RK45, rtol = atol = 1e-5) and with
Euler–Maruyama, and compared with fresh data by sliced $W_1$ and MMD, each beside its two-sample noise floor; for
`smile-noisy`, whose law has a density, the NLL of fresh points against the entropy computed by quadrature
(`_smile_law.py`; derivations/experiments.md §2–§3).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._progress import ProgressBar
from ..likelihood._log_likelihood import log_likelihood
from ..sde._vp import VPSDE
from ._base import EMA_RATES, ExperimentOutput, RunConfig, Stopwatch, register, train_or_resume
from ._figures import new_figure, plot_training_curve, plot_trajectories
from ._model import PEAK_LEARNING_RATE, cosine_adam, eps_score_model
from ._samplers import RK45, SAMPLERS, as_float64, run_samplers, trajectories
from ._smile_law import EYE_STD, WEIGHTS, SmileLaw
from ._two_sample_extra import two_sample_metrics

N_TRAIN = 400  # 000 §5.2: 100 + 100 points in the eyes, 200 on the mouth
MOUTH_NOISE = 0.02  # 000 appendix E: "ruído normal de média 0 e desvio padrão 0.02"
EPS = 1e-3  # the samplers' end time
NLL_EPS = (
    1e-3  # the likelihood's start time: the samplers' end time (at 1e-5 the ε-parameterised model's 1/σ(t) blows up)
)
N_PATH = 8
ESCAPE = 10.0  # samples farther than this from the origin (the smile lies within radius 1.2) have diverged
N_ENTROPY = 20000  # points for the entropy's Monte Carlo over the quadrature density (standard error ~0.01 nats)
SAMPLER_NAMES = ("ode_rk45", "em")  # the document's sampler first (its samples are samples.npy)


class Size(NamedTuple):
    """Training steps and batch; generated (and fresh) samples; EM's NFE; NLL points; noise-floor repeats."""

    steps: int
    batch_size: int
    n_samples: int
    nfe: int
    n_nll: int
    floor_repeats: int


SIZES = {
    "quick": Size(steps=4000, batch_size=256, n_samples=1000, nfe=100, n_nll=200, floor_repeats=10),
    "default": Size(steps=40000, batch_size=256, n_samples=4000, nfe=200, n_nll=1000, floor_repeats=10),
    "large": Size(steps=200000, batch_size=1024, n_samples=20000, nfe=1000, n_nll=5000, floor_repeats=5),
}


def nll_against_entropy(sde, score_fn, law: SmileLaw, y, y_entropy) -> dict:
    r"""The model's $-\log p^\theta_\epsilon(y)$ (PF ODE, `log_likelihood` at $\epsilon$ = `NLL_EPS`) of fresh points
    `y` from the data law, beside the exact $-\log p_\epsilon(y)$ (the cross-entropy) and $-\log p_0(y)$, both by
    quadrature, on the same points (paired standard errors); and the entropy $H(p_0) = E[-\log p_0]$ by the
    quadrature density over the many more points `y_entropy`."""
    y = jnp.asarray(y, jnp.float64)
    model = -np.asarray(jax.vmap(lambda x: log_likelihood(sde, score_fn, x, eps=NLL_EPS)[0])(y))
    alpha, sigma = (float(v) for v in sde.kernel(NLL_EPS))
    cross = -np.asarray(law.log_prob(y, alpha, sigma))
    at_zero = -np.asarray(law.log_prob(y))
    y_entropy = jnp.asarray(y_entropy, jnp.float64)
    entropy = -np.concatenate(
        [np.asarray(law.log_prob(y_entropy[i : i + 2000])) for i in range(0, len(y_entropy), 2000)]
    )
    n = y.shape[0]

    def se(v):
        return float(np.std(v, ddof=1) / np.sqrt(v.size))

    return {
        "n": int(n),
        "nll_model": float(model.mean()),
        "cross_entropy_exact": float(cross.mean()),
        "minus_log_p0_same_points": float(at_zero.mean()),
        "entropy": float(entropy.mean()),
        "entropy_stderr": se(entropy),
        "entropy_n": int(entropy.size),
        "nll_gap": float((model - cross).mean()),
        "nll_gap_stderr": se(model - cross),
        "nll_eps": NLL_EPS,
    }


def run_smile(config: RunConfig, mouth_std: float) -> ExperimentOutput:
    """`smile` (`mouth_std` 0) or `smile-noisy` (0.02): train, sample, measure (module docstring)."""
    name = config.name
    size = SIZES[config.size]
    sde = VPSDE(beta_min=0.1, beta_max=20.0)
    law = SmileLaw(mouth_std)
    keys = jax.random.split(jax.random.key(config.seed), 7)
    watch = Stopwatch()
    with watch("train"):
        train_set = law.sample(keys[0], N_TRAIN, stratified=True).astype(np.float32)
        result = train_or_resume(
            config, keys[1], sde, jnp.asarray(train_set), model=eps_score_model(keys[0], sde, 2), steps=size.steps,
            batch_size=size.batch_size, ema_rate=EMA_RATES[config.size], optimiser=cosine_adam(size.steps),
        )  # fmt: skip
    learned = as_float64(result.score)
    bar = ProgressBar(4, f"{name}: evaluation", enabled=config.progress, min_interval=0.0, unit="parts")
    with bar:
        x_T = sde.prior_sample(keys[2], (size.n_samples, 2), dtype=jnp.float64)
        runs = {}
        for sampler in SAMPLER_NAMES:
            with watch(f"sampler {sampler}"):
                runs |= run_samplers(keys[3], sde, learned, x_T, nfe=size.nfe, eps=EPS, names=(sampler,), n_path=N_PATH)
        bar.update(1, part="samplers")
        with watch("two-sample metrics and floors"):
            fresh = law.sample(keys[4], size.n_samples)

            def draw_pair(key):
                k1, k2 = jax.random.split(key)
                return law.sample(k1, size.n_samples), law.sample(k2, size.n_samples)

            two_sample = two_sample_metrics(
                keys[5], {s: r.x for s, r in runs.items()}, fresh, draw_pair, size.floor_repeats
            )
            parts = {s: law.components(r.x) for s, r in runs.items()} | {"fresh data": law.components(fresh)}
        bar.update(1, part="two-sample")
        nll = None
        if mouth_std > 0:
            with watch("nll"):
                k_nll, k_entropy = jax.random.split(keys[6])
                y_nll, y_entropy = law.sample(k_nll, size.n_nll), law.sample(k_entropy, N_ENTROPY)
                nll = nll_against_entropy(sde, learned, law, y_nll, y_entropy)
        bar.update(1, part="nll")
        with watch("trajectories and figures"):
            paths = trajectories(sde, learned, x_T, runs["em"], n_path=N_PATH, eps=EPS, **RK45)
            figures = {
                "samples": plot_samples(name, train_set, fresh, runs),
                "trajectories": plot_trajectories(
                    paths, f"{name}: particles of the learned reverse SDE and PF ODE", "probability-flow ODE (RK45)"
                ),
                "training": plot_training_curve(result.losses, f"{name}: DSM loss per step"),
            }
        bar.update(1, part="figures")

    metrics = {
        "data": {
            "law": "eyes N((-0.6, 0.8), 0.02^2 I), N((0.6, 0.8), 0.02^2 I) (1/4 each); mouth (x, -sqrt(1 - x^2)), "
            f"x ~ U[-1, 1] (1/2), plus N(0, {mouth_std:g}^2 I)",
            "n_train": N_TRAIN,
            "sde": "VPSDE(0.1, 20)",
        },
        "size": config.size,
        "train_steps": int(result.step),
        "final_loss_mean_last_10pct": float(np.mean(result.losses[-max(1, len(result.losses) // 10) :])),
        "eps": EPS,
        "samplers": {s: {"nfe": r.nfe, "label": SAMPLERS[s]} for s, r in runs.items()},
        "two_sample": two_sample,
        "components": {
            s: {"fractions": f, "stderr": se, "off_smile_fraction": off} for s, (f, se, off) in parts.items()
        },
        "divergence": {s: escaped(r.x) for s, r in runs.items()},
        "true_weights": list(WEIGHTS),
        "nll": nll,
    }
    document = "000 §5.2 (figure 4b only)" if mouth_std == 0 else "000 App. E (figure 8b only)"
    return ExperimentOutput(
        title=f"{name} — the 2-D smile of 000 {'§5.2' if mouth_std == 0 else 'App. E'}, against fresh data",
        summary=summary(name, mouth_std, size, result),
        table=metrics_table(metrics, document),
        metrics=metrics,
        samples=runs["ode_rk45"].x,
        figures=figures,
        timing=watch.times,
    )


def escaped(x) -> dict:
    """The largest |x| of the samples and how many lie beyond radius `ESCAPE` (a diverged particle dominates W₁)."""
    norm = np.linalg.norm(np.asarray(x), axis=1)
    return {"max_norm": float(np.max(norm)), "n_beyond": int(np.sum(norm > ESCAPE)), "radius": ESCAPE}


def _f(x, digits=3) -> str:
    return f"{x:.{digits}g}"


def metrics_table(m: dict, document: str) -> list[dict[str, str]]:
    """Per sampler: sliced W₁, MMD², the parts' weights and the off-smile share, each beside its floor or truth;
    then the NLL (smile-noisy)."""
    ts, floor = m["two_sample"], m["two_sample"]["floor"]
    rows = []
    for s, info in m["samplers"].items():
        label = f"{info['label']} [{info['nfe']} NFE]"
        frac, se = m["components"][s]["fractions"], m["components"][s]["stderr"]
        fresh = m["components"]["fresh data"]
        rows += [
            {
                "metric": f"{label}: sliced W₁ to fresh data (n = {ts['n_reference']})",
                "model": _f(ts[s]["sliced_w1"]),
                "floor (data vs data) / truth": f"{_f(floor['sliced_w1']['mean'])} ± "
                f"{_f(floor['sliced_w1']['std'], 2)}",
                "document": document,
            },
            {
                "metric": f"{label}: MMD²_u to fresh data",
                "model": f"{ts[s]['mmd2']:.2e}",
                "floor (data vs data) / truth": f"{floor['mmd2']['mean']:.1e} ± {floor['mmd2']['std']:.1e}",
            },
            {
                "metric": f"{label}: weights of left eye / right eye / mouth",
                "model": " / ".join(f"{w:.3f}±{e:.3f}" for w, e in zip(frac, se)),
                "floor (data vs data) / truth": f"{' / '.join(f'{w:g}' for w in m['true_weights'])} "
                f"(fresh: {' / '.join(f'{w:.3f}' for w in fresh['fractions'])})",
            },
            {
                "metric": f"{label}: share farther than 0.1 from the smile",
                "model": _f(m["components"][s]["off_smile_fraction"]),
                "floor (data vs data) / truth": _f(fresh["off_smile_fraction"]),
            },
            {
                "metric": f"{label}: samples beyond |x| = {ESCAPE:g} (diverged); largest |x|",
                "model": f"{m['divergence'][s]['n_beyond']}; {m['divergence'][s]['max_norm']:.3g}",
                "floor (data vs data) / truth": "0; ≈ 1.1",
            },
        ]
    if m["nll"] is not None:
        n = m["nll"]
        rows.append(
            {
                "metric": f"NLL of {n['n']} fresh points (PF ODE to t = {n['nll_eps']:g}), nats",
                "model": f"{n['nll_model']:.4f} (gap {n['nll_gap']:.3f} ± {n['nll_gap_stderr']:.3f})",
                "floor (data vs data) / truth": f"exact cross-entropy {n['cross_entropy_exact']:.4f} (same points); "
                f"entropy H(p_0) {n['entropy']:.4f} ± {n['entropy_stderr']:.3f} (quadrature, {n['entropy_n']} points)",
                "document": document,
            }
        )
    return rows


def summary(name: str, mouth_std: float, size: Size, result) -> str:
    """What was run, and how it differs from the document."""
    which = (
        "**000_cce368350850b628.txt §5.2**"
        if mouth_std == 0
        else f"**000_cce368350850b628.txt appendix E** (§5.2 with N(0, {mouth_std:g}²) noise on the mouth)"
    )
    noisy = (
        "The law has a density (the mouth is a semicircle convolved with a Gaussian), computed by Gauss–Legendre "
        "quadrature along the curve, so the model's NLL of fresh points stands beside the exact cross-entropy and "
        "the entropy of the data law. "
        if mouth_std > 0
        else "Without noise the mouth is a curve: the law has no density in the plane, so there is no NLL to set "
        "against an entropy; only two-sample metrics. "
    )
    return (
        f"Reruns {which}: 400 points (100 + 100 in the eyes N((∓0.6, 0.8), {EYE_STD:g}² I), 200 on the mouth "
        "(x, −√(1 − x²)), x ~ U[−1, 1]), the VP SDE (β from 0.1 to 20), and generation with the probability-flow "
        "ODE by RK45 at rtol = atol = 1e-5 as the document did (Dopri5, the same pair), beside Euler–Maruyama at "
        f"{size.nfe} steps. The samples are compared with {size.n_samples} *fresh* points of the law (not the "
        "training set) by sliced W₁ and the unbiased MMD² (Gaussian kernels at 1/16, 1/4 and 1 × the median "
        "distance), each beside its noise floor: the same statistic between two independent samples of the law "
        "at the same sizes. " + noisy + "\n\n"
        "Model: `train_score`'s MLP (2 × 128, SiLU, Fourier time features), ε-parameterised, DSM with λ = σ², "
        f"Adam with a cosine decay from {PEAK_LEARNING_RATE:g}, {int(result.step)} steps of batch {size.batch_size}, "
        "float32 (evaluation in float64). The document used "
        "two hidden ReLU layers of 128, Adam 1e-4, batch 64, 7000 epochs and a grid of 100 times × 10 draws per "
        "point. It reported figures only (4b / 8b), no number.\n"
    )


def plot_samples(name, train_set, fresh, runs):
    """Training data, fresh data and each sampler's samples, side by side."""
    panels = [("training data (400)", train_set), (f"fresh data ({len(fresh)})", fresh)]
    panels += [(f"{SAMPLERS[s]} ({r.nfe} NFE)", r.x) for s, r in runs.items()]
    fig, axes = new_figure(1, len(panels), figsize=(4 * len(panels), 4.2))
    for ax, (label, x) in zip(axes[0], panels):
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.6)
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(-1.5, 1.3)
        ax.set_aspect("equal")
        ax.set_title(label, fontsize=9)
    fig.suptitle(f"{name}: data next to samples")
    fig.tight_layout()
    return fig


@register("smile", description="000 §5.2: the 2-D smile (two Gaussian eyes, a semicircle mouth)")
def run(config: RunConfig) -> ExperimentOutput:
    """`smile` (module docstring); `--data`: a user's vectors in its place."""
    if config.data is not None:
        from ._user_data import run_user_data

        return run_user_data(config, stands_in_for="000 §5.2 (the 2-D smile)")
    return run_smile(config, 0.0)


@register("smile-noisy", description="000 App. E: the smile with N(0, 0.02²) noise on the mouth; NLL vs entropy")
def run_noisy(config: RunConfig) -> ExperimentOutput:
    """`smile-noisy` (module docstring); `--data`: a user's vectors in its place."""
    if config.data is not None:
        from ._user_data import run_user_data

        return run_user_data(config, stands_in_for="000 appendix E (the noisy smile)")
    return run_smile(config, MOUTH_NOISE)
