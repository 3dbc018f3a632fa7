"""A value made of parts is the uses of its parts: `self.pending = (obs, h.detach(), a)` binds
each element to its part of the target, and a tuple or container that is consumed is consumed
part by part. Joins (a value meeting another where flows merge) rewrite nothing themselves."""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from gru2lstm.program import BindingKind, Consumption
from gru2lstm.sequences import container_items
from gru2lstm.values import ChildSlot, PosLabel, VChoice, VContainer, VOpaque, VTuple
from gru2lstm.rules.base import BindingUse, Invalid, Rule, Valid, consume
from gru2lstm.rules.unfollowed import cannot_follow


def _parts(target, value) -> list:
    """(part of the target, value) for each part of a tuple, list/dict literal or choice."""
    if isinstance(value, VTuple):
        return [(ChildSlot.of(target, PosLabel.of(position)), item) for position, item in enumerate(value.items)]
    if isinstance(value, VContainer):
        return [(ChildSlot.of(target, label), item) for label, item in container_items(value)]
    return [(target, option) for option in value.options]


class Joins(Rule):
    uses = ("binding",)
    summary = (
        "a join of flows binds nothing new; a part the walk could not tell that lands in a state (what a loop "
        "takes from `zip(sorted(h[0], key=f), dones)`, rows of a tensor sorted) is a finding"
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 3, 8)
            for t in range(2):
                out, h = core(torch.randn(1, 3, 4), h)
                rows = []
                for row, d in zip(sorted(h[0], key=lambda r: float(r.sum())), torch.rand(3) < 0.5):
                    rows.append(torch.zeros_like(row) if d else row)
                h = torch.stack(rows).unsqueeze(0)
            """,
            "G2L101",
            state="tuple",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return use.binding.kind == BindingKind.JOIN

    def apply(self, ctx, use: BindingUse) -> None:
        # the iterable a loop takes apart is held in a place of its own, by a join: an element the
        # walk could not tell would land in the loop's target as a pair it is not
        statement = use.binding.statement
        loop_target = statement.target if isinstance(statement, cst.For) else None
        for target, item in _untold_parts(ctx, use.binding.target, use.value):
            cannot_follow(ctx, replace(use.binding, target=target, value=item, target_node=loop_target), item)


def _untold_parts(ctx, target, value) -> list:
    """(part of the target, value) for each part of a tuple or container, at any depth, that the
    walk could not tell (VOpaque) and that holds a state."""
    if not isinstance(value, (VTuple, VContainer)):
        return []
    found = []
    for part, item in _parts(target, value):
        if isinstance(item, VOpaque) and ctx.solution.is_state(part):
            found.append((part, item))
        else:
            found += _untold_parts(ctx, part, item)
    return found


class BoundParts(Rule):
    uses = ("binding",)
    summary = "a tuple, list/dict literal or choice binds each part to its part of the target"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(4, 8)
                    self.pending = None

                def act(self, x, h):
                    out, h = self.core(x, h)
                    self.pending = (x, h.detach())
                    return out, h
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.LSTM(4, 8)
                    self.pending = None

                def act(self, x, h):
                    out, h = self.core(x, h)
                    self.pending = (x, (h[0].detach(), h[1].detach()))
                    return out, h
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(use.value, (VTuple, VContainer, VChoice))

    def apply(self, ctx, use: BindingUse) -> None:
        for target, item in _parts(use.binding.target, use.value):
            ctx.dispatch("binding", BindingUse.of(ctx, replace(use.binding, target=target, value=item)))


class ConsumedParts(Rule):
    uses = ("consumption",)
    summary = (
        "a tuple or container consumed is each of its parts consumed (`sum(h.norm() for h in d.values())`), "
        "and a choice each of its options (`print(h.shape if verbose else n)`)"
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return isinstance(use.value, (VContainer, VTuple, VChoice))

    def apply(self, ctx, use: Consumption) -> None:
        if isinstance(use.value, VChoice):
            parts = use.value.options
        else:
            parts = [part[1] if isinstance(use.value, VContainer) else part for part in use.value.items]
        for item in parts:
            consume(ctx, item, use.context, item.node or use.node, use.why, use.place)
