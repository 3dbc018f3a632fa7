"""Run the migration over paths: discover, prefilter, migrate in parallel, check, write.

Every file gets a FileResult; nothing here raises for one bad file. Output that does not parse
or that a second pass would change again is an internal error and is never written.
"""

from __future__ import annotations

import difflib
import os
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from gru2lstm.migrate import SourceError, migrate_source
from gru2lstm.options import Options
from gru2lstm.prefilter import may_hold_gru
from gru2lstm.results import FileResult
from gru2lstm.sourcefile import read_source, write_source

# Folders never entered when a folder is given (as black does).
SKIPPED_FOLDERS = {
    ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "env", ".env", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", "node_modules", ".eggs",
}
# Below this many files, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 8


class UsageError(Exception):
    """The paths or options given cannot be used (exit 2)."""


@dataclass(frozen=True)
class RunOptions:
    write: bool = True  # False for --check and --diff
    diff: bool = False
    migrate: Options = Options()


def discover(paths: Iterable[str]) -> list:
    found = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UsageError(f"{given}: no such file or folder")
        if path.is_dir():
            for folder, subfolders, files in os.walk(path):
                subfolders[:] = sorted(
                    s for s in subfolders if s not in SKIPPED_FOLDERS and not s.startswith(".") and not s.endswith(".egg-info")
                )
                found.extend(Path(folder) / name for name in sorted(files) if name.endswith(".py"))
        else:
            found.append(path)
    unique = []
    seen = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def process_file(path: Path, options: RunOptions) -> FileResult:
    """Migrate one file. Top-level so worker processes can run it."""
    name = str(path)
    try:
        source = read_source(path)
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError) as error:
        return FileResult(name, "error", error=f"1:1: cannot read: {error}")
    if not may_hold_gru(source.data):
        return FileResult(name, "unchanged")
    try:
        migration = migrate_source(source.text, options.migrate)
    except SourceError as error:
        return FileResult(name, "error", error=f"{error.line}:{error.column}: {error.message}")
    except Exception:  # an engine bug must not take the other files down with it
        return FileResult(name, "error", error=f"1:1: internal error: {traceback.format_exc(limit=3).strip()}")
    status = "needs_attention" if migration.blocked else "changed" if migration.changed else "unchanged"
    result = FileResult(name, status, migration=migration)
    if not migration.changed:
        return result
    problem = _check_output(migration.source, options.migrate)
    if problem is not None:
        return FileResult(name, "error", migration=migration, error=f"1:1: internal error: {problem}; file left as it was")
    if options.diff:
        before, after = (f"a/{name}", f"b/{name}") if not path.is_absolute() else (name, name)
        result.diff = "".join(
            difflib.unified_diff(source.text.splitlines(True), migration.source.splitlines(True), before, after)
        )
    if options.write:
        try:
            write_source(source, migration.source)
        except OSError as error:
            return FileResult(name, "error", migration=migration, error=f"1:1: cannot write: {error}")
        result.written = True
    return result


def _check_output(text: str, options: Options):
    try:
        compile(text, "<migrated>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"the migrated source does not parse ({error.msg}, line {error.lineno})"
    again = migrate_source(text, options)
    if again.changed:
        return "a second run would change the migrated source again"
    return None


def run(paths: Iterable[str], options: RunOptions, jobs: int = 0) -> list:
    files = discover(paths)
    workers = jobs or os.cpu_count() or 1
    if len(files) < PARALLEL_THRESHOLD or workers == 1:
        return [process_file(path, options) for path in files]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(process_file, files, [options] * len(files), chunksize=8))
