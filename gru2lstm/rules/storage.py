"""Storage and pending state: a state that lands in a container (`buf.append(h.detach())`, an
element or key) or in an attribute (`self.pending = h.detach()`) is written as the pair of its
halves, each through the whole chain: `(h[0].detach(), h[1].detach())`."""

from __future__ import annotations

from gru2lstm.program import BindingKind
from gru2lstm.values import Derivation, LabelKind, SlotKind, VSlot
from gru2lstm.rules.base import BindingUse, StateBindingRule, Valid
from gru2lstm.rules.pairs import pair_expression


def landed_chain(ctx, use: BindingUse) -> bool:
    """A per-tensor chain of a state (not a read of it) bound as a whole."""
    resolutions = ctx.solution.resolutions
    return isinstance(resolutions.leaf_of(use.value), VSlot) and resolutions.chain_kind(use.value) != Derivation.READ


def storage_step(use: BindingUse):
    """"storage" into a container, "pending" into an attribute, None elsewhere."""
    binding = use.binding
    target = binding.target
    if binding.kind in (BindingKind.APPEND, BindingKind.STORE) or (
        target.kind == SlotKind.CHILD and target.label.kind in (LabelKind.ELEM, LabelKind.KEY)
    ):
        return "storage"
    if target.kind == SlotKind.ATTR:
        return "pending"
    return None


class Storage(StateBindingRule):
    step = "storage"
    summary = "a chain of a state stored in a container or an attribute becomes the pair of its halves"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(4, 8)
                    self.memory = []

                def act(self, x, h):
                    out, h = self.core(x, h)
                    self.memory.append(h.detach())
                    self.pending = h.cpu()
                    return out, h
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.LSTM(4, 8)
                    self.memory = []

                def act(self, x, h):
                    out, h = self.core(x, h)
                    self.memory.append((h[0].detach(), h[1].detach()))
                    self.pending = (h[0].cpu(), h[1].cpu())
                    return out, h
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return landed_chain(ctx, use) and storage_step(use) is not None

    def rewrite(self, ctx, use: BindingUse) -> None:
        pair_expression(ctx, use.value, storage_step(use))
