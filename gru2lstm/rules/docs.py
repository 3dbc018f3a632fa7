"""Docs: `GRU`, `GRUCell`, `GRUs`, `gru` as words in the docstrings and comments of the module and
of the classes and functions a rule touched become their LSTM words (the apply step writes them;
this rule marks the docstrings and counts the lines). In the tuple form, the docstring of a
function whose parameter or return becomes a pair says the state's shape as the pair's:
`hidden: (1, B, H)` reads `hidden: (h, c), each (1, B, H)` (names.pair_shapes)."""

from __future__ import annotations

import libcst as cst

from gru2lstm.boundary import state_carriers
from gru2lstm.names import lstm_prose, pair_shapes
from gru2lstm.values import DefSlot
from gru2lstm.vocab import HIDDEN_KEYWORDS
from gru2lstm.rules.base import Rule, Valid


def _in_touched_scope(ctx, node: cst.CSTNode) -> bool:
    current = ctx.parents.get(node)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Module)):
        current = ctx.parents.get(current)
    return current is not None and id(current) in ctx.plan.prose_scopes


def _state_words(ctx) -> dict:
    """id of a function node -> the words its docstring uses for a state that becomes a pair: its
    state parameters, and the hidden-state words when its return value becomes one."""
    words = {}
    for key, carriers in state_carriers(ctx.flow, ctx.solution).items():
        info = ctx.flow.functions[key]
        names = {name for name, param in info.params if ctx.solution.is_state(DefSlot.of(id(param.name)))}
        if "return value" in carriers:
            names |= set(HIDDEN_KEYWORDS)
        if names:
            words[id(info.node)] = frozenset(names)
    return words


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

                def forward(self, x):
                    return self.core(x)[0]
            """,
            """
            class M(nn.Module):
                \"\"\"An LSTM policy.\"\"\"

                def __init__(self):
                    self.core = nn.LSTM(4, 8)  # the LSTM core

                def forward(self, x):
                    return self.core(x)[0]
            """,
        ),
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(4, 8)

                def forward(self, x, hidden):
                    \"\"\"x: (T, B, 4); hidden: the state, (1, B, 8).\"\"\"
                    return self.core(x, hidden)
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.LSTM(4, 8)

                def forward(self, x, hidden):
                    \"\"\"x: (T, B, 4); hidden: the state, (h, c), each (1, B, 8).\"\"\"
                    return self.core(x, hidden)
            """,
        ),
    )

    def apply(self, ctx, use) -> None:
        shapes = {} if ctx.packed else _state_words(ctx)
        scopes = list(ctx.modules.values()) + [n for n in ctx.parents if type(n) is cst.ClassDef or type(n) is cst.FunctionDef]
        for scope in scopes:
            if id(scope) not in ctx.plan.prose_scopes:
                continue
            body = scope.body if isinstance(scope, cst.Module) else scope.body.body
            if not body or not isinstance(body[0], cst.SimpleStatementLine):
                continue
            first = body[0].body[0]
            if isinstance(first, cst.Expr) and isinstance(first.value, cst.SimpleString):
                original = first.value.value
                words = shapes.get(id(scope))
                text = pair_shapes(original, words) if words else original
                if text != original:
                    ctx.edit_expression(first.value, lambda updated, mapping, words=words: updated.with_changes(value=pair_shapes(updated.value, words)))
                if lstm_prose(text) != original:
                    ctx.plan.docstrings.add(id(first.value))
                    start = ctx.line(first.value)
                    changed = zip(lstm_prose(text).splitlines(), original.splitlines())  # pair_shapes keeps the lines
                    lines = {start + i for i, (after, before) in enumerate(changed) if after != before}
                    ctx.outcome(first.value).steps.setdefault("docs", set()).update(lines)
        for node in ctx.parents:
            if type(node) is cst.Comment and lstm_prose(node.value) != node.value:  # children.py: why `type`
                if _in_touched_scope(ctx, node):
                    positioned = ctx.positioned(node)
                    ctx.outcome(positioned).steps.setdefault("docs", set()).add(ctx.line(positioned))
