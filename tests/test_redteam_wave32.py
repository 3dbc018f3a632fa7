"""Red team wave 32 (`/work/scratch/rt32`): styles of real recurrent-RL code not tried before
(recurrent SAC/TD3, world models, per-env dicts, checkpoints, mixins, `__call__` wrappers, ...),
each migrated and run, or refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# separate actor and critic cells whose states travel in one value, taken apart by unpacking
TWO_CELLS = """\
    import torch
    import torch.nn as nn


    class AC(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.actor_rnn = nn.GRUCell(4, hidden)
            self.critic_rnn = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.v = nn.Linear(hidden, 1)

        def init_hidden(self, b):
            return {init}

        def forward(self, x, hxs):
            b = x.size(0)
            {unpack}
            ha = self.actor_rnn(x, ha)
            hc = self.critic_rnn(x, hc)
            return self.pi(ha).sum() + self.v(hc).sum(), {joined}
"""

TWO_CELLS_DRIVER = """\
    import torch

    from model import AC

    ac = AC()
    h = ac.init_hidden(3)
    total = 0
    for t in range(4):
        o, h = ac(torch.randn(3, 4), h)
        total = total + o
    total.backward()
"""

UNPACKED = [
    # (the state made, its unpacking, the state returned, the unpacking migrated)
    ("torch.zeros(2, b, self.hidden)", "ha, hc = hxs[0], hxs[1]", "torch.stack([ha, hc])",
     "(ha, ha_c), (hc, hc_c) = (hxs[0][0], hxs[1][0]), (hxs[0][1], hxs[1][1])"),
    ("torch.zeros(b, self.hidden)", "ha, hc = hxs.clone(), hxs * 2", "ha",
     "(ha, ha_c), (hc, hc_c) = (hxs[0].clone(), hxs[1].clone()), (hxs[0] * 2, hxs[1] * 2)"),
    ("torch.zeros(2 * b, self.hidden)", "ha, hc = hxs[:b], hxs[b:]", "torch.cat([ha, hc])",
     "(ha, ha_c), (hc, hc_c) = (hxs[0][:b], hxs[1][:b]), (hxs[0][b:], hxs[1][b:])"),
    ("torch.zeros(b, 2 * self.hidden)", "ha, hc = hxs[:, :self.hidden], hxs[:, self.hidden:]", "torch.cat([ha, hc], dim=1)",
     "(ha, ha_c), (hc, hc_c) = (hxs[0][:, :self.hidden], hxs[1][:, :self.hidden]), (hxs[0][:, self.hidden:], hxs[1][:, self.hidden:])"),
    ("(torch.zeros(b, self.hidden), torch.zeros(b, self.hidden))", "ha, hc = hxs[0] * 1, hxs[1] * 1", "(ha, hc)",
     "(ha, ha_c), (hc, hc_c) = (hxs[0][0] * 1, hxs[0][1] * 1), (hxs[1][0] * 1, hxs[1][1] * 1)"),
]


@pytest.mark.parametrize("init, unpack, joined, migrated", UNPACKED)
def test_states_unpacked_side_by_side_into_names_held_as_two_migrate_and_run(tmp_path, init, unpack, joined, migrated):
    # exit 0 and a crash (exit 123 for `hxs.clone()`): the line was written once per half of each
    # target, three lines that repeated the other target (`ha, hc = hxs[0], hxs[0][1]`)
    write(tmp_path, {"model.py": TWO_CELLS.format(init=init, unpack=unpack, joined=joined), "driver.py": TWO_CELLS_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert f"        {migrated}\n" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


def test_a_state_given_to_chained_targets_held_as_two_names_is_refused(tmp_path, capsys):
    # exit 123: `ha = hc = hxs[0].clone()` then `ha = hc_c = hxs[1].clone()`, c in the critic's head
    write(tmp_path, {"model.py": TWO_CELLS.format(init="torch.zeros(b, self.hidden)", unpack="ha = hc = hxs.clone()", joined="ha + hc"),
                     "driver.py": TWO_CELLS_DRIVER, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:19:19: G2L100 `hxs.clone()` derives a hidden state held as two names in a statement the engine "
        "cannot write once per half; assign it to a plain name in a statement of its own"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before


# a recurrent SAC/TD3: actor and critic GRUs, both states stored by a buffer and batched on one line
ACTOR_CRITIC = """\
    import torch
    import torch.nn as nn


    class Actor(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(4, hidden)
            self.mu = nn.Linear(hidden, 2)

        def forward(self, x, h):
            y, h = self.gru(x, h)
            return self.mu(y), h


    class Critic(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(6, hidden)
            self.q = nn.Linear(hidden, 1)

        def forward(self, x, a, h):
            y, h = self.gru(torch.cat([x, a], -1), h)
            return self.q(y), h
"""

LISTS_BUFFER = """\
    import torch


    class Buffer:
        def __init__(self):
            self.xs, self.ahs, self.chs = [], [], []

        def add(self, x, ah, ch):
            self.xs.append(x)
            self.ahs.append(ah)
            self.chs.append(ch)

        def sample(self):
            {sample}
            return x, ah, ch
"""

ROWS_BUFFER = """\
    import torch


    class Buffer:
        def __init__(self, n=8):
            self.xs = torch.zeros(n, 1, 4)
            self.ahs = torch.zeros(n, 1, 8)
            self.chs = torch.zeros(n, 1, 8)
            self.t = 0

        def add(self, x, ah, ch):
            self.xs[self.t], self.ahs[self.t], self.chs[self.t] = x[0], ah[0], ch[0]
            self.t += 1

        def sample(self):
            return self.xs[:self.t], self.ahs[1:2].clone(), self.chs[1:2].clone()
"""

ACTOR_CRITIC_DRIVER = """\
    import torch

    from nets import Actor, Critic
    from buffer import Buffer

    actor, critic = Actor(), Critic()
    buf = Buffer()
    for episode in range(2):
        ah = torch.zeros(1, 1, 8)
        ch = torch.zeros(1, 1, 8)
        for t in range(4):
            x = torch.randn(1, 1, 4)
            buf.add(x, ah, ch)
            with torch.no_grad():
                a, ah = actor(x, ah)
                _, ch = critic(x, a, ch)
    x, ah, ch = buf.sample()
    a, _ = actor(x, ah)
    q, _ = critic(x, a, ch)
    q.sum().backward()
"""

# the states the buffer gives back hold both halves, c non-zero
BOTH_HALVES_STORED = """
import runpy
done = runpy.run_path('driver.py')
assert all(isinstance(h, tuple) and h[1].abs().sum() > 0 for h in (done['ah'], done['ch']))
"""

BATCHED = [
    ("ah, ch = torch.cat(self.ahs, dim=1), torch.cat(self.chs, dim=1)\n            x = torch.cat(self.xs, dim=1)",
     "(ah, ah_c), (ch, ch_c) = (torch.cat([hc[0] for hc in self.ahs], dim=1), torch.cat([hc[1] for hc in self.ahs], dim=1)), "
     "(torch.cat([hc[0] for hc in self.chs], dim=1), torch.cat([hc[1] for hc in self.chs], dim=1))"),
    ("x, ah = torch.cat(self.xs, dim=1), torch.cat(self.ahs, dim=1)\n            ch = torch.cat(self.chs, dim=1)",
     "x, (ah, ah_c) = torch.cat(self.xs, dim=1), (torch.cat([hc[0] for hc in self.ahs], dim=1), torch.cat([hc[1] for hc in self.ahs], dim=1))"),
]


@pytest.mark.parametrize("sample, migrated", BATCHED)
def test_stored_states_batched_beside_other_targets_migrate_and_run(tmp_path, sample, migrated):
    # exit 123 (`ah_c` unbound), or exit 0 with the other target's value computed again on a line
    # of its own: the line was written once per half
    buffer = LISTS_BUFFER.format(sample=sample)
    write(tmp_path, {"nets.py": ACTOR_CRITIC, "buffer.py": buffer, "driver.py": ACTOR_CRITIC_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert f"        {migrated}\n" in (tmp_path / "buffer.py").read_text()
    run_migrated(tmp_path, BOTH_HALVES_STORED)


def test_states_written_into_rows_beside_other_targets_migrate_and_run(tmp_path):
    # exit 123: the line was written once per half, `self.ahs[self.t]` left whole on both
    write(tmp_path, {"nets.py": ACTOR_CRITIC, "buffer.py": ROWS_BUFFER, "driver.py": ACTOR_CRITIC_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert (
        "        self.xs[self.t], (self.ahs[0][self.t], self.ahs[1][self.t]), (self.chs[0][self.t], self.chs[1][self.t]) = "
        "x[0], (ah[0][0], ah[1][0]), (ch[0][0], ch[1][0])\n"
    ) in (tmp_path / "buffer.py").read_text()
    run_migrated(tmp_path, BOTH_HALVES_STORED)


# a list that holds the state beside a step count, each read at its position
COUNTED = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            y, h = self.gru(x, h)
            return self.pi(y), h


    net = Net()
    mem = [torch.zeros(1, 2, 8), 0]
    for t in range(5):
        o, mem[0] = net(torch.randn(1, 2, 4), mem[0])
        mem[1] += 1
        if mem[1] == 3:
            mem = [torch.zeros(1, 2, 8), 0]
"""


def test_a_number_in_a_list_beside_the_state_is_refused_in_the_tuple_form(tmp_path, capsys):
    write(tmp_path, {"model.py": COUNTED, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    for line, column in ((17, 30), (22, 38)):
        assert (
            f"{tmp_path / 'model.py'}:{line}:{column}: G2L102 `mem` holds the hidden state elsewhere, but here it receives `0`, "
            "which is not one; use another name for the other value"
        ) in out
    assert (tmp_path / "model.py").read_text() == before


def test_a_number_in_a_list_beside_a_packed_state_read_as_features_is_refused(tmp_path, capsys):
    # exit 0 and a crash: `mem[1].chunk(2, dim=-1)[0] == 3`, the count cut as a packed state
    write(tmp_path, {"model.py": COUNTED, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:21:8: G2L100 `mem[1]` is read as features here, and it may hold the number `0` (line 17), "
        "which shares its place with the hidden state, so the packed form would cut it as a state (`.chunk(2, dim=-1)[0]`); "
        "keep the hidden state apart from other values, or use --state tuple"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before


# states kept in one preallocated tensor by step, an environment's row reset after the step
STORED_BY_STEP = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            y, h = self.gru(x, h)
            return self.pi(y), h


    net = Net()
    hs = torch.zeros(6, 1, 3, 8)
    with torch.no_grad():
        for t in range(5):
            o, hs[t + 1] = net(torch.randn(1, 3, 4), hs[t])
            {reset} = 0
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_reset_written_into_rows_of_rows_of_a_state_is_refused(tmp_path, capsys, form):
    # exit 0, c never reset: `hs[0][t + 1][:, 1] = 0` (packed: `hs.chunk(2, dim=-1)[0][t + 1][:, 1] = 0`)
    write(tmp_path, {"model.py": STORED_BY_STEP.format(reset="hs[t + 1][:, 1]"), "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:21:9: G2L100 `hs[t + 1][:, 1]` writes into `hs[t + 1]`, which holds the hidden state, "
        "through a second subscript, which the engine would write into h alone, so c would keep its old values there "
        "(a reset would keep c); index the rows in one subscript (`hs[t, :, i] = 0`), or write both halves by hand"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_reset_written_into_rows_of_a_state_in_one_subscript_migrates_and_runs(tmp_path, form):
    write(tmp_path, {"model.py": STORED_BY_STEP.format(reset="hs[t + 1, :, 1]"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    migrated = (tmp_path / "model.py").read_text()
    if form == "tuple":
        assert "        hs[0][t + 1, :, 1] = 0\n        hs[1][t + 1, :, 1] = 0\n" in migrated
    else:
        assert "        hs[t + 1, :, 1] = 0\n" in migrated
    run_migrated(tmp_path, "import model")



# an agent whose state is a NamedTuple of the cell's state and the previous action
NAMED_STATE = """\
    from typing import NamedTuple
    import torch
    import torch.nn as nn


    class AgentState(NamedTuple):
        rnn: torch.Tensor
        prev_action: torch.Tensor


    class Agent(nn.Module):
        def __init__(self, hidden=8, acts=3):
            super().__init__()
            self.hidden, self.acts = hidden, acts
            self.gru = nn.GRUCell(4 + acts, hidden)
            self.pi = nn.Linear(hidden, acts)

        def initial_state(self, batch):
            return AgentState(torch.zeros(batch, self.hidden), torch.zeros(batch, dtype=torch.long))

        def forward(self, obs, state: AgentState):
            a1 = nn.functional.one_hot(state.prev_action, self.acts).float()
            h = self.gru(torch.cat([obs, a1], -1), state.rnn)
            logits = self.pi(h)
            action = logits.argmax(-1)
            return logits, AgentState(h, action)
"""

NAMED_STATE_DRIVER = """\
    import torch
    from agent import Agent

    torch.manual_seed(0)
    ag = Agent()
    st = ag.initial_state(2)
    outs = []
    for t in range(5):
        logits, st = ag(torch.randn(2, 4), st)
        outs.append(logits)
        if t == 2:
            st = st._replace(rnn=st.rnn * 0)
    torch.stack(outs).sum().backward()
"""


def test_a_packed_state_kept_in_a_namedtuple_beside_the_previous_action_migrates_and_runs(tmp_path):
    # exit 123 (KeyError) while this branch looked for numbers held beside a state: a source without a node
    write(tmp_path, {"agent.py": NAMED_STATE, "driver.py": NAMED_STATE_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "        logits = self.pi(h.chunk(2, dim=-1)[0])\n" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
