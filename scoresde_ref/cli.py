"""The `scoresde-ref` command.

    scoresde-ref --version
    scoresde-ref verify [--out DIR] [--select TEXT] [--no-figures]

runs every registered check (`scoresde_ref/verify/checks_*.py`), prints a table, writes
`DIR/report.md` with the figures, lists the checks that do not apply here as skipped (never as
passed), and exits 0 iff no check failed and no figure failed to draw. The checks run in float64:
their tolerances are argued for float64 arithmetic; the float32 path has checks of its own
(e.g. `kernels/VP_float32_std_t1e-5`).
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
        description="Run the registered numerical checks, print a table and write DIR/report.md. "
        "Exit status 0 iff no check fails (skipped checks, which do not apply here, are listed apart).",
    )
    verify.add_argument(
        "--out",
        metavar="DIR",
        type=pathlib.Path,
        default=pathlib.Path("report"),
        help="directory for report.md and the figures (default: ./report)",
    )
    verify.add_argument(
        "--select",
        metavar="TEXT",
        default=None,
        help="run only checks whose group, name or group/name contains TEXT (and figures whose name contains it)",
    )
    verify.add_argument("--no-figures", action="store_true", help="do not draw the report figures")
    return parser


def _verify(args: argparse.Namespace) -> int:
    # Precision first: before any check module is imported or any array is made.
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

    results = verify.run_checks(args.select, progress=True)
    figures = [] if args.no_figures else verify.run_figures(args.out, args.select, progress=True)
    report = verify.write_report(results, figures, args.out)

    figure_errors = sum(1 for _, outcome, _ in figures if isinstance(outcome, Exception))
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
    return 0 if failed == 0 and figure_errors == 0 else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `scoresde-ref` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(None if argv is None else [str(a) for a in argv])  # accept Path arguments
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "verify":
        return _verify(args)
    parser.error(f"unknown command {args.command!r}")  # unreachable: argparse rejects it first
    return 2


if __name__ == "__main__":
    sys.exit(main())
