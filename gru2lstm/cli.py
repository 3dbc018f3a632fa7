"""The command line: arguments -> engine -> report. Thin on purpose.

    gru2lstm rewrite PATH... [--check] [--diff] [--quiet | --verbose] [--format {text,json}]
                             [--allow-partial] [--keep-names] [--state {auto,tuple,packed}] [-j N]
    gru2lstm verify REWRITTEN.py [...]        (gru2lstm/verify/cli.py owns its arguments)
    gru2lstm --version
    python -m gru2lstm ...

`rewrite` never imports torch, nor anything under gru2lstm.verify: the verify subcommand's module
is imported only when `verify` is the command given. Its contract is two functions in
`gru2lstm.verify.cli`: `add_arguments(parser)` fills the subparser, `run(args) -> int` runs it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from gru2lstm import __version__
from gru2lstm.options import STATE_FORMS, Options

__all__ = ["build_parser", "main", "rewrite"]

DESCRIPTION = "Migrate PyTorch recurrent RL code from nn.GRU to nn.LSTM, R2D2-style, and verify the result."

REWRITE_DESCRIPTION = """\
Rewrite GRU recurrent code as LSTM code (R2D2-style: the hidden state becomes (h, c) everywhere
it lives; only h feeds the heads), in place. Folders recurse over *.py, skipping hidden folders,
virtual environments, build/, dist/ and caches. A file is written only if every use of its
hidden state is understood (see --allow-partial), its new source parses, and a second run would
change nothing; writes are atomic and keep mode, encoding, BOM and line endings."""

REWRITE_EPILOG = """\
output: diffs and --format json on stdout; findings as 'path:line:col: CODE message' on stdout
(on stderr with --diff); 'would rewrite X' / 'rewrote X', errors, the per-file step table and
the totals on stderr.
exit codes: 0 nothing to do, or done; 1 --check found work, or a file needs a person;
2 usage error (bad option, a path that does not exist); 123 internal error, or a file that
cannot be read or parsed.
The rewrite table is in docs/rules.md."""

VERIFY_HELP = "import the rewritten model next to the original and prove the migration behaves (needs torch)"


def build_parser(with_verify: bool = False) -> argparse.ArgumentParser:
    """The parser; `with_verify` imports gru2lstm.verify.cli to define the verify subcommand."""
    parser = argparse.ArgumentParser(prog="gru2lstm", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"gru2lstm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    rewrite_parser = commands.add_parser(
        "rewrite",
        help="rewrite files in place (or --diff / --check)",
        description=REWRITE_DESCRIPTION,
        epilog=REWRITE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rewrite_parser.add_argument(
        "paths", nargs="+", metavar="PATH",
        help="files or folders; files given together that import each other are migrated together",
    )
    rewrite_parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 if a file would be rewritten or needs a person",
    )
    rewrite_parser.add_argument("--diff", action="store_true", help="write nothing; print a unified diff on stdout")
    noise = rewrite_parser.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true",
                       help="print only findings and errors (no step tables, no totals)")
    noise.add_argument("-v", "--verbose", action="store_true", help="also list unchanged files and info findings")
    rewrite_parser.add_argument("--format", choices=("text", "json"), default="text",
                                help="json: one document on stdout with a record per file")
    rewrite_parser.add_argument(
        "--allow-partial", action="store_true",
        help="write what is safe even when a use needs a person; mark those lines '# gru2lstm: manual'",
    )
    rewrite_parser.add_argument("--keep-names", action="store_true",
                                help="keep names such as self.gru (default: self.gru -> self.lstm)")
    rewrite_parser.add_argument(
        "--state", choices=STATE_FORMS, default="auto",
        help="how (h, c) is held: tuple pairs, or packed in one tensor (auto: chosen per file, or per group of files that share states)",
    )
    rewrite_parser.add_argument("-j", "--jobs", type=_jobs, default=0, metavar="N",
                                help="worker processes for many files (default 0: one per core)")
    rewrite_parser.add_argument(
        "--verify", action="store_true",
        help="then run the verify checks on every rewritten file (needs torch); a file that fails "
        "one is put back byte for byte and needs attention",
    )
    rewrite_parser.set_defaults(handler=rewrite)

    if with_verify:
        from gru2lstm.verify import cli as verify_cli

        verify_parser = commands.add_parser("verify", help=VERIFY_HELP, description=VERIFY_HELP)
        verify_cli.add_arguments(verify_parser)
        verify_parser.set_defaults(handler=verify_cli.run)
    else:  # listed in --help; replaced by the real one when `verify` is the command
        commands.add_parser("verify", help=VERIFY_HELP, add_help=False)
    return parser


def _jobs(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (one per core) or more")
    return value


def _command(argv: Sequence[str]) -> Optional[str]:
    for token in argv:
        if token == "--":
            return None
        if not token.startswith("-"):
            return token
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(with_verify=_command(argv) == "verify")
    args = parser.parse_args(argv)
    return args.handler(args)


def rewrite(args: argparse.Namespace) -> int:
    from gru2lstm.engine import RunOptions, UsageError, discover, run
    from gru2lstm.interrupts import Interrupted
    from gru2lstm.progress import terminal_progress
    from gru2lstm.report import EXIT_USAGE, Report

    options = RunOptions(
        write=not (args.check or args.diff),
        diff=args.diff,
        migrate=Options(keep_names=args.keep_names, allow_partial=args.allow_partial, state=args.state),
    )
    if args.verify and not options.write:
        print("gru2lstm rewrite: error: --verify rewrites and checks; it does not go with --check or --diff", file=sys.stderr)
        return EXIT_USAGE
    try:
        originals = {str(path): path.read_bytes() for path in discover(args.paths)} if args.verify else {}
        results = run(args.paths, options, jobs=args.jobs, progress=terminal_progress(sys.stderr))
    except UsageError as error:
        print(f"gru2lstm rewrite: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Interrupted as stop:
        sys.stderr.write(stop.explain())
        return stop.exit_code
    if args.verify:
        from gru2lstm.verify.rewrite import verify_rewritten  # imports torch: only with --verify

        results = verify_rewritten(results, originals)
    report = Report(results, check=args.check, dry_run=not options.write, verbose=args.verbose, quiet=args.quiet)
    if args.format == "json":
        report.render_json(diff=args.diff)
    else:
        report.render_text(diff=args.diff)
    return report.exit_code()
