"""Findings: what the engine reports instead of guessing.

Every code lives in CODES, with its severity and the sentence the docs show. A test keeps the
codes distinct and documented.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"  # the file is not written (unless --allow-partial)
WARNING = "warning"  # a person should look; the file is still written
INFO = "info"  # said for the record; never blocks a write

CODES: dict[str, tuple[str, str]] = {
    "G2L100": (ERROR, "the hidden state is used in a way the engine does not understand"),
    "G2L101": (ERROR, "the hidden state is passed to a function the engine cannot follow"),
    "G2L102": (ERROR, "a name holds the hidden state and, elsewhere, something else"),
    "G2L103": (ERROR, "a name for the cell-state partner is already taken"),
    "G2L104": (ERROR, "a result that holds the hidden state is used without being unpacked"),
    "G2L105": (ERROR, "not migrated: a file that shares hidden states with this one needs attention"),
    "G2L200": (INFO, "the recurrent module is already an LSTM"),
    "G2L201": (INFO, "a class named GRU that is not torch.nn.GRU; left alone"),
    "G2L202": (WARNING, "interface change: a function with no caller in the files analysed now takes or returns (h, c)"),
}


@dataclass(frozen=True)
class Finding:
    """One thing the engine noticed at a place in a file."""

    line: int
    column: int
    code: str
    message: str

    @property
    def severity(self) -> str:
        return CODES[self.code][0]

    @property
    def blocks_write(self) -> bool:
        return self.severity == ERROR
