"""Packed form: the rank a value may have (how many dimensions), through the names that carry it.

A dimension counted from the front (`h.transpose(0, 1)`, `h[:, idx]`) is the last one when the
tensor's rank says so. The rank is known from what made the value: an allocation with its sizes
written out, an nn.GRU's state (3-D), a GRUCell's (2-D), and the reshapes and indexings on the way
(rules/packed_dims.py judges the dimensions with it). Also the small readers of dimensions written
in the code that both use (`integer`, `name_of`, the elements of a subscript).
"""

from __future__ import annotations

from itertools import product
from typing import Optional

import libcst as cst

from gru2lstm.syntax import compared_parts
from gru2lstm.values import (
    ELEM, ChildSlot, LabelKind, ReturnSlot, SlotKind, Value, VArith, VCallOf, VChoice, VContainer, VCreate, VDerived,
    VCat, VIndex, VOpaque, VSlot, VTuple,
)
from gru2lstm.vocab import (
    CAT_NAMES, CELL_KIND, CONVERTING_NAMES, ELEMENTWISE_METHODS, FILL_NAMES, GRU_KIND, KEEP_METHODS, LIKE_SUFFIX, RANK_ADDING_METHOD,
    RANK_DROPPING_METHOD, SAME_RANK_NAMES, SIZED_INDEX_DRAWS, SIZED_SHAPE_METHODS, SPLITTING_METHODS, STACK_NAME, STATE_RANKS,
    UNBIND_METHOD, VECTOR_INDEX_DRAWS,
)

# what gives a tensor of the rank it is given: `.detach()`, `.clamp()`, `torch.sigmoid`, `np.asarray`
RANK_KEEPING = KEEP_METHODS | ELEMENTWISE_METHODS | SAME_RANK_NAMES | CONVERTING_NAMES
_VISITS = 2000  # names visited for one value's rank before it counts as not known (a walk over every path)


def name_of(node: cst.BaseExpression) -> str:
    """The name a call calls (`flip` of `t.flip(-1)` and of `torch.flip(t)`); "" for anything else (`x.T`)."""
    func = getattr(node, "func", None)
    return func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""


def integer(node: cst.BaseExpression) -> Optional[int]:
    """A dimension written as an integer (`-1`, `2`), else None."""
    negative = isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus)
    number = node.expression if negative else node
    if not isinstance(number, cst.Integer):
        return None
    return -int(number.value) if negative else int(number.value)


def subscript_elements(node: cst.Subscript) -> list:
    return [element.slice for element in node.slice]


def is_ellipsis(element) -> bool:
    return isinstance(element, cst.Index) and isinstance(element.value, cst.Ellipsis)


def is_new_axis(element) -> bool:
    return isinstance(element, cst.Index) and isinstance(element.value, cst.Name) and element.value.value == "None"


def subscript_rank(node: cst.Subscript, known: frozenset, before: bool = False, indices: Optional[dict] = None) -> Optional[frozenset]:
    """The ranks after `t[...]` (before=True: of `t`, given those after): an integer drops a
    dimension, None adds one; an index that is a name or an expression (`S[step]`, `h[:, idx]`) is
    taken to be an integer or a tensor of one dimension (it drops one dimension or none), unless
    `indices` (id(element) -> its ranks) says what the one such index is (`idx` of
    `idx = torch.randint(0, n, (k,))`: a tensor of one dimension, in place of the one it indexes)."""
    elements = subscript_elements(node)
    told = indices if indices and sum(_indexes_by_value(element) for element in elements) == 1 else {}
    changes = []  # per element, how it may change the rank
    for element in elements:
        if is_new_axis(element):
            changes.append((1,))
        elif id(element) in told:
            changes.append(tuple(rank - 1 for rank in told[id(element)]))
        elif _indexes_by_value(element):
            changes.append((-1, 0))
        elif isinstance(element, cst.Index) and not is_ellipsis(element):
            changes.append((-1,))
    sign = -1 if before else 1  # before: the ranks of what is indexed, given those of the result
    return frozenset(rank + sign * sum(change) for rank in known for change in product(*changes))


def _indexes_by_value(element) -> bool:
    """Is `element` an index that is neither an integer written out, None nor `...` (`[step]`, `[idx]`)?"""
    return isinstance(element, cst.Index) and not is_ellipsis(element) and not is_new_axis(element) and integer(element.value) is None


def sizes_given(node: cst.Call) -> Optional[int]:
    """How many sizes a creation or a reshape writes out (`zeros(1, B, H)`, `view((B, H))`), else None."""
    sizes = sizes_written(node)
    return len(sizes) if sizes else None


def sizes_written(node: cst.Call) -> Optional[list]:
    """The sizes a creation or a reshape writes out, None where their number is not written."""
    if any(arg.star for arg in node.args):
        return None
    sizes = [arg.value for arg in node.args if arg.keyword is None or arg.keyword.value in ("size", "shape")]
    if sizes and isinstance(sizes[0], (cst.Tuple, cst.List)):
        # `np.zeros((T, N, H), np.float32)`, `torch.full((T, N, H), 0.5)`: what follows is no size
        elements = sizes[0].elements
        return None if any(isinstance(e, cst.StarredElement) for e in elements) else [e.value for e in elements]
    if name_of(node) in FILL_NAMES:
        sizes = sizes[:1]  # `full(shape, value)`
    if len(sizes) == 1 and not isinstance(sizes[0], cst.Integer):
        return None  # `zeros(shape)`, `zeros((T,) + h.shape)`: a whole shape, of a length not written
    return sizes


class Ranks:
    """The ranks a value may have, through the names that carry it. `taken`: the ranks a recurrent
    call takes some names with (the walk below fills it), which is what they hold where what made
    them does not say."""

    def __init__(self, ctx, taken: Optional[dict] = None):
        self.ctx = ctx
        self.taken = {} if taken is None else taken
        # indexes of the flow, made once per plan (rules ask for ranks value by value)
        self.bound = ctx.values_bound_to  # slot -> [values bound to it]
        self.unpacked = ctx.values_unpacked_into  # slot -> [(value unpacked, position)]
        self.calls = ctx.calls_by_result
        self.containers = ctx.flow.containers
        self.pieces = ctx.pieces_by_node  # `h.unbind(1)` iterated: its elements
        self.members: Optional[dict] = None  # root of a class of slots -> its slots (made when first asked)
        self.consumed: Optional[dict] = None  # id(node) -> the value read there (made when first asked)

    def of(self, value: Value) -> Optional[frozenset]:
        """None: not known."""
        self.visits = 0
        return self._ranks(value, set()) or None  # empty: only loops, nothing that made it

    def _slot(self, slot, seen: set) -> Optional[frozenset]:
        """The ranks of every value bound to `slot`, also by unpacking (`out, h = self.gru(x, h)`). A
        loop that gives a state back to where it came from adds nothing: a recurrent call takes one rank."""
        if slot in seen:
            return frozenset()
        self.visits += 1
        if self.visits > _VISITS:
            return self.taken.get(slot)
        seen.add(slot)
        found = self._slot_sources(slot, seen)
        seen.discard(slot)  # `seen` is the path: a name reached again by another path counts again
        if not found or any(r is None for r in found):
            return self.taken.get(slot)  # what made it does not say: what a recurrent call takes it with
        return frozenset().union(*found)

    def _slot_sources(self, slot, seen: set) -> list:
        found = [self._ranks(value, seen) for value in self.bound.get(slot, ())]
        if slot.kind == SlotKind.CALL_RESULT and slot in self.calls:
            found.append(self._ranks(self.calls[slot], seen))  # `deter = self.cell(x, h)`: what the call gives
        if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.KEY:
            # `store["h"]` of a dict made by a literal, or of a parameter: also what the dict made
            # there holds under that key (the solver joins the keys of dicts moved into one another)
            found += [
                self._ranks(item, seen) for whole in self.bound.get(slot.base, ())
                if isinstance(self.ctx.solution.resolved(whole), VContainer)
                for label, item in self.ctx.solution.resolved(whole).items if label == slot.label
            ] + [self._slot(other, seen) for other in self._class_of(slot) if other != slot] + self._mirrored(slot, seen)
        found += [self._unpacked(value, position, seen) for value, position in self.unpacked.get(slot, ())]
        if slot.kind == SlotKind.CHILD and slot.base.kind == SlotKind.LITERAL and getattr(slot.base, "node_id", None) in self.pieces:
            found.append(self._ranks(self.pieces[slot.base.node_id], seen))
        if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.ELEM:
            # an element of a list bound whole (`bufs = [model.initial_state(1) for _ in range(n)]`)
            found += [
                self._ranks(whole, seen) for whole in self.bound.get(slot.base, ())
                if isinstance(self.ctx.solution.resolved(whole), VContainer)
            ]
            if not found:  # `v` of `post.items()`: as a state, a state of the dict's
                found.append(self._keyed(slot.base, seen))
        if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.POS:
            # a position of what a call gives (`self.gru(x, h)[1]`) or of what is bound as a whole
            wholes = self._wholes(slot.base) + ([self.calls[slot.base]] if slot.base in self.calls else [])
            found += [self._unpacked(whole, slot.label.position, seen) for whole in wholes]
        return found

    def _wholes(self, slot) -> list:
        """The values bound to `slot`; for an element of an iterated display held in a place of its
        own, also the elements of that display (`k, v` of `post.items()`: the pairs it gives)."""
        wholes = list(self.bound.get(slot, ()))
        if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.ELEM and slot.base.kind == SlotKind.LITERAL:
            wholes += [
                item for whole in self.bound.get(slot.base, ()) if isinstance(self.ctx.solution.resolved(whole), VContainer)
                for label, item in self.ctx.solution.resolved(whole).items if label == ELEM
            ]
        return wholes

    def _mirrored(self, slot, seen: set) -> list:
        """`post["deter"]` of `post = {k: torch.stack([s[k] for s in steps], 1) for k in steps[0]}`:
        what the comprehension makes (solve.py follows its keys)."""
        classes = self.ctx.solution.classes
        root = classes.find(slot.base) if slot.base in classes.parent else None
        return [
            self._ranks(whole, seen) for target, _ in self.ctx.solution.mirrors
            if root is not None and target in classes.parent and classes.find(target) == root
            for whole in self.bound.get(target, ()) if isinstance(self.ctx.solution.resolved(whole), VContainer)
        ]

    def _keyed(self, dictionary, seen: set) -> Optional[frozenset]:
        """`s[k]` of a dict that holds states beside other values: the ranks of its states."""
        classes = self.ctx.solution.classes
        root = classes.find(dictionary) if dictionary in classes.parent else None
        if root is None or ("keyed", root) in seen:
            return None if root is None else frozenset()  # a loop back to the same dict adds nothing
        seen.add(("keyed", root))
        parts = classes.parts.get(root, {})
        found = [self._slot(part, seen) for label, part in parts.items() if label.kind == LabelKind.KEY and self.ctx.solution.is_state(part)]
        seen.discard(("keyed", root))
        return None if not found or any(r is None for r in found) else frozenset().union(*found)

    def shape_held(self, node: cst.Call, seen: Optional[set] = None) -> Optional[frozenset]:
        """The ranks of `np.zeros(shape)`: the lengths of the tuples written out that the one name
        (or attribute, or parameter) given as its shape holds (`shape = (T, L, N, H)`); None when
        it may hold anything else."""
        sizes = [arg.value for arg in node.args if arg.keyword is None or arg.keyword.value in ("size", "shape")]
        if len(sizes) != 1 or not isinstance(sizes[0], (cst.Name, cst.Attribute)):
            return None
        if self.consumed is None:
            self.consumed = {id(use.node): use.value for use in self.ctx.flow.consumptions}
        held = self.ctx.solution.resolved(self.consumed.get(id(sizes[0]), VOpaque(None, "")))
        seen = set() if seen is None else seen
        if not isinstance(held, VSlot) or held.slot in seen:
            return None
        seen.add(held.slot)
        found = [self._tuple_length(value, seen) for value in self.bound.get(held.slot, ())]
        seen.discard(held.slot)
        return None if not found or None in found else frozenset().union(*found)

    def _tuple_length(self, value: Value, seen: set) -> Optional[frozenset]:
        if isinstance(value, VArith):
            return None  # `(T,) + shape`: resolved, it would be one of its operands
        value = self.ctx.solution.resolved(value)
        if isinstance(value, VTuple) and isinstance(value.node, (cst.Tuple, cst.List)):
            starred = any(isinstance(element, cst.StarredElement) for element in value.node.elements)
            return None if starred else frozenset({len(value.node.elements)})
        if isinstance(value, VSlot) and value.slot not in seen:  # `shape = other_shape`, a parameter
            seen.add(value.slot)
            found = [self._tuple_length(bound, seen) for bound in self.bound.get(value.slot, ())]
            seen.discard(value.slot)
            return None if not found or None in found else frozenset().union(*found)
        return None

    def _class_of(self, slot) -> list:
        classes = self.ctx.solution.classes
        if slot not in classes.parent:
            return []
        if self.members is None:
            self.members = {}
            for member in list(classes.parent):
                self.members.setdefault(classes.find(member), []).append(member)
        return self.members.get(classes.find(slot), [])

    def _unpacked(self, value: Value, position: int, seen: set) -> Optional[frozenset]:
        value = self.ctx.solution.resolved(value)
        if isinstance(value, VTuple) and position < len(value.items):
            return self._ranks(value.items[position], seen)
        if isinstance(value, VContainer):  # `a, b = h.split(1, dim=1)`: each a piece
            return self._ranks(value, seen)
        if not isinstance(value, (VCallOf, VSlot)):
            return None
        kind = self.ctx.solution.recurrent_calls.get(id(value))
        callee = self.ctx.solution.forwarded.get(id(value))
        if isinstance(value, VSlot) or (kind is None and callee is not None):
            # `y, h = policy(x, h)`: that position of what its forward() (or the function) returns
            slot = value.slot if isinstance(value, VSlot) else ReturnSlot.of(callee.key)
            if slot in seen:
                return frozenset()
            seen.add(slot)
            found = [self._unpacked(whole, position, seen) for whole in self._wholes(slot)]
            seen.discard(slot)
            return None if not found or any(r is None for r in found) else frozenset().union(*found)
        return frozenset({STATE_RANKS[GRU_KIND]}) if kind is not None and kind != CELL_KIND and position == 1 else None

    def _ranks(self, value: Value, seen: set) -> Optional[frozenset]:
        solution = self.ctx.solution
        if isinstance(value, VIndex) and id(value.node) in solution.keyed_reads:
            return self._keyed(solution.keyed_reads[id(value.node)], seen)
        value = solution.resolved(value)
        if isinstance(value, VSlot):
            if value.slot in self.containers:
                return self._slot(ChildSlot.of(value.slot, ELEM), seen)
            return self._slot(value.slot, seen)
        if isinstance(value, (VChoice, VContainer)):  # a list of states: the ranks of its elements
            options = value.options if isinstance(value, VChoice) else [item for _, item in value.items]
            found = [self._ranks(option, seen) for option in options]
            return None if not found or any(r is None for r in found) else frozenset().union(*found)
        if isinstance(value, VCallOf):
            kind = solution.recurrent_calls.get(id(value))
            return frozenset({STATE_RANKS[kind]}) if kind == CELL_KIND else None  # a GRU gives (output, h)
        if isinstance(value, VCreate) and isinstance(value.node, cst.Call) and not name_of(value.node).endswith(LIKE_SUFFIX):
            given = sizes_given(value.node)  # `zeros_like(t)` has t's rank, not known here
            return self.shape_held(value.node, seen) if given is None else frozenset({given})
        if isinstance(value, VArith):
            return self._broadcast(value, seen)
        if isinstance(value, VOpaque) and isinstance(value.node, cst.Comparison):
            return self._compared(value.node, seen)
        if isinstance(value, VCat) and isinstance(value.container, VContainer) and name_of(value.node) in CAT_NAMES:
            # `torch.stack([s[k] for s in steps], 1)` adds a dimension, `torch.cat` keeps them (of a
            # list held in a name, not known: its elements may come from anywhere, a long search)
            joined = self._ranks(value.container, seen)
            return None if joined is None else frozenset(r + (name_of(value.node) == STACK_NAME) for r in joined)
        if isinstance(value, (VDerived, VOpaque)) and isinstance(value.node, cst.Call) and name_of(value.node) in SIZED_INDEX_DRAWS | VECTOR_INDEX_DRAWS:
            return _drawn_indices_rank(value.node)
        if not isinstance(value, (VDerived, VIndex)):
            return None
        base = self._ranks(value.base, seen)
        if base is not None and not base:
            return base  # only a loop back to where it came from: it adds nothing
        chain = self.ctx.flow.helper_chains.get(id(value.node))
        if chain is not None:  # a helper of the program giving its argument back through these calls
            for step in chain:
                base = None if base is None else rank_after(step, base)
            return base
        if base is not None and isinstance(value.node, cst.Subscript):
            return subscript_rank(value.node, base, indices=self._index_ranks(value.node, seen))
        return None if base is None else rank_after(value.node, base)

    def _index_ranks(self, node: cst.Subscript, seen: set) -> dict:
        """id(element) -> {1} for each index of `node` that is a name known to hold a tensor of one
        dimension (of integers or a mask, it stands for the one dimension it indexes; a mask of more
        dimensions would not)."""
        found = {}
        for element in subscript_elements(node):
            if isinstance(element, cst.Index) and isinstance(element.value, cst.Name):
                slots = self.ctx.flow.slots_at(element.value)
                if len(slots) == 1 and self._slot(slots[0], seen) == frozenset({1}):
                    found[id(element)] = frozenset({1})
        return found


    def _broadcast(self, value: VArith, seen: set) -> Optional[frozenset]:
        """The ranks of `a * b`: a state's (a mask does not broadcast it up), else the larger of the
        two, a number taking none."""
        solution = self.ctx.solution
        for operand in (value.left, value.right):
            if solution.value_is_state(operand):
                return self._ranks(operand, seen)
        both = [
            frozenset({0}) if is_number(solution.resolved(operand)) else self._ranks(operand, seen)
            for operand in (value.left, value.right)
        ]
        if any(r is None for r in both):
            return None
        return frozenset(max(a, b) for a in both[0] for b in both[1])

    def _compared(self, node: cst.Comparison, seen: set) -> Optional[frozenset]:
        """The ranks of `torch.rand(B) < p`: those of what it compares, broadcast (a number taking none)."""
        if self.consumed is None:
            self.consumed = {id(use.node): use.value for use in self.ctx.flow.consumptions}
        found = []
        for part in compared_parts(node):
            if isinstance(part, (cst.Integer, cst.Float)):
                found.append(frozenset({0}))
            elif id(part) in self.consumed:
                found.append(self._ranks(self.consumed[id(part)], seen))
            else:
                return None
        if any(r is None for r in found):
            return None
        return frozenset(max(ranks) for ranks in product(*found))


def _drawn_indices_rank(node: cst.Call) -> Optional[frozenset]:
    """The rank of the indices `torch.randperm(n)` or `torch.randint(0, n, (k,))` draws."""
    if name_of(node) in VECTOR_INDEX_DRAWS:
        return frozenset({1})
    sizes = [arg.value for arg in node.args if isinstance(arg.value, (cst.Tuple, cst.List)) and (arg.keyword is None or arg.keyword.value == "size")]
    if len(sizes) != 1 or any(isinstance(element, cst.StarredElement) for element in sizes[0].elements):
        return None
    return frozenset({len(sizes[0].elements)})


def is_number(value: Value) -> bool:
    return isinstance(value, VOpaque) and isinstance(value.node, (cst.Integer, cst.Float))


def rank_after(node: cst.BaseExpression, base: frozenset) -> Optional[frozenset]:
    """The ranks of what an operation gives, given those of what it acts on (None: not known)."""
    if isinstance(node, cst.Subscript):
        return subscript_rank(node, base)
    if isinstance(node, (cst.UnaryOperation, cst.BinaryOperation)):  # `h * m` settled as the state's
        return base
    if not isinstance(node, cst.Call):
        return None
    name = name_of(node)
    if name in RANK_KEEPING:
        return base
    if name == RANK_ADDING_METHOD:
        return frozenset(rank + 1 for rank in base)
    if name == RANK_DROPPING_METHOD:
        # `squeeze(d)` drops d only where its size is 1
        return frozenset(r for rank in base for r in (rank, rank - 1)) if node.args else None
    if name in SIZED_SHAPE_METHODS:
        given = sizes_given(node)
        return None if given is None else frozenset({given})
    if name in SPLITTING_METHODS:  # a piece of `h.split(1, 1)` has h's rank, of `h.unbind(1)` one fewer
        return frozenset(rank - 1 for rank in base) if name == UNBIND_METHOD else base
    return None
