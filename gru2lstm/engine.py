"""Run the migration over paths: discover, prefilter, group, migrate (in parallel), check, write.

Every file gets a FileResult; nothing here raises for one bad file:

- a path discovery.py cannot take (a symlink loop, a dangling link, a FIFO, a folder that cannot
  be listed): status "error" with discovery's message;
- a file that cannot be read or decoded, or that does not parse: status "error" (exit 123), the
  message as ``line:col: cannot parse: …``, nothing written;
- an exception inside the engine: status "error", ``internal error: …`` at 1:1, nothing written;
- output that fails the output check (output_check.py: it does not parse, loses a name, gives an
  LSTM one tensor, or a second pass would change it again): status "error" (an internal error),
  nothing written;
- a migration whose findings block the write: status "needs_attention", nothing written
  unless ``allow_partial``;
- otherwise "changed" or "unchanged".

Files are first filtered in this process: a byte search, then an `ast` pass that confirms a
torch GRU is constructed (prefilter.py); a file holding a `# gru2lstm: manual` marker passes too,
since the marker alone makes it need a person (suppression.py). Each file that passes starts a *group*: it and the given
files that import from it or that it imports from (project.py), migrated together because a
hidden state crosses between them. A group is checked as a whole: when one of its files needs a
person, none is written. A group whose flow turns out to reach other given files is migrated
again with them, and with their group if they have one (`_Settling`). Groups are spread over worker processes when there are enough files
(`process_group` is top-level and its arguments and results are plain picklable dataclasses, as
LibCST's codemod runner does); in a big tree, the first worker starts as soon as the screen meets
a file that may hold a GRU, so that it imports LibCST while this process screens the rest.

Workers only compute; this process does every write, a group at a time, as its outcome arrives
(workers.py). SIGINT and SIGTERM stop the run between two groups' writes (interrupts.py).

This module owns the run's order and the status of each file; it reads each file once (the
prefilter's bytes travel with the group). What it delegates: which files group together and who
imports them from outside the given paths (project.py), the migration itself (migrate.py), the
check of its output before a write (output_check.py), the write (sourcefile.py).
"""

from __future__ import annotations

import difflib
import os
import traceback
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from gru2lstm import ahead
from gru2lstm.discovery import Selection, UsageError, discover
from gru2lstm.classes_elsewhere import made_from_classes_elsewhere
from gru2lstm.dynamic_imports import DynamicImports
from gru2lstm.gc_pause import gc_paused
from gru2lstm.interrupts import Interrupted, Interrupts
from gru2lstm.options import Options
from gru2lstm.output_check import check_output
from gru2lstm.prefilter import screen, tree_choosing_class_by_value
from gru2lstm.project import CallersElsewhere, Project, refuse_uncalled_contracts, refuse_unfollowed_importers, shown_path
from gru2lstm.results import FileError, FileResult, Migration
from gru2lstm.sourcefile import ChangedOnDisk, SourceFile, UnparsableOutput, decode, read_source, write_source
from gru2lstm.suppression import has_marker, review

__all__ = [
    "PARALLEL_THRESHOLD",
    "GroupOutcome",
    "RunOptions",
    "UsageError",
    "make_diff",
    "process_group",
    "run",
    "write_group",
]

# Below this many files that need LibCST, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 4


@dataclass(frozen=True)
class RunOptions:
    write: bool = True  # False for --check and --diff
    diff: bool = False  # compute a unified diff per changed file
    migrate: Options = field(default_factory=Options)
    selection: Selection = field(default_factory=Selection)
    stdin: Optional[bytes] = None  # the source of the one path "-"; never written to disk


@dataclass
class GroupOutcome:
    """What migrating a group produced: a FileResult per path, and the files to write.

    Computed in a worker, written by the parent (`write_group`): a worker never writes.
    """

    results: list
    writes: list = field(default_factory=list)  # (position in results, SourceFile as read), in order


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
        with gc_paused():
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
    """Does a narrower attempt need a person where the wider one may see more? Its code calls into
    a file of the wider one by a name imported from there (`reached`), or a state goes where the
    walk could not follow it (G2L101): perhaps through a parameter whose callers pass an instance
    of a class from there (`def collect(replay): replay.push(h)`), which only the wider attempt's
    joined classes resolve, or `self` handed to a function from there (`rollout(self, h)` of
    runner.py looping `y, h = actor(x, h)`, boundary.py), which only the wider attempt sees. Other
    findings (a GRU held with another module, one made under a name the engine does not follow:
    `Finding.local`, …) a wider attempt cannot change, and it would parse every file the group
    imports from."""
    if not any(migration.blocked for _, migration in migrated):
        return False
    extra = {path.resolve() for path in wider}
    return any(Path(place).resolve() in extra for _, migration in migrated for place in migration.reached) or any(
        finding.code == "G2L101" and finding.blocks_write and not finding.local for _, migration in migrated for finding in migration.findings
    )


def _migrate_group(paths: list, modules: list, options: RunOptions, read: dict) -> tuple:
    """(results so far: key -> FileResult for files that failed, sources, [(module, Migration)])."""
    results: dict = {}
    sources: dict = {}  # key -> SourceFile
    for path, module in zip(paths, modules):
        if module.key not in read:
            read[module.key] = _read(path, module.data)
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
            key = error.key or pending[0].key
            results[key] = FileResult(key, "error", error=error.error)
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


def _read(path: Path, data: Optional[bytes] = None):
    """(SourceFile, None), or (None, its FileError) for a file that cannot be read or decoded.
    `data`: the bytes already read (by the prefilter, or stdin's), so the file is read once."""
    try:
        if data is not None:
            return SourceFile(path, data, *decode(data)), None
        return read_source(path), None
    except OSError as error:
        return None, FileError(1, 1, f"cannot read: {error.strerror or error}")
    except (SyntaxError, LookupError) as error:  # a bad or unknown coding cookie
        return None, FileError(getattr(error, "lineno", None) or 1, 1, f"cannot decode: {error}")
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        return None, FileError(line, 1, f"cannot decode as {error.encoding}: {error.reason}")


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
    problem = check_output(
        [m.key for m in modules], [sources[m.key].text for m in modules], [m.source for m in migrations],
        lambda texts: migrate_modules(modules, texts, options.migrate), [m.untied_reads for m in migrations],
    )
    for module in changed:
        result = results[module.key]
        result.group = shared
        if problem is not None:
            results[module.key] = FileResult(
                module.key, "error", migration=result.migration, error=FileError(1, 1, f"internal error: {problem}; file left as it was")
            )
            continue
        if options.diff:
            result.diff = make_diff(sources[module.key].text, result.migration.source, module.key)
    if problem is not None:
        return []
    if options.stdin is not None:  # never written to disk: the caller prints the source on stdout
        for module in changed:
            results[module.key].written = options.write
        return []
    return [module.key for module in changed]


def write_group(outcome: GroupOutcome) -> None:
    """Write the files of a group's outcome (in this process), recording each result."""
    for position, source in outcome.writes:
        outcome.results[position] = _write(outcome.results[position], source)


def _write(result: FileResult, source: SourceFile) -> FileResult:
    migration = result.migration
    try:
        write_source(source, migration.source)
    except UnparsableOutput as error:  # check_output already said so; kept as a last guard
        return FileResult(result.path, "error", migration=migration, error=FileError(1, 1, f"internal error: {error}"))
    except ChangedOnDisk:
        return FileResult(result.path, "error", migration=migration, error=FileError(1, 1, "changed on disk while migrating; not written"))
    except UnicodeEncodeError as error:
        return FileResult(
            result.path, "error", migration=migration,
            error=FileError(1, 1, f"cannot write: the migrated source does not fit the file's encoding ({error.encoding})"),
        )
    except OSError as error:
        return FileResult(result.path, "error", migration=migration, error=FileError(1, 1, f"cannot write: {error.strerror or error}"))
    result.written = True
    return result


def _internal(error: BaseException) -> FileError:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = str(error).replace("\n", " ")[:300]
    return FileError(1, 1, f"internal error: {type(error).__name__}: {message}{where}; please report it")


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
WORKER_DIED = FileError(1, 1, "internal error: a worker process died while migrating this file; please report it")


def run(paths: Iterable[str], options: RunOptions, jobs: int = 0, progress: Optional[Callable] = None) -> list:
    """FileResults for every file under `paths`, in discovery order. Raises UsageError, and
    Interrupted on SIGINT or SIGTERM (holding what was written and what was not).

    `progress(done, total)`, if given, is called each time a group is finished (and written):
    `done` of the `total` files that may hold a GRU are.
    """
    if jobs < 0:
        raise UsageError(f"--jobs must be 0 (one per core) or more, not {jobs}")
    # A signal before the first write stops the run all the same.
    with Interrupts() as interrupts, _Workers(jobs) as workers:
        found, files, work, project = _work(paths, options, workers)
        results = [FileResult(str(path), "unchanged") for path in files]  # replaced below for grouped files
        elsewhere = _callers_elsewhere(list(paths), files, options)
        dynamic = DynamicImports()
        settling = _Settling(work, project, options, elsewhere)
        total, placed = sum(len(indexes) for indexes, _ in work), set()
        finished = set()  # numbers of the groups in `work` whose results are placed
        try:
            with closing(_outcomes(work, options, workers, settling.absorbed)) as outcomes:
                for number, outcome in outcomes:
                    if number in settling.absorbed:
                        continue  # migrated with the group that took it in
                    number, outcome, added = settling.settle(number, outcome)
                    total += added
                    if elsewhere is not None:
                        with gc_paused():
                            elsewhere.refuse(outcome, work[number][1][-1][1])
                            elsewhere.name_callers(outcome, work[number][1][-1][1])
                            dynamic.refuse(outcome, work[number][1][-1][1], lambda: elsewhere.files + elsewhere.others(), shown_path)
                    # Last: a file that calls them, found above, says more than that none was found;
                    # and what the uncalled functions hold back (rules/interfaces.py) more than an importer
                    refuse_uncalled_contracts(outcome)
                    refuse_unfollowed_importers(outcome, work[number][1][-1][1])
                    for ready, ready_outcome in settling.ready(number, outcome):
                        # A started group is written whole: files that share states are not split by a signal.
                        with interrupts.writing():
                            write_group(ready_outcome)
                            settling.written.add(ready)
                            _place(results, work[ready][0], ready_outcome.results)
                            finished.add(ready)
                        placed.update(work[ready][0])
                        if progress is not None:
                            progress(len(placed), total)
        except Interrupted as stop:
            stop.results = [results[i] for n in sorted(finished) for i in work[n][0]]
            stop.unfinished = [str(files[i]) for n, (indexes, _) in enumerate(work) if n not in finished for i in indexes]
            raise
        if options.stdin is None:
            _refuse_made_from_classes_elsewhere(results, [index for index, result in enumerate(results) if result.status == "unchanged"], project, list(paths))
    return _in_discovery_order(found, results)


def _refuse_made_from_classes_elsewhere(results: list, loose: list, project: Project, paths: list) -> None:
    """A given file left unchanged (`loose`, indexes: no group holds it, or its group had nothing to
    migrate in it) that makes a module from a class a file not given binds to the GRU
    (classes_elsewhere.py) needs attention instead."""
    for index, finding in made_from_classes_elsewhere(project, loose, paths).items():
        data = project.universe.files[index].contents() or b""
        try:
            text, _ = decode(data)
        except (SyntaxError, LookupError, UnicodeDecodeError):
            continue  # a file that does not decode held no call the finding could name
        findings = review([finding], text)
        blocked = any(one.blocks_write for one in findings)
        results[index] = replace(results[index], status="needs_attention" if blocked else "unchanged", migration=Migration(text, False, findings=findings))


def _callers_elsewhere(paths: list, files: list, options: RunOptions) -> Optional[CallersElsewhere]:
    """What looks at the project's files that were not given. A source read from stdin is looked
    at as the file it is named after (an editor's buffer of model.py: its importers still count);
    without a name, it belongs to no project."""
    if options.stdin is None:
        return CallersElsewhere(paths, files, options.selection)
    name = options.selection.stdin_filename
    return CallersElsewhere([name], files, options.selection) if name else None


class _Settling:
    """Which files each group is finally migrated with, and when its outcome may be written.

    A group's flow may go where it needs a person into a given file no group holds (a record class
    two imports from its core: project.reached), and a given file outside it may import a function
    whose contract it changes (a constant of the storage file: CallersElsewhere.given_importers):
    the group is migrated again, here, with those files. When such a file is another group's, the
    two are migrated as one: the files given hold everything both need. Since that is known only
    from their outcomes, a group whose imports share a file with another's (Project.entangled) is
    written only once every such group has come back; under --check nothing is written, and a
    group taken in is replaced by the one that took it. Rare, so this process pays for LibCST only then."""

    def __init__(self, work: list, project: Project, options: RunOptions, elsewhere: Optional[CallersElsewhere]) -> None:
        self.work = work
        self.project = project
        self.options = options
        self.elsewhere = elsewhere
        self.owner = {index: number for number, (indexes, _) in enumerate(work) for index in indexes}
        self.absorbed: set = set()  # numbers of the groups migrated with another
        self.written: set = set()  # numbers of the groups whose outcome was written (or placed, under --check)
        self.held: dict = {}  # number -> outcome settled but not written: its cluster is not all back
        entangled = project.entangled([indexes for indexes, _ in work]) if options.write and len(work) > 1 else None
        self.cluster = entangled or [{number} for number in range(len(work))]

    def settle(self, number: int, outcome: GroupOutcome) -> tuple:
        """(the group's number, its final outcome, how many files it took in that no group held)."""
        added = 0
        while True:
            own = set(self.work[number][0])
            wanted = set(self.project.reached(outcome, own)) | self._given_importers(number, outcome, own)
            others = {self.owner[index] for index in wanted if index in self.owner} - {number}
            # under --check, nothing is written: a group placed already is taken in all the same
            fixed = others & self.written if self.options.write else set()
            taken = others - fixed
            wanted = {index for index in wanted if self.owner.get(index) not in fixed}
            if not wanted:
                return number, outcome, added
            added += sum(1 for index in wanted if index not in self.owner)
            indexes = self.work[number][0] + sorted(wanted - own - {i for other in taken for i in self.work[other][0]})
            for other in sorted(taken):
                indexes += [index for index in self.work[other][0] if index not in indexes]
                self.absorbed.add(other)
                self.held.pop(other, None)
                self.written.discard(other)
                self.work[other] = ([], [])
                self.cluster[number] = self.cluster[number] | self.cluster[other]
            for index in indexes:
                self.owner[index] = number
            paths = [self.project.universe.files[index].path for index in indexes]
            self.work[number] = (indexes, [(paths, self.project.import_tables(indexes))])
            outcome = process_group(self.work[number][1], self.options)

    def _given_importers(self, number: int, outcome: GroupOutcome, own: set) -> set:
        if self.elsewhere is None:
            return set()
        with gc_paused():
            found = self.elsewhere.given_importers(outcome, self.work[number][1][-1][1])
        return {index for index in map(self.project.index_of, found) if index is not None} - own

    def ready(self, number: int, outcome: GroupOutcome) -> list:
        """(number, outcome) of the groups that may be written now that `number` is settled: it and
        the groups held for it, once every group of its cluster is back or taken in."""
        self.held[number] = outcome
        members = {member for member in self.cluster[number] if member not in self.absorbed}
        if not members <= set(self.held):
            return []
        return [(member, self.held.pop(member)) for member in sorted(members)]


def _work(paths: Iterable[str], options: RunOptions, workers: "_Workers") -> tuple:
    """(what discovery found, the readable files under `paths`, the groups to migrate: (indexes
    into the files, attempts), the Project that grouped them)."""
    found = discover(paths, options.selection)
    files = [entry.path for entry in found if entry.problem is None]
    with gc_paused():
        data, trees, seeds, class_only, chosen = _screen(files, options, workers)
        project = Project(files, data, trees)
        widths = [[group.core, group.core + group.near] if group.near else [group.core] for group in project.groups(seeds, class_only)]
        # alone, never a seed: its imports are not closed over (on a big library that took minutes)
        grouped = {index for group in widths for index in group[-1]}
        # each with the files that make a module from a class one of its functions returns (those
        # that have such callers first: a caller may choose a class of its own too); a caller in a
        # group already (it makes a GRU of its own) takes it into that group, where the module made
        # from the class is stepped
        callers = {index: project.callers_of_chosen(index) for index in chosen if index not in grouped}
        for index in sorted(callers, key=lambda index: not callers[index]):
            if index in grouped:
                continue
            indexes = [index] + [caller for caller in callers[index] if caller not in grouped]
            grouped.update(indexes)
            taking = next((group for group in widths if not set(group[-1]).isdisjoint(callers[index])), None)
            if taking is None:
                widths.append([indexes])
            else:
                taking[:] = [width + indexes for width in taking]
        work = [(group[-1], [([files[i] for i in width], project.import_tables(width)) for width in group]) for group in widths]
    return found, files, work, project


def _screen(files: list, options: RunOptions, workers: "_Workers") -> tuple:
    """(bytes by index, `ast` trees the prefilter parsed by index (None: it did not parse),
    indexes of the group seeds, those of them that only hold the GRU class, those of the other
    files that choose a class of torch.nn by a name not written out). At the first seed of a big
    tree, a worker is started (`_Workers`). In a big tree a forked child screens the second half
    meanwhile (ahead.py): its files' bytes and trees are read again only when grouping needs them."""
    data, trees, seeds, class_only, chosen = {}, {}, [], [], []

    def sort(index: int, verdict: tuple) -> None:
        seed, only_class, picks = verdict
        if seed:
            seeds.append(index)
            if only_class:
                class_only.append(index)
            else:
                workers.early(len(files))
        if picks:
            chosen.append(index)

    def screen_here(index: int, path: Path) -> None:
        data_read, screening = _screened(path, options.stdin)
        if data_read is not None:
            data[index] = data_read
            if screening.parsed:
                trees[index] = screening.tree
        *verdict, picked = _verdict(data_read, screening)
        if picked is not None:  # parsed to see the pick: grouping reads it (callers_of_chosen)
            trees[index] = picked
        sort(index, tuple(verdict))

    half = len(files) // 2 if len(files) >= SCREEN_APART_FILES and workers.count > 1 and options.stdin is None and ahead.spare_core() else len(files)
    rest = ahead.computed_ahead(lambda: [_verdict(*_screened(path))[:3] for path in files[half:]]) if half < len(files) else None
    for index, path in enumerate(files if rest is None else files[:half]):
        screen_here(index, path)
    verdicts = rest() if rest is not None else None
    for offset, path in enumerate(files[half:] if rest is not None else ()):
        if verdicts is None:  # the child failed: screened here
            screen_here(half + offset, path)
        else:
            sort(half + offset, tuple(verdicts[offset]))
    return data, trees, seeds, class_only, chosen


# From this many files, screening the second half in a forked child (while this process screens
# the first) pays for the fork and for the few files the grouping then parses again.
SCREEN_APART_FILES = 400


def _screened(path: Path, stdin: Optional[bytes] = None) -> tuple:
    """(the file's bytes, or None when it cannot be read; its Screening, or None)."""
    try:
        data = path.read_bytes() if stdin is None else stdin
    except OSError:
        return None, None
    return data, screen(data, defer_holders=True)


def _verdict(data: Optional[bytes], screening) -> tuple:
    """(a group seed: it may hold a GRU, or has a marker, or cannot be read (process_group reports
    it); a seed that only holds the class; a file that picks a class of torch.nn by a name; the
    `ast` tree that showed the pick, or None)."""
    if data is None:
        return True, False, False, None
    marked = has_marker(data)  # a marker needs a person, GRU or not
    seed = screening.may_hold_gru or marked
    # one that only holds a class (`getattr(nn, "GRU" + "Cell")` spells GRU) may be in no group either
    picked = tree_choosing_class_by_value(data, screening.tree) if not screening.may_hold_gru or screening.class_only else None
    return seed, seed and screening.class_only and not marked, picked is not None, picked


def _outcomes(work: list, options: RunOptions, workers: "_Workers", absorbed: set) -> Iterator[tuple]:
    """(number of the group in `work`, its GroupOutcome) for every group, as each is ready; one
    `absorbed` into another group before it is migrated (here, or sent to a worker) is skipped."""
    pool = workers.for_work(work)
    if pool is None:
        for number in range(len(work)):
            if number not in absorbed:
                yield number, process_group(work[number][1], options)
        return

    from gru2lstm.workers import DIED

    tasks = {number: (work[number][1], options) for number in _feeding_order(work)}
    for number, outcome in pool.results(tasks, absorbed):
        if outcome is DIED:
            outcome = GroupOutcome([FileResult(str(path), "error", error=WORKER_DIED) for path in tasks[number][0][-1][0]])
        yield number, outcome


# From this many files, the screening and grouping left after the first file that may hold a GRU
# take longer than a worker's start (it imports LibCST, ~0.2 s): a worker started then is ready
# when the groups are, and this process never imports LibCST.
EARLY_WORKER_FILES = 200


class _Workers:
    """The run's worker processes, started only when there is work: one at the first group seed
    of a big tree (`early`), else all once the groups are known, when there are enough files to
    share out (`for_work`). Stopped with the run (killed when it ends by an exception)."""

    def __init__(self, jobs: int) -> None:
        self.count = jobs or os.cpu_count() or 1
        self.pool = None

    def __enter__(self) -> "_Workers":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if self.pool is not None:
            self.pool.__exit__(kind, error, trace)

    def early(self, files: int) -> None:
        if self.pool is None and self.count > 1 and files >= EARLY_WORKER_FILES:
            from gru2lstm.workers import WorkerPool

            self.pool = WorkerPool(process_group, 1, prepare=_import_migration)

    def for_work(self, work: list):
        """The pool to migrate `work` with, grown to its size; None: migrate here."""
        wanted = min(self.count, len(work))
        if self.pool is not None:
            self.pool.grow(wanted)
            return self.pool
        if wanted <= 1 or sum(len(indexes) for indexes, _ in work) < PARALLEL_THRESHOLD:
            return None
        from gru2lstm.workers import WorkerPool

        _import_migration()  # once, before the workers fork
        self.pool = WorkerPool(process_group, wanted)
        return self.pool


def _import_migration() -> None:
    with gc_paused():
        import gru2lstm.migrate  # noqa: F401 -- LibCST


def _feeding_order(work: list) -> list:
    """Numbers of the groups in the order the workers take them: largest first, so that no big
    group starts last while the other cores idle; but the smallest at the very front, so that
    the first result shows early."""
    by_size = sorted(range(len(work)), key=lambda number: -_group_bytes(work[number][1][-1][0]))
    return by_size[-1:] + by_size[:-1]


def _group_bytes(paths: list) -> int:
    total = 0
    for path in paths:
        try:
            total += os.path.getsize(path)
        except OSError:  # process_group reports it
            pass
    return total


def _in_discovery_order(found: list, results: list) -> list:
    """`results` (one per readable file) with an error for each path discovery could not take."""
    readable = iter(results)
    return [FileResult(str(entry.path), "error", error=entry.problem) if entry.problem else next(readable) for entry in found]


def _place(results: list, indexes: list, group_results: list) -> None:
    for index, result in zip(indexes, group_results):
        results[index] = result
