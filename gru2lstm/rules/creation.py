"""Rule 2, creation: a fresh tensor (`torch.zeros(...)`, `x.new_zeros(...)`, …) that flows into a
state becomes the pair of two identical creations: on lines of their own when it is the whole
value of an assignment or `return`, inline `(e, e)` elsewhere."""

from __future__ import annotations

import libcst as cst

from gru2lstm.values import Derivation, VCreate
from gru2lstm.rules.base import BindingUse, StateBindingRule, Valid
from gru2lstm.rules.pairs import pair_expression


def _is_whole_value(use: BindingUse) -> bool:
    statement = use.binding.statement
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, (cst.Assign, cst.AnnAssign, cst.Return)):
        return small.value is use.value.node and (not isinstance(small, cst.Assign) or len(small.targets) == 1)
    return False


def _creation_statement(ctx, value: VCreate) -> None:
    """`x = torch.zeros(...)` -> `x = (` / both creations / `)` on lines of their own."""
    create = ctx.code(value.node)
    if "\n" in create:
        pair_expression(ctx, value, "creation")
        return
    # Continuation lines inside brackets are indented relative to the enclosing block.
    module = ctx.module_of(value.node)
    inner = module.default_indent
    newline = module.default_newline
    ctx.claim(value.node)

    def edit(updated, mapping):
        code = module.code_for_node(updated).strip()
        return cst.parse_expression(f"({newline}{inner}{code},{newline}{inner}{code},{newline})")

    ctx.edit_expression(value.node, edit)
    ctx.step("creation", value.node)


class Creation(StateBindingRule):
    step = "creation"
    summary = "a creation that flows into a state becomes the pair of two identical creations"
    valid = (
        Valid(
            """
            core = nn.GRU(8, 16)
            h = torch.zeros(1, 1, 16)
            out, h = core(torch.randn(1, 1, 8), h)
            out, _ = core(torch.randn(1, 1, 8), torch.zeros(1, 1, 16))
            """,
            """
            core = nn.LSTM(8, 16)
            h = (
                torch.zeros(1, 1, 16),
                torch.zeros(1, 1, 16),
            )
            out, h = core(torch.randn(1, 1, 8), h)
            out, _ = core(torch.randn(1, 1, 8), (torch.zeros(1, 1, 16), torch.zeros(1, 1, 16)))
            """,
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(ctx.solution.resolutions.leaf_of(use.value), VCreate) and ctx.solution.resolutions.chain_kind(use.value) != Derivation.READ

    def rewrite(self, ctx, use: BindingUse) -> None:
        if use.value is ctx.solution.resolutions.leaf_of(use.value) and _is_whole_value(use):
            _creation_statement(ctx, use.value)
        else:
            pair_expression(ctx, use.value, "creation")
