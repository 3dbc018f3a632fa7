"""Migrate one module's source from nn.GRU to nn.LSTM: the single entry point of the engine."""

from __future__ import annotations

from gru2lstm.options import Options
from gru2lstm.results import Migration


class SourceError(Exception):
    """The source cannot be parsed; nothing can be said about it."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(f"{line}:{column}: {message}")
        self.line = line
        self.column = column
        self.message = message


def migrate_source(source: str, options: Options = Options()) -> Migration:
    """Return the migrated source and what each step did. Never raises but SourceError."""
    raise NotImplementedError  # being written; see docs/rules.md for the contract
