"""Issue 13, session 39 (offsets): a table of zeros added to the state that something changes once
made, and a read of the packed state's last size used as a number (repros in /work/scratch/offsets/).
A migration is run (its LSTM gets a pair with a non-zero c, the training step runs); a refusal is
checked for its code, place and that nothing is written."""

from __future__ import annotations

import re
import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_left13 import _refused
from tests.test_redteam_packed import run_migrated, write

FORMS = ["tuple", "packed"]

TABLE = """\
    import torch
    import torch.nn as nn


    def fill_table(t):
        t.uniform_()


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            MADE

        def forward(self, x, h, ids):
            h = h + self.table[ids]
            h = self.cell(x, h)
            return self.pi(h), h


    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = torch.zeros(3, 8)
    ids = torch.tensor([0, 1, 2])
    for step in range(3):
        y, h = agent(torch.randn(3, 4), h, ids)
        opt.zero_grad(); y.sum().backward(); opt.step()
        h = h.detach()
"""


def _table(made: str) -> str:
    return TABLE.replace("MADE", made.replace("\n", "\n            "))


# 1. a table of zeros added to the state is zeros only when nothing changes it once made
CHANGED = [
    ("self.table = torch.zeros(10, 8)\nself.table.fill_(0.5)", "self.table.fill_(0.5)"),
    ("self.table = torch.zeros(10, 8)\nself.table += 0.5", "self.table += 0.5"),
    ("self.table = torch.zeros(10, 8)\nself.table[1] = 1.0", "self.table[1] = 1.0"),
    ("self.table = torch.zeros(10, 8)\nself.table.data[1] = 1.0", "self.table.data[1] = 1.0"),
    ("self.table = torch.zeros(10, 8)\nself.table.data.normal_()", "self.table.data.normal_()"),
    ("self.table = torch.zeros(10, 8)\nnn.init.normal_(self.table)", "nn.init.normal_(self.table)"),
    ("self.table = torch.zeros(10, 8)\nt = self.table\nt.add_(1.0)", "t.add_(1.0)"),
    ("self.table = torch.zeros(10, 8)\nfill_table(self.table)", "t.uniform_()"),
    ("self.table = torch.zeros(10, 8).requires_grad_()\nself.topt = torch.optim.SGD([self.table], lr=1.0)", "torch.optim.SGD([self.table], lr=1.0)"),
    ("self.table = torch.zeros(10, 8, requires_grad=True)", "torch.zeros(10, 8, requires_grad=True)"),
]


@pytest.mark.parametrize("made, change", CHANGED)
def test_a_table_of_zeros_changed_once_made_is_refused_where_it_is_added(tmp_path, capsys, made, change):
    # before: exit 0 in both forms; the table was paired (tuple) or doubled (packed), and c got the
    # offsets the GRU program added to h alone
    source = _table(made)
    line = textwrap.dedent(source).splitlines().index("        h = h + self.table[ids]") + 1
    first = _refused(tmp_path, capsys, "tuple", {"agent.py": source}, f"{line}:13: G2L100 ")
    assert f"`h + self.table[ids]` adds `self.table[ids]`, which is not a hidden state, to the hidden state; `self.table` is made of zeros, but `{change}` (line " in first
    assert "so it may hold offsets the GRU program added to h alone; with (h, c) the engine would do the same to c as to h" in first
    first = _refused(tmp_path, capsys, "packed", {"agent.py": source}, f"{line}:13: G2L100 ")
    assert "`h + self.table[ids]` combines the hidden state with `self.table[ids]`, an allocation of the hidden size `8`" in first


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("made", [
    "self.table = torch.zeros(10, 8)",
    "self.table = torch.zeros(10, 8)\nself.table = self.table.to('cpu')",
    "self.table = torch.zeros(10, 8)\nprint(self.table.sum(), self.table.shape)",
])
def test_a_table_of_zeros_nothing_changes_is_migrated(tmp_path, form, made):
    # zeros added to h leave c as they leave h: the table is paired (tuple) or doubled (packed)
    write(tmp_path, {"agent.py": _table(made), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")


# 2. a read of the state's last size used as a number
SCALED = """\
    import math
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h


    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = torch.randn(3, 8)
    SCALE
    for step in range(3):
        y, h = agent(torch.randn(3, 4), h)
        opt.zero_grad(); y.sum().backward(); opt.step()
        h = h.detach()
"""
SCALES = [
    ("h = h / h.shape[-1] ** 0.5", "h.shape[-1]", "the last size of the packed state, which is twice the hidden size now"),
    ("h = h / h.size(-1) ** 0.5", "h.size(-1)", "the last size of the packed state, which is twice the hidden size now"),
    ("h = h / h.size(1) ** 0.5", "h.size(1)", "the last size of the packed state, which is twice the hidden size now"),
    ("h = h * (1.0 / h.shape[-1])", "h.shape[-1]", "the last size of the packed state, which is twice the hidden size now"),
    ("h = h / h.numel()", "h.numel()", "the number of elements of the packed state, twice the GRU state's now"),
]


@pytest.mark.parametrize("scale, read, what", SCALES)
def test_a_last_size_of_the_packed_state_used_as_a_number_is_refused(tmp_path, capsys, scale, read, what):
    # before: exit 0, h scaled by the packed width (1/sqrt(16) where the GRU program took 1/sqrt(8))
    source = SCALED.replace("SCALE", scale)
    line = textwrap.dedent(source).splitlines().index(scale) + 1
    column = scale.index(read) + 1
    first = _refused(tmp_path, capsys, "packed", {"agent.py": source}, f"{line}:{column}: G2L100 ")
    assert first.endswith(
        f"`{read}` reads {what}, and it is used here for something that is no state, which took the hidden size; "
        "read the hidden size from the module (`hidden_size`), or use --state tuple"
    )


@pytest.mark.parametrize("scale", [scale for scale, _, _ in SCALES])
def test_a_last_size_of_the_state_used_as_a_number_is_read_per_half_in_the_tuple_form(tmp_path, scale):
    # before: exit 123 for `h.shape[-1]` (`h.shape` of the pair) and a finding for `h.numel()`
    write(tmp_path, {"agent.py": SCALED.replace("SCALE", scale), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    text = (tmp_path / "agent.py").read_text()
    halves = [re.sub(r"\bh\b", f"h[{half}]", scale.partition(" = ")[2]) for half in (0, 1)]
    assert f"h = ({halves[0]}, {halves[1]})" in text
    run_migrated(tmp_path, "import agent")
