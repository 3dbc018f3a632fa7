"""A class that hands every attribute it lacks to an object it holds, by `__getattr__`.

An exploration wrapper that looks like the policy it wraps:

    def __getattr__(self, name):
        return getattr(self._policy, name)

`agent.init_hidden(n)` on such a wrapper runs the policy's method, and `agent.hidden_size` reads the
policy's attribute. Only that one-line form is followed (`delegated_attribute`; its `getattr` is no
crossing, calls.py): any other body of `__getattr__` may do anything with the object it reads, and
stays a crossing (boundary.py). The walk ties a read to the wrapped object's class where its name
does (a method or attribute only one class has); a read it could not tie that may give or take a
state is a crossing too (`unfollowed_delegations`).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import FunctionInfo, ProgramFlow
from gru2lstm.syntax import code_of, is_docstring
from gru2lstm.values import AttrSlot, InstanceSlot, LabelKind, SlotKind

__all__ = ["DELEGATING_METHOD", "delegate_of", "delegated_attribute", "is_delegating_call", "unfollowed_delegations", "wrapped_owners"]

DELEGATING_METHOD = "__getattr__"


def delegated_attribute(info: FunctionInfo) -> Optional[str]:
    """`A` when `info` is `def __getattr__(self, name): return getattr(self.A, name)` (a docstring
    aside), else None."""
    call = _delegating_call(info)
    return None if call is None else call.args[0].value.attr.value


def delegate_of(flow: ProgramFlow, owner: str) -> Optional[str]:
    """The attribute of `owner`'s instances that its one-line `__getattr__` hands reads to, or None."""
    info = flow.method(owner, DELEGATING_METHOD)
    return None if info is None else delegated_attribute(info)


def is_delegating_call(info: Optional[FunctionInfo], node: cst.Call) -> bool:
    """Is `node` the `getattr(self.A, name)` of the one-line `__getattr__` `info`?"""
    return info is not None and _delegating_call(info) is node


def wrapped_owners(flow: ProgramFlow, classes, owners: list) -> dict:
    """Delegating class key -> (its delegate attribute, the class of `owners` whose instance that
    attribute holds), for each delegating class when `owners` (classes whose methods change their
    contract) is not empty: the first of them when the joined classes do not say which it holds."""
    found = {}
    for owner in flow.classes if owners else ():
        attribute = delegate_of(flow, owner)
        if attribute is None:
            continue
        held = AttrSlot.of(owner, attribute)
        root = classes.find(held) if held in classes.parent else None
        inner = next((o for o in owners if InstanceSlot.of(o) in classes.parent and classes.find(InstanceSlot.of(o)) == root), owners[0])
        found[owner] = (attribute, inner)
    return found


def unfollowed_delegations(flow: ProgramFlow, classes, carrying: set) -> list:
    """(node, message) for each read through a delegating `__getattr__` that the walk left on the
    wrapper (`agent.act` where several classes have an `act`) and whose name is in `carrying` (a
    method that takes or returns the state, an attribute that holds one). `classes`: the solution's
    joined classes, which say which objects are instances of such a wrapper."""
    delegating = {owner: attribute for owner in flow.classes if (attribute := delegate_of(flow, owner)) is not None}
    roots = {classes.find(InstanceSlot.of(owner)): owner for owner in delegating if InstanceSlot.of(owner) in classes.parent}
    if not roots:
        return []
    own = {(slot.owner, slot.name) for slot, _ in flow.slot_nodes if slot.kind == SlotKind.ATTR and slot.owner in delegating}
    found = []
    for slot, node in flow.slot_nodes:
        if slot.kind != SlotKind.CHILD or slot.label.kind != LabelKind.ATTR or slot.base not in classes.parent:
            continue
        owner, name = roots.get(classes.find(slot.base)), slot.label.name
        if owner is None or name not in carrying or flow.method(owner, name) is not None or (owner, name) in own:
            continue
        held = f"{code_of(node.value)}.{delegating[owner]}" if isinstance(node, cst.Attribute) else f"self.{delegating[owner]}"
        found.append((node, (
            f"`{code_of(node)}` is read through `{owner.rpartition(':')[2]}.__getattr__`, which hands it to the object in "
            f"`self.{delegating[owner]}`, and the engine does not follow this read to that object's class, so what it "
            f"gives or takes would still be one tensor where (h, c) is; read it from that object (`{held}.{name}`)"
        )))
    return found


def _delegating_call(info: FunctionInfo) -> Optional[cst.Call]:
    """The `getattr(self.A, name)` that the one-line `__getattr__` `info` returns, or None."""
    node = info.node
    if node.name.value != DELEGATING_METHOD or info.self_name is None or len(info.params) != 1 or info.variadic:
        return None
    lines = list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else [node.body]
    if len(lines) == 2 and is_docstring(lines[0]):
        lines = lines[1:]
    simple = len(lines) == 1 and isinstance(lines[0], (cst.SimpleStatementLine, cst.SimpleStatementSuite))
    if not simple or len(lines[0].body) != 1 or not isinstance(lines[0].body[0], cst.Return):
        return None
    call = lines[0].body[0].value
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "getattr" and len(call.args) == 2):
        return None
    if any(arg.keyword is not None or arg.star for arg in call.args):
        return None
    held, name = (arg.value for arg in call.args)
    if not (isinstance(held, cst.Attribute) and isinstance(held.value, cst.Name) and held.value.value == info.self_name):
        return None
    if not (isinstance(name, cst.Name) and name.value == info.params[0][0]):
        return None
    return call
