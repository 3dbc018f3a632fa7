"""The command line: arguments -> engine -> report. Thin on purpose.

    gru2lstm rewrite PATH... [--check] [--diff] [--quiet | --verbose]
                             [--format {text,json,github,sarif}] [--allow-partial] [--keep-names]
                             [--state {auto,tuple,packed}] [-j N] [--verify]
                             [--exclude RE] [--extend-exclude RE] [--force-exclude RE]
                             [--stdin-filename NAME]
    gru2lstm verify REWRITTEN.py [...]        (gru2lstm/verify/cli.py owns its arguments)
    gru2lstm --version
    python -m gru2lstm ...

`rewrite` never imports torch, nor anything under gru2lstm.verify: the verify subcommand's module
is imported only when `verify` is the command given. Its contract is two functions in
`gru2lstm.verify.cli`: `add_arguments(parser)` fills the subparser, `run(args) -> int` runs it.

`[tool.gru2lstm]` in the project's pyproject.toml (config.py) becomes the `rewrite` parser's
defaults, and the arguments are parsed again: what is typed wins over what is configured.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from typing import Optional, Sequence

from gru2lstm import __version__
from gru2lstm.options import STATE_FORMS, Options

__all__ = ["build_parser", "main", "rewrite"]

DESCRIPTION = "Migrate PyTorch recurrent RL code from nn.GRU to nn.LSTM, R2D2-style, and verify the result."

REWRITE_DESCRIPTION = """\
Rewrite GRU recurrent code as LSTM code (R2D2-style: the hidden state becomes (h, c) everywhere
it lives; only h feeds the heads), in place. Folders recurse over *.py as black does: skipping
what .gitignore files and --exclude name, hidden folders and virtual environments; '-' reads
stdin and writes the result on stdout. Options default to [tool.gru2lstm] in the project's
pyproject.toml (the nearest with that table, up to a .git). A file is written only if every use
of its hidden state is understood (see --allow-partial), its new source parses, and a second run
would change nothing; writes are atomic and keep mode, encoding, BOM and line endings."""

REWRITE_EPILOG = """\
output: diffs and --format json/github/sarif on stdout; findings as 'path:line:col: CODE
message' on stdout (on stderr with --diff); 'would rewrite X' / 'rewrote X', errors, the
per-file step table and the totals on stderr. Colour only when stderr is a terminal (NO_COLOR
turns it off there; FORCE_COLOR never puts escape codes into a pipe).

suppression: '# gru2lstm: ignore[G2L101]' (or a bare '# gru2lstm: ignore', or
'ignore[G2L101,G2L104]') on a line silences those findings there; the use is left as it is and
the rest of the file is migrated. --verbose lists suppressed findings. A '# gru2lstm: manual'
marker left by --allow-partial keeps the file needing attention (G2L106) until it is removed.

exit codes: 0 nothing to do, or done; 1 --check found work, or a file needs a person; 2 usage
error (bad option, a path that does not exist); 123 internal error, or a file that cannot be
read or parsed; 130 / 143 stopped by SIGINT / SIGTERM (no write is left half done).

The rewrite table is in docs/rules.md."""

FORMATS = ("text", "json", "github", "sarif")

VERIFY_HELP = "import the rewritten model next to the original and prove the migration behaves (needs torch)"


class ParagraphFormatter(argparse.HelpFormatter):
    """Fills description and epilog paragraphs (split at blank lines) to the width the options
    get, instead of keeping them as typed (RawDescriptionHelpFormatter) or as one paragraph."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = [" ".join(paragraph.split()) for paragraph in text.split("\n\n")]
        return "\n\n".join(
            textwrap.fill(paragraph, width, initial_indent=indent, subsequent_indent=indent) for paragraph in paragraphs
        )


def build_parser(with_verify: bool = False) -> argparse.ArgumentParser:
    """The parser; `with_verify` imports gru2lstm.verify.cli to define the verify subcommand.

    Each subcommand's parser is its namespace's `parser`, so main() reports an unknown option
    with the usage of the subcommand it was given to.
    """
    parser = argparse.ArgumentParser(prog="gru2lstm", description=DESCRIPTION)
    _add_version(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    rewrite_parser = commands.add_parser(
        "rewrite",
        help="rewrite files in place (or --diff / --check)",
        description=REWRITE_DESCRIPTION,
        epilog=REWRITE_EPILOG,
        formatter_class=ParagraphFormatter,
    )
    _add_version(rewrite_parser)
    rewrite_parser.add_argument(
        "paths", nargs="+", metavar="PATH",
        help="files or folders; files given together that import each other are migrated together; "
        "'-' reads stdin",
    )
    rewrite_parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 if a file would be rewritten or needs a person",
    )
    rewrite_parser.add_argument("--diff", action="store_true", help="write nothing; print a unified diff on stdout")
    noise = rewrite_parser.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true",
                       help="print only findings and errors (no step tables, no totals)")
    noise.add_argument("-v", "--verbose", action="store_true", help="also list unchanged files, info findings and suppressed findings")
    rewrite_parser.add_argument(
        "--format", choices=FORMATS, default="text",
        help="json: one document with a record per file; github: workflow annotations; sarif: SARIF "
        "2.1.0 for code scanning (all on stdout)",
    )
    rewrite_parser.add_argument(
        "--allow-partial", action="store_true",
        help="write what is safe even when a use needs a person; mark those lines '# gru2lstm: manual'",
    )
    rewrite_parser.add_argument("--keep-names", action="store_true",
                                help="keep names such as self.gru (default: self.gru -> self.lstm)")
    rewrite_parser.add_argument(
        "--state", choices=STATE_FORMS, default="auto",
        help="how (h, c) is held: tuple pairs, or packed in one tensor (auto: chosen per file, or per group of files that share states; "
        "the other form when the one chosen refuses and the other does not)",
    )
    rewrite_parser.add_argument("-j", "--jobs", type=_jobs, default=0, metavar="N",
                                help="worker processes for many files (default 0: one per core)")
    rewrite_parser.add_argument(
        "--exclude", type=_pattern, metavar="RE",
        help="folders and files not to walk into, a regular expression matched against /-separated "
        "paths from the project root (a folder's ends in /); replaces the default (build, dist, "
        "venv, caches, ...) and turns .gitignore files off",
    )
    rewrite_parser.add_argument("--extend-exclude", type=_pattern, metavar="RE",
                                help="like --exclude, but added to the default and .gitignore")
    rewrite_parser.add_argument("--force-exclude", type=_pattern, metavar="RE",
                                help="like --extend-exclude, and also for paths given by name (for pre-commit)")
    rewrite_parser.add_argument(
        "--stdin-filename", metavar="NAME",
        help="with '-': the name the source read from stdin is reported under and matched as (for editors)",
    )
    rewrite_parser.add_argument(
        "--verify", action="store_true",
        help="then run the verify checks on every rewritten file (needs torch); a file that fails "
        "one is put back byte for byte and needs attention",
    )
    rewrite_parser.set_defaults(handler=rewrite, parser=rewrite_parser)

    if with_verify:
        from gru2lstm.verify import cli as verify_cli

        verify_parser = commands.add_parser("verify", help=VERIFY_HELP, description=VERIFY_HELP)
        _add_version(verify_parser)
        verify_cli.add_arguments(verify_parser)
        verify_parser.set_defaults(handler=verify_cli.run, parser=verify_parser)
    else:  # listed in --help; replaced by the real one when `verify` is the command
        commands.add_parser("verify", help=VERIFY_HELP, add_help=False)
    return parser


def _add_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"gru2lstm {__version__}")


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (one per core) or more")
    return value


def _pattern(text: str) -> str:
    from gru2lstm.discovery import compile_pattern

    try:
        compile_pattern(text)
    except re.error as error:
        raise argparse.ArgumentTypeError(f"not a regular expression: {error}") from None
    return text


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
    args = _parse(parser, argv)
    if args.command == "rewrite":
        from gru2lstm.config import ConfigError, load_project_config, option_defaults

        try:
            defaults = option_defaults(load_project_config(args.paths, args.stdin_filename), args.parser)
        except ConfigError as error:
            args.parser.error(str(error))  # usage and message, exit 2, as for a bad option
        if defaults:
            args.parser.set_defaults(**defaults)
            args = _parse(parser, argv)
            if args.quiet and args.verbose:  # one of them was typed: it wins over the file
                setattr(args, "verbose" if defaults.get("verbose") else "quiet", False)
    return args.handler(args)


def _parse(parser: argparse.ArgumentParser, argv: list) -> argparse.Namespace:
    """Parse; an unknown option is reported with the usage of the command it was given to."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        given_before_command = unknown[0] in argv[: argv.index(args.command)]
        (parser if given_before_command else args.parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def _usage_error(args: argparse.Namespace, message: str) -> int:
    """What argparse prints for a usage error (the subcommand's usage, then the message), as a code."""
    from gru2lstm.report import EXIT_USAGE

    args.parser.print_usage(sys.stderr)
    print(f"{args.parser.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def rewrite(args: argparse.Namespace) -> int:
    from gru2lstm.gc_pause import gc_paused

    with gc_paused():  # the engine's imports define hundreds of classes and functions
        from gru2lstm.discovery import STDIN, Selection, UsageError, check_stdin_alone, discover
        from gru2lstm.engine import RunOptions, run
        from gru2lstm.interrupts import Interrupted
        from gru2lstm.progress import terminal_progress
        from gru2lstm.report import Report

    if args.verify and (args.check or args.diff or STDIN in args.paths):
        return _usage_error(args, "--verify rewrites files and checks them; it does not go with --check, --diff or -")
    try:
        check_stdin_alone(args.paths)  # before stdin is read
        stdin = sys.stdin.buffer.read() if STDIN in args.paths else None
        options = RunOptions(
            # from stdin, "write" is print on stdout: not when stdout holds a report document
            write=not (args.check or args.diff or (stdin is not None and args.format != "text")),
            diff=args.diff,
            migrate=Options(keep_names=args.keep_names, allow_partial=args.allow_partial, state=args.state),
            selection=Selection(args.exclude, args.extend_exclude, args.force_exclude, args.stdin_filename),
            stdin=stdin,
        )
        originals = _originals(discover(args.paths, options.selection)) if args.verify else {}
        results = run(args.paths, options, jobs=args.jobs, progress=terminal_progress(sys.stderr))
    except UsageError as error:
        return _usage_error(args, str(error))
    except Interrupted as stop:
        sys.stderr.write(stop.explain())
        return stop.exit_code
    if args.verify:
        from gru2lstm.verify.rewrite import verify_rewritten  # imports torch: only with --verify

        results = verify_rewritten(results, originals)
    report = Report(results, check=args.check, dry_run=not options.write, verbose=args.verbose, quiet=args.quiet)
    echo = stdin is not None and options.write  # stdout carries the source
    with gc_paused():  # rendering a step table imports rich
        if args.format == "json":
            report.render_json(diff=args.diff)
        elif args.format == "github":
            report.render_github()
        elif args.format == "sarif":
            report.render_sarif()
        else:
            report.render_text(diff=args.diff or echo)
    if echo:
        _print_source(results, stdin)
    return report.exit_code()


def _originals(found: list) -> dict:
    """The bytes of each readable file, to put back when verify fails (the rest are errors anyway)."""
    originals = {}
    for entry in found:
        try:
            originals[str(entry.path)] = entry.path.read_bytes()
        except OSError:
            continue
    return originals


def _print_source(results: list, data: bytes) -> None:
    """As black: stdout gets the migrated source, or the source as it came when none is written."""
    from gru2lstm.sourcefile import decode

    written = [result for result in results if result.written]
    if written:
        _, encoding = decode(data)
        data = written[0].migration.source.encode(encoding)
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
