"""Rule 2, creation: a fresh tensor (`torch.zeros(...)`, `x.new_zeros(...)`, …) that flows into a
state becomes the pair of two identical creations: on lines of their own when it is the whole
value of an assignment or `return`, inline `(e, e)` elsewhere. A learned initial state
(`nn.Parameter(torch.zeros(1, 1, H))`) is refused in the tuple form (the packed form doubles it)."""

from __future__ import annotations

import libcst as cst

from typing import Optional

from gru2lstm.values import Derivation, Value, VCreate, VDerived
from gru2lstm.rules.base import BindingUse, Invalid, StateBindingRule, Valid
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


def learned_initial_state(ctx, value: Value) -> Optional[cst.Call]:
    """The `nn.Parameter(...)` call that `value` is, or is made from by keeping operations."""
    value = ctx.solution.resolved(value)
    while isinstance(value, VDerived):
        if id(value.node) in ctx.flow.parameters:
            return value.node
        value = ctx.solution.resolved(value.base)
    return None


class LearnedInitialState(StateBindingRule):
    summary = (
        "tuple form: a learned initial state (`nn.Parameter(torch.zeros(1, 1, H))`) is a finding: a pair of "
        "parameters in a tuple would not be the module's parameters (the packed form doubles the one parameter)"
    )
    invalid = (
        Invalid(
            """
            class Core(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.gru = nn.GRU(4, 8)
                    self.h0 = nn.Parameter(torch.zeros(1, 1, 8))

                def forward(self, x):
                    return self.gru(x, self.h0.expand(-1, x.shape[1], -1).contiguous())
            """,
            "G2L101",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return learned_initial_state(ctx, use.value) is not None

    def rewrite(self, ctx, use: BindingUse) -> None:
        node = learned_initial_state(ctx, use.value)
        code = ctx.code(node)
        holder = ctx.code(use.binding.target_node) if use.binding.target_node is not None else None
        subject = f"`{holder}` holds the hidden state, and here it is" if holder and holder != code else "the hidden state is"
        ctx.find("G2L101", node, (
            f"{subject} a learned initial state, `{code}`; an LSTM needs a learned cell state beside it, and a pair of "
            "parameters held in a tuple would not be the module's parameters (neither trained nor moved with it); use "
            "--state packed, which learns h and c as one parameter of twice the size, or add a second `nn.Parameter` "
            "by hand and pass the pair"
        ))
