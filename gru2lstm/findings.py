"""Findings: what the engine reports instead of guessing, and the one way to make one (`new_finding`).

Every code lives in CODES, with its severity and the sentence the docs show (the text, JSON and
SARIF reports take it from here). A test keeps the codes distinct and documented.

A finding can be *suppressed* by a `# gru2lstm: ignore[CODE]` comment on its line
(suppression.py): it is still reported (with --verbose, and in JSON and SARIF marked so) but it
no longer blocks the write.
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
    "G2L106": (ERROR, "a line is marked `# gru2lstm: manual`: it needs a person until the marker is removed"),
    "G2L107": (ERROR, "code takes the GRU's gate-stacked parameters apart by its 3 gates; the LSTM has 4 (i, f, g, o)"),
    "G2L200": (INFO, "the recurrent module is already an LSTM"),
    "G2L201": (INFO, "a class named GRU that is not torch.nn.GRU; left alone"),
    "G2L202": (WARNING, "interface change: a function with no caller in the files analysed now takes or returns (h, c)"),
    "G2L203": (WARNING, "parameters loaded from a file: a checkpoint of the GRU will not load into the LSTM"),
}

# What to do about each code: the help of SARIF's rules (and of any report that explains a code).
HELP: dict[str, str] = {
    "G2L100": "Migrate this use by hand so that it holds the pair (h, c), or give the engine a form it "
    "knows (see docs/rules.md). If the code is right as it stands, `# gru2lstm: ignore[G2L100]`.",
    "G2L101": "Give the file that defines the function in the same run, so the state is followed into "
    "it, or make that function take the pair (h, c) by hand. If it should get the state as it is, "
    "`# gru2lstm: ignore[G2L101]`.",
    "G2L102": "Use one name for the hidden state and another for the other value, then run again.",
    "G2L103": "Rename the variable or attribute that already has the name the cell-state partner "
    "would get (the message names it), then run again.",
    "G2L104": "Unpack the result where it is made (`out, hidden = ...`), then run again.",
    "G2L105": "Resolve the findings of the file named in the message; the files that share the state "
    "are migrated together, or not at all.",
    "G2L106": "--allow-partial left this use for a person. Migrate it to the pair (h, c) by hand, then "
    "remove the `# gru2lstm: manual` comment.",
    "G2L107": "Rewrite the code for the LSTM's gates by hand (rows i, f, g, o, each `hidden_size` long, where the "
    "GRU had r, z, n), then run again; if it is right for both, `# gru2lstm: ignore[G2L107]`.",
    "G2L200": "Nothing to do: the module is already an LSTM.",
    "G2L201": "Nothing to do: this `GRU` is not torch.nn.GRU, so it is left alone.",
    "G2L203": "Nothing to change in the code; checkpoints saved by the GRU program must be trained again or "
    "converted by hand (the LSTM has 4 gates where the GRU had 3). `# gru2lstm: ignore[G2L203]` silences it.",
    "G2L202": "Give every file that calls this function in the same run (a folder, or the project root) so "
    "its callers are migrated with it; if it is called only from outside the project, they must pass "
    "and take the pair (h, c).",
}


@dataclass(frozen=True)
class Finding:
    """One thing the engine noticed at a place in a file."""

    line: int
    column: int
    code: str
    message: str
    suppressed: bool = False  # by a `# gru2lstm: ignore` comment on its line
    # About how this file makes a GRU (`nn.GRU` under a name the engine does not follow): no other
    # file analysed with it can change it, so it never asks for a wider group (engine.py).
    local: bool = False

    @property
    def severity(self) -> str:
        return CODES[self.code][0]

    @property
    def blocks_write(self) -> bool:
        return self.severity == ERROR and not self.suppressed


def new_finding(code: str, message: str, line: int = 1, column: int = 1, local: bool = False) -> Finding:
    """The one constructor of findings: of a code CODES documents (an unknown one fails here, not
    in a report), at a line and a column counted from 1; 1:1 when it concerns the whole file."""
    if code not in CODES:
        raise ValueError(f"finding code {code} is not in findings.CODES")
    return Finding(line, column, code, message, local=local)


def uncalled_module_message(made: str, callers: str = "") -> str:
    """What a GRU none of whose calls was analysed says (boundary.py); `callers`: who calls it and
    what to do, when the project's files that use what holds it are known (project.py, which must
    not import LibCST: the parent process of a big run never does, engine.py)."""
    return f"`{made}` is made here, but none of its calls is in the files analysed: " + (callers or (
        "the code that calls it (another file, a library) would still pass one tensor as its state and take one back; "
        "give the files that call it in the same run"
    ))
