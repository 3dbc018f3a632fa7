"""A state passed to a function's `*args`: each call binds the tuple `args` position by position,
and a record made from it (`Transition(*args)`, the replay memory of the DQN tutorials) gets its
fields in order. What `args` reaches is followed like any tuple: into code the engine cannot read,
it is refused."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

REPLAY = """\
    import random
    from collections import deque, namedtuple

    Step = namedtuple("Step", ("obs", "action", "hidden"))


    class Memory:
        def __init__(self, size):
            self.steps = deque(maxlen=size)

        def push(self, *args):
            self.steps.append(Step(*args))

        def sample(self, n):
            return Step(*zip(*random.sample(list(self.steps), n)))
"""

AGENT = """\
    import torch
    import torch.nn as nn

    from replay import Memory


    class Q(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(3, 5)
            self.out = nn.Linear(5, 2)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.out(h), h


    def main():
        torch.manual_seed(0)
        q, memory = Q(), Memory(50)
        opt = torch.optim.SGD(q.parameters(), 0.1)
        h = torch.zeros(1, 5)
        for t in range(12):
            obs = torch.randn(1, 3)
            with torch.no_grad():
                values, h_next = q(obs, h)
            memory.push(obs, int(values.argmax(1)), h)
            h = torch.zeros(1, 5) if t % 4 == 3 else h_next
        batch = memory.sample(6)
        values, _ = q(torch.cat(batch.obs), torch.cat(batch.hidden))
        opt.zero_grad()
        values.pow(2).mean().backward()
        opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_passed_to_star_args_reaches_the_record_made_from_them(tmp_path, form):
    # It was G2L101 "passed to `push()` beyond its parameters".
    write(tmp_path, {"pyproject.toml": "", "replay.py": REPLAY, "agent.py": AGENT})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent\nagent.main()\n")


def test_star_args_handed_to_code_the_engine_cannot_read_are_refused(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": "", "replay.py": REPLAY.replace("self.steps.append(Step(*args))", "self.steps.append(foreign.pack(*args))").replace(
        "import random\n", "import random\n\n    import foreign\n"), "agent.py": AGENT})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    said = capsys.readouterr()
    assert "replay.py:14:" in said.out + said.err and "G2L101" in said.out + said.err
    assert "nn.GRUCell" in (tmp_path / "agent.py").read_text()
