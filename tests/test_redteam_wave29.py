"""Red team wave 29 (`/work/scratch/rt29`): styles not tried before, each migrated and run, or
refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

MODEL = """\
    import torch.nn as nn


    class DRQN(nn.Module):
        def __init__(self, obs=3, hidden=4, n_act=2):
            super().__init__()
            self.rnn = nn.GRU(obs, hidden)
            self.q = nn.Linear(hidden, n_act)

        def forward(self, obs, h):
            y, h = self.rnn(obs.unsqueeze(0), h)
            return self.q(y[0]), h
"""

# a replay of dataclass transitions whose `hidden` field a collate function batches
DATA = """\
    from dataclasses import dataclass

    import torch


    @dataclass
    class Transition:
        obs: torch.Tensor
        reward: float
        hidden: torch.Tensor


    def collate(batch):
        obs = torch.stack([t.obs for t in batch])
        hidden = torch.cat([t.hidden for t in batch], dim=1)
        reward = torch.tensor([t.reward for t in batch])
        return obs, hidden, reward
"""

# the script unpacks the batch at module level, where a name cannot grow a partner
DRIVER = """\
    import torch

    from data import Transition, collate
    from model import DRQN

    net = DRQN()
    h = torch.zeros(1, 1, 4)
    buffer = []
    for t in range(6):
        obs = torch.randn(1, 3)
        with torch.no_grad():
            q, h_new = net(obs, h)
        buffer.append(Transition(obs=obs[0], reward=1.0, hidden=h))
        h = h_new if t != 3 else torch.zeros(1, 1, 4)
    {unpack}
    q, _ = net(obs, hidden)
    loss = (q.max(-1).values - reward).pow(2).mean()
    loss.backward()
"""

UNPACKINGS = [
    "obs, hidden, reward = collate(buffer[:4])",
    "class Batch:\n    pass\nbatch = Batch()\nobs, batch.hidden, reward = collate(buffer[:4])\nhidden = batch.hidden",
]


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("unpack", UNPACKINGS)
def test_a_batch_of_stored_states_returned_to_a_module_level_unpacking_migrates_and_runs(tmp_path, form, unpack):
    # tuple form: G2L104 "`hidden` receives a batched hidden state in a form the engine cannot
    # extend; unpack it into plain names" although it was one; the return now gives the pair
    driver = DRIVER.replace("    {unpack}\n", "".join(f"    {line}\n" for line in unpack.splitlines()))
    write(tmp_path, {"model.py": MODEL, "data.py": DATA, "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


CORE = """\
    import torch.nn as nn


    class Core(nn.Module):
        def __init__(self, obs=3, hidden=4):
            super().__init__()
            self.gru = nn.GRU(obs, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.hidden = hidden

        def forward(self, x, h):
            y, h = self.gru(x.unsqueeze(0), h)
            return self.pi(y[0]), h
"""

# each environment's state kept apart, None until it starts; joined by a comprehension written in
# the call, whose element is a state or a fresh one
MEMORIES = """\
    import torch

    from model import Core

    N = 3
    core = Core()
    memories = [None] * N
    outs = []
    for t in range(4):
        h = torch.cat([m if m is not None else torch.zeros(1, 1, core.hidden) for m in memories], 1)
        out, h = core(torch.randn(N, 3), h)
        outs.append(out)
        memories = [h[:, i:i + 1] for i in range(N)]
        if t == 1:
            memories[2] = None
    torch.stack(outs).pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_fresh_state_chosen_in_a_comprehension_joined_where_it_is_written_migrates_and_runs(tmp_path, form):
    # exit 0 and a crash: tuple wrote `m if m is not None else torch.zeros(1, 1, H)[0]` (the zeros
    # neither a pair nor the whole choice indexed), packed left the zeros of width H beside 2H
    write(tmp_path, {"model.py": CORE, "driver.py": MEMORIES, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# states kept per agent in a dict, copied by a comprehension over its items and read by key
AGENT_STATES = """\
    import torch

    from model import Core

    core = Core()
    mems = {{"a": {start}, "b": {start}}}
    outs = []
    for t in range(4):
        states = {{k: {value} for k, v in mems.items()}}
        h = torch.cat([states["a"], states["b"]], 1)
        out, h = core(torch.randn(2, 3), h)
        outs.append(out)
        mems = {{"a": h[:, :1], "b": h[:, 1:]}}
    torch.stack(outs).pow(2).mean().backward()
"""

AGENT_STATE_COPIES = [
    ("torch.zeros(1, 1, core.hidden)", "v.detach()"),
    ("None", "(v if v is not None else torch.zeros(1, 1, core.hidden))"),
]


@pytest.mark.parametrize("start, value", AGENT_STATE_COPIES)
def test_a_dict_of_states_copied_by_its_items_and_read_by_key_migrates_packed_and_runs(tmp_path, start, value):
    # exit 0 and a crash: `states["a"]` fed the GRU, but `mems` was not seen to hold states
    # (its zeros kept the GRU's width, `mems = {"a": h[:, :1], ...}` kept h's half only)
    write(tmp_path, {"model.py": CORE, "driver.py": AGENT_STATES.format(start=start, value=value), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
