"""Calls that only the joined classes resolve (solve.py binds them, boundary.py reports those it
cannot): what calling a value may run, a module's forward() or a method of a class of the program
whose instances it holds, and the arguments of a call with `**inputs` of a dict of constant keys
given as keywords."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from gru2lstm.values import InstanceSlot, LabelKind, SlotKind, VSlot

if TYPE_CHECKING:
    from gru2lstm.solve import Solution


def instances_by_root(solution: "Solution") -> dict:
    """The program classes whose instances each joined class holds (its root -> their keys, in the
    program's order); true until the next union of the classes."""
    classes = solution.classes
    found: dict = {}
    for owner in solution.flow.classes:
        slot = InstanceSlot.of(owner)
        if slot in classes.parent:
            found.setdefault(classes.find(slot), []).append(owner)
    return found


def called_methods(solution: "Solution", instances: dict, slot) -> list:
    """What calling the value in `slot` may run, by the joined classes (`instances`:
    instances_by_root): the forward() of each program class whose instances it holds, or the
    method `m` of each whose instances hold the object of an attribute `obj.m`."""
    flow, classes = solution.flow, solution.classes
    found = [flow.forward_of(owner) for owner in instances.get(classes.find(slot), ())]
    if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.ATTR and slot.base in classes.parent:
        found += [flow.method(owner, slot.label.name) for owner in instances.get(classes.find(slot.base), ())]
    return [method for method in found if method is not None]


def with_keywords_unpacked(solution: "Solution", args: list) -> Optional[list]:
    """The (keyword, value, arg) of a call with each `**inputs` of a dict whose keys are all
    constants given as keywords (`inputs["hidden"]` as `hidden=`); None when a `*` or `**`
    argument cannot be told apart (a list, a dict with keys that are not constants)."""
    unpacked = []
    for keyword, value, arg in args:
        if not arg.star:
            unpacked.append((keyword, value, arg))
            continue
        value = solution.resolved(value)
        if arg.star != "**" or not isinstance(value, VSlot) or value.slot not in solution.classes.parent:
            return None
        parts = solution.classes.parts.get(solution.classes.find(value.slot), {})
        if not parts or any(label.kind != LabelKind.KEY for label in parts):
            return None
        unpacked += [(label.key, VSlot(part, arg.value), arg) for label, part in parts.items()]
    return unpacked
