r"""Figures shared by the experiments, drawn on plain `matplotlib.figure.Figure`s (no pyplot state, no backend
switch; `_report.py` renders them with Agg): the training curve and particle trajectories."""

import numpy as np


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=(6.4, 4.2)):
    """`(figure, axes)` with `axes` always a 2-D array `(nrows, ncols)`."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, np.asarray(fig.subplots(nrows, ncols, squeeze=False))


def plot_training_curve(losses, title: str):
    """The loss of every step (light) and its running mean over 1% of the run (dark), log scale when positive."""
    losses = np.asarray(losses, np.float64)
    fig, axes = new_figure()
    ax = axes[0, 0]
    steps = np.arange(1, losses.size + 1)
    ax.plot(steps, losses, lw=0.3, alpha=0.4, label="minibatch loss")
    window = max(1, losses.size // 100)
    if losses.size >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, lw=1.2, label=f"running mean ({window} steps)")
    if losses.size and np.all(losses > 0):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_trajectories(paths, title: str, ode_label: str = "probability-flow ODE"):
    """Particles of the reverse SDE (EM) and the PF ODE, from `_samplers.trajectories`: against t in 1-D, in the
    plane in 2-D (start ○, end ●)."""
    em_times, em_path, ode_times, ode_path = paths
    fig, axes = new_figure(1, 2, figsize=(11, 4.2))
    for ax, times, path, label in ((axes[0, 0], em_times, em_path, "reverse SDE (EM)"),
                                   (axes[0, 1], ode_times, ode_path, ode_label)):  # fmt: skip
        if path.shape[-1] == 1:
            ax.plot(times, path[:, :, 0], lw=0.8)
            ax.set_xlabel("t")
            ax.set_ylabel("x")
            ax.invert_xaxis()
        else:
            for j in range(path.shape[1]):
                ax.plot(path[:, j, 0], path[:, j, 1], lw=0.7)
                ax.plot(path[0, j, 0], path[0, j, 1], "o", mfc="none", color="gray", ms=4)
                ax.plot(path[-1, j, 0], path[-1, j, 1], "o", color="k", ms=3)
            ax.set_aspect("equal")
        ax.set_title(label, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
