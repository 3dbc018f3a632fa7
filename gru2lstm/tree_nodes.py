"""One walk of an `ast` module for every question the output check asks of it.

The output check (output_check.py, and lstm_check.py with the modules it reads with) asks about a
dozen questions of each migrated module; each walked the whole tree again (a walk of a big file
costs about 0.08 of its LibCST parse). Here a module is walked once, its nodes listed by class in
`ast.walk`'s order, and, on first need, each scope's own nodes in one more walk. They are kept
while the tree lives (a weak cache keyed by the tree), so every check handed the same tree shares
them; nothing here holds the tree itself, or the cache would keep it alive.
"""

from __future__ import annotations

import ast
import weakref

_INDEXES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_NOT_OWN = (ast.ClassDef, ast.Lambda)  # their nodes belong to no scope of lstm_sources.py


class TreeNodes:
    """The nodes below a module (not the module itself), by class, each list in `ast.walk`'s order."""

    def __init__(self, tree: ast.Module) -> None:
        self.by_class: dict = {}
        self.in_order: list = walk(tree)[1:]
        for node in self.in_order:
            self.by_class.setdefault(type(node), []).append(node)
        self._own: dict = {}  # id(scope) -> its own nodes, filled on first need

    def of(self, *classes: type) -> list:
        """The nodes of these concrete classes, in walk order."""
        present = [cls for cls in classes if cls in self.by_class]
        if len(present) == 1:
            return self.by_class[present[0]]
        return [node for node in self.in_order if type(node) in present] if present else []

    def own_nodes(self, tree: ast.Module, scope: ast.AST) -> list:
        """The nodes of `scope` (the module or one of its functions) without those of the
        functions and classes it defines, in the order of a stack walk from its last child."""
        if not self._own:
            self._own = _own_nodes_of_scopes(tree)
        return self._own[id(scope)]


def nodes_of(tree: ast.Module) -> TreeNodes:
    """The TreeNodes of a module, walked on the first question about it."""
    found = _INDEXES.get(tree)
    if found is None:
        found = _INDEXES[tree] = TreeNodes(tree)
    return found


def walk(node: ast.AST) -> list:
    """`node` and every node under it, in `ast.walk`'s order (breadth first, each node's children in
    field order), as a list (ast.walk's generator, consumed whole, costs about a tenth more)."""
    found = [node]
    position = 0
    while position < len(found):
        found += children(found[position])
        position += 1
    return found


def _own_nodes_of_scopes(tree: ast.Module) -> dict:
    """id(scope) -> its own nodes, for the module and every function, in one walk: each scope's
    nodes come in the order a stack walk of that scope alone gives (a nested scope's nodes, pushed
    above, are all taken before the next node of the outer one)."""
    own = {id(tree): []}
    stack = [(child, own[id(tree)]) for child in children(tree)]
    while stack:
        node, into = stack.pop()
        if isinstance(node, _FUNCTIONS):
            into = own[id(node)] = []
        elif isinstance(node, _NOT_OWN):
            into = None
        elif into is not None:
            into.append(node)
        stack.extend([(child, into) for child in children(node)])
    return own


def children(node: ast.AST) -> list:
    """`ast.iter_child_nodes(node)` as a list, without its two generators (a third of a walk's cost)."""
    found = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif isinstance(value, list):
            found += [item for item in value if isinstance(item, ast.AST)]
    return found
