"""A list written out item by item keeps what each position holds (sequences.py) until something
moves its items: `.reverse()`, `.sort()`, `.insert(i, x)`, `.remove(x)`, `.pop(i)`. After one, the
positions no longer say which item is the state: the list is a sequence whose every item may be
one. (`parts.reverse(); h, t = parts` kept the positions written: packed exit 0, then a crash.)"""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# the initial state is found among other parts, whose order a list method changes
AGENT = """\
    from dataclasses import dataclass

    import torch
    import torch.nn as nn


    @dataclass
    class Memory:
        h: torch.Tensor
        t: int


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def initial(self, n):
            PARTS
            h, t = parts
            return Memory(h, t)

        def forward(self, x, mem):
            h = self.cell(x, mem.h)
            return self.pi(h), Memory(h, mem.t + 1)


    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    mem = agent.initial(3)
    loss = 0
    for t in range(5):
        y, mem = agent(torch.randn(3, 4), mem)
        loss = loss + y.sum()
        if t == 2:
            mem = agent.initial(3)
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

REORDERED = [
    "parts = [0, torch.zeros(n, 8)]; parts.reverse()",
    "parts = [0, torch.zeros(n, 8)]; parts.sort(key=lambda p: isinstance(p, int))",
    "parts = [0]; parts.insert(0, torch.zeros(n, 8))",
    "parts = [0, torch.zeros(n, 8), 0]; parts.pop(0)",
    "parts = [0, torch.zeros(n, 8), 0]; parts.remove(0)",
]


@pytest.mark.parametrize("parts", REORDERED)
def test_packed_the_state_is_found_at_any_position(tmp_path, parts):
    write(tmp_path, {"agent.py": AGENT.replace("PARTS", parts), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "torch.zeros(n, 2 * 8)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")


@pytest.mark.parametrize("parts", REORDERED)
def test_tuple_a_name_given_the_state_or_a_number_is_refused(tmp_path, capsys, parts):
    # either item may be the state: `h` and `t` each receive both, which the tuple form cannot write
    write(tmp_path, {"agent.py": AGENT.replace("PARTS", parts), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert "G2L102" in capsys.readouterr().out
    assert (tmp_path / "agent.py").read_text() == before


HISTORY = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, n_envs):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            self.history = []
            self.n_envs = n_envs

        def reset(self):
            self.history = []
            self.history.insert(0, torch.zeros(self.n_envs, 8))

        def act(self, x):
            h = self.cell(x, self.history[0])
            self.history.insert(0, h)
            del self.history[4:]
            return self.pi(h)


    torch.manual_seed(0)
    agent = Agent(3)
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    agent.reset()
    loss = 0
    for t in range(6):
        loss = loss + agent.act(torch.randn(3, 4)).sum()
        if t == 3:
            agent.reset()
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert len(agent.history) == 3
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_states_inserted_into_a_list_are_its_elements(tmp_path, form):
    # `.insert(0, h)` adds an element as `.append(h)` does (it was "passed to `.insert()`", G2L100)
    write(tmp_path, {"agent.py": HISTORY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "agent.py").read_text()
    expected = "self.history.insert(0, (h, c))" if form == "tuple" else "torch.zeros(self.n_envs, 2 * 8)"
    assert expected in text
    run_migrated(tmp_path, "import agent")
