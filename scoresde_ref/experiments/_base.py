r"""The experiments framework: a run's configuration, its output, the registry, training with checkpoints, and the
one function that runs an experiment and writes its files (derivations/experiments.md §1).

An experiment is a function `run(config: RunConfig) -> ExperimentOutput` registered under a name with
`@register(name, description=...)`. `run_experiment(config)` calls it and writes, in `config.out`:
`report.md`, `metrics.json`, `samples.npy` and `<figure>.png` — byte-identical for the same configuration (seed,
size, steps, data) on the same machine and versions — and `timing.json` (wall time, peak memory), the one file that
varies from run to run. Every file is written to a temporary name in the same directory and renamed
(`os.replace`), so an interrupted run leaves the earlier files whole.
"""

import dataclasses
import json
import pathlib
import resource
import sys
import time
from collections.abc import Callable

import numpy as np

OWNER = "scoresde-ref experiment"
SIZES = ("quick", "default", "large")
"""quick: CI, < 45 s wall on an idle 2-core machine; default: a few minutes on 2 cores; large: for a GPU."""

EMA_RATES = {"quick": 0.99, "default": 0.999, "large": 0.9999}
"""EMA rate per size: the initial weights keep a share rho^steps of the EMA, below e^-10 at each size's steps when
the size trains for at least 1,000 / 10,000 / 100,000 steps (0.999 over 2,000 steps would keep 13% of the random
initialisation). Fixed per size, not per --steps, so that a run resumed with more steps continues the same run."""

CHECKPOINT = "checkpoint"
"""The subdirectory of `config.out` that `train_or_resume` checkpoints to."""


class ExperimentUsageError(ValueError):
    """A usage error found before anything trains (the command line exits 2 with its one-line message)."""


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One run: experiment `name`, `size` (one of `SIZES`), `seed` (the run's one PRNG seed), output directory
    `out`, training `steps` (`None`: the size's default), `resume` (continue from `out/checkpoint`), `data` (a
    user's `.npy` array to train on instead of the experiment's data, or `None`), `progress` (progress bars)."""

    name: str
    size: str
    seed: int
    out: pathlib.Path
    steps: int | None
    resume: bool
    data: pathlib.Path | None
    progress: bool

    def train_steps(self, default: int) -> int:
        """`steps` if given, else the experiment's `default` for this size."""
        return default if self.steps is None else int(self.steps)


@dataclasses.dataclass(frozen=True)
class ExperimentOutput:
    """What an experiment returns; `run_experiment` writes it.

    - `title`: one line; `summary`: markdown (what was run, which document and section it reruns or stands in for);
    - `table`: rows of the metrics table of `report.md` (the keys of the first row are the columns);
    - `metrics`: JSON-able (nested dicts/lists of str, int, float, bool, None; NumPy scalars and arrays are
      converted); `samples`: the generated samples in the data's layout and scale;
    - `figures`: name -> matplotlib `Figure`, written as `<name>.png`;
    - `timing`: optional wall-clock details (e.g. per phase, per sampler), written to `timing.json` only.
    """

    title: str
    summary: str
    table: list[dict[str, str]]
    metrics: dict
    samples: np.ndarray
    figures: dict = dataclasses.field(default_factory=dict)
    timing: dict = dataclasses.field(default_factory=dict)


class Stopwatch:
    """Wall and CPU seconds of named phases: `with watch("train"): ...`; `watch.times` is JSON-able."""

    def __init__(self):
        self.times: dict[str, dict[str, float]] = {}

    def __call__(self, name: str):
        import contextlib

        @contextlib.contextmanager
        def phase():
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                yield
            finally:
                self.times[name] = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}

        return phase()


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A registered experiment: its `name`, one-line `description` and `run` function."""

    name: str
    description: str
    run: Callable[[RunConfig], ExperimentOutput]


_REGISTRY: dict[str, Experiment] = {}


def register(name: str, *, description: str):
    """Decorator: register `run(config) -> ExperimentOutput` as the experiment `name`."""

    def decorate(run):
        if name in _REGISTRY and _REGISTRY[name].run is not run:
            raise ValueError(f"register: experiment {name!r} is registered twice")
        _REGISTRY[name] = Experiment(name, description, run)
        return run

    return decorate


def registered() -> dict[str, Experiment]:
    """The experiments registered so far (import their modules first: `experiments.get_experiment`)."""
    return dict(_REGISTRY)


def run_identity(config: RunConfig) -> dict:
    """What a checkpoint must share with a run that resumes it: the experiment, size, seed and data file."""
    return {
        "name": config.name,
        "size": config.size,
        "seed": config.seed,
        "data": None if config.data is None else str(pathlib.Path(config.data).resolve()),
    }


def check_resumable(config: RunConfig) -> None:
    """With `--resume`, a checkpoint in `DIR/checkpoint` must come from the same experiment, size, seed and data
    (`run.json` beside it); `ExperimentUsageError` otherwise."""
    path = pathlib.Path(config.out) / CHECKPOINT / "run.json"
    if not config.resume or not path.is_file():
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    for key, value in run_identity(config).items():
        if saved.get(key) != value:
            raise ExperimentUsageError(
                f"--resume: the checkpoint in {path.parent} has {key} = {saved.get(key)!r}; this run has {value!r}"
            )


def train_or_resume(config: RunConfig, key, sde, data, **train_kwargs):
    r"""`sr.train_score(key, sde, data, **train_kwargs)` with the run's progress bar, checkpointing to
    `config.out / "checkpoint"` after every compiled call; with `config.resume` and a checkpoint there, it
    continues from it (bit-identical to an uninterrupted run: derivations/training.md). `train_kwargs["steps"]`
    is the size's default, replaced by `config.steps` when given. Returns the `TrainResult`."""
    from ..training import train_score

    steps = config.train_steps(train_kwargs.pop("steps"))
    directory = pathlib.Path(config.out) / CHECKPOINT
    resume = directory if config.resume and (directory / "config.json").is_file() else None
    if config.resume and resume is None:
        print(f"{config.name}: --resume: no checkpoint in {directory}; training from the start", file=sys.stderr)
    check_resumable(config)
    if resume is not None and (saved := json.loads((directory / "config.json").read_text())["step"]) > steps:
        raise ExperimentUsageError(f"--resume: --steps must be >= the checkpoint's {saved} steps; got {steps}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "run.json").write_text(json.dumps(run_identity(config), indent=1, sort_keys=True) + "\n")
    return train_score(
        key, sde, data, steps=steps, progress=config.progress, checkpoint=directory, resume=resume, **train_kwargs
    )


@dataclasses.dataclass(frozen=True)
class Timing:
    """Wall and CPU time of the run (seconds), the process's peak resident memory (MiB, `ru_maxrss`), and the
    experiment's own `details` (`ExperimentOutput.timing`)."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    details: dict = dataclasses.field(default_factory=dict)


def peak_rss_mib() -> float:
    """`resource.getrusage(RUSAGE_SELF).ru_maxrss` in MiB (kilobytes on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def run_experiment(config: RunConfig) -> pathlib.Path:
    """Run the experiment `config.name` and write its files in `config.out` (module docstring); print where they
    went, the wall time and the peak memory. Turns on `jax_enable_x64` (the metrics are float64). Returns the path
    of `report.md`."""
    import jax

    from . import get_experiment
    from ._report import write_outputs

    jax.config.update("jax_enable_x64", True)  # the metrics are computed in float64 (training runs in float32)
    experiment = get_experiment(config.name)
    start, cpu = time.perf_counter(), time.process_time()
    output = experiment.run(config)
    if not isinstance(output, ExperimentOutput):
        raise TypeError(f"{OWNER}: {config.name} must return an ExperimentOutput; got {type(output).__name__}")
    timing = Timing(time.perf_counter() - start, time.process_time() - cpu, peak_rss_mib(), output.timing)
    report = write_outputs(config, output, timing)
    print(f"{config.name}: report {report}")
    print(
        f"{config.name}: wall {timing.wall_s:.1f} s, CPU {timing.cpu_s:.1f} s, "
        f"peak memory {timing.peak_rss_mib:.0f} MiB (timing.json)"
    )
    return report
