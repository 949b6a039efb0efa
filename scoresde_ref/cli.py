"""The `scoresde-ref` command.

    scoresde-ref --version
    scoresde-ref verify [--out DIR] [--select TEXT] [--overwrite] [--no-figures]
    scoresde-ref check --target MODULE:FACTORY --twin NAME [--examples N] [--json PATH]
    scoresde-ref golden --out DIR
    scoresde-ref experiment NAME [--quick | --size SIZE] [--out DIR] [--steps N] [--seed S] [--resume] [--data FILE]

runs every registered check (`scoresde_ref/verify/checks_*.py`), prints a table, writes
`DIR/report.md` with the figures, lists the checks that do not apply here as skipped (never as
passed), and exits 0 iff no check failed and no figure failed to draw. The checks run in float64:
their tolerances are argued for float64 arithmetic; the float32 path has checks of its own
(e.g. `kernels/VP_float32_std_t1e-5`).

Where the report goes. A full run writes `DIR/report.md` and its figures in `DIR`. A `--select TEXT` run
writes beside it, in `DIR/select-<slug>/` (`report.md` and its figures; `<slug>` is TEXT with every run of
characters outside `[A-Za-z0-9._-]` made one `-`, e.g. `--select errata/000_` -> `DIR/select-errata-000_/`), so
a partial run never replaces the full report; `--overwrite` writes it to `DIR/report.md` instead. The line
`report: PATH` says where it went. The report and each figure are written to a temporary file in the same
directory and renamed over the old one (`os.replace`): a full disk or a crash leaves the earlier report whole.

Exit status: 0 every selected check passed and the report was written; 1 a check failed or raised, a figure
failed to draw, no check matched `--select`, a check module failed to import, or the report could not be
written (the earlier one is then unchanged); 2 a usage error, as argparse gives: among them an `--out` that
cannot hold the report (an existing file, a path under a file, a directory that is not writable or cannot be
created), refused in one line on stderr before any check is imported or run.
"""

import argparse
import pathlib
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scoresde-ref",
        description="Reference implementation and correctness oracle for score-based diffusion SDEs.",
    )
    from . import __version__  # the one source: importlib.metadata.version("scoresde-ref")

    parser.add_argument("--version", action="version", version=f"scoresde-ref {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    verify = sub.add_parser(
        "verify",
        help="run the numerical checks and write a report",
        description="Run the registered numerical checks, print a table and write DIR/report.md "
        "(a --select run: DIR/select-<slug>/report.md, beside the full report; --overwrite: DIR/report.md). "
        "Exit status 0 iff no check fails (skipped checks, which do not apply here, are listed apart); "
        "2 if DIR cannot hold the report (checked before any check runs).",
    )
    verify.add_argument(
        "--out",
        metavar="DIR",
        type=pathlib.Path,
        default=pathlib.Path("report"),
        help="directory for report.md and the figures (default: ./report); must be a directory, or creatable, "
        "and writable",
    )
    verify.add_argument(
        "--select",
        metavar="TEXT",
        default=None,
        help="run only checks whose group, name or group/name contains TEXT (and figures whose name contains it); "
        "the report goes to DIR/select-<slug>/, leaving DIR/report.md alone",
    )
    verify.add_argument(
        "--overwrite",
        action="store_true",
        help="with --select: write the report and figures to DIR itself, replacing the full DIR/report.md",
    )
    verify.add_argument("--no-figures", action="store_true", help="do not draw the report figures")

    from .check._cli import add_arguments as check_arguments

    check = sub.add_parser(
        "check",
        help="check an implementation against its twin",
        description="Run a target (module:factory, the library's interface, draws passed as noise=) against a "
        "registered twin on Hypothesis-drawn inputs; print a table, optionally write JSON. Exit 0 iff every "
        "method passes, 1 if one fails, 2 on a usage error.",
    )
    check_arguments(check)
    golden = sub.add_parser(
        "golden",
        help="write the golden files (JSON + NPZ)",
        description="Write DIR/golden.json and DIR/golden.npz; read them with NumPy alone through "
        "scoresde_ref/golden.py (loadable by path, without JAX).",
    )
    golden.add_argument("--out", metavar="DIR", type=pathlib.Path, required=True, help="directory for the golden files")
    from .experiments._cli import add_arguments as experiment_arguments

    experiment = sub.add_parser(
        "experiment",
        help="rerun one of the documents' experiments",
        description="Train, sample and measure one of the documents' experiments against the exact truth; write "
        "DIR/report.md, metrics.json, samples.npy, the figures and timing.json (default DIR: experiments/NAME). "
        "Exit 0 when the run finished, 2 on a usage error (before anything trains).",
    )
    experiment_arguments(experiment)
    return parser


def _usage_error(message: str) -> int:
    print(f"scoresde-ref verify: error: {message}", file=sys.stderr)  # argparse's form, one line
    return 2


def _verify(args: argparse.Namespace) -> int:
    # The output directory first: an --out that cannot hold the report is refused before any check is imported.
    from .verify._report import REPORT_NAME, out_dir_problem, report_dir

    target = report_dir(args.out, args.select, overwrite=args.overwrite)
    if (problem := out_dir_problem(target)) is not None:
        return _usage_error(f"--out {args.out}: {problem}")

    # Precision next: before any check module is imported or any array is made.
    import jax

    jax.config.update("jax_enable_x64", True)

    from . import verify

    try:
        verify.load_checks()
    except Exception as exc:  # a broken check module: say which, fail
        import traceback

        traceback.print_exc()
        print(f"verify: could not import the check modules ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1

    registered = verify.registered_checks()
    if not registered:
        print("verify: no checks registered (add scoresde_ref/verify/checks_*.py modules)", file=sys.stderr)
        return 1
    if not verify.select_checks(args.select):
        print(f"verify: no checks match --select {args.select!r} ({len(registered)} registered)", file=sys.stderr)
        return 1
    try:  # created only now, so that a usage error above leaves nothing behind
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # out_dir_problem said it could be: something changed since
        return _usage_error(f"--out {args.out}: {target} cannot be created ({exc.strerror or exc})")

    results = verify.run_checks(args.select, progress=True)
    figures = [] if args.no_figures else verify.run_figures(target, args.select, progress=True)
    try:
        report = verify.write_report(results, figures, target, select=args.select)
    except OSError as exc:  # e.g. a full disk: the results are still printed below
        report = None
        print(
            f"verify: could not write {target / REPORT_NAME} ({type(exc).__name__}: {exc}); "
            "an earlier report there is unchanged",
            file=sys.stderr,
        )

    figure_errors = sum(1 for _, outcome, _ in figures if isinstance(outcome, Exception))
    if report is not None:
        print(f"report: {report}")
    if figure_errors:
        print(f"verify: {figure_errors} figure(s) failed to draw (see the report)")
    print()
    print(verify.format_table(results))
    if skipped := verify.skipped_lines(results):
        print(f"verify: {len(skipped)} skipped (not applicable here):")
        for line in skipped:
            print(f"  {line}")
    print(verify.summary_line(results))
    _, failed, _ = verify.count(results)
    return 0 if failed == 0 and figure_errors == 0 and report is not None else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `scoresde-ref` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(None if argv is None else [str(a) for a in argv])  # accept Path arguments
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "verify":
        return _verify(args)
    if args.command == "check":
        from .check._cli import run

        return run(args)
    if args.command == "golden":
        from .check._golden_writer import write_golden

        print(f"golden: wrote {write_golden(args.out)}")
        return 0
    if args.command == "experiment":
        from .experiments._cli import run as run_experiment

        return run_experiment(args)
    parser.error(f"unknown command {args.command!r}")  # unreachable: argparse rejects it first
    return 2


if __name__ == "__main__":
    sys.exit(main())
