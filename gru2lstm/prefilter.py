"""Cheap checks that skip files which cannot hold a torch.nn GRU, before LibCST is paid for.

A byte search first (most files stop here); then, for files that mention GRU, a stdlib `ast`
pass (about ten times cheaper than LibCST with metadata) that looks for the name in code, not
only in comments or strings.
"""

from __future__ import annotations

import ast

NAMES = {"GRU", "GRUCell"}


def may_hold_gru(data: bytes) -> bool:
    if b"GRU" not in data:
        return False
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return True  # let the engine say precisely what is wrong
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in NAMES:
            return True
        if isinstance(node, ast.Name) and node.id in NAMES:
            return True
        if isinstance(node, ast.ImportFrom) and any(alias.name in NAMES for alias in node.names):
            return True
    return False
