"""Places that only ever hold a pair (h, c), and those used as one tensor in the migrated code.

A place (an attribute name across the group, a local name in its scope, a parameter with what the
group's calls give it, a record's field) whose every value is a literal pair, the state an LSTM
returns, another such place, a function's return of one, or None holds a pair; `.detach()`,
`.shape`, arithmetic, `h[:, i]`, `h[step]` or `torch.cat([h, ...])` on it is a mistake the
migration made.
"""

from __future__ import annotations

import ast

from gru2lstm.lstm_sources import CATS, Mistake, Sources, constructed, holder_name
from gru2lstm.vocab import LSTM_KIND, TENSOR_ONLY

_SEQUENCES = (ast.List, ast.Tuple, ast.ListComp, ast.GeneratorExp)


def pair_places(sources: Sources, holders: dict) -> set:
    """The places that only ever hold a pair: a literal `(a, b)`, the state an LSTM returns, what
    an LSTMCell returns, another such place, a function's return of one, or None. Places are
    attribute names across the group and local names in their scope; a parameter holds what the
    group's calls of its function give it (and its default); any other write spoils a place."""
    assigned: dict = {}  # place -> [(value or None when unknown, scope)]
    for _, scope in sources.scopes:
        if not isinstance(scope, ast.Module):
            for name, values in sources.parameter_values(scope).items():
                given = [(_returned_pair(value, holders), where) for value, where in values]
                assigned.setdefault(("name", id(scope), name), []).extend(given or [(None, scope)])
        for node in sources.nodes[id(scope)]:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    for place, value in _writes(target, _returned_pair(node.value, holders), scope):
                        assigned.setdefault(place, []).append((value, scope))
            elif isinstance(node, (ast.AugAssign, ast.For, ast.comprehension, ast.With)):
                targets = [i.optional_vars for i in node.items if i.optional_vars] if isinstance(node, ast.With) else [node.target]
                for target in targets:
                    for place, _ in _writes(target, None, scope):
                        assigned.setdefault(place, []).append((None, scope))
    for name, value, scope in sources.fields:
        assigned.setdefault(("attr", name), []).append((value, scope))

    def returns(call: ast.Call) -> list:
        return [(_returned_pair(value, holders), scope) for value, scope in sources.returned(call)]

    # A literal of two that holds a pair is a tuple with a pair inside (`model((obs, hx))`), not
    # (h, c): such places are left out, and the pairs found again without them.
    nested: set = set()
    while True:
        grounded = _grounded(assigned, set(assigned) - nested, returns)
        inside = {where for where in grounded if any(_holds_a_pair(value, scope, grounded) for value, scope in assigned[where])}
        if not inside:
            return grounded
        nested |= inside


def _holds_a_pair(value, scope, pairs: set) -> bool:
    """Is `value` a literal tuple with a place of `pairs` among its items?"""
    return isinstance(value, ast.Tuple) and any(place(item, scope) in pairs for item in value.elts)


def _grounded(assigned: dict, pairs: set, returns) -> set:
    """Of the places `pairs`, those whose every value is a pair, and some value surely gives one."""
    changed = True
    while changed:  # the largest set of places whose every value is a pair (a cycle stays: grounded below)
        changed = False
        for where in list(pairs):
            values = assigned[where]
            if not any(not _is_none(value) for value, _ in values) or not all(_pair_like(value, scope, pairs, returns) for value, scope in values):
                pairs.discard(where)
                changed = True
    grounded: set = set()
    changed = True
    while changed:  # of those, the places some value surely gives a pair: copies in a cycle alone give none
        changed = False
        for where in pairs - grounded:
            if any(not _is_none(value) and _pair_like(value, scope, grounded, returns) for value, scope in assigned[where]):
                grounded.add(where)
                changed = True
    return grounded


def pairs_used_as_tensors(sources: Sources, pairs: set) -> list:
    """A place of `pairs` used as one tensor: `self.hidden.detach()`, `h.shape`, `h * m`."""
    mistakes = []
    for module, scope in sources.scopes:
        for node in sources.nodes[id(scope)]:
            used = _used_as_tensor(node, scope, pairs)
            if used is not None:
                spelled = ast.unparse(used)
                mistakes.append(Mistake(module, node.lineno, ast.unparse(node), f"`{spelled}` only ever holds a pair (h, c), used here as one tensor", spelled))
    return mistakes


def _pair_like(value, scope, pairs: set, returns, calls: frozenset = frozenset()) -> bool:
    """Whether `value` (read in `scope`) surely holds a pair; `returns(call)` gives the returns of
    what a call runs."""
    if value is None:
        return False
    used = _used_as_tensor(value, scope, pairs) or (_used_as_tensor(value.func, scope, pairs) if isinstance(value, ast.Call) else None)
    if used is not None:  # `h = h.detach()` on a pair: the use is the mistake reported, not a spoiler
        return True
    if isinstance(value, ast.Call) and constructed(value.func) == "tuple" and len(value.args) == 1 and isinstance(value.args[0], ast.GeneratorExp):
        made = value.args[0].generators  # `tuple(half.expand(...) for half in pair)`: a pair again
        return len(made) == 1 and not made[0].ifs and _pair_like(made[0].iter, scope, pairs, returns, calls)
    if isinstance(value, ast.Call):  # a call of the group's function: what every return of it holds
        found = returns(value) if id(value) not in calls else []
        return bool(found) and all(_pair_like(r, s, pairs, returns, calls | {id(value)}) for r, s in found)
    if _is_none(value) or _is_pair(value):
        return True
    if isinstance(value, tuple):  # ("returned", call, position, length)
        _, call, position, length = value
        found = returns(call)
        return bool(found) and all(
            isinstance(r, ast.Tuple) and len(r.elts) == length and _pair_like(r.elts[position], s, pairs, returns, calls) for r, s in found
        )
    if isinstance(value, (ast.Name, ast.Attribute)):
        return place(value, scope) in pairs
    if isinstance(value, ast.IfExp):
        return _pair_like(value.body, scope, pairs, returns, calls) and _pair_like(value.orelse, scope, pairs, returns, calls)
    return False


def _used_as_tensor(node: ast.AST, scope, pairs: set):
    """The place of `pairs` that `node` uses as one tensor (`h.detach`, `h.shape`, `h * m`, `h[:, i]`,
    `torch.cat([h, ...])`), or None."""
    if isinstance(node, ast.Attribute) and node.attr in TENSOR_ONLY:
        used = node.value
    elif isinstance(node, ast.BinOp) and not _tuple_operation(node, scope, pairs):
        used = next((side for side in (node.left, node.right) if place(side, scope) in pairs), None)
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):  # `h[:, i]`: a tuple takes one index
        used = node.value
    elif isinstance(node, ast.Subscript) and not isinstance(node.slice, (ast.Constant, ast.UnaryOp, ast.Slice)):
        used = node.value  # `h[step]`, `h[done]`: a time or row index, where a pair takes only 0 or 1
    elif isinstance(node, ast.Call) and constructed(node.func) in CATS and node.args and isinstance(node.args[0], _SEQUENCES):
        # `torch.cat([s.hidden for s in batch])`: pairs concatenated as tensors (`torch.cat(pair)` packs one: it passes)
        listed = node.args[0]
        used = next((part for part in ([listed.elt] if hasattr(listed, "elt") else listed.elts) if place(part, scope) in pairs), None)
    else:
        return None
    return used if used is not None and place(used, scope) in pairs else None


def _tuple_operation(node: ast.BinOp, scope, pairs: set) -> bool:
    """What a tuple also does: `"%s %s" % pair` (formatting), `pair + (x,)` and `a + b` of two
    pairs (concatenation)."""
    if isinstance(node.op, ast.Mod):
        return isinstance(node.left, (ast.Constant, ast.JoinedStr))
    if isinstance(node.op, ast.Add):
        return all(isinstance(side, ast.Tuple) or place(side, scope) in pairs for side in (node.left, node.right))
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
            parts = [("returned", value, position, len(target.elts)) for position in range(len(target.elts))]
        else:
            parts = [None] * len(target.elts)
        return [write for element, part in zip(target.elts, parts) for write in _writes(element, part, scope)]
    where = place(target, scope)
    return [(where, value)] if where is not None else []


def place(node: ast.expr, scope):
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
    return ast.Tuple(elts=[ast.Constant("output"), pair], ctx=ast.Load()) if holders[holder_name(value.func)] == LSTM_KIND else pair


def _is_pair(value) -> bool:
    return isinstance(value, ast.Tuple) and len(value.elts) == 2 and not any(isinstance(e, (ast.Tuple, ast.Starred)) for e in value.elts)


