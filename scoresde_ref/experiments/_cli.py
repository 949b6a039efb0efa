"""`scoresde-ref experiment NAME [--quick | --size SIZE] [--out DIR] [--steps N] [--seed S] [--resume]
[--data FILE.npy]`: run one of the documents' experiments and write DIR/report.md, metrics.json, samples.npy, the
figures and timing.json (default DIR: experiments/NAME). Exit status 0 when the run finished and its files were
written; 2 on a usage error (unknown NAME, a bad --steps/--seed/--out, a --data file that is not a finite float
array of rank 2-4), refused in one line on stderr before anything trains."""

import argparse
import pathlib
import sys

from . import EXPERIMENTS
from ._base import SIZES, ExperimentUsageError, RunConfig, check_resumable

PROG = "scoresde-ref experiment"
MAX_SEED = 2**32 - 1


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The `experiment` subcommand's arguments (shared by `experiment_main` and the `scoresde-ref` parser)."""
    parser.add_argument("name", metavar="NAME", help=f"the experiment: {', '.join(EXPERIMENTS)}")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="size",
                      help="the CI size (under a minute on 2 cores)")  # fmt: skip
    size.add_argument("--size", choices=SIZES, default=None,
                      help="quick, default (a few minutes on 2 cores, the default) or large (a GPU)")  # fmt: skip
    parser.add_argument("--out", type=pathlib.Path, default=None, metavar="DIR",
                        help="output directory (default: experiments/NAME)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=None, metavar="N",
                        help="training steps (default: the size's); with --resume, the total")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="the run's PRNG seed (0)")
    parser.add_argument("--resume", action="store_true", help="continue training from DIR/checkpoint")
    parser.add_argument("--data", type=pathlib.Path, default=None, metavar="FILE.npy",
                        help="train on your own array: vectors (n, d) or images (n, H, W) / (n, C, H, W)")  # fmt: skip
    return parser


def experiment_main(argv=None) -> int:
    """Entry point of `scoresde-ref experiment` (also `python -m scoresde_ref.experiments`); returns the status."""
    parser = add_arguments(argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0]))
    args = parser.parse_args(None if argv is None else [str(a) for a in argv])
    return run(args)


def _usage_error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The `RunConfig` of parsed arguments, every argument checked (`ExperimentUsageError` in one line)."""
    from ..verify._report import out_dir_problem

    if args.name not in EXPERIMENTS:
        raise ExperimentUsageError(f"NAME must be one of {', '.join(EXPERIMENTS)}; got NAME = {args.name!r}")
    if args.steps is not None and args.steps < 1:
        raise ExperimentUsageError(f"--steps must be an integer >= 1; got --steps = {args.steps}")
    if not 0 <= args.seed <= MAX_SEED:
        raise ExperimentUsageError(f"--seed must be an integer in [0, {MAX_SEED}]; got --seed = {args.seed}")
    out = pathlib.Path("experiments") / args.name if args.out is None else args.out
    if (problem := out_dir_problem(out)) is not None:
        raise ExperimentUsageError(f"--out {out}: {problem}")
    config = RunConfig(
        name=args.name,
        size=args.size or "default",
        seed=int(args.seed),
        out=out,
        steps=args.steps,
        resume=bool(args.resume),
        data=args.data,
        progress=bool(getattr(sys.stderr, "isatty", lambda: False)()),
    )
    if config.data is not None:
        from ._user_data import image_runner, is_image_array, load_user_array

        if is_image_array(load_user_array(config.data)) and not config.name.startswith("digits"):
            image_runner()  # refused now if the digits experiments cannot take images yet
    if config.resume:
        check_resumable(config)
    return config


def run(args: argparse.Namespace) -> int:
    """Run a parsed `experiment` command (also called by `scoresde_ref.cli`)."""
    try:
        config = config_from_args(args)
    except ExperimentUsageError as error:
        return _usage_error(str(error))
    from ._base import run_experiment

    try:
        run_experiment(config)
    except ExperimentUsageError as error:
        return _usage_error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(experiment_main())
