"""Cheap checks that skip files which cannot hold a torch.nn GRU, before LibCST is paid for.

1. A byte search: a file without the bytes ``GRU`` cannot construct or mention ``nn.GRU`` /
   ``nn.GRUCell`` (most files stop here); nor can one where ``GRU`` / ``GRUCell`` is never followed
   by a call's ``(`` or an import's ``as`` (only spaces, line continuations and comments may come
   between), such as a file that re-exports the class or tests ``isinstance(m, nn.GRU)``.
2. For files that mention GRU, a stdlib ``ast`` pass (roughly ten times cheaper than a LibCST
   parse, and far cheaper than LibCST's scope and qualified-name metadata) that resolves import
   aliases and looks for a *construction* that can be torch's: a call ``torch.nn.GRU(...)``,
   ``nn.GRUCell(...)`` after ``from torch import nn`` / ``import torch.nn as nn``, and so on, or a
   ``from torch.nn import GRU [as X]`` / ``from torch.nn import *`` (whose names are then called).
   Mentions in comments and strings, classes of the file's own that happen to be called GRU, and
   references that construct nothing (``isinstance(m, nn.GRU)``, mapping tables keyed by
   ``nn.GRU``) do not pass: the engine migrates a file only when it constructs a torch GRU.

The filter must never reject a file the engine would change (tests/test_prefilter.py runs the
engine on every rejection), so it errs towards passing: any call of an attribute chain rooted in
an import of ``torch`` that ends in ``GRU`` / ``GRUCell`` passes, whatever the middle of the path,
and a file that ``ast`` cannot parse passes (so the engine can report where). If the engine ever
migrates GRUs that are not constructed by such a call (``cls = nn.GRU; cls(...)``), this must widen.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Optional

from gru2lstm.imports import STAR, imported_names
from gru2lstm.tree_nodes import nodes_of
from gru2lstm.vocab import GRU_CONSTRUCTION_BYTES, GRU_NAMES, GRU_NEEDLE

_CONSTRUCTION = re.compile(GRU_CONSTRUCTION_BYTES)

__all__ = ["Screening", "may_hold_gru", "mentions_gru", "names_gru", "references_torch_gru", "screen"]


def mentions_gru(data: bytes) -> bool:
    """Step 1: the byte search."""
    return GRU_NEEDLE in data and _CONSTRUCTION.search(data) is not None


@dataclass(frozen=True)
class Screening:
    """What the prefilter found in a file; its parse is kept so that grouping (project.py) does not
    parse the file again."""

    may_hold_gru: bool
    parsed: bool = False  # an `ast` parse was made (the bytes mention GRU)
    tree: Optional[ast.Module] = None  # its tree, when the file parses


def may_hold_gru(data: bytes) -> bool:
    """True when the file may construct or reference torch.nn.GRU / GRUCell."""
    return screen(data).may_hold_gru


def screen(data: bytes) -> Screening:
    """Both steps on one file's bytes."""
    if not mentions_gru(data):
        return Screening(False)
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return Screening(True, parsed=True)  # let the engine say precisely what is wrong
    return Screening(references_torch_gru(tree), parsed=True, tree=tree)


def references_torch_gru(tree: ast.AST) -> bool:
    """Step 2: is anything that resolves, through imports, to torch.…GRU(Cell) called (or imported by name)?

    One walk: imports and calls are gathered together (an import may follow the call it binds,
    inside a function), then matched; a call whose root is already bound to torch ends the walk
    (`ast.walk` goes breadth first, so the module's imports come before any call in a function)."""
    aliases: dict[str, str] = {}  # local name -> the dotted path it stands for
    star_from_torch = False
    called_roots: set = set()  # X of each call `X.….GRU(...)`
    called_by_name = False  # a call `GRU(...)` / `GRUCell(...)`
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in GRU_NAMES:
                root = _root_name(func.value)
                if root in aliases:
                    return True
                if root is not None:
                    called_roots.add(root)
            elif isinstance(func, ast.Name) and func.id in GRU_NAMES:
                if star_from_torch:
                    return True
                called_by_name = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for imported in imported_names(node):
                if imported.level or not _is_torch(imported.module):
                    continue
                if imported.member == STAR:
                    star_from_torch = True
                elif imported.member in GRU_NAMES:
                    return True  # `from torch.nn import GRU [as X]`: the import itself is a reference
                else:
                    aliases[imported.local] = imported.target
    return bool(called_roots & aliases.keys()) or (star_from_torch and called_by_name)


def names_gru(tree: ast.Module) -> bool:
    """Does any name, attribute or imported name of the code spell GRU or GRUCell? (Comments
    and strings do not count.) Nothing can resolve to a torch GRU without one."""
    nodes = nodes_of(tree)
    return (
        any(node.id in GRU_NAMES for node in nodes.of(ast.Name))
        or any(node.attr in GRU_NAMES for node in nodes.of(ast.Attribute))
        or any(not GRU_NAMES.isdisjoint(alias.name.split(".")) for alias in nodes.of(ast.alias))
    )


def _is_torch(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")


def _root_name(node: ast.expr) -> Optional[str]:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
