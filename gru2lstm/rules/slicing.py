"""Rules 7 and 7b, slicing of split names: each split name gets its partner (`h_states` ->
`c_states`; a partner already bound is G2L103); `T = S[...]` of a split `S` gets the line
`T_c = S_c[...]`; a split `S` where a pair is expected becomes `(S, S_c)`."""

from __future__ import annotations

from gru2lstm.names import partner_name
from gru2lstm.values import Derivation, VCreate, VSlot
from gru2lstm.rules.base import BindingUse, Invalid, Rule, StateBindingRule, Valid
from gru2lstm.rules.pairs import duplicate_line, pair_expression


class PartnerNames(Rule):
    step = "slicing"
    uses = ("split name",)
    summary = "each split name gets its partner name; one already bound in that scope is a finding"
    invalid = (
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.gru = nn.GRU(8, 16)
                    self.mem = []

                def act(self, x, h):
                    out, h = self.gru(x, h)
                    self.mem.append(h)
                    return out, h

                def learn(self, x):
                    c_states = 0
                    h_states = torch.cat(self.mem, dim=1)
                    return self.gru(x, h_states)[0], c_states
            """,
            "G2L103",
        ),
    )

    def apply(self, ctx, use) -> None:
        bound: dict = {}
        for definition in ctx.flow.defs.values():
            if definition.function is not None:
                bound.setdefault(definition.function.key, set()).add(definition.name)
        for (function, name), _ in ctx.solution.split_names.items():
            partner = partner_name(name)
            if partner in bound.get(function, set()):
                node = next(
                    d.node for d in ctx.flow.defs.values()
                    if d.function is not None and d.function.key == function and d.name == name
                )
                ctx.find("G2L103", node, f"`{name}` would be split into `{name}` and `{partner}`, but `{partner}` is already used here; rename that `{partner}`")
            ctx.partners[(function, name)] = partner


class SplitSource(StateBindingRule):
    step = "slicing"
    summary = "a split name moved: into a split name, its partner line; elsewhere `(S, S_c)`"

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(use.value, VSlot) and ctx.solution.is_split(use.value.slot)

    def rewrite(self, ctx, use: BindingUse) -> None:
        if ctx.solution.is_split(use.binding.target):
            duplicate_line(ctx, use.binding, use.value)
        else:
            pair_expression(ctx, use.value, "slicing")


class DerivedSplit(StateBindingRule):
    step = "slicing"
    summary = "`T = S[...]` (any per-tensor chain) into a split `T` gets the line `T_c = S_c[...]`"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.gru = nn.GRU(8, 16)
                    self.mem = []

                def act(self, x, h):
                    out, h = self.gru(x, h)
                    self.mem.append(h)
                    return out, h

                def learn(self, x):
                    h_states = torch.cat(self.mem, dim=1)
                    first = h_states[:, :1]
                    return self.gru(x, first)[0]
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.lstm = nn.LSTM(8, 16)
                    self.mem = []

                def act(self, x, h):
                    out, h = self.lstm(x, h)
                    self.mem.append(h)
                    return out, h

                def learn(self, x):
                    hs, cs = zip(*self.mem)
                    h_states = torch.cat(hs, dim=1)
                    c_states = torch.cat(cs, dim=1)
                    first = h_states[:, :1]
                    first_c = c_states[:, :1]
                    return self.lstm(x, (first, first_c))[0]
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return (
            isinstance(ctx.solution.resolutions.leaf_of(use.value), (VSlot, VCreate)) and ctx.solution.resolutions.chain_kind(use.value) != Derivation.READ
            and ctx.solution.is_split(use.binding.target)
        )

    def rewrite(self, ctx, use: BindingUse) -> None:
        duplicate_line(ctx, use.binding, use.value)
