"""Places that only ever hold a pair (h, c), and those used as one tensor in the migrated code.

A place (an attribute name across the group, a local name in its scope) whose every value is a
literal pair, the state an LSTM returns, another such place, a function's return of one, or None
holds a pair; `.detach()`, `.shape` or arithmetic on it is a mistake the migration made.
"""

from __future__ import annotations

import ast

from gru2lstm.lstm_sources import Mistake, Sources, holder_name, own_nodes
from gru2lstm.vocab import TENSOR_ONLY


def pairs_used_as_tensors(sources: Sources, holders: dict) -> list:
    """A place that only ever holds a pair — a literal `(a, b)`, the state an LSTM returns, what
    an LSTMCell returns, another such place, a function's return of one, or None — used as one
    tensor: `self.hidden.detach()`, `h.shape`, `h * m`. Places are attribute names across the
    group and local names in their scope; a parameter or any other write spoils a place."""
    assigned: dict = {}  # place -> [(value or None when unknown, scope)]
    returns = {name: [(_returned_pair(value, holders), scope) for value, scope in found] for name, found in sources.returns.items()}
    for _, scope in sources.scopes:
        if not isinstance(scope, ast.Module):
            for arg in ast.walk(scope.args):
                if isinstance(arg, ast.arg):
                    assigned.setdefault(("name", id(scope), arg.arg), []).append((None, scope))
        for node in own_nodes(scope):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    for place, value in _writes(target, _returned_pair(node.value, holders), scope):
                        assigned.setdefault(place, []).append((value, scope))
            elif isinstance(node, (ast.AugAssign, ast.For, ast.comprehension, ast.With)):
                targets = [i.optional_vars for i in node.items if i.optional_vars] if isinstance(node, ast.With) else [node.target]
                for target in targets:
                    for place, _ in _writes(target, None, scope):
                        assigned.setdefault(place, []).append((None, scope))
    pairs = set(assigned)
    changed = True
    while changed:  # the largest set of places whose every value is a pair (cycles stay pairs)
        changed = False
        for place in list(pairs):
            values = assigned[place]
            if not any(not _is_none(value) for value, _ in values) or not all(_pair_like(value, scope, pairs, returns) for value, scope in values):
                pairs.discard(place)
                changed = True
    mistakes = []
    for module, scope in sources.scopes:
        for node in own_nodes(scope):
            used = None
            if isinstance(node, ast.Attribute) and node.attr in TENSOR_ONLY:
                used = node.value
            elif isinstance(node, ast.BinOp):
                used = next((side for side in (node.left, node.right) if _place(side, scope) in pairs), None)
            if used is not None and _place(used, scope) in pairs:
                mistakes.append(Mistake(module, node.lineno, ast.unparse(node), f"`{ast.unparse(used)}` only ever holds a pair (h, c), used here as one tensor"))
    return mistakes


def _pair_like(value, scope, pairs: set, returns: dict) -> bool:
    if value is None:
        return False
    if _is_none(value) or _is_pair(value):
        return True
    if isinstance(value, tuple):  # ("returned", function name, position, length)
        _, name, position, length = value
        found = returns.get(name, [])
        return bool(found) and all(
            isinstance(r, ast.Tuple) and len(r.elts) == length and _pair_like(r.elts[position], s, pairs, returns) for r, s in found
        )
    if isinstance(value, (ast.Name, ast.Attribute)):
        return _place(value, scope) in pairs
    if isinstance(value, ast.IfExp):
        return _pair_like(value.body, scope, pairs, returns) and _pair_like(value.orelse, scope, pairs, returns)
    return False


def _is_none(value) -> bool:
    return isinstance(value, ast.Constant) and value.value is None


def _writes(target: ast.expr, value, scope) -> list:
    """(place, the value it gets, or None when unknown) for each place a target writes:
    `a, b = x, y` gives `a` x and `b` y; `a, b = f()` gives each what f returns at its position."""
    if isinstance(target, (ast.Tuple, ast.List)):
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
            parts = value.elts
        elif isinstance(value, ast.Call) and holder_name(value.func) is not None:
            parts = [("returned", holder_name(value.func), position, len(target.elts)) for position in range(len(target.elts))]
        else:
            parts = [None] * len(target.elts)
        return [write for element, part in zip(target.elts, parts) for write in _writes(element, part, scope)]
    place = _place(target, scope)
    return [(place, value)] if place is not None else []


def _place(node: ast.expr, scope):
    if isinstance(node, ast.Attribute):
        return ("attr", node.attr)
    if isinstance(node, ast.Name):
        return ("name", id(scope), node.id)
    return None


def _returned_pair(value, holders: dict):
    """An LSTM call's result spelled as what it holds: `(out, PAIR)` for an LSTM, `PAIR` for an
    LSTMCell, so that `out, h = lstm(x, h)` and `hc = cell(x, hc)` give pairs."""
    if not isinstance(value, ast.Call) or holder_name(value.func) not in holders:
        return value
    pair = ast.Tuple(elts=[ast.Constant("h"), ast.Constant("c")], ctx=ast.Load())
    return ast.Tuple(elts=[ast.Constant("output"), pair], ctx=ast.Load()) if holders[holder_name(value.func)] == "LSTM" else pair


def _is_pair(value) -> bool:
    return isinstance(value, ast.Tuple) and len(value.elts) == 2 and not any(isinstance(e, (ast.Tuple, ast.Starred)) for e in value.elts)


