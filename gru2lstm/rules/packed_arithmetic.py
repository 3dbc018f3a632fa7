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
give h and c different draws, where the tuple form draws once, like h, for both halves.
Nor can the engine tell how a tensor function lines the state up with its other arguments when
the state is an operand (`torch.addcmul(zeros_like(h), h, m)`).
All are findings where the result stays a state, or where they change the state in place
(`h.mul_(w)`, its result dropped) (packed_dims.state_chains); read as features,
the features rule gives them h alone. The tuple form writes each of these once per half.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import Consumption, Use
from gru2lstm.values import Value, VArith
from gru2lstm.rules.base import Invalid, Rule, Valid, takes_a_state
from gru2lstm.rules.packed_width import OperandWidths


class PackedArithmetic(Rule):
    uses = ("arithmetic",)
    summary = (
        "packed: arithmetic of the state with an operand as wide as h (a layer's output, an allocation of the hidden size or "
        "of a last size other than 1, followed through names, attributes, parameters and elementwise functions), whose "
        "result stays a state or which changes the state in place (`h.mul_(w)`), is a finding"
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
            elif width.drawn_per_half is not None:
                _drawn_per_half(ctx, call, mask, width.drawn_per_half)
        for arith in ctx.state_chains.arithmetic:
            other = _other_operand(ctx, arith)
            width = None if other is None else widths.of(other)
            if width is not None and width.wide is not None:
                ctx.find(
                    "G2L100", arith.node,
                    f"`{ctx.code(arith.node)}` combines the hidden state with `{ctx.code(other.node)}`, {width.wide}; in the packed "
                    "form the state is h and c side by side, twice as wide, so the two would no longer line up; "
                    "use --state tuple, or migrate this by hand",
                )
            elif width is not None and width.drawn_per_half is not None:
                _drawn_per_half(ctx, arith.node, other.node, width.drawn_per_half)


def _drawn_per_half(ctx, node: cst.CSTNode, operand: cst.CSTNode, draw: cst.Call) -> None:
    """The finding on an operand drawn at random in the packed state's shape: the GRU drew one
    number per unit, the tuple form draws like h and gives both halves the same."""
    ctx.find(
        "G2L100", node,
        f"`{ctx.code(node)}` combines the hidden state with `{ctx.code(operand)}`, drawn at random (`{ctx.code(draw)}`) "
        "in the state's shape; in the packed form that shape is h and c side by side, so h and c would get different "
        "draws where the tuple form gives both the same; use --state tuple, or draw it for one half and repeat it "
        "(`torch.cat([m, m], dim=-1)`)",
    )


def _other_operand(ctx, arith: VArith) -> Optional[Value]:
    """The operand that is not the state, of an arithmetic the solver settled as one state's."""
    if not ctx.solution.resolutions.is_settled(arith):
        return None
    left, right = ctx.solution.value_is_state(arith.left), ctx.solution.value_is_state(arith.right)
    if left == right:
        return None
    other = arith.right if left else arith.left
    return other if other.node is not None else None


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
