"""Red team, wave 9 (our own small projects in the styles of R2D2 sequence replay with a numpy ring
buffer, actor and critic streams in a ModuleDict, stacked cells in a ModuleList, a module reached
by `getattr` with its name written out, and a greedy policy made with `functools.partial`): what
the engine got wrong there, each case migrated and run, or refused with a finding that names the
place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- modules called through a container by index
CONTAINERS = {
    "list by a number": ("nn.ModuleList([nn.GRUCell(4, 5), nn.GRUCell(4, 5)])", "range(2)"),
    "dict comprehension by a name": ('nn.ModuleDict({k: nn.GRUCell(4, 5) for k in ("pi", "v")})', '("pi", "v")'),
    "dict literal by a name": ('nn.ModuleDict({"pi": nn.GRUCell(4, 5), "v": nn.GRUCell(4, 5)})', '("pi", "v")'),
}

STREAMS = """\
    import torch
    import torch.nn as nn

    KEYS = {keys}


    class Streams(nn.Module):
        def __init__(self):
            super().__init__()
            self.cores = {container}

        def forward(self, obs, state):
            new = {{}}
            for k in KEYS:
                new[k] = self.cores[k](obs, state[k])
            return new


    def main():
        net = Streams()
        state = {{k: torch.zeros(2, 5) for k in KEYS}}
        for _ in range(3):
            state = net(torch.randn(2, 4), state)
        return state
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("container", sorted(CONTAINERS))
def test_modules_of_a_container_called_by_an_index_that_is_no_constant_key_are_recurrent_calls(tmp_path, form, container):
    # `self.cores[k](obs, h)` was a call of nothing known: the cells became LSTMCells and were
    # still given one tensor (exit 0, "0 findings"); a number as index (`self.cells[0]`) too
    made, keys = CONTAINERS[container]
    write(tmp_path, {"pyproject.toml": "", "net.py": STREAMS.format(container=made, keys=keys)})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import net\nnet.main()\n")


HEADS = """\
    import torch
    import torch.nn as nn

    STREAMS = ("pi", "v")


    class TwoStream(nn.Module):
        def __init__(self):
            super().__init__()
            self.cores = nn.ModuleDict({k: nn.GRUCell(4, 5) for k in STREAMS})
            self.pi = nn.Linear(5, 3)

        def forward(self, obs, state):
            new = {}
            for k in STREAMS:
                new[k] = self.cores[k](obs, state[k])
            return self.pi(new["pi"]), new


    def main():
        net = TwoStream()
        state = {k: torch.zeros(2, 5) for k in STREAMS}
        for _ in range(3):
            logits, state = net(torch.randn(2, 4), state)
        logits.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_dict_filled_by_a_name_and_read_by_a_constant_key_gives_its_elements(tmp_path, form):
    # `new["pi"]` was a place of its own, never a state: the head read the pair (exit 0, crash)
    write(tmp_path, {"pyproject.toml": "", "net.py": HEADS})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "net.py").read_text()
    assert 'self.pi(new["pi"][0])' in text if form == "tuple" else 'self.pi(new["pi"].chunk(2, dim=-1)[0])' in text
    run_migrated(tmp_path, "import net\nnet.main()\n")


# ---------------------------------------------------------------- a module read by getattr with a literal name
ENCODER = """\
    import torch
    import torch.nn as nn


    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 5)

        def forward(self, seq, h):
            rnn = getattr(self, "gru")
            out, h = rnn(seq, h)
            return out, h


    def main():
        enc = Encoder()
        h = torch.zeros(1, 2, 5)
        for _ in range(3):
            out, h = enc(torch.randn(2, 2, 4), h)
        return h
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_module_read_by_getattr_with_its_name_written_out_is_that_attribute(tmp_path, form):
    # `getattr(self, "gru")` was an unknown value: the GRU became an LSTM and got one tensor (exit 0)
    write(tmp_path, {"pyproject.toml": "", "net.py": ENCODER})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert 'getattr(self, "gru")' in (tmp_path / "net.py").read_text()  # the string names it: the name is kept
    run_migrated(tmp_path, "import net\nnet.main()\n")


# ---------------------------------------------------------------- a bound method handed to functools.partial
PARTIAL = """\
    import functools

    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRUCell(3, 5)

        def forward(self, obs, hx, deterministic=False):
            hx = self.gru(obs, hx)
            return hx.sum(-1), hx


    def evaluate(policy, n):
        act = functools.partial(policy.forward, deterministic=True)
        hx = torch.zeros(n, 5)
        for _ in range(3):
            _, hx = act(torch.randn(n, 3), hx)


    def main():
        policy = Policy()
        evaluate(policy, 2)
        hx = torch.zeros(2, 5)
        for _ in range(3):
            _, hx = policy(torch.randn(2, 3), hx)
"""


def test_a_bound_method_handed_to_code_not_followed_is_refused(tmp_path, capsys):
    # `functools.partial(policy.forward, ...)`: the calls through the partial kept passing one
    # tensor to the LSTMCell (exit 0, crash)
    write(tmp_path, {"pyproject.toml": "", "net.py": PARTIAL})
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        "net.py:18:29: G2L101 the method `policy.forward` is passed to `functools.partial`, which the engine cannot "
        "follow, and `Policy.forward()` now takes or returns (h, c) (the parameter `hx` and the return value), so the "
        "calls made through it there would still pass and take one tensor; migrate this use by hand"
    ) in capsys.readouterr().out


# ---------------------------------------------------------------- R2D2: start states in a numpy ring buffer
R2D2_MODEL = """\
    import torch
    import torch.nn as nn


    class R2D2Net(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(4, hidden, batch_first=True)
            self.q = nn.Linear(hidden, 3)

        def initial_state(self, batch):
            return torch.zeros(1, batch, self.hidden)

        def forward(self, obs_seq, h):
            out, h = self.gru(obs_seq, h)
            return self.q(out), h
"""

R2D2_REPLAY = """\
    import numpy as np
    import torch


    class SequenceReplay:
        def __init__(self, capacity, seq_len, hidden):
            self.obs = np.zeros((capacity, seq_len, 4), np.float32)
            self.start_h = np.zeros((capacity, hidden), np.float32)
            self.size = 0

        def add(self, obs, start_h):
            self.obs[self.size] = obs
            self.start_h[self.size] = start_h
            self.size += 1

        def sample(self, n, rng):
            idx = rng.integers(0, self.size, n)
            return torch.from_numpy(self.obs[idx]), torch.from_numpy(self.start_h[idx]).unsqueeze(0)
"""

R2D2_LEARNER = """\
    import numpy as np
    import torch

    from model import R2D2Net
    from replay import SequenceReplay

    SEQ, BURN_IN = 4, 2


    def collect(net, replay, envs, steps):
        h = net.initial_state(envs)
        start, seq = h[0].numpy().copy(), []
        for t in range(steps):
            obs = torch.randn(envs, 1, 4)
            with torch.no_grad():
                _, h = net(obs, h)
            seq.append(obs[:, 0].numpy())
            if len(seq) == SEQ:
                for e in range(envs):
                    replay.add(np.stack(seq)[:, e], start[e])
                start, seq = h[0].numpy().copy(), []
            h = h * (1 - float(t % 3 == 2))


    def learn(net, replay, rng):
        obs, h0 = replay.sample(4, rng)
        with torch.no_grad():
            _, h = net(obs[:, :BURN_IN], h0)
        q, _ = net(obs[:, BURN_IN:], h)
        q.pow(2).mean().backward()


    def main():
        net = R2D2Net()
        replay = SequenceReplay(16, SEQ, net.hidden)
        collect(net, replay, envs=2, steps=9)
        learn(net, replay, np.random.default_rng(0))
        return replay
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_replay_method_named_sample_is_the_replays_and_its_start_states_keep_both_halves(tmp_path, form):
    # `replay.sample(4, rng)` was taken for `random.sample(population, k)` (of `4`): `h0` got "a
    # part of an unknown value" (a G2L102 that did not let the group take replay.py in); the
    # start states stored in the ring buffer now hold h and c
    write(tmp_path, {"pyproject.toml": "", "model.py": R2D2_MODEL, "replay.py": R2D2_REPLAY, "learner.py": R2D2_LEARNER})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    replay = (tmp_path / "replay.py").read_text()
    assert "self.start_h[1][self.size] = start_h[1]" in replay or "np.zeros((capacity, 2 * hidden), np.float32)" in replay
    run_migrated(tmp_path, "import learner\nlearner.main()\n")


def test_a_state_unpacked_from_a_call_not_followed_names_that_call(tmp_path, capsys):
    # replay.py not given (as a pre-commit run): the state comes from code the engine cannot read
    write(tmp_path, {"pyproject.toml": "", "model.py": R2D2_MODEL, "replay.py": R2D2_REPLAY, "learner.py": R2D2_LEARNER})
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path / "model.py"), str(tmp_path / "learner.py")]) == 1
    assert "learner.py:26:15: G2L101 `h0` holds the hidden state returned by `replay.sample(4, rng)`, which the engine cannot follow" in capsys.readouterr().out


# ---------------------------------------------------------------- a record's state reset with torch.where
RECORD_RESET = """\
    from typing import NamedTuple

    import torch
    import torch.nn as nn


    class AgentState(NamedTuple):
        hidden: torch.Tensor


    class Policy(nn.Module):
        HIDDEN = 6

        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, self.HIDDEN)

        def initial(self, batch):
            return AgentState(torch.zeros(batch, Policy.HIDDEN))

        def forward(self, obs, state: AgentState):
            return AgentState(self.cell(obs, state.hidden))


    def reset_done(state: AgentState, done):
        return AgentState(torch.where(done.unsqueeze(-1), torch.zeros_like(state.hidden), state.hidden))


    def main():
        policy = Policy()
        state = policy.initial(3)
        for t in range(4):
            state = policy(torch.randn(3, 4), state)
            state = reset_done(state, torch.tensor([t == 1, False, True]))
"""


def test_packed_a_tensor_made_like_a_records_state_lines_up_with_it(tmp_path):
    # `torch.zeros_like(state.hidden)` was judged by the allocation of the field (`Policy.HIDDEN`)
    # and refused as an operand as wide as h; made like the state, it is as wide as the packed state
    write(tmp_path, {"pyproject.toml": "", "net.py": RECORD_RESET})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import net\nnet.main()\n")


# ---------------------------------------------------------------- a dataclass whose method takes the state
EPISODE = """\
    from dataclasses import dataclass, field

    import torch
    import torch.nn as nn


    @dataclass
    class Episode:
        observations: list = field(default_factory=list)
        hiddens: list = field(default_factory=list)

        def add(self, obs, h):
            self.observations.append(obs)
            self.hiddens.append(h.detach())


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 6)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return out, h


    def main():
        agent, ep = Agent(), Episode()
        h = torch.zeros(1, 2, 6)
        for _ in range(4):
            obs = torch.randn(1, 2, 4)
            ep.add(obs, h)
            out, h = agent(obs, h)
        out, _ = agent(ep.observations[2], ep.hiddens[2])
        out.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_dataclass_whose_method_takes_the_state_is_no_registry(tmp_path, form):
    # `@dataclass` was taken for a decorator that may keep the class in a registry (G2L101)
    write(tmp_path, {"pyproject.toml": "", "agent.py": EPISODE})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent\nagent.main()\n")


# ---------------------------------------------------------------- a module taken by a name not written out
BY_FORMATTED_NAME = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru_0 = nn.GRUCell(4, 5)
            self.gru_1 = nn.GRUCell(4, 5)

        def forward(self, x, hs):
            return [getattr(self, f"gru_{i}")(x, hs[i]) for i in range(2)]
"""


def test_a_module_taken_by_a_name_not_written_out_is_refused(tmp_path, capsys):
    # the cells were renamed `lstm_0`, `lstm_1` and the calls through `getattr` not followed (exit 0, AttributeError)
    write(tmp_path, {"pyproject.toml": "", "net.py": BY_FORMATTED_NAME})
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        'net.py:12:17: G2L101 `getattr(self, f"gru_{i}")` takes an attribute of `self`, which holds the recurrent '
        "module, by a name the engine cannot read"
    ) in capsys.readouterr().out


def test_a_module_of_an_object_taken_by_a_name_not_written_out_is_refused(tmp_path, capsys):
    # the same through an instance in a script: `getattr(net, "gru_" + str(i))` (exit 0, AttributeError)
    script = BY_FORMATTED_NAME.replace("""
        def forward(self, x, hs):
            return [getattr(self, f"gru_{i}")(x, hs[i]) for i in range(2)]
""", """

    def main():
        net = Net()
        h = torch.zeros(2, 5)
        for i in range(3):
            h = getattr(net, "gru_" + str(i % 2))(torch.randn(2, 4), h)
""")
    write(tmp_path, {"pyproject.toml": "", "net.py": script})
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1
    assert 'G2L101 `getattr(net, "gru_" + str(i % 2))` takes an attribute of `net`, which holds the recurrent module' in capsys.readouterr().out
