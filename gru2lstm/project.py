"""Which of the given files are migrated together, and what their imports name.

A hidden state crosses files: the model in one, its rollout storage in a second, the training
loop in a third. Files given together (a folder, or several paths) are therefore migrated as
one *group* when they import each other, so the flow analysis sees every place the state lives.

A group starts from each file that constructs a torch GRU (the prefilter's answer) and takes in,
with the stdlib `ast` only (cheap, in the parent process):

- upwards, every given file that imports a class or function from a file of the group, again
  and again (the agent that builds the policy, the training script that builds the agent): the
  group's *core*;
- downwards, every given file from which a file of the core imports a class or function (the
  rollout storage the agent fills), one step: what only those import is not state-bearing
  code of the group's, and following it would pull in whole libraries. These *near* files are
  analysed only when the core alone cannot be migrated (a state that flows into one of them is
  reported until it is), which keeps big imported helpers out of LibCST in the common case.

Groups that share a file are one group. Each file migrated gets an import table: for every name
its module-level imports bind, the file and member it names among the files migrated with it, or
the other file it would load, given or not (reported when a hidden state flows there).

The project's files that were *not* given are looked at too, but only when a group changes the
contract of a function (a parameter or return that becomes (h, c)): `CallersElsewhere` finds the
ones that import it and leaves the group unwritten, since they would still call it the GRU way.
What an import statement binds, and the dotted names each file is imported by, are imports.py's;
this module matches the two to say which given file an import loads.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional

from gru2lstm.config import import_root
from gru2lstm.discovery import DEFAULT_EXCLUDE, Selection, UsageError, discover
from gru2lstm.findings import new_finding
from gru2lstm.imports import (
    STAR,
    Folders,
    ImportedName,
    ModuleFinder,
    import_statements,
    imported_names,
    module_name,
    other_names,
    search_folders,
)
from gru2lstm.spellings import Spellings

__all__ = ["CallersElsewhere", "Group", "Member", "ModuleSource", "Project", "importers_elsewhere"]


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
    # The bytes the prefilter read, so that the engine does not read the file again (and migrates
    # what was screened); None: not read yet.
    data: Optional[bytes] = field(default=None, repr=False, compare=False)


@dataclass
class _File:
    path: Path
    key: str
    root: Path
    name: str
    is_init: bool
    data: Optional[bytes] = None
    tree: Optional[ast.Module] = None
    parsed: bool = False
    definitions: Optional[set] = None  # classes and functions defined at module level
    attributes_read: Optional[set] = None  # (X, attr) for every `X.attr` read, X a plain name
    resolved: Optional[list] = None  # what its imports load (_Universe.imports)

    def contents(self) -> Optional[bytes]:
        """The file's bytes, read once (None when it cannot be read)."""
        if self.data is None:
            try:
                self.data = self.path.read_bytes()
            except OSError:
                return None
        return self.data

    def module_tree(self) -> Optional[ast.Module]:
        """The file's `ast` tree, parsed once (None when it cannot be read or parsed)."""
        if not self.parsed:
            self.parsed = True
            data = self.contents()
            try:
                self.tree = None if data is None else ast.parse(data)
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                self.tree = None
        return self.tree

    def functions_and_classes(self) -> set:
        if self.definitions is None:
            tree = self.module_tree()
            self.definitions = {
                node.name
                for node in (tree.body if tree is not None else ())
                if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            }
        return self.definitions

    def name_attributes(self) -> set:
        """(X, attr) for each `X.attr` in the file: one walk, however many modules are asked about."""
        if self.attributes_read is None:
            tree = self.module_tree()
            self.attributes_read = {
                (node.value.id, node.attr)
                for node in (ast.walk(tree) if tree is not None else ())
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            }
        return self.attributes_read

    @property
    def package(self) -> str:
        """The package a relative import of this file starts from."""
        return self.name if self.is_init else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class _ResolvedImport:
    """A name an import binds, and the given file it loads."""

    local: Optional[str]  # None: `import a.b` (it binds a package root) or a star import
    file: Optional[_File]  # the given file the import loads, if any
    member: Optional[str]  # the name taken from that file (STAR for all); None: the file itself
    dotted: str  # the module path imported, absolute from the sys.path folder


class _Universe:
    """The given files, by dotted name, and how an import of one file resolves."""

    def __init__(self, paths: list, data: dict, trees: dict) -> None:
        self.files: list = []
        self.spellings: Optional[Spellings] = None  # set by Project.groups when many seeds are grouped
        self.by_name: dict = {}
        self.by_key: dict = {}
        self.by_path: dict = {}  # str of the resolved path -> _File
        self.search: dict = {}  # key -> the folders on sys.path when that file runs (imports.search_folders)
        self.finder = ModuleFinder()
        searched: dict = {}  # sys.path folder -> search_folders of its files
        folders = Folders()
        for index, path in enumerate(paths):
            root, name, is_init = module_name(path, folders)
            entry = _File(path, str(path), root, name, is_init, data.get(index), trees.get(index), index in trees)
            self.files.append(entry)
            resolved = folders.resolve(path)
            self.by_path[str(resolved)] = entry
            if path.is_symlink():  # PathFinder names it by its folder, not by where the link points
                self.by_path[str(path.parent.resolve() / path.name)] = entry
            if root not in searched:
                searched[root] = search_folders(root)
            self.search[entry.key] = searched[root]
            for spelled in (name, *other_names(root, name)):
                self.by_name.setdefault(spelled, []).append(entry)
            self.by_key[entry.key] = entry

    def lookup(self, name: str, importer: _File) -> Optional[_File]:
        """The given file that `import name` loads from `importer`: the file PathFinder finds (None
        when that file was not given), else the given file of that name, same sys.path folder first."""
        loaded = self.finder.file(name, self.search[importer.key])
        if loaded is not None:
            return self.by_path.get(loaded)
        found = self.by_name.get(name, [])
        same_root = [f for f in found if f.root == importer.root]
        if len(same_root) == 1:
            return same_root[0]
        return found[0] if len(found) == 1 else None

    def imports(self, entry: _File) -> list:
        """A _ResolvedImport per name an import of the file binds (imports.import_statements)."""
        if entry.resolved is None:
            entry.resolved = self._resolve(entry)
        return entry.resolved

    def _resolve(self, entry: _File) -> list:
        tree = entry.module_tree()
        if tree is None:
            return []
        found = []
        for statement in import_statements(tree):
            for imported in imported_names(statement):
                resolved = self._resolve_name(imported, entry)
                if resolved is not None:
                    found.append(resolved)
        return found

    def _resolve_name(self, imported: ImportedName, entry: _File) -> Optional["_ResolvedImport"]:
        """One entry of `imports`, or None for a relative import that leaves the packages."""
        if imported.member is None:  # `import a.b` binds the package root, which may be another file
            local = None if imported.package_root else imported.local
            return _ResolvedImport(local, self.lookup(imported.module, entry), None, imported.module)
        base = self._from_base(imported, entry)
        if base is None:
            return None
        module = self.lookup(base, entry) if base else None
        if imported.member == STAR:
            return _ResolvedImport(None, module, STAR, base)
        submodule = self.lookup(f"{base}.{imported.member}" if base else imported.member, entry)
        if submodule is not None:
            return _ResolvedImport(imported.local, submodule, None, f"{base}.{imported.member}")
        return _ResolvedImport(imported.local, module, imported.member, f"{base}.{imported.member}" if base else imported.member)

    def _from_base(self, imported: ImportedName, entry: _File) -> Optional[str]:
        if imported.level == 0:
            return imported.module
        package = entry.package.split(".") if entry.package else []
        if imported.level - 1 > len(package):
            return None
        base = package[: len(package) - (imported.level - 1)]
        if imported.module:
            base.append(imported.module)
        return ".".join(base)


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
        self.universe = _Universe(list(paths), data or {}, trees or {})

    def groups(self, seeds: Iterable[int]) -> list:
        """Groups (in order of their first file) such that every seed is in the core of exactly
        one. `seeds` are the indexes of files that construct a torch GRU. Groups that would share
        a file are one group."""
        universe = self.universe
        seeds = list(seeds)
        if len(seeds) >= MANY_SEEDS:  # each closure would search every file: scan each once instead
            universe.spellings = Spellings(universe.files, {entry.name.rpartition(".")[2].encode() for entry in universe.files})
        index_of = {entry.key: position for position, entry in enumerate(universe.files)}
        owner: dict = {}  # file key -> group id
        groups: dict = {}  # group id -> (core keys, near keys)
        for seed in seeds:
            if universe.files[seed].key in owner:
                continue
            core, near = _closure(universe, universe.files[seed])
            for gid in {owner[k] for k in core | near if k in owner}:
                other_core, other_near = groups.pop(gid)
                core, near = core | other_core, near | other_near
            groups[seed] = (core, near - core)
            for key in core | near:
                owner[key] = seed
        found = [
            Group(sorted(index_of[k] for k in core), sorted(index_of[k] for k in near)) for core, near in groups.values()
        ]
        return sorted(found, key=lambda group: min(group.core + group.near))

    def import_tables(self, indexes: list) -> list:
        """A ModuleSource per file of `indexes`: a name bound to a file among them is a Member;
        one bound to any other file (given or on disk beside it) is outside."""
        members = {self.universe.files[i].key for i in indexes}
        sources = []
        for index in indexes:
            entry = self.universe.files[index]
            imports, outside = {}, {}
            for imported in self.universe.imports(entry):
                target = imported.file
                if imported.member == STAR and target is not None and target.key in members:
                    for name in target.functions_and_classes():  # `from layers import *`
                        imports.setdefault(name, Member(target.key, name))
                    continue
                if imported.local is None:
                    continue
                if target is not None and target.key in members:
                    imports[imported.local] = Member(target.key, imported.member)
                    continue
                place = target.path.resolve() if target is not None else _on_disk(entry, imported.dotted)
                if place is not None:
                    outside[imported.local] = _shown(place)
            sources.append(ModuleSource(entry.key, imports, outside, entry.data))
        return sources


def importers_elsewhere(files: list, changed: dict, others: list, data: Optional[dict] = None) -> dict:
    """The files among `others` (the project's files that were not given) that import a changed
    class or function of the group's `files` (directly, or re-exported by a file of the group).

    `changed`: str(path) of a group file -> the names whose contract changes there. Returns
    str(path) -> [each importer, as shown to the user]. Such a file would still call them the GRU way.
    `data`: the bytes of `files` already read, by index.
    """
    universe = _Universe(list(files) + list(others), data or {}, {})
    group = {entry.key for entry in universe.files[: len(files)]}
    found = {}
    for key, names in changed.items():
        importers, frontier, seen = set(), [(universe.by_key[key], frozenset(_with_holders(universe.by_key[key], set(names))))], set()
        while frontier:
            current, wanted = frontier.pop()
            if (current.key, wanted) in seen:
                continue
            seen.add((current.key, wanted))
            for entry, reached in _importers(universe, current, wanted):
                if entry.key not in group:
                    importers.add(entry.path)
                elif reached:  # `from .model import Policy` in a package's __init__: its importers count too
                    frontier.append((entry, frozenset(_with_holders(entry, reached))))
        if importers:
            found[key] = sorted(_shown(path) for path in importers)
    return found


class CallersElsewhere:
    """The project's files that were not given, and which of them import a function whose
    contract a group changes (a parameter or return that becomes (h, c)). Walked once, and only
    when a group changes one: most runs never pay for it."""

    def __init__(self, paths: list, files: list, selection: Selection) -> None:
        self.paths = paths
        self.files = files
        self.selection = selection
        self._others: Optional[list] = None

    def others(self) -> list:
        if self._others is None:
            root = str(import_root(self.paths))
            given = {path.resolve() for path in self.files}
            try:
                found = discover([root], self.selection)
            except UsageError:  # a .gitignore pathspec cannot read: walk without ignore files, not less
                found = discover([root], replace(self.selection, exclude=DEFAULT_EXCLUDE))
            self._others = [entry.path for entry in found if entry.problem is None and entry.path.resolve() not in given]
        return self._others

    def refuse(self, outcome, modules: list) -> None:
        """Leave the group unwritten, with a finding, when a file not given calls what it changes.
        `outcome`: the group's engine.GroupOutcome; `modules`: its ModuleSources, in the order of its
        results (their bytes are reused)."""
        changed = {
            result.path: {change.function.partition(".")[0] for change in result.migration.interface}
            for result in outcome.results
            if result.status == "changed" and result.migration is not None and result.migration.interface
        }
        if not changed or not self.others():
            return
        data = {index: module.data for index, module in enumerate(modules) if module.data is not None}
        importers = importers_elsewhere([Path(result.path) for result in outcome.results], changed, self.others(), data)
        for result in outcome.results:
            outside = importers.get(result.path)
            if not outside:
                continue
            change = min(result.migration.interface, key=lambda c: c.function.rpartition(".")[2].startswith("_"))  # a public one first
            names = ", ".join(outside[:3]) + (" and others" if len(outside) > 3 else "")
            result.migration.findings.append(new_finding(
                "G2L101",
                f"`{change.function}()` now takes or returns (h, c) ({change.carriers}), and {names} "
                "imports it without being given, so its calls would still pass and take one tensor; "
                "give that file too (or the project folder)",
                change.line, change.column,
            ))
        if not importers:
            return
        blocked = ", ".join(importers)
        for result in outcome.results:
            if result.status != "changed":
                continue
            if not result.migration.blocked:
                result.migration.findings.insert(0, new_finding(
                    "G2L105", f"not migrated: {blocked} shares hidden states with a file that was not given"
                ))
            result.status, result.diff, result.group = "needs_attention", "", ()
            result.migration.changed = False  # as for any file a person must see first: nothing to write
        outcome.writes = []


def _closure(universe: _Universe, seed: _File) -> tuple:
    """(the seed and the files that import what leads to it, transitively; the files those import
    classes or functions from, one step down)."""
    # relevant[key]: the names of that file through which code reaches the seed's classes and
    # functions: its own classes and functions, and what it re-exports of the group's.
    relevant = {seed.key: _with_holders(seed, seed.functions_and_classes())}
    frontier = [seed]
    while frontier:
        current = frontier.pop()
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
            definitions = target.functions_and_classes()
            if imported.member == STAR or imported.member in definitions or (
                imported.member is None and imported.local is not None and _reads_attribute(entry, imported.local, definitions)
            ):
                near.add(target.key)
    return core, near


def _importers(universe: _Universe, current: _File, names):
    """(file, the names it binds to `names` of `current`) for each file that imports one of them.
    Cheap first: an importer spells the module's last name and one of the names it uses."""
    word = current.name.rpartition(".")[2].encode()
    needles = [name.encode() for name in names]
    for entry in universe.files:
        if entry is current:
            continue
        data = entry.contents() or b""
        spelled = universe.spellings.spells(entry, word) if universe.spellings is not None else word in data
        if not spelled or not any(needle in data for needle in needles):
            continue
        reached = _names_used_from(universe, entry, current, set(names))
        if reached is not None:
            yield entry, reached


def _with_holders(entry: _File, names: set) -> set:
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


def _names_used_from(universe: _Universe, entry: _File, current: _File, names: set) -> Optional[set]:
    """The names `entry` binds to `names` of `current` (re-exports), or None when it uses none."""
    bound, uses = set(), False
    for imported in universe.imports(entry):
        if imported.file is not current:
            continue
        if imported.member == STAR:
            return set(names)
        if imported.member in names:
            bound.add(imported.local)
            uses = True
        elif imported.member is None and imported.local is not None and _reads_attribute(entry, imported.local, names):
            uses = True
    return bound if uses else None


def _reads_attribute(entry: _File, module: str, names: set) -> bool:
    """Does `entry` read `module.X` for an X of `names`?"""
    return any((module, name) in entry.name_attributes() for name in names)


def _on_disk(entry: _File, dotted: str) -> Optional[Path]:
    """The file an import would load from beside `entry` when it is not among the given paths."""
    parts = dotted.split(".")  # relative imports are already absolute from the sys.path folder
    for cut in range(len(parts), 0, -1):
        candidate = entry.root.joinpath(*parts[:cut])
        for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
            if path.is_file():
                return path
    return None


def _shown(path: Path) -> str:
    """A path as a finding shows it: relative to the working folder when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
