"""Which of the given files are migrated together, and what their imports name.

A hidden state crosses files: the model in one, its rollout storage in a second, the training
loop in a third. Files given together (a folder, or several paths) are therefore migrated as
one *group* when they import each other, so the flow analysis sees every place the state lives.

A group starts from each file that constructs a torch GRU, or binds a name to its class (`RNN =
nn.GRU`, `class Core(nn.GRU)`: the prefilter's answer), and takes in,
with the stdlib `ast` only (cheap, in the parent process):

- upwards, every given file that imports a class or function (or a name bound to the GRU class:
  `from layers import RNN`) from a file of the group, again
  and again (the agent that builds the policy, the training script that builds the agent): the
  group's *core*;
- downwards, every given file from which a file of the core imports a class or function (the
  rollout storage the agent fills), one step: what only those import is not state-bearing
  code of the group's, and following it would pull in whole libraries. These *near* files are
  analysed only when the core alone cannot be migrated (a state that flows into one of them is
  reported until it is), which keeps big imported helpers out of LibCST in the common case;
- further down, any given file the group's flow still goes to (`Project.reached`: a state passed
  to a record class that only a near file imports), again and again, each taken in only once a
  finding says the state reaches it (engine._Settling).

Groups that share a file are one group; so are two whose flows turn out to need one given file,
or one of which changes what a file of the other imports (engine._Settling, from their outcomes).
Each file migrated gets an import table: for every name its module-level imports bind, the file
and member it names among the files migrated with it, or the other file it would load, given or
not (reported when a hidden state flows there).

The project's files that were *not* given are looked at too, but only when a group changes the
contract of a function (a parameter or return that becomes (h, c)): `CallersElsewhere` finds the
ones that import it and leaves the group unwritten, since they would still call it the GRU way; a
GRU whose calls the group does not hold has its finding name the files that import its holder.
What an import statement binds, and the dotted names each file is imported by, are imports.py's;
which given file an import loads is universe.py's. A file outside the group that reads a member
the group changes (`agent.hidden`) is readers.py's; one that may call a changed method through an
object it was handed (`out, h = net(x, h)` in `def collect(net)`) is duck_calls.py's.

Over 500 lines: the grouping (`Project`, `_closure`) and the look at the files outside a group
(`CallersElsewhere`) walk imports with the same helpers (`_importers`, `_with_holders`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional

from gru2lstm.config import import_root
from gru2lstm.duck_calls import changed_callees, changed_methods, unknown_call_finding, unknown_calls
from gru2lstm.discovery import DEFAULT_EXCLUDE, Selection, UsageError, discover
from gru2lstm.findings import new_finding, uncalled_module_message
from gru2lstm.imports import STAR, Folders, below, may_import, may_import_module, module_name, other_names, program_folder
from gru2lstm.prefilter import functions_returning_class_by_value, gru_class_names, may_name_gru_class, names_bound_in_code, registry_read, torch_names_bound
from gru2lstm.readers import OutsideReads
from gru2lstm.spellings import Spellings
from gru2lstm.tree_nodes import nodes_of
from gru2lstm.universe import ProjectFile, Universe
from gru2lstm.vocab import (
    DYNAMIC_LOOKUP_BYTES, GRU_NEEDLE, HELD_CLASS_ALIASED_BYTES, HELD_CLASS_CALL_BYTES, NAMED_ATTRIBUTE_BUILTIN, RECURRENT_CONSTRUCTION_BYTES, STAR_IMPORT_BYTES,
)

__all__ = [
    "CallersElsewhere", "Group", "Member", "ModuleSource", "Project", "block_group", "importers_elsewhere", "refuse_unfollowed_importers", "shown_path",
]


@dataclass(frozen=True)
class Member:
    """What an imported name is inside a group: a module of the group, or a member of one."""

    key: str  # the group file's key (its path as given)
    name: Optional[str] = None  # None: the name is the module itself


@dataclass(frozen=True)
class ModuleSource:
    """One file of a group, as the engine migrates it (plain and picklable)."""

    key: str  # the path as given; names the module inside the group
    imports: dict = field(default_factory=dict)  # local name -> Member
    outside: dict = field(default_factory=dict)  # local name -> the file not migrated with this one it comes from
    # local name -> (the torch path, the file of the project that binds it there): `from util import nn`
    torch_names: dict = field(default_factory=dict)
    dotted_imports: dict = field(default_factory=dict)  # `import a.b` of a file among them (it binds no name of its own): "a.b" -> Member
    # The bytes the prefilter read, so that the engine does not read the file again (and migrates
    # what was screened); None: not read yet.
    data: Optional[bytes] = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Group:
    """Files migrated together, as indexes into the given paths (each sorted).

    `core`: the files that construct a torch GRU and every file that imports, transitively, what
    leads to them. `near`: the files the core imports classes or functions from; they are only
    analysed when the core alone cannot be migrated (engine.process_group).
    """

    core: list
    near: list


# From this many seeds on, grouping scans each file once for every module name (spellings.py)
# rather than searching every file for each module of a closure.
MANY_SEEDS = 16


class Project:
    """The given files: how they group (`groups`) and what their imports name (`import_tables`),
    from one `ast` parse of each file."""

    def __init__(self, paths: Iterable[Path], data: Optional[dict] = None, trees: Optional[dict] = None) -> None:
        """`data` and `trees` optionally hold the bytes already read and the `ast` trees already
        parsed (by the prefilter; None for a file that does not parse), by index into `paths`."""
        self.universe = Universe(list(paths), data or {}, trees or {})
        self.position = {entry.key: index for index, entry in enumerate(self.universe.files)}  # key -> index

    def groups(self, seeds: Iterable[int], class_only: Iterable[int] = ()) -> list:
        """Groups (in order of their first file) such that every seed is in the core of exactly
        one. `seeds` are the indexes of files that construct a torch GRU. Groups that would share
        a file are one group. `class_only`: those of them that only hold the class (prefilter step
        3); each joins the group of the files that use the names it binds (`_attach_holders`)."""
        universe = self.universe
        class_only = set(class_only)
        # a holder whose class another file constructs (`Cell(4, 8)` after `from layers import Cell`)
        # makes a GRU: the engine must see it, and say where it cannot follow it, as for a file's own
        seeds = [seed for seed in seeds if seed not in class_only] + [
            index for index in sorted(class_only) if _constructed_elsewhere(universe, universe.files[index])
        ]
        if len(seeds) >= MANY_SEEDS:  # each closure would search every file: scan each once instead
            universe.spellings = Spellings(universe.files, {entry.name.rpartition(".")[2].encode() for entry in universe.files})
        owner: dict = {}  # file key -> group id
        groups: dict = {}  # group id -> (core keys, near keys)
        for seed in seeds:
            gid = owner.get(universe.files[seed].key)
            if gid is not None and universe.files[seed].key in groups[gid][0]:
                continue  # only a near file of another group is a core of its own (a second GRU file)
            core, near = _closure(universe, universe.files[seed])
            for gid in {owner[k] for k in core | near if k in owner}:
                other_core, other_near = groups.pop(gid)
                core, near = core | other_core, near | other_near
            groups[seed] = (core, near - core)
            for key in core | near:
                owner[key] = seed
        if groups:
            _attach_holders(universe, [universe.files[index] for index in sorted(class_only)], groups)
        found = [
            Group(sorted(self.position[k] for k in core), sorted(self.position[k] for k in near)) for core, near in groups.values()
        ]
        return sorted(found, key=lambda group: min(group.core + group.near))

    def reached(self, outcome, own: set) -> list:
        """The indexes of the given files, none of `own` (the group's), that a group's flow went to
        where it needs a person (a state passed to `Batch(...)` of batch.py, which only a near file
        of the group imports): taking them in may let it be followed. `outcome`: the group's
        engine.GroupOutcome. Found from the findings alone, so a file is parsed by LibCST only
        when a state reaches it, however many imports away from the group's core it is."""
        found = set()
        for result in outcome.results:
            migration = result.migration
            if migration is None or not migration.blocked:
                continue
            found.update(self.index_of(Path(place)) for place in migration.reached)
        return sorted(found - own - {None})

    def index_of(self, path: Path) -> Optional[int]:
        """The index of a given file, or None."""
        entry = self.universe.by_path.get(str(path.resolve()))
        return None if entry is None else self.position[entry.key]

    def entangled(self, groups: list) -> list:
        """For each group (a list of indexes), the numbers of the groups whose files import, at any
        depth, a given file its own files import too (itself included): one of them may take that
        file in (`reached`) or need another's file, so they may end up migrated as one. `ast` only."""
        leader = list(range(len(groups)))

        def root(number: int) -> int:
            while leader[number] != number:
                leader[number] = leader[leader[number]]
                number = leader[number]
            return number

        first_reacher: dict = {}  # file index -> the first group whose imports reach it
        for number, indexes in enumerate(groups):
            seen, frontier = set(indexes), list(indexes)
            while frontier:
                for imported in self.universe.imports(self.universe.files[frontier.pop()]):
                    if imported.file is not None and self.position[imported.file.key] not in seen:
                        seen.add(self.position[imported.file.key])
                        frontier.append(self.position[imported.file.key])
            for index in seen:
                other = first_reacher.setdefault(index, number)
                leader[root(other)] = root(number)
        clusters: dict = {}
        for number in range(len(groups)):
            clusters.setdefault(root(number), set()).add(number)
        return [clusters[root(number)] for number in range(len(groups))]

    def callers_of_chosen(self, index: int) -> list:
        """The indexes of the files that import a function of file `index` returning a class of
        torch.nn picked by a name not written out (`layers.rnn_class(cfg.rnn)(4, 8)` of `def
        rnn_class(name): return getattr(nn, name)`): only such a file shows whether the module made
        there takes a state (classes_by_value.py). Looked for only for a file that holds one."""
        entry = self.universe.files[index]
        tree = entry.module_tree()
        functions = functions_returning_class_by_value(tree) if tree is not None else set()
        return [self.position[caller.key] for caller, _ in _importers(self.universe, entry, functions)] if functions else []

    def import_tables(self, indexes: list) -> list:
        """A ModuleSource per file of `indexes`: a name bound to a file among them is a Member;
        one bound to any other file (given or on disk beside it) is outside."""
        members = {self.universe.files[i].key for i in indexes}
        sources = []
        for index in indexes:
            entry = self.universe.files[index]
            imports, outside, torch_names, dotted_imports = {}, {}, {}, {}
            for imported in self.universe.imports(entry):
                target = imported.file
                torch_names.update(_torch_names_from(entry, imported))
                if imported.member == STAR and target is not None and target.key in members:
                    for name in self._star_names(target, members):  # `from layers import *`
                        imports.setdefault(name, Member(target.key, name))
                    continue
                if imported.local is None and target is not None and target.key in members and imported.member is None:
                    dotted_imports[imported.dotted] = Member(target.key)
                if imported.local is None:
                    continue
                if target is not None and target.key in members:
                    imports[imported.local] = Member(target.key, imported.member)
                    continue
                place = target.path.resolve() if target is not None else file_on_disk(entry, imported.dotted)
                if place is not None:
                    outside[imported.local] = shown_path(place)
            dotted_imports.update(self._reached_through_packages(entry, members))
            sources.append(ModuleSource(entry.key, imports, outside, torch_names, dotted_imports, entry.data))
        return sources


    def _reached_through_packages(self, entry: ProjectFile, members: set) -> dict:
        """{`pkg.model`: Member} for each file among `members` that `entry` reads as an attribute of
        a package it imports (`pkg.model.Net()` after `import pkg`): the engine follows it there
        as it does `import pkg.model`. Bytes first: the file spells `.model`."""
        data = entry.contents() or b""
        spelled = [self.universe.by_key[key] for key in sorted(members) if key != entry.key]
        spelled = [member for member in spelled if b"." + member.name.rpartition(".")[2].encode() in data]
        if not spelled:
            return {}
        bases = {base for base, _ in entry.name_attributes()} | {f"{base}.{name}" for base, name in entry.name_attributes()}
        found = {}
        for imported in self.universe.imports(entry):
            for member in spelled:
                path = _attribute_path(imported, member) if imported.file is not member else None
                if path in bases:
                    found.setdefault(path, Member(member.key))
        return found

    def _star_names(self, entry, members: set, seen: frozenset = frozenset()) -> set:
        """The classes and functions `from entry import *` binds: those it defines, and those it
        takes from files among `members` (`from .gru import *` or `from .gru import Agent` in a
        package's `__init__`), kept to its `__all__` when it lists one. Its other imports (`torch`)
        stay the importer's own."""
        names = set(entry.functions_and_classes())
        for imported in self.universe.imports(entry):
            target = imported.file
            if target is None or target.key not in members or target.key in seen:
                continue
            if imported.member == STAR:
                names |= self._star_names(target, members, seen | {entry.key})
            elif imported.local is not None and imported.member is not None:
                names.add(imported.local)
        listed = entry.listed_names()
        return names if listed is None else names & listed


def importers_elsewhere(files: list, changed: dict, others: list, data: Optional[dict] = None, read: Optional[dict] = None) -> dict:
    """The files among `others` (the project's files that were not given) that import a changed
    class or function of the group's `files` (directly, or re-exported by a file of the group or by
    a package's `__init__` among `others`, whose importers are looked for in turn).

    `changed`: str(path) of a group file -> the names whose contract changes there; None for every
    class, function and global it defines. Returns str(path) -> [each importer's Path]. Such a file would
    still call them the GRU way. `data`: the bytes of `files` already read, by index. `read`: what
    earlier calls read and parsed, str(path) -> (bytes, tree, parsed), used and added to.
    """
    data, trees = dict(data or {}), {}
    folders = Folders()
    modules = {module_name(path, folders)[1] for path in files}
    kept, looked = [], set()
    taken = set()  # the paths of kept
    while modules:
        words = {(name.rpartition(".")[2].encode(), name) for name in modules}
        looked |= modules
        modules = set()
        for path in others:
            if path in taken:
                continue
            known = (read or {}).get(str(path))
            contents = known[0] if known is not None else _read_bytes(path)
            if known is None and read is not None and contents is not None:
                read[str(path)] = (contents, None, False)  # the next call reads it no more, kept or not
            # Cheap first, before the file is placed among the modules: an importer spells the name
            # of one of the group's modules in an import (as _importers asks again of each module)
            if contents is not None and any(word in contents and may_import_module(contents, name) for word, name in words):
                data[len(files) + len(kept)] = contents
                kept.append(path)
                taken.add(path)
                if path.name == "__init__.py":  # a package that may re-export it: its importers too
                    modules.add(module_name(path, folders)[1])
        modules -= looked
    paths = list(files) + kept
    for index, path in enumerate(paths):
        known = (read or {}).get(str(path))
        if known is not None:
            data.setdefault(index, known[0])
            if known[2]:
                trees[index] = known[1]
    universe = Universe(paths, data, trees)
    group = {entry.key for entry in universe.files[: len(files)]}
    found = {}
    for key, names in changed.items():
        start = universe.by_key[key]
        names = start.functions_and_classes() | start.assigned_names() if names is None else set(names)
        importers, frontier, seen = set(), [(start, frozenset(_with_holders(start, names)))], set()
        while frontier:
            current, wanted = frontier.pop()
            if (current.key, wanted) in seen:
                continue
            seen.add((current.key, wanted))
            for entry, reached in _importers(universe, current, wanted):
                if entry.key not in group:
                    importers.add(entry.path)
                if reached:  # `from .model import Policy` in a package's __init__: its importers count too
                    frontier.append((entry, frozenset(_with_holders(entry, reached))))
        if importers:
            found[key] = sorted(importers)
    if read is not None:
        read.update((entry.key, (entry.data, entry.tree, entry.parsed)) for entry in universe.files if entry.data is not None)
    return found


class CallersElsewhere:
    """The project's files that were not migrated with a group, and which of them would still use
    what it changes the GRU way: import a function whose contract changes (a parameter or return
    that becomes (h, c)), or read a member that holds or sizes the state (readers.py). Walked once,
    and only when a group changes one of those: most runs never pay for it."""

    def __init__(self, paths: list, files: list, selection: Selection) -> None:
        self.paths = paths
        self.files = files
        self.selection = selection
        self._others: Optional[list] = None
        self._reads = OutsideReads()
        self._real: dict = {}  # Path -> resolved, once for every group
        self._folders = Folders()
        self._read: dict = {}  # what importers_elsewhere read and parsed, for its next call
        self._outsides: dict = {}  # tuple of a group's paths -> the project's files outside it

    def _resolved(self, path: Path) -> Path:
        if path not in self._real:
            self._real[path] = self._folders.resolve(path)  # each folder resolved once
        return self._real[path]

    def others(self) -> list:
        if self._others is None:
            root = str(import_root(self.paths))
            given = {self._resolved(path) for path in self.files}
            try:
                found = discover([root], self.selection)
            except UsageError:  # a .gitignore pathspec cannot read: walk without ignore files, not less
                found = discover([root], replace(self.selection, exclude=DEFAULT_EXCLUDE))
            self._others = [entry.path for entry in found if entry.problem is None and self._resolved(entry.path) not in given]
        return self._others

    def refuse(self, outcome, modules: list) -> None:
        """Leave the group unwritten, with a finding, when a file not migrated with it uses what it
        changes. `outcome`: the group's engine.GroupOutcome; `modules`: its ModuleSources, in the
        order of its results (their bytes are reused)."""
        changed = changing_results(outcome)
        if not any(result.migration.interface or result.migration.members for result in changed):
            return
        data = _bytes(modules)
        group = [Path(result.path) for result in outcome.results]
        blockers = self._callers(changed, group, data) | self._readers(changed, group, data) | self._unknown_callers(changed, group)
        if blockers:
            block_group(outcome, sorted(blockers), "the hidden state of files migrated with this one without being migrated with them", "uses")

    def name_callers(self, outcome, modules: list) -> None:
        """Name, in the finding of a GRU none of whose calls was analysed, the project's files that
        import what holds it (a subclass's file that calls `self.rnn` of a base class given alone,
        as a pre-commit hook does): they are the code to give. Arguments as `refuse`'s."""
        uncalled = [(result, module) for result in outcome.results if result.migration is not None for module in result.migration.uncalled]
        if not uncalled:
            return
        data = _bytes(modules)
        group = [Path(result.path) for result in outcome.results]
        candidates = self.others() + self._outside(group, given_only=True)
        given = set(self.files)
        for result, module in uncalled:
            found = importers_elsewhere(group, {result.path: {module.imported_as}}, candidates, data, self._read).get(result.path)
            if not found:
                continue
            names = _listed([shown_path(path) for path in found])
            # the calls are there, or in code those files hand what they import to (a runner given the agent)
            calls = "the code that calls it (there, or reached from there) would still pass one tensor as the state"
            if all(path in given for path in found):  # a group of its own, written before this one
                how = f"without being migrated with it, and {calls}; migrate those calls by hand"
            else:
                how = f"without being given, and {calls}; give {'that file' if len(found) == 1 else 'those files'} too (or the project folder)"
            callers = f"{names} {'imports' if len(found) == 1 else 'import'} `{module.imported_as}` {how}"
            result.migration.findings[:] = [
                replace(finding, message=uncalled_module_message(module.made, callers))
                if (finding.line, finding.column, finding.code) == (module.line, module.column, "G2L101") else finding
                for finding in result.migration.findings
            ]

    def given_importers(self, outcome, modules: list) -> list:
        """The given files outside the group that import a function whose contract it changes (a
        file that imports a constant of the storage file that the agent fills): the group is
        migrated again with them (engine._Settling), which follows what they do with it, a state
        or nothing. Arguments as `refuse`'s."""
        changed = changing_results(outcome)
        if not any(result.migration.interface for result in changed):
            return []
        group = [Path(result.path) for result in outcome.results]
        importers = self._importers(changed, group, _bytes(modules), self._outside(group, given_only=True))
        return sorted({path for paths in importers.values() for path in paths})

    def _importers(self, changed: list, group: list, data: dict, candidates: list) -> dict:
        """importers_elsewhere of the group's changed contracts among `candidates`."""
        contracts = {
            result.path: {change.function.partition(".")[0] for change in result.migration.interface}
            for result in changed if result.migration.interface
        }
        return importers_elsewhere(group, contracts, candidates, data, self._read) if contracts and candidates else {}

    def _callers(self, changed: list, group: list, data: dict) -> set:
        """Files outside the group that import a function whose contract changes: a finding at the
        function for each group file; the files, as shown. Not given, or given but not grouped with
        it: a file that imports only a helper the group shares (`from helpers import step`) is not
        taken in by the grouping, which goes up from the files that construct a GRU; a given one is
        only left out when another group holds it and is already written."""
        given = set(self.files)
        importers = self._importers(changed, group, data, self.others() + self._outside(group, given_only=True))
        if not importers:
            return set()
        for result in changed:
            paths = importers.get(result.path, ())
            outside = [shown_path(path) for path in paths]
            if not outside:
                continue
            interface = sorted(result.migration.interface, key=lambda c: c.function.rpartition(".")[2].startswith("_"))  # public first
            change = interface[0]
            names = _listed(outside)
            if len(interface) == 1:
                what = f"`{change.function}()` now takes or returns (h, c) ({change.carriers}), and {names} {'imports' if len(outside) == 1 else 'import'} it"
            else:  # which of them it imports, the file's imports alone do not say (a class, a module)
                listed = " and ".join(f"`{c.function}()`" for c in interface[:3]) + (" and others" if len(interface) > 3 else "")
                what = f"{listed} now take or return (h, c), and {names} {'imports' if len(outside) == 1 else 'import'} from this file"
            if any(path in given for path in paths):
                why = ("without being migrated with it (a group of its own, written before this one), so its calls "
                       "would still pass and take one tensor; migrate those calls by hand")
            else:
                why = "without being given, so its calls would still pass and take one tensor; give that file too (or the project folder)"
            result.migration.findings.append(new_finding("G2L101", f"{what} {why}", change.line, change.column))
        return {shown_path(path) for paths in importers.values() for path in paths}

    def _readers(self, changed: list, group: list, data: dict) -> set:
        """Files of the project outside the group (given or not) that read a changed member of it."""
        if not any(result.migration.members for result in changed):
            return set()
        outside = self._outside(group)
        given = set(self.files)

        def importing(paths: list) -> set:
            found = importers_elsewhere(group, {str(path): None for path in group}, paths, data, self._read)
            return {path for paths in found.values() for path in paths}

        reads = self._reads.refuse(
            changed, [path for path in outside if path in given], [path for path in outside if path not in given], importing, shown_path
        )
        return {shown_path(path) for path in reads}

    def _outside(self, group: list, given_only: bool = False) -> list:
        """The project's files (given or not; `given_only`: the given ones, without walking the
        project for the others) outside the group, below the folders its files are imported from:
        a file elsewhere (another project in the same repository) is not one of the program's."""
        key = (tuple(group), given_only)
        if key not in self._outsides:
            inside = {self._resolved(path) for path in group}
            scope = program_folder(group, self._folders)
            self._outsides[key] = [
                path for path in (self.files if given_only else self.files + self.others())
                if self._resolved(path) not in inside and below(self._resolved(path), scope)
            ]
        return self._outsides[key]

    def _unknown_callers(self, changed: list, group: list) -> set:
        """Files outside the group that may call a changed method through an object the engine
        cannot identify (duck_calls.py): a finding at the method for each such call; the files."""
        methods = changed_methods(
            (change.function.rpartition(".")[2], change.function, change.parameters, change.positions)
            for result in changed for change in result.migration.interface if "." in change.function and change.parameters
        )
        if not methods:
            return set()
        changes = {change.function: (result, change) for result in changed for change in result.migration.interface}
        given = set(self.files)
        found = set()
        for path in self._outside(group):
            if re.search(RECURRENT_CONSTRUCTION_BYTES, self._reads.contents(path)):
                continue  # a program of its own calls its own recurrent modules
            tree = self._tree(path)
            for call in unknown_calls(tree, methods) if tree is not None else ():
                result, change = changes[changed_callees(methods, call.method)[0].display]
                result.migration.findings.append(unknown_call_finding(
                    change.function, change.carriers, call, shown_path(path), path in given, change.line, change.column
                ))
                found.add(shown_path(path))
        return found

    def _tree(self, path: Path) -> Optional[ast.Module]:
        """A file's `ast`, parsed once for the run: by an importer search, or by the readers."""
        known = self._read.get(str(path))
        return known[1] if known is not None and known[2] else self._reads.tree(path)


def _listed(files: list) -> str:
    """The first three files shown, and "and others" for the rest: what a finding names."""
    return ", ".join(files[:3]) + (" and others" if len(files) > 3 else "")


def refuse_uncalled_contracts(outcome) -> None:
    """Leave a group unwritten when one of its functions that nothing calls (no file of the project
    imports it; or the source came from stdin with no name) takes the state inside a container
    parameter (skrl's `inputs["rnn"][0]`, filled by a library): whether its callers give a pair in
    the state's place or one container per half is theirs to decide, and the rewrite would only
    guess (its warning, G2L202, becomes a G2L101); or takes the state beside an `initial_state()`
    that nothing calls either and that stays one tensor (the G2L101s the rule held back)."""
    guessed = [shown_path(Path(result.path)) for result in changing_results(outcome) if _uncalled_contracts(result.migration)]
    if guessed:
        block_group(outcome, guessed, "callers outside the project to give (h, c)", "needs")


def refuse_unfollowed_importers(outcome, modules: list) -> None:
    """Leave a group unwritten when a function whose contract changes has no caller the engine
    followed, though another file of the group imports it (its class, or its module, whose bytes
    spell the name): that file reaches it in a way the flow does not follow (`load("pkg.model").Net()`
    in a function, a module passed through an import it does not read), and its calls would still
    pass and take one tensor. `modules`: the group's ModuleSources, in the order of its results."""
    by_key = {module.key: module for module in modules}
    blockers = set()
    for result in changing_results(outcome):
        # a class whose other methods have callers the flow followed is reached where it is imported
        # (CleanRL's `get_value()`, uncalled beside a called `get_action_and_value()`)
        followed = {change.function.partition(".")[0] for change in result.migration.interface if change.called and "." in change.function}
        for change in result.migration.interface:
            name = change.function.partition(".")[0]
            if change.called or name in followed:
                continue
            importers = sorted(
                shown_path(Path(module.key)) for module in modules
                if module.key != result.path and _imports_from(module, result.path, name)
            )
            if not importers or result.path not in by_key:
                continue
            names = _listed(importers)
            result.migration.findings[:] = [f for f in result.migration.findings if not (f.code == "G2L202" and f.line == change.line)]
            result.migration.findings.append(new_finding(
                "G2L101",
                f"`{change.function}()` now takes or returns (h, c) ({change.carriers}), and {names} "
                f"{'reaches' if len(importers) == 1 else 'reach'} `{name}` through an import, but no call of it there was followed "
                "(it is reached through a value the engine does not follow), so those calls would still pass and take one tensor; "
                "import it by name where it is called, or migrate those calls by hand",
                change.line, change.column,
            ))
            blockers.update(importers)
    if blockers:
        block_group(outcome, sorted(blockers), "what this group changes in a way that was not followed", "reaches")


def _imports_from(module: ModuleSource, key: str, name: str) -> bool:
    """Does the group's `module` import `name` of the file `key`, or that module while spelling `name`?"""
    members = [*module.imports.values(), *module.dotted_imports.values()]
    return any(member.key == key and member.name == name for member in members) or any(
        member.key == key and member.name is None for member in members
    ) and name.encode() in (module.data or _read_bytes(Path(module.key)) or b"")


def _uncalled_contracts(migration) -> bool:
    """Add the findings of each such function of one file; were there any?"""
    refused = False
    for change in migration.interface:
        if change.called:
            continue
        if change.unpaired:
            migration.findings[:] = sorted([*migration.findings, *change.unpaired], key=lambda f: (f.line, f.column))
            refused = True
        if not change.inside:
            continue
        migration.findings[:] = [f for f in migration.findings if not (f.code == "G2L202" and f.line == change.line)]
        migration.findings.append(new_finding(
            "G2L101",
            f"{change.carriers} of `{change.function}()`: no code of the project calls it, and where (h, c) sits inside "
            "it (a pair in the state's place, or one container per half) is for its callers to decide; migrate this "
            "function and what fills that parameter by hand, or give the files that call it in the same run",
            change.line, change.column,
        ))
        refused = True
    return refused


def changing_results(outcome) -> list:
    """The FileResults of a group's outcome that its migration changes: their text, or only the
    contract of what they define (`forward(self, obs, hxs)` of a subclass that passes `hxs` on to
    a GRU of its base's, rewritten in the base's file: the subclass's callers must pass (h, c))."""
    return [
        result for result in outcome.results
        if result.migration is not None and (result.status == "changed" or result.status == "unchanged" and result.migration.interface)
    ]


def _bytes(modules: list) -> dict:
    """The bytes already read of a group's ModuleSources, by position."""
    return {index: module.data for index, module in enumerate(modules) if module.data is not None}


def _closure(universe: Universe, seed: ProjectFile) -> tuple:
    """(the seed and the files that import what leads to it, transitively; the files those import
    classes, functions or globals from, one step down)."""
    # relevant[key]: the names of that file through which code reaches the seed's classes and
    # functions: its own classes and functions, and what it re-exports of the group's.
    # Its globals too: a script-style module's state or GRU read as `core.state`, `core.rnn(x, h)`.
    relevant = {seed.key: _with_holders(seed, seed.functions_and_classes() | seed.gru_class_names() | seed.assigned_names())}
    frontier = [seed]
    while frontier:
        current = frontier.pop()
        for registry in _registry_files(universe, current):
            if registry.key not in relevant:  # what it keeps, others read: `AGENTS[name]()` elsewhere
                relevant[registry.key] = registry.functions_and_classes() | registry.containers()
                frontier.append(registry)
        for entry, reached in _importers(universe, current, relevant[current.key]):
            gained = (entry.functions_and_classes() | _with_holders(entry, reached)) - relevant.get(entry.key, set())
            if gained or entry.key not in relevant:
                relevant[entry.key] = relevant.get(entry.key, set()) | gained
                frontier.append(entry)
    core = set(relevant)
    near = set()
    for key in core:
        entry = universe.by_key[key]
        for imported in universe.imports(entry):
            target = imported.file
            if target is None or target.key in core:
                continue
            # a global read too: a dict of states kept in a module (`store.STATES[key] = h`) is made there
            definitions = target.functions_and_classes() | target.assigned_names()
            if imported.member == STAR or imported.member in definitions or (
                imported.member is None and imported.local is not None and _reads_attribute(entry, imported.local, definitions)
            ):
                near.add(target.key)
    return core, near


def _attach_holders(universe: Universe, holders: list, groups: dict) -> None:
    """Put each file that holds the GRU class (`RNN = nn.GRU` in layers.py) and the files that
    import the names it binds to it (`from layers import RNN`) into the group one of them is in:
    into its core when one is in the core, else beside its near files (analysed when the state
    reaches them). The engine then sees the construction it cannot follow and says where. A
    holder none of whose users is in a group is left out: alone, the engine has nothing to
    migrate there (the GRU program stays as it is), and its closure could be most of a library.
    A holder no file of a group may import is passed over before its parse (prefilter.screen)."""
    for holder in holders:
        if not _may_touch(universe, holder, groups):
            continue
        names = holder.gru_class_names()
        users = {entry.key for entry, _ in _importers(universe, holder, _with_holders(holder, names))} if names else set()
        keys = users | {holder.key}
        touched = [gid for gid, (core, near) in groups.items() if not keys.isdisjoint(core | near)]
        if not touched:
            continue
        core, near = set(), set()
        for gid in touched[1:]:  # a holder used by two groups ties them, as a shared file does
            other_core, other_near = groups.pop(gid)
            core, near = core | other_core, near | other_near
        first_core, first_near = groups[touched[0]]
        core, near = core | first_core, near | first_near
        if keys & core:
            core |= keys
        else:
            near |= keys
        groups[touched[0]] = (core, near - core)


def _constructed_elsewhere(universe: Universe, holder: ProjectFile) -> bool:
    """Does a file that imports a name `holder` binds to the GRU class call it (`Cell(4, 8)` after
    `from layers import Cell`, `layers.Cell(4, 8)` after `import layers`, `layers.CELLS["gru"](4, 8)`,
    `cls = CELLS["gru"]` then `cls(4, 8)`, `getattr(layers, name)(4, 8)`)? Bytes first: the name it calls, followed by a call's `(`
    (or a key's `[`), or assigned on. A file that re-exports such a name (`from .layers import Cell` in
    pkg/__init__.py) is followed to its importers in turn (`from pkg import Cell`)."""
    if _attribute_made_elsewhere(universe, holder):
        return True
    todo, seen = [(holder, holder.gru_class_names())], {holder.key}
    while todo:
        current, names = todo.pop()
        for entry, bound in _importers(universe, current, names, stars=True) if names else ():
            if _constructs_from(universe, current, entry, names, bound):
                return True
            if bound and entry.key not in seen:
                seen.add(entry.key)
                todo.append((entry, bound))
    return False


def _attribute_made_elsewhere(universe: Universe, holder: ProjectFile) -> bool:
    """Does a file that imports a class of `holder` whose body binds the GRU class (`class Base:
    rnn_cls = nn.GRUCell`, or `Spec.cell = nn.GRUCell` at module level or in a function) call that
    attribute (`self.rnn_cls(4, 8)` in a subclass, `Spec.cell(4, 8)`), or one that imports a
    subclass of it from another file (`class Mid(Base)` in mid.py, `class Agent(Mid)`)?"""
    tree = holder.module_tree()
    if tree is None or not may_name_gru_class(holder.contents() or b""):
        return False
    attributes = (gru_class_names(tree, class_bodies=True) | names_bound_in_code(tree)) - holder.gru_class_names()
    if not attributes:
        return False
    called = re.compile(rb"\.(?:" + b"|".join(re.escape(name.encode()) for name in sorted(attributes)) + rb")\b" + HELD_CLASS_CALL_BYTES)
    if not any(called.search(entry.contents() or b"") for entry in universe.files if entry is not holder):
        return False  # bytes first: no file calls such an attribute (`._FLOAT_MODULE(` in torch)
    todo, seen = [(holder, holder.functions_and_classes())], {holder.key}
    while todo:
        current, classes = todo.pop()
        for entry, bound in _importers(universe, current, classes):
            entry_tree = entry.module_tree()
            if entry_tree is None:
                continue
            if called.search(entry.contents() or b"") is not None and any(
                isinstance(node.func, ast.Attribute) and node.func.attr in attributes for node in nodes_of(entry_tree).of(ast.Call)
            ):
                return True
            derived = {
                node.name for node in entry_tree.body if isinstance(node, ast.ClassDef)
                and any(isinstance(base, ast.Name) and base.id in bound or isinstance(base, ast.Attribute) and base.attr in classes for base in node.bases)
            }
            if derived and entry.key not in seen:
                seen.add(entry.key)
                todo.append((entry, derived))
    return False


def _constructs_from(universe: Universe, holder: ProjectFile, entry: ProjectFile, names: set, bound: set) -> bool:
    """Does `entry`, which binds `bound` to `names` of `holder`, call one of them (_constructed_elsewhere)?"""
    spelled = rb"\b(?:" + b"|".join(re.escape(name.encode()) for name in sorted(names | bound)) + rb")\b"
    tree = entry.module_tree()
    data = entry.contents() or b""
    if tree is None:
        return False
    # the module itself read by a name (`getattr(layers, "Cell")(4, 8)`) may give the class
    modules = {imported.local for imported in universe.imports(entry) if imported.file is holder and imported.member is None and imported.local}
    if modules and DYNAMIC_LOOKUP_BYTES in data and any(_reads_by_name(node.func, modules) for node in nodes_of(tree).of(ast.Call)):
        return True
    if re.search(spelled + HELD_CLASS_CALL_BYTES, data) is None and re.search(HELD_CLASS_ALIASED_BYTES + spelled, data) is None:
        return False
    # and what it assigns them to (`cls = CELLS["gru"]`, then `cls(4, 8)`)
    named, attributes = set(bound), set(names)
    for node in nodes_of(tree).of(ast.Assign):
        value = registry_read(node.value)
        if isinstance(value, ast.Name) and value.id in bound or isinstance(value, ast.Attribute) and value.attr in names:
            named.update(target.id for target in node.targets if isinstance(target, ast.Name))
            attributes.update(target.attr for target in node.targets if isinstance(target, ast.Attribute))
    for node in nodes_of(tree).of(ast.Call):
        func = registry_read(node.func)
        if isinstance(func, ast.Name) and func.id in named or isinstance(func, ast.Attribute) and func.attr in attributes:
            return True
    return False


def _reads_by_name(node: ast.expr, modules: set) -> bool:
    """`getattr(<one of modules>, name)`, whatever the name."""
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == NAMED_ATTRIBUTE_BUILTIN
        and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id in modules
    )


def _may_touch(universe: Universe, holder: ProjectFile, groups: dict) -> bool:
    """Is `holder` in a group, or may a file of one import it (bytes only)? Else neither it nor
    any of its importers is in a group."""
    word = holder.name.rpartition(".")[2].encode()
    grouped = set().union(*(core | near for core, near in groups.values()))
    return holder.key in grouped or any(
        word in data and may_import(data, word) for data in (universe.by_key[key].contents() or b"" for key in grouped)
    )


def _registry_files(universe: Universe, entry: ProjectFile) -> list:
    """The given files that may keep `entry`'s classes in a registry: those its class decorators
    come from (`@register("rnn")` after `from registry import register`), and those of the names
    it stores them into (`AGENTS["rnn"] = Policy` after `from registry import AGENTS`)."""
    tree = entry.module_tree()
    names = set()
    for node in tree.body if tree is not None else ():
        for decoration in node.decorator_list if isinstance(node, ast.ClassDef) else ():
            decorator = decoration.func if isinstance(decoration, ast.Call) else decoration
            if isinstance(decorator, ast.Name):
                names.add(decorator.id)
    names |= _with_holders(entry, entry.functions_and_classes()) - entry.functions_and_classes()
    return [
        imported.file for imported in universe.imports(entry) if names and imported.local in names
        and imported.file is not None and imported.member is not None and imported.file is not entry
    ]


def _read_bytes(path: Path) -> Optional[bytes]:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _importers(universe: Universe, current: ProjectFile, names, stars: bool = False):
    """(file, the names it binds to `names` of `current`) for each file that imports one of them.
    Cheap first: an importer spells the module's last name in an import and one of the names it uses
    (`stars`: or imports with `*`, as a package's `from .layers import *` re-exports them unspelled)."""
    word = current.name.rpartition(".")[2].encode()
    needles = [name.encode() for name in names]
    for entry in universe.files:
        if entry is current:
            continue
        data = entry.contents() or b""
        spelled = universe.spellings.spells(entry, word) if universe.spellings is not None else word in data
        # `getattr(model, name)` names none of the module's classes, and reaches them all
        if not spelled or not (
            any(needle in data for needle in needles) or DYNAMIC_LOOKUP_BYTES in data or stars and STAR_IMPORT_BYTES in data
        ) or not may_import_module(data, current.name, names):
            continue
        reached = _names_used_from(universe, entry, current, set(names))
        if reached is not None:
            yield entry, reached


def _with_holders(entry: ProjectFile, names: set) -> set:
    """`names` and the module-level names of `entry` that hold one of them (registries:
    `R["rnn"] = RNNAgent`, `R = {"rnn": RNNAgent}`, `R.append(RNNAgent)`): code reaches the
    classes through those too."""
    tree = entry.module_tree()
    found = set(names)
    for statement in tree.body if tree is not None and names else ():
        if not isinstance(statement, (ast.Assign, ast.Expr)):  # only these store into a holder
            continue
        if not any(isinstance(node, ast.Name) and node.id in names for node in ast.walk(statement)):
            continue
        targets = statement.targets if isinstance(statement, ast.Assign) else []
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and isinstance(statement.value.func, ast.Attribute):
            targets = [statement.value.func.value]
        for target in targets:
            target = target.value if isinstance(target, ast.Subscript) else target
            if isinstance(target, ast.Name):
                found.add(target.id)
    return found


def _names_used_from(universe: Universe, entry: ProjectFile, current: ProjectFile, names: set) -> Optional[set]:
    """The names `entry` binds to `names` of `current` (re-exports), or None when it uses none."""
    bound, uses = set(), False
    for imported in universe.imports(entry):
        if imported.file is not current:
            # `pkg.model.Net` after `import pkg` (or `pk = importlib.import_module("pkg")`)
            path = _attribute_path(imported, current)
            uses = uses or path is not None and path.encode() in (entry.contents() or b"") and _reads_module(entry, path, names)
            continue
        if imported.member == STAR:
            return set(names)
        if imported.member in names:
            bound.add(imported.local)
            uses = True
        elif imported.member is None and imported.local is not None and (
            _reads_attribute(entry, imported.local, names) or imported.local in entry.bare_names()
        ):
            uses = True  # `model.Policy`, or the module itself handed on (`getattr(model, name)`)
        elif imported.member is None and imported.local is None and _reads_module(entry, imported.dotted, names):
            uses = True  # `pkg.layers.Cell` after `import pkg.layers`
        elif imported.member is None and _names_module_in_a_string(entry, imported.dotted, names):
            uses = True  # `sys.modules["pkg.model"].Net()`: the module taken by its name, which the flow does not follow
    return bound if uses else None


def _names_module_in_a_string(entry: ProjectFile, dotted: str, names: set) -> bool:
    """Does `entry` spell the module it imports as a string (`sys.modules["pkg.model"]`,
    `importlib.reload(...)` by name) and one of `names` beside it?"""
    data = entry.contents() or b""
    return any(quote + dotted.encode() + quote in data for quote in (b'"', b"'")) and any(name.encode() in data for name in names)


def _attribute_path(imported, current: ProjectFile) -> Optional[str]:
    """How the importing file spells `current` through a package above it that an import binds
    (`pk.model` after `pk = importlib.import_module("pkg")`, `pkg.model` after `import pkg.other`),
    else None. The package's `__init__` (or another import) makes the submodule its attribute."""
    if imported.member == STAR:
        return None
    local, module = imported.local, imported.dotted
    if local is None:  # `import pkg.other` binds `pkg`
        local = module = module.partition(".")[0]
    for name in (current.name, *other_names(current.root, current.name)):
        if name.startswith(module + "."):
            return local + name[len(module):]
    return None


def _reads_module(entry: ProjectFile, dotted: str, names: set) -> bool:
    """Does `entry` read `dotted.X` for an X of `names`, or the module `dotted` whole (`mod =
    pkg.model`, then `mod.Net()`) while its bytes spell one of them?"""
    if _reads_attribute(entry, dotted, names):
        return True
    base, _, last = dotted.rpartition(".")
    data = entry.contents() or b""
    return bool(base) and (base, last) in entry.name_attributes() and any(name.encode() in data for name in names)


def _reads_attribute(entry: ProjectFile, module: str, names: set) -> bool:
    """Does `entry` read `module.X` for an X of `names`?"""
    return any((module, name) in entry.name_attributes() for name in names)


def _torch_names_from(entry: ProjectFile, imported) -> dict:
    """What the names `entry` reaches through one import of a file of the project stand for there,
    given or not: {the name as `entry` writes it: (the torch path, the file shown)}. `from util
    import nn` of util's `nn = torch.nn` gives {"nn": ...}; `from util import *` every such name of
    util; `import util` gives {"util.nn": ...}. Only for a file that mentions a GRU (it may construct
    one through the name), and a module that mentions torch."""
    if GRU_NEEDLE not in (entry.contents() or b""):
        return {}
    place = imported.file.path if imported.file is not None else file_on_disk(entry, imported.dotted)
    if imported.file is not None:
        bound = imported.file.torch_names()
    else:
        try:
            data = place.read_bytes() if place is not None else None
            tree = ast.parse(data) if data is not None and b"torch" in data else None
        except (OSError, SyntaxError, ValueError, MemoryError, RecursionError):
            return {}
        bound = {} if tree is None else torch_names_bound(tree)
    shown = None if not bound else shown_path(place.resolve())
    if imported.member == STAR:
        return {name: (path, shown) for name, path in bound.items() if not name.startswith("_")}
    if imported.member is None:
        module = imported.local if imported.local is not None else imported.dotted  # `import a.b`: reached as `a.b`
        return {f"{module}.{name}": (path, shown) for name, path in bound.items()}
    return {imported.local: (bound[imported.member], shown)} if imported.member in bound else {}


def file_on_disk(entry: ProjectFile, dotted: str) -> Optional[Path]:
    """The file an import would load from beside `entry` when it is not among the given paths."""
    parts = dotted.split(".")  # relative imports are already absolute from the sys.path folder
    for cut in range(len(parts), 0, -1):
        candidate = entry.root.joinpath(*parts[:cut])
        for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
            if path.is_file():
                return path
    return None


def block_group(outcome, blockers: list, what: str, verb: str) -> None:
    """Leave a group unwritten because of files outside it (`blockers`, as shown): each changed
    file that no finding blocks yet says so (G2L105: "not migrated: a.py <verb> <what>", the verb
    in the singular, made plural for several files)."""
    plural = verb[:-1] if len(blockers) > 1 and verb.endswith("s") else verb
    for result in outcome.results:
        if result.status != "changed" or result.migration is None:
            continue
        if not result.migration.blocked:
            result.migration.findings.insert(0, new_finding("G2L105", f"not migrated: {', '.join(blockers)} {plural} {what}"))
        result.status, result.diff, result.group = "needs_attention", "", ()
        result.migration.changed = False  # as for any file a person must see first: nothing to write
        result.written = False  # a source from stdin is "written" on stdout: the source as it came
    outcome.writes = []


def shown_path(path: Path) -> str:
    """A path as a finding shows it: relative to the working folder when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
