"""Packed form: how wide an operand of arithmetic with the state is.

In the original program an operand combined with h (last size H) broadcasts only if its last size
is 1 or H. So an operand whose last size is known and is not 1 is as wide as h, and no longer
lines up with the packed state (2H); one of last size 1, a number, or a tensor made like the state
(`zeros_like(h)`) still does. The operand is followed back through the names, attributes and
parameters that carry it (packed_dims.moves), an attribute set by its name
(`self.register_buffer("decay", torch.full((H,), 0.9))`) or wrapped (`nn.Parameter(torch.ones(H))`),
functions that keep the width (`torch.sigmoid`, `F.relu`, `torch.as_tensor`, `.float()`),
arithmetic or comparison of two such operands, tensors made like another (`torch.ones_like(f)`), reshapes that
keep the last dimension (`x[-1]`, `x.unsqueeze(0)`), and the sizes written where it is made
(also a size held by a name: `torch.ones(self.hidden_size)` after `self.hidden_size = H`).
A last size written that is none of those (`torch.randn(B, self.rnn.hidden_size)`, `out.size(-1)`)
is not known (`OperandWidth.unsized`), and neither is a name or attribute that nothing the engine
follows sets (`OperandWidth.untraced`): both are reported. What is made by code the engine reads but
cannot size (`table[ids]`) is trusted to broadcast, and listed (`OperandWidth.unknown`). An operand
that is no state but carries one through functions that keep the width (`g = torch.sigmoid(h)`,
a helper giving `torch.sigmoid(h)` back) is features of it, which the features rule gives h alone:
as wide as h.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from gru2lstm.rules.by_name import set_by_name
from gru2lstm.rules.packed import last_size
from gru2lstm.rules.packed_dims import moves, subscript_touches_last
from gru2lstm.rules.packed_ranks import Ranks, integer, is_ellipsis, is_new_axis, is_number, name_of, subscript_elements
from gru2lstm.rules.unfollowed import plain_layer
from gru2lstm.syntax import compared_parts, walk
from gru2lstm.values import AttrSlot, LabelKind, SlotKind, VArith, Value, VCallOf, VCat, VContainer, VCreate, VDerived, VIndex, VNone, VOpaque, VTuple
from gru2lstm.vocab import (
    CONVERTING_NAMES, CREATION_NAMES, DIM_KEYWORDS, ELEMENTWISE_METHODS, EXPAND_METHOD, KEEP_METHODS, LIKE_SUFFIX, NUMBER_BUILTINS, PICKING_METHODS, RANK_ADDING_METHOD,
    RANDOM_DRAWS, RANK_DROPPING_METHOD, SHAPE_ATTRIBUTE, SHAPE_OF_ARGUMENT_METHODS, SIZE_METHOD, SIZED_SHAPE_METHODS,
    WIDTH_KEEPING_FUNCTIONS,
)

# what gives a tensor as wide as the one it acts on: `.sigmoid()`, `.detach()`, `torch.as_tensor`, `F.relu`
_WIDTH_KEEPING = ELEMENTWISE_METHODS | KEEP_METHODS | CONVERTING_NAMES | WIDTH_KEEPING_FUNCTIONS


@dataclass
class OperandWidth:
    """What the engine can tell of an operand's last size."""

    wide: Optional[str] = None  # why it is as wide as h, if it is
    unknown: list = field(default_factory=list)  # [node] of what made it whose width is not known (trusted)
    drawn: Optional[cst.Call] = None  # a random draw it comes from (`torch.bernoulli(p)`)
    unfollowed: Optional[cst.Call] = None  # a call it comes from that the engine does not follow (`f()` of a lambda)
    like_state: bool = False  # made like the state (`torch.full_like(h, p)`): in the packed form, like h and c
    unsized: Optional[cst.BaseExpression] = None  # a last size the engine cannot tell (`self.core.hidden_size`, a cat along it)
    untraced: Optional[cst.BaseExpression] = None  # a name or attribute that nothing the engine follows binds

    @property
    def drawn_per_half(self) -> Optional[cst.Call]:
        """The draw of an operand drawn at random in the state's shape: packed, h and c each get
        their own numbers, where the tuple form draws once, like one half, for both."""
        return self.drawn if self.like_state else None


class OperandWidths:
    """The widths of the operands of one analysis (ctx)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.consumed = {id(use.node): use.value for use in ctx.flow.consumptions}
        self.recurrent_outputs = {  # `out, h = self.gru(x, h)`: out
            element.slot for unpacking in ctx.flow.unpackings for element in unpacking.elements
            if element.position == 0 and id(ctx.solution.resolved(unpacking.value)) in ctx.solution.recurrent_calls
        }
        self.ranks: Optional[Ranks] = None  # made when first asked

    def of(self, value: Value) -> OperandWidth:
        found, seen = OperandWidth(), set()
        pending = [value]
        while pending and found.wide is None:
            pending.extend(self._step(pending.pop(), found, seen))
        return found

    def of_node(self, node: cst.BaseExpression) -> OperandWidth:
        """The width of the operand written at `node`; of a comparison written there, which the walk
        leaves opaque (`torch.rand(B, H) < p`), that of what it compares."""
        if id(node) in self.consumed:
            return self.of(self.consumed[id(node)])
        if isinstance(node, cst.Comparison):
            for part in compared_parts(node):
                found = self.of_node(part)
                if found.wide is not None or found.drawn_per_half is not None:
                    return found
        return OperandWidth()

    def _step(self, value: Value, found: OperandWidth, seen: set) -> list:
        """Judge what `value` was moved from; return what to follow next."""
        if self.ctx.solution.value_is_state(value):
            # of an operand that is no state (`g` of `g = torch.sigmoid(h)`): features of the state,
            # which the features rule gives h alone
            found.wide = "computed from the hidden state as features, which the packed form gives h alone, as wide as h"
            return []
        moved = moves(self.ctx, value)
        if not moved.sources and found.untraced is None and any(self._untraced(slot) for slot in moved.slots):
            # `self.scale = cfg.scale`, a parameter no call gives: nothing the engine reads makes it
            found.untraced = value.node
        following = []
        for slot in moved.slots:
            if slot in self.recurrent_outputs:
                found.wide = "the output of a recurrent layer, as wide as h"
                return []
            self._set_by_name(slot, found)
            following += self._items_at(slot)
        for source in moved.sources:
            if id(source) not in seen:
                seen.add(id(source))
                following += self._source(source, found)
        return following

    def _items_at(self, slot) -> list:
        """What a part of a container that nothing binds itself may be (`self.w[0]` of `self.w =
        [torch.ones(H)]`): the items the container is made with (the solver joins them there)."""
        if slot.kind != SlotKind.CHILD or slot.label.kind not in (LabelKind.POS, LabelKind.ELEM) or slot in self.ctx.values_bound_to:
            return []
        items = []
        for made in self.ctx.values_bound_to.get(slot.base, ()):
            made = self.ctx.solution.resolved(made)
            made = [item for _, item in made.items] if isinstance(made, VContainer) else made.items if isinstance(made, VTuple) else []
            if slot.label.kind == LabelKind.POS:  # `obs, hxs, masks = batch`: masks is the third item only
                made = made[slot.label.position:slot.label.position + 1]
            items += made
        return items

    def _untraced(self, slot) -> bool:
        """Is `slot` a name or an attribute read that nothing binds (an element or a part of a
        container is bound where the solver joins it, not here)?"""
        if slot in self.ctx.values_bound_to:
            return False
        return slot.kind == SlotKind.DEF or slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.ATTR

    def _indexes_every_dimension(self, source: Value) -> bool:
        """Does `x[i]` (`x[i, j]`) index every dimension of `x`, by the ranks it may have, so that
        none of them, nor its last size, is left?"""
        elements = subscript_elements(source.node)
        if not all(isinstance(element, cst.Index) and not is_new_axis(element) and not is_ellipsis(element) for element in elements):
            return False
        if self.ranks is None:
            self.ranks = Ranks(self.ctx)
        ranks = self.ranks.of(source.base)
        return ranks is not None and max(ranks) <= len(elements)

    def _set_by_name(self, slot, found: OperandWidth) -> None:
        """Judge what an attribute is set to by its name (`self.register_buffer("decay", ...)`), which
        the walk never evaluates: by what is written there."""
        if not isinstance(slot, AttrSlot) or slot in self.ctx.values_bound_to:
            return
        for place in set_by_name(self.ctx.flow.classes.get(slot.owner), slot.name):
            if place.value is None:
                found.unknown.append(place.node)
                continue
            written = _written_source(place.value)
            if isinstance(written, cst.Call):
                self._sized(written, name_of(written) in CREATION_NAMES, found)
            else:
                found.unknown.append(written)

    def _source(self, source: Value, found: OperandWidth) -> list:
        """Judge one source (setting `found`); return the values its width comes from."""
        ctx = self.ctx
        if ctx.solution.value_is_state(source):
            return [source]  # judged as a state by _step
        if is_number(source) or isinstance(source, VNone) or _makes_a_number(source.node):
            return []  # a number (`float(t % 3 == 2)`): it broadcasts as before
        if isinstance(source, VArith):
            return [source.left, source.right]
        if isinstance(source, VCat):
            container = ctx.solution.resolved(source.container)  # `torch.stack([a, b])`: as wide as a and b
            if _joined_along_the_first(source.node) and isinstance(container, VContainer):
                return [item for _, item in container.items]
            found.unsized = source.node  # `torch.cat([a, b], -1)`: as wide as both, maybe H
            return []
        if isinstance(source.node, cst.Call) and name_of(source.node) in RANDOM_DRAWS:
            found.drawn = source.node
        if isinstance(source.node, cst.Comparison):  # `torch.rand(B, H) < p`: as wide as what it compares
            return [self.consumed[id(part)] for part in compared_parts(source.node) if id(part) in self.consumed]
        if isinstance(source, VDerived) and id(source.node) in ctx.flow.parameters:
            return [source.base]  # `nn.Parameter(t)`: t's width
        if isinstance(source, VCallOf) and plain_layer(ctx, source) is not None:
            found.wide = "the output of a layer as wide as h"
            return []
        if isinstance(source, VCallOf) or isinstance(source, VOpaque) and isinstance(source.node, cst.Call):
            # a lambda, a callable handed in, a function of a file not followed or of a library (`thing(n)`, as
            # wide as h or a mask): what it gives has a width the engine cannot tell, unless made 1 after it
            found.unfollowed = source.node
        if isinstance(source, VIndex) and source.position == 0 and id(ctx.solution.resolved(source.base)) in ctx.solution.recurrent_calls:
            found.wide = "the output of a recurrent layer, as wide as h"
            return []
        if _adds_a_last_dimension(source.node):
            return []  # `done.unsqueeze(-1)`, `keep[:, None]`: last size 1
        if isinstance(source, (VDerived, VIndex)) and isinstance(source.node, cst.Subscript) and self._indexes_every_dimension(source):
            # `done[i]` of a vector: a number; `done[idx]` is as long as idx, which the engine does not know
            if all(integer(element.value) is not None for element in subscript_elements(source.node)):
                return []
            return self._unknown(source, found)
        if isinstance(source, (VDerived, VIndex)) and _keeps_the_last(source.node):
            return [source.base]
        if isinstance(source, VDerived) and isinstance(source.node, cst.Call) and name_of(source.node) in PICKING_METHODS:
            # `h0.index_select(1, ids)` copied into rows of h: as wide as h0 (along the last, as wide as
            # what it picks, which broadcast with h only if it is 1 or H: taken as h0's width too)
            return [source.base]
        if isinstance(source, VDerived) and isinstance(source.node, cst.Call) and name_of(source.node) in SHAPE_OF_ARGUMENT_METHODS:
            return [source.base]  # `x.reshape_as(h)`: the state's shape only if x has its elements, so x's width tells
        if isinstance(source, VDerived) and isinstance(source.node, cst.Call) and name_of(source.node) == EXPAND_METHOD and _last_kept(source.node):
            return [source.base]  # `v.expand(B, -1)`: v's last size
        if isinstance(source.node, cst.Call):
            return self._made(source, found)
        return self._unknown(source, found)

    def _made(self, source: Value, found: OperandWidth) -> list:
        """A call that makes the operand: its width from the sizes it writes, or from a tensor it
        is made like (`torch.ones_like(f)`)."""
        node = source.node
        if isinstance(source, VCreate) and name_of(node).endswith(LIKE_SUFFIX):
            like = node.args[0].value if node.args else None
            if id(like) not in self.consumed:
                return self._unknown(source, found)
            if self.ctx.solution.value_is_state(self.consumed[id(like)]):
                found.like_state = True
                return []  # `zeros_like(state.hidden)`: made like the state, which packs as it does
            return [self.consumed[id(like)]]
        self._sized(node, isinstance(source, VCreate), found)
        return []

    def _sized(self, node: cst.Call, created: bool, found: OperandWidth) -> None:
        """Judge a call by the last size it writes: an allocation, a reshape, or any call with the
        hidden size last (`torch.linspace(0.5, 1.0, H)`)."""
        sized = created or name_of(node) in SIZED_SHAPE_METHODS
        size = last_size(node)
        written = None if size is None else integer(size)
        if size is not None and written is None and self.ctx.code(size) not in self.ctx.doubled_sizes:
            size, written = self._size_held(size)
        if size is not None and self.ctx.code(size) in self.ctx.doubled_sizes:
            what = "an allocation of the hidden size" if created else "made with its last size the hidden size"
            found.wide = f"{what} `{self.ctx.code(size)}`"
        elif sized and written is not None and written > 1:
            found.wide = f"made with its last size `{written}`, which lines up with h only if it is the hidden size"
        elif sized and size is not None and written is None and not self._measures_the_state(size):
            # `torch.randn(B, self.core.hidden_size)`, `torch.ones(out.shape)`: no mask (it would write 1), maybe as wide as h
            found.unsized = size
        elif not (sized and written == 1):
            found.unknown.append(node)

    def _measures_the_state(self, size: cst.BaseExpression) -> bool:
        """Is a size read from the state (`h.shape[-1]`, `h.size(-1)`), packed already?"""
        for node in walk(size):
            read = self.consumed.get(id(node))
            if isinstance(read, VDerived) and _reads_a_size(node) and self.ctx.solution.value_is_state(read.base):
                return True
        return False

    def _size_held(self, size: cst.BaseExpression) -> tuple:
        """A size written as a name or attribute (`self.hidden_size`): what it was set to, when
        that is the hidden size the packed form doubled or a number (`self.hidden_size = H`):
        (the size to judge, the number written), else (`size`, None)."""
        value = self.consumed.get(id(size))
        for source in moves(self.ctx, value).sources if value is not None else ():
            if source.node is not None and self.ctx.code(source.node) in self.ctx.doubled_sizes:
                return source.node, None
            if is_number(source) and integer(source.node) is not None:
                return source.node, integer(source.node)
        return size, None

    @staticmethod
    def _unknown(source: Value, found: OperandWidth) -> list:
        found.unknown.append(source.node)
        return []


def _written_source(node: cst.BaseExpression) -> cst.BaseExpression:
    """What makes a value as written, past arithmetic and conversions (`torch.full((H,), 0.9) * 2`,
    `torch.as_tensor(np.ones(H))`)."""
    while True:
        if isinstance(node, cst.BinaryOperation):
            node = node.left if isinstance(node.left, cst.Call) or not isinstance(node.right, cst.Call) else node.right
        elif isinstance(node, cst.Call) and node.args and name_of(node) in CONVERTING_NAMES:
            node = node.args[0].value
        else:
            return node


def _reads_a_size(node: cst.BaseExpression) -> bool:
    """`x.shape`, `x.size(...)`: the sizes of x."""
    if isinstance(node, cst.Call):
        node = node.func
    return isinstance(node, cst.Attribute) and node.attr.value in (SHAPE_ATTRIBUTE, SIZE_METHOD)


def _joined_along_the_first(node: cst.Call) -> bool:
    """`torch.stack(xs)`, `torch.cat(xs, 0)`: joined along dimension 0, the last size kept."""
    dims = [arg.value for arg in node.args[1:] if arg.keyword is None or arg.keyword.value in DIM_KEYWORDS]
    return all(integer(dim) == 0 for dim in dims)


def _last_kept(node: cst.Call) -> bool:
    """`x.expand(B, -1)`: the last size written is -1, the size it had."""
    size = last_size(node)
    return size is not None and integer(size) == -1


def _makes_a_number(node) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in NUMBER_BUILTINS


def _adds_a_last_dimension(node) -> bool:
    """`x.unsqueeze(-1)`, `x[:, None]`: a new last dimension, of size 1."""
    if isinstance(node, cst.Subscript):
        return is_new_axis(node.slice[-1].slice)
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and name_of(node) == RANK_ADDING_METHOD):
        return False
    return [integer(arg.value) for arg in node.args] == [-1]


def _keeps_the_last(node: cst.BaseExpression) -> bool:
    """Is the last size of what `node` gives that of the tensor it acts on (`torch.sigmoid(x)`,
    `x[-1]`, `x.unsqueeze(0)`)?"""
    if isinstance(node, cst.Subscript):
        return not subscript_touches_last(node, None)
    if not isinstance(node, cst.Call):
        return False
    name = name_of(node)
    if name in _WIDTH_KEEPING:
        return True
    if name in (RANK_ADDING_METHOD, RANK_DROPPING_METHOD):
        # dimension 0, or one counted from the end before the last: `x.unsqueeze(-1)` would make it 1
        dims = [integer(arg.value) for arg in node.args if not arg.star]
        return len(dims) == 1 and dims[0] is not None and (dims[0] == 0 or dims[0] < -1)
    return False
