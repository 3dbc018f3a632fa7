"""Session 37, packed31: what the packed form combined with the state without knowing it.

A list whose positions are not known (made by `reversed()`, `sorted()`, `list()` of a display, a
display sliced `[0, zeros][::-1]`) kept the positions written: `h, t = parts` took the number for
the state and the state for the number (exit 0, then a crash in both forms). An operand whose width
the engine cannot tell (an allocation sized by `self.core.hidden_size` or `out.size(-1)`, an
attribute that nothing it follows sets) was trusted to broadcast against the packed state (exit 0,
then a broadcast error). Each migrates and runs now, or is refused where it is, with nothing written."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write
from tests.test_reordered_lists import AGENT

UNORDERED = [
    "parts = list(reversed([0, torch.zeros(n, 8)]))",
    "parts = reversed([0, torch.zeros(n, 8)])",
    "parts = [0, torch.zeros(n, 8)]; parts = list(reversed(parts))",
    "parts = sorted([0, torch.zeros(n, 8)], key=lambda p: isinstance(p, int))",
    "parts = [0, torch.zeros(n, 8)][::-1]",
    "parts = (0, torch.zeros(n, 8))[::-1]",
]


@pytest.mark.parametrize("parts", UNORDERED)
def test_packed_a_list_in_an_order_not_known_migrates_and_runs(tmp_path, parts):
    write(tmp_path, {"agent.py": AGENT.replace("PARTS", parts), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "torch.zeros(n, 2 * 8)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")


@pytest.mark.parametrize("parts", UNORDERED)
def test_tuple_a_list_in_an_order_not_known_is_refused(tmp_path, capsys, parts):
    # either item may be the state: `h` and `t` each receive both
    write(tmp_path, {"agent.py": AGENT.replace("PARTS", parts), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert ":20:" in capsys.readouterr().out  # the line that makes the parts
    assert (tmp_path / "agent.py").read_text() == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_tuple_display_reversed_among_other_values_is_refused(tmp_path, capsys, form):
    write(tmp_path, {"agent.py": AGENT.replace("PARTS", "parts = tuple(reversed((0, torch.zeros(n, 8))))"), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "agent.py:20:33: G2L101 `(0, torch.zeros(n, 8))` is iterated by `reversed()`" in out
    assert (tmp_path / "agent.py").read_text() == before


UNPACKED = """\
    import torch
    import torch.nn as nn

    core = nn.GRUCell(4, 8)
    h, t = [0, torch.zeros(3, 8)][::-1]
    for step in range(3):
        h = core(torch.randn(3, 4), h)
    h.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_sliced_display_unpacked_is_refused(tmp_path, capsys, form):
    write(tmp_path, {"run.py": UNPACKED, "pyproject.toml": ""})
    before = (tmp_path / "run.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert "run.py:5:1: G2L102 `h` holds the hidden state elsewhere" in capsys.readouterr().out
    assert (tmp_path / "run.py").read_text() == before


AGENT_WITH = """\
    import torch
    import torch.nn as nn


    class Config:
        def __init__(self):
            self.scale = torch.full((4,), 0.9)


    class Agent(nn.Module):
        def __init__(self, cfg, hidden=4):
            super().__init__()
            self.hidden = hidden
            self.scale = cfg.scale
            self.core = nn.GRU(3, hidden)
            self.pi = nn.Linear(hidden, 2)

        def forward(self, x, h):
            out, h = self.core(x, h)
            OPERATION
            return self.pi(out), h


    agent = Agent(Config())
    h = torch.zeros(1, 2, 4)
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    loss = 0
    for step in range(3):
        y, h = agent(torch.randn(1, 2, 3), h)
        loss = loss + y.sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

NOT_LINED_UP = [
    ("h.add_(torch.randn(1, x.size(1), self.core.hidden_size) * 0.01)", "made with its last size `self.core.hidden_size`"),
    ("h = h + torch.randn(1, x.size(1), out.size(-1))", "made with its last size `out.size(-1)`"),
    ("h = h * torch.ones(out.shape)", "made with its last size `out.shape`"),
    ("h = h * torch.ones(self.hidden).expand(1, 2, -1)", "an allocation of the hidden size"),
    ("h = h * self.scale", "which nothing the engine follows sets"),
    ("h = h * torch.stack([torch.ones(4), torch.zeros(4)])", "an allocation of the hidden size"),
]


@pytest.mark.parametrize("operation, why", NOT_LINED_UP)
def test_packed_an_operand_whose_width_is_not_known_is_refused(tmp_path, capsys, operation, why):
    # each was exit 0, then "The size of tensor a (8) must match the size of tensor b (4)"
    write(tmp_path, {"agent.py": AGENT_WITH.replace("OPERATION", operation), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "agent.py:20:" in out and "G2L100" in out and why in out
    assert (tmp_path / "agent.py").read_text() == before


@pytest.mark.parametrize("operation", [operation for operation, _ in NOT_LINED_UP if "randn" not in operation])
def test_tuple_the_same_operands_migrate_and_run(tmp_path, operation):
    # each half gets the operand as h did: no width to tell (a draw is refused per half, as before)
    write(tmp_path, {"agent.py": AGENT_WITH.replace("OPERATION", operation), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")


@pytest.mark.parametrize("operation", [
    "h = h * torch.ones(h.shape)",
    "h = h + torch.zeros(h.size())",
    "h = h * torch.ones(1, x.size(1), 1)",
])
def test_packed_an_operand_sized_like_the_state_or_a_mask_migrates_and_runs(tmp_path, operation):
    write(tmp_path, {"agent.py": AGENT_WITH.replace("OPERATION", operation), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")
