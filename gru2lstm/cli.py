"""The command line: arguments -> engine -> report. Thin on purpose; `rewrite` never imports torch."""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from gru2lstm import __version__
from gru2lstm.options import STATE_FORMS, Options

DESCRIPTION = "Migrate PyTorch recurrent RL code from nn.GRU to nn.LSTM, R2D2-style, and verify the result."

REWRITE_EPILOG = """\
exit codes: 0 nothing to do or done; 1 --check found work, or a file needs a person;
2 usage error; 123 internal error or a file that cannot be parsed.
The rewrite table is in docs/rules.md."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gru2lstm", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"gru2lstm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    rewrite = commands.add_parser(
        "rewrite",
        help="rewrite files in place (or --diff / --check)",
        description="Rewrite GRU recurrent code as LSTM code, in place. Folders recurse over *.py.",
        epilog=REWRITE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rewrite.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    mode = rewrite.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change or needs a person")
    mode.add_argument("--diff", action="store_true", help="write nothing; print a unified diff on stdout")
    noise = rewrite.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="no step tables and no totals: only what changed, findings and errors")
    noise.add_argument("-v", "--verbose", action="store_true", help="also list unchanged files and info findings")
    rewrite.add_argument("--format", choices=("text", "json"), default="text", help="json: one record per file on stdout")
    rewrite.add_argument("--allow-partial", action="store_true",
                         help="write what is safe even when a use needs a person; mark it '# gru2lstm: manual'")
    rewrite.add_argument("--keep-names", action="store_true", help="keep attribute names such as self.gru")
    rewrite.add_argument("--state", choices=STATE_FORMS, default="auto",
                         help="how (h, c) is held: tuple pairs, or packed in one tensor (auto: chosen per file)")
    rewrite.add_argument("-j", "--jobs", type=int, default=0, help="worker processes (default: one per core)")
    return parser


def main(argv: Optional[list] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return rewrite(args)


def rewrite(args: argparse.Namespace) -> int:
    from gru2lstm.engine import RunOptions, UsageError, run
    from gru2lstm.report import EXIT_USAGE, Report

    options = RunOptions(
        write=not (args.check or args.diff),
        diff=args.diff,
        migrate=Options(keep_names=args.keep_names, allow_partial=args.allow_partial, state=args.state),
    )
    try:
        results = run(args.paths, options, jobs=args.jobs)
    except UsageError as error:
        print(f"gru2lstm: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    report = Report(results, check=args.check, dry_run=not options.write, verbose=args.verbose, quiet=args.quiet)
    if args.format == "json":
        report.render_json()
    else:
        report.render_text(diff=args.diff)
    return report.exit_code()
