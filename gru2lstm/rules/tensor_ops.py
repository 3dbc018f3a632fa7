"""Per-tensor operations and masks on a state held as a pair: a chain (`h.detach()`, `h * mask`,
`h.squeeze(0)` that stays a state) is run on each half, `(h[0].detach(), h[1].detach())`; an
in-place operation whose result is dropped (`h.detach_()`, `h[:, done].zero_()`) acts on each
half (packed: on the whole tensor, left as it is)."""

from __future__ import annotations

from gru2lstm.program import Consumption, Use
from gru2lstm.values import VSlot
from gru2lstm.rules.base import BindingUse, Rule, StateBindingRule, Valid, takes_a_state
from gru2lstm.rules.pairs import pair_expression
from gru2lstm.rules.storage import landed_chain


class Halfwise(StateBindingRule):
    step = "halfwise"
    summary = "a per-tensor chain or mask of a pair, bound to a local name, runs on each half"
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            mask = torch.ones(1, 1, 1)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                h = h * mask
            """,
            """
            core = nn.LSTM(4, 8)
            h = (
                torch.zeros(1, 1, 8),
                torch.zeros(1, 1, 8),
            )
            mask = torch.ones(1, 1, 1)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                h = (h[0] * mask, h[1] * mask)
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return landed_chain(ctx, use)

    def rewrite(self, ctx, use: BindingUse) -> None:
        pair_expression(ctx, use.value, "halfwise")


class InPlaceOp(Rule):
    step = "halfwise"
    uses = ("consumption",)
    summary = "an operation on a state whose result is dropped (`h.mul_(mask)`) acts on each half; packed, on the whole tensor"
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                h.detach_()
                h[:, 0].zero_()
                h = h.squeeze_(0).unsqueeze_(0).to("cpu")
            """,
            """
            core = nn.LSTM(4, 8)
            h = (
                torch.zeros(1, 1, 8),
                torch.zeros(1, 1, 8),
            )
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                (h[0].detach_(), h[1].detach_())
                (h[0][:, 0].zero_(), h[1][:, 0].zero_())
                h = (h[0].squeeze_(0).unsqueeze_(0).to("cpu"), h[1].squeeze_(0).unsqueeze_(0).to("cpu"))
            """,
        ),
        Valid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h)
                h.mul_(0.5)
            """,
            """
            core = nn.LSTM(4, 8)
            h = torch.zeros(1, 1, 2 * 8)
            for t in range(3):
                out, h = core(torch.randn(1, 1, 4), h.chunk(2, dim=-1))
                h = torch.cat(h, dim=-1)
                h.mul_(0.5)
            """,
            state="packed",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        # Before the feature rules: a dropped result is no feature, only its side effect counts.
        return use.context == Use.DISCARD and takes_a_state(ctx, use)

    def apply(self, ctx, use: Consumption) -> None:
        # A dropped state harms nothing; an in-place op on it (`h.mul_(mask)`) must act on each
        # half, which a packed tensor's op does already.
        if not ctx.packed and not isinstance(use.value, VSlot):
            pair_expression(ctx, use.value, "halfwise")
