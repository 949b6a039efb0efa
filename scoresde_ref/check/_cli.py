"""`scoresde-ref check --target module:factory --twin NAME [--examples N] [--json PATH]`: `compare` from the
command line, a table on stdout, the report as JSON. Exit status 0 iff every method passes, 1 if one fails, 2 on a
usage error (unknown twin, a target that cannot be imported)."""

import argparse
import pathlib
import sys


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The `check` subcommand's arguments (shared by `check_main` and the `scoresde-ref` parser)."""
    parser.add_argument("--target", required=True, metavar="MODULE:FACTORY",
                        help="the implementation to check, e.g. mypkg.schedulers:DDPMScheduler")  # fmt: skip
    parser.add_argument("--twin", required=True, metavar="NAME", help="registered twin, e.g. diffusers.DDPMScheduler")
    parser.add_argument("--examples", type=int, default=100, metavar="N", help="drawn inputs per method (100)")
    parser.add_argument("--method", action="append", default=None, metavar="NAME", help="only this method (repeatable)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default=None,
                        help="the target's dtype (default: read off its first output)")  # fmt: skip
    parser.add_argument("--json", type=pathlib.Path, default=None, metavar="PATH", help="write the report as JSON")
    return parser


def check_main(argv=None) -> int:
    """Entry point of `scoresde-ref check`; returns the exit status."""
    parser = add_arguments(argparse.ArgumentParser(prog="scoresde-ref check", description=__doc__.split("\n")[0]))
    args = parser.parse_args(None if argv is None else [str(a) for a in argv])
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Run a parsed `check` command (also called by `scoresde_ref.cli`)."""
    from ._compare import compare
    from ._registry import get_twin, load_target

    try:
        spec = get_twin(args.twin)
        target = load_target(args.target)
    except ValueError as err:
        print(f"scoresde-ref check: error: {err}", file=sys.stderr)
        return 2
    try:
        report = compare(target, spec, examples=args.examples, methods=args.method, dtype=args.dtype)
    except ValueError as err:
        print(f"scoresde-ref check: error: {err}", file=sys.stderr)
        return 2
    print(report.table())
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(report.to_json() + "\n")
        print(f"check: report written to {args.json}")
    print(f"check: {'PASS' if report.passed else 'FAIL'} ({sum(not m.passed for m in report.methods)} failed)")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(check_main())
