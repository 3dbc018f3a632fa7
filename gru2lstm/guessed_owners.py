"""Attributes tied to a class by their name alone, where the object turns out to be something else.

`agent.model.gru` on an object of no known class is taken for the attribute of the one class of
the program that has an attribute of that name (expressions._field_slot): most often that is the
object. But `cfg.hidden` of `cfg = argparse.Namespace(hidden=12)` handed to `Agent(cfg)` is taken
for `Agent.hidden`, the state, and became `cfg.hidden[0]`. Once the state is placed, a guess whose
object is bound, anywhere the joined classes reach, to a value of a library (a call of a function
or class the program does not define, a tensor, a torch.nn module) or to an instance of another
class of the program whose body gives the attribute (`class Cfg: hidden = 8`), and never to an
instance of the class guessed, is no such attribute: the walk is made again without those guesses
(`misguessed`; migrate.py), each read then a field of its own object. A call tied to the one method of
the program so named (`env.reset()` -> `Agent.reset()`) is undone the same way when that method's
contract holds the state and the object is shown to be a library's value. A guess left whose object
is bound to a value of a library is a crossing; so is one given to a parameter of that class's `__init__`
(`def main(cfg)` run by a framework, `Agent(cfg)`: nothing else shows what `cfg` is), and one
that is only a parameter of a function no code of the program calls, where no instance of the
class is ever bound and the function reads no other attribute of that class on it (`def
main(cfg)` … `cfg.hidden * 0.5`: nothing shows it is an `Agent`; `rollout.start` beside
`rollout.stacked()` of `Rollout` is one)."""

from __future__ import annotations

import ast
from typing import Optional

import libcst as cst

from gru2lstm.boundary import Crossing, state_carriers
from gru2lstm.program import FunctionInfo, ProgramFlow
from gru2lstm.solve import Solution
from gru2lstm.syntax import code_of, walk
from gru2lstm.values import AttrSlot, DefSlot, InstanceSlot, VCreate, VCtor, VOpaque, VSlot


def misguessed(flow: ProgramFlow, solution: Solution) -> frozenset:
    """The ids of the guesses whose object is shown to be something else, and never an instance
    of the class guessed: a value made by a library (`cfg.hidden` of `cfg =
    types.SimpleNamespace(hidden=8)`) or an instance of a class of the program whose body gives
    the attribute (`class Cfg: hidden = 8`). The walk is made again without them, each read then
    a field of its own object."""
    library = _library_classes(flow, solution)
    return frozenset(
        id(node) for node, base, owner, name in flow.guessed_attributes
        if isinstance(base, VSlot) and _changed_by_the_migration(solution, AttrSlot.of(owner, name))
        and _shown_otherwise(flow, solution, base.slot, owner, name, library)
    ) | _misguessed_methods(flow, solution, flow, library)


def _misguessed_methods(flow: ProgramFlow, solution: Solution, first: ProgramFlow, library: set) -> frozenset:
    """The ids of the calls `obj.name(...)` of `first` tied to the one method of the program so
    named, whose contract holds the state, where every object `obj` names is shown to be something
    else (`env.reset()` of an environment a library made, beside `Agent.reset()`)."""
    shown = [
        (func, key) for func, key in first.guessed_methods.values()
        if (slots := flow.slots_at(func.value)) and all(_shown_otherwise(flow, solution, slot, key.owner, key.name, library) for slot in slots)
    ]
    carriers = state_carriers(flow, solution) if shown else {}  # asked only then: it visits every function
    return frozenset(id(func) for func, key in shown if key in carriers)


def _changed_by_the_migration(solution: Solution, slot) -> bool:
    """Does the attribute guessed hold the state or the recurrent module? Only then does the
    guess change what is written, and the walk is worth making again (a size, `cfg.hidden_size`,
    does not)."""
    return solution.is_state(slot) or solution.holder_kind(slot) is not None


def still_misguessed(flow: ProgramFlow, solution: Solution, first: ProgramFlow) -> bool:
    """After the walk made again without `flow.unguessed`: is an object not tied any more no
    longer shown to be something else than the class it was taken for?"""
    library = _library_classes(flow, solution)
    untied_calls = {id(func) for func, _ in first.guessed_methods.values()} & flow.unguessed
    return any(
        id(node) in flow.unguessed and not _shown_otherwise(flow, solution, base.slot, owner, name, library)
        for node, base, owner, name in first.guessed_attributes if isinstance(base, VSlot)
    ) or not untied_calls <= _misguessed_methods(flow, solution, first, library)


def _shown_otherwise(flow: ProgramFlow, solution: Solution, slot, owner: str, name: str, library: set) -> bool:
    """Does the object at `slot` hold a library's value or an instance of a class whose body gives
    `name`, and no instance of `owner`?"""
    classes = solution.classes
    if slot not in classes.parent:
        return False
    root = classes.find(slot)
    if _in_class(classes, InstanceSlot.of(owner), root):
        return False
    return root in library or any(
        _in_class(classes, InstanceSlot.of(key), root) for key, node in flow.classes.items() if key != owner and name in _class_body_names(node)
    )


def _class_body_names(node: cst.ClassDef) -> set:
    """The names a class body binds by assignment (`hidden = 8`, `hidden: int = 8`)."""
    return {
        target.value
        for line in node.body.body if isinstance(line, cst.SimpleStatementLine)
        for small in line.body
        for target in ([t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target] if isinstance(small, cst.AnnAssign) else [])
        if isinstance(target, cst.Name)
    }


def untied_reads_of(first: ProgramFlow, flow: ProgramFlow, parents: dict) -> dict:
    """Module key -> the reads not tied any more, as the output check spells them (`cfg.hidden`),
    but those spelled like a read still tied in that module. `parents`: each module's parent map."""
    def spelled(guesses) -> dict:
        found: dict = {}
        for node, *_ in guesses:
            key = next((key for key, parent_map in parents.items() if node in parent_map), None)
            found.setdefault(key, set()).add(ast.unparse(ast.parse(code_of(node).strip(), mode="eval").body))
        return found

    tied = spelled(flow.guessed_attributes)
    freed = spelled(guess for guess in first.guessed_attributes if id(guess[0]) in flow.unguessed)
    return {key: frozenset(reads - tied.get(key, set())) for key, reads in freed.items()}


def _library_classes(flow: ProgramFlow, solution: Solution) -> set:
    """The classes of the values made by a library."""
    return {solution.classes.find(binding.target) for binding in flow.bindings if _of_a_library(flow, binding.value)}


def guessed_crossings(flow: ProgramFlow, solution: Solution) -> list:
    classes = solution.classes
    library = _library_classes(flow, solution)
    found = []
    for node, base, owner, name in flow.guessed_attributes:
        slot = AttrSlot.of(owner, name)
        if not solution.is_state(slot) or not isinstance(base, VSlot):
            continue
        root = classes.find(base.slot)
        why = (
            "a value made by a library" if root in library
            else _given_to_constructor(flow, solution, owner, root) or _given_to_an_uncalled_function(flow, solution, owner, root)
        )
        if why is not None:
            found.append(Crossing(node, (
                f"`{code_of(node)}` is taken for the attribute `{name}` of `{owner.rpartition(':')[2]}` (the one class of the "
                f"program that has it), which holds the hidden state, but `{code_of(node.value)}` also holds {why}, "
                f"which is no instance of that class; give the attribute that holds the state a name of its own"
            )))
    return found


def _given_to_constructor(flow: ProgramFlow, solution: Solution, owner: str, root) -> Optional[str]:
    """Why the object of class `root` is a value given to `owner`'s constructor (`Agent(cfg)`, a
    config read as `cfg.hidden` in `Agent.__init__`), else None."""
    init = flow.method(owner, "__init__")
    for param in _parameters_in(solution.classes, init, root) if init is not None else ():
        return f"the value given to the parameter `{param.name}` of `{owner.rpartition(':')[2]}.__init__()`"
    return None


def _given_to_an_uncalled_function(flow: ProgramFlow, solution: Solution, owner: str, root) -> Optional[str]:
    """Why the object of class `root`, to which no instance of `owner` is bound, is a parameter of
    a function that no followed call runs (an entry point a framework calls) and on which that
    function reads no other attribute of `owner`, else None."""
    classes = solution.classes
    if _in_class(classes, InstanceSlot.of(owner), root):
        return None
    for info in flow.functions.values():
        if info.key in flow.called:
            continue
        for param in _parameters_in(classes, info, root):
            if not _reads_others_of(flow, classes, owner, info.node, param.name):
                return f"the value given to the parameter `{param.name}` of `{info.node.name.value}()` (a function no code of the program calls)"
    return None


def _parameters_in(classes, info: FunctionInfo, root) -> list:
    """The parameters of `info` whose values the class `root` holds."""
    return [param for param in info.params if _in_class(classes, DefSlot.of(id(param.node.name)), root)]


def _in_class(classes, slot, root) -> bool:
    """Is `slot` one of the class `root` (without adding a slot the solver never met)?"""
    return slot in classes.parent and classes.find(slot) == root


def _reads_others_of(flow: ProgramFlow, classes, owner: str, function: cst.FunctionDef, name: str) -> bool:
    """Does `function` read, on its parameter `name`, two attributes or methods of `owner`?"""
    read = {
        node.attr.value for node in walk(function.body)
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == name
    }
    return sum(AttrSlot.of(owner, attribute) in classes.parent or flow.method(owner, attribute) is not None for attribute in read) > 1


def _of_a_library(flow: ProgramFlow, value) -> bool:
    """Is `value` made by code the program does not define (and not by a file not migrated with it)?"""
    if isinstance(value, (VCtor, VCreate)):
        return True
    node = getattr(value, "node", None)
    return isinstance(value, VOpaque) and isinstance(node, cst.Call) and id(node) not in flow.outside_calls
