"""Kept steps: a reset to `None` (both halves at once) and a pair moved whole into an attribute
(`self._current_hidden = new_hidden`) stay as they are; a number written into some rows of a
state (`hidden[:, done, :] = 0`) or a state written into some rows of a preallocated one
(`hiddens[t + 1] = h.squeeze()`, `hiddens[t + 1].copy_(h)`, tuple form) is written into each half,
and so is an LSTMCell's new state written into its layer's row (`hs[i] = cell(x, hs[i])`)."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.apply import index, pair, replace_many
from gru2lstm.program import BindingKind
from gru2lstm.syntax import is_line, rows_holder
from gru2lstm.vocab import CELL_KIND, COPY_INTO_METHOD
from gru2lstm.values import Derivation, SlotKind, Value, VCallOf, VCreate, VNone, VSlot
from gru2lstm.rules.base import BindingUse, StateBindingRule, Valid
from gru2lstm.rules.edits import is_number, is_pure
from gru2lstm.rules.pairs import chain_per_half, changed_per_half, element_with_its_value, halves, in_pattern, made_once, none_partner_line, pair_expression
from gru2lstm.rules.storage import landed_chain


class Reset(StateBindingRule):
    step = "reset"
    summary = "`self.hidden = None` is kept: `None` resets both halves"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(4, 8)
                    self.hidden = None

                def act(self, x):
                    out, self.hidden = self.core(x, self.hidden)
                    return out

                def reset(self):
                    self.hidden = None
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.LSTM(4, 8)
                    self.hidden = None

                def act(self, x):
                    out, self.hidden = self.core(x, self.hidden)
                    return out

                def reset(self):
                    self.hidden = None
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(use.value, VNone)

    def rewrite(self, ctx, use: BindingUse) -> None:
        if ctx.solution.is_split(use.binding.target):
            none_partner_line(ctx, use.binding)  # `h = None` of `h, c`: `c = None` too
        ctx.step("reset", use.value.node)


class Update(StateBindingRule):
    step = "update"
    summary = "a pair moved whole (`self.hidden = new_hidden`) is kept"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(4, 8)
                    self.hidden = None

                def act(self, x):
                    out, new_hidden = self.core(x, self.hidden)
                    self.hidden = new_hidden
                    return out
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.LSTM(4, 8)
                    self.hidden = None

                def act(self, x):
                    out, new_hidden = self.core(x, self.hidden)
                    self.hidden = new_hidden
                    return out
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(use.value, VSlot)

    def rewrite(self, ctx, use: BindingUse) -> None:
        if use.binding.kind == BindingKind.ASSIGN and use.binding.target.kind == SlotKind.ATTR:
            ctx.step("update", use.binding.statement)


def written_rows(statement: cst.CSTNode, chained: bool = False):
    """The written value of `S[...] = V` or `S[...].copy_(V)` alone on its line, else None; with
    `chained`, also of `a = S[...] = V` (for a V made once: each target gets it as it is)."""
    if not (is_line(statement) and len(statement.body) == 1):
        return None
    line = statement.body[0]
    if isinstance(line, cst.Assign) and (len(line.targets) == 1 or chained):
        return line.value
    call = line.value if isinstance(line, cst.Expr) else None
    if (
        isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == COPY_INTO_METHOD
        and len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star
    ):
        return call.args[0].value
    return None


def new_cell_state(ctx, value: Value) -> Optional[VCallOf]:
    """The cell call whose new state (a pair it makes) `value` is, or a per-tensor chain of
    (`cell(x, hs[i])`, `cell(x, hs[i]) * m`), else None."""
    leaf = ctx.solution.resolutions.leaf_of(value)
    if not (isinstance(leaf, VCallOf) and ctx.solution.recurrent_calls.get(id(leaf)) == CELL_KIND):
        return None
    return None if leaf is not value and ctx.solution.resolutions.chain_kind(value) == Derivation.READ else leaf


def rows_slot(ctx, use: BindingUse):
    """The slot of `S` in `S[...] = V` (or `S[...].copy_(V)`) when S holds one state (a tensor, not
    a list or dict) and V is a number, a creation, a cell's new state or a per-tensor chain of a
    state, else None."""
    binding = use.binding
    cell = new_cell_state(ctx, use.value)
    value = written_rows(binding.statement, chained=cell is use.value)  # a chain, other targets would get it per half too
    if not isinstance(binding.target_node, cst.Subscript) or value is None:
        return None
    # `h[done] = np.zeros(...)`: each half its own; `hs[i] = cell(x, hs[i])`: the layer's row of each half
    made = isinstance(ctx.solution.resolutions.leaf_of(use.value), VCreate) or cell is not None
    if not (is_number(value) or made or landed_chain(ctx, use)):
        return None
    slot = binding.target.base if binding.target.kind == SlotKind.CHILD else None
    if slot is None or ctx.solution.is_container(slot) or not ctx.solution.is_state(slot):
        return None  # a list or dict of states: each element is a pair of its own
    return slot


class RowsReset(StateBindingRule):
    step = "reset"
    summary = (
        "a number, a creation or a state written into some rows of a state (`hidden[:, done, :] = 0`, `hiddens[i] = h.squeeze()`, "
        "`hiddens[i].copy_(h)`) is written into each half; a state made by a call is made once and unpacked into both (`h[0][:, i], h[1][:, i] = net.blank(k)`), "
        "and so is an LSTMCell's new state, or a chain of it, written into its layer's row (`hs[0][i], hs[1][i] = cell(x, (hs[0][i], hs[1][i]))`)"
    )
    valid = (
        Valid(
            """
            core = nn.GRU(3, 8)
            hidden = torch.zeros(1, 4, 8)
            for t in range(5):
                out, hidden = core(torch.randn(1, 4, 3), hidden)
                done = torch.rand(4) < 0.3
                hidden[:, done, :] = 0
            """,
            """
            core = nn.LSTM(3, 8)
            hidden = (
                torch.zeros(1, 4, 8),
                torch.zeros(1, 4, 8),
            )
            for t in range(5):
                out, hidden = core(torch.randn(1, 4, 3), hidden)
                done = torch.rand(4) < 0.3
                hidden[0][:, done, :] = 0
                hidden[1][:, done, :] = 0
            """,
            state="tuple",
        ),
        Valid(
            """
            core = nn.GRU(3, 8, num_layers=2)
            hiddens = torch.zeros(6, 2, 4, 8)
            for t in range(5):
                out, h = core(torch.randn(1, 4, 3), hiddens[t])
                hiddens[t + 1] = h.squeeze()
            """,
            """
            core = nn.LSTM(3, 8, num_layers=2)
            hiddens = (
                torch.zeros(6, 2, 4, 8),
                torch.zeros(6, 2, 4, 8),
            )
            for t in range(5):
                out, h = core(torch.randn(1, 4, 3), (hiddens[0][t], hiddens[1][t]))
                hiddens[0][t + 1] = h[0].squeeze()
                hiddens[1][t + 1] = h[1].squeeze()
            """,
            state="tuple",
        ),
        Valid(
            """
            core = nn.GRU(3, 8)
            hiddens = torch.zeros(6, 1, 4, 8)
            for t in range(5):
                out, h = core(torch.randn(1, 4, 3), hiddens[t])
                hiddens[t + 1].copy_(h)
            hiddens[0].copy_(hiddens[-1])
            """,
            """
            core = nn.LSTM(3, 8)
            hiddens = (
                torch.zeros(6, 1, 4, 8),
                torch.zeros(6, 1, 4, 8),
            )
            for t in range(5):
                out, h = core(torch.randn(1, 4, 3), (hiddens[0][t], hiddens[1][t]))
                hiddens[0][t + 1].copy_(h[0])
                hiddens[1][t + 1].copy_(h[1])
            hiddens[0][0].copy_(hiddens[0][-1])
            hiddens[1][0].copy_(hiddens[1][-1])
            """,
            state="tuple",
        ),
        Valid(
            """
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.core = nn.GRU(3, 8)

                def blank(self, n):
                    return torch.zeros(1, n, 8)


            net = Net()
            hidden = net.blank(4)
            for t in range(5):
                out, hidden = net.core(torch.randn(1, 4, 3), hidden)
                done = torch.rand(4) < 0.3
                hidden[:, done] = net.blank(int(done.sum()))
            """,
            """
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.core = nn.LSTM(3, 8)

                def blank(self, n):
                    return (
                        torch.zeros(1, n, 8),
                        torch.zeros(1, n, 8),
                    )


            net = Net()
            hidden = net.blank(4)
            for t in range(5):
                out, hidden = net.core(torch.randn(1, 4, 3), hidden)
                done = torch.rand(4) < 0.3
                hidden[0][:, done], hidden[1][:, done] = net.blank(int(done.sum()))
            """,
            state="tuple",
        ),
        Valid(
            """
            cells = nn.ModuleList([nn.GRUCell(3, 8), nn.GRUCell(8, 8)])
            hs = torch.zeros(2, 4, 8)
            x = torch.randn(4, 3)
            for i, cell in enumerate(cells):
                hs[i] = cell(x, hs[i])
                x = hs[i]
            """,
            """
            cells = nn.ModuleList([nn.LSTMCell(3, 8), nn.LSTMCell(8, 8)])
            hs = (
                torch.zeros(2, 4, 8),
                torch.zeros(2, 4, 8),
            )
            x = torch.randn(4, 3)
            for i, cell in enumerate(cells):
                hs[0][i], hs[1][i] = cell(x, (hs[0][i], hs[1][i]))
                x = hs[0][i]
            """,
            state="tuple",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return rows_slot(ctx, use) is not None

    def rewrite(self, ctx, use: BindingUse) -> None:
        slot = rows_slot(ctx, use)
        base, statement = rows_holder(use.binding.target_node), use.binding.statement
        if in_pattern(ctx, use.binding.target_node) and isinstance(written_rows(statement), (cst.Tuple, cst.List)):
            _rows_beside_others(ctx, use, slot)
            return
        cell = new_cell_state(ctx, use.value)
        value = written_rows(statement, chained=cell is use.value)
        split = ctx.solution.is_split(slot)
        partner = ctx.partner_of(slot) if split else None
        if not split and not is_pure(base):
            ctx.find("G2L100", base, f"`{ctx.code(base)}` would be evaluated twice, once per half; assign it to a name first")
            return
        if cell is not None:
            if not changed_per_half(ctx, value, cell.node):
                _rows_unpacked(ctx, use, cell.node, partner, "call")
            return
        once = None if is_number(value) or not isinstance(statement.body[0], cst.Assign) else made_once(ctx, use.value)
        if once is not None:
            if not changed_per_half(ctx, value, once):
                _rows_unpacked(ctx, use, once, partner, "reset")
            return
        made = (None, None) if is_number(value) else halves(ctx, use.value)
        if made is None:
            return

        def half(position):
            def line(updated_statement, mapping):
                old = mapping(base)
                new = (cst.Name(partner) if position else old) if split else index(old, position)
                replacements = {old: new}
                if made[position] is not None:
                    replacements[mapping(value)] = made[position](mapping(value), mapping)
                return replace_many(updated_statement, replacements)
            return line

        ctx.plan.statements[statement] = [half(0), half(1)]
        ctx.step("reset", statement)


def _rows_beside_others(ctx, use: BindingUse, slot) -> None:
    """`xs[t], hs[t] = x, h`: a line per half would repeat the other targets, so the rows become
    `(hs[0][t], hs[1][t])` and the value the pair of its halves, in place."""
    top = ctx.solution.resolved(use.value).node
    made = ctx.solution.resolutions.leaf_of(use.value)
    if isinstance(made, (VSlot, VCreate)) and element_with_its_value(ctx, use.binding.statement, use.binding.target_node, top):
        unpacked_into_rows(ctx, use.binding, slot)
        pair_expression(ctx, use.value, "reset")
        return
    ctx.find("G2L100", use.binding.target_node, (
        f"`{ctx.code(use.binding.target_node)}` receives the hidden state beside other targets, in a statement the engine "
        "cannot write once per half; write these rows in a statement of their own"
    ), once=True)


def rows_of_a_state(ctx, node: cst.CSTNode, target) -> Optional[object]:
    """The slot of `S` where `node` (of slot `target`) is some rows of S, a state tensor (not a
    list or dict of states): `hs[i]` of `out, hs[i] = gru(out, hs[i])`; else None."""
    if not isinstance(node, cst.Subscript) or target is None or target.kind != SlotKind.CHILD:
        return None
    slot = target.base
    return None if ctx.solution.is_container(slot) or not ctx.solution.is_state(slot) else slot


def unpacked_into_rows(ctx, binding, slot) -> None:
    """`out, hs[i] = gru(out, hs[i])` -> `out, (hs[0][i], hs[1][i]) = ...` (S held as two names:
    `(hs[i], hs_c[i])`): each half of the new state lands in its rows."""
    target = binding.target_node
    base = rows_holder(target)
    partner = ctx.partner_of(slot) if ctx.solution.is_split(slot) else None
    if partner is None and not is_pure(base):
        ctx.find("G2L100", base, f"`{ctx.code(base)}` would be evaluated twice, once per half; assign it to a name first")
        return

    def edit(updated, mapping):
        old = mapping(base)
        halves_of_base = (old, cst.Name(partner)) if partner else (index(old, 0), index(old, 1))
        halves = pair(*[replace_many(updated, {old: new}) for new in halves_of_base])
        return halves.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])  # an element of the unpacking

    ctx.edit_expression(target, edit)
    ctx.step("call", binding.statement)


def _rows_unpacked(ctx, use: BindingUse, once: cst.CSTNode, partner, step: str) -> None:
    """`S[rows] = <a pair made by a call>` -> `S[0][rows], S[1][rows] = <it>` (S held as two names:
    `S[rows], S_c[rows] = <it>`): the pair is made once, each half lands in its rows. `step` is
    the report's: a reset, or the recurrent call whose new state lands there. Other targets of the
    line keep theirs (`x = hs[i] = cell(x, hs[i])`); `S[rows].copy_(<it>)` becomes the assignment,
    which writes a tensor's rows alike."""
    target, statement = use.binding.target_node, use.binding.statement
    base, value = rows_holder(target), written_rows(statement, chained=True)
    value_edit = chain_per_half(ctx, value, once)
    line_node = statement.body[0]
    position = [t.target for t in line_node.targets].index(target) if isinstance(line_node, cst.Assign) else 0

    def line(updated_statement, mapping):
        old = mapping(base)
        halves_of_base = (old, cst.Name(partner)) if partner else (index(old, 0), index(old, 1))
        rows = cst.AssignTarget(pair(*[replace_many(mapping(target), {old: new}) for new in halves_of_base]))
        made = value_edit(mapping(value), mapping)
        assign = updated_statement.body[0]
        if not isinstance(assign, cst.Assign):
            return updated_statement.with_changes(body=[cst.Assign([rows], made)])
        targets = [rows if number == position else kept for number, kept in enumerate(assign.targets)]
        return updated_statement.with_changes(body=[assign.with_changes(targets=targets, value=made)])

    ctx.plan.statements[statement] = [line]
    ctx.step(step, statement)
