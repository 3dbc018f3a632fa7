"""Decide which slots hold a hidden state, and how each will hold (h, c).

Slots joined by plain moves (assignment, argument passing, return, append) form classes, with
the parts of a class (elements, keys, tuple positions) joined along (congruence). A class holds
a state when the recurrent module returns it or receives it, or when a state reaches it through
a derivation that keeps it a state (`.detach()`, masks, …), a reshaping that flows into a state,
or a concatenation of stored states; a state moved into the name a recurrent call takes as its
input is features there (`solve`). Then each local name is *pair* or *split* (see
docs/rules.md), and each function return position that carries a batched state is split.

What the solver finds is in the Solution: the classes and their marks, and in a side table
(Resolutions) what each index and arithmetic of the walk is; the walk's values are not written.
The solver knows no torch words: the recurrent kinds and hidden keywords are vocab.py's.
Over ~500 lines: `_solve` is one fixpoint whose steps read each other's marks, kept in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from gru2lstm.joined_calls import called_methods, instances_by_root, with_keywords_unpacked
from gru2lstm.masks import is_added_module_tensor, joined_place, settle_mask, state_result_name
from gru2lstm.program import Binding, BindingKind, Consumption, ProgramFlow, Use
from gru2lstm.sequences import container_items, element_label, is_literal_list, join_sequences, positions_unknown, zip_columns
from gru2lstm.slot_classes import Classes, Mark
from gru2lstm.summaries import feature_parameters
from gru2lstm.syntax import is_slice, literal_strings, variable_key
from gru2lstm.values import (
    ELEM,
    AttrLabel,
    AttrSlot,
    ChildSlot,
    DefSlot,
    Derivation,
    InstanceSlot,
    LabelKind,
    PosLabel,
    Resolutions,
    ReturnSlot,
    Slot,
    SlotKind,
    Value,
    VArith,
    VCallOf,
    VCat,
    VChoice,
    VContainer,
    VCreate,
    VCtor,
    VDerived,
    VIndex,
    VSlot,
    VTuple,
    VZip,
    is_element,
)
from gru2lstm.vocab import ALREADY_LSTM, CELL_KIND, HIDDEN_KEYWORDS, INPUT_KEYWORDS, OTHER_RECURRENT, RECURRENT, RECURRENT_KINDS

# Bindings that move a value on (returned, stored, passed), rather than name it.
MOVING_BINDINGS = {BindingKind.RETURN, BindingKind.APPEND, BindingKind.STORE, BindingKind.ARG, BindingKind.FIELD}


@dataclass(frozen=True)
class HeldModule:
    """A module that is not one of the GRUs (a torch module, or an instance of a module class of
    the program), by the call that makes it, and a slot that holds it."""

    node: cst.Call
    recurrent: bool  # another recurrent module (an LSTM, an RNN): a GRU held with it is a choice the code makes
    slot: Slot


@dataclass
class Solution:
    flow: ProgramFlow
    classes: Classes
    constructors: list = field(default_factory=list)  # [(VCtor, kind, target slot)] recurrent constructors
    lstm_constructors: list = field(default_factory=list)
    held_modules: list = field(default_factory=list)  # [HeldModule] every other module made, and where it is held
    recurrent_calls: dict = field(default_factory=dict)  # id(VCallOf) -> kind
    forwarded: dict = field(default_factory=dict)  # id(VCallOf) -> the forward() (or method) of the program it runs
    split_names: dict = field(default_factory=dict)  # (function key, name) -> origin
    split_returns: set = field(default_factory=set)  # (function key, position)
    # (function key, name) read as a recurrent call's input and given its state by another path
    # (`x = cell(x, h)`): split there even when a parameter, its first value being features
    fed_names: set = field(default_factory=set)
    form: str = "tuple"  # how (h, c) is held: "tuple" or "packed" (docs/rules.md)
    resolutions: Resolutions = field(default_factory=Resolutions)  # what indexes and arithmetic are
    keyed_reads: dict = field(default_factory=dict)  # id(`p[k]` node) -> the slot of the dict a name as key reads
    mirrors: list = field(default_factory=list)  # (slot, [slots]) of a dict made by key from those dicts' keys
    keys_of_elements: dict = field(default_factory=dict)  # a constant key only read, of a dict written by other keys -> its element
    states_by_any_key: list = field(default_factory=list)  # values of a dict made states only as a key not written out may read them
    # keys read by name that give a state, of a dict written by keys not written out whose other
    # keys read by name give other values: which value written is the state is not known
    keys_beside_others: list = field(default_factory=list)
    fed_creations: set = field(default_factory=set)  # ids of the creations handed to a recurrent call as its state, held by no name

    def resolved(self, value: Value) -> Value:
        """What `value` is, through the indexing and arithmetic the solver settled."""
        return self.resolutions.resolved(value)

    def is_state(self, slot: Slot) -> bool:
        return self.classes.has(slot, Mark.STATE)

    def holder_kind(self, slot: Slot) -> Optional[str]:
        """The recurrent kind (vocab.RECURRENT_KINDS) of the module the slot holds, if it holds one."""
        return next((kind for kind in RECURRENT_KINDS if self.classes.has(slot, kind)), None)

    def is_module(self, slot: Slot) -> bool:
        return self.classes.has(slot, Mark.MODULE)

    def modules_held_with(self, slot: Slot) -> list:
        """The other modules (HeldModule) held where `slot` is."""
        root = self.classes.find(slot)
        return [held for held in self.held_modules if self.classes.find(held.slot) == root]

    def value_is_state(self, value: Value) -> bool:
        """Does this value carry a state (a state slot, or a keep-derivation of one)?"""
        value = self.resolutions.resolved(value)
        if isinstance(value, VSlot):
            return self.is_state(value.slot)
        if isinstance(value, VDerived):
            return value.kind != Derivation.READ and self.value_is_state(value.base)
        if isinstance(value, VCat):
            rows = self.rows_joined(value)
            return self.is_state(rows.slot) if rows is not None else self.elements_are_state(value.container)
        if isinstance(value, VCallOf):
            return self.recurrent_calls.get(id(value)) == CELL_KIND
        if isinstance(value, VArith):  # unsettled: a join of two states (`h - h_old`) is one
            return self.value_is_state(value.left) and self.value_is_state(value.right)
        if isinstance(value, VChoice):  # `d.setdefault(k, h0)`, `a if c else b`: whichever is taken may be the state
            return any(self.value_is_state(option) for option in value.options)
        return False

    def elements_are_state(self, container: Value) -> bool:
        container = self.resolutions.resolved(container)
        if isinstance(container, VSlot):
            part = self.classes.part(container.slot, ELEM)
            return part is not None and self.is_state(part)
        if isinstance(container, VContainer):
            # A literal list is a batch of states only when its items are states as they are;
            # `[h[-1], x]` concatenates features.
            return bool(container.items) and all(
                self.value_is_state(item) and self.resolutions.chain_kind(item) == Derivation.KEEP for _, item in container.items
            )
        return False

    def rows_joined(self, cat: VCat) -> Optional[VSlot]:
        """The array or tensor S (not a list or dict) whose rows `np.concatenate(S[step])` joins:
        the join is a reshape of S. None for a join of a container's elements, or of S itself."""
        container = self.resolved(cat.container)
        leaf = self.resolutions.leaf_of(container)
        if leaf is container or not isinstance(leaf, VSlot) or self.is_container(leaf.slot):
            return None
        return leaf if self.resolutions.chain_kind(container) != Derivation.READ else None

    def is_container(self, slot: Slot) -> bool:
        return self.classes.has(slot, Mark.CONTAINER)

    def def_name(self, slot: Slot):
        if slot.kind != SlotKind.DEF:
            return None
        definition = self.flow.defs.get(slot.def_id)
        if definition is None or definition.function is None:
            return None
        return (definition.function.key, definition.name)

    def is_split(self, slot: Slot) -> bool:
        key = self.def_name(slot)
        return key is not None and key in self.split_names


def solve(flow: ProgramFlow) -> Solution:
    """The slots that hold a state. A state moved into the name a recurrent call takes as its
    input, where the state that call returns is held too (`inp = h_new` or `x = hs[i]` over
    stacked cells), is that layer's features: such moves join nothing, when that leaves every such
    input no state (else they join as before, and the stack is reported: rules/outputs.py)."""
    recorded = len(flow.bindings)  # what _forward_calls adds, each solve adds again
    solution = _solve(flow, set(), set())
    moves, inputs = _moves_into_inputs(solution)
    if moves:
        del flow.bindings[recorded:]
        cut = _solve(flow, moves, {solution.def_name(slot) for slot in inputs})
        if not any(cut.is_state(slot) for slot in inputs):
            return cut
        del flow.bindings[recorded:]
        solution = _solve(flow, set(), set())
    return solution


def _solve(flow: ProgramFlow, cut: set, fed: set) -> Solution:
    """The fixpoint, with the bindings whose ids are in `cut` joining nothing, and the names in
    `fed` (function key, name) read as a recurrent call's input."""
    classes = Classes()
    solution = Solution(flow, classes)
    solution.fed_names = fed
    resolutions = solution.resolutions
    relations = []  # (target slot, value) that the fixpoint decides

    def link(target: Slot, value: Value, repeated: bool = False) -> None:
        if target.kind == SlotKind.CHILD:
            written_parts.append(target)
        value = resolutions.resolved(value)
        if isinstance(value, VSlot):
            classes.union(target, value.slot)
        elif isinstance(value, VChoice):
            for option in value.options:
                link(target, option)
        elif isinstance(value, VTuple):
            for position, item in enumerate(value.items):
                # a part whatever the item is: `parts[0]` of `parts = (torch.zeros(n, H), 0)` reads it
                classes.add(ChildSlot.of(target, PosLabel.of(position)))
                link(ChildSlot.of(target, PosLabel.of(position)), item)
        elif isinstance(value, VContainer):
            marked.append(target)
            if id(value.node) in flow.mirrored_keys:
                mirrors.append((target, flow.mirrored_keys[id(value.node)]))
            elif isinstance(value.node, cst.DictComp) and isinstance(resolutions.leaf_of(value.items[0][1]), VCreate):
                any_keys.append((target, _comprehended_keys(value.node)))
            if repeated:  # `[None] * n`: every item is an element
                for _, item in value.items:
                    link(ChildSlot.of(target, ELEM), item)
            else:
                if is_literal_list(value):
                    literals.append(target)  # positions kept until it is used as a sequence (sequences.py)
                elif positions_unknown(value):
                    # `list(reversed(parts))`: a part read by position (`h, t = parts`) is its element
                    # (an unbound part reported nothing)
                    made_lists.append(target)
                for label, item in container_items(value):
                    # a part to join, whatever the item is (a creation, `s.repeat(n, 1)` of a comprehension)
                    classes.add(ChildSlot.of(target, label))
                    link(ChildSlot.of(target, label), item)
        elif isinstance(value, VArith) and (isinstance(value.left, VContainer) or isinstance(value.right, VContainer)):
            marked.append(target)  # `[None] * n`: a list
            link(target, value.left if isinstance(value.left, VContainer) else value.right, repeated=True)
        elif isinstance(value, VZip) and isinstance(value.rows, VSlot):
            zips.append((target, value.rows.slot))
        elif isinstance(value, VCtor):
            constructors.append((target, value))
        elif isinstance(value, VCallOf):
            classes.union(target, value.result)
            relations.append((target, value))
        elif isinstance(resolutions.leaf_of(value), VCtor) and resolutions.chain_kind(value) == Derivation.KEEP:
            constructors.append((target, resolutions.leaf_of(value)))  # nn.GRU(...).to(device)
        else:
            relations.append((target, value))

    marked: list = list(flow.containers)
    mirrors = solution.mirrors  # (target, [slots of the dicts whose keys it has]) of dict comprehensions by key
    written_parts: list = []  # the parts of containers a value is written into (by link)
    any_keys: list = []  # (target, its keys or None when not known) of dict comprehensions of fresh tensors
    literals: list = []  # targets of literal lists
    made_lists: list = []  # targets of lists made by code (no dict), whose positions are their element
    zips: list = []  # (target, rows) of `target = zip(*rows)`
    constructors: list = []
    # An instance of a class of this module has that class's attributes, and those its bases'
    # methods use (`self.rnn` set in Base.__init__ and called in Agent.forward, or set in Agent and
    # called in a mixin's or an abstract base's method).
    for name, owners in flow.attribute_owners.items():
        for owner in owners:
            classes.union(ChildSlot.of(InstanceSlot.of(owner), AttrLabel.of(name)), AttrSlot.of(owner, name))
            for base in flow.ancestors(owner):
                if base in owners:
                    classes.union(AttrSlot.of(base, name), AttrSlot.of(owner, name))
    for binding in flow.bindings:
        classes.add(binding.target)
        if id(binding) not in cut:
            link(binding.target, binding.value)
    _record_positions(flow, classes)
    # `policy = Policy(...).to(device).eval()`: a module's .to/.cuda/.float/.eval return the module itself.
    instances = [InstanceSlot.of(owner) for owner in flow.instantiated]
    roots = {classes.find(instance) for instance in instances}
    for target, value in relations:
        leaf = resolutions.leaf_of(value)
        if isinstance(value, VDerived) and isinstance(leaf, VSlot) and resolutions.chain_kind(value) == Derivation.KEEP:
            if classes.find(leaf.slot) in roots:
                classes.union(target, leaf.slot)
                # found afresh: the union may change a class's representative (two
                # `torch.jit.script(Net())` of one class: the second was not followed)
                roots = {classes.find(instance) for instance in instances}
    # A call of what holds a GRU beside a module of the program is not that module's forward()
    # (reported: the GRU is held with another module).
    recurrent = {classes.find(target) for target, ctor in constructors if ctor.qualname in RECURRENT}
    for binding in _forward_calls(solution, recurrent):
        classes.add(binding.target)
        link(binding.target, binding.value)
    marked += zip_columns(flow, classes, zips)
    for slot in marked:
        classes.mark(slot, Mark.CONTAINER)
    for target, value in relations:
        # `saved = self.hidden.copy()` of a list or dict holds the same values; `np.array(rows)`
        # is an array made of them, not the list.
        base = resolutions.resolved(value.base) if isinstance(value, VDerived) else None
        method = value.node.func if isinstance(base, VSlot) and isinstance(value.node, cst.Call) else None
        if isinstance(method, cst.Attribute) and method.value is base.node and value.kind == Derivation.KEEP:
            if solution.is_container(base.slot):
                classes.union(target, base.slot)

    join_sequences(flow, classes, resolutions, literals + made_lists)
    solution.keys_of_elements = _keys_read_from_elements(flow, classes, written_parts)
    # Joining a literal list's positions may show what an element is (`for agent in agents[1:]`
    # after `agents.append(Agent(...))`): calls through it are bound now.
    for binding in _forward_calls(solution, recurrent):
        classes.add(binding.target)
        link(binding.target, binding.value)
    # Indexing: an element of a list/dict, a position of a tuple, or a slice of a tensor. Knowing
    # one element can make another base a container, so elements are settled until nothing moves.
    bound_to = {}
    for target, value in relations:
        if isinstance(value, VIndex):
            bound_to.setdefault(id(value), []).append(target)
    def settle_element(index: VIndex) -> bool:
        base = resolutions.resolved(index.base)
        if not (isinstance(base, VSlot) and solution.is_container(base.slot)):
            return False
        if is_slice(index.node):
            # `hist[-k:]`: a list of the same elements, the container itself as far as states go
            settle_at(index, base.slot)
            return True
        if variable_key(index.node):
            # `p[k]` reads any value of the dict, which its element does not hold:
            # rules/unfollowed.py reports a dict that mixes states with other values
            solution.keyed_reads[id(index.node)] = base.slot
        settle_at(index, ChildSlot.of(base.slot, element_label(classes, base.slot, index.position)))
        return True

    def settle_at(index: VIndex, slot: Slot) -> None:
        """The index reads the place `slot`: what it is bound to is that place."""
        resolutions.settle(index, VSlot(slot, index.node))
        for target in bound_to.get(id(index), ()):
            classes.union(target, slot)

    pending = list(flow.indexes)
    changed = True
    while changed:
        changed = False
        for index in list(pending):
            if settle_element(index):
                pending.remove(index)
                changed = True
    # Positions last, inner indexes before outer ones: `c[1][m]` is an element of the list held
    # at position 1 once `c[1]` is settled.
    of_calls = []  # `self.gru(x, h)[1]`: a position of a recurrent layer's result, known once its calls are
    for index in pending:
        if settle_element(index):
            continue
        base = resolutions.resolved(index.base)
        if isinstance(base, VSlot) and index.position is not None and classes.part(base.slot, PosLabel.of(index.position)):
            settle_at(index, ChildSlot.of(base.slot, PosLabel.of(index.position)))
        elif isinstance(base, (VCallOf, VSlot)) and index.position in (0, 1):
            of_calls.append(index)
        else:
            resolutions.settle(index, VDerived(index.base, index.node, Derivation.SHAPE))

    for target, ctor in constructors:
        if ctor.qualname in RECURRENT:
            classes.mark(target, RECURRENT[ctor.qualname])
            solution.constructors.append((ctor, RECURRENT[ctor.qualname], target))
        else:
            if ctor.qualname in ALREADY_LSTM:
                solution.lstm_constructors.append(ctor)
            solution.held_modules.append(HeldModule(ctor.node, ctor.qualname in OTHER_RECURRENT, target))
            classes.mark(target, Mark.MODULE)
    _mark_program_modules(solution)
    for view, label in flow.value_views:
        # `for cell in (self.lower, self.upper)`, `for cell, h in ((self.l1, h1), (self.l2, h2))`:
        # the element iterated holds the recurrent modules the items hold, at the same places
        for part_label, part in list(classes.parts.get(classes.find(view), {}).items()):
            if part_label.kind == label:
                _copy_kinds(solution, part, ChildSlot.of(view, ELEM))
    for call in flow.calls:
        func = resolutions.resolved(call.func)
        if not (isinstance(call.func, VIndex) and isinstance(func, VSlot) and is_element(func.slot)):
            continue
        # `self.cores[k](x, h)` of `nn.ModuleDict({"pi": nn.GRUCell(...), ...})`: an index that is
        # no constant key runs any value of the dict
        for part_label, part in list(classes.parts.get(classes.find(func.slot.base), {}).items()):
            if part_label.kind == LabelKind.KEY:
                _copy_kinds(solution, part, func.slot)
    for call in flow.calls:
        func = resolutions.resolved(call.func)
        if isinstance(func, VSlot):
            kind = solution.holder_kind(func.slot)
            if kind is not None:
                solution.recurrent_calls[id(call)] = kind
    # what a layer's result is kept in whole (`res = self.gru(x, h)`, `return self.gru(x, h)` read
    # as `self.core(x, h)[1]`): its positions are the result's, not slices of one tensor
    results = {classes.find(call.result) for call in flow.calls if solution.recurrent_calls.get(id(call)) not in (None, CELL_KIND)}
    for index in of_calls:
        base = resolutions.resolved(index.base)
        place = base.result if isinstance(base, VCallOf) else base.slot
        if classes.find(place) in results:
            settle_at(index, ChildSlot.of(place, PosLabel.of(index.position)))
        else:
            resolutions.settle(index, VDerived(index.base, index.node, Derivation.SHAPE))

    def mark(slot: Slot) -> bool:
        return classes.mark(slot, Mark.STATE)

    def mark_value(value: Value) -> bool:
        if isinstance(resolutions.resolved(value), VChoice):  # `self.hidden.get(env_id, h0)`
            return any([mark_value(option) for option in resolutions.resolved(value).options])
        leaf = resolutions.leaf_of(value)
        if isinstance(leaf, VSlot) and resolutions.chain_kind(value) != Derivation.READ:
            return mark(leaf.slot)
        if isinstance(leaf, VCat):
            container = resolutions.resolved(leaf.container)
            rows = solution.rows_joined(leaf)
            if rows is not None:
                return mark(rows.slot)
            if isinstance(container, VSlot):
                return mark(ChildSlot.of(container.slot, ELEM))
            if isinstance(container, VContainer):
                # a concatenation of `[s.hx for s in batch]` is a state; so is one of a comprehension's
                # pieces of a state (`[states[:, s] for s in starts]`), as the same pieces appended to a list are
                return any([
                    mark_value(item) for _, item in container.items
                    if resolutions.chain_kind(item) == Derivation.KEEP or container.iterated is not None
                ])
        return False

    value_views = list(flow.value_views)
    keys_read_alike = {}  # a dict's element -> the keys read by name that give it (`d["h"]`, `d["mask"]`)
    for key, element in solution.keys_of_elements.items():
        keys_read_alike.setdefault(classes.find(element), []).append(key)
    for call in flow.calls:
        kind = solution.recurrent_calls.get(id(call))
        if kind is None:
            continue
        mark(call.result if kind == CELL_KIND else ChildSlot.of(call.result, PosLabel.of(1)))
        hidden = recurrent_hidden_argument(call)
        if hidden is not None:
            settle_mask(resolutions, hidden, state_result_name(flow, call, kind))
            mark_value(hidden)
            made = resolutions.leaf_of(hidden)
            if isinstance(made, VCreate):
                solution.fed_creations.add(id(made.node))
        if spread_state(call):
            # `core(x, *core_state)` iterates the tuple's items, as `for s in core_state` does: its
            # one item is what `tuple(zeros(...) for _ in range(1))` holds as elements
            value_views.append((call.args[1][1].slot, LabelKind.POS))

    moved = _moved_classes(solution)
    # What holds a tensor somewhere (a creation, another place's value, a call's result, a join):
    # a join with the state makes it a state (masks.joined_place); `h + self.eps` with `eps = 0.1` does not.
    tensors = {
        classes.find(binding.target)
        for binding in flow.bindings
        if isinstance(resolutions.leaf_of(binding.value), (VCreate, VSlot, VCallOf, VCat, VArith))
    }
    lists = {classes.find(target) for target in literals}
    changed = True
    while changed:
        changed = False
        # A slice of a preallocated state tensor is a state, and so is the tensor.
        for root, parts in list(classes.parts.items()):
            element = parts.get(ELEM)
            if element is None or classes.find(root) != root or solution.is_container(root):
                continue
            if solution.is_state(root) != solution.is_state(element):
                changed |= mark(root) | mark(element)
        for key, element in solution.keys_of_elements.items():
            if solution.is_state(element) and not solution.is_state(key):
                changed |= mark(key)
            elif solution.is_state(key) and not solution.is_state(element) and all(
                solution.is_state(other) for other in keys_read_alike[classes.find(element)]
            ):
                # `for k in ("h",): d[k] = zeros(...)`, then `d["h"]` a state: every key read by name
                # gives one, so what is written by any key is one (else reported: rules/unfollowed.py)
                changed |= mark(element)
        for root, parts in list(classes.parts.items()):
            # `d[env_id]` of `d = {"x": torch.zeros(...), "y": ...}`: a key not written out reads
            # and writes any value the dict was made with, so each is a state when that element is
            element = parts.get(ELEM)
            if element is None or classes.find(root) != root or not solution.is_state(element):
                continue
            for label, part in list(parts.items()):
                if label.kind == LabelKind.KEY and not solution.is_state(part):
                    solution.states_by_any_key.append(part)
                    changed |= mark(part)
        for target, keys in any_keys:
            # `{k: torch.zeros(1, n, H) for k in self.cores}` joined with `new["actor"] = h`: the
            # comprehension may make that key, so `states["actor"]` reads the tensor it makes too
            parts = classes.parts.get(classes.find(target), {})
            element = parts.get(ELEM)
            if element is not None and not solution.is_state(element) and any(
                label.kind == LabelKind.KEY and (keys is None or label.key in keys) and solution.is_state(part)
                and part not in solution.keys_of_elements  # only read: settled with the other keys read (above)
                for label, part in parts.items()
            ):
                changed |= mark(element)
        for target, sources in mirrors:
            # `post = {k: torch.stack([s[k] for s in steps], 1) for k in steps[0]}`: `post["deter"]`
            # is made from `s["deter"]`, a state when that is one; and `s["deter"]` is one when what
            # is made from it is (`states["a"]` of `{k: v.detach() for k, v in mems.items()}` fed to
            # the GRU: `mems["a"]` holds the state it was given, and the zeros it starts with)
            for label, part in list(classes.parts.get(classes.find(target), {}).items()):
                if label.kind != LabelKind.KEY:
                    continue
                kept = [source_part for source_part in (classes.part(source, label) for source in sources) if source_part is not None]
                if not solution.is_state(part) and any(solution.is_state(source_part) for source_part in kept):
                    changed |= mark(part)
                elif solution.is_state(part):
                    changed |= any([mark(source_part) for source_part in kept if not solution.is_state(source_part)])
        for view, label in value_views:
            # `{k: v * m for k, v in hidden.items()}` over `{"actor": h_a, "critic": h_c}`, or
            # `tuple(nd * s for s in core_state)` over `(h,)`: the values iterated are states (a
            # dict or tuple mixing states and other values is reported, or, packed, kept whole
            # where each value is treated alike: rules/packed_values.py).
            keyed = [part for part_label, part in classes.parts.get(classes.find(view), {}).items() if part_label.kind == label]
            if keyed and all(solution.is_state(part) for part in keyed):
                changed |= mark(ChildSlot.of(view, ELEM))
            elif len(keyed) == 1 and solution.is_state(ChildSlot.of(view, ELEM)):
                # `[s.to(device) for s in net.initial_state()]` of `(torch.zeros(...),)`: the one item
                # is what is iterated (with more, rules/unfollowed.py reports the items not known as states)
                changed |= mark(keyed[0])
        for arith in flow.arithmetic:
            if not resolutions.is_settled(arith):
                left, right = solution.value_is_state(arith.left), solution.value_is_state(arith.right)
                if left != right:
                    resolutions.settle(arith, VDerived(arith.left if left else arith.right, arith.node, Derivation.KEEP))
                    other = arith.right if left else arith.left
                    joined = joined_place(resolutions, arith, other)
                    if joined is not None and classes.find(joined) in tensors and not is_added_module_tensor(flow, resolutions, arith, other):
                        mark(joined)  # `h0` of `h * m + h0 * (1 - m)`: the state's shape; then a join of two states
                    changed = True
        for target, value in relations:
            value = resolutions.resolved(value)
            target_state = solution.is_state(target)
            if isinstance(value, VCallOf):
                continue
            leaf = resolutions.leaf_of(value)
            kind = resolutions.chain_kind(value)
            if kind == Derivation.READ:
                continue
            if isinstance(leaf, VSlot):
                if target_state:
                    changed |= mark(leaf.slot)
                elif solution.is_state(leaf.slot) and (kind == Derivation.KEEP or classes.find(target) in moved or _in_list(classes, target, lists)):
                    # A reshaped state that is moved on (returned, stored, passed) stays a state;
                    # one that is only read is features. Stored in a list is moved: a caller may
                    # feed it back (`hiddens.append(hidden.squeeze(0))`, `return out, [h.squeeze(0)]`).
                    changed |= mark(target)
            elif isinstance(leaf, VArith) and target_state and not resolutions.is_settled(leaf):
                # `h = h * mask` before `self.gru(x, h)`, neither operand known as a state (the
                # caller's is not analysed): the one named like the state it becomes, as masks.py
                # decides for the call's own argument
                key = solution.def_name(target)
                settle_mask(resolutions, leaf, key[1] if key is not None else None)
                if resolutions.is_settled(leaf):
                    changed |= mark_value(leaf)
            elif isinstance(leaf, VCat):
                rows = solution.rows_joined(leaf)
                if target_state:
                    changed |= mark_value(leaf)
                elif solution.elements_are_state(leaf.container):
                    changed |= mark(target)
                elif rows is not None and solution.is_state(rows.slot) and (classes.find(target) in moved or is_element(target)):
                    changed |= mark(target)  # rows of a state joined and moved on, as a reshaped state
    # An arithmetic settled as masking one state may have turned out to join two
    # (`torch.where(done, fresh, s)` with `s` known as a state only later): it is unsettled,
    # so it is reported as an arithmetic of two states, never migrated on one half.
    for arith in flow.arithmetic:
        if resolutions.is_settled(arith) and solution.value_is_state(arith.left) and solution.value_is_state(arith.right):
            resolutions.unsettle(arith)
    mirrored = {classes.find(target) for target, _ in mirrors}  # made key by key from other dicts: each key settled above
    solution.keys_beside_others = [
        key for key, element in solution.keys_of_elements.items()
        if solution.is_state(key) and not solution.is_state(element) and classes.find(key.base) not in mirrored
    ]
    _choose_split(solution)
    solution.form = "packed" if _stores_in_tensors(solution) else "tuple"
    # The recursive closures refer to themselves (function -> cell -> function), a cycle that holds
    # the whole program through what they close over: broken so that it is freed at once.
    link = mark_value = None  # noqa: F841
    return solution


def _record_positions(flow: ProgramFlow, classes: Classes) -> None:
    """A namedtuple is a tuple of its fields: position i of an instance is its i-th field, so a
    loop over a record (`[f(t) for t in stats]`) or an unpacking of one sees each field apart."""
    for owner, fields in flow.namedtuples.items():
        if InstanceSlot.of(owner) in classes.parent:
            for position, name in enumerate(fields):
                classes.union(ChildSlot.of(InstanceSlot.of(owner), PosLabel.of(position)), AttrSlot.of(owner, name))


def _mark_program_modules(solution: Solution) -> None:
    """A GRU held where an instance of a module class of the program is held too (both passed
    through a helper that keeps them) is held with another module, as a torch module would be."""
    classes = solution.classes
    recurrent = {classes.find(target) for _, _, target in solution.constructors}
    for owner, made in solution.flow.instantiated.items():
        instance = InstanceSlot.of(owner)
        if solution.flow.forward_of(owner) is not None and instance in classes.parent and classes.find(instance) in recurrent:
            solution.held_modules.append(HeldModule(made[0], False, instance))
            classes.mark(instance, Mark.MODULE)


def _keys_read_from_elements(flow: ProgramFlow, classes: Classes, written_parts: list) -> dict:
    """`new[k] = cell(x, h[k])`, then `new["pi"]`: a constant key that nothing writes by its name
    gives one of the dict's elements (it was a place of its own, so a head read the pair). The
    key slot -> the element's; the fixpoint makes such a key a state when the elements are (not
    the other way: keys read from a dict of mixed values are not joined)."""
    written = {(classes.find(part.base), part.label) for part in written_parts}
    found = {}
    for slot, _ in flow.slot_nodes:
        if slot.kind != SlotKind.CHILD or slot.label.kind != LabelKind.KEY or slot.base not in classes.parent:
            continue
        base = classes.find(slot.base)
        element = classes.part(base, ELEM)
        if element is not None and (base, ELEM) in written and (base, slot.label) not in written:
            classes.add(slot)
            found[slot] = element
    return found


def _comprehended_keys(node: cst.DictComp) -> Optional[set]:
    """The keys `{k: ... for k in ("pi", "vf")}` makes, when its loop is over a literal of strings; else None."""
    loop = node.for_in
    if isinstance(node.key, cst.Name) and isinstance(loop.target, cst.Name) and node.key.value == loop.target.value:
        return literal_strings(loop.iter)
    return None


def _copy_kinds(solution: Solution, source: Slot, target: Slot, depth: int = 3) -> None:
    """Mark `target` with the recurrent kind of the module `source` holds, and each of its parts
    with that of the same part of `source` (a tuple of (module, state) items), a few levels deep."""
    classes = solution.classes
    kind = solution.holder_kind(source)
    if kind is not None:
        classes.mark(target, kind)
    if depth:
        for label, part in list(classes.parts.get(classes.find(source), {}).items()):
            _copy_kinds(solution, part, ChildSlot.of(target, label), depth - 1)


def _forward_calls(solution: Solution, recurrent: set) -> list:
    """Calls of an object that only the joined classes show to be a module of the program
    (`def train(net, x): net(x, h0)`, with `net = Policy()` elsewhere) run its forward(), and
    calls of a method through one (`for agent in agents: agent.learn(episode)`, with agents made
    elsewhere) run that method: their arguments are bound to its parameters like any call the
    walk followed. An object that may be an instance of several classes (`model = make_model(kind)`
    returning one of two, or a helper called with several modules) runs the method of each class
    whose method takes these arguments (calling any other would raise), its result any of theirs."""
    flow, classes = solution.flow, solution.classes
    instances = instances_by_root(solution)
    added = []
    for call in flow.calls:
        func = solution.resolved(call.func)
        if not isinstance(func, VSlot) or id(call) in solution.forwarded:
            continue
        args = with_keywords_unpacked(solution, call.args)
        callees = called_methods(solution, instances, func.slot)
        if not callees or args is None or classes.find(func.slot) in recurrent or any(c.variadic for c in callees):
            continue
        targets = {callee.key: callee.parameters_of([keyword for keyword, _, _ in args]) for callee in callees}
        callees = [callee for callee in callees if None not in targets[callee.key]]
        if len(callees) > 1:  # one of several classes: those whose method these arguments can run
            callees = [callee for callee in callees if callee.takes(targets[callee.key])]
        if not callees:
            continue
        solution.forwarded[id(call)] = callees[0]
        # an argument every method this call may run only reads as features is read here, as at the
        # calls the walk followed (followed_calls._read_as_features), and bound to none of them
        reads = [_read_by_all(flow, callees, targets, position) for position in range(len(args))]
        for position, read in enumerate(reads):
            if read is not None:
                _, value, arg = args[position]
                flow.consumptions.append(Consumption(value, Use.READ if read else Use.OTHER, arg.value, "" if read else (
                    "passed to a method that only reads it as features, by a call that may run another method that does not "
                    "or must hand it a layer"
                )))
        for callee in callees:
            flow.ran(call.node, callee.key)
            classes.union(call.result, ReturnSlot.of(callee.key))
            for position, (target, (_, value, arg)) in enumerate(zip(targets[callee.key], args)):
                if reads[position] is not None:
                    continue
                binding = Binding(DefSlot.of(id(target.name)), value, BindingKind.ARG, arg, arg.value, callee)
                flow.bindings.append(binding)
                added.append(binding)
        instances = instances_by_root(solution)  # the unions may have joined an instance to another class
    return added


def _read_by_all(flow: ProgramFlow, callees: list, targets: dict, position: int) -> Optional[bool]:
    """Of the argument at `position` of a call that runs one of `callees`: True when each of them only
    reads it as features (summaries.FeatureParameter, no layer to hand), False when some do and others
    bind it or must be handed a layer, None when none reads it so."""
    reads = [feature_parameters(callee, flow).get(targets[callee.key][position].name.value) for callee in callees]
    if all(read is None for read in reads):
        return None
    return all(read is not None and not read.layers for read in reads)


def _stores_in_tensors(solution: Solution) -> bool:
    """Is a state written by index into something that is not a list or dict (a preallocated tensor)?"""
    for binding in solution.flow.bindings:
        target = binding.target
        if is_element(target) and not solution.is_container(target.base):
            if solution.is_state(target) or solution.is_state(target.base):
                return True
    return False




def _in_list(classes: Classes, target: Slot, lists: set) -> bool:
    """Is `target` held in a list: an element written by append or `[i] =`, or a position of a
    list literal (`return out, [h.squeeze(0)]`; `lists` are the roots of literal lists)?"""
    if is_element(target):
        return True
    return target.kind == SlotKind.CHILD and target.label.kind == LabelKind.POS and classes.find(target.base) in lists


def _moved_classes(solution: Solution) -> set:
    """Classes whose values are moved on somewhere (returned, stored, passed), not just read.
    Passed to code the walk does not follow counts: that code may keep it as a state."""
    moved = set()
    values = [
        binding.value
        for binding in solution.flow.bindings
        if binding.kind in MOVING_BINDINGS or binding.target.kind in (SlotKind.ATTR, SlotKind.CHILD)
    ]
    values += [c.value for c in solution.flow.consumptions if c.context == Use.UNKNOWN and c.place is not None]  # another file
    while values:
        value = solution.resolved(values.pop())
        if isinstance(value, VSlot):
            moved.add(solution.classes.find(value.slot))
        elif isinstance(value, VTuple):
            values.extend(value.items)
        elif isinstance(value, VChoice):
            values.extend(value.options)
    return moved


def _moves_into_inputs(solution: Solution) -> tuple:
    """(ids of the bindings that move a state by name, or as an element of a list (`x = hs[i]`),
    into a name a recurrent call reads as its input where the state it returns is held too, or
    tie that name's definitions together where it is read (`x = cell(x, h)` over layers: the
    first layer's input and a layer's state), those inputs' slots)."""
    flow, classes = solution.flow, solution.classes
    inputs = {}  # id(name node read as the input) -> its slot
    for call in flow.calls:
        kind = solution.recurrent_calls.get(id(call))
        value = recurrent_input(call) if kind is not None else None
        if not (isinstance(value, VSlot) and value.slot.kind == SlotKind.DEF and isinstance(value.node, cst.Name)):
            continue
        new_state = call.result if kind == CELL_KIND else classes.part(call.result, PosLabel.of(1))
        if new_state is not None and classes.find(value.slot) == classes.find(new_state):
            inputs[id(value.node)] = value.slot
    if not inputs:
        return set(), []
    defs = {slot for slot, node in flow.slot_nodes if id(node) in inputs}  # every definition that reaches one
    moves = {
        id(binding) for binding in flow.bindings
        if binding.kind in (BindingKind.ASSIGN, BindingKind.JOIN) and binding.target in defs and _moves_whole(solution, binding)
    }
    return moves, list(inputs.values())


def _moves_whole(solution: Solution, binding: Binding) -> bool:
    """Does `binding` move a state as it is: a name (`inp = h_new`), or an element of a list of
    layer states (`x = hs[i]` after `hs[i] = cell(x, hs[i])`)?"""
    if isinstance(binding.value, VIndex):
        value = solution.resolved(binding.value)
        return binding.kind == BindingKind.ASSIGN and isinstance(value, VSlot) and is_element(value.slot)
    return isinstance(binding.value, VSlot) and binding.value.slot.kind == SlotKind.DEF and (
        binding.kind == BindingKind.JOIN or isinstance(binding.value.node, cst.Name)
    )


def recurrent_input(call: VCallOf) -> Optional[Value]:
    """The input argument of a recurrent call (its first positional one, or `input=`)."""
    for keyword, value, _ in call.args:
        if keyword in INPUT_KEYWORDS:
            return value
    positional = [value for keyword, value, _ in call.args if keyword is None]
    return positional[0] if positional else None


def recurrent_hidden_argument(call: VCallOf) -> Optional[Value]:
    """The state a recurrent call is given: its keyword or its second positional argument; of a
    tuple spread there (`core(x, *core_state)`, TorchBeast's `(h,)`), its one item (`spread_state`)."""
    positional = [(value, arg) for keyword, value, arg in call.args if keyword is None]
    for keyword, value, _ in call.args:
        if keyword in HIDDEN_KEYWORDS:
            return value
    if len(positional) < 2:
        return None
    value, arg = positional[1]
    if not arg.star:
        return value
    return VSlot(ChildSlot.of(value.slot, PosLabel.of(0)), arg.value) if spread_state(call) else None


def spread_state(call: VCallOf) -> bool:
    """`core(x, *core_state)`: the state spread after the input, the last argument. The GRU
    program ran, so the tuple holds one item or none (a GRU takes no third argument)."""
    stars = [(position, value) for position, (_, value, arg) in enumerate(call.args) if arg.star]
    return len(stars) == 1 and stars[0][0] == 1 == len(call.args) - 1 and call.args[1][2].star == "*" and isinstance(stars[0][1], VSlot)


def _choose_split(solution: Solution) -> None:
    """Local names that hold a batched state (or a GRUCell's h) become split; returns follow."""
    flow = solution.flow
    params = {
        (d.function.key, d.name) for d in flow.defs.values() if d.is_param and d.function is not None
    }
    # A result spread over a call's parameters (`agent.update(*batch())`) keeps its length: a split
    # name is returned as `(T, T_c)` there, not as two positions.
    spread = {solution.classes.find(slot) for slot in flow.spread}
    # `h: Optional[Tensor] = h0`: an annotated assignment has one target, so the name stays a pair
    annotated = {solution.def_name(slot) for slot, _, _ in flow.annotations} - params
    unsplittable = _returns_unpacked_whole(solution, annotated)
    changed = True
    while changed:
        changed = False
        for binding in flow.bindings:
            key = solution.def_name(binding.target)
            if key is None or key in solution.split_names or key in annotated or (key in params and key not in solution.fed_names):
                continue
            if not solution.is_state(binding.target):
                continue
            origin = _split_origin(solution, binding.value)
            if origin is not None:
                solution.split_names[key] = origin
                changed = True
        for info, _, value in flow.returns:
            positions = value.items if isinstance(value, VTuple) else [value]
            for position, item in enumerate(positions):
                item = solution.resolved(item)
                if (info.key, position) in solution.split_returns or not isinstance(item, VSlot):
                    continue
                if spread and solution.classes.find(ReturnSlot.of(info.key)) in spread:
                    continue
                if (info.key, position) in unsplittable:
                    continue
                if solution.is_split(item.slot) and solution.split_names[solution.def_name(item.slot)] == "batch":
                    others = [
                        solution.resolved(v.items[position] if isinstance(v, VTuple) else v)
                        for i, _, v in flow.returns
                        if i is info
                    ]
                    if all(isinstance(o, VSlot) and solution.is_split(o.slot) for o in others):
                        solution.split_returns.add((info.key, position))
                        changed = True


def _returns_unpacked_whole(solution: Solution, annotated: set) -> set:
    """(function key, position) of returns some caller unpacks into a place that cannot take two
    names (a module-level name, an attribute, an annotated name), or hands whole to a parameter that
    is only unpacked (`update(model, opt, buf.batch())` of `def update(model, opt, batch): obs, h0 =
    batch`): that position returns the pair `(T, T_c)` of a split name rather than growing by a
    partner the caller could not receive, and every position after it keeps its place. A return
    taken whole otherwise (`res = buf.batch()`, `tuple(buf.batch())`) still grows, and is refused
    where it is taken (rules/batch.GrownUnpacking)."""
    found = set()
    handed = _returns_handed_to_unpacked_parameters(solution.flow)
    for info, _, value in solution.flow.returns:
        if info.key in handed:
            found.update((info.key, position) for position in range(len(value.items) if isinstance(value, VTuple) else 1))
    for unpacking in solution.flow.unpackings:
        value = solution.resolved(unpacking.value)
        if not (isinstance(value, VSlot) and value.slot.kind == SlotKind.RETURN):
            continue
        for position, node, slot in unpacking.elements:
            key = None if slot is None else solution.def_name(slot)
            if not isinstance(node, cst.Name) or key is None or key in annotated:
                found.add((value.slot.function, position))
    return found


def _returns_handed_to_unpacked_parameters(flow) -> set:
    """Keys of the functions that some call hands whole to a parameter of the program that is only
    unpacked, every other call of them being unpacked where it is made."""
    unpacked = {id(u.value.node) for u in flow.unpackings if isinstance(u.value, VSlot) and u.value.node is not None}
    reads = {}  # parameter slot -> ids of the nodes that read it
    for slot, node in flow.slot_nodes:
        if slot.kind == SlotKind.DEF:
            reads.setdefault(slot, set()).add(id(node))
    handed = {}  # id(call) -> does it go whole to a parameter read only by unpackings
    for binding in flow.bindings:
        if binding.kind == BindingKind.ARG and binding.target.kind == SlotKind.DEF and isinstance(binding.value, VSlot) \
                and binding.value.node is not None and id(binding.value.node) in flow.runs:
            read = reads.get(binding.target, set()) - {id(binding.target_node), binding.target.def_id}  # its reads, not its definition
            handed[id(binding.value.node)] = bool(read) and read <= unpacked and handed.get(id(binding.value.node), True)
    keys, refused = set(), set()
    for call, functions in flow.runs.items():
        if call in unpacked:
            continue
        (keys if handed.get(call) else refused).update(functions)
    return keys - refused


def _split_origin(solution: Solution, value: Value) -> Optional[str]:
    value = solution.resolved(value)
    if isinstance(value, VCallOf) and solution.recurrent_calls.get(id(value)) == CELL_KIND:
        return "cell"
    leaf = solution.resolutions.leaf_of(value)
    if isinstance(leaf, VCallOf) and solution.recurrent_calls.get(id(leaf)) == CELL_KIND:
        return "cell"  # `h = self.cell(x, h) * m`: a chain on the cell's new state, as the state itself
    if isinstance(leaf, VCat) and solution.elements_are_state(leaf.container):
        return "batch"
    if isinstance(leaf, VSlot):
        key = solution.def_name(leaf.slot)
        if key is not None and key in solution.split_names:
            return solution.split_names[key]
        slot = leaf.slot
        if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.POS and slot.base.kind == SlotKind.RETURN:
            if (slot.base.function, slot.label.position) in solution.split_returns:
                return "batch"
    return None
