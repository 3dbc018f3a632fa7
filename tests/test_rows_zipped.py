"""Rows of a state tensor taken apart by an iterating builtin (`zip(h, dones)`, `enumerate(h)`):
in the tuple form the pair (h, c) would be zipped by its two halves (exit 0, then a crash), so it is
a finding there, as `for row in h` is; the packed form takes the rows of [h|c] and migrates."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def initial(self, n):
            return torch.zeros(n, 8)

        def forward(self, x, h, done):
            rows = []
            for LOOP:
                rows.append(row * (1 - d))
            h = torch.stack(rows)
            h = self.cell(x, h)
            return self.pi(h), h


    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = agent.initial(3)
    done = torch.zeros(3)
    loss = 0
    for t in range(5):
        y, h = agent(torch.randn(3, 4), h, done)
        loss = loss + y.sum()
        done = (torch.rand(3) < 0.3).float()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

LOOPS = [
    ("row, d in zip(h, done)", 27),
    ("d, row in zip(done, h)", 33),
    ("i, row in enumerate(h)", 33),
]


@pytest.mark.parametrize("loop, column", LOOPS)
def test_tuple_rows_zipped_are_refused(tmp_path, capsys, loop, column):
    agent = AGENT.replace("LOOP", loop).replace("(1 - d)", "(1 - done[i])" if "enumerate" in loop else "(1 - d)")
    write(tmp_path, {"agent.py": agent, "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:16:{column}: G2L100 the hidden state `h` is taken apart by its rows here; the LSTM's state is "
        "the pair (h, c), which would be taken apart by its two halves; use its rows by index (`for i in range(len(...))`) "
        "or use --state packed"
    ) in capsys.readouterr().out
    assert (tmp_path / "agent.py").read_text() == before


@pytest.mark.parametrize("form", ["packed", "auto"])
def test_packed_rows_zipped_migrate(tmp_path, form):
    write(tmp_path, {"agent.py": AGENT.replace("LOOP", "row, d in zip(h, done)"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")


# the same rows taken in one expression, or of a state only a cell makes (no allocation: `initial` gives None)
TAKEN = [
    ("        h = torch.stack([row * (1 - d) for row, d in zip(h, done)])\n", 15, 58),
    ("        h = torch.stack([r * (1 - d) for r, d in zip(list(h), done)])\n", 15, 59),
    ("        h = torch.stack([r for _, r in sorted(enumerate(h), key=lambda p: p[0])]) * (1 - done[:, None])\n", 15, 57),
]
LOOP_BLOCK = """\
            rows = []
            for LOOP:
                rows.append(row * (1 - d))
            h = torch.stack(rows)
"""


@pytest.mark.parametrize("taken, line, column", TAKEN)
def test_tuple_rows_taken_in_one_expression_are_refused(tmp_path, capsys, taken, line, column):
    write(tmp_path, {"agent.py": AGENT.replace(LOOP_BLOCK, "    " + taken), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'agent.py'}:{line}:{column}: G2L100 the hidden state `h` is taken apart by its rows here;" in out
    assert out.count("G2L100") == 1  # one finding, not one per builtin


def test_tuple_rows_of_a_state_a_cell_made_are_refused(tmp_path, capsys):
    agent = AGENT.replace("return torch.zeros(n, 8)", "return None").replace(
        "        def forward(self, x, h, done):\n", "        def forward(self, x, h, done):\n            h = self.cell(x, h)\n"
    ).replace("            h = self.cell(x, h)\n            return", "            return").replace("LOOP", "row, d in zip(h, done)")
    write(tmp_path, {"agent.py": agent, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert f"{tmp_path / 'agent.py'}:17:27: G2L100 the hidden state `h` is taken apart by its rows here;" in capsys.readouterr().out


def test_tuple_rows_mapped_are_one_finding(tmp_path, capsys):
    # map() is StateIterated's already: the same place is not reported twice
    mapped = "        h = torch.stack(list(map(lambda row, d: row * (1 - d), h, done)))\n"
    write(tmp_path, {"agent.py": AGENT.replace(LOOP_BLOCK, "    " + mapped), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'agent.py'}:15:64: G2L100 the hidden state `h` is iterated by `map()` by its rows;" in out
    assert out.count("G2L100") == 1
