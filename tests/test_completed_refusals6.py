"""Code the engine refused although it could migrate it soundly (session 31, waves 17 and 18
reproducers): each project is migrated in every form, then run, and its LSTM must get (h, c) with
a non-zero c; the variants that still cannot be followed stay refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

FORMS = ["tuple", "packed", "auto"]

# a helper object of the program held by the net, whose methods are named as torch's
SAMPLER_MODEL = """\
    import torch
    import torch.nn as nn


    class Sampler:
        def index_select(self, h, idx):
            return h[:, idx]

        def flatten(self, h):
            return h.reshape(h.shape[1], -1)


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)
            self.sampler = Sampler()

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0), h)
            return self.pi(self.sampler.flatten(h)), h
"""

DRIVE_SAMPLER = """\
    import torch
    from model import Net

    torch.manual_seed(0)
    net = Net()
    h = torch.zeros(1, 4, 8)
    loss = 0
    for t in range(4):
        logits, h = net(torch.randn(4, 4), h)
        loss = loss + logits.pow(2).mean()
        sub = net.sampler.index_select(h, torch.tensor([0, 2]))
        l2, _ = net(torch.randn(2, 4), sub)
        loss = loss + l2.sum()
        if t == 1:
            h = torch.zeros(1, 4, 8)
    loss.backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_method_of_a_program_class_reached_through_an_attribute_of_an_object(tmp_path, form):
    # `net.sampler.index_select(h, idx)` was read as torch's index_select on `net.sampler` (G2L100)
    write(tmp_path, {"model.py": SAMPLER_MODEL, "driver.py": DRIVE_SAMPLER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


# the state is changed in place through `.data`: masked, written whole, copied from another agent's
DATA_IN_PLACE_AGENT = """\
    import torch
    import torch.nn as nn


    class Actor(nn.Module):
        def __init__(self, n=3):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)
            self.h = torch.zeros(1, n, 8)
            self.saved = torch.zeros(1, n, 8)

        def mask(self, keep):
            self.h.data.mul_(keep.view(1, -1, 1))

        def forward(self, obs):
            out, new_h = self.gru(obs.unsqueeze(0), self.h)
            self.h.data[:] = new_h.detach()
            return self.pi(out[0])

        def load(self, other):
            self.h.data.copy_(other.h.data)

        def save(self):
            self.saved.copy_(self.h)

        def restore(self, into):
            into.copy_(self.saved)
"""

DRIVE_DATA_IN_PLACE = """\
    import torch
    from agent import Actor

    torch.manual_seed(0)
    net = Actor()
    twin = Actor()
    for t in range(5):
        loss = net(torch.randn(3, 4)).pow(2).mean()
        twin(torch.randn(3, 4))
        loss.backward()
        if t == 2:
            net.mask(torch.tensor([0.0, 1.0, 1.0]))
            net.save()
        if t == 3:
            net.load(twin)
    twin.restore(twin.h)
    net.restore(net.h)
    out, _ = net.gru(torch.randn(1, 3, 4), net.h)
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_state_copied_in_place_through_data(tmp_path, form):
    # `self.h.data.copy_(other.h.data)` was "copied in place into something unknown" (G2L100)
    write(tmp_path, {"agent.py": DATA_IN_PLACE_AGENT, "driver.py": DRIVE_DATA_IN_PLACE, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "agent.py").read_text()
    if form == "tuple":
        assert "(self.h[0].data.copy_(other.h[0].data), self.h[1].data.copy_(other.h[1].data))\n" in text
        assert "(self.saved[0].copy_(self.h[0]), self.saved[1].copy_(self.h[1]))\n" in text
    else:
        assert "self.h.data.copy_(other.h.data)\n" in text
        assert "self.saved = torch.zeros(1, n, 2 * 8)\n" in text
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("form", FORMS)
def test_a_state_copied_from_a_parameter_nothing_calls_changes_its_contract(tmp_path, capsys, form):
    # `self.h.copy_(x)` ties `x` to the state as `self.h = x` would: its callers must pass (h, c)
    agent = DATA_IN_PLACE_AGENT.replace("    def save(self):", "    def put(self, x):\n            self.h.copy_(x)\n\n        def save(self):")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_DATA_IN_PLACE, "pyproject.toml": ""})
    # packed (and auto, which takes it: states are written into tensors) as tuple since session 40: the state
    # `put()` takes is the one code outside the class hands to its other methods, so it is an interface change
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert f"{tmp_path / 'agent.py'}:24:9: G2L202 " in capsys.readouterr().out


@pytest.mark.parametrize("form", FORMS)
def test_a_state_overwritten_in_place_by_an_unknown_value_is_refused(tmp_path, capsys, form):
    agent = DATA_IN_PLACE_AGENT.replace("import torch.nn as nn\n", "import torch.nn as nn\n    from elsewhere import blank\n").replace(
        "self.h.data.mul_(keep.view(1, -1, 1))", "self.h.copy_(blank(keep))"
    )
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_DATA_IN_PLACE, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:15:9: G2L100 the hidden state `self.h` is overwritten in place by `.copy_()` with `blank(keep)`, "
        "which the engine knows neither as a hidden state nor as a new tensor, so it cannot tell what would become c; migrate this use "
        "by hand so that it handles the pair (h, c)"
    ) in capsys.readouterr().out


# the rollout's first state is copied into a preallocated attribute; its batch is a dataclass
SAMPLE_BATCH_BUFFER = """\
    from dataclasses import dataclass, fields

    import torch


    @dataclass
    class RolloutBatch:
        obs: torch.Tensor
        actions: torch.Tensor
        hxs: torch.Tensor

        def to(self, device):
            return RolloutBatch(obs=self.obs.to(device), actions=self.actions.to(device), hxs=self.hxs.to(device))

        def minibatch(self, env_idx):
            return RolloutBatch(obs=self.obs[:, env_idx], actions=self.actions[:, env_idx], hxs=self.hxs[:, env_idx])


    class Rollout:
        def __init__(self, steps, n_envs, obs_dim, hidden):
            self.obs = torch.zeros(steps, n_envs, obs_dim)
            self.actions = torch.zeros(steps, n_envs, dtype=torch.long)
            self.hxs = torch.zeros(1, n_envs, hidden)
            self.t = 0

        def start(self, hxs):
            self.hxs.copy_(hxs)

        def add(self, obs, action):
            self.obs[self.t] = obs
            self.actions[self.t] = action
            self.t += 1

        def batch(self):
            return RolloutBatch(obs=self.obs, actions=self.actions, hxs=self.hxs)
"""

SAMPLE_BATCH_NET = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.gru = nn.GRU(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)

        def forward(self, obs, hxs):
            out, hxs = self.gru(obs, hxs)
            return torch.distributions.Categorical(logits=self.pi(out)), hxs
"""

DRIVE_SAMPLE_BATCH = """\
    import torch

    from buffer import Rollout
    from net import Net

    torch.manual_seed(0)
    net = Net()
    hxs = torch.zeros(1, 4, 8)
    for it in range(2):
        roll = Rollout(3, 4, 4, 8)
        roll.start(hxs)
        for t in range(3):
            obs = torch.randn(4, 4)
            with torch.no_grad():
                dist, hxs = net(obs.unsqueeze(0), hxs)
            roll.add(obs, dist.sample()[0])
            if t == 1:
                hxs[:, 0] = 0
        batch = roll.batch().to("cpu")
        mb = batch.minibatch(torch.tensor([1, 3]))
        dist, _ = net(mb.obs, mb.hxs)
        (-dist.log_prob(mb.actions).mean()).backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_state_copied_into_a_preallocated_attribute(tmp_path, form):
    # `self.hxs.copy_(hxs)` was "copied in place into something unknown" (G2L100)
    write(tmp_path, {"buffer.py": SAMPLE_BATCH_BUFFER, "net.py": SAMPLE_BATCH_NET, "driver.py": DRIVE_SAMPLE_BATCH, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


def test_fields_read_by_a_name_not_written_out_stay_refused(tmp_path, capsys):
    buffer = SAMPLE_BATCH_BUFFER.replace(
        "return RolloutBatch(obs=self.obs.to(device), actions=self.actions.to(device), hxs=self.hxs.to(device))",
        "return RolloutBatch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})",
    )
    write(tmp_path, {"buffer.py": buffer, "net.py": SAMPLE_BATCH_NET, "driver.py": DRIVE_SAMPLE_BATCH, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'buffer.py'}:13:48: G2L101 `self` holds hidden states and is passed to `getattr()` to read the attribute "
        "named by `f.name`, which the engine cannot follow; migrate this use by hand, or give the file that defines the code it "
        "reaches in the same run\n"
    ) in capsys.readouterr().out


# the carry is a TypedDict: made by calling its class, read by key, passed on with a spread
TYPED_DICT_MEMORY = """\
    from typing import TypedDict

    import torch
    import torch.nn as nn


    class CarryState(TypedDict):
        hidden: torch.Tensor
        steps: int


    class MemoryPolicy(nn.Module):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.core = nn.GRUCell(obs_dim, hidden)
            self.head = nn.Linear(hidden, 2)

        def initial_carry(self, batch) -> CarryState:
            return CarryState(hidden=torch.zeros(batch, self.hidden), steps=0)

        def forward(self, obs, carry: CarryState):
            h = self.core(obs, carry["hidden"])
            return self.head(h), {**carry, "hidden": h, "steps": carry["steps"] + 1}


    def reset_rows(carry: CarryState, done) -> CarryState:
        keep = (~done).float().unsqueeze(-1)
        return {"hidden": carry["hidden"] * keep, "steps": carry["steps"]}
"""

DRIVE_TYPED_DICT = """\
    import torch

    from memory import MemoryPolicy, reset_rows

    torch.manual_seed(0)
    policy = MemoryPolicy()
    carry = policy.initial_carry(3)
    with torch.no_grad():
        for t in range(5):
            logits, carry = policy(torch.randn(3, 4), carry)
            if t == 2:
                carry = reset_rows(carry, torch.tensor([True, False, False]))
    carry["hidden"] = carry["hidden"].detach()
    logits, carry = policy(torch.randn(3, 4), carry)
    logits.pow(2).mean().backward()
    assert carry["steps"] == 6
"""


MADE_CARRIES = {
    "keywords": "CarryState(hidden=torch.zeros(batch, self.hidden), steps=0)",
    "mapping": "CarryState(dict(hidden=torch.zeros(batch, self.hidden), steps=0))",
    "spread": "CarryState(**{'hidden': torch.zeros(batch, self.hidden), 'steps': 0})",
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("made", MADE_CARRIES)
@pytest.mark.parametrize("spread", [True, False], ids=["spread", "display"])
def test_a_typed_dict_carry(tmp_path, form, made, spread):
    # `{**carry, "hidden": h}` was G2L101 ("`carry` ... is used here"); without the spread, the state
    # that `CarryState(hidden=torch.zeros(...))` makes was not seen: exit 0, the cell got one tensor
    memory = TYPED_DICT_MEMORY.replace(MADE_CARRIES["keywords"], MADE_CARRIES[made])
    if not spread:
        memory = memory.replace('{**carry, "hidden": h, ', '{"hidden": h, ')
    write(tmp_path, {"memory.py": memory, "driver.py": DRIVE_TYPED_DICT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    doubled = "2 * self.hidden" if form == "packed" else "self.hidden), torch.zeros(batch, self.hidden)"
    assert f"torch.zeros(batch, {doubled})" in (tmp_path / "memory.py").read_text()
    run_migrated(tmp_path, "import driver")


# one runner steps a recurrent and a feed-forward agent through their abstract base's contract
POLY_AGENTS = """\
    from abc import ABC, abstractmethod

    import torch
    import torch.nn as nn


    class BaseAgent(nn.Module, ABC):
        @abstractmethod
        def initial_state(self, n: int) -> torch.Tensor: ...

        @abstractmethod
        def forward(self, obs, state): ...


    class RecurrentAgent(BaseAgent):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)

        def initial_state(self, n):
            return torch.zeros(1, n, self.hidden)

        def forward(self, obs, state):
            out, state = self.gru(obs.unsqueeze(0), state)
            return self.pi(out[0]), state


    class FeedForwardAgent(BaseAgent):
        def __init__(self, obs_dim=4):
            super().__init__()
            self.pi = nn.Linear(obs_dim, 2)

        def initial_state(self, n):
            return torch.zeros(1, n, 1)

        def forward(self, obs, state):
            return self.pi(obs), state
"""

POLY_RUNNER = """\
    import torch

    from agents import BaseAgent


    def rollout(agent: BaseAgent, n_envs: int, steps: int):
        state = agent.initial_state(n_envs)
        for t in range(steps):
            logits, state = agent(torch.randn(n_envs, 4), state)
            done = torch.tensor([t == 1] + [False] * (n_envs - 1))
            state = state * (~done).float().view(1, -1, 1)
        return logits, state.detach()
"""

DRIVE_POLY = """\
    import torch

    from agents import FeedForwardAgent, RecurrentAgent
    from runner import rollout

    torch.manual_seed(0)
    for agent in (RecurrentAgent(), FeedForwardAgent()):
        logits, _ = rollout(agent, 3, 4)
        logits.pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "auto"])
def test_agents_called_through_their_abstract_base(tmp_path, form):
    # `agent(x, state)` of `agent: BaseAgent` runs either subclass's forward(): it was G2L101 "no call
    # of them could be followed"
    write(tmp_path, {"agents.py": POLY_AGENTS, "runner.py": POLY_RUNNER, "driver.py": DRIVE_POLY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "agents.py").read_text()
    assert "def initial_state(self, n: int) -> tuple[torch.Tensor, torch.Tensor]: ..." in text
    assert "torch.zeros(1, n, 1),\n            torch.zeros(1, n, 1),\n" in text  # the feed-forward agent's state is carried as a pair too
    run_migrated(tmp_path, "import driver")


def test_agents_called_through_their_abstract_base_packed_keep_a_mask_of_the_state_width_refused(tmp_path, capsys):
    # the feed-forward agent's state is one wide: a mask `.view(1, -1, 1)` cannot be told from one of its width
    write(tmp_path, {"agents.py": POLY_AGENTS, "runner.py": POLY_RUNNER, "driver.py": DRIVE_POLY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'runner.py'}:11:17: G2L100 `state * (~done).float().view(1, -1, 1)` combines the hidden state with "
        "`(~done).float().view(1, -1, 1)`, made with its last size the hidden size `1`"
    ) in capsys.readouterr().out


SPREAD_MODEL = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, scale, h):
            out, h = self.gru(x.unsqueeze(0) * scale, h)
            return self.pi(out[0]), h


    def act(net, x, scale, h):
        return net(x, scale, h)
"""

DRIVE_SPREAD = """\
    import torch
    from model import Net, act

    net = Net()
    h = torch.zeros(1, 2, 8)
    for t in range(5):
        common = (net, torch.randn(2, 4))
        logits, h = act(*common, 1.0, h)
        inputs = [torch.randn(2, 4), 0.5]
        logits, h = net(*inputs, h)
"""


def test_a_state_passed_after_a_spread_names_no_parameter(tmp_path, capsys):
    # the finding said "the parameter `x` becomes (h, c)": `h` was bound to the second parameter
    # of `act`, its position counted from the start of the call
    write(tmp_path, {"model.py": SPREAD_MODEL, "driver.py": DRIVE_SPREAD, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{tmp_path / 'driver.py'}:8:35: G2L100 the hidden state `h` is passed to `act()` after `*common`, so which parameter "
        "takes it is not known to the engine (which counts positions from the start); migrate this use by hand so that it "
        "handles the pair (h, c)\n"
    ) in out
    assert "the hidden state `x`" not in out and "parameter `x`" not in out


COLLATED_NET = """\
    import torch
    import torch.nn as nn


    class RecurrentQ(nn.Module):
        def __init__(self, obs_dim=4, hidden=8, actions=2):
            super().__init__()
            self.hidden = hidden
            self.rnn = nn.GRU(obs_dim, hidden, batch_first=True)
            self.q = nn.Linear(hidden, actions)

        def init_hidden(self, batch):
            return torch.zeros(1, batch, self.hidden)

        def forward(self, obs, hidden):
            out, hidden = self.rnn(obs, hidden)
            return self.q(out), hidden
"""

DRIVE_COLLATED = """\
    import torch
    from torch.utils.data import DataLoader

    from net import RecurrentQ

    net = RecurrentQ()
    sequences = []
    hidden = net.init_hidden(1)
    for chunk in range(3):
        obs = torch.randn(1, 4, 4)
        start = hidden.detach()
        with torch.no_grad():
            _, hidden = net(obs, hidden)
        sequences.append((obs[0], start[0, 0], torch.randn(4, 2)))
    for obs, h0, target in DataLoader(sequences, batch_size=3, shuffle=True):
        q, _ = net(obs, h0.unsqueeze(0))
"""


@pytest.mark.parametrize("form", FORMS)
def test_states_collated_by_a_data_loader_name_it(tmp_path, capsys, form):
    # it was G2L102 "`h0` ... receives a part of an unknown value, which is not one as far as the engine can tell"
    write(tmp_path, {"net.py": COLLATED_NET, "driver.py": DRIVE_COLLATED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'driver.py'}:15:10: G2L101 `h0` holds the hidden state elsewhere, but here it receives a part of what iterating "
        "`DataLoader(sequences, batch_size=3, shuffle=True)` gives, which collates the rows it is given by code the engine does not "
        "follow (each row's state would stay one tensor there); stack the states of a batch in the program, each half apart, or "
        "migrate this by hand\n"
    ) in capsys.readouterr().out


def test_a_typed_dict_field_that_holds_the_state_is_annotated_as_a_pair(tmp_path):
    # its declaration (`hidden: torch.Tensor`) stayed one tensor's while every CarryState held a pair
    write(tmp_path, {"memory.py": TYPED_DICT_MEMORY, "driver.py": DRIVE_TYPED_DICT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    migrated = (tmp_path / "memory.py").read_text()
    assert "    hidden: Tuple[torch.Tensor, torch.Tensor]\n    steps: int\n" in migrated
    run_migrated(tmp_path, "import driver")
