"""Line and column of nodes: LibCST's `PositionProvider` figures, at about a third of its cost.

The provider generates the module's code again, splitting every token with a regular expression
and making a `CodeRange` (two frozen dataclasses) for each node, keyed by the node (whose hash is
a Python call). Here the same code generation records plain tuples keyed by `id`, skips the split
for tokens without a line break, and makes a `CodeRange` only for the nodes asked about.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

import libcst as cst
from libcst.metadata import CodePosition, CodeRange
from libcst.metadata.position_provider import PositionProvidingCodegenState


class Positions:
    """node -> CodeRange (as `PositionProvider` gives it) for the nodes of one module."""

    def __init__(self, module: cst.Module) -> None:
        self.spans: dict = {}  # id(node) -> (start line, start column, end line, end column)
        state = _Recorder(default_indent=module.default_indent, default_newline=module.default_newline, provider=None)
        state.spans = self.spans
        module._codegen(state)

    def __contains__(self, node: cst.CSTNode) -> bool:
        return id(node) in self.spans

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        start_line, start_column, end_line, end_column = self.spans[id(node)]
        return CodeRange(CodePosition(start_line, start_column), CodePosition(end_line, end_column))


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

    @contextmanager
    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node: Optional[cst.CSTNode] = None, end_node: Optional[cst.CSTNode] = None
    ) -> Iterator[None]:
        start = (self.line, self.column)
        try:
            yield
        finally:
            end = (self.line, self.column)
            if start_node is not None:
                start = self.spans[id(start_node)][:2]
            if end_node is not None:
                end = self.spans[id(end_node)][2:]
            self.spans[id(node)] = (*start, *end)
