"""Cheap checks that skip files which cannot hold a torch.nn GRU, before LibCST is paid for.

1. A byte search: a file without the bytes ``GRU`` cannot construct or mention ``nn.GRU`` /
   ``nn.GRUCell`` (most files stop here).
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
from typing import Optional

from gru2lstm.vocab import GRU_NAMES, GRU_NEEDLE

__all__ = ["may_hold_gru", "mentions_gru", "names_gru", "references_torch_gru", "screen"]


def mentions_gru(data: bytes) -> bool:
    """Step 1: the byte search."""
    return GRU_NEEDLE in data


def may_hold_gru(data: bytes) -> bool:
    """True when the file may construct or reference torch.nn.GRU / GRUCell."""
    return screen(data)[0]


def screen(data: bytes) -> tuple:
    """(may_hold_gru(data), the `ast` tree when one was parsed, else None), so that grouping
    (project.py) need not parse the file again."""
    if not mentions_gru(data):
        return False, None
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return True, None  # let the engine say precisely what is wrong
    return references_torch_gru(tree), tree


def references_torch_gru(tree: ast.AST) -> bool:
    """Step 2: is anything that resolves, through imports, to torch.…GRU(Cell) called (or imported by name)?

    One walk: imports and calls are gathered together (an import may follow the call it binds,
    inside a function), then matched."""
    aliases: dict[str, str] = {}  # local name -> dotted path it was imported as
    star_from_torch = False
    called_roots: set = set()  # X of each call `X.….GRU(...)`
    called_by_name = False  # a call `GRU(...)` / `GRUCell(...)`
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in GRU_NAMES:
                root = _root_name(func.value)
                if root is not None:
                    called_roots.add(root)
            elif isinstance(func, ast.Name) and func.id in GRU_NAMES:
                called_by_name = True
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_torch(alias.name):
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:  # `import torch.nn` binds `torch`
                        root = alias.name.split(".")[0]
                        aliases[root] = root
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _is_torch(node.module):
            for alias in node.names:
                if alias.name == "*":
                    star_from_torch = True
                    continue
                if alias.name in GRU_NAMES:
                    return True  # `from torch.nn import GRU [as X]`: the import itself is a reference
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bool(called_roots & aliases.keys()) or (star_from_torch and called_by_name)


def names_gru(tree: ast.AST) -> bool:
    """Does any name, attribute or imported name of the code spell GRU or GRUCell? (Comments
    and strings do not count.) Nothing can resolve to a torch GRU without one."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in GRU_NAMES or isinstance(node, ast.Attribute) and node.attr in GRU_NAMES:
            return True
        if isinstance(node, ast.alias) and not GRU_NAMES.isdisjoint(node.name.split(".")):
            return True
    return False


def _is_torch(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")


def _root_name(node: ast.expr) -> Optional[str]:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
