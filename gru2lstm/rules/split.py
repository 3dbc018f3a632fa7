"""A state split into a sequence along a dimension (`h.unbind(1)`, `h.split(1, dim=1)`,
`torch.chunk(h, n, 1)`: one state per environment or group). Held as a pair, each half is split
and the halves are zipped, `tuple(zip(h[0].unbind(1), h[1].unbind(1)))`, a sequence of pairs.
Packed, a split of the state itself along the first dimension is kept (h and c stay side by
side in the last one); along another, or of a reshaped state, the engine cannot tell it from the
last, and it is a finding."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import BY_HAND, Consumption, Use
from gru2lstm.values import Derivation
from gru2lstm.vocab import CAT_FUNCTIONS, SEQUENCE_SPLITS, SPLIT_DIM_DEFAULT, SPLIT_DIM_KEYWORD
from gru2lstm.rules.base import Invalid, Rule, Valid, takes_a_state
from gru2lstm.rules.pairs import halves


CAT_NAMES = {name.rpartition(".")[2] for name in CAT_FUNCTIONS}  # torch.cat, torch.stack, np.concatenate, …


def split_dimension(call: cst.Call) -> Optional[int]:
    """The dimension a split call splits along, when it is written as a number; else None."""
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
    position = SEQUENCE_SPLITS[name] + (0 if _is_method(call) else 1)  # a function takes the tensor first
    given = [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == SPLIT_DIM_KEYWORD]
    positional = [arg.value for arg in call.args if arg.keyword is None]
    node = given[0] if given else positional[position] if position < len(positional) else None
    if node is None:
        return SPLIT_DIM_DEFAULT
    sign = 1
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        sign, node = -1, node.expression
    return sign * int(node.value) if isinstance(node, cst.Integer) else None


def _is_method(call: cst.Call) -> bool:
    """`h.unbind(1)` rather than `torch.unbind(h, 1)`: the tensor is the object, not an argument."""
    func = call.func
    return isinstance(func, cst.Attribute) and not (isinstance(func.value, cst.Name) and func.value.value == "torch")


def _joined_again(ctx, call: cst.Call) -> bool:
    """Is the split the sequence a concatenation joins (`torch.stack(h.unbind(1), 1)`)? Its batch
    line (`hs, cs = zip(*C)`, rules/batch.py) is written from the source of `C`."""
    argument = ctx.parents.get(call)
    joining = ctx.parents.get(argument) if isinstance(argument, cst.Arg) else None
    if not isinstance(joining, cst.Call):
        return False
    func = joining.func
    name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
    return name in CAT_NAMES


class SequenceSplit(Rule):
    step = "halfwise"
    uses = ("consumption",)
    summary = "`h.unbind(1)` of a state: a sequence of pairs, `tuple(zip(h[0].unbind(1), h[1].unbind(1)))`; packed, kept along the first dimension"
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 3, 8)
            out, h = core(torch.randn(1, 3, 4), h)
            per_env = {}
            for i, h_i in enumerate(h.unbind(1)):
                per_env[i] = h_i.unsqueeze(1)
            """,
            """
            core = nn.LSTM(4, 8)
            h = (
                torch.zeros(1, 3, 8),
                torch.zeros(1, 3, 8),
            )
            out, h = core(torch.randn(1, 3, 4), h)
            per_env = {}
            for i, h_i in enumerate(tuple(zip(h[0].unbind(1), h[1].unbind(1)))):
                per_env[i] = (h_i[0].unsqueeze(1), h_i[1].unsqueeze(1))
            """,
            state="tuple",
        ),
        Valid(
            """
            cell = nn.GRUCell(4, 8)
            h = torch.zeros(3, 8)
            h = cell(torch.randn(3, 4), h)
            rows = list(h.unbind(0))
            """,
            """
            cell = nn.LSTMCell(4, 8)
            h = torch.zeros(3, 2 * 8)
            h = torch.cat(cell(torch.randn(3, 4), h.chunk(2, dim=-1)), dim=-1)
            rows = list(h.unbind(0))
            """,
            state="packed",
        ),
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 3, 8)
            out, h = core(torch.randn(1, 3, 4), h)
            rows = list(h.unbind(1))
            """,
            "G2L100",
            state="packed",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return use.context == Use.SPLIT and takes_a_state(ctx, use)

    def apply(self, ctx, use: Consumption) -> None:
        call = use.node
        ctx.site(call)
        if ctx.packed:
            # Reshaped first (`h.transpose(0, 2).unbind(0)`), the first dimension may be the last one.
            reshaped = ctx.solution.resolutions.chain_kind(use.value) != Derivation.KEEP
            dimension = split_dimension(call)
            if reshaped or dimension != 0:
                along = "a dimension the engine cannot read" if dimension is None else f"dimension {dimension}"
                along += " of a reshaped state" if reshaped else ""
                ctx.find("G2L100", call, (
                    f"the hidden state `{ctx.code(use.value.node)}` is split along {along} by `{ctx.code(call)}`; packed, h and c "
                    f"sit side by side in the last dimension, and the engine cannot tell that this split does not cut through "
                    f"them; split along the first dimension, or {BY_HAND}"
                ))
            return
        if _joined_again(ctx, call):
            ctx.find("G2L100", call, (
                f"`{ctx.code(call)}` splits the hidden state and is joined again in the same expression, which the engine "
                "batches per half from the text as written; assign the split to a name first"
            ))
            return
        made = halves(ctx, use.value)
        if made is None or not ctx.claim(call):
            return
        make_h, make_c = made

        def zipped(updated, mapping):
            return cst.Call(cst.Name("tuple"), [cst.Arg(cst.Call(cst.Name("zip"), [cst.Arg(make_h(updated, mapping)), cst.Arg(make_c(updated, mapping))]))])

        ctx.edit_expression(call, zipped)
        ctx.step(self.step, call)
