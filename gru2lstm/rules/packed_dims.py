"""Packed form: which dimension an operation on the packed state acts along.

The packed state is h and c side by side along the last dimension. An operation along another
dimension (`h.flip(0)`, `h.transpose(0, 1)` of an (L, B, H) state, `h[:, idx]`) acts on both halves
alike, as it did on h. One along the last dimension (`h.flip(-1)`, `h[..., :k]`, `h.narrow(-1, 0, k)`,
`h / h.norm(dim=-1, keepdim=True)`, `torch.cat([h, x], -1)`) acts on h and c together. That is a
finding where the result stays a state; read as features, the features rule gives it h alone.

A dimension counted from the front is the last one when the tensor's rank says so (packed_ranks.py).
When it is not known, a dimension counted from the front may be the last one, except dimension 0
(every state has a layer or batch dimension first). A helper's way back (`def to_env_major(t):
return t.transpose(0, 1)...`, summaries.DimOp) is judged at each call with the rank of the
argument passed there, followed through the calls on the way.
`moved_from` (what a value was moved from, through the names that carry it) serves the other
packed rules too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from gru2lstm.rules.packed_ranks import (
    RANK_KEEPING, Ranks, integer, is_ellipsis, is_new_axis, name_of, rank_after, subscript_elements, subscript_rank,
)
from gru2lstm.program import Use
from gru2lstm.rules.base import in_place_call, takes_a_state
from gru2lstm.solve import recurrent_hidden_argument
from gru2lstm.syntax import code_of
from gru2lstm.expressions import CONSTANT
from gru2lstm.values import (
    ELEM, ChildSlot, LabelKind, PosLabel, SlotKind, Value, VArith, VCallOf, VCat, VChoice, VContainer, VCreate, VDerived, VIndex, VNone, VOpaque, VSlot,
    VTuple,
)
from gru2lstm.vocab import (
    ALONG_LAST_BY_DEFAULT, CELL_KIND, DIMENSION_MOVING_NAMES, DIM_KEYWORDS, DIM_POSITIONS, GRU_KIND, MASK_POSITIONS, PERMUTE_METHOD, RANK_ADDING_METHOD,
    MAP_BUILTIN, RANK_DROPPING_METHOD, STACK_NAME, STATE_RANKS, TRANSPOSING_ATTRIBUTES, TRANSPOSING_CALLS,
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


def may_be_none(ctx, value: Value) -> bool:
    """Can `value` be None where it is read (`hidden=None` handed on, `self.hidden = None` until
    the first step)? A value made by an operation is a tensor."""
    return any(isinstance(source, VNone) for source in moved_from(ctx, value))


def number_moved_in(ctx, value: Value) -> Optional[Value]:
    """A number that `value` may have been moved from, or an item of a display held where it is read
    (`mem = [h, 0]`, then `mem[1]`, the number sharing the place of the state), else None."""
    found = moves(ctx, value)
    wholes = [
        (slot, ctx.solution.resolved(whole)) for slot in found.slots if slot.kind == SlotKind.CHILD
        for whole in ctx.values_bound_to.get(slot.base, ())
    ]
    held = [item for slot, whole in wholes if isinstance(whole, VContainer) for label, item in whole.items if label == slot.label]
    sources = [*found.sources, *(ctx.solution.resolved(item) for item in held)]
    return next((source for source in sources if isinstance(source, VOpaque) and source.why == CONSTANT and source.node is not None), None)


def moves(ctx, value: Value) -> Moves:
    """What `value` was moved from, and through which slots (see moved_from)."""
    bindings = ctx.values_bound_to
    found, seen, listed = Moves(), set(), set()
    pending = [(value, False)]  # (a value, whether a test there rules None out)
    while pending:
        current, not_none = pending.pop()
        current = ctx.solution.resolved(current)
        if isinstance(current, VChoice):
            tested = tested_not_none(current.node)
            pending.extend((option, not_none or option.node is not None and tested == code_of(option.node)) for option in current.options)
        elif isinstance(current, VSlot):
            slot = current.slot
            if (slot, not_none) in seen:
                continue
            if slot not in listed:
                listed.add(slot)
                found.slots.append(slot)
            seen.add((slot, not_none))
            pending.extend((bound, not_none) for bound in bindings.get(slot, ()))
            if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.POS:
                # `q, self.hidden = self.q(x, self.hidden)`: that position of what is returned
                for whole in bindings.get(slot.base, ()):
                    whole = ctx.solution.resolved(whole)
                    if isinstance(whole, VTuple) and slot.label.position < len(whole.items):
                        pending.append((whole.items[slot.label.position], not_none))
        elif not (not_none and isinstance(current, VNone)):
            found.sources.append(current)
    return found


def tested_not_none(node) -> Optional[str]:
    """The code of what `h0 if h0 is not None else ...` / `... if h0 is None else h0` gives only
    when it is not None, else None."""
    if not isinstance(node, cst.IfExp) or not isinstance(node.test, cst.Comparison) or len(node.test.comparisons) != 1:
        return None
    test = node.test.comparisons[0]
    if not (isinstance(test.comparator, cst.Name) and test.comparator.value == "None"):
        return None
    given = node.body if isinstance(test.operator, cst.IsNot) else node.orelse if isinstance(test.operator, cst.Is) else None
    tested = code_of(node.test.left)
    return tested if given is not None and code_of(given) == tested else None




@dataclass
class StateChains:
    """What the values that stay a state (bound where a state is held, or passed to a recurrent
    call) are made of, up to the names they read."""

    along_last: list = field(default_factory=list)  # [node] of an operation acting along the last dimension
    arithmetic: list = field(default_factory=list)  # [VArith] whose result stays a state
    masked: list = field(default_factory=list)  # [(Call, its mask)] picking elements of a state (`h.masked_fill(done, 0)`)
    operations: set = field(default_factory=set)  # ids of the operations (calls, indexings, joins) whose result stays a state


def state_chains(ctx) -> StateChains:
    """What the values that stay a state are made of. The ranks a recurrent call takes are carried
    back to the names its state is made from (`hxs = hxs.transpose(0, 1)` then `self.gru(x, hxs)`),
    until no name learns more; then the values are walked once more for what they are made of."""
    walker = _ChainWalker(ctx)
    hidden = [
        (recurrent_hidden_argument(call), _recurrent_rank(ctx, call)) for call in ctx.flow.calls
        if id(call) in ctx.solution.recurrent_calls and recurrent_hidden_argument(call) is not None
    ]
    bindings = _states_bound(ctx) + _changed_in_place(ctx)
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


def _changed_in_place(ctx) -> list:
    """[(None, value)] of each statement that changes a state in place (`h.mul_(w)`, `h *= w`): what
    it is made of meets the packed state as a bound state's value does."""
    dropped = [
        (None, use.value) for use in ctx.flow.consumptions
        if use.context == Use.DISCARD and in_place_call(ctx, use.value) is not None and (
            takes_a_state(ctx, use)  # a join of two states (`h.index_copy_(0, ids, new_h)`) has no one leaf
            or isinstance(use.value, VArith) and (ctx.solution.value_is_state(use.value.left) or ctx.solution.value_is_state(use.value.right))
        )
    ]
    return dropped + [(None, arith) for arith in ctx.augmented.values() if ctx.solution.value_is_state(arith.left)]


class _ChainWalker:
    def __init__(self, ctx):
        self.ctx = ctx
        self.along = {id(value) for value in ctx.flow.along_hidden}
        self.helpers = {id(value): through for value, through in ctx.flow.helper_dims}  # helper calls naming a dimension
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
            self.found.operations.add(id(value.node))
            if ctx.solution.resolutions.is_settled(value):
                self.found.arithmetic.append(value)
            if ctx.solution.value_is_state(value.left) or ctx.solution.value_is_state(value.right):
                self._masked(value.node)  # `torch.where(done, zeros_like(h), h)`
                state = value.left if ctx.solution.value_is_state(value.left) else value.right
                known = _both(expected, self.ranks.of(state))  # `h.index_copy(1, ids, new)` of an (L, B, H) state: rows
                if isinstance(value.node, cst.Call) and call_touches_last(value.node, isinstance(value.node.func, cst.Attribute), known):
                    self.found.along_last.append(value.node)  # `h.index_copy_(-1, idx, new)`: columns of h and c together
            # a state is not broadcast up by what it is combined with (a mask): it has the result's rank
            self.walk(value.left, expected if ctx.solution.value_is_state(value.left) else None)
            self.walk(value.right, expected if ctx.solution.value_is_state(value.right) else None)
            return
        value = ctx.solution.resolved(value)
        if isinstance(value, VSlot) and expected is not None and ctx.solution.is_state(value.slot):
            self.expected.setdefault(value.slot, expected)
        elif isinstance(value, VSlot) and not ctx.solution.is_state(value.slot):
            for bound in ctx.values_bound_to.get(value.slot, []):  # `h + noise` of `noise = randn(1).expand_as(h)`
                self.walk(bound, None)
        elif isinstance(value, VChoice):
            for option in value.options:
                self.walk(option, expected)
        elif isinstance(value, VCreate):
            self.found.operations.add(id(value.node))  # `zeros_like(h)` made into a state: as wide as the packed state
        elif isinstance(value, VCat):
            container = ctx.solution.resolved(value.container)
            if _joins_states(ctx, value, container) and _cat_along_last(value.node, container, expected, self.ranks):
                self.found.along_last.append(value.node)
            if isinstance(container, VContainer):
                for _, item in container.items:
                    self.walk(item, None)
        elif isinstance(value, (VDerived, VIndex)):
            self.found.operations.add(id(value.node))
            if _reads_a_state(ctx, value.base):
                self._masked(value.node)  # `h.masked_fill(done, 0)`
            below = _rank_before(value.node, expected)
            # a torch function along the last dimension takes the state anywhere (`einsum("lbh,hk->lbk", h, W)`)
            if id(value) in self.along or (_reads_a_state(ctx, value.base) and _touches_last(value, below, self.ranks)):
                self.found.along_last.append(value.node)
            elif id(value) in self.helpers and helper_touches_last(self.helpers[id(value)], self.ranks.of(value.base)):
                self.found.along_last.append(value.node)
            self.walk(value.base, below)


    def _masked(self, node) -> None:
        position = MASK_POSITIONS.get(name_of(node)) if isinstance(node, cst.Call) else None
        if position is None:
            return
        positional = [arg for arg in node.args if arg.keyword is None]
        if len(positional) > position:
            self.found.masked.append((node, positional[position].value))


def moves_the_last(ctx, value: Value, ranks: "Ranks", moving_only: bool = False) -> bool:
    """Does an operation in the chain of `value` act along (or move) its last dimension
    (`h.transpose(0, 2)` before `.unbind(0)`)? `moving_only`: only one that moves it elsewhere
    (`permute`, `transpose`, `.T`), not one that acts along it where it is (`flip(-1)`)."""
    value = ctx.solution.resolved(value)
    while isinstance(value, (VDerived, VIndex)):
        if (not moving_only or _moves_dimensions(value.node)) and _touches_last(value, None, ranks):
            return True
        value = ctx.solution.resolved(value.base)
    return False


def _moves_dimensions(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Attribute):
        return node.attr.value in TRANSPOSING_ATTRIBUTES
    return isinstance(node, cst.Call) and name_of(node) in DIMENSION_MOVING_NAMES


def _recurrent_rank(ctx, call: VCallOf) -> frozenset:
    return frozenset({STATE_RANKS.get(ctx.solution.recurrent_calls[id(call)], STATE_RANKS[GRU_KIND])})


def _rank_before(node: cst.BaseExpression, after: Optional[frozenset]) -> Optional[frozenset]:
    """The ranks of what an operation acts on, given those of its result (None: not known)."""
    if after is not None and isinstance(node, cst.Subscript):
        return subscript_rank(node, after, before=True)
    if after is None or not isinstance(node, (cst.Call, cst.UnaryOperation, cst.BinaryOperation)):
        return None
    if not isinstance(node, cst.Call):
        return after
    name = name_of(node)
    if name in RANK_KEEPING:
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
    if isinstance(value, VCallOf):  # what a cell gives is its new state (`self.cell(x, h).flip(-1)`)
        return ctx.solution.recurrent_calls.get(id(value)) == CELL_KIND
    leaf = ctx.solution.resolutions.leaf_of(value)
    return isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot)


def _joins_states(ctx, cat: VCat, container: Value) -> bool:
    """Does the cat or stack join states: items of the list it is given, or the column of stored
    rows that `map(torch.cat, zip(*rows))` gives it?"""
    if _mapped_join(cat.node) is not None and isinstance(container, VSlot):
        return ctx.solution.is_state(ChildSlot.of(container.slot, ELEM))
    return _reads_a_state(ctx, container)


def _mapped_join(node: cst.Call) -> Optional[cst.BaseExpression]:
    """`torch.cat` of `map(torch.cat, zip(*rows))` (calls.py: a column map), else None."""
    func = node.func
    return node.args[0].value if isinstance(func, cst.Name) and func.value == MAP_BUILTIN else None


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
    known = _both(expected, ranks.of(value.base))
    if isinstance(node, cst.Subscript):
        return subscript_touches_last(node, known)
    if isinstance(node, cst.Attribute):
        return node.attr.value in TRANSPOSING_ATTRIBUTES  # `h.T`: the last dimension moved
    if not isinstance(node, cst.Call):
        return False
    return call_touches_last(node, isinstance(node.func, cst.Attribute) and node.func.value is value.base.node, known)


def _both(expected: Optional[frozenset], made: Optional[frozenset]) -> Optional[frozenset]:
    """The ranks a value may have, from where it goes (what a recurrent call takes) and from what
    made it: each holds every rank it may have, so both hold it; when they disagree (neither is
    sure of the reshapes on the way), either."""
    if expected is None or made is None:
        return expected or made
    return (expected & made) or (expected | made)


def helper_touches_last(through, argument: Optional[frozenset]) -> bool:
    """Does a helper's way back (summaries.PassThrough) act along the last dimension of what it is
    given, a tensor of one of the ranks `argument` (None: not known)? Each method naming a
    dimension is judged with the rank of what it acts on, the argument's followed through the
    calls before it (`t.transpose(0, 1)` of a 3-D state keeps its last dimension)."""
    for op in through.dim_ops:
        known = None if op.chain is None else argument
        for step in op.chain or ():
            known = None if known is None or step is None else rank_after(step, known)
        if call_touches_last(op.node, True, known):
            return True
    return False


def call_touches_last(node: cst.Call, method_form: bool, known: Optional[frozenset]) -> bool:
    """Does a call (`t.flip(-1)`, `torch.flip(t, [-1])` when not `method_form`) act along the last
    dimension of a tensor of one of the ranks `known` (None: not known)?"""
    name = name_of(node)
    if name == PERMUTE_METHOD:
        order = [arg.value for arg in node.args if not arg.star]
        if len(order) == 1 and isinstance(order[0], (cst.Tuple, cst.List)):
            order = [element.value for element in order[0].elements]
        last = integer(order[-1]) if order and not any(arg.star for arg in node.args) else None
        return not (last == -1 or (last is not None and known is not None and known == {last + 1}))
    if name in TRANSPOSING_CALLS:
        return True
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
    mapped = _mapped_join(node)
    if mapped is not None:  # each column joined alone, along its first dimension
        dim, stacks = cst.Integer("0"), code_of(mapped).rpartition(".")[2] == STACK_NAME
    else:
        dim = next((arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value in DIM_KEYWORDS), None)
        positional = [arg.value for arg in node.args if arg.keyword is None]
        if dim is None:
            dim = positional[1] if len(positional) > 1 else cst.Integer("0")
        stacks = name_of(node) == STACK_NAME
    known = ranks.of(container)
    if known is not None and stacks:
        known = frozenset(rank + 1 for rank in known)
    known = expected or known
    if known is None and integer(dim) is not None and integer(dim) >= 0:
        return False  # a join of states of unknown rank counted from the front is a batch join, as before (not proven)
    return may_be_last(integer(dim), known)


def _full_slice(element) -> bool:
    return isinstance(element, cst.Slice) and element.lower is None and element.upper is None and element.step is None


def _takes_a_dimension(element) -> bool:
    """Does the element take exactly one dimension of what it indexes (a slice or an integer)? A
    name (`idx`) may be a mask that takes several, or a 0-d one that takes none."""
    return isinstance(element, cst.Slice) or isinstance(element, cst.Index) and integer(element.value) is not None


def subscript_touches_last(node: cst.Subscript, known: Optional[frozenset]) -> bool:
    """Does `h[...]` pick or cut along the last dimension (`h[..., :k]`, `h[:, :, 2]` of a 3-D h)?
    An element followed by a slice or an integer (`s[:, idx, :]`) is before the last, whatever the rank."""
    elements = [e for e in subscript_elements(node) if not is_new_axis(e)]
    ellipsis = next((i for i, e in enumerate(elements) if is_ellipsis(e)), None)
    for i, element in enumerate(elements):
        if is_ellipsis(element) or _full_slice(element):
            continue
        if ellipsis is not None and i > ellipsis:
            if i == len(elements) - 1:
                return True
        elif may_be_last(i, known) and not any(_takes_a_dimension(later) for later in elements[i + 1:]):
            return True
    return False

