"""Rule 4, the recurrent call: `out, h = self.gru(x, h)` is kept but for the rename; a state that
is not a pair where the call takes one becomes one (`(h, h_c)` of a split name, a creation's
pair); a GRUCell call into a split name gives both names (`h2, c2 = cell(x, (h, c))`); a pair
unpacked whole into a split name is unpacked into both (`x, (hx, cx) = inputs`)."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import follow_remedy, from_where
from gru2lstm.solve import recurrent_hidden_argument, spread_state
from gru2lstm.syntax import is_none
from gru2lstm.values import Derivation, Value, VCallOf, VCat, VChoice, VCreate, VNone, VSlot, VTuple
from gru2lstm.vocab import CELL_KIND, GRU_KIND
from gru2lstm.rules.base import BindingUse, Invalid, Rule, StateBindingRule, Valid
from gru2lstm.rules.batch import batch_in_place
from gru2lstm.rules.kept import rows_of_a_state, rows_slot, unpacked_into_rows
from gru2lstm.rules.unfollowed import unread_class
from gru2lstm.apply import pair
from gru2lstm.rules.edits import paren
from gru2lstm.rules.packed_dims import tested_not_none
from gru2lstm.rules.pairs import changed_per_half, none_in_split, pair_expression, per_half, split_target, unpacked_if_none
from gru2lstm.rules.unfollowed import cannot_follow, plain_layer, report_untracked, untracked_read


def starred(ctx, call: VCallOf) -> bool:
    """`core(*args)`: which argument is the hidden state cannot be told. Said. A tuple spread as
    the state (`core(x, *core_state)`) hands its one item; in the tuple form the spread value
    must hold the state as an item, not be it (`*h` of a tensor would spread h and c apart)."""
    if not any(arg.star for _, _, arg in call.args):
        return False
    if spread_state(call):
        spread = call.args[1][1]
        if ctx.packed or not ctx.solution.is_state(spread.slot):
            return False
        ctx.find(
            "G2L100", call.node,
            f"`*{ctx.code(spread.node)}` spreads the hidden state itself into `{ctx.code(call.node)}`: in the tuple form "
            f"(h, c) would be spread as two arguments; pass `{ctx.code(spread.node)}[0]` instead of `*{ctx.code(spread.node)}`, "
            "or keep the state in a tuple of one item, or use --state packed",
        )
        return True
    ctx.find("G2L100", call.node, f"`{ctx.code(call.node)}` passes its arguments with * or **: the engine cannot tell which one is the hidden state; pass them one by one")
    return True


def new_state_dropped(ctx, call: VCallOf, hidden: Value) -> bool:
    """`out, _ = self.gru(x, h)` that returns `out` itself beside other values
    (`return self.q(out), out[:, -1]`): the code carries the output between calls as its
    state (for one layer, its last step equals h), which would lose the LSTM's c. Said."""
    if isinstance(ctx.solution.resolutions.leaf_of(ctx.solution.resolved(hidden)), (VCreate, VNone)):
        return False  # a fresh state per call carries nothing
    classes = ctx.solution.classes
    for unpacking in ctx.flow.unpackings:
        if unpacking.value is not call or unpacking.function is None:
            continue
        elements = {element.position: element for element in unpacking.elements}
        dropped = 1 in elements and elements[1].slot is None and isinstance(elements[1].node, cst.Name) and elements[1].node.value == "_"
        output = elements[0].slot if 0 in elements else None
        if not dropped or output is None:
            continue
        for info, _, value in ctx.flow.returns:
            if info is not unpacking.function or not isinstance(value, VTuple):
                continue
            for item in value.items:
                leaf = ctx.solution.resolutions.leaf_of(ctx.solution.resolved(item))  # through indexing and tensor methods, not a head
                if isinstance(leaf, VSlot) and leaf.slot in classes.parent and classes.find(leaf.slot) == classes.find(output):
                    ctx.find(
                        "G2L100", call.node,
                        f"`{ctx.code(call.node)}` throws its new hidden state away and its output is returned as "
                        "it is: the code seems to carry the output as the state, which would lose the LSTM's c; "
                        "carry the state the call returns",
                    )
                    return True
    return False


def checked_call(ctx, call: VCallOf) -> tuple:
    """Record a recurrent call: (whether it can be rewritten, its hidden argument or None)."""
    ctx.site(call.node)
    ctx.step("call", call.node)
    if starred(ctx, call):
        return False, None
    hidden = recurrent_hidden_argument(call)
    if hidden is not None and ctx.solution.recurrent_calls[id(call)] == GRU_KIND and new_state_dropped(ctx, call, hidden):
        return False, None
    return True, hidden


class RecurrentCall(Rule):
    step = "call"
    uses = ("call",)
    summary = (
        "the recurrent call is kept; its state argument is made a pair where it is not one; read from what the engine "
        "does not track (`st.data[\"h\"][0]`, taken for a tensor's `.data`), a finding"
    )
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            out, h = core(torch.randn(1, 1, 4), torch.zeros(1, 1, 8))
            """,
            """
            core = nn.LSTM(4, 8)
            out, h = core(torch.randn(1, 1, 4), (torch.zeros(1, 1, 8), torch.zeros(1, 1, 8)))
            """,
        ),
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            args = (torch.randn(1, 1, 4), torch.zeros(1, 1, 8))
            out, h = core(*args)
            """,
            "G2L100",
        ),
        Invalid(
            """
            class Storage:
                def __init__(self):
                    self.data = {"h": torch.zeros(5, 3, 8)}

                def add(self, t, h):
                    self.data["h"][t] = h

            core = nn.GRU(4, 8)
            st = Storage()
            h = torch.zeros(1, 3, 8)
            for t in range(5):
                st.add(t, h[0])
                _, h = core(torch.randn(1, 3, 4), h)
            _, h = core(torch.randn(1, 3, 4), st.data["h"][0][None])
            """,
            "G2L102",
            state="tuple",
        ),
    )

    def handles(self, ctx, call: VCallOf) -> bool:
        return id(call) in ctx.solution.recurrent_calls

    def apply(self, ctx, call: VCallOf) -> None:
        proceed, hidden = checked_call(ctx, call)
        if not proceed or hidden is None:
            return
        value = ctx.solution.resolved(hidden)
        leaf = ctx.solution.resolutions.leaf_of(value)
        if isinstance(value, VSlot) and not ctx.solution.is_split(value.slot):
            return
        if untracked_read(ctx, value, value.node):  # `core(x, st.data["h"][0])`: it would stay one tensor
            report_untracked(ctx, value.node, f"`{ctx.code(call.node)}` takes the hidden state, but here it receives")
        elif isinstance(leaf, (VSlot, VCreate)):
            pair_expression(ctx, value, "call")
        elif isinstance(leaf, VCat):
            batch_in_place(ctx, value, leaf, "call")


class CallResult(StateBindingRule):
    step = "call"
    summary = "the result of a call held as a state: a GRUCell's into a split name gives both names; an unfollowed call is a finding"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell = nn.GRUCell(4, 8)

                def forward(self, xs):
                    hx = torch.zeros(2, 8)
                    for x in xs:
                        hx = self.cell(x, hx)
                    return hx
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell = nn.LSTMCell(4, 8)

                def forward(self, xs):
                    hx = torch.zeros(2, 8)
                    cx = torch.zeros(2, 8)
                    for x in xs:
                        hx, cx = self.cell(x, (hx, cx))
                    return (hx, cx)
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(use.value, VCallOf) and rows_slot(ctx, use) is None  # a cell's state into a row: RowsReset

    def rewrite(self, ctx, use: BindingUse) -> None:
        value, binding = use.value, use.binding
        kind = ctx.solution.recurrent_calls.get(id(value))
        if kind == CELL_KIND and ctx.solution.is_split(binding.target):
            split_target(ctx, binding)
            ctx.step("call", value.node)
        elif kind is None and plain_layer(ctx, value) is not None:
            cannot_follow(ctx, binding, value)  # features of a layer that is not recurrent: no cell state to carry
        elif kind is None and (unread := unread_class(ctx, value.node) if ctx.flow.origin(value) is None else None) is not None:
            code, node, message = unread
            ctx.find(code, node, message, once=True)
        elif kind is None:
            holder = f" held by `{ctx.code(binding.target_node)}`" if binding.target_node is not None else ""
            place = ctx.flow.origin(value)
            why = _held_lambda_reading_a_local(ctx, value) or f"{from_where(place)}; {follow_remedy(place)}"
            ctx.find("G2L101", value.node, f"the hidden state{holder} comes from `{ctx.code(value.node)}`{why}", place)


def _held_lambda_reading_a_local(ctx, value: VCallOf) -> Optional[str]:
    """Why a call of a lambda an attribute holds is not followed, when that lambda reads a local of
    the method that sets it (`start` of `self.blank = lambda n: start.expand(...)` in `__init__`):
    the end of the finding, else None."""
    slot = value.func.slot if isinstance(value.func, VSlot) else None
    read = ctx.flow.local_reading_lambdas.get(slot)
    if read is None:
        return None
    names, method = read
    spelled = " and ".join(f"`{name}`" for name in names)
    return (
        f", a call of the lambda held in `self.{slot.name}`, which reads {spelled}, "
        f"{'a local' if len(names) == 1 else 'locals'} of `{method}()` where it is set, so the engine cannot follow "
        f"what it makes; define `{slot.name}` as a method of the class that makes the state (`def {slot.name}(self, ...)`), "
        "or migrate this use by hand"
    )


class CellResultChain(StateBindingRule):
    step = "call"
    summary = "a chain on an LSTMCell's new state (`h = self.cell(x, h) * m`) runs on each half of the pair, made once"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell = nn.GRUCell(4, 8)
                    self.head = nn.Linear(8, 2)

                def forward(self, xs, h, masks):
                    for x, m in zip(xs, masks):
                        h = self.cell(x, h) * m
                    return self.head(h), h
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell = nn.LSTMCell(4, 8)
                    self.head = nn.Linear(8, 2)

                def forward(self, xs, h, masks):
                    for x, m in zip(xs, masks):
                        h = tuple(half * m for half in self.cell(x, h))
                    return self.head(h[0]), h
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        leaf = ctx.solution.resolutions.leaf_of(use.value)
        return (
            leaf is not use.value and isinstance(leaf, VCallOf) and ctx.solution.recurrent_calls.get(id(leaf)) == CELL_KIND
            and ctx.solution.resolutions.chain_kind(use.value) != Derivation.READ
            and rows_slot(ctx, use) is None  # into a row: RowsReset
        )

    def rewrite(self, ctx, use: BindingUse) -> None:
        top = ctx.solution.resolved(use.value).node
        leaf = ctx.solution.resolutions.leaf_of(use.value).node
        if changed_per_half(ctx, top, leaf):
            return  # said there
        if ctx.solution.is_split(use.binding.target):
            split_target(ctx, use.binding)
        per_half(ctx, top, leaf, "call")


class UnpackedPair(StateBindingRule):
    step = "call"
    summary = (
        "a pair unpacked whole into a split name is unpacked into both (`x, (hx, cx) = inputs`); a new state unpacked "
        "into some rows of a state tensor lands in the rows of each half (`out, (hs[0][i], hs[1][i]) = lstm(out, ...)`)"
    )
    valid = (
        Valid(
            """
            grus = nn.ModuleList([nn.GRU(3, 8), nn.GRU(8, 8)])
            hs = torch.zeros(2, 1, 4, 8)
            out = torch.randn(5, 4, 3)
            for i, gru in enumerate(grus):
                out, hs[i] = gru(out, hs[i])
            """,
            """
            grus = nn.ModuleList([nn.LSTM(3, 8), nn.LSTM(8, 8)])
            hs = (
                torch.zeros(2, 1, 4, 8),
                torch.zeros(2, 1, 4, 8),
            )
            out = torch.randn(5, 4, 3)
            for i, lstm in enumerate(grus):
                out, (hs[0][i], hs[1][i]) = lstm(out, (hs[0][i], hs[1][i]))
            """,
            state="tuple",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(use.value, VSlot) and use.value.node is None

    def rewrite(self, ctx, use: BindingUse) -> None:
        # A part of an unpacked value. A return that grew is extended by the batch rules; a pair
        # unpacked whole (`x, hx = inputs`) lands in a split name as `(hx, cx)`.
        binding, solution = use.binding, ctx.solution
        if (
            solution.is_split(binding.target) and not solution.is_split(use.value.slot)
            and not any(node is binding.target_node for _, node, _ in ctx.grown_elements)
        ):
            split_target(ctx, binding)
        elif rows_of_a_state(ctx, binding.target_node, binding.target) is not None:
            unpacked_into_rows(ctx, binding, rows_of_a_state(ctx, binding.target_node, binding.target))


class ChoiceIntoSplit(StateBindingRule):
    step = "call"
    summary = "a choice of states into a split name gives both names, each option a pair (`h, h_c = h0 if h0 is not None else (z, z)`)"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell = nn.GRUCell(4, 8)
                    self.head = nn.Linear(8, 2)

                def forward(self, xs, h0=None):
                    h = h0 if h0 is not None else torch.zeros(1, 8)
                    for x in xs:
                        h = self.cell(x, h)
                    return self.head(h), h
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell = nn.LSTMCell(4, 8)
                    self.head = nn.Linear(8, 2)

                def forward(self, xs, h0=None):
                    h, c = h0 if h0 is not None else (torch.zeros(1, 8), torch.zeros(1, 8))
                    for x in xs:
                        h, c = self.cell(x, (h, c))
                    return self.head(h), (h, c)
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(use.value, VChoice) and ctx.solution.is_split(use.binding.target)

    def rewrite(self, ctx, use: BindingUse) -> None:
        # Option by option, the h0 would split the name and the fresh state add a partner line of
        # the whole choice (`c = h0 if ... else torch.zeros(...)`): exit 0, c a pair.
        options = [ctx.solution.resolved(option) for option in use.value.options]
        # a None written nowhere, or one a call may give (`d.get(k)` of a missing key, whose other
        # value is the pair stored there): no `(None, None)` can be written in its place
        if any(isinstance(option, VNone) and (option.node is None or not is_none(option.node)) for option in options):
            target = use.binding.target_node
            none_in_split(ctx, target, ctx.code(target), use.binding.target)
            return
        split_target(ctx, use.binding)
        tested = tested_not_none(use.value.node)  # `h0 if h0 is not None else ...`: that h0 is not None
        for option in options:
            if isinstance(option, VNone):  # both names unset, as after `h = None` (rules/kept.py)
                ctx.edit_expression(option.node, lambda updated, mapping: paren(pair(updated, cst.Name("None"))))
            elif isinstance(option, VSlot) and not ctx.solution.is_split(option.slot):
                if option.node is None or ctx.code(option.node) != tested:
                    unpacked_if_none(ctx, option, use.binding)
            else:
                pair_expression(ctx, option, "call")


class PairIntoSplit(StateBindingRule):
    step = "call"
    summary = "a pair moved into a split name gives both names (`h, h_c = pair`)"

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(use.value, VSlot) and ctx.solution.is_split(use.binding.target)

    def rewrite(self, ctx, use: BindingUse) -> None:
        split_target(ctx, use.binding)
        unpacked_if_none(ctx, use.value, use.binding)
