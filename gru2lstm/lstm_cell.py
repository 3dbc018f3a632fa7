"""The cell half c of an LSTM state never reaches a head: what the output check says of c.

c is what an LSTM returns second in its state (`out, (h, c) = lstm(x, s)`), what an LSTMCell
returns second, and the half `[1]` of a place that only ever holds a pair (lstm_pairs.py). It is
followed, as a value that may hold c, through names, attributes, unpackings, indexing, tensor
methods (`c.detach()`, `c[-1]`), arithmetic (`h + c`), `torch.cat([h, c])`, a packed state
(`torch.cat(state, -1)` holds c; its `.chunk(2, -1)[1]` is c, `[0]` is h), a stacked one
(`torch.stack([h, c])[1]`), the parameters of the group's functions (what their calls give) and
their returns. Reaching a head — a call of a
non-recurrent torch.nn module the group holds (`self.v(c)`) or a feature function
(`F.relu(c)`) — is a mistake: a migration that feeds c where the GRU fed h.
"""

from __future__ import annotations

import ast

from gru2lstm.lstm_pairs import place
from gru2lstm.lstm_sources import CATS, CONTAINER_NAMES, Mistake, Sources, call_arguments, constructed, holder_name
from gru2lstm.tree_nodes import nodes_of
from gru2lstm.vocab import (
    FEATURE_FUNCTIONS,
    IN_PLACE_FLAG,
    KEEP_ATTRIBUTES,
    KEEP_METHODS,
    LSTM_KIND,
    SHAPE_METHODS,
    SPLITTING_METHODS,
    STACK_NAME,
    TORCH_NN,
)

_HOPS = 60  # far more than real code chains, far less than Python's recursion limit
_FRAMES = 4  # calls read with their own arguments at once; deeper, a parameter holds every call's


def cells_reaching_heads(sources: Sources, trees: list, holders: dict, pairs: set) -> list:
    """Every call of a head, or of a feature function, given a value that may hold c."""
    heads = {name for tree in trees for name in _head_holders(tree)} - set(holders)
    cells = _Cells(sources, holders, pairs)
    mistakes = []
    for module, scope in sources.scopes:
        for node in sources.nodes[id(scope)]:
            if not isinstance(node, ast.Call):
                continue
            # an activation that changes its input in place (`F.relu(c, inplace=True)`) changes c, as `c.clamp_(0)` would
            in_place = any(k.arg == IN_PLACE_FLAG and not (isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords)
            feature = isinstance(node.func, ast.Attribute) and node.func.attr in FEATURE_FUNCTIONS and not in_place
            if not feature and not (holder_name(node.func) in heads and isinstance(node.func, (ast.Name, ast.Attribute))):
                continue
            given = [*node.args, *(k.value for k in node.keywords)] + ([node.func.value] if feature else [])
            for value in given:
                why = cells.why(value, scope)
                if why is not None:
                    mistakes.append(Mistake(
                        module, node.lineno, ast.unparse(node),
                        f"`{ast.unparse(value)}` may hold the cell state c ({why}); c must reach no head or op but the LSTM",
                    ))
                    break
    return mistakes


def _head_holders(tree: ast.Module) -> set:
    """Names and attribute names assigned a torch.nn module (`self.v = nn.Linear(...)`), also one
    imported from torch.nn (`from torch.nn import Linear`); the containers excepted."""
    nodes = nodes_of(tree)
    imported = {
        alias.asname or alias.name
        for node in nodes.of(ast.ImportFrom) if (node.module or "").startswith(TORCH_NN)
        for alias in node.names
    }
    found = set()
    for node in nodes.of(ast.Assign):
        if not isinstance(node.value, ast.Call):
            continue
        func = node.value.func
        from_nn = (isinstance(func, ast.Attribute) and holder_name(func.value) == "nn") or (isinstance(func, ast.Name) and func.id in imported)
        if from_nn and constructed(func) not in CONTAINER_NAMES:
            found.update(name for name in (holder_name(target) for target in node.targets) if name is not None)
    return found


class _Cells:
    """Whether a value may hold c. A path is the positions a tuple unpacking or an integer index
    takes in the value (`_, (h, c) = s` takes (1, 1) of s); what stays of a path once c is
    reached indexes c itself (`c[-1]`: still c)."""

    def __init__(self, sources: Sources, holders: dict, pairs: set) -> None:
        self.sources, self.holders, self.pairs = sources, holders, pairs
        self.writes: dict = {}  # place -> [(value, path, scope, line)]
        self.loops: dict = {}  # id(scope) -> [(first line, last line)] of its loops
        for _, scope in sources.scopes:
            for node in sources.nodes[id(scope)]:
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                        for leaf, path in _leaves(target, ()):
                            self.writes.setdefault(place(leaf, scope), []).append((node.value, path, scope, node.lineno))
                elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
                    self.loops.setdefault(id(scope), []).append((node.lineno, node.end_lineno))
        for name, value, scope in sources.fields:
            if value is not None:
                self.writes.setdefault(("attr", name), []).append((value, (), scope, 0))
        self.memo: dict = {}  # (place, path) -> why, or None (also while it is worked out: cycles)
        self.hops = 0  # places and calls being followed at once: a long chain of copies stops (None)
        # (function, call, its arguments by parameter, the caller's scope) whose return is being
        # read: its parameters hold that call's arguments, not every call's (at most _FRAMES deep)
        self.frames: list = []

    def why(self, node: ast.expr, scope, path: tuple = ()):
        """Why `node`, read in `scope` and taken at `path`, may hold c; or None."""
        if isinstance(node, ast.Call):
            return self._call(node, scope, path)
        if isinstance(node, ast.Subscript):
            index = node.slice.value if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int) else None
            if index is not None:
                return self.why(node.value, scope, (index, *path))
            return None if path else self.why(node.value, scope)  # `c[:, i]`: still c
        if isinstance(node, (ast.Name, ast.Attribute)):
            if isinstance(node, ast.Attribute) and node.attr in KEEP_ATTRIBUTES:
                return self.why(node.value, scope, path)
            if place(node, scope) in self.pairs and path:
                return f"`{ast.unparse(node)}[{path[0]}]` is c" if path[0] in (1, -1) else None
            return self._place(node, scope, path)
        if isinstance(node, (ast.Tuple, ast.List)) and path:
            return self.why(node.elts[path[0]], scope, path[1:]) if -len(node.elts) <= path[0] < len(node.elts) else None
        if isinstance(node, ast.BinOp):
            return self.why(node.left, scope, path) or self.why(node.right, scope, path)
        if isinstance(node, ast.IfExp):
            return self.why(node.body, scope, path) or self.why(node.orelse, scope, path)
        return None

    def _call(self, call: ast.Call, scope, path: tuple):
        name = constructed(call.func)
        kind = self.holders.get(holder_name(call.func))
        if kind is not None:  # (output, (h, c)) for an LSTM, (h, c) for an LSTMCell
            state = path[1:] if kind == LSTM_KIND and path[:1] == (1,) else path if kind != LSTM_KIND else ()
            return f"`{ast.unparse(call)}` returns c there" if state[:1] in ((1,), (-1,)) else None
        if isinstance(call.func, ast.Attribute) and name in KEEP_METHODS | SHAPE_METHODS:
            return self.why(call.func.value, scope, path)
        if name in CATS and call.args and isinstance(call.args[0], (ast.List, ast.Tuple)):
            parts = call.args[0].elts
            if name == STACK_NAME and path and len(call.args) == 1 and not call.keywords:  # `torch.stack([h, c])[1]`: c
                return self.why(parts[path[0]], scope, path[1:]) if -len(parts) <= path[0] < len(parts) else None
            return next((why for why in (self.why(part, scope) for part in parts) if why is not None), None)
        if name in CATS and call.args:  # `torch.cat(state, -1)`: the packed state holds c
            return self.why(call.args[0], scope, (1,))
        if name in SPLITTING_METHODS and isinstance(call.func, ast.Attribute):  # `packed.chunk(2, -1)[1]`: c
            return self.why(call.func.value, scope) if path[:1] in ((1,), (-1,)) else None
        key = (id(call), path)
        if key in self.memo or self.hops > _HOPS:
            return self.memo.get(key)
        self.memo[key] = None
        self.hops += 1
        callee = self.sources.callees.get(id(call))
        given = call_arguments(callee, call) if callee is not None and len(self.frames) < _FRAMES else None
        if given is not None:  # what the callee returns is read with this call's arguments only
            self.frames.append((callee, call, dict(given), scope))
        found = next((why for why in (self.why(value, where, path) for value, where in self.sources.returned(call)) if why), None)
        if given is not None:
            self.frames.pop()
        self.hops -= 1
        self.memo[key] = found and f"`{name}()` returns c: {found}"
        return self.memo[key]

    def _place(self, node: ast.expr, scope, path: tuple):
        where = place(node, scope)
        local = isinstance(node, ast.Name) and not isinstance(scope, ast.Module)
        frame = next((frame for frame in reversed(self.frames) if frame[0] is scope), None) if local else None
        key = (where, path, node.lineno if local else None, frame and id(frame[1]))
        if key in self.memo or self.hops > _HOPS:
            return self.memo.get(key)
        self.memo[key] = None
        self.hops += 1
        values = [
            (value, (*at, *path), at_scope)
            for value, at, at_scope, line in self.writes.get(where, [])
            if not local or self._may_reach(line, node.lineno, scope)
        ]
        if frame is not None and node.id in self.sources.parameter_values(scope):
            _, _, given, caller = frame  # the parameter holds what this call gives it (or its default)
            values += [(given[node.id], path, caller)] if node.id in given else [
                (value, path, at_scope) for value, at_scope in self.sources.parameter_values(scope)[node.id] if at_scope is scope
            ]
        elif local:
            values += [(value, path, at_scope) for value, at_scope in self.sources.parameter_values(scope).get(node.id, []) if value is not None]
        found = next((why for why in (self.why(value, at_scope, at) for value, at, at_scope in values) if why), None)
        self.hops -= 1
        self.memo[key] = found and (found if found.startswith(f"`{ast.unparse(node)}") else f"`{ast.unparse(node)}` holds c: {found}")
        return self.memo[key]

    def _may_reach(self, written: int, read: int, scope) -> bool:
        """Whether a local name written at one line may be read at another: written above it,
        or both in one loop (`x = c` below `head(x)` in a loop reaches it the next time round)."""
        return written < read or any(first <= read and written <= last for first, last in self.loops.get(id(scope), []))


def _leaves(target: ast.expr, path: tuple) -> list:
    """(name or attribute, its path) for each place a target writes: `out, (h, c) = ...` gives
    out (0,), h (1, 0), c (1, 1)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        if any(isinstance(element, ast.Starred) for element in target.elts):
            return []
        return [leaf for position, element in enumerate(target.elts) for leaf in _leaves(element, (*path, position))]
    return [(target, path)] if isinstance(target, (ast.Name, ast.Attribute)) else []
