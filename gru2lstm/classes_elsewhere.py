"""A GRU class held by a file of the project that was not given, made into a module in a given file.

`layers.py` binds `Recurrent = nn.GRU`; `model.py` does `from layers import *` and `Recurrent(4,
8)`. Given model.py alone (as a pre-commit hook gives the staged files), nothing in it spells GRU:
no group holds it, and it would be "unchanged" while its module stays a GRU. The project is the
unit, so the given file gets one finding (G2L101) at the call that makes the module, naming the
file and line that bind the class, and is not written. Given both, project.py groups them and the
engine reports the class where it is bound.

Looked at only when files are given one by one (as a hook or an editor gives them), for the given
files left unchanged: their imports are resolved as for grouping (universe.py), and a module they
import that was not given is read from disk beside them (project.file_on_disk), its bytes searched
before any parse (prefilter's may_name_gru_class). The project is not walked.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from gru2lstm.findings import Finding, new_finding
from gru2lstm.imports import STAR, Folders, imported_names, module_name, module_statements
from gru2lstm.prefilter import gru_class_names, may_name_gru_class, registry_read
from gru2lstm.project import Project, file_on_disk, shown_path
from gru2lstm.tree_nodes import nodes_of


@dataclass(frozen=True)
class ClassHolder:
    """A file not given that binds names to the GRU class, with the statement of each."""

    path: Path
    bindings: dict  # name -> (line, the statement's first line of code)
    # name -> the ClassHolder it is taken from (`from .layers import Recurrent` in pkg/__init__.py)
    reexported: dict = field(default_factory=dict)

    def origin(self, name: str) -> tuple:
        """(the holder that binds `name` to the GRU class itself, the name there)."""
        if name in self.reexported:
            holder, original = self.reexported[name]
            return holder.origin(original)
        return self, name


def made_from_classes_elsewhere(project: Project, loose: list, paths: list) -> dict:
    """The finding of each given file of `loose` (indexes into the project's files) that makes a
    module from a name a file not given binds to the GRU class: {index: Finding}. `paths`: as given."""
    # files given one by one (a pre-commit hook, an editor): a folder given is taken as the unit its
    # owner chose, and resolving the imports of every file in it would cost more than the run
    if not any(os.path.isfile(path) for path in paths):
        return {}
    holders: dict = {}  # Path -> ClassHolder or None, each file looked at once
    found = {}
    for index in loose:
        entry = project.universe.files[index]
        for imported in project.universe.imports(entry):
            place = file_on_disk(entry, imported.dotted) if imported.file is None else None
            if place is None:
                continue
            holder = _holder(place, holders)
            local = _local_names(imported, holder) if holder is not None else {}
            finding = _made_here(entry.module_tree(), holder, local) if local else None
            if finding is not None:
                found[index] = finding
                break
    return found


def _holder(path: Path, holders: dict) -> Optional[ClassHolder]:
    """The file at `path` as a ClassHolder when it binds a module-level name to the GRU class, itself
    or by importing it from a file that does (`from .layers import Recurrent` in a package's
    `__init__`, followed as far as it goes). `holders`: Path -> ClassHolder or None, each file
    looked at once (a file being looked at is None, which ends an import cycle)."""
    if path in holders:
        return holders[path]
    holders[path] = None
    try:
        data = path.read_bytes()
        tree = ast.parse(data)
    except (OSError, SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    names = gru_class_names(tree) if may_name_gru_class(data) else set()
    reexported = {}
    for statement in module_statements(tree):
        source = _imported_file(path, statement) if isinstance(statement, ast.ImportFrom) else None
        other = _holder(source, holders) if source is not None else None
        for imported in imported_names(statement) if other is not None else ():
            if imported.member == STAR:
                reexported.update((name, (other, name)) for name in other.bindings if not name.startswith("_"))
            elif imported.member in other.bindings:
                reexported[imported.local] = (other, imported.member)
    if not names and not reexported:
        return None
    bindings = _bindings(tree, data, names | set(reexported))
    holders[path] = ClassHolder(path, bindings, reexported)
    return holders[path]


def _imported_file(path: Path, statement: ast.ImportFrom) -> Optional[Path]:
    """The file of the project `from X import ...` in the file at `path` loads (X relative or not),
    found on disk from the folder its package chain starts in."""
    root, name, is_init = module_name(path, Folders())
    package = name.split(".") if is_init else name.split(".")[:-1]
    if statement.level:
        if statement.level - 1 > len(package):
            return None
        package = package[: len(package) - (statement.level - 1)]
    else:
        package = []
    parts = package + (statement.module.split(".") if statement.module else [])
    candidate = root.joinpath(*parts) if parts else None
    for place in (candidate.with_suffix(".py"), candidate / "__init__.py") if candidate is not None else ():
        if place.is_file() and place != path:
            return place
    return None


def _local_names(imported, holder: ClassHolder) -> dict:
    """The names an import (universe.ResolvedImport) binds in the importer to names the holder binds
    to the GRU class, each with the holder's name: {"R": "Recurrent"} of `from layers import Recurrent
    as R`, every one of them for `from layers import *`, {"layers.Recurrent": ...} for `import layers`."""
    if imported.member == STAR:
        return {name: name for name in holder.bindings}
    if imported.member is None:
        module = imported.local or imported.dotted
        return {f"{module}.{name}": name for name in holder.bindings}
    return {imported.local: imported.member} if imported.member in holder.bindings else {}


def _bindings(tree: ast.Module, data: bytes, names: set) -> dict:
    """Where each of `names` is bound at module level: name -> (line, that line's code)."""
    lines = data.decode("utf-8", "replace").splitlines()
    found = {}
    for statement in module_statements(tree):
        for node in ast.walk(statement):
            bound = node.id if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) else getattr(node, "asname", None) or getattr(node, "name", None)
            if isinstance(bound, str) and bound in names and bound not in found:
                found[bound] = (statement.lineno, lines[statement.lineno - 1].strip())
    return {name: found.get(name, (1, "")) for name in names}


def _made_here(tree: Optional[ast.Module], holder: ClassHolder, local: dict) -> Optional[Finding]:
    """The finding at the first call of the importer's code that makes a module from a name of
    `local` (`Recurrent(4, 8)`, `R(4, 8)`, `layers.Recurrent(4, 8)`), else None."""
    for call in nodes_of(tree).of(ast.Call) if tree is not None else ():
        name = local.get(ast.unparse(registry_read(call.func)))
        if name is None:
            continue
        origin, name = holder.origin(name)
        line, code = origin.bindings[name]
        shown = shown_path(origin.path.resolve())
        message = (
            f"`{ast.unparse(call)}` makes a module from `{name}`, which {shown}:{line} binds to the GRU class (`{code}`) in a file "
            f"that was not given, so the engine cannot see that this module is a GRU and would leave it one; give {shown} too (or the project folder)"
        )
        return new_finding("G2L101", message, call.lineno, call.col_offset + 1)
    return None
