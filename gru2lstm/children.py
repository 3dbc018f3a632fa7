"""The children of a LibCST node, read from its fields: what `node.children` returns, without its cost.

LibCST's `children` runs the node's `_visit_and_replace_children` with a collecting visitor, which
rebuilds and re-validates the node to return it (several times the cost of reading the
fields). That method visits the node's fields in source order, and each field it visits is named
there by a string constant (`visit_required(self, "func", self.func, visitor)`), so the order of
those constants in its code object is the order of the children. The first node of each class is
checked against `children` itself: a class whose fields do not give the same list (a LibCST that
visits in some other way) keeps using `children`.

LibCST's node classes are abstract base classes (`CSTNode` derives from `ABC`), so `isinstance`
against any of them runs `ABCMeta.__instancecheck__`: about ten times the cost of `type(node) is
cst.Name`. The loops over every node of a module test the concrete class (`type(...) is`) for that
reason; the classes they test have no subclasses.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import Callable, Union

import libcst as cst
from libcst import MaybeSentinel

__all__ = ["children"]

_FIELDS: dict = {}  # node class -> a getter of its visited fields' values in source order, _LEAF, or None: ask LibCST
_LEAF = object()  # a class that visits no field (whitespace, `.`, `,`: nearly half of a module's nodes)


def children(node: cst.CSTNode) -> list:
    """The nodes directly under `node`, in source order: the same list as `node.children`."""
    kind = type(node)
    fields = _FIELDS.get(kind, _FIELDS)
    if fields is _FIELDS:
        fields = _FIELDS[kind] = _fields_checked_on(node)
    if fields is _LEAF:
        return []
    return _read(fields(node)) if fields is not None else list(node.children)


def _read(values: tuple) -> list:
    """The nodes among visited fields' values: a field holds a node, a sequence of nodes, None or a
    MaybeSentinel (tested by identity: isinstance against LibCST's abstract classes is slow)."""
    found = []
    for value in values:
        kind = type(value)
        if kind is tuple or kind is list:
            found.extend(value)
        elif value is not None and kind is not MaybeSentinel:
            found.append(value)
    return found


def _fields_checked_on(node: cst.CSTNode) -> Union[Callable, object, None]:
    """A getter of the fields `_visit_and_replace_children` names, in order, if they give `node`'s
    children; _LEAF if it names none and `node` has none."""
    names = {field.name for field in dataclasses.fields(node)}
    code = type(node)._visit_and_replace_children.__code__
    fields = list(dict.fromkeys(c for c in code.co_consts if isinstance(c, str) and c in names))
    if not fields and not node.children:
        return _LEAF
    # attrgetter of several names gives a tuple in one call; of one name, the value alone
    getter = attrgetter(*fields) if len(fields) > 1 else lambda item: tuple(getattr(item, name) for name in fields)
    return getter if [id(c) for c in _read(getter(node))] == [id(c) for c in node.children] else None
