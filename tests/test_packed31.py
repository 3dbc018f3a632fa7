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
    out = capsys.readouterr().out
    assert ":20:" in out and "G2L102" in out  # the line that makes the parts
    if "reversed([" in parts or "sorted([" in parts:
        assert "G2L102 `0` sits in `[0, torch.zeros(n, 8)]` beside a hidden state" in out
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
            self.w = [torch.ones(hidden)]
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
    ("h.add_(torch.randn(1, x.size(1), self.core.hidden_size) * 0.01)", "cannot tell from the hidden size (`self.core.hidden_size`)"),
    ("h = h + torch.randn(1, x.size(1), out.size(-1))", "cannot tell from the hidden size (`out.size(-1)`)"),
    ("h = h * torch.ones(out.shape)", "cannot tell from the hidden size (`out.shape`)"),
    ("h = h * torch.cat([torch.ones(2, 2), torch.zeros(2, 2)], -1)", "made with a last size the engine cannot tell"),
    ("h = h * torch.ones(self.hidden).expand(1, 2, -1)", "an allocation of the hidden size"),
    ("h = h * self.scale", "`self.scale`, which the engine cannot trace back to where it is made"),
    ("h = h * self.w[0]", "an allocation of the hidden size"),
    ("h = h * torch.stack([torch.ones(4), torch.zeros(4)])", "an allocation of the hidden size"),
]


@pytest.mark.parametrize("operation, why", NOT_LINED_UP)
def test_packed_an_operand_whose_width_is_not_known_is_refused(tmp_path, capsys, operation, why):
    # each was exit 0, then "The size of tensor a (8) must match the size of tensor b (4)"
    write(tmp_path, {"agent.py": AGENT_WITH.replace("OPERATION", operation), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "agent.py:21:" in out and "G2L100" in out and why in out
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


# ---------------------------------------------------------------- red team, packed only (real code, our own versions)
PPO = """\
    # a2c-ppo-acktr style: storage sized by recurrent_hidden_state_size, masks multiplied into the state
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self, obs, hidden=8):
            super().__init__()
            self._hidden = hidden
            self.gru = nn.GRU(obs, hidden)
            self.actor = nn.Linear(hidden, 2)
            self.critic = nn.Linear(hidden, 1)

        @property
        def recurrent_hidden_state_size(self):
            return self._hidden

        def _forward_gru(self, x, hxs, masks):
            x, hxs = self.gru(x.unsqueeze(0), (hxs * masks).unsqueeze(0))
            return x.squeeze(0), hxs.squeeze(0)

        def act(self, obs, hxs, masks):
            x, hxs = self._forward_gru(obs, hxs, masks)
            return self.critic(x), self.actor(x), hxs


    class Storage:
        def __init__(self, T, N, obs, size):
            self.obs = torch.zeros(T + 1, N, obs)
            self.hxs = torch.zeros(T + 1, N, size)
            self.masks = torch.ones(T + 1, N, 1)
            self.values = torch.zeros(T, N, 1)

        def insert(self, step, obs, hxs, value, masks):
            self.obs[step + 1].copy_(obs)
            self.hxs[step + 1].copy_(hxs)
            self.values[step].copy_(value)
            self.masks[step + 1].copy_(masks)

        def after_update(self):
            self.hxs[0].copy_(self.hxs[-1])
            self.masks[0].copy_(self.masks[-1])


    torch.manual_seed(0)
    policy = Policy(4)
    opt = torch.optim.SGD(policy.parameters(), lr=0.01)
    st = Storage(5, 3, 4, policy.recurrent_hidden_state_size)
    for update in range(2):
        for step in range(5):
            with torch.no_grad():
                v, logits, h = policy.act(st.obs[step], st.hxs[step], st.masks[step])
            done = torch.rand(3) < 0.3
            masks = torch.FloatTensor([[0.0] if d else [1.0] for d in done])
            st.insert(step, torch.randn(3, 4), h, v, masks)
        v, logits, h = policy.act(st.obs[0].view(-1, 4), st.hxs[0], st.masks[0])
        loss = (v - st.values[0]).pow(2).mean() + logits.sum() * 0
        opt.zero_grad(); loss.backward(); opt.step()
        st.after_update()
"""

MASKS = """\
    # masks multiplied in with an unsqueeze and an expand, done flags as bool
    import torch
    import torch.nn as nn

    gru = nn.GRU(4, 8)
    head = nn.Linear(8, 2)
    N = 3
    h = torch.zeros(1, N, 8)
    loss = 0
    for t in range(5):
        out, h = gru(torch.randn(1, N, 4), h)
        loss = loss + head(out[0]).sum()
        done = torch.rand(N) < 0.3
        h = h * (~done).float().view(1, -1, 1)
        h = h * (1 - done.float()).unsqueeze(0).unsqueeze(-1).expand_as(h)
        h = h.masked_fill(done.view(1, N, 1), 0.0)
    loss.backward()
"""

CONTROLLER = """\
    # multi-agent controller keeping hidden_states for its agent, reshaped (bs, n_agents, H)
    import torch
    import torch.nn as nn


    class RNNAgent(nn.Module):
        def __init__(self, H=8):
            super().__init__()
            self.H = H
            self.fc1 = nn.Linear(4, H)
            self.rnn = nn.GRUCell(H, H)
            self.fc2 = nn.Linear(H, 3)

        def init_hidden(self):
            return self.fc1.weight.new(1, self.H).zero_()

        def forward(self, inputs, hidden_state):
            x = torch.relu(self.fc1(inputs))
            h_in = hidden_state.reshape(-1, self.H)
            h = self.rnn(x, h_in)
            return self.fc2(h), h


    class MAC:
        def __init__(self, n_agents):
            self.n_agents = n_agents
            self.agent = RNNAgent()
            self.hidden_states = None

        def init_hidden(self, bs):
            self.hidden_states = self.agent.init_hidden().unsqueeze(0).expand(bs, self.n_agents, -1)

        def forward(self, obs):
            q, self.hidden_states = self.agent(obs.reshape(-1, 4), self.hidden_states)
            return q.view(-1, self.n_agents, 3)


    mac = MAC(2)
    mac.init_hidden(3)
    loss = 0
    for t in range(4):
        loss = loss + mac.forward(torch.randn(3, 2, 4)).sum()
    loss.backward()
"""


@pytest.mark.parametrize("program", [PPO, MASKS, CONTROLLER], ids=["ppo_storage", "masks_multiplied", "multi_agent_controller"])
def test_packed_real_layouts_migrate_and_run(tmp_path, program):
    write(tmp_path, {"run.py": program, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


NOISE = """\
    # exploration noise on the state, sized from the module's hidden_size
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.rnn(x, h)
            h = h + 0.01 * torch.randn(h.size(0), h.size(1), self.rnn.hidden_size)
            return self.pi(out), h


    agent = Agent()
    h = torch.zeros(1, 3, 8)
    for t in range(4):
        y, h = agent(torch.randn(1, 3, 4), h)
    y.sum().backward()
"""


def test_packed_noise_sized_by_the_modules_hidden_size_is_refused(tmp_path, capsys):
    # exit 0, then "The size of tensor a (16) must match the size of tensor b (8)"
    write(tmp_path, {"run.py": NOISE, "pyproject.toml": ""})
    before = (tmp_path / "run.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert "run.py:14:13: G2L100" in capsys.readouterr().out
    assert (tmp_path / "run.py").read_text() == before
