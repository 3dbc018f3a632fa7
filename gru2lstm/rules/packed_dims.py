"""Packed form: which dimension an operation on the packed state acts along.

The packed state is h and c side by side along the last dimension. An operation along another
dimension (`h.flip(0)`, `h.transpose(0, 1)` of an (L, B, H) state, `h[:, idx]`) acts on both halves
alike, as it did on h. One along the last dimension (`h.flip(-1)`, `h[..., :k]`, `h.narrow(-1, 0, k)`,
`h / h.norm(dim=-1, keepdim=True)`, `torch.cat([h, x], -1)`) acts on h and c together. That is a
finding where the result stays a state; read as features, the features rule gives it h alone.

A dimension counted from the front is the last one when the tensor's rank says so. The rank is
known from what made the state: an allocation with its sizes written out, an nn.GRU's state (3-D),
a GRUCell's (2-D), and the reshapes on the way. When it is not known, a dimension counted from the
front may be the last one, except dimension 0 (every state has a layer or batch dimension first).
`moved_from` (what a value was moved from, through the names that carry it) serves the other
packed rules too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from gru2lstm.solve import recurrent_hidden_argument
from gru2lstm.values import (
    ELEM, ChildSlot, LabelKind, PosLabel, ReturnSlot, SlotKind, Value, VArith, VCallOf, VCat, VChoice, VContainer, VCreate, VDerived,
    VIndex, VOpaque, VSlot, VTuple,
)
from gru2lstm.vocab import (
    ALONG_LAST_BY_DEFAULT, CELL_KIND, CONVERTING_NAMES, DIM_KEYWORDS, DIM_POSITIONS, ELEMENTWISE_METHODS, GRU_KIND,
    KEEP_METHODS, LIKE_SUFFIX, PERMUTE_METHOD, RANK_ADDING_METHOD, RANK_DROPPING_METHOD, SAME_RANK_NAMES,
    SIZED_SHAPE_METHODS, SPLITTING_METHODS, STACK_NAME, STATE_RANKS, UNBIND_METHOD,
)


@dataclass
class Moves:
    """What a value was moved from: the values that made it, and the slots (names, attributes,
    parameters) on the way, also those that nothing analysed binds (`self.register_buffer("w", ...)`)."""

    sources: list = field(default_factory=list)
    slots: list = field(default_factory=list)


def moved_from(ctx, value: Value) -> list:
    """The values `value` was moved from, followed back through the names, attributes, parameters,
    tuple positions and choices that carry it unchanged (`hidden=None` handed on, then
    `self.hidden = None`): each is None, a creation, a call, an operation, …"""
    return moves(ctx, value).sources


def moves(ctx, value: Value) -> Moves:
    """What `value` was moved from, and through which slots (see moved_from)."""
    bindings = ctx.values_bound_to
    found, seen = Moves(), set()
    pending = [value]
    while pending:
        current = ctx.solution.resolved(pending.pop())
        if isinstance(current, VChoice):
            pending.extend(current.options)
        elif isinstance(current, VSlot):
            slot = current.slot
            if slot in seen:
                continue
            seen.add(slot)
            found.slots.append(slot)
            pending.extend(bindings.get(slot, ()))
            if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.POS:
                # `q, self.hidden = self.q(x, self.hidden)`: that position of what is returned
                for whole in bindings.get(slot.base, ()):
                    whole = ctx.solution.resolved(whole)
                    if isinstance(whole, VTuple) and slot.label.position < len(whole.items):
                        pending.append(whole.items[slot.label.position])
        else:
            found.sources.append(current)
    return found


# what gives a tensor of the rank it is given: `.detach()`, `.clamp()`, `torch.sigmoid`, `np.asarray`
_RANK_KEEPING = KEEP_METHODS | ELEMENTWISE_METHODS | SAME_RANK_NAMES | CONVERTING_NAMES
_VISITS = 2000  # names visited for one value's rank before it counts as not known (a walk over every path)


@dataclass
class StateChains:
    """What the values that stay a state (bound where a state is held, or passed to a recurrent
    call) are made of, up to the names they read."""

    along_last: list = field(default_factory=list)  # [node] of an operation acting along the last dimension
    arithmetic: list = field(default_factory=list)  # [VArith] whose result stays a state
    operations: set = field(default_factory=set)  # ids of the operations (calls, indexings) whose result stays a state


def state_chains(ctx) -> StateChains:
    """What the values that stay a state are made of. The ranks a recurrent call takes are carried
    back to the names its state is made from (`hxs = hxs.transpose(0, 1)` then `self.gru(x, hxs)`),
    until no name learns more; then the values are walked once more for what they are made of."""
    walker = _ChainWalker(ctx)
    hidden = [
        (recurrent_hidden_argument(call), _recurrent_rank(ctx, call)) for call in ctx.flow.calls
        if id(call) in ctx.solution.recurrent_calls and recurrent_hidden_argument(call) is not None
    ]
    bindings = _states_bound(ctx)
    known = -1
    while known != len(walker.expected):
        known = len(walker.expected)
        walker.walk_all(hidden, bindings)
    walker.found = StateChains()
    walker.walk_all(hidden, bindings)
    return walker.found


def _states_bound(ctx) -> list:
    """[(slot, value)] of each state bound, also as a position of a tuple (`return out, h * decay`)."""
    found = []
    for binding in ctx.flow.bindings:
        if ctx.solution.is_state(binding.target):
            found.append((binding.target, binding.value))
            continue
        whole = ctx.solution.resolved(binding.value)
        if isinstance(whole, VTuple):
            positions = [(ChildSlot.of(binding.target, PosLabel.of(i)), item) for i, item in enumerate(whole.items)]
            found += [(slot, item) for slot, item in positions if ctx.solution.is_state(slot)]
    return found


class _ChainWalker:
    def __init__(self, ctx):
        self.ctx = ctx
        self.along = {id(value) for value in ctx.flow.along_hidden}
        self.expected: dict = {}  # slot -> the ranks a recurrent call takes it with
        self.ranks = Ranks(ctx, self.expected)
        self.found = StateChains()
        self.seen: set = set()

    def walk_all(self, hidden: list, bindings: list) -> None:
        self.seen = set()
        for value, ranks_taken in hidden:
            self.walk(value, ranks_taken)
        for target, value in bindings:
            self.walk(value, self.expected.get(target))

    def walk(self, value: Value, expected: Optional[frozenset]) -> None:
        """Collect what `value` is made of; `expected`: the ranks it must have where it goes (None: not known)."""
        ctx = self.ctx
        if id(value) in self.seen:
            return
        self.seen.add(id(value))
        if isinstance(value, VArith):  # before it is resolved to the operand the solver settled on
            if ctx.solution.resolutions.is_settled(value):
                self.found.arithmetic.append(value)
            # a state is not broadcast up by what it is combined with (a mask): it has the result's rank
            self.walk(value.left, expected if ctx.solution.value_is_state(value.left) else None)
            self.walk(value.right, expected if ctx.solution.value_is_state(value.right) else None)
            return
        value = ctx.solution.resolved(value)
        if isinstance(value, VSlot) and expected is not None and ctx.solution.is_state(value.slot):
            self.expected.setdefault(value.slot, expected)
        elif isinstance(value, VChoice):
            for option in value.options:
                self.walk(option, expected)
        elif isinstance(value, VCat):
            container = ctx.solution.resolved(value.container)
            if _reads_a_state(ctx, container) and _cat_along_last(value.node, container, expected, self.ranks):
                self.found.along_last.append(value.node)
            if isinstance(container, VContainer):
                for _, item in container.items:
                    self.walk(item, None)
        elif isinstance(value, (VDerived, VIndex)):
            self.found.operations.add(id(value.node))
            below = _rank_before(value.node, expected)
            # a torch function along the last dimension takes the state anywhere (`einsum("lbh,hk->lbk", h, W)`)
            if id(value) in self.along or (_reads_a_state(ctx, value.base) and _touches_last(value, below, self.ranks)):
                self.found.along_last.append(value.node)
            self.walk(value.base, below)


def moves_the_last(ctx, value: Value, ranks: "Ranks") -> bool:
    """Does an operation in the chain of `value` act along (or move) its last dimension
    (`h.transpose(0, 2)` before `.unbind(0)`)?"""
    value = ctx.solution.resolved(value)
    while isinstance(value, (VDerived, VIndex)):
        if _touches_last(value, None, ranks):
            return True
        value = ctx.solution.resolved(value.base)
    return False


def _recurrent_rank(ctx, call: VCallOf) -> frozenset:
    return frozenset({STATE_RANKS.get(ctx.solution.recurrent_calls[id(call)], STATE_RANKS[GRU_KIND])})


def _rank_before(node: cst.BaseExpression, after: Optional[frozenset]) -> Optional[frozenset]:
    """The ranks of what an operation acts on, given those of its result (None: not known)."""
    if after is not None and isinstance(node, cst.Subscript):
        return _subscript_rank(node, after, before=True)
    if after is None or not isinstance(node, (cst.Call, cst.UnaryOperation, cst.BinaryOperation)):
        return None
    if not isinstance(node, cst.Call):
        return after
    name = name_of(node)
    if name in _RANK_KEEPING:
        return after
    if name == RANK_ADDING_METHOD:
        return frozenset(rank - 1 for rank in after)
    if name == RANK_DROPPING_METHOD and node.args:
        return frozenset(r for rank in after for r in (rank, rank + 1))
    return None


def _reads_a_state(ctx, value: Value) -> bool:
    value = ctx.solution.resolved(value)
    if isinstance(value, VContainer):
        return any(_reads_a_state(ctx, item) for _, item in value.items)
    if isinstance(value, VSlot) and ctx.solution.is_state(value.slot):
        return True
    leaf = ctx.solution.resolutions.leaf_of(value)
    return isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot)


def name_of(node: cst.Call) -> str:
    func = node.func
    return func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""


def integer(node: cst.BaseExpression) -> Optional[int]:
    """A dimension written as an integer (`-1`, `2`), else None."""
    negative = isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus)
    number = node.expression if negative else node
    if not isinstance(number, cst.Integer):
        return None
    return -int(number.value) if negative else int(number.value)


def may_be_last(dim: Optional[int], ranks: Optional[frozenset]) -> bool:
    """Can dimension `dim` (None: not written as an integer) be the last one of a tensor of one of
    these ranks (None: not known)?"""
    if dim is None:
        return True
    if dim < 0:
        return dim == -1
    if ranks is None:
        return dim > 0  # a state has a layer or batch dimension first
    return dim + 1 in ranks


def _dim_arguments(node: cst.Call, method_form: bool) -> Optional[list]:
    """The dimensions a call names (`flip(-1)`, `torch.flip(h, [-1])`, `sum(dim=(0, 2))`), None for
    a call that names none."""
    positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
    if not method_form:
        positional = positional[1:]
    named = [arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value in DIM_KEYWORDS]
    named += [positional[i] for i in DIM_POSITIONS.get(name_of(node), ()) if i < len(positional)]
    if not named:
        return None
    dims = []
    for given in named:
        if isinstance(given, (cst.Tuple, cst.List)):
            dims.extend(element.value for element in given.elements)
        else:
            dims.append(given)
    return dims


def _touches_last(value, expected: Optional[frozenset], ranks: Ranks) -> bool:
    """Does the operation of `value` (a call or a subscript of a state) act along its last dimension?
    `expected`: the ranks of its base where the result goes, used when what made it does not say."""
    node = value.node
    known = expected or ranks.of(value.base)  # what a recurrent call takes is surest
    if isinstance(node, cst.Subscript):
        return subscript_touches_last(node, known)
    if not isinstance(node, cst.Call):
        return False
    name = name_of(node)
    method_form = isinstance(node.func, cst.Attribute) and node.func.value is value.base.node
    if name == PERMUTE_METHOD:
        order = [arg.value for arg in node.args if not arg.star]
        if len(order) == 1 and isinstance(order[0], (cst.Tuple, cst.List)):
            order = [element.value for element in order[0].elements]
        last = integer(order[-1]) if order and not any(arg.star for arg in node.args) else None
        return not (last == -1 or (last is not None and known is not None and known == {last + 1}))
    if name not in DIM_POSITIONS:
        return False
    dims = _dim_arguments(node, method_form)
    if dims is None:
        return name in ALONG_LAST_BY_DEFAULT
    return any(may_be_last(integer(dim), known) for dim in dims)


def _cat_along_last(node: cst.Call, container: Value, expected: Optional[frozenset], ranks: Ranks) -> bool:
    """Does `torch.cat(states, dim)` join along the states' last dimension, or `torch.stack(states,
    dim)` put its new dimension after it (where the result's last one is)? `expected`: the ranks of
    the result where it goes."""
    dim = next((arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value in DIM_KEYWORDS), None)
    positional = [arg.value for arg in node.args if arg.keyword is None]
    if dim is None:
        dim = positional[1] if len(positional) > 1 else cst.Integer("0")
    known = ranks.of(container)
    if known is not None and name_of(node) == STACK_NAME:
        known = frozenset(rank + 1 for rank in known)
    known = expected or known
    if known is None and integer(dim) is not None and integer(dim) >= 0:
        return False  # a join of states of unknown rank counted from the front is a batch join, as before (not proven)
    return may_be_last(integer(dim), known)


def _subscript_elements(node: cst.Subscript) -> list:
    return [element.slice for element in node.slice]


def _full_slice(element) -> bool:
    return isinstance(element, cst.Slice) and element.lower is None and element.upper is None and element.step is None


def _is_ellipsis(element) -> bool:
    return isinstance(element, cst.Index) and isinstance(element.value, cst.Ellipsis)


def is_new_axis(element) -> bool:
    return isinstance(element, cst.Index) and isinstance(element.value, cst.Name) and element.value.value == "None"


def subscript_touches_last(node: cst.Subscript, known: Optional[frozenset]) -> bool:
    """Does `h[...]` pick or cut along the last dimension (`h[..., :k]`, `h[:, :, 2]` of a 3-D h)?"""
    elements = [e for e in _subscript_elements(node) if not is_new_axis(e)]
    ellipsis = next((i for i, e in enumerate(elements) if _is_ellipsis(e)), None)
    for i, element in enumerate(elements):
        if _is_ellipsis(element) or _full_slice(element):
            continue
        if ellipsis is not None and i > ellipsis:
            if i == len(elements) - 1:
                return True
        elif may_be_last(i, known):
            return True
    return False


def _subscript_rank(node: cst.Subscript, known: frozenset, before: bool = False) -> Optional[frozenset]:
    """The ranks after `t[...]` (before=True: of `t`, given those after): an integer drops a
    dimension, None adds one; an index that is a name or an expression (`S[step]`, `h[:, idx]`) is
    taken to be an integer or a tensor of one dimension (it drops one dimension or none)."""
    dropped, added, either = 0, 0, 0
    for element in _subscript_elements(node):
        if is_new_axis(element):
            added += 1
        elif isinstance(element, cst.Index) and not _is_ellipsis(element):
            if integer(element.value) is None:
                either += 1
            else:
                dropped += 1
    sign = -1 if before else 1  # before: the ranks of what is indexed, given those of the result
    return frozenset(rank + sign * (added - dropped - k) for rank in known for k in range(either + 1))


def _sizes_given(node: cst.Call) -> Optional[int]:
    """How many sizes a creation or a reshape writes out (`zeros(1, B, H)`, `view((B, H))`), else None."""
    sizes = sizes_written(node)
    return len(sizes) if sizes else None


def sizes_written(node: cst.Call) -> Optional[list]:
    """The sizes a creation or a reshape writes out, None where their number is not written."""
    if any(arg.star for arg in node.args):
        return None
    sizes = [arg.value for arg in node.args if arg.keyword is None or arg.keyword.value in ("size", "shape")]
    if len(sizes) == 1 and isinstance(sizes[0], (cst.Tuple, cst.List)):
        elements = sizes[0].elements
        return None if any(isinstance(e, cst.StarredElement) for e in elements) else [e.value for e in elements]
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
        self.bound: dict = {}  # slot -> [values bound to it]
        for binding in ctx.flow.bindings:
            self.bound.setdefault(binding.target, []).append(binding.value)
        self.unpacked: dict = {}  # slot -> [(value unpacked, position)]
        for unpacking in ctx.flow.unpackings:
            for element in unpacking.elements:
                self.unpacked.setdefault(element.slot, []).append((unpacking.value, element.position))
        self.calls = {call.result: call for call in ctx.flow.calls}
        self.containers = ctx.flow.containers
        self.pieces = {id(pieces.node): pieces for pieces in ctx.flow.pieces}  # `h.unbind(1)` iterated: its elements

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
        found += [self._unpacked(value, position, seen) for value, position in self.unpacked.get(slot, ())]
        if slot.kind == SlotKind.CHILD and slot.base.kind == SlotKind.LITERAL and getattr(slot.base, "node_id", None) in self.pieces:
            found.append(self._ranks(self.pieces[slot.base.node_id], seen))
        if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.ELEM:
            # an element of a list bound whole (`bufs = [model.initial_state(1) for _ in range(n)]`)
            found += [
                self._ranks(whole, seen) for whole in self.bound.get(slot.base, ())
                if isinstance(self.ctx.solution.resolved(whole), VContainer)
            ]
        if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.POS:
            # a position of what a call gives (`self.gru(x, h)[1]`) or of what is bound as a whole
            wholes = self.bound.get(slot.base, []) + ([self.calls[slot.base]] if slot.base in self.calls else [])
            found += [self._unpacked(whole, slot.label.position, seen) for whole in wholes]
        return found

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
            found = [self._unpacked(whole, position, seen) for whole in self.bound.get(slot, ())]
            seen.discard(slot)
            return None if not found or any(r is None for r in found) else frozenset().union(*found)
        return frozenset({STATE_RANKS[GRU_KIND]}) if kind is not None and kind != CELL_KIND and position == 1 else None

    def _ranks(self, value: Value, seen: set) -> Optional[frozenset]:
        solution = self.ctx.solution
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
            given = _sizes_given(value.node)  # `zeros_like(t)` has t's rank, not known here
            return None if given is None else frozenset({given})
        if isinstance(value, VArith):
            return self._broadcast(value, seen)
        if not isinstance(value, (VDerived, VIndex)):
            return None
        base = self._ranks(value.base, seen)
        return None if base is None else _rank_after(value.node, base)


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


def is_number(value: Value) -> bool:
    return isinstance(value, VOpaque) and isinstance(value.node, (cst.Integer, cst.Float))


def _rank_after(node: cst.BaseExpression, base: frozenset) -> Optional[frozenset]:
    """The ranks of what an operation gives, given those of what it acts on (None: not known)."""
    if isinstance(node, cst.Subscript):
        return _subscript_rank(node, base)
    if isinstance(node, (cst.UnaryOperation, cst.BinaryOperation)):  # `h * m` settled as the state's
        return base
    if not isinstance(node, cst.Call):
        return None
    name = name_of(node)
    if name in _RANK_KEEPING:
        return base
    if name == RANK_ADDING_METHOD:
        return frozenset(rank + 1 for rank in base)
    if name == RANK_DROPPING_METHOD:
        # `squeeze(d)` drops d only where its size is 1
        return frozenset(r for rank in base for r in (rank, rank - 1)) if node.args else None
    if name in SIZED_SHAPE_METHODS:
        given = _sizes_given(node)
        return None if given is None else frozenset({given})
    if name in SPLITTING_METHODS:  # a piece of `h.split(1, 1)` has h's rank, of `h.unbind(1)` one fewer
        return frozenset(rank - 1 for rank in base) if name == UNBIND_METHOD else base
    return None
