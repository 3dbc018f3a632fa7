"""The migrated code read with LSTM semantics: what an LSTM call must receive.

An LSTM or LSTMCell takes its state as the pair (h, c) (or, in packed form, a tensor split right
before the call with `.chunk(2, ...)`). This reads the output of a migration, with the stdlib
`ast` only, and names every recurrent call whose state argument is surely one tensor: a creation
(`torch.zeros(...)`), arithmetic (`h * mask`), a tensor method (`h.detach()`), or a local name
that some assignment in the same function gives such a value. Names, attributes, subscripts and
calls of the program's own functions may hold a pair; they pass. The other way round, a place
that only ever holds a pair (`self.hidden = (h, c)`, the state an LSTM returns) must not be used
as one tensor (`self.hidden.detach()`, `h.shape`, `h * mask`).

The modules of a group are read together (names of classes and functions across them, by name),
so a state made in one file and given to an LSTM in another is seen. It is the migration's
equivalent of black's equivalence check: output_check.py compares what it says of the output
with what it says of the input, and refuses to write a group whose output has a mistake the
input did not (exit 123).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from gru2lstm.vocab import (
    CREATION_NAMES,
    TENSOR_ONLY,
    KEEP_METHODS,
    LSTM_NAMES,
    SHAPE_METHODS,
    SPLITTING_METHODS,
)


@dataclass(frozen=True)
class Mistake:
    """A recurrent call that would get one tensor where it needs (h, c)."""

    module: int  # the position of its module among those read together
    line: int
    call: str  # the call, as written
    why: str

    def key(self) -> tuple:
        """What identifies it across the input and the output (lines move)."""
        return (self.module, self.call, self.why)


def lstm_mistakes(modules) -> list:
    """Every LSTM call of the modules (one tree, or the trees of a group read together, so a
    state made in one file and given to an LSTM in another is seen) whose state argument is
    surely not a pair."""
    trees = [modules] if isinstance(modules, ast.Module) else list(modules)
    holders = {name: kind for tree in trees for name, kind in _lstm_holders(tree).items()}
    if not holders:
        return []
    sources = _Sources(trees, holders)
    mistakes = []
    for module, scope in sources.scopes:
        for call in _own_nodes(scope):
            if not isinstance(call, ast.Call) or _holder_name(call.func) not in holders:
                continue
            state = _state_argument(call)
            why = None if state is None else sources.single_tensor(state, scope)
            if why is not None:
                mistakes.append(Mistake(module, call.lineno, ast.unparse(call), why))
    return mistakes + _pairs_used_as_tensors(sources, holders)


def _pairs_used_as_tensors(sources: "_Sources", holders: dict) -> list:
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
        for node in _own_nodes(scope):
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
        for node in _own_nodes(scope):
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
        elif isinstance(value, ast.Call) and _holder_name(value.func) is not None:
            parts = [("returned", _holder_name(value.func), position, len(target.elts)) for position in range(len(target.elts))]
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
    if not isinstance(value, ast.Call) or _holder_name(value.func) not in holders:
        return value
    pair = ast.Tuple(elts=[ast.Constant("h"), ast.Constant("c")], ctx=ast.Load())
    return ast.Tuple(elts=[ast.Constant("output"), pair], ctx=ast.Load()) if holders[_holder_name(value.func)] == "LSTM" else pair


def _is_pair(value) -> bool:
    return isinstance(value, ast.Tuple) and len(value.elts) == 2 and not any(isinstance(e, (ast.Tuple, ast.Starred)) for e in value.elts)


class _Sources:
    """Where a value of the module comes from, followed a few steps: the assignments of a local
    name in its scope, of an attribute name anywhere (`self.hidden = ...`), the returns of a
    function or method by name, and the arguments a parameter gets at the module's calls of its
    function (a call of an object that is not a known function runs the module's one forward())."""

    DEPTH = 8

    def __init__(self, trees: list, holders: dict) -> None:
        classes = {node.name: node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
        owner = {id(item): cls for cls in classes.values() for item in cls.body}  # method -> its class
        self.scopes = []  # (module position, scope)
        module_functions: dict = {}
        for position, tree in enumerate(trees):
            functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            self.scopes += [(position, scope) for scope in (tree, *functions)]
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    module_functions.setdefault(node.name, []).append(node)
        module_functions = {name: found[0] for name, found in module_functions.items() if len(found) == 1}
        self.locals = {id(scope): _assignments(scope) for _, scope in self.scopes}
        self.attributes: dict = {}
        self.returns: dict = {}
        self.arguments: dict = {}  # (id(function), parameter) -> [(argument, scope of the call)]
        for _, scope in self.scopes:
            for node in _own_nodes(scope):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Attribute):
                            self.attributes.setdefault(target.attr, []).append((node.value, scope))
                elif isinstance(node, ast.Return) and node.value is not None and not isinstance(scope, ast.Module):
                    self.returns.setdefault(scope.name, []).append((node.value, scope))
        for _, scope in self.scopes:
            cls = owner.get(id(scope))
            for node in _own_nodes(scope):
                if not isinstance(node, ast.Call) or _holder_name(node.func) in holders:
                    continue
                func = node.func
                callee = None
                if isinstance(func, ast.Name) and func.id in module_functions:
                    callee = module_functions[func.id]  # `rollout(policy, h)`, here or imported
                elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self" and cls is not None:
                    callee = _method(cls, func.attr) or self._forward_of(func, classes, scope)  # `self.act(...)`, `self.policy(...)`
                elif isinstance(func, (ast.Name, ast.Attribute)):
                    callee = self._forward_of(func, classes, scope)  # `policy(x, h)` with `policy = Policy()`
                if callee is not None:
                    self._bind(callee, node, scope)

    def _forward_of(self, func: ast.expr, classes: dict, scope):
        """The forward() of the module's class whose instance `func` surely holds."""
        values = self.attributes.get(func.attr, []) if isinstance(func, ast.Attribute) else [
            (value, scope) for value in self.locals[id(scope)].get(func.id, [])
        ]
        made = {_constructed(value.func) for value, _ in values if isinstance(value, ast.Call)}
        if len(values) == 0 or len(made) != 1 or not all(isinstance(value, ast.Call) for value, _ in values):
            return None
        cls = classes.get(made.pop())
        return _method(cls, "forward") if cls is not None else None

    def _bind(self, function, call: ast.Call, scope) -> None:
        params = [a.arg for a in function.args.posonlyargs + function.args.args]
        if params and params[0] in ("self", "cls"):
            params = params[1:]
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return
        for name, value in [*zip(params, call.args), *((k.arg, k.value) for k in call.keywords)]:
            self.arguments.setdefault((id(function), name), []).append((value, scope))

    def single_tensor(self, node: ast.expr, scope, seen: frozenset = frozenset()):
        """Why `node`, read in `scope`, is surely one tensor (not a pair), or None."""
        if len(seen) > self.DEPTH:
            return None
        if isinstance(node, ast.BinOp):
            return f"`{ast.unparse(node)}` is arithmetic on a tensor"
        if isinstance(node, ast.Call):
            name = _constructed(node.func)
            if name in SPLITTING_METHODS:
                return None
            if name in CREATION_NAMES:
                return f"`{ast.unparse(node)}` makes one tensor"
            if isinstance(node.func, ast.Attribute) and name in KEEP_METHODS | SHAPE_METHODS:
                return f"`{ast.unparse(node)}` is a tensor method (a tuple has none)"
            return self._first(("call", name), self.returns.get(name, []), seen, f"`{name}()` returns")
        if isinstance(node, ast.Name):
            found = self._first(("name", id(scope), node.id), [(v, scope) for v in self.locals[id(scope)].get(node.id, [])], seen, f"`{node.id}` is")
            if found is None:
                found = self._first(("param", id(scope), node.id), self.arguments.get((id(scope), node.id), []), seen, f"`{node.id}` receives")
            return found
        if isinstance(node, ast.Attribute):
            return self._first(("attr", node.attr), self.attributes.get(node.attr, []), seen, f"`.{node.attr}` is")
        return None

    def _first(self, key: tuple, values: list, seen: frozenset, what: str):
        if key in seen:
            return None
        for value, scope in values:
            why = self.single_tensor(value, scope, seen | {key})
            if why is not None:
                return f"{what} one tensor: {why}"
        return None


def _method(cls: ast.ClassDef, name: str):
    return next((item for item in cls.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name), None)


def _lstm_holders(tree: ast.Module) -> dict:
    """Names and attribute names (`lstm`, `self.core` -> "core") assigned an LSTM or LSTMCell
    (also under an alias: `from torch.nn import LSTM as RNN`) -> "LSTM" or "LSTMCell"."""
    classes = {name: name for name in LSTM_NAMES}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch.nn"):
            classes.update({alias.asname: alias.name for alias in node.names if alias.name in LSTM_NAMES and alias.asname})
    holders = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _constructed(node.value.func) in classes:
            kind = classes[_constructed(node.value.func)]
            holders.update({name: kind for name in (_holder_name(target) for target in node.targets) if name is not None})
    return holders


def _constructed(func: ast.expr):
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _holder_name(node: ast.expr):
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def _state_argument(call: ast.Call):
    for keyword in call.keywords:
        if keyword.arg in ("hx", "h_0", "hidden"):
            return keyword.value
    return call.args[1] if len(call.args) > 1 and not isinstance(call.args[1], ast.Starred) else None


def _assignments(scope: ast.AST) -> dict:
    """Local name -> the values assigned to it in that scope (not in nested ones)."""
    assigned: dict = {}
    for node in _own_nodes(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    return assigned


def _own_nodes(scope: ast.AST):
    """The nodes of a scope, without those of the functions and classes it defines."""
    pending = list(ast.iter_child_nodes(scope))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield node
        pending.extend(ast.iter_child_nodes(node))
