r"""Writing a run's files: `report.md`, `metrics.json`, `samples.npy`, `<figure>.png`, `timing.json`.

Reproducible bytes: JSON with sorted keys and Python's shortest round-trip float repr, `.npy` through `np.save`
(no pickle), PNGs through the Agg canvas with `metadata={"Software": None}` (no version string, no timestamp), and
no wall-clock quantity anywhere but `timing.json`. Each file goes to a temporary name in the directory and is
renamed over the old one (`os.replace`).
"""

import dataclasses
import io
import json
import math
import os
import pathlib
import tempfile

import numpy as np

from ._base import CHECKPOINT, OWNER, ExperimentOutput, RunConfig, Timing

REPORT = "report.md"
FIGURE_DPI = 100


def jsonable(value):
    """`value` with NumPy/JAX arrays as lists, NumPy scalars as Python numbers, tuples as lists, paths as strings,
    and non-finite floats as the strings `"nan"`, `"inf"`, `"-inf"` (JSON has no such numbers)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if hasattr(value, "__array__") and not isinstance(value, str | bytes):
        array = np.asarray(value)
        return jsonable(array.tolist()) if array.ndim else jsonable(array.item())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{OWNER}: metrics must be JSON-able; got {type(value).__name__}: {value!r}")


def atomic_write(path: pathlib.Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory and `os.replace`."""
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def figure_bytes(figure) -> bytes:
    """The PNG of a matplotlib figure, reproducibly (Agg, no `Software` metadata, fixed dpi)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=FIGURE_DPI, metadata={"Software": None})
    return buffer.getvalue()


def markdown_table(rows: list[dict[str, str]]) -> str:
    """A markdown table; the columns are the keys of all rows in first-seen order (missing cells empty)."""
    if not rows:
        return "(no metrics)\n"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cell = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def command_line(config: RunConfig) -> str:
    """The `scoresde-ref experiment` command that reproduces this run (add `--out DIR`)."""
    parts = ["scoresde-ref experiment", config.name]
    if config.size != "default":
        parts.append("--quick" if config.size == "quick" else f"--size {config.size}")
    parts.append(f"--seed {config.seed}")
    if config.steps is not None:
        parts.append(f"--steps {config.steps}")
    if config.data is not None:
        parts.append(f"--data {config.data}")
    return " ".join(parts)  # no --out: the same run written elsewhere gives the same report


def report_text(config: RunConfig, output: ExperimentOutput, figure_names) -> str:
    """The text of `report.md`: title, the command, the summary, the metrics table, the figures, the files."""
    parts = [
        f"# {output.title}\n",
        f"`{command_line(config)}`  (size `{config.size}`, seed {config.seed})\n",
        output.summary.strip() + "\n",
        "## Metrics\n",
        markdown_table(output.table),
    ]
    if figure_names:
        parts.append("## Figures\n")
        parts += [f"![{name}]({name}.png)\n" for name in figure_names]
    parts.append(
        "## Files\n\n"
        f"`metrics.json` (every number above and more), `samples.npy` (the generated samples, shape "
        f"{tuple(np.shape(output.samples))}, in the data's layout and scale), the figures as PNG, `{CHECKPOINT}/` "
        "(the training checkpoint, for `--resume`), and `timing.json` (wall time and peak memory: the one file that "
        "differs between two runs with the same seed).\n"
    )
    return "\n".join(parts)


def write_outputs(config: RunConfig, output: ExperimentOutput, timing: Timing) -> pathlib.Path:
    """Write every file of the run into `config.out` (created if needed); returns the path of `report.md`."""
    out = pathlib.Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(output.figures)
    for name in names:
        if not name or any(c in name for c in "/\\") or name.startswith("."):
            raise ValueError(f"{OWNER}: figure names must be plain file names; got {name!r}")
        atomic_write(out / f"{name}.png", figure_bytes(output.figures[name]))
        _close(output.figures[name])
    metrics = json.dumps(jsonable(output.metrics), indent=1, sort_keys=True, allow_nan=False) + "\n"
    atomic_write(out / "metrics.json", metrics.encode())
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(output.samples), allow_pickle=False)
    atomic_write(out / "samples.npy", buffer.getvalue())
    atomic_write(out / "timing.json", (json.dumps(jsonable(dataclasses.asdict(timing)), indent=1) + "\n").encode())
    report = out / REPORT
    atomic_write(report, report_text(config, output, names).encode())
    return report


def _close(figure) -> None:
    """Release a pyplot-managed figure (a plain `Figure` needs nothing)."""
    from matplotlib import _pylab_helpers

    _pylab_helpers.Gcf.destroy_fig(figure)
