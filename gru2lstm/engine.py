"""Run the migration over paths: discover, prefilter, group, migrate (in parallel), check, write.

Every file gets a FileResult; nothing here raises for one bad file:

- a file that cannot be read or decoded, or that does not parse: status "error" (exit 123), the
  message as ``line:col: cannot parse: …``, nothing written;
- an exception inside the engine: status "error", ``1:1: internal error: …``, nothing written;
- output that does not parse, or that a second pass would change again: status "error"
  (an internal error), nothing written;
- a migration whose findings block the write: status "needs_attention", nothing written
  unless ``allow_partial``;
- otherwise "changed" or "unchanged".

Files are first filtered in this process: a byte search, then an `ast` pass that confirms a
torch GRU is constructed (prefilter.py). Each file that passes starts a *group*: it and the given
files that import from it or that it imports from (project.py), migrated together because a
hidden state crosses between them. A group is checked as a whole: when one of its files needs a
person, none is written. Groups are spread over worker processes when there are enough files
(`process_group` is top-level and its arguments and results are plain picklable dataclasses, as
LibCST's codemod runner does).

Workers only compute; this process does every write, a group at a time, as its outcome arrives
(workers.py). SIGINT and SIGTERM stop the run between two groups' writes (interrupts.py).
"""

from __future__ import annotations

import ast
import builtins
import difflib
import os
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from contextlib import closing
from typing import Callable, Iterable, Iterator, Optional

from gru2lstm.interrupts import Interrupted, Interrupts
from gru2lstm.options import Options
from gru2lstm.prefilter import may_hold_gru
from gru2lstm.results import FileResult
from gru2lstm.sourcefile import ChangedOnDisk, SourceFile, UnparsableOutput, check_parses, read_source, write_source

__all__ = [
    "PARALLEL_THRESHOLD",
    "SKIPPED_FOLDERS",
    "GroupOutcome",
    "RunOptions",
    "UsageError",
    "discover",
    "make_diff",
    "process_group",
    "run",
    "write_group",
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


@dataclass
class GroupOutcome:
    """What migrating a group produced: a FileResult per path, and the files to write.

    Computed in a worker, written by the parent (`write_group`): a worker never writes.
    """

    results: list
    writes: list = field(default_factory=list)  # (position in results, SourceFile as read), in order


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


# --------------------------------------------------------------------------------- one group
def process_group(attempts: list, options: RunOptions) -> GroupOutcome:
    """Migrate files that share hidden states (a group, see project.py); say which to write.

    `attempts` are (paths, ModuleSources) pairs, each a superset of the one before: the group's
    core first, then the core with the files it imports from. A wider attempt is made only when
    a narrower one needs a person (a state that flows into a file it does not hold is reported,
    so a clean narrower attempt never needed the others). A FileResult per path of the widest
    attempt, in order, and (when `options.write`) the files to write. Never raises for a problem
    with a file.
    """
    everyone = [str(path) for path in attempts[-1][0]]
    try:
        results, sources, to_write = _process_group(attempts, options)
    except Exception as error:  # a bug here must not take the other groups down with it
        return GroupOutcome([FileResult(path, "error", error=_internal(error)) for path in everyone])
    writes = [(everyone.index(key), sources[key]) for key in to_write] if options.write else []
    return GroupOutcome([results.get(path) or FileResult(path, "unchanged") for path in everyone], writes)


def _process_group(attempts: list, options: RunOptions) -> tuple:
    """(key -> FileResult, key -> SourceFile, the keys whose migrated source may be written)."""
    read: dict = {}  # key -> what _read said; a wider attempt reads only the files it adds
    for number, (paths, modules) in enumerate(attempts):
        results, sources, migrated = _migrate_group(paths, modules, options, read)
        if number == len(attempts) - 1 or not _needs_wider(migrated, attempts[number + 1][0]):
            break
    if not migrated:
        return results, sources, []
    from gru2lstm.migrate import migrate_modules

    to_write = _finish([m for m, _ in migrated], [m for _, m in migrated], sources, results, options, migrate_modules)
    return results, sources, to_write


def _needs_wider(migrated: list, wider: list) -> bool:
    """Does a narrower attempt need a person while its code calls into a file of the wider one?"""
    if not any(migration.blocked for _, migration in migrated):
        return False
    extra = {path.resolve() for path in wider}
    return any(Path(place).resolve() in extra for _, migration in migrated for place in migration.reached)


def _migrate_group(paths: list, modules: list, options: RunOptions, read: dict) -> tuple:
    """(results so far: key -> FileResult for files that failed, sources, [(module, Migration)])."""
    results: dict = {}
    sources: dict = {}  # key -> SourceFile
    for path, module in zip(paths, modules):
        if module.key not in read:
            read[module.key] = _read(path)
        source, problem = read[module.key]
        if problem is not None:
            results[module.key] = FileResult(module.key, "error", error=problem)
        else:
            sources[module.key] = source
    from gru2lstm.migrate import SourceError, migrate_modules  # LibCST is only paid for here

    pending = _without([m for m in modules if m.key in sources], set(results))
    while pending:
        try:
            migrations = migrate_modules(pending, [sources[m.key].text for m in pending], options.migrate)
            return results, sources, list(zip(pending, migrations))
        except SourceError as error:  # that file is an error; the others are migrated without it
            key = getattr(error, "key", pending[0].key)
            results[key] = FileResult(key, "error", error=f"{error.line}:{error.column}: {error.message}")
            pending = _without(pending, {key})
    return results, sources, []


def _without(modules: list, dropped: set) -> list:
    """The modules but those of `dropped`, whose names they import now point outside the program
    (so a hidden state that flows there is reported, not followed into a file left as it was)."""
    if not dropped:
        return modules
    kept = []
    for module in modules:
        if module.key in dropped:
            continue
        imports = {name: member for name, member in module.imports.items() if member.key not in dropped}
        outside = dict(module.outside, **{name: member.key for name, member in module.imports.items() if member.key in dropped})
        kept.append(replace(module, imports=imports, outside=outside))
    return kept


def _read(path: Path):
    """(SourceFile, None), or (None, the error line) for a file that cannot be read or decoded."""
    try:
        return read_source(path), None
    except OSError as error:
        return None, f"1:1: cannot read: {error.strerror or error}"
    except (SyntaxError, LookupError) as error:  # a bad or unknown coding cookie
        return None, f"{getattr(error, 'lineno', None) or 1}:1: cannot decode: {error}"
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        return None, f"{line}:1: cannot decode as {error.encoding}: {error.reason}"


def _finish(modules: list, migrations: list, sources: dict, results: dict, options: RunOptions, migrate_modules) -> list:
    """Check the group's output as a whole; the keys of the files that may be written."""
    changed = []
    for module, migration in zip(modules, migrations):
        blocked = migration.blocked
        status = "needs_attention" if blocked else "changed" if migration.changed else "unchanged"
        results[module.key] = FileResult(module.key, status, migration=migration)
        if migration.changed and (not blocked or options.migrate.allow_partial):
            changed.append(module)
    if not changed:
        return []
    shared = tuple(m.key for m in changed) if len(changed) > 1 else ()
    problem = _check_output(modules, migrations, sources, options.migrate, migrate_modules)
    for module in changed:
        result = results[module.key]
        result.group = shared
        if problem is not None:
            results[module.key] = FileResult(
                module.key, "error", migration=result.migration, error=f"1:1: internal error: {problem}; file left as it was"
            )
            continue
        if options.diff:
            result.diff = make_diff(sources[module.key].text, result.migration.source, module.key)
    return [] if problem is not None else [module.key for module in changed]


def write_group(outcome: GroupOutcome) -> None:
    """Write the files of a group's outcome (in this process), recording each result."""
    for position, source in outcome.writes:
        outcome.results[position] = _write(outcome.results[position], source)


def _write(result: FileResult, source: SourceFile) -> FileResult:
    migration = result.migration
    try:
        write_source(source, migration.source)
    except UnparsableOutput as error:  # _check_output already said so; kept as a last guard
        return FileResult(result.path, "error", migration=migration, error=f"1:1: internal error: {error}")
    except ChangedOnDisk:
        return FileResult(result.path, "error", migration=migration, error="1:1: changed on disk while migrating; not written")
    except UnicodeEncodeError as error:
        return FileResult(
            result.path, "error", migration=migration,
            error=f"1:1: cannot write: the migrated source does not fit the file's encoding ({error.encoding})",
        )
    except OSError as error:
        return FileResult(result.path, "error", migration=migration, error=f"1:1: cannot write: {error.strerror or error}")
    result.written = True
    return result


def _check_output(modules: list, migrations: list, sources: dict, options: Options, migrate_modules) -> Optional[str]:
    """Why the group's migrated texts must not be written, or None.

    Each must parse and use no name that nothing binds (a rename applied to a use but not to its
    definition), and together they must be a fixed point (a second pass changes nothing).
    """
    for module, migration in zip(modules, migrations):
        where = f" ({module.key})" if len(modules) > 1 else ""
        problem = check_parses(migration.source)
        if problem is not None:
            return f"the migrated source{where} does not parse: {problem}"
        lost = unbound_names(migration.source) - unbound_names(sources[module.key].text)
        if lost:
            return f"the migrated source{where} uses names that nothing binds: {', '.join(sorted(lost))}"
    try:
        again = migrate_modules(modules, [m.source for m in migrations], options)
    except Exception as error:
        return f"a second pass over the migrated source failed ({type(error).__name__}: {error})"
    if any(m.changed for m in again):
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
WORKER_DIED = "1:1: internal error: a worker process died while migrating this file; please report it"


def run(paths: Iterable[str], options: RunOptions, jobs: int = 0, progress: Optional[Callable] = None) -> list:
    """FileResults for every file under `paths`, in discovery order. Raises UsageError, and
    Interrupted on SIGINT or SIGTERM (holding what was written and what was not).

    `progress(done, total)`, if given, is called each time a group is finished (and written):
    `done` of the `total` files that may hold a GRU are.
    """
    if jobs < 0:
        raise UsageError(f"--jobs must be 0 (one per core) or more, not {jobs}")
    with Interrupts() as interrupts:  # a signal before the first write stops the run all the same
        files, work = _work(paths)
        results = [FileResult(str(path), "unchanged") for path in files]  # replaced below for grouped files
        total, done = sum(len(indexes) for indexes, _ in work), 0
        finished = set()  # numbers of the groups in `work` whose results are placed
        try:
            with closing(_outcomes(work, options, jobs)) as outcomes:
                for number, outcome in outcomes:
                    # A started group is written whole: files that share states are not split by a signal.
                    with interrupts.writing():
                        write_group(outcome)
                        _place(results, work[number][0], outcome.results)
                        finished.add(number)
                    done += len(work[number][0])
                    if progress is not None:
                        progress(done, total)
        except Interrupted as stop:
            stop.results = [results[i] for n in sorted(finished) for i in work[n][0]]
            stop.unfinished = [str(files[i]) for n, (indexes, _) in enumerate(work) if n not in finished for i in indexes]
            raise
    return results


def _work(paths: Iterable[str]) -> tuple:
    """(the files under `paths`, the groups to migrate: (indexes into the files, attempts))."""
    from gru2lstm.project import Project

    files = discover(paths)
    data, seeds = {}, []
    for index, path in enumerate(files):
        try:
            data[index] = path.read_bytes()
        except OSError:
            seeds.append(index)  # process_group reports it
            continue
        if may_hold_gru(data[index]):
            seeds.append(index)
    project = Project(files, data)
    work = []
    for group in project.groups(seeds):
        widths = [group.core, group.core + group.near] if group.near else [group.core]
        work.append((group.core + group.near, [([files[i] for i in width], project.import_tables(width)) for width in widths]))
    return files, work


def _outcomes(work: list, options: RunOptions, jobs: int) -> Iterator[tuple]:
    """(number of the group in `work`, its GroupOutcome) for every group, as each is ready."""
    workers = min(jobs or os.cpu_count() or 1, len(work))
    if workers <= 1 or sum(len(indexes) for indexes, _ in work) < PARALLEL_THRESHOLD:
        for number, (_, attempts) in enumerate(work):
            yield number, process_group(attempts, options)
        return

    from gru2lstm.workers import DIED, WorkerPool

    import gru2lstm.migrate  # noqa: F401 -- import LibCST once, before the workers fork

    tasks = {number: (attempts, options) for number, (_, attempts) in enumerate(work)}
    with WorkerPool(process_group, workers) as pool:
        for number, outcome in pool.results(tasks):
            if outcome is DIED:
                outcome = GroupOutcome([FileResult(str(path), "error", error=WORKER_DIED) for path in tasks[number][0][-1][0]])
            yield number, outcome


def _place(results: list, indexes: list, group_results: list) -> None:
    for index, result in zip(indexes, group_results):
        results[index] = result
