"""What a call changes in place, beside a method ending in `_` (the tensor it is called on): the
arguments a torch or numpy function changes (vocab.CHANGED_*: its first when its name ends in `_`
or it is given `inplace=True`, the one given as `out=`), and whose storage a changed view is
(`row` of `row.data.zero_()`, `row[:, 0] = 0`, `row.detach().mul_(m)`); and what changes, or may
change, the tensor a place holds once it is made (a table of zeros that `fill_(0.5)` fills)."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.qualnames import dotted
from gru2lstm.values import Derivation, Slot, SlotKind, Value, VDerived, VSlot
from gru2lstm.vocab import (
    CHANGED_FIRST_ARGUMENT, CHANGED_OUT_ARGUMENT, COMPUTING_NAMES, COPYING_METHODS, FORMATTING_BUILTINS, IN_PLACE_FLAG,
    IN_PLACE_SUFFIX, KEEP_ATTRIBUTES, TENSOR_LIBRARY_PREFIXES, VIEW_METHODS,
)


def changed_arguments(call: cst.Call, qualified: set) -> list:
    """The argument expressions the library function `call` (of the qualified names `qualified`)
    changes in place; empty for a call that changes none, or of no tensor library."""
    if not any(name.startswith(TENSOR_LIBRARY_PREFIXES) for name in qualified):
        return []
    changed = [CHANGED_OUT_ARGUMENT]
    if any(name.endswith(IN_PLACE_SUFFIX) for name in qualified) or flagged(call):
        changed.append(CHANGED_FIRST_ARGUMENT)
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    found = []
    for position, keywords in changed:
        found += [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value in keywords]
        if position is not None and position < len(positional):
            found.append(positional[position].value)
    return found


def flagged(call: cst.Call, flag: str = IN_PLACE_FLAG) -> bool:
    """Is the call given the keyword `flag` (`inplace=True`, `requires_grad=True`) with a value that may be true?"""
    return any(
        arg.keyword is not None and arg.keyword.value == flag
        and not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
        for arg in call.args
    )


def changed_storage(node: cst.BaseExpression) -> cst.BaseExpression:
    """The expression whose storage an in-place change of `node` changes: `row` of `row[:, 0]`,
    `row.data`, `row.detach()`, `row.view(-1)`."""
    while True:
        if isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Attribute) and node.attr.value in KEEP_ATTRIBUTES:
            node = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in VIEW_METHODS:
            node = node.func.value
        else:
            return node


def change_after_made(flow, resolutions, slot, seen: frozenset = frozenset()) -> Optional[cst.CSTNode]:
    """The first code that changes, or may change, the tensor a place holds once it is made: an
    augmented assignment (`t += 0.5`), a write into an item or a view of it (`t[1] = 1.0`,
    `t.data[1] = 1.0`), a method ending in `_` (`t.fill_(0.5)`, `t.data.normal_()`,
    `t.requires_grad_()`), a library function that changes an argument (`nn.init.normal_(t)`), a call
    the walk does not follow that it is handed to (`torch.optim.SGD([t])`), or any of these on a name
    or parameter bound to it (`u = t; u.add_(1)`); a container or a caller it goes to may change it too.
    None when the place is only read."""
    seen = seen | {slot}
    for node in [node for read, node in flow.slot_nodes if _within(read, slot)]:
        change = _change_at(flow, node)
        if change is not None:
            return change
    for binding in flow.bindings:
        if binding.target in seen or not _aliases(resolutions, binding.value, slot):
            continue
        if binding.target.kind not in (SlotKind.DEF, SlotKind.ATTR, SlotKind.GLOBAL):
            return binding.statement  # stored, or returned: where it goes, it may be changed
        change = change_after_made(flow, resolutions, binding.target, seen)
        if change is not None:
            return change
    return None


def _within(read: Slot, slot: Slot) -> bool:
    """Is `read` the place `slot`, or an item of it (`t[1]`)?"""
    while read.kind == SlotKind.CHILD and read != slot:
        read = read.base
    return read == slot


def _aliases(resolutions, value: Value, slot: Slot) -> bool:
    """Is `value` the tensor `slot` holds, an item of it or a chain on it that may share its storage
    (not a copy, not a size or a number read from it)?"""
    if resolutions.chain_kind(value) == Derivation.READ:
        return False
    value = resolutions.resolved(value)
    while isinstance(value, VDerived):
        if isinstance(value.node, cst.Call) and isinstance(value.node.func, cst.Attribute) and value.node.func.attr.value in COPYING_METHODS:
            return False
        value = resolutions.resolved(value.base)
    return isinstance(value, VSlot) and _within(value.slot, slot)


def _change_at(flow, node: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The code that changes, or may change, the tensor read at `node` (see change_after_made)."""
    top, above = _storage_use(flow, node)
    if isinstance(above, cst.AugAssign) and above.target is top:
        return above
    if isinstance(above, (cst.AssignTarget, cst.AnnAssign)) and above.target is top and (top is not node or isinstance(top, cst.Subscript)):
        return _parent(flow, above) if isinstance(above, cst.AssignTarget) else above
    call = _parent(flow, above)
    if isinstance(above, cst.Attribute) and above.attr.value.endswith(IN_PLACE_SUFFIX) and isinstance(call, cst.Call) and call.func is above:
        return call
    while isinstance(above, (cst.Element, cst.List, cst.Tuple)):  # `SGD([t])`: handed inside a display
        above = _parent(flow, above)
    call = _parent(flow, above)
    if not isinstance(above, cst.Arg) or not isinstance(call, cst.Call):
        return None
    if any(changed is above.value for changed in flow.changed_arguments.get(id(call), ())):
        return call
    if id(call) in flow.runs:
        return None  # a function of the program: its parameter is bound to the tensor (change_after_made follows it)
    name = (dotted(call.func) or "").rpartition(".")[2]
    return None if name in COMPUTING_NAMES | FORMATTING_BUILTINS else call


def _storage_use(flow, node: cst.CSTNode) -> tuple:
    """The largest expression over `node` that is still its storage (`t[1]`, `t.data`, `t.view(-1)`,
    the reverse of changed_storage), and the node above it."""
    while True:
        above = _parent(flow, node)
        if isinstance(above, cst.Subscript) and above.value is node:
            node = above
        elif isinstance(above, cst.Attribute) and above.value is node and above.attr.value in KEEP_ATTRIBUTES:
            node = above
        elif isinstance(above, cst.Attribute) and above.value is node and above.attr.value in VIEW_METHODS and _called(flow, above):
            node = _parent(flow, above)
        else:
            return node, above


def _called(flow, attribute: cst.Attribute) -> bool:
    call = _parent(flow, attribute)
    return isinstance(call, cst.Call) and call.func is attribute


def _parent(flow, node: cst.CSTNode) -> Optional[cst.CSTNode]:
    return next((parents[node] for parents in flow.module_parents.values() if node in parents), None)
