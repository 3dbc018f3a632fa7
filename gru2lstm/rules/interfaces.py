"""The edge of the analysis: callers the walk cannot see are reported (G2L101: boundary.py,
duck_calls.py for a call through an object nothing identifies, saved_states.py for states in
files), and every function whose parameters or return hold the state is listed as an interface
change (G2L202 when no caller was found; in packed form a state from callers not analysed is
refused, unless it is one that code here outside the class hands to another of its methods, and so
is one of a method no code analysed calls whose class derives from a library's)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Optional

import libcst as cst

from gru2lstm.boundary import (
    crossings, describe, holds_state_inside, interface_changes, returns_inside_only, module_attributes, parameter_names, state_attributes,
    state_globals, takes_state,
)
from gru2lstm.accessors import accessor_crossings
from gru2lstm.guessed_owners import guessed_crossings
from gru2lstm.findings import new_finding
from gru2lstm.program import BindingKind, FunctionInfo
from gru2lstm.results import ChangedMember, InterfaceChange, UncalledModule
from gru2lstm.values import DefSlot, Derivation, ReturnSlot, SlotKind, VChoice, VContainer, VCreate, VDerived, VOpaque, VSlot, VTuple
from gru2lstm.vocab import STATE_RANKS
from gru2lstm.rules.packed_ranks import sizes_given
from gru2lstm.saved_states import file_crossings
from gru2lstm.rules.base import Invalid, Rule
from gru2lstm.syntax import code_of, enclosing_function, walk


def _owner(slot) -> str:
    """What a member is read from elsewhere: its class (`Agent`), or its module (`agent.hidden` after `import agent`)."""
    return PurePath(slot.module).stem if slot.kind == SlotKind.GLOBAL else slot.owner.rpartition(":")[2]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass
class UnpairedCreator:
    """A function beside an uncalled forward() that makes a new tensor shaped like the hidden state for callers."""

    function: FunctionInfo
    allocation: cst.Call
    called: bool  # code here calls the function (its tensor reaches forward() by a call not followed)
    stored_in: Optional[cst.Attribute] = None  # `self.h` it stores the tensor in, when it does not return it
    read_elsewhere: bool = False  # code here reads that attribute, none of it the function beside or what it calls on self
    made_in: Optional[str] = None  # the file not analysed whose function made it (`blank(n, H)` of utils.py): it may be such a tensor


def _unpaired_creators(ctx, change, made: list, reported: set) -> list:
    """An UnpairedCreator for each function beside `change`'s (a method of its class, its own or
    inherited from a base, or a function of its module) that makes a tensor for callers
    (`_made_for_callers`) of the hidden state's rank: an `initial_state()` or `reset()` meant for
    callers to hand to forward(), whose tensor would stay one tensor while forward() takes (h, c).
    One that code here calls (`called`) hands its tensor to forward() by a call not followed
    (`self.policy(x, h)` of an object of unknown class), since no call of forward() was found.
    Reported when no code of the project calls forward() (project.refuse_uncalled_contracts)."""
    if not takes_state(change.carriers):
        return []
    flow, beside = ctx.flow, change.function
    feeding = None  # ids of the functions whose reads of an attribute may hand it to `beside` (found at the first stored one)
    found = []
    for info, allocations, stored_in, readers in made:
        if not _beside(flow, info, beside) or info.key == beside.key:
            continue
        if readers:
            feeding = _feeding(flow, beside) if feeding is None else feeding
            if readers & feeding:
                continue
        for allocation in allocations:
            if id(allocation) not in reported:
                reported.add(id(allocation))
                found.append(UnpairedCreator(
                    info, allocation, info.key in flow.called, stored_in, bool(readers), flow.outside_calls.get(id(allocation)),
                ))
    return found


def _feeding(flow, function) -> set:
    """The ids of `function` and of the methods of its class it calls on its object (`self._core(x)`):
    where a read of an attribute may hand it on to what `function` takes."""
    found = {id(function.node)}
    if function.class_name is None or function.self_name is None:
        return found
    for node in walk(function.node.body):
        if type(node) is cst.Call and isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name) \
                and node.func.value.value == function.self_name:  # children.py: why `type`
            method = flow.method(function.class_name, node.func.attr.value)
            if method is not None:
                found.add(id(method.node))
    return found


def _made_for_callers(ctx) -> list:
    """(function, its new tensors of the hidden state's rank, the attribute stored in or None, the
    ids of the functions that read that attribute) of what each function returns that is no
    state, and of what a method stores in an attribute of its object that holds no state
    (`self.h = torch.zeros(...)` in reset(), for callers to read; code here may read it too, to
    log its norm: `_unpaired_creators` tells). Only those that make such a tensor."""
    flow, solution = ctx.flow, ctx.solution
    ranks = {STATE_RANKS[kind] for kind in solution.recurrent_calls.values()}
    bound = {}  # attribute or local -> the values bound to it
    for binding in flow.bindings:
        if binding.target.kind in _FRESH_HOLDERS:
            bound.setdefault(binding.target, []).append(binding.value)

    def of_rank(value) -> list:
        if isinstance(value, VOpaque) and id(value.node) in flow.outside_calls:
            return [value.node]  # made by a function of a file not analysed (`blank(n, H)` of utils.py): its rank is not known
        return [allocation for allocation in _allocations(bound, value) if sizes_given(allocation) in ranks]

    made = [(info, of_rank(value), None, frozenset()) for info, _, value in flow.returns if not solution.is_state(ReturnSlot.of(info.key))]
    stored = [
        binding for binding in flow.bindings
        if binding.kind == BindingKind.ASSIGN and binding.function is not None and binding.target.kind == SlotKind.ATTR
        and binding.target.owner == binding.function.class_name and not solution.is_state(binding.target)
    ]
    if stored:
        written = {id(binding.target_node) for binding in flow.bindings}
        targets = {binding.target for binding in stored}
        readers = {}
        for slot, node in flow.slot_nodes:
            if slot in targets and id(node) not in written:
                readers.setdefault(slot, set()).add(id(enclosing_function(ctx.parents, node)))
        made += [(binding.function, of_rank(binding.value), binding.target_node, frozenset(readers.get(binding.target, ()))) for binding in stored]
    return [entry for entry in made if entry[1]]


def _unpaired_message(ctx, change, creator: UnpairedCreator) -> str:
    made = (
        f"`{creator.function.display_name}()` {'stores' if creator.stored_in is not None else 'returns'} "
        f"`{ctx.code(creator.allocation)}`, a new tensor shaped like the hidden state"
    )
    if creator.made_in is not None:
        made = (
            f"`{creator.function.display_name}()` {'stores' if creator.stored_in is not None else 'returns'} what "
            f"`{ctx.code(creator.allocation)}` returns, which comes from {creator.made_in}, a file not analysed with this one, "
            "and may be a new tensor shaped like the hidden state"
        )
    if creator.stored_in is not None and creator.read_elsewhere:
        made += f", in `{ctx.code(creator.stored_in)}`, which code here reads only outside `{change.name}()` and what it calls"
    elif creator.stored_in is not None:
        made += f", in `{ctx.code(creator.stored_in)}`, which no code here reads"
    if creator.called:
        return (
            f"{made}{'; code here calls it' if creator.stored_in is not None else ', which code here takes'}, but no call of "
            f"`{change.name}()` was found, whose {_taking(change)} (h, c): the call that hands the one to the other goes "
            "through an object whose class is not known (held in a way the analysis does not follow) and would pass one "
            "tensor; migrate that call by hand, or make the object from its class by name"
        )
    return (
        f"{made}, but no code of the project calls it or `{change.name}()`, whose {_taking(change)} (h, c): a caller that "
        "hands the one to the other would pass one tensor; give the files that call them in the same run (a script that does is enough)"
    )


def _state_parameters(solution, change) -> list:
    """The slots of `change`'s parameters that take the state (None for one holding it inside a container)."""
    names = set(parameter_names(change.carriers))
    slots = [DefSlot.of(id(param.name)) for name, param in change.function.params if name in names]
    return [slot if solution.is_state(slot) else None for slot in slots]


def _fed_by_callers(flow, solution, changes) -> dict:
    """Class key -> the roots of the states that code analysed here, outside the class's own methods,
    hands to its methods (`agent.get_action_and_value(obs, state)` of a training loop): states the
    program itself makes (packed: allocated twice as wide), whatever method of the class then takes them."""
    callers = {}  # parameter slot -> the classes (None: a function or module code) of the calls that give it a value
    for binding in flow.bindings:
        if binding.kind == BindingKind.ARG and binding.target.kind == SlotKind.DEF:
            callers.setdefault(binding.target, set()).add(binding.function.class_name if binding.function is not None else None)
    fed = {}
    for change in changes:
        owner = change.function.class_name
        if owner is None:
            continue
        for slot in _state_parameters(solution, change):
            if slot is not None and callers.get(slot, set()) - {owner}:
                fed.setdefault(owner, set()).add(solution.classes.find(slot))
    return fed


def _takes_what_callers_feed(solution, change, fed: dict) -> bool:
    """Is every state a method no code here calls takes one that calls analysed here hand to another
    method of its class (CleanRL's `get_value(x, state)` beside `get_action_and_value(x, state)`)? Its
    parameter is then a state only by what the class does with it, and the state is the program's own,
    allocated twice as wide: a caller elsewhere is an interface change, as in the tuple form."""
    roots = fed.get(change.function.class_name)
    slots = _state_parameters(solution, change)
    return bool(roots) and bool(slots) and all(slot is not None and solution.classes.find(slot) in roots for slot in slots)


def _beside(flow, info, function) -> bool:
    """Is `info` a function of `function`'s module, or a method that an instance of its class has?"""
    if info.class_name is None:
        return info.module == function.module
    return function.class_name is not None and flow.method(function.class_name, info.node.name.value) is info


def _taking(change) -> str:
    """"parameter `h` becomes", "parameters `h` and `mask` become"."""
    names = [f"`{name}`" for name in parameter_names(change.carriers)]
    if len(names) == 1:
        return f"parameter {names[0]} becomes"
    return f"parameters {', '.join(names[:-1])} and {names[-1]} become"


def _allocations(stored: dict, value) -> list:
    """The new tensors a returned value is, or holds at a position (`(torch.zeros(...),)`): an
    allocation, or a reshape writing its sizes out of a tensor made fresh (`self.h0.expand(1, B, H)`
    of `self.h0 = torch.zeros(1, 1, H)`), also through a local or an attribute that only such
    tensors are stored in (`h = torch.zeros(1, B, H); return h`). `stored`: slot -> the values bound to it."""
    if isinstance(value, VCreate) and isinstance(value.node, cst.Call):
        return [value.node]
    if isinstance(value, VDerived) and value.kind == Derivation.KEEP:  # `torch.zeros(...).to(device)`
        return _allocations(stored, value.base)
    if isinstance(value, VDerived) and value.kind == Derivation.SHAPE and isinstance(value.node, cst.Call):
        return [value.node] if sizes_given(value.node) is not None and _made_fresh(stored, value.base, set()) else []
    if isinstance(value, VSlot) and value.slot.kind in _FRESH_HOLDERS and _made_fresh(stored, value, set()):
        return [node for item in stored[value.slot] for node in _allocations(stored, item)]
    if isinstance(value, (VTuple, VChoice, VContainer)):
        items = value.items if isinstance(value, VTuple) else (
            value.options if isinstance(value, VChoice) else [item for _, item in value.items]
        )
        return [node for item in items for node in _allocations(stored, item)]
    return []


_FRESH_HOLDERS = (SlotKind.ATTR, SlotKind.DEF)  # an attribute of `self`, a local: what may hold a new tensor between


def _made_fresh(stored: dict, value, seen: set) -> bool:
    """Is `value` a tensor made by an allocation, through what keeps or reshapes it and the
    attributes of `self` and locals that only such values are stored in?"""
    if isinstance(value, VCreate):
        return True
    if isinstance(value, VDerived) and value.kind != Derivation.READ:
        return _made_fresh(stored, value.base, seen)
    if isinstance(value, VSlot) and value.slot.kind in _FRESH_HOLDERS and value.slot not in seen:
        items = stored.get(value.slot, ())
        return bool(items) and all(_made_fresh(stored, item, seen | {value.slot}) for item in items)
    return False


class Interfaces(Rule):
    step = None
    uses = ("interface",)
    summary = "callers the analysis cannot see are findings; functions whose contract changes are listed"
    invalid = (
        Invalid(
            """
            class Agent(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(4, 8)

                def forward(self, x, h):
                    return self.core(x, h)


            REGISTRY = {"rnn": Agent}
            """,
            "G2L101",
        ),
        Invalid(
            """
            class Agent(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(4, 8)

                def forward(self, x, h):
                    return self.core(x, h)


            def collect(net, x, h):
                for _ in range(3):
                    y, h = net(x, h)
                return h
            """,
            "G2L101",
        ),
        Invalid(
            """
            from ray.rllib.models.torch.recurrent_net import RecurrentNetwork


            class Model(RecurrentNetwork, nn.Module):
                def __init__(self):
                    nn.Module.__init__(self)
                    self.core = nn.GRU(4, 8)

                def forward_rnn(self, x, state, seq_lens):
                    y, h = self.core(x, state[0])
                    return y, [h]
            """,
            "G2L101",
        ),
    )

    def apply(self, ctx, use) -> None:
        found = crossings(ctx.flow, ctx.solution, ctx.parents) + file_crossings(ctx.flow, ctx.solution)
        for crossing in found + accessor_crossings(ctx.flow, ctx.solution) + guessed_crossings(ctx.flow, ctx.solution):
            ctx.find("G2L101", crossing.node, crossing.message, crossing.place)
            if crossing.imported_as is not None:
                ctx.outcome(crossing.node).uncalled.append(
                    UncalledModule(ctx.line(crossing.node), ctx.column(crossing.node) + 1, code_of(crossing.node), crossing.imported_as)
                )
        for slot, node in state_attributes(ctx.flow, ctx.solution):
            ctx.outcome(node).members.append(
                ChangedMember(ctx.line(node), ctx.column(node) + 1, slot.owner.rpartition(":")[2], slot.name, sizes=False)
            )
        for slot, node in state_globals(ctx.flow, ctx.solution):
            ctx.outcome(node).members.append(ChangedMember(ctx.line(node), ctx.column(node) + 1, _owner(slot), slot.name, sizes=False))
        for slot, node in module_attributes(ctx.flow, ctx.solution):
            ctx.outcome(node).members.append(
                ChangedMember(ctx.line(node), ctx.column(node) + 1, _owner(slot), slot.name, sizes=False, module=True)
            )
        reported = set()  # the allocations already reported, by id
        made = None  # what functions make for callers, found at the first change it may pair with
        changes = interface_changes(ctx.flow, ctx.solution)
        fed = _fed_by_callers(ctx.flow, ctx.solution, changes) if ctx.packed else {}
        for change in changes:
            node = change.function.node.name
            if not (ctx.packed or change.called) and made is None:
                made = _made_for_callers(ctx)
            unpaired = () if ctx.packed or change.called else tuple(
                new_finding("G2L101", _unpaired_message(ctx, change, creator), ctx.line(at), ctx.column(at) + 1)
                for creator in _unpaired_creators(ctx, change, made, reported)
                # the findings go with the change's file: an allocation in another (a base class's) is named, not placed
                for at in [creator.allocation if ctx.key_of(creator.allocation) == ctx.key_of(node) else node]
            )
            ctx.outcome(node).interface.append(
                InterfaceChange(
                    ctx.line(node), ctx.column(node) + 1, change.name, describe(change.carriers), change.called, change.parameters,
                    change.positions, holds_state_inside(change.carriers), unpaired,
                    returned_inside=returns_inside_only(change.carriers),
                )
            )
            library = ctx.flow.library_base(change.function.class_name) if change.function.class_name else None
            if library is not None and not change.called:
                # RLlib's `forward_rnn(inputs, state, seq_lens)`: the library that calls it keeps passing one tensor
                ctx.find(
                    "G2L101", node,
                    f"{describe(change.carriers)} of `{change.name}()` "
                    f"{'become' if len(change.carriers) > 1 else 'becomes'} (h, c), and nothing analysed calls it; "
                    f"its class derives from `{library}`, a library's class, so the library may call it and would "
                    "still pass and take one tensor there; migrate it by hand to what that library passes",
                )
            elif ctx.packed and not change.called and takes_state(change.carriers) and not _takes_what_callers_feed(ctx.solution, change, fed):
                # The packed state is one tensor of twice the size, made where it is created: by
                # callers here, whose allocation doubles, or elsewhere, where it would not.
                ctx.find(
                    "G2L101", node,
                    f"packed form: {describe(change.carriers)} of `{change.name}()` "
                    f"{'receive' if len(change.carriers) > 1 else 'receives'} the hidden state from "
                    "callers that were not analysed, which allocate it with the GRU's size; give them too, or use --state tuple",
                )
            elif not change.called and not _private(change.function.node.name.value) and not returns_inside_only(change.carriers):
                ctx.find(
                    "G2L202", node,
                    f"interface change: {describe(change.carriers)} of `{change.name}()` "
                    f"{'become' if len(change.carriers) > 1 else 'becomes'} "
                    f"{'(h, c) packed in one tensor of twice the size' if ctx.packed else '(h, c)'}; "
                    "no caller was found in the files analysed; give the files that call it in the same run, or make "
                    "callers elsewhere pass and take it",
                )
