"""The digits' figures: grids of images (grey levels, or channels first for a user's colour images), real next to
generated, one row per class, and masked / completed / truth for the inpainting."""

import numpy as np

from .._figures import new_figure


def _show(ax, image, vmax: float) -> None:
    image = np.asarray(image, np.float64)
    if image.ndim == 3 and image.shape[0] in (3, 4):  # (C, H, W) colour
        ax.imshow(np.clip(np.moveaxis(image, 0, -1) / vmax, 0, 1))
    else:
        ax.imshow(image if image.ndim == 2 else image[0], cmap="gray_r", vmin=0, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])


def image_grids(panels: dict[str, np.ndarray], *, vmax: float, ncols: int = 10, title: str = ""):
    """One block per entry of `panels` (label -> images `(n, H, W)` or `(n, C, H, W)`), `ncols` images a row."""
    blocks = [(label, np.asarray(images)) for label, images in panels.items()]
    rows = [max(1, -(-len(images) // ncols)) for _, images in blocks]
    fig, axes = new_figure(sum(rows), ncols, figsize=(1.0 * ncols, 1.05 * sum(rows) + 0.6))
    start = 0
    for (label, images), n_rows in zip(blocks, rows, strict=True):
        for i in range(n_rows * ncols):
            ax = axes[start + i // ncols, i % ncols]
            if i < len(images):
                _show(ax, images[i], vmax)
            else:
                ax.axis("off")
        axes[start, 0].set_title(label, fontsize=9, loc="left")
        start += n_rows
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def class_grid(images_by_class: np.ndarray, *, vmax: float, row_labels, title: str):
    """Images `(C, m, H, W)`: row $c$ holds the $m$ samples asked for class $c$."""
    images_by_class = np.asarray(images_by_class)
    n_rows, n_cols = images_by_class.shape[:2]
    fig, axes = new_figure(n_rows, n_cols, figsize=(0.9 * n_cols + 0.6, 0.9 * n_rows + 0.6))
    for r in range(n_rows):
        for c in range(n_cols):
            _show(axes[r, c], images_by_class[r, c], vmax)
        axes[r, 0].set_ylabel(str(row_labels[r]), rotation=0, labelpad=12, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
