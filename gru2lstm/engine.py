"""Run the migration over paths: discover, prefilter, migrate (in parallel for many files), check, write.

Every file gets a FileResult; nothing here raises for one bad file:

- a file that cannot be read or decoded, or that does not parse: status "error" (exit 123), the
  message as ``line:col: cannot parse: …``, nothing written;
- an exception inside the engine: status "error", ``1:1: internal error: …``, nothing written;
- output that does not parse, or that a second pass would change again: status "error"
  (an internal error), nothing written;
- a migration whose findings block the write: status "needs_attention", nothing written
  unless ``allow_partial``;
- otherwise "changed" or "unchanged".

Files are first filtered by a byte search in this process (cheap); only the files that mention
GRU go to `process_file`, which confirms a torch GRU with `ast` before paying for LibCST. When more
than a few files need that, they are spread over worker processes (`process_file` is top-level
and its arguments and results are plain picklable dataclasses, as LibCST's codemod runner does).
"""

from __future__ import annotations

import ast
import builtins
import difflib
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from gru2lstm.options import Options
from gru2lstm.prefilter import may_hold_gru, mentions_gru
from gru2lstm.results import FileResult
from gru2lstm.sourcefile import ChangedOnDisk, UnparsableOutput, check_parses, read_source, write_source

__all__ = [
    "PARALLEL_THRESHOLD",
    "SKIPPED_FOLDERS",
    "RunOptions",
    "UsageError",
    "discover",
    "make_diff",
    "process_file",
    "run",
]

# Folders never entered when a folder is given: black's default excludes, plus caches and
# anything hidden. Folders holding a `pyvenv.cfg` (virtual environments) are skipped too.
SKIPPED_FOLDERS = frozenset({
    ".direnv", ".eggs", ".git", ".hg", ".ipynb_checkpoints", ".mypy_cache", ".nox", ".pytest_cache",
    ".ruff_cache", ".tox", ".svn", ".venv", ".vscode", "__pypackages__", "_build", "buck-out", "build",
    "dist", "venv", "__pycache__", "node_modules",
})
# Below this many files that need LibCST, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 4


class UsageError(Exception):
    """The paths or options given cannot be used (exit 2)."""


@dataclass(frozen=True)
class RunOptions:
    write: bool = True  # False for --check and --diff
    diff: bool = False  # compute a unified diff per changed file
    migrate: Options = field(default_factory=Options)


# --------------------------------------------------------------------------------- discovery
def discover(paths: Iterable[str]) -> list:
    """The files to look at, in a stable order, each once.

    A file given by name is always taken (whatever its suffix); a folder is walked for ``*.py``,
    skipping SKIPPED_FOLDERS, hidden folders, ``*.egg-info`` and virtual environments.
    Raises UsageError for a path that does not exist.
    """
    found = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UsageError(f"{given}: no such file or folder")
        if path.is_dir():
            for folder, subfolders, files in os.walk(path):
                subfolders[:] = sorted(s for s in subfolders if not _skipped(Path(folder) / s))
                found.extend(Path(folder) / name for name in sorted(files) if name.endswith(".py"))
        else:
            found.append(path)
    unique = []
    seen = set()
    for path in found:
        key = path.resolve()
        if key not in seen and key.is_file():
            seen.add(key)
            unique.append(path)
    return unique


def _skipped(folder: Path) -> bool:
    name = folder.name
    return (
        name in SKIPPED_FOLDERS
        or name.startswith(".")
        or name.endswith(".egg-info")
        or (folder / "pyvenv.cfg").is_file()
    )


# --------------------------------------------------------------------------------- one file
def process_file(path: Path, options: RunOptions) -> FileResult:
    """Migrate one file and, if asked, write it. Never raises for a problem with the file."""
    name = str(path)
    try:
        return _process(path, name, options)
    except Exception as error:  # a bug here must not take the other files down with it
        return FileResult(name, "error", error=_internal(error))


def _process(path: Path, name: str, options: RunOptions) -> FileResult:
    try:
        source = read_source(path)
    except OSError as error:
        return FileResult(name, "error", error=f"1:1: cannot read: {error.strerror or error}")
    except (SyntaxError, LookupError) as error:  # a bad or unknown coding cookie
        return FileResult(name, "error", error=f"{getattr(error, 'lineno', None) or 1}:1: cannot decode: {error}")
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        return FileResult(name, "error", error=f"{line}:1: cannot decode as {error.encoding}: {error.reason}")
    if not may_hold_gru(source.data):
        return FileResult(name, "unchanged")

    from gru2lstm.migrate import SourceError, migrate_source  # LibCST is only paid for here

    try:
        migration = migrate_source(source.text, options.migrate)
    except SourceError as error:
        return FileResult(name, "error", error=f"{error.line}:{error.column}: {error.message}")
    except Exception as error:
        return FileResult(name, "error", error=_internal(error))

    blocked = migration.blocked
    status = "needs_attention" if blocked else "changed" if migration.changed else "unchanged"
    result = FileResult(name, status, migration=migration)
    if not migration.changed or (blocked and not options.migrate.allow_partial):
        return result  # all or nothing: a blocked file is never written without --allow-partial

    problem = _check_output(source.text, migration.source, options.migrate, migrate_source)
    if problem is not None:
        return FileResult(name, "error", migration=migration, error=f"1:1: internal error: {problem}; file left as it was")
    if options.diff:
        result.diff = make_diff(source.text, migration.source, name)
    if options.write:
        try:
            write_source(source, migration.source)
        except UnparsableOutput as error:  # _check_output already said so; kept as a last guard
            return FileResult(name, "error", migration=migration, error=f"1:1: internal error: {error}")
        except ChangedOnDisk:
            return FileResult(name, "error", migration=migration, error="1:1: changed on disk while migrating; not written")
        except UnicodeEncodeError as error:
            return FileResult(
                name, "error", migration=migration,
                error=f"1:1: cannot write: the migrated source does not fit the file's encoding ({error.encoding})",
            )
        except OSError as error:
            return FileResult(name, "error", migration=migration, error=f"1:1: cannot write: {error.strerror or error}")
        result.written = True
    return result


def _check_output(before: str, text: str, options: Options, migrate_source) -> Optional[str]:
    """Why the migrated text must not be written, or None.

    It must parse, use no name that nothing binds (a rename applied to a use but not to its
    definition), and be a fixed point (a second pass changes nothing).
    """
    problem = check_parses(text)
    if problem is not None:
        return f"the migrated source does not parse: {problem}"
    lost = unbound_names(text) - unbound_names(before)
    if lost:
        return f"the migrated source uses names that nothing binds: {', '.join(sorted(lost))}"
    try:
        again = migrate_source(text, options)
    except Exception as error:
        return f"a second pass over the migrated source failed ({type(error).__name__}: {error})"
    if again.changed:
        return "a second pass would change the migrated source again"
    return None


_MATCH_CAPTURES = tuple(getattr(ast, name) for name in ("MatchAs", "MatchStar") if hasattr(ast, name))  # 3.10+
_MATCH_MAPPINGS = tuple(getattr(ast, name) for name in ("MatchMapping",) if hasattr(ast, name))


def unbound_names(text: str) -> set:
    """Names a module loads that it binds nowhere (in any scope) and that are not builtins.

    Coarse on purpose (scopes are ignored): it only has to notice a name the migration lost.
    A star import can bind anything, so it makes the answer empty.
    """
    tree = ast.parse(text)
    bound, loaded = set(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__builtins__"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return set()
                bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, _MATCH_CAPTURES) and getattr(node, "name", None):
            bound.add(node.name)
        elif isinstance(node, _MATCH_MAPPINGS) and node.rest:
            bound.add(node.rest)
    return loaded - bound


def _internal(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = str(error).replace("\n", " ")[:300]
    return f"1:1: internal error: {type(error).__name__}: {message}{where}; please report it"


def make_diff(before: str, after: str, name: str) -> str:
    """A unified diff with git's a/ b/ labels; correct when a side lacks a final newline."""
    label = Path(name).as_posix()
    if os.path.isabs(label):
        try:
            label = Path(os.path.relpath(label)).as_posix()
        except ValueError:  # another drive on Windows
            pass
        if label.startswith("../") or os.path.isabs(label):
            label = Path(name).as_posix().lstrip("/")
    lines = []
    for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{label}", f"b/{label}"):
        lines.append(line)
        if not line.endswith("\n"):
            lines.append("\n\\ No newline at end of file\n")
    return "".join(lines)


# --------------------------------------------------------------------------------- many files
def run(paths: Iterable[str], options: RunOptions, jobs: int = 0) -> list:
    """FileResults for every file under `paths`, in discovery order. Raises UsageError only."""
    if jobs < 0:
        raise UsageError(f"--jobs must be 0 (one per core) or more, not {jobs}")
    files = discover(paths)
    results: list = [None] * len(files)
    candidates = []
    for index, path in enumerate(files):
        try:
            data = path.read_bytes()
        except OSError:
            candidates.append(index)  # process_file reports it
            continue
        if mentions_gru(data):
            candidates.append(index)
        else:
            results[index] = FileResult(str(path), "unchanged")

    workers = min(jobs or os.cpu_count() or 1, len(candidates))
    if workers <= 1 or len(candidates) < PARALLEL_THRESHOLD:
        for index in candidates:
            results[index] = process_file(files[index], options)
        return results

    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    import gru2lstm.migrate  # noqa: F401 -- import LibCST once, before the workers fork

    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {index: pool.submit(process_file, files[index], options) for index in candidates}
            for index, future in futures.items():
                try:
                    results[index] = future.result()
                except BrokenProcessPool:
                    results[index] = FileResult(
                        str(files[index]), "error",
                        error="1:1: internal error: a worker process died while migrating this file; please report it",
                    )
    except BrokenProcessPool:  # raised again on shutdown; every result is already set
        pass
    return results
