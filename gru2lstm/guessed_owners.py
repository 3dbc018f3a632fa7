"""Attributes tied to a class by their name alone, where the object turns out to be something else.

`agent.model.gru` on an object of no known class is taken for the attribute of the one class of
the program that has an attribute of that name (expressions._field_slot): most often that is the
object. But `cfg.hidden` of `cfg = argparse.Namespace(hidden=12)` handed to `Agent(cfg)` is taken
for `Agent.hidden`, the state, and became `cfg.hidden[0]`. Once the state is placed, a guess whose
object is bound, anywhere the joined classes reach, to a value of a library (a call of a function
or class the program does not define, a tensor, a torch.nn module) is a crossing: that object is
no instance of the program's class."""

from __future__ import annotations

import libcst as cst

from gru2lstm.boundary import Crossing
from gru2lstm.program import ProgramFlow
from gru2lstm.solve import Solution
from gru2lstm.syntax import code_of
from gru2lstm.values import AttrSlot, VCreate, VCtor, VOpaque, VSlot


def guessed_crossings(flow: ProgramFlow, solution: Solution) -> list:
    classes = solution.classes
    library = {classes.find(binding.target) for binding in flow.bindings if _of_a_library(flow, binding.value)}
    found = []
    for node, base, owner, name in flow.guessed_attributes:
        slot = AttrSlot.of(owner, name)
        if not solution.is_state(slot) or not isinstance(base, VSlot):
            continue
        if classes.find(base.slot) in library:
            what = code_of(node.value)
            found.append(Crossing(node, (
                f"`{code_of(node)}` is taken for the attribute `{name}` of `{owner.rpartition(':')[2]}` (the one class of the "
                f"program that has it), which holds the hidden state, but `{what}` also holds a value made by a library, "
                f"which is no instance of that class; give the attribute that holds the state a name of its own"
            )))
    return found


def _of_a_library(flow: ProgramFlow, value) -> bool:
    """Is `value` made by code the program does not define (and not by a file not migrated with it)?"""
    if isinstance(value, (VCtor, VCreate)):
        return True
    node = getattr(value, "node", None)
    return isinstance(value, VOpaque) and isinstance(node, cst.Call) and id(node) not in flow.outside_calls
