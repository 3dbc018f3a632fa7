"""What a recurrent call's output is: features, never the state. A GRU's output (or a GRUCell's,
which is its h) carried on as the hidden state, or fed back as the input of the next call while
also held as the state, would be one tensor where an LSTM has (h, c): a finding, not a guess."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.solve import recurrent_input
from gru2lstm.values import Derivation, PosLabel, Value, VCallOf, VCat, VContainer, VSlot
from gru2lstm.vocab import CELL_KIND
from gru2lstm.rules.base import Invalid, Rule, Valid
from gru2lstm.rules.call import RecurrentCall
from gru2lstm.rules.features import feature_read
from gru2lstm.rules.packed import PackedCall


def _input_is_state(ctx, call: VCallOf) -> bool:
    value = recurrent_input(call)
    if value is None:
        return False
    leaf = ctx.solution.resolutions.leaf_of(ctx.solution.resolved(value))
    if isinstance(leaf, VCat) and isinstance(ctx.solution.resolved(leaf.container), VContainer):
        # `torch.cat([x, manager_h], -1)`: a state among the features joined into the input
        return any(_input_is_state_value(ctx, item) for _, item in ctx.solution.resolved(leaf.container).items)
    return _input_is_state_value(ctx, leaf, _carries_own_state(ctx, call))


def _input_is_state_value(ctx, value: Value, own: bool = False) -> bool:
    """Is the input `value` a state? `own`: it is held where the call's own new state is."""
    resolutions = ctx.solution.resolutions
    leaf = resolutions.leaf_of(ctx.solution.resolved(value))
    if not isinstance(leaf, VSlot) or not ctx.solution.is_state(leaf.slot) or resolutions.chain_kind(value) == Derivation.READ:
        return False
    # A split name is h already, unless it carries this call's own state too (`inp = x`, then
    # `inp = h_new` over layers): its first value is the first layer's input, not a pair.
    return ctx.packed or own or not ctx.solution.is_split(leaf.slot)


def stacked_input(ctx, call: VCallOf) -> Optional[Value]:
    """The input of `call` when it is the state of another layer, held apart from the state this
    call carries (`h2 = self.cell2(h1, h2)`): read as features it is that layer's h, as an LSTM
    stack feeds it on. None otherwise; also where one name carries the input and this call's new
    state (`x = cell(x, h)` in a loop over layers: the first layer's input is not a state)."""
    value = recurrent_input(call)
    leaf = None if value is None else ctx.solution.resolutions.leaf_of(ctx.solution.resolved(value))
    if not isinstance(leaf, VSlot) or not _input_is_state_value(ctx, value) or _carries_own_state(ctx, call):
        return None
    return value


def _carries_own_state(ctx, call: VCallOf) -> bool:
    """Is the input of `call` held where the state it returns is held too (`x = cell(x, h)`)?"""
    value = recurrent_input(call)
    leaf = None if value is None else ctx.solution.resolutions.leaf_of(ctx.solution.resolved(value))
    classes = ctx.solution.classes
    new_state = call.result if ctx.solution.recurrent_calls[id(call)] == CELL_KIND else classes.part(call.result, PosLabel.of(1))
    return isinstance(leaf, VSlot) and new_state is not None and classes.find(leaf.slot) == classes.find(new_state)


def _fed_its_state(ctx, call: VCallOf) -> bool:
    """Is the input of `call` a name whose first value is no state, but that another path gives
    a state (`x = cell(x, h)` over layers, solve.py), where that name cannot read h: packed, or a
    name not held as two?"""
    value = recurrent_input(call)
    if not (isinstance(value, VSlot) and value.node is not None) or ctx.solution.is_state(value.slot):
        return False
    return any(
        ctx.solution.is_state(slot) and (ctx.packed or not ctx.solution.is_split(slot)) for slot in ctx.flow.slots_at(value.node)
    )


def _other_target(ctx, call: VCallOf, name: str) -> Optional[str]:
    """The target beside the input's name of a chained assignment of the call's state
    (`hs[i]` of `x = hs[i] = cell(x, hs[i])`), which the remedy keeps the state in, else None."""
    assign = ctx.parents.get(call.node)
    if not isinstance(assign, cst.Assign):
        return None
    return next((ctx.code(target.target) for target in assign.targets if ctx.code(target.target) != name), None)


def _output_is_state(ctx, call: VCallOf) -> bool:
    """Does the output (position 0 of a GRU's result) land where the state is held?"""
    if ctx.solution.recurrent_calls[id(call)] == CELL_KIND:
        return False  # a GRUCell's whole result is its state
    output = ctx.solution.classes.part(call.result, PosLabel.of(0))
    return output is not None and ctx.solution.is_state(output)


class OutputAsState(Rule):
    step = "call"
    uses = ("call",)
    summary = (
        "a recurrent call whose output is held as the state, or whose input holds the state, is a finding; "
        "so is, packed, one name that is the input and keeps the state the call returns (`x = cell(x, h)`)"
    )
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.cells = nn.ModuleList([nn.GRUCell(8, 8), nn.GRUCell(8, 8)])

                def forward(self, x, state):
                    new_state = []
                    for cell, h in zip(self.cells, state):
                        x = cell(x, h)
                        new_state.append(x)
                    return x, new_state
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.cells = nn.ModuleList([nn.LSTMCell(8, 8), nn.LSTMCell(8, 8)])

                def forward(self, x, state):
                    new_state = []
                    for cell, h in zip(self.cells, state):
                        x, x_c = cell(x, h)
                        new_state.append((x, x_c))
                    return x, new_state
            """,
            state="tuple",
        ),
    )
    invalid = (
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.cells = nn.ModuleList([nn.GRUCell(8, 8), nn.GRUCell(8, 8)])

                def forward(self, x, state):
                    new_state = []
                    for cell, h in zip(self.cells, state):
                        x = cell(x, h)
                        new_state.append(x)
                    return x, new_state
            """,
            "G2L100",
            state="packed",
        ),
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.cells = nn.ModuleList([nn.GRUCell(8, 8), nn.GRUCell(8, 8)])

                def forward(self, x, state):
                    new_state = []
                    for cell, h in zip(self.cells, state):
                        x = cell(x, h)
                        new_state.append(x)
                    self.last = x
                    return x, new_state

                def again(self, y):
                    return self.cells[0](y, self.last)
            """,
            "G2L100",
        ),
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.gru = nn.GRU(8, 8)

                def forward(self, x, h):
                    out, h_n = self.gru(x, h)
                    state = out[-1:]
                    return out, state

            m = M()
            h = torch.zeros(1, 1, 8)
            for t in range(5):
                y, h = m(torch.randn(1, 1, 8), h)
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, call: VCallOf) -> bool:
        if id(call) not in ctx.solution.recurrent_calls:
            return False
        return (
            (_input_is_state(ctx, call) and stacked_input(ctx, call) is None)
            or _output_is_state(ctx, call)
            or _fed_its_state(ctx, call)
        )

    def apply(self, ctx, call: VCallOf) -> None:
        ctx.site(call.node)
        ctx.step("call", call.node)
        code = ctx.code(call.node)
        if _fed_its_state(ctx, call):
            name = ctx.code(recurrent_input(call).node)
            held = _other_target(ctx, call, name)
            ctx.find(
                "G2L100", call.node,
                f"`{name}` is the input of `{code}` and also keeps the state it returns (over a loop of layers): "
                + ("in the packed form that name would hold h and c side by side where the next layer reads h; use --state tuple, or "
                   if ctx.packed else "the engine cannot hold that name as h beside a name for c here; ")
                + (f"keep each layer's state where the code keeps it (`{held} = {code}`, then `{name} = {held}`)" if held
                   else f"keep each layer's state in a name of its own (`h_new = {code}`, then `{name} = h_new`)"),
            )
        elif _input_is_state(ctx, call):
            given = recurrent_input(call)
            own = ", the one this call returns (one name carries the layer's input and its state)" if _carries_own_state(ctx, call) else ""
            ctx.find(
                "G2L100", call.node,
                f"the input `{ctx.code(given.node)}` of `{code}` also holds a hidden state{own}: a state "
                "fed on as the input of a recurrent call (stacked layers) is one tensor for a GRU, but an LSTM's "
                "features are h while its state is (h, c); migrate this stack by hand so that each layer keeps "
                "the pair it returns as its state and feeds only its h to the next layer",
            )
        else:
            ctx.find(
                "G2L100", call.node,
                f"the output of `{code}` is carried on as the hidden state: for one layer its last step equals h, "
                "but an LSTM's state is (h, c) and the c would be lost; carry the state the call returns",
            )


class StackedInput(Rule):
    step = "call"
    uses = ("call",)
    summary = "a recurrent call whose input is another layer's state (`h2 = self.cell2(h1, h2)`) reads its h"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell1 = nn.GRUCell(4, 8)
                    self.cell2 = nn.GRUCell(8, 8)

                def forward(self, x, h1, h2):
                    h1 = self.cell1(x, h1)
                    h2 = self.cell2(h1, h2)
                    return h1, h2

            m = M()
            h1, h2 = torch.zeros(2, 8), torch.zeros(2, 8)
            for t in range(3):
                h1, h2 = m(torch.randn(2, 4), h1, h2)
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell1 = nn.LSTMCell(4, 8)
                    self.cell2 = nn.LSTMCell(8, 8)

                def forward(self, x, h1, h2):
                    h1 = self.cell1(x, h1)
                    h2 = self.cell2(h1[0], h2)
                    return h1, h2

            m = M()
            h1, h2 = (torch.zeros(2, 8), torch.zeros(2, 8)), (torch.zeros(2, 8), torch.zeros(2, 8))
            for t in range(3):
                h1, h2 = m(torch.randn(2, 4), h1, h2)
            """,
        ),
    )

    def handles(self, ctx, call: VCallOf) -> bool:
        return id(call) in ctx.solution.recurrent_calls and not _output_is_state(ctx, call) and stacked_input(ctx, call) is not None

    def apply(self, ctx, call: VCallOf) -> None:
        # One rule takes a call: the input read here, the call itself as the form's call rule has it.
        feature_read(ctx, stacked_input(ctx, call))
        (PackedCall() if ctx.packed else RecurrentCall()).apply(ctx, call)
