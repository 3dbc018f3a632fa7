"""Red team, wave 18 (aimed at the code of session 30): what today's widenings let through, each
case migrated and run, or refused with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

FORMS = ("tuple", "packed", "auto")

# ------------------------------------------- the whole tensor swapped through `.data`
# Rows written through `.data` are rows of the state (session 30); `self.h.data = V` swaps the
# whole tensor's storage. It was read as a field of the state: the packed form wrote
# `self.h.data = self.h.chunk(2, dim=-1)[0].data.clamp(-1, 1)` (h's chunk over the pair: exit 0,
# then a crash at the next step), the tuple form failed its own LSTM check (exit 123).
DATA_SWAP_AGENT = """\
    import torch
    import torch.nn as nn


    class Actor(nn.Module):
        def __init__(self, n=3):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            self.h = torch.zeros(n, 8)

        def end_episodes(self, done):
            self.h.data[done] = 0.0

        def squash(self):
            self.h.data = self.h.data.clamp(-1, 1)

        def forward(self, obs):
            self.h = self.cell(obs, self.h.detach())
            return self.pi(self.h)
"""

DRIVE_DATA_SWAP = """\
    import torch
    from agent import Actor

    actor = Actor()
    for t in range(4):
        loss = actor(torch.randn(3, 4)).pow(2).mean()
        loss.backward()
        actor.squash()
        actor.end_episodes(torch.tensor([t == 1, False, True]))
"""


@pytest.mark.parametrize("form", FORMS)
def test_the_state_replaced_whole_through_data_is_refused(tmp_path, capsys, form):
    write(tmp_path, {"agent.py": DATA_SWAP_AGENT, "driver.py": DRIVE_DATA_SWAP, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:16:9: G2L100 the hidden state `self.h` is replaced whole by `self.h.data = ...`, "
        "which the rewrite does not split per half; migrate this use by hand so that it handles the pair (h, c)"
    ) in capsys.readouterr().out


@pytest.mark.parametrize("form", FORMS)
def test_rows_of_the_state_written_through_data_still_migrate(tmp_path, form):
    agent = DATA_SWAP_AGENT.replace("self.h.data = self.h.data.clamp(-1, 1)", "self.h.data.clamp_(-1, 1)")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_DATA_SWAP, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


# ------------------------------------------- positions of a layer's result kept whole
# `return self.gru(x, h)` (migrated as it is since session 30) read by position through the
# method's call (`self.core(x, h)[1]`), or the result kept in a name (`res[0]`, `res[1]`): the
# position was read as a slice of one tensor, so the tuple form wrote `self.core(x, h)[0][0]` (h fed
# the head as the output) and `tuple(half[1] for half in ...)`, the packed form `.chunk(2, dim=-1)[0][0]`
# of the output (exit 0, a crash at the first step).
CORE = """\
    import torch
    import torch.nn as nn


    class Core(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8, batch_first=True)

        def forward(self, x, h):
            return self.gru(x, h)


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = Core()
            self.v = nn.Linear(8, 1)

        def value(self, x, h):
            out = self.core(x, h)[0]
            return self.v(out[:, -1])

        def advance(self, x, h):
            return self.core(x, h)[1]
"""

BOTH = """\

        def both(self, x, h):
            res = self.core.gru(x, h)
            return self.v(res[0][:, -1]), res[1]
"""

DRIVE_CORE = """\
    import torch
    from model import Agent

    agent = Agent()
    h = torch.zeros(1, 2, 8)
    loss = 0
    for t in range(4):
        x = torch.randn(2, 1, 4)
        loss = loss + agent.value(x, h).pow(2).mean()
        h = agent.advance(x, h)
        if t == 1:
            h = torch.zeros(1, 2, 8)
    loss.backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_positions_of_a_layer_result_kept_whole(tmp_path, form):
    write(tmp_path, {"model.py": CORE, "driver.py": DRIVE_CORE, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "model.py").read_text()
    assert "out = self.core(x, h)[0]\n" in text
    assert "return self.core(x, h)[1]\n" in text
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("form", ("tuple", "auto"))
def test_positions_of_a_layer_result_kept_in_a_name(tmp_path, form):
    driver = DRIVE_CORE.replace("h = agent.advance(x, h)", "v, h = agent.both(x, h)")
    write(tmp_path, {"model.py": CORE + BOTH, "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "return self.v(res[0][:, -1]), res[1]\n" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import driver")


# ------------------------------------------- a dict of states beside a value read by its key
# A read by a key not written out makes each value of a dict display a state (session 30); a mask
# kept beside the states and read by its key (`self.mem["alive"]`) was doubled as well (packed:
# `torch.ones(1, n, 2 * 1)`, exit 0, then a crash). Not taking such values for states leaves a
# state read by its key one tensor, so both are refused.
MASKED_MEMORY = """\
    import torch
    import torch.nn as nn


    class ActorCritic(nn.Module):
        def __init__(self, n=3):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.heads = nn.ModuleDict({"actor": nn.Linear(8, 2), "critic": nn.Linear(8, 1)})
            self.mem = {"actor": torch.zeros(1, n, 8), "critic": torch.zeros(1, n, 8), "alive": torch.ones(1, n, 1)}

        def end(self, done):
            self.mem["alive"].copy_((1.0 - done.float()).view(1, -1, 1))

        def forward(self, role, obs):
            h = self.mem[role] * self.mem["alive"]
            out, h = self.gru(obs.unsqueeze(0), h.detach())
            self.mem[role] = h
            return self.heads[role](out[0])
"""

DRIVE_MASKED_MEMORY = """\
    import torch
    from agent import ActorCritic

    net = ActorCritic()
    for t in range(4):
        loss = sum(net(role, torch.randn(3, 4)).pow(2).mean() for role in ("actor", "critic"))
        loss.backward()
        net.end(torch.tensor([t == 1, False, True]))
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_value_read_by_its_key_beside_states_read_by_any_key_is_refused(tmp_path, capsys, form):
    write(tmp_path, {"agent.py": MASKED_MEMORY, "driver.py": DRIVE_MASKED_MEMORY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:16:13: G2L101 `self.mem` is read with `role` as its key, so each value it holds is "
        "taken as a hidden state, but key `'alive'` is also read by name elsewhere, and the engine cannot tell whether "
        "it holds one; keep the hidden states in a container of their own"
    ) in capsys.readouterr().out


def test_a_state_read_by_its_key_beside_reads_by_any_key_is_refused(tmp_path, capsys):
    # taking only the values read by any key for states would leave `mem["actor"]` one tensor
    agent = MASKED_MEMORY.replace(', "alive": torch.ones(1, n, 1)}', "}").replace(' * self.mem["alive"]', "")
    agent = agent.replace('self.mem["alive"].copy_((1.0 - done.float()).view(1, -1, 1))', 'self.mem["actor"][:, done] = 0.0')
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_MASKED_MEMORY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert "but key `'actor'` is also read by name elsewhere" in capsys.readouterr().out
