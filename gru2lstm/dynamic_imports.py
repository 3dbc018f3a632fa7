"""Imports by a name computed at run time, which may load a file whose contract the migration changes.

`importlib.import_module(f"models.{cfg['model']}")` or `__import__(name)` loads a module that no
import statement names, so the engine cannot tie the file that does it to the group it may load,
nor follow the calls made through what it takes from it (`module.Net(...)`): those would still
pass and take one tensor. (A literal name is an import like any other: imports.py reads it.)

A file of the project that imports this way blocks a group whose functions change their contract
(or whose members hold or size the state) when the name can be one of the group's files: its
literal start (`"models."` of the f-string or of `"models." + name`) begins one of the dotted
names that load the file. A name with no literal start could be any module; such an import
counts only in a file that spells one of the changed classes or functions (`module.Policy(...)`),
or when the project names one of them by a string for a loader to build (a config file's
`_target_: pkg.models.Policy`, a Python string `"pkg.models.Policy"`: Hydra's `instantiate`),
so that a plugin loader that never touches the model does not block every migration of its
project. As for readers.py, only files below the folders the group's files are imported from
are looked at (not another project in the same repository).
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from gru2lstm.findings import new_finding
from gru2lstm.imports import Folders, below, import_call, import_function_names, module_name, other_names, program_folder
from gru2lstm.project import block_group, changing_results
from gru2lstm.vocab import CONFIG_SUFFIXES, IMPORT_BUILTIN, IMPORT_MODULE

__all__ = ["DynamicImport", "DynamicImports", "dynamic_imports"]

_NEEDLES = (IMPORT_MODULE.encode(), IMPORT_BUILTIN.encode())
_CONFIG_BYTES = 1 << 20  # a config file is small; a larger .json is data, not read for names


@dataclass(frozen=True)
class DynamicImport:
    """One import by a computed name: where, as written, and the literal start of the name."""

    line: int
    column: int
    code: str
    prefix: str  # "" when the name has no literal start


def dynamic_imports(source: str) -> list:
    """The imports by a computed name in a file's source, in order."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    found = []
    importers = import_function_names(tree, source.encode("utf-8", "replace"))  # `load = importlib.import_module`
    for node in ast.walk(tree):
        parts = import_call(node, importers) if isinstance(node, ast.Call) else None
        if parts is None:
            continue
        _, name, package, _ = parts
        if isinstance(name, ast.Constant):
            continue  # a literal: an import like any other
        prefix = _literal_start(name) if name is not None else ""
        if prefix.startswith("."):  # relative: to a literal package, else to one not known here
            known = isinstance(package, ast.Constant) and isinstance(package.value, str)
            prefix = package.value + prefix if known else ""
        found.append(DynamicImport(node.lineno, node.col_offset + 1, ast.get_source_segment(source, node) or IMPORT_MODULE, prefix))
    return sorted(found, key=lambda site: (site.line, site.column))


def _literal_start(name: ast.expr) -> str:
    """The constant text a computed module name starts with: `f"models.{x}"`, `"models." + x`."""
    if isinstance(name, ast.JoinedStr) and name.values and isinstance(name.values[0], ast.Constant):
        return str(name.values[0].value)
    if isinstance(name, ast.BinOp) and isinstance(name.op, ast.Add):
        left = name.left
        return left.value if isinstance(left, ast.Constant) and isinstance(left.value, str) else _literal_start(left)
    return ""


class DynamicImports:
    """The project's files that import by a computed name, each read and parsed at most once per
    run, and only when its bytes spell such an import."""

    def __init__(self) -> None:
        self._sites: dict = {}  # Path -> [DynamicImport]
        self._data: dict = {}  # Path -> bytes
        self._folders = Folders()  # each folder resolved once for the run

    def refuse(self, outcome, modules: list, files: Callable, shown: Callable) -> None:
        """Leave the group unwritten, with a finding at what it changes, when one of `files()` (the
        project's, given or not; asked only for a group that changes a contract) imports by a name
        that can load one of its changed files. `outcome`: the group's engine.GroupOutcome;
        `modules`: its ModuleSources, whose bytes are reused; `shown(path)`: a path as a finding
        shows it."""
        changed = [result for result in changing_results(outcome) if result.migration.interface or result.migration.members]
        if not changed:
            return
        self._data.update((Path(module.key), module.data) for module in modules if module.data is not None and Path(module.key) not in self._data)
        names = _changed_names(changed)
        scope = program_folder([Path(result.path) for result in outcome.results], self._folders)
        blockers = []
        named = None  # (file, name): where the project names a changed class by a string; looked for once
        for path in files():
            if not below(self._folders.resolve(path), scope):
                continue
            for site in self._sites_in(path):
                if not site.prefix and not self._spells(path, names) and named is None:
                    named = self._named_by_string(scope, changed, files) or ()
                loaded = [
                    result for result in changed
                    if _may_load(site.prefix, Path(result.path), self._folders) and (site.prefix or self._spells(path, names) or named)
                ]
                for result in loaded:
                    reason = None if site.prefix or self._spells(path, names) else (shown(named[0]), named[1])
                    result.migration.findings.append(_finding(result.migration, site, shown(path), reason))
                if loaded:
                    blockers.append(shown(path))
        if blockers:
            block_group(outcome, sorted(set(blockers)), "by a computed name a module that may be this group's", "imports")

    def _sites_in(self, path: Path) -> list:
        if path not in self._sites:
            data = self._bytes(path)
            hit = any(needle in data for needle in _NEEDLES)
            self._sites[path] = dynamic_imports(data.decode("utf-8", "replace")) if hit else []
        return self._sites[path]

    def _named_by_string(self, scope: Path, changed: list, files: Callable) -> Optional[tuple]:
        """(file, name) of the first config file below `scope`, or Python string of `files()`, that
        names a changed class or function by its dotted path (`pkg.models.Policy`,
        `pkg.models:Policy`), or a changed class by its name alone (gin's `@Policy`, in a config)."""
        classes, functions = _changed_names(changed, classes=True), _changed_names(changed, classes=False)
        either = "|".join(map(re.escape, sorted(classes | functions)))
        dotted = re.compile(r"(?:[\w.]+[.:])(" + either + r")")
        in_text = [re.compile(dotted.pattern + r"(?![\w])")]
        if classes:
            in_text.append(re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, sorted(classes))) + r")(?![\w])"))
        for folder, subfolders, filenames in os.walk(scope):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for filename in sorted(filenames):
                path = Path(folder, filename)
                if path.suffix not in CONFIG_SUFFIXES or not path.is_file() or path.stat().st_size > _CONFIG_BYTES:
                    continue
                text = self._bytes(path).decode("utf-8", "replace")
                found = next((match for pattern in in_text for match in [pattern.search(text)] if match), None)
                if found:
                    return path, found.group(1)
        for path in files():
            if not below(self._folders.resolve(path), scope) or not self._spells(path, classes | functions):
                continue
            try:
                tree = ast.parse(self._bytes(path))
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                continue
            for node in ast.walk(tree):
                found = dotted.fullmatch(node.value) if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
                if found:
                    return path, found.group(1)
        return None

    def _spells(self, path: Path, names: set) -> bool:
        data = self._bytes(path)
        return any(name.encode() in data for name in names)

    def _bytes(self, path: Path) -> bytes:
        if path not in self._data:
            try:
                self._data[path] = path.read_bytes()
            except OSError:
                self._data[path] = b""
        return self._data[path]


def _changed_names(changed: list, classes: Optional[bool] = None) -> set:
    """The classes and functions whose contract changes (`classes`: only the classes, True, or
    only the functions, False)."""
    names = set()
    for result in changed:
        for change in result.migration.interface:
            owner, _, function = change.function.rpartition(".")
            if classes is None or classes == bool(owner):
                names.add(owner or function)
    return names


def _may_load(prefix: str, path: Path, folders: Folders) -> bool:
    """Can a name starting with `prefix` load `path`?"""
    root, name, _ = module_name(path, folders)
    return any(dotted.startswith(prefix) for dotted in [name, *other_names(root, name)])


def _finding(migration, site: DynamicImport, shown: str, named: Optional[tuple] = None):
    """The G2L101 at the first public interface change (else the first changed member). `named`:
    (file, class) where the project names the class by a string, when that is why the import counts."""
    if migration.interface:
        change = min(migration.interface, key=lambda c: c.function.rpartition(".")[2].startswith("_"))
        what, line, column = f"`{change.function}()` now takes or returns (h, c) ({change.carriers})", change.line, change.column
    else:
        member = migration.members[0]
        what, line, column = f"`{member.name}` changes with the hidden state", member.line, member.column
    return new_finding(
        "G2L101",
        f"{what}, and {shown} imports a module by a name computed at run time at line {site.line} (`{site.code}`), "
        f"which may load this file{'' if named is None else f' ({named[0]} names `{named[1]}` for it to build)'}; what it takes from that module cannot be followed, so its calls would still pass "
        "and take one tensor; import the module by its name there, or migrate those calls by hand",
        line, column,
    )
