"""Reads and writes that run the program's own code, reached where the walk cannot follow them:
properties and indexing (`__getitem__` / `__setitem__`).

`agent.hidden` of `@property def hidden(self): return self._h` runs the getter, and `buffer[i]`
of a class with `__getitem__` runs it: the walk follows both when it knows the object's class
(expressions.py), and a write through a setter that only stores its value in an attribute of
self is a write of that attribute (ProgramFlow.setter_store). A read of an attribute of that name
on an object of no known class, a write through any other setter, an index of an object that the joined classes alone show to be
such an instance, or a state stored through `__setitem__`, may hand the state to or take it from
that code unseen: once it carries (h, c), each is a crossing.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.boundary import Crossing
from gru2lstm.joined_calls import instances_by_root
from gru2lstm.program import FunctionInfo, ProgramFlow
from gru2lstm.solve import Solution
from gru2lstm.syntax import code_of
from gru2lstm.values import ELEM, ChildSlot, ReturnSlot, VSlot, is_element
from gru2lstm.vocab import ITEM_READER, ITEM_WRITER, ITERATOR


def accessor_crossings(flow: ProgramFlow, solution: Solution) -> list:
    return _property_crossings(flow, solution) + _item_crossings(flow, solution)


def _item_crossings(flow: ProgramFlow, solution: Solution) -> list:
    """An index of (or a loop over) an object the joined classes show to be an instance of a class
    of the program with `__getitem__` (`__iter__`) giving the state, which the walk did not tie to
    the class, and a state stored by index into one with `__setitem__`."""
    instances = instances_by_root(solution)

    def runs(base, name: str) -> Optional[FunctionInfo]:
        owners = _owners(solution, instances, base)
        return next((method for method in (flow.method(owner, name) for owner in owners) if method is not None), None)

    found = []
    for value, node in flow.iterations:
        iterator = runs(value, ITERATOR)
        given = ReturnSlot.of(iterator.key) if iterator is not None else None
        if given is not None and (solution.is_state(given) or solution.is_state(ChildSlot.of(given, ELEM))):
            found.append(Crossing(node, (
                f"iterating `{code_of(node)}` runs `{iterator.display_name}()`, which now gives (h, c) pairs, but the "
                f"engine cannot tell here which class `{code_of(node)}` is an instance of; annotate it with its class, or "
                "iterate the container the class keeps"
            )))
    for index in flow.indexes:
        reader = runs(index.base, ITEM_READER)
        if reader is not None and solution.is_state(ReturnSlot.of(reader.key)):
            found.append(Crossing(index.node, (
                f"`{code_of(index.node)}` runs `{reader.display_name}()`, which now returns (h, c), but the engine cannot "
                f"tell here which class `{code_of(index.node.value)}` is an instance of; annotate it with its class, or "
                "call a method of the class that returns the state"
            )))
    for binding in flow.bindings:
        target = binding.target
        if is_element(target) and isinstance(binding.target_node, cst.Subscript) and solution.is_state(target):
            writer = runs(VSlot(target.base, None), ITEM_WRITER)
            if writer is not None:
                found.append(Crossing(binding.target_node, (
                    f"`{code_of(binding.target_node)} = ...` stores the hidden state through `{writer.display_name}()`, "
                    "which the engine does not follow; store it through a method of the class, or migrate "
                    f"`{writer.display_name}()` by hand"
                )))
    return found


def _property_crossings(flow: ProgramFlow, solution: Solution) -> list:
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
    owners = _owners(solution, instances, base)
    return bool(owners) and not any(
        method is not None and method.is_property for method in (flow.method(owner, name) for owner in owners)
    )


def _owners(solution: Solution, instances, value) -> tuple:
    """The program classes the joined classes show `value` to be an instance of."""
    value = solution.resolved(value)
    return tuple(instances.owners.get(solution.classes.find(value.slot), ())) if isinstance(value, VSlot) else ()
