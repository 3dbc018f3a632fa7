"""A state cut into pieces, one per environment (`for h_i in h.unbind(1)`, `hs = h.split(1, dim=1)`,
`torch.chunk(h, n, dim=1)`, or a tensor computed where it is zipped or enumerated by its rows,
`zip(h[0], done)`, cut along its first dimension): in the tuple form each half is cut the same way and the pieces are
paired, `list(zip(h[0].unbind(1), h[1].unbind(1)))`, a list of pairs (what a list of states is
everywhere else: joined back by `torch.cat`/`torch.stack`, rules 6 and stack); in the packed form
the pieces of the packed tensor are packed states, as written. Cut along the hidden dimension
(`dim=-1`), a piece would be part of h (or, packed, a mix of h and c): a finding, as is a packed
state cut along a dimension counted from the front that may be the last one: the state's rank
(packed_dims.Ranks: 3 for an nn.GRU's state, 2 for a GRUCell's, or its allocation's) tells."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import BY_HAND
from gru2lstm.values import ChildSlot, PosLabel, VContainer, VSlot, VTuple
from gru2lstm.vocab import CAT_NAMES, SEQUENCE_BUILTINS, SPLIT_DIM_POSITION
from gru2lstm.rules.base import Invalid, Rule, Valid
from gru2lstm.rules.packed_dims import Ranks, may_be_last, moves_the_last
from gru2lstm.rules.pairs import halves


class Pieces(Rule):
    step = "slicing"
    uses = ("pieces",)
    summary = "a state cut into pieces along a batch dimension: each half cut the same way, the pieces paired"
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 3, 8)
            for t in range(2):
                new = []
                for h_i in h.unbind(1):
                    out, h_i = core(torch.randn(1, 1, 4), h_i.unsqueeze(1))
                    new.append(h_i)
                h = torch.cat(new, dim=1)
            """,
            """
            core = nn.LSTM(4, 8)
            h = (
                torch.zeros(1, 3, 8),
                torch.zeros(1, 3, 8),
            )
            for t in range(2):
                new = []
                for h_i in list(zip(h[0].unbind(1), h[1].unbind(1))):
                    out, h_i = core(torch.randn(1, 1, 4), (h_i[0].unsqueeze(1), h_i[1].unsqueeze(1)))
                    new.append(h_i)
                h = (torch.cat([hc[0] for hc in new], dim=1), torch.cat([hc[1] for hc in new], dim=1))
            """,
            state="tuple",
        ),
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 3, 8)
            for t in range(2):
                pieces = []
                for h_i in h.split(1, dim=-2):
                    out, h_i = core(torch.randn(1, 1, 4), h_i)
                    pieces.append(h_i)
                h = torch.cat(pieces, dim=1)
            """,
            """
            core = nn.LSTM(4, 8)
            h = torch.zeros(1, 3, 2 * 8)
            for t in range(2):
                pieces = []
                for h_i in h.split(1, dim=-2):
                    out, h_i = core(torch.randn(1, 1, 4), h_i.chunk(2, dim=-1))
                    h_i = torch.cat(h_i, dim=-1)
                    pieces.append(h_i)
                h = torch.cat(pieces, dim=1)
            """,
            state="packed",
        ),
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 3, 8)
            for t in range(2):
                out, h = core(torch.randn(1, 3, 4), h)
                done = torch.rand(3) < 0.5
                h = torch.stack([row * ~d for row, d in zip(h[0], done)]).unsqueeze(0)
            """,
            """
            core = nn.LSTM(4, 8)
            h = (
                torch.zeros(1, 3, 8),
                torch.zeros(1, 3, 8),
            )
            for t in range(2):
                out, h = core(torch.randn(1, 3, 4), h)
                done = torch.rand(3) < 0.5
                h = (torch.stack([row[0] * ~d for row, d in zip(list(zip(h[0][0], h[1][0])), done)]).unsqueeze(0), torch.stack([row[1] * ~d for row, d in zip(list(zip(h[0][0], h[1][0])), done)]).unsqueeze(0))
            """,
            state="tuple",
        ),
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 3, 8)
            for t in range(2):
                a, b = h.split(4, dim=-1)
                h = torch.cat([a, b], dim=-1)
                out, h = core(torch.randn(1, 3, 4), h)
            """,
            "G2L100",
        ),
        Invalid(
            """
            cell = nn.GRUCell(4, 8)


            def per_row(h):
                return torch.stack([cell(torch.randn(4), h_i) for h_i in h.unbind(1)], 1)
            """,
            "G2L100",
            state="packed",
        ),
    )

    def apply(self, ctx, use) -> None:
        ranks = Ranks(ctx) if ctx.packed and ctx.flow.pieces else None
        for value in ctx.flow.pieces:
            piece = value.items[0][1]
            if piece.base.node is value.node and _iterates_a_list(ctx, piece.base):
                # `zip(self.hist[0], dones)` of a list of lists of states: its items are no rows of a tensor
                if ctx.solution.value_is_state(piece.base) or _kept_as_states(ctx, piece):
                    ctx.find("G2L101", value.node, (
                        f"`{ctx.code(value.node)}` is iterated here, and it may hold hidden states in a list rather than "
                        f"be a tensor cut into its rows, which the engine cannot tell apart in this loop; iterate it by index "
                        f"(`for i in range(len(...))`), or {BY_HAND}"
                    ))
                continue
            if not ctx.solution.value_is_state(piece.base):
                if not ctx.packed and _kept_as_states(ctx, piece):  # packed, the new tensor is made twice as wide
                    ctx.find("G2L100", value.node, (
                        f"`{ctx.code(value.node)}` cuts a new tensor into pieces that are kept as hidden states, and the "
                        "engine writes a cut only of a state it follows; make each state with the code that makes one "
                        "(`[model.init_hidden(1) for _ in ids]`), or cut h and c by hand"
                    ))
                continue
            ctx.site(value.node)
            dim = _dim(value.node, piece.base.node)
            if dim == -1:
                ctx.find("G2L100", value.node, (
                    f"`{ctx.code(value.node)}` cuts the hidden state along its hidden dimension, so each piece is a part "
                    "of h and no state an LSTM takes; migrate this use by hand, or cut the state along a batch dimension"
                ))
            elif ctx.packed:
                # joined back at once along the same dimension (`torch.stack(torch.unbind(h, 1), 1)`): the same tensor;
                # counted from the front, the dimension is a batch one where the state's rank says so (packed_dims.py)
                if (may_be_last(dim, ranks.of(piece.base)) or moves_the_last(ctx, piece.base, ranks)) and not _rejoined(ctx, value.node, dim):
                    ctx.find("G2L100", value.node, (
                        f"`{ctx.code(value.node)}` cuts the packed hidden state along a dimension counted from the front, "
                        "which the engine cannot tell from the last one, where h and c lie side by side; use `--state tuple`, "
                        "or count the dimension from the back (`dim=-2` is the batch dimension of a (L, B, H) or (B, H) state)"
                    ))
            elif _into_split_names(ctx, value.node):
                ctx.find("G2L100", value.node, (
                    f"the pieces of `{ctx.code(value.node)}` are unpacked into names that hold the hidden state as two "
                    "names each (h and c apart), and the engine writes a cut only as pairs of pieces; cut h and c by hand, "
                    "or keep each piece whole (a pair) where it is used"
                ))
            elif not _joined_at_once(ctx, value.node) and ctx.claim(value.node):
                _paired(ctx, value)


def _iterates_a_list(ctx, iterated) -> bool:
    """Is a value iterated by its rows (`zip(self.hist[0].copy(), dones)`) made from a list, as far
    as the solver can tell, and not from a tensor?"""
    leaf = ctx.solution.resolutions.leaf_of(iterated)
    return isinstance(leaf, VContainer) or isinstance(leaf, VSlot) and ctx.solution.is_container(leaf.slot)


def _kept_as_states(ctx, piece) -> bool:
    """Is a piece of what is no state (`torch.zeros(1, n, H).chunk(n, 1)`) held where a state is,
    itself or inside what is bound (`dict(zip(ids, pieces))`, the rows of `zip(ids, pieces)` a
    loop takes apart)?"""
    return any(_holds_as_state(ctx, binding.target, binding.value, piece, 0) for binding in ctx.flow.bindings)


def _holds_as_state(ctx, slot, value, piece, depth: int) -> bool:
    """Is `piece` held in `slot` (bound to `value`), or in a part of it, where a state is held?"""
    value = ctx.solution.resolved(value)
    if value is piece:
        return ctx.solution.is_state(slot)
    if depth > 2:  # a row of a list of rows is as deep as a piece is held
        return False
    if isinstance(value, VContainer):
        return any(_holds_as_state(ctx, ChildSlot.of(slot, label), item, piece, depth + 1) for label, item in value.items)
    if isinstance(value, VTuple):
        return any(_holds_as_state(ctx, ChildSlot.of(slot, PosLabel.of(i)), item, piece, depth + 1) for i, item in enumerate(value.items))
    return False


def joined_pieces(ctx, container):
    """The halves (pairs.halves) of a state cut and joined back at once (`torch.stack(h.unbind(1),
    1)`: the batch rules write each half's cut in each half's join), else None."""
    container = ctx.solution.resolved(container)
    if not isinstance(container, VContainer) or not any(value is container for value in ctx.flow.pieces):
        return None
    return halves(ctx, container.items[0][1])


def _into_split_names(ctx, node: cst.Call) -> bool:
    """Is the cut unpacked into names held as two (`a, b = h.chunk(2, 1)` with `a` and `a_c`)?"""
    statement = ctx.parents.get(node)
    if not isinstance(statement, cst.Assign):
        return False
    written = {id(target.target) for target in statement.targets}
    written |= {id(element.value) for target in statement.targets if isinstance(target.target, (cst.Tuple, cst.List)) for element in target.target.elements}
    return any(id(binding.target_node) in written and ctx.solution.is_split(binding.target) for binding in ctx.flow.bindings)


def _joined_at_once(ctx, node: cst.Call) -> bool:
    """Is the cut the first argument of a concatenation (`torch.stack(torch.unbind(h, 1), 1)`)?"""
    arg = ctx.parents.get(node)
    call = ctx.parents.get(arg)
    if not isinstance(arg, cst.Arg) or not isinstance(call, cst.Call) or not call.args or call.args[0] is not arg:
        return False
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    return name in CAT_NAMES


def _rejoined(ctx, node: cst.Call, dim: Optional[int]) -> bool:
    """Is the cut joined back at once along the dimension it was cut along (written alike)?"""
    if dim is None or not _joined_at_once(ctx, node):
        return False
    join = ctx.parents[ctx.parents[node]]
    given = next((arg.value for arg in join.args if arg.keyword is not None and arg.keyword.value == "dim"), None)
    if given is None:
        positional = [arg.value for arg in join.args if arg.keyword is None]
        given = positional[1] if len(positional) > 1 else cst.Integer("0")
    return isinstance(given, cst.Integer) and int(given.value) == dim


def _paired(ctx, value: VContainer) -> None:
    """`h.unbind(1)` -> `list(zip(h[0].unbind(1), h[1].unbind(1)))`; the cut handed alone to
    `list()` or `tuple()` is made a sequence there already (`list(zip(...))`)."""
    made = halves(ctx, value.items[0][1])
    if made is None:
        return
    make_h, make_c = made
    made_a_sequence = _sequence_of(ctx, value.node)

    def edit(updated, mapping):
        zipped = cst.Call(cst.Name("zip"), [cst.Arg(make_h(updated, mapping)), cst.Arg(make_c(updated, mapping))])
        return zipped if made_a_sequence else cst.Call(cst.Name("list"), [cst.Arg(zipped)])

    ctx.edit_expression(value.node, edit)
    ctx.step("slicing", value.node)


def _sequence_of(ctx, node: cst.Call) -> bool:
    """Is the cut the only argument of `list()` or `tuple()`?"""
    arg = ctx.parents.get(node)
    call = ctx.parents.get(arg)
    if not isinstance(arg, cst.Arg) or not isinstance(call, cst.Call) or len(call.args) != 1 or arg.star or arg.keyword is not None:
        return False
    return isinstance(call.func, cst.Name) and call.func.value in SEQUENCE_BUILTINS


def _dim(node: cst.Call, base_node) -> Optional[int]:
    """The dimension a split cuts along, when written as an integer (0 when not given), else None;
    0 for a tensor iterated by its rows (`zip(h.squeeze(0), done)`: the cut is the tensor itself)."""
    if node is base_node:
        return 0
    name = node.func.attr.value if isinstance(node.func, cst.Attribute) else getattr(node.func, "value", "")
    positional = [arg.value for arg in node.args if arg.keyword is None]
    if positional and positional[0] is base_node:  # `torch.chunk(h, n, 1)`: the tensor first
        positional = positional[1:]
    dim = next((arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == "dim"), None)
    if dim is None:
        position = SPLIT_DIM_POSITION.get(name)  # None: imported under another name
        if position is None:
            return None
        dim = positional[position] if position < len(positional) else cst.Integer("0")
    negative = isinstance(dim, cst.UnaryOperation) and isinstance(dim.operator, cst.Minus)
    number = dim.expression if negative else dim
    if not isinstance(number, cst.Integer):
        return None
    return -int(number.value) if negative else int(number.value)
