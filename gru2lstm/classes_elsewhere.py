"""A GRU class held by a file of the project that was not given, made into a module in a given file.

`layers.py` binds `Recurrent = nn.GRU`; `model.py` does `from layers import *` and `Recurrent(4,
8)`. Given model.py alone (as a pre-commit hook gives the staged files), nothing in it spells GRU:
no group holds it, and it would be "unchanged" while its module stays a GRU. The project is the
unit, so the given file gets one finding (G2L101) at the call that makes the module, naming the
file and line that bind the class, and is not written. Given both, project.py groups them and the
engine reports the class where it is bound.

Only when files are given one by one (as a hook or an editor gives them), and only for given files
left unchanged; the project's files that were not given (CallersElsewhere.others) are read then,
their bytes searched before any parse (prefilter's may_name_gru_class).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from gru2lstm.findings import Finding, new_finding
from gru2lstm.imports import module_statements
from gru2lstm.prefilter import gru_class_names, may_name_gru_class, registry_read
from gru2lstm.project import CallersElsewhere, shown_path
from gru2lstm.tree_nodes import nodes_of


@dataclass(frozen=True)
class ClassHolder:
    """A file not given that binds names to the GRU class, with the statement of each."""

    path: Path
    bindings: dict  # name -> (line, the statement's first line of code)


def made_from_classes_elsewhere(elsewhere: CallersElsewhere, loose: dict) -> dict:
    """The finding of each given file no group holds that makes a module from a name a file not
    given binds to the GRU class: {str(path): Finding}. `loose`: str(path) -> its bytes."""
    # files given one by one (a pre-commit hook, an editor): a folder given is taken as the unit its
    # owner chose, and walking the project above it for holders would cost more than the run
    if not loose or not any(os.path.isfile(path) for path in elsewhere.paths):
        return {}
    found = {}
    for holder in _holders(elsewhere):
        importers = elsewhere.importers([holder.path], {str(holder.path): set(holder.bindings)}, [Path(path) for path in loose])
        for importer in importers.get(str(holder.path), ()):
            if str(importer) not in found:
                finding = _made_here(loose[str(importer)], holder)
                if finding is not None:
                    found[str(importer)] = finding
    return found


def _holders(elsewhere: CallersElsewhere) -> list:
    """The files of the project that were not given and bind a module-level name to the GRU class."""
    holders = []
    for path in elsewhere.others():
        data = elsewhere.contents(path)
        tree = elsewhere.tree(path) if may_name_gru_class(data) else None
        names = gru_class_names(tree) if tree is not None else set()
        if names:
            holders.append(ClassHolder(path, _bindings(tree, data, names)))
    return holders


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


def _made_here(data: bytes, holder: ClassHolder) -> Optional[Finding]:
    """The finding at the first call of `data`'s code that makes a module from a name the holder
    binds to the GRU class (`Recurrent(4, 8)`, `layers.Recurrent(4, 8)`, `R(4, 8)` after `from layers
    import Recurrent as R`), else None."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    local = {name: name for name in holder.bindings}
    for node in nodes_of(tree).of(ast.ImportFrom):
        local.update((alias.asname, alias.name) for alias in node.names if alias.name in holder.bindings and alias.asname)
    for call in nodes_of(tree).of(ast.Call):
        func = registry_read(call.func)
        name = local.get(func.id) if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) and func.attr in holder.bindings else None
        if name is None:
            continue
        line, code = holder.bindings[name]
        shown = shown_path(holder.path.resolve())
        message = (
            f"`{ast.unparse(call)}` makes a module from `{name}`, which {shown}:{line} binds to the GRU class (`{code}`) in a file "
            f"that was not given, so the engine cannot see that this module is a GRU and would leave it one; give {shown} too (or the project folder)"
        )
        return new_finding("G2L101", message, call.lineno, call.col_offset + 1)
    return None
