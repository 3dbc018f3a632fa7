"""Calls of a changed method through an object the engine cannot identify.

A function that is handed a module calls whatever it is given: `def collect(net, steps): h =
torch.zeros(...); ... out, h = net(x, h)`. When no caller of it is seen (it is called from a
notebook, or from code the engine cannot follow), or it lives in a file not migrated with the
group (such a file need not import the model's file at all), nothing tells the engine that `net`
is the migrated module, and that code would go on creating, resetting and passing one tensor.

Such a call is told by its shape, that of a recurrent loop:

- the callee is an object that came in from outside: a parameter, an attribute of one, an
  attribute `self.x` set from a parameter (`self.policy = policy`), or what a loader gives back
  (`actor_critic, obs_rms = torch.load(path)` in a script that plays a saved policy);
- the statement takes back a value it passes after the first argument (`out, h = net(x, h)`), or
  inside a tuple of its inputs (`v, h = net((x, h))`),
  or the call passes a keyword named like a parameter whose contract changes (`net(obs, hidden=h)`),
  or, at the position of such a parameter in the changed method's signature, a tensor made there
  (`net(seq, torch.zeros(1, B, H))`, or a name bound to one: `h0 = torch.zeros(...)`; `q =
  net(x, h0)[0]`), a name spelled like that parameter or a row of one (`self.buffer.h[t]`), or
  (in the group) a hidden state;
- or, in a file outside the group, the call passes at the state's position anything but a
  constant, for a method named as the changed one (`self.policy.act(obs, self.buffer.h[t])`), or
  what is kept in an object or storage, for the object itself (`self.policy(obs,
  self.buffer.hxs[t])`): where such a value comes from, the file alone cannot tell.

It is refused (G2L101) when the group changes the contract of a forward() (for `net(...)`) or of
a method of the same name (for `agent.act(...)`): which object it is, only the person can say.
This module finds such calls in files outside the group with the stdlib `ast` (project.py asks);
boundary.py finds them in the group's own code with the engine's analysis, through
`looks_recurrent` and `changed_callees`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from gru2lstm.findings import new_finding
from gru2lstm.vocab import CREATE_FUNCTIONS, CREATE_LIKE_FUNCTIONS, CREATE_METHODS, KEEP_METHODS, LOADERS

__all__ = [
    "Change", "UnknownCall", "changed_callees", "changed_methods", "dotted_names", "looks_recurrent", "unknown_calls",
    "unknown_call_finding",
]

FORWARDS = ("forward", "__call__")  # what calling an object itself runs
# What a tensor made on the spot is called by (`torch.zeros(...)`, `x.new_zeros(...)`), and what
# may follow it (`.to(device)`): the last part of a dotted name, for files read with `ast` alone.
CREATED = frozenset(name.rpartition(".")[2] for name in CREATE_FUNCTIONS | CREATE_LIKE_FUNCTIONS) | CREATE_METHODS
MOVED = frozenset(KEEP_METHODS)


class Change(NamedTuple):
    """What changes in a method an unknown object may run."""

    display: str  # "Policy.forward"
    parameters: frozenset  # the names of its parameters that become (h, c)
    positions: frozenset  # their positions among the positional parameters after `self`


@dataclass(frozen=True)
class UnknownCall:
    """A call of an object the engine cannot identify, shaped like a recurrent loop."""

    line: int
    column: int
    code: str  # `net(obs, hidden=hidden)`
    method: Optional[str]  # `act` of `agent.act(...)`; None when the object itself is called


def looks_recurrent(call: ast.Call, targets: set, marked: set, callees: list) -> bool:
    """Does `call`, of an object that may run one of `callees` (Changes), pass it the hidden state?
    `targets`: the dotted names its statement assigns; `marked`: the positions of its positional
    arguments known to hold a tensor made there or a state."""
    passed = {_dotted(arg) for arg in _passed(call.args[1:])} | {_dotted(keyword.value) for keyword in call.keywords}
    if call.args and isinstance(call.args[0], (ast.Tuple, ast.List)):
        passed |= {_dotted(arg) for arg in _passed(call.args[0].elts[1:])}  # `model((x, hx))`: the inputs in one tuple
    keywords = {keyword.arg for keyword in call.keywords if keyword.arg}
    if targets & (passed - {None}) or keywords & {name for change in callees for name in change.parameters}:
        return True
    positional = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            break  # the positions after it are not known
        positional.append(arg)
    return any(
        position < len(positional) and (
            position in marked or made_here(positional[position])
            or (_dotted(_indexed(positional[position])) or "").rpartition(".")[2] in change.parameters
        )
        for change in callees for position in change.positions
    )


def _passed(arguments: list) -> list:
    """The arguments, and the items of those written as a tuple or list (`net(x, (h, c))`)."""
    found = []
    for arg in arguments:
        found.extend(_passed(arg.elts) if isinstance(arg, (ast.Tuple, ast.List)) else [arg])
    return found


def _indexed(node: ast.AST) -> ast.AST:
    """What a row is taken from (`self.buffer.h[t]` -> `self.buffer.h`): a row of storage named
    like the parameter is that parameter's value too."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return node


def _stored(node: ast.AST) -> bool:
    """`self.hidden`, `rollouts.hxs[step]`, `hxs[t]`: kept in an object or in storage, not a local
    name (a loop's own state is told by what its statement takes back)."""
    return isinstance(node, ast.Subscript) or isinstance(node, ast.Attribute)


def made_here(node: ast.AST) -> bool:
    """`torch.zeros(1, B, H)`, `x.new_zeros(B, H).to(device)`: a tensor made on the spot."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MOVED:
        node = node.func.value
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CREATED


def changed_methods(methods) -> dict:
    """(method name, display name, names of its parameters that take the state, their positions), of
    each changed method -> method name -> [Change]."""
    changed: dict = {}
    for name, display, parameters, positions in methods:
        changed.setdefault(name, []).append(Change(display, frozenset(parameters), frozenset(positions)))
    return changed


def changed_callees(changed: dict, method: Optional[str]) -> list:
    """What a call of an unknown object may run among `changed` (method name -> [Change]): the
    forward() of a module for the object itself; for `obj.m(...)` a method `m`, or the forward() of
    a module held in `obj.m`."""
    found = [change for name in FORWARDS for change in changed.get(name, ())]
    if method is not None and method not in FORWARDS:
        found = list(changed.get(method, ())) + found
    return found


def unknown_calls(tree: ast.Module, changed: dict) -> list:
    """The UnknownCalls of a file that may run one of `changed` (method name -> [Change]), in source order."""
    finder = _UnknownCallFinder(changed)
    finder.visit(tree)
    return finder.found


def unknown_call_finding(change: str, carriers: str, call: UnknownCall, shown: str, given: bool, line: int, column: int):
    """The G2L101 at a changed method (`change`, "Net.forward") for a call of it that may hide
    behind an unknown object in another file."""
    why = "which imports none of the files migrated with this one" if given else "which was not given"
    return new_finding(
        "G2L101",
        f"`{change}()` now takes or returns (h, c) ({carriers}), and {shown}, {why}, calls `{call.code}` at line "
        f"{call.line} on an object the engine cannot identify, passing what looks like a hidden state, so if it is this "
        "module it would still pass and take one tensor there; "
        f"{'migrate that file by hand too' if given else 'give that file too (or the project folder)'}, or call it with the module from code given in the same run",
        line, column,
    )


def _dotted(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def dotted_names(node: ast.AST) -> set:
    """The dotted names an assignment target binds (`out, self.h = ...` -> {"out", "self.h"})."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return {name for element in node.elts for name in dotted_names(element)}
    if isinstance(node, ast.Starred):
        return dotted_names(node.value)
    name = _dotted(node)
    return {name} if name else set()


def _parameters(function) -> list:
    arguments = function.args
    return [arg.arg for arg in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]


@dataclass
class _Scope:
    """What a function (or the module) knows of the objects it may call."""

    outside: set  # the names that hold an object from outside: its parameters, what it loads
    instance: Optional[str] = None  # `self`, in a method
    attributes: frozenset = frozenset()  # its class's attributes set from a parameter
    made: set = field(default_factory=set)  # the names bound to a tensor made there (`h0 = torch.zeros(...)`)


class _UnknownCallFinder(ast.NodeVisitor):
    """Walks a file with, in scope, the names that hold an object from outside."""

    def __init__(self, changed: dict) -> None:
        self.changed = changed
        self.found: list = []
        self.scopes: list = [_Scope(set())]  # the module's own code first (a script)
        self.class_attributes: list = [None]  # per class being walked: its attributes set from parameters
        self.assigned: dict = {}  # id of an assigned value -> the dotted names its statement binds

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.class_attributes.append(frozenset(_attributes_from_parameters(node)))
        self.generic_visit(node)
        self.class_attributes.pop()

    def visit_FunctionDef(self, node) -> None:
        parameters = _parameters(node)
        attributes = self.class_attributes[-1]
        instance = parameters[0] if attributes is not None and parameters else None
        outer = self.scopes[-1].outside if len(self.scopes) > 1 else set()
        self.scopes.append(_Scope(outer | set(parameters) - {instance}, instance, attributes or frozenset()))
        self.class_attributes.append(None)
        self.generic_visit(node)
        self.class_attributes.pop()
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        targets = {name for target in node.targets for name in dotted_names(target)}
        self.assigned[id(node.value)] = targets
        if isinstance(node.value, ast.Call) and _dotted(node.value.func) in LOADERS:
            self.scopes[-1].outside.update(name for name in targets if "." not in name)
        if made_here(node.value):
            self.scopes[-1].made.update(name for name in targets if "." not in name)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assigned[id(node.value)] = dotted_names(node.target)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        method = self._unknown_object_method(node.func)
        callees = changed_callees(self.changed, method) if method is not False else ()
        if callees:
            made = self.scopes[-1].made
            marked = {position for position, arg in enumerate(node.args) if _dotted(arg) in made}
            # what is given where a changed method takes the state may be one
            if method not in (None, *FORWARDS):
                found = _state_argument(node, self.changed.get(method, ()), lambda arg: not isinstance(arg, ast.Constant))
            else:
                found = _state_argument(node, callees, _stored)
            if found or looks_recurrent(node, self.assigned.get(id(node), set()), marked, callees):
                self.found.append(UnknownCall(node.lineno, node.col_offset + 1, ast.unparse(node), method))
        self.generic_visit(node)

    def _unknown_object_method(self, func: ast.AST):
        """None when `func` is an unknown object itself, the method name when it is an attribute of
        one; False when it is not an unknown object."""
        scope = self.scopes[-1]
        chain = _dotted(func)
        if chain is None:
            return False
        parts = chain.split(".")
        if parts[0] == scope.instance:
            if len(parts) < 2 or parts[1] not in scope.attributes:
                return False  # `self.fc(x)`: a layer the class made itself
            parts = parts[1:]
        elif parts[0] not in scope.outside:
            return False
        return parts[-1] if len(parts) > 1 else None


def _state_argument(call: ast.Call, changes: list, may_hold) -> bool:
    """Does the call pass, where one of `changes` takes the state, an argument that `may_hold` it?
    Where the state comes from (`self.buffer.h[t]`) the file alone cannot tell. For a method named
    as a changed one (`obj.act(...)`: no common word a layer or a loss answers to, as `net(x, y)`
    is) anything but a constant may; for the object itself (its forward()), what is kept in an
    object or storage (`_stored`)."""
    positional = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            break
        positional.append(arg)
    return any(
        position < len(positional) and may_hold(positional[position]) for change in changes for position in change.positions
    )


def _attributes_from_parameters(node: ast.ClassDef) -> set:
    """The attributes a class's methods set from one of their parameters (`self.policy = policy`)."""
    found = set()
    for method in node.body:
        if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        parameters = _parameters(method)
        if not parameters:
            continue
        for statement in ast.walk(method):
            if not isinstance(statement, ast.Assign) or not isinstance(statement.value, ast.Name):
                continue
            if statement.value.id in parameters[1:]:
                found |= {
                    target.attr for target in statement.targets
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == parameters[0]
                }
    return found
