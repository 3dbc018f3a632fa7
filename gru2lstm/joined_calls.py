"""Calls that only the joined classes resolve (solve.py binds them, boundary.py reports those it
cannot): what calling a value may run, a module's forward() or a method of a class of the program
whose instances it holds, and the arguments of a call with `**inputs` of a dict of constant keys
given as keywords."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from gru2lstm.values import InstanceSlot, LabelKind, SlotKind, VSlot

if TYPE_CHECKING:
    from gru2lstm.slot_classes import Classes
    from gru2lstm.solve import Solution


@dataclass
class JoinedInstances:
    """What the joined classes hold, true until the next union of the classes: the program classes
    whose instances each holds (root -> their keys, in the program's order), and, found when first
    asked (most programs never need them), the attributes `obj.m` each holds (root -> those slots),
    of which a bound method is one (`act = policy.forward`)."""

    classes: "Classes"
    owners: dict
    attributes: Optional[dict] = None

    def attributes_of(self, root) -> list:
        if self.attributes is None:
            self.attributes = {}
            for slot in list(self.classes.parent):
                if is_attribute(slot):
                    self.attributes.setdefault(self.classes.find(slot), []).append(slot)
        return self.attributes.get(root, [])


def instances_by_root(solution: "Solution") -> JoinedInstances:
    classes = solution.classes
    owners: dict = {}
    for owner in solution.flow.classes:
        slot = InstanceSlot.of(owner)
        if slot in classes.parent:
            owners.setdefault(classes.find(slot), []).append(owner)
    return JoinedInstances(classes, owners)


def called_methods(solution: "Solution", instances: JoinedInstances, slot) -> list:
    """What calling the value in `slot` may run, by the joined classes (instances_by_root): the
    forward() of each program class whose instances it holds, or the method `m` of each whose
    instances hold the object of an attribute `obj.m` that it is, or else that it holds (a bound
    method kept: `self.act = policy.forward; self.act(obs, h)`)."""
    flow, classes = solution.flow, solution.classes
    root = classes.find(slot)

    def methods(attributes) -> list:
        return [
            flow.method(owner, attribute.label.name)
            for attribute in attributes if attribute.base in classes.parent
            for owner in instances.owners.get(classes.find(attribute.base), ())
        ]

    found = [flow.forward_of(owner) for owner in instances.owners.get(root, ())]
    found += methods([slot] if is_attribute(slot) else [])
    if not any(found):
        found = methods(instances.attributes_of(root))
    return [method for method in found if method is not None]


def is_attribute(slot) -> bool:
    return slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.ATTR


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
