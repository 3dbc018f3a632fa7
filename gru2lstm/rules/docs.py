"""Docs: `GRU`, `GRUCell`, `GRUs`, `gru` as words in the docstrings and comments of the module and
of the classes and functions a rule touched become their LSTM words (the apply step writes them;
this rule marks the docstrings and counts the lines)."""

from __future__ import annotations

import libcst as cst

from gru2lstm.names import lstm_prose
from gru2lstm.rules.base import Rule, Valid


def _in_touched_scope(ctx, node: cst.CSTNode) -> bool:
    current = ctx.parents.get(node)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Module)):
        current = ctx.parents.get(current)
    return current is not None and id(current) in ctx.plan.prose_scopes


class Docs(Rule):
    step = "docs"
    uses = ("prose",)
    summary = "GRU words in docstrings and comments of touched scopes become LSTM words"
    valid = (
        Valid(
            """
            class M(nn.Module):
                \"\"\"A GRU policy.\"\"\"

                def __init__(self):
                    self.core = nn.GRU(4, 8)  # the GRU core
            """,
            """
            class M(nn.Module):
                \"\"\"An LSTM policy.\"\"\"

                def __init__(self):
                    self.core = nn.LSTM(4, 8)  # the LSTM core
            """,
        ),
    )

    def apply(self, ctx, use) -> None:
        scopes = list(ctx.modules.values()) + [n for n in ctx.parents if isinstance(n, (cst.ClassDef, cst.FunctionDef))]
        for scope in scopes:
            if id(scope) not in ctx.plan.prose_scopes:
                continue
            body = scope.body if isinstance(scope, cst.Module) else scope.body.body
            if not body or not isinstance(body[0], cst.SimpleStatementLine):
                continue
            first = body[0].body[0]
            if isinstance(first, cst.Expr) and isinstance(first.value, cst.SimpleString):
                text = first.value.value
                if text != lstm_prose(text):
                    ctx.plan.docstrings.add(id(first.value))
                    start = ctx.line(first.value)
                    changed = {start + i for i, line in enumerate(text.splitlines()) if lstm_prose(line) != line}
                    ctx.outcome(first.value).steps.setdefault("docs", set()).update(changed)
        for node in ctx.parents:
            if isinstance(node, cst.Comment) and lstm_prose(node.value) != node.value:
                if _in_touched_scope(ctx, node):
                    positioned = ctx.positioned(node)
                    ctx.outcome(positioned).steps.setdefault("docs", set()).add(ctx.line(positioned))
