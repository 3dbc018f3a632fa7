"""Properties that carry the hidden state, reached where the walk cannot follow them.

`agent.hidden` of `@property def hidden(self): return self._h` runs the getter: the walk follows
it when it knows the object's class (expressions.py). A read of an attribute of that name on an
object of no known class, or a write through the property's setter, may hand the state to or take
it from the getter or setter unseen: once the property returns (h, c), each is a crossing.
"""

from __future__ import annotations

from gru2lstm.boundary import Crossing
from gru2lstm.joined_calls import instances_by_root
from gru2lstm.program import ProgramFlow
from gru2lstm.solve import Solution
from gru2lstm.syntax import code_of
from gru2lstm.values import ReturnSlot, VSlot


def property_crossings(flow: ProgramFlow, solution: Solution) -> list:
    carrying = {
        info.key.name: info.display_name
        for info in flow.functions.values()
        if info.is_property and solution.is_state(ReturnSlot.of(info.key))
    }
    if not carrying:
        return []
    instances = instances_by_root(solution)
    found = []
    for name, node, base, written in flow.property_access:
        if name not in carrying or _plain_attribute(flow, solution, instances, base, name):
            continue
        code = code_of(node)
        if written:
            message = (
                f"`{code} = ...` sets the property `{carrying[name]}` through its setter, which the engine does not follow, "
                "and the property now holds (h, c); set the attribute the setter writes instead, or migrate the setter by hand"
            )
        else:
            message = (
                f"`{code}` may read the property `{carrying[name]}`, which now returns (h, c), but the engine cannot tell "
                f"which class `{code_of(node.value)}` is an instance of; annotate it with its class, or read the state "
                "through the class's own attribute or method"
            )
        found.append(Crossing(node, message))
    return found


def _plain_attribute(flow: ProgramFlow, solution: Solution, instances, base, name: str) -> bool:
    """Do the joined classes show the object to be an instance only of classes without that
    property (`seq[0].hidden` of a record with a field `hidden`)?"""
    base = solution.resolved(base)
    owners = instances.owners.get(solution.classes.find(base.slot), ()) if isinstance(base, VSlot) else ()
    return bool(owners) and not any(
        method is not None and method.is_property for method in (flow.method(owner, name) for owner in owners)
    )
