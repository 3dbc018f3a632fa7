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
- the statement takes back a value it passes after the first argument (`out, h = net(x, h)`),
  or the call passes a keyword named like a parameter whose contract changes (`net(obs, hidden=h)`).

It is refused (G2L101) when the group changes the contract of a forward() (for `net(...)`) or of
a method of the same name (for `agent.act(...)`): which object it is, only the person can say.
This module finds such calls in files outside the group with the stdlib `ast` (project.py asks);
boundary.py finds them in the group's own code with the engine's analysis, through
`looks_recurrent` and `changed_callees`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

from gru2lstm.findings import new_finding
from gru2lstm.vocab import LOADERS

__all__ = ["UnknownCall", "changed_callees", "changed_methods", "looks_recurrent", "unknown_calls", "unknown_call_finding"]

FORWARDS = ("forward", "__call__")  # what calling an object itself runs


@dataclass(frozen=True)
class UnknownCall:
    """A call of an object the engine cannot identify, shaped like a recurrent loop."""

    line: int
    column: int
    code: str  # `net(obs, hidden=hidden)`
    method: Optional[str]  # `act` of `agent.act(...)`; None when the object itself is called


def looks_recurrent(targets: set, passed: set, keywords: set, parameters: set) -> bool:
    """`targets`: what the statement assigns (dotted names); `passed`: the dotted names passed
    after the first argument, by position or keyword; `keywords`: the keywords given;
    `parameters`: the names of the parameters that become (h, c) in what it may call."""
    return bool(targets & passed) or bool(keywords & parameters)


def changed_methods(methods) -> dict:
    """(method name, display name, names of its parameters that take the state), of each changed
    method -> method name -> [(display name, parameter names)]."""
    changed: dict = {}
    for name, display, parameters in methods:
        changed.setdefault(name, []).append((display, frozenset(parameters)))
    return changed


def changed_callees(changed: dict, method: Optional[str]) -> list:
    """What a call of an unknown object may run among `changed` (method name -> [what changes]):
    the forward() of a module for the object itself; for `obj.m(...)` a method `m`, or the
    forward() of a module held in `obj.m`."""
    found = [change for name in FORWARDS for change in changed.get(name, ())]
    if method is not None and method not in FORWARDS:
        found = list(changed.get(method, ())) + found
    return found


def unknown_calls(tree: ast.Module, changed: dict) -> list:
    """The UnknownCalls of a file that may run one of `changed` (method name -> [(display name,
    {parameter names that become (h, c)})]), in source order."""
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
        f"{call.line} on an object the engine cannot identify, in the shape of a recurrent loop, so if it is this "
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


def _targets(node: ast.AST) -> set:
    if isinstance(node, (ast.Tuple, ast.List)):
        return {name for element in node.elts for name in _targets(element)}
    if isinstance(node, ast.Starred):
        return _targets(node.value)
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


class _UnknownCallFinder(ast.NodeVisitor):
    """Walks a file with, in scope, the names that hold an object from outside."""

    def __init__(self, changed: dict) -> None:
        self.changed = changed
        self.found: list = []
        self.scopes: list = [_Scope(set())]  # the module's own code first (a script)
        self.class_attributes: list = [None]  # per class being walked: its attributes set from parameters

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
        targets = {name for target in node.targets for name in _targets(target)}
        self._check(node.value, targets)
        if isinstance(node.value, ast.Call) and _dotted(node.value.func) in LOADERS:
            self.scopes[-1].outside.update(name for name in targets if "." not in name)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._check(node.value, _targets(node.target))
        self.generic_visit(node)

    def _check(self, value: ast.AST, targets: set) -> None:
        if not isinstance(value, ast.Call):
            return
        method = self._unknown_object_method(value.func)
        if method is False:
            return
        callees = changed_callees(self.changed, method)
        if not callees:
            return
        passed = {_dotted(arg) for arg in value.args[1:]} | {_dotted(keyword.value) for keyword in value.keywords}
        keywords = {keyword.arg for keyword in value.keywords if keyword.arg}
        parameters = {name for _, names in callees for name in names}
        if looks_recurrent(targets, passed - {None}, keywords, parameters):
            self.found.append(UnknownCall(value.lineno, value.col_offset + 1, ast.unparse(value), method))

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
