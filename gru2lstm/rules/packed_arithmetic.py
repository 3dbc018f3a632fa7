"""Packed form: what meets the packed state's width, twice the hidden size.

The packed state is h and c side by side. A number or a mask (`hxs * masks`, last size 1)
broadcasts over it as it did over h, and so does a tensor made like the state
(`torch.zeros_like(h)`). A tensor as wide as h does not: a layer's output (`h + self.proj(x)`),
an allocation of the hidden size that is not the state (`h + torch.ones(H)`), a learned or
registered vector (`h * self.decay`) would no longer line up with it (packed_width.py tells which). An operation along the last dimension (`F.layer_norm(h, (H,))`, `h.flip(-1)`,
`h[..., :k]`, `h / h.norm(dim=-1, keepdim=True)`; packed_dims.py tells which) would mix h and c.
A mask that picks elements of the state (`h.masked_fill(drop, 0)`, `torch.where(drop, zeros, h)`)
broadcasts over it as an operand does: as wide as h, it no longer lines up either. An operand
drawn at random in the state's shape (`torch.bernoulli(torch.full_like(h, p))`, zoneout-like) would
give h and c different draws, where the tuple form draws once, like h, for both halves. The weight
of a lerp and the tensors of an addcmul broadcast over the state as an operand does (vocab.BROADCAST_ARGUMENTS),
and an operand made by a call the engine does not follow, a library's too (`h * thing(n)`), whose
width it cannot tell, is not trusted, unless a last size of 1 is made after it (`thing(n).unsqueeze(-1)`).
Nor can the engine tell how a tensor function lines the state up with its other arguments when
the state is an operand (`torch.addcmul(zeros_like(h), h, m)`).
All are findings where the result stays a state, or where they change the state in place
(`h.mul_(w)`, its result dropped) (packed_dims.state_chains); read as features,
the features rule gives them h alone. The tuple form writes each of these once per half.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import Consumption, Use, give_source

from gru2lstm.rules.base import Invalid, Rule, Valid, takes_a_state
from gru2lstm.rules.features import packed_sizes_in
from gru2lstm.rules.joined_operands import chooses_for_c, joined_with_other, other_operand
from gru2lstm.rules.packed_width import OperandWidths


class PackedArithmetic(Rule):
    uses = ("arithmetic",)
    summary = (
        "packed: arithmetic of the state with an operand as wide as h (a layer's output, an allocation of the hidden size or "
        "of a last size other than 1, features of the state held apart (`g = torch.sigmoid(h)`, h alone), followed through names, attributes, parameters and elementwise functions; also the "
        "weight of `h.lerp(h0, w)` and the tensors of `torch.addcmul(h, a, b)`), drawn at random in the state's shape "
        "(`torch.bernoulli(torch.full_like(h, p))`), or made by a call the engine does not follow (a lambda, a function "
        "of a file not migrated, a library's: `h * thing(n)`, unless a last size of 1 is made after it), made with a last size "
        "the engine cannot tell (`torch.randn(B, self.rnn.hidden_size)`), or set by nothing it follows (`self.scale = cfg.scale`), "
        "whose result stays a state or which changes the state in place (`h.mul_(w)`), is a finding"
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            proj = nn.Linear(4, 8)
            h = torch.zeros(1, 2, 8)
            for step in range(3):
                x = torch.ones(1, 2, 4)
                out, h = core(x, h)
                h = h + proj(x)
            """,
            "G2L100",
            state="packed",
        ),
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.core = nn.GRU(4, 8)
                    self.register_buffer("decay", torch.full((8,), 0.9))

                def forward(self, x, h):
                    out, h = self.core(x, h)
                    return out, h * self.decay


            m = M()
            h = torch.zeros(1, 2, 8)
            for step in range(3):
                out, h = m(torch.ones(1, 2, 4), h)
            """,
            "G2L100",
            state="packed",
        ),
    )
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 2, 8)
            masks = torch.ones(4, 2, 1)
            for step in range(3):
                out, h = core(torch.ones(1, 2, 4), h)
                h = h * masks[step]
            """,
            """
            core = nn.LSTM(4, 8)
            h = torch.zeros(1, 2, 2 * 8)
            masks = torch.ones(4, 2, 1)
            for step in range(3):
                out, h = core(torch.ones(1, 2, 4), h.chunk(2, dim=-1))
                h = torch.cat(h, dim=-1)
                h = h * masks[step]
            """,
            state="packed",
        ),
    )

    def apply(self, ctx, _) -> None:
        # read as features (`head(h * gate)`), the features rule gives the arithmetic h alone
        widths = OperandWidths(ctx)
        for call, mask in ctx.state_chains.masked:
            width = widths.of_node(mask)
            if width.wide is not None:
                ctx.find(
                    "G2L100", call,
                    f"`{ctx.code(call)}` picks elements of the hidden state by `{ctx.code(mask)}`, {width.wide}; in the packed "
                    "form the state is h and c side by side, twice as wide, so the mask would no longer line up with it; "
                    "use --state tuple, or migrate this by hand",
                )
            else:
                _not_lined_up(ctx, call, mask, width, _OTHER_FORM)
        for arith in ctx.state_chains.arithmetic:
            other = other_operand(ctx, arith)
            if other is not None:
                packed_sizes_in(ctx, other.node)  # `h / h.size(-1) ** 0.5`: the packed width, where the GRU read H
                advice = _BY_HAND if chooses_for_c(ctx, arith) else _OTHER_FORM
                if not _combined(ctx, arith.node, other.node, widths.of(other), advice):
                    joined_with_other(ctx, arith)  # it lines up, but c would get it too
        judged = set()
        for argument, call in ctx.flow.broadcast_arguments:  # `w` of `h.lerp(h0, w)`, `a` of `torch.addcmul(h, a, b)`
            if id(call) in ctx.state_chains.operations and id(call) not in judged and _combined(ctx, call, argument, widths.of_node(argument), _OTHER_FORM):
                judged.add(id(call))  # one finding a call


# What a width finding advises: the tuple form, unless the operand joined is one it would refuse
# too (joined_operands.chooses_for_c: what c gets is a choice neither form can make).
_OTHER_FORM = "use --state tuple, or migrate this by hand"
_BY_HAND = "migrate this by hand, as the tuple form cannot choose what c gets from it either"


def _combined(ctx, node: cst.CSTNode, operand: cst.CSTNode, width, advice: str) -> bool:
    """The finding on an operand combined with the state, if its width does not fit the packed state (True then)."""
    if width.wide is None:
        return _not_lined_up(ctx, node, operand, width, advice)
    ctx.find(
        "G2L100", node,
        f"`{ctx.code(node)}` combines the hidden state with `{ctx.code(operand)}`, {width.wide}; in the packed "
        f"form the state is h and c side by side, twice as wide, so the two would no longer line up; {advice}",
    )
    return True


def _not_lined_up(ctx, node: cst.CSTNode, operand: cst.CSTNode, width, advice: str) -> bool:
    """The finding on an operand not known to be as wide as h that still may not fit the packed
    state: one drawn at random in its shape (the GRU drew one number per unit, the tuple form draws
    like h and gives both halves the same), or one made by a call the engine does not follow."""
    if width.drawn_per_half is not None:
        ctx.find(
            "G2L100", node,
            f"`{ctx.code(node)}` combines the hidden state with `{ctx.code(operand)}`, drawn at random "
            f"(`{ctx.code(width.drawn_per_half)}`) in the state's shape; in the packed form that shape is h and c side by "
            "side, so h and c would get different draws where the tuple form gives both the same; "
            + ("use --state tuple, or " if advice is _OTHER_FORM else "")
            + "draw it for one half and repeat it (`torch.cat([m, m], dim=-1)`)",
        )
    elif width.unfollowed is not None:
        made = "" if width.unfollowed is operand else f" made by `{ctx.code(width.unfollowed)}`,"
        place = ctx.flow.outside_calls.get(id(width.unfollowed))  # a function of a given file: the group takes it in
        ctx.find(
            "G2L100", node,
            f"`{ctx.code(node)}` combines the hidden state with `{ctx.code(operand)}`,{made} a call the engine does not "
            "follow, so it cannot tell how wide it is; in the packed form the state is h and "
            "c side by side, twice as wide, so an operand as wide as h would no longer line up; "
            + (f"{give_source(place)}, " if place is not None else "")
            + advice,
            place,
        )
    elif width.unsized is not None:
        size = "" if ctx.code(width.unsized) == ctx.code(operand) else f" (`{ctx.code(width.unsized)}`)"
        ctx.find(
            "G2L100", node,
            f"`{ctx.code(node)}` combines the hidden state with `{ctx.code(operand)}`, made with a last size the engine cannot tell "
            f"from the hidden size{size}; in the packed form the state is h and c side by side, twice as wide, "
            f"so an operand as wide as h would no longer line up; {advice}",
        )
    elif width.untraced is not None:
        carried = "," if ctx.code(width.untraced) == ctx.code(operand) else f", carried by `{ctx.code(width.untraced)}`,"
        ctx.find(
            "G2L100", node,
            f"`{ctx.code(node)}` combines the hidden state with `{ctx.code(operand)}`{carried} which the engine cannot trace back to "
            "where it is made, so it cannot tell how wide it is; in the packed form the state is h and c side by side, twice as wide, "
            f"so an operand as wide as h would no longer line up; {advice}",
        )
    return any(reason is not None for reason in (width.drawn_per_half, width.unfollowed, width.unsized, width.untraced))


class PackedAlongHidden(Rule):
    uses = ("arithmetic",)
    summary = (
        "packed: an operation acting along the last dimension (`F.layer_norm`, `h.flip(-1)`, `h[..., :k]`, a dimension "
        "counted from the front that the state's rank makes the last) whose result stays a state is a finding"
    )
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 2, 8)
            for step in range(3):
                out, h = core(torch.ones(1, 2, 4), h)
                h = h.flip(1)
            """,
            """
            core = nn.LSTM(4, 8)
            h = torch.zeros(1, 2, 2 * 8)
            for step in range(3):
                out, h = core(torch.ones(1, 2, 4), h.chunk(2, dim=-1))
                h = torch.cat(h, dim=-1)
                h = h.flip(1)
            """,
            state="packed",
        ),
    )
    invalid = (
        Invalid(
            """
            import torch.nn.functional as F

            core = nn.GRU(4, 8)
            h = torch.zeros(1, 2, 8)
            for step in range(3):
                out, h = core(torch.ones(1, 2, 4), h)
                h = F.layer_norm(h, (8,))
            """,
            "G2L100",
            state="packed",
        ),
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 2, 8)
            for step in range(3):
                out, h = core(torch.ones(1, 2, 4), h)
                h = h.flip(2)
            """,
            "G2L100",
            state="packed",
        ),
    )

    def apply(self, ctx, _) -> None:
        for node in ctx.state_chains.along_last:
            ctx.find(
                "G2L100", node,
                f"`{ctx.code(node)}` acts along the last dimension of the hidden state (or one the engine cannot tell from it), "
                "and its result stays a state; in the packed form that dimension holds h and c side by side, so it would mix them; "
                "use --state tuple, or migrate this by hand",
            )


class PackedOperand(Rule):
    uses = ("consumption",)
    summary = "packed: the state passed to a tensor function as an operand (not its first argument), whose result stays a state, is a finding"
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 2, 8)
            for step in range(3):
                out, h = core(torch.ones(1, 2, 4), h)
                h = torch.addcmul(torch.zeros_like(h), h, torch.ones(1, 2, 1))
            """,
            "G2L100",
            state="packed",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return (
            use.context == Use.OPERAND and takes_a_state(ctx, use) and id(use.node) not in ctx.measured_nodes  # not its sizes
            and _operation_of(ctx, use.node) is not None
        )

    def apply(self, ctx, use: Consumption) -> None:
        # read as features, the operand would be h alone inside a result as wide as (h, c) (a size
        # error); passed whole, the engine cannot tell how the function lines it up with the rest
        call = _operation_of(ctx, use.node)
        ctx.find(
            "G2L100", use.node,
            f"`{ctx.code(call)}` makes a new hidden state from the hidden state `{ctx.code(use.node)}`, passed to it as an "
            "operand, and the engine cannot tell how the function lines the packed (h, c) up with its other arguments; "
            "compute it on each half by hand",
        )


def _operation_of(ctx, node: cst.CSTNode) -> Optional[cst.Call]:
    """The call that `node` is an argument of, when its result stays a state."""
    argument = ctx.parents.get(node)
    call = ctx.parents.get(argument) if isinstance(argument, cst.Arg) else None
    return call if isinstance(call, cst.Call) and id(call) in ctx.state_chains.operations else None
