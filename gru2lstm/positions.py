"""LibCST's code generation as run here: line and column of nodes (LibCST's `PositionProvider`
figures, at about a third of its cost; for a big module computed ahead by a forked child while
the module is analysed, `positions_ahead`), and a module's code (`code_of`).

The provider generates the module's code again, splitting every token with a regular expression
and making a `CodeRange` (two frozen dataclasses) for each node, keyed by the node (whose hash is
a Python call). Here the same code generation records plain tuples keyed by `id`, skips the split
for tokens without a line break, and makes a `CodeRange` only for the nodes asked about.
"""

from __future__ import annotations

from typing import Callable, Optional

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange
from libcst.metadata.position_provider import PositionProvidingCodegenState

from gru2lstm import ahead


class Positions:
    """node -> CodeRange (as `PositionProvider` gives it) for the nodes of one module."""

    def __init__(self, module: cst.Module, spans: Optional[dict] = None) -> None:
        """`spans`: those a child process computed for this very module (`positions_ahead`)."""
        if spans is not None:
            self.spans = spans
            return
        self.spans = {}  # id(node) -> (start line, start column, end line, end column)
        state = _Recorder(default_indent=module.default_indent, default_newline=module.default_newline, provider=None)
        state.spans = self.spans
        module._codegen(state)

    def __contains__(self, node: cst.CSTNode) -> bool:
        return id(node) in self.spans

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        start_line, start_column, end_line, end_column = self.spans[id(node)]
        return CodeRange(CodePosition(start_line, start_column), CodePosition(end_line, end_column))


def positions_ahead(module: cst.Module) -> Callable[[], Positions]:
    """A function that gives the module's Positions. For a big module, when a core is spare, a
    forked child computes them from now on, while this process goes on analysing the module
    (ahead.py: the child shares the tree, and so every node's `id`). Anything wrong with the
    child: computed here, as for a small module."""
    if _statements(module) < AHEAD_STATEMENTS or not ahead.spare_core():
        return lambda: Positions(module)
    spans = ahead.computed_ahead(lambda: Positions(module).spans)
    if spans is None:
        return lambda: Positions(module)

    def received() -> Positions:
        sent = spans()
        return Positions(module, sent) if sent is not None else Positions(module)

    return received


# About the size from which a child pays: its fork and the transfer cost ≈ 0.1 s, where the
# positions of a 14,000-line module (≈ 1,200 statements counted by `_statements`) cost ≈ 0.45 s.
AHEAD_STATEMENTS = 600


def _statements(module: cst.Module) -> int:
    """The module's statements and those of their bodies (a class's methods): a cheap size."""
    inner = (len(getattr(getattr(statement, "body", None), "body", ())) for statement in module.body)
    return len(module.body) + sum(inner)


def code_of(module: cst.Module) -> str:
    """`module.code`, without LibCST's generator-based context at every node (`_NoSpan`)."""
    state = _Generator(default_indent=module.default_indent, default_newline=module.default_newline)
    module._codegen(state)
    return "".join(state.tokens)


class _Generator(CodegenState):
    def record_syntactic_position(self, node: cst.CSTNode, **_) -> "_NoSpan":
        return _NO_SPAN


class _NoSpan:
    __slots__ = ()

    def __enter__(self) -> None:
        pass

    def __exit__(self, *_) -> None:
        pass


_NO_SPAN = _NoSpan()


class _Recorder(PositionProvidingCodegenState):
    """PositionProvidingCodegenState's rules, recording tuples into `spans` (set after init:
    the state is a slotted dataclass, so `spans` lives in an instance dict of this subclass)."""

    def _update_position(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            super()._update_position(value)
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        if id(node) not in self.spans:  # a syntactic position recorded inside wins
            self.spans[id(node)] = (*start, self.line, self.column)

    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node: Optional[cst.CSTNode] = None, end_node: Optional[cst.CSTNode] = None
    ) -> "_Span":
        return _Span(self, node, start_node, end_node)


class _Span:
    """The context of one `record_syntactic_position`: an object, not a generator (LibCST's
    `@contextmanager`), which costs about a sixth of the code generation, called for every node."""

    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(self, state: _Recorder, node: cst.CSTNode, start_node: Optional[cst.CSTNode], end_node: Optional[cst.CSTNode]) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(self, *_) -> None:
        spans = self.state.spans
        start = self.start if self.start_node is None else spans[id(self.start_node)][:2]
        end = (self.state.line, self.state.column) if self.end_node is None else spans[id(self.end_node)][2:]
        spans[id(self.node)] = (*start, *end)
