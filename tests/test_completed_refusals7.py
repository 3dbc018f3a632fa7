"""Code the engine refused although it could migrate it soundly (session 32, waves 19 and 20
reproducers): each project is migrated, then run, and its LSTM must get (h, c) with a non-zero c;
the variants that still cannot be followed stay refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# a feed-forward agent carries a dummy state beside the recurrent one, both behind an abstract base
BASE_AND_AGENTS = """\
    from abc import ABC, abstractmethod

    import torch
    import torch.nn as nn


    class BaseAgent(nn.Module, ABC):
        @abstractmethod
        def initial_state(self, n): ...

        @abstractmethod
        def act(self, obs, state): ...


    class FeedForward(BaseAgent):
        def __init__(self):
            super().__init__()
            self.pi = nn.Linear(4, 2)

        def initial_state(self, n):
            return torch.zeros(n, 1)

        def act(self, obs, state):
            return self.pi(obs), state


    class Recurrent(BaseAgent):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)

        def initial_state(self, n):
            return torch.zeros(n, self.hidden)

        def act(self, obs, state):
            state = self.cell(obs, state)
            return self.pi(state), state
"""

# the runner keeps the agent it is given, annotated with the base class, in an attribute
HELD_AGENT_RUNNER = """\
    import torch

    from agents import BaseAgent


    class Runner:
        def __init__(self, agent: BaseAgent, n=3):
            self.agent = agent
            self.n = n
            self.state = agent.initial_state(n)

        def step(self):
            logits, self.state = self.agent.act(torch.randn(self.n, 4), self.state)
            return logits

        def end(self, done):
            fresh = self.agent.initial_state(self.n)
            self.state = torch.where(done.unsqueeze(1), fresh, self.state)
"""

DRIVE_HELD_AGENT = """\
    import torch
    from agents import FeedForward, Recurrent
    from runner import Runner

    torch.manual_seed(0)
    for agent in (Recurrent(), FeedForward()):
        opt = torch.optim.SGD(agent.parameters(), lr=0.1)
        runner = Runner(agent)
        loss = 0
        for t in range(5):
            loss = loss + runner.step().pow(2).mean()
            if t == 2:
                runner.end(torch.tensor([True, False, False]))
        opt.zero_grad()
        loss.backward()
        opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "auto"])
def test_an_attribute_holding_a_parameter_annotated_with_a_program_class(tmp_path, form):
    # `self.agent = agent` of `agent: BaseAgent`: calls on `self.agent` run any subclass's method, as
    # calls on `agent` do; it was G2L101 "an object from outside that nothing analysed identifies"
    write(tmp_path, {"agents.py": BASE_AND_AGENTS, "runner.py": HELD_AGENT_RUNNER, "driver.py": DRIVE_HELD_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "torch.where(done.unsqueeze(1), fresh[1], self.state[1])" in (tmp_path / "runner.py").read_text()
    run_migrated(tmp_path, "import driver")


def test_an_attribute_also_given_another_value_stays_an_object_from_outside(tmp_path, capsys):
    # `self.agent = other` of a parameter with no annotation: the attribute may hold anything
    runner = HELD_AGENT_RUNNER.replace("    def end(self, done):", "    def swap(self, other):\n            self.agent = other\n\n        def end(self, done):")
    write(tmp_path, {"agents.py": BASE_AND_AGENTS, "runner.py": runner, "driver.py": DRIVE_HELD_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'runner.py'}:13:30: G2L101 `self.agent.act(torch.randn(self.n, 4), self.state)` calls `act()` of "
        "`self.agent`, an object from outside that nothing analysed identifies"
    ) in capsys.readouterr().out


# the cell spelled through the module torch.nn defines it in, beside `nn = T.nn`
MODULE_PATH_AGENT = """\
    import torch as T
    from torch.nn.modules import rnn as rnn_mods

    nn = T.nn


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = rnn_mods.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)

        def initial(self, n):
            return T.zeros(n, self.hidden)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h
"""

DRIVE_MODULE_PATH = """\
    import torch
    from agent import Agent

    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = agent.initial(3)
    loss = 0
    for t in range(5):
        logits, h = agent(torch.randn(3, 4), h)
        loss = loss + logits.pow(2).mean()
        if t == 2:
            h = h * torch.tensor([0.0, 1.0, 1.0]).view(-1, 1)
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_cell_spelled_through_the_module_torch_defines_it_in(tmp_path, form):
    # `rnn_mods.GRUCell(4, hidden)` (torch.nn.modules.rnn.GRUCell) was no module construction to the
    # walk: G2L101 "made here but held nowhere the engine follows", although it is held in `self.cell`
    write(tmp_path, {"agent.py": MODULE_PATH_AGENT, "driver.py": DRIVE_MODULE_PATH, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "self.cell = rnn_mods.LSTMCell(4, hidden)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("spelled, migrated", [
    ("from torch.nn import modules as rnn_mods", "rnn_mods.LSTMCell(4, hidden)"),
    ("from torch.nn.modules import GRUCell", "from torch.nn.modules import LSTMCell"),
])
def test_a_cell_spelled_through_the_package_of_torch_modules(tmp_path, spelled, migrated):
    # torch.nn.modules.GRUCell was no GRU to the engine: exit 0, the file "unchanged", still a GRU
    agent = MODULE_PATH_AGENT.replace("from torch.nn.modules import rnn as rnn_mods", spelled)
    if "GRUCell\n" in spelled + "\n":
        agent = agent.replace("rnn_mods.GRUCell", "GRUCell")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_MODULE_PATH, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert migrated in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")


# the initial state made by a lambda kept in an attribute, called from the training script
LAMBDA_CREATOR_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(4, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.blank = lambda n: torch.zeros(1, n, self.gru.hidden_size)
            self.width = lambda: self.gru.hidden_size

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0), h)
            return self.pi(out[0]), h
"""

DRIVE_LAMBDA_CREATOR = """\
    import torch
    from agent import Agent

    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = agent.blank(3)
    loss = 0
    for t in range(5):
        logits, h = agent(torch.randn(3, 4), h)
        loss = loss + logits.pow(2).mean()
        if t == 2:
            h = agent.blank(3)
    assert agent.width() == 8
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_lambda_held_in_an_attribute_makes_the_state(tmp_path, form):
    # `agent.blank(3)` runs the lambda `self.blank` holds: it was G2L101 "comes from `agent.blank(3)`,
    # which the engine cannot follow"
    write(tmp_path, {"agent.py": LAMBDA_CREATOR_AGENT, "driver.py": DRIVE_LAMBDA_CREATOR, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "agent.py").read_text()
    assert {
        "tuple": "self.blank = lambda n: (torch.zeros(1, n, self.lstm.hidden_size), torch.zeros(1, n, self.lstm.hidden_size))",
        "packed": "self.blank = lambda n: torch.zeros(1, n, 2 * self.lstm.hidden_size)",
        "auto": "self.blank = lambda n: (torch.zeros(1, n, self.lstm.hidden_size), torch.zeros(1, n, self.lstm.hidden_size))",
    }[form] in text
    assert "self.width = lambda: self.lstm.hidden_size" in text
    run_migrated(tmp_path, "import driver")


def test_a_lambda_reading_a_local_of_the_method_around_it_stays_refused(tmp_path, capsys):
    # `start` is the method's own: what it holds when the lambda runs is not followed
    agent = LAMBDA_CREATOR_AGENT.replace(
        "self.blank = lambda n: torch.zeros(1, n, self.gru.hidden_size)",
        "start = torch.zeros(1, 1, hidden)\n            self.blank = lambda n: start.expand(1, n, hidden).contiguous()",
    )
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_LAMBDA_CREATOR, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'driver.py'}:7:5: G2L101 the hidden state held by `h` comes from `agent.blank(3)`, a call of the "
        "lambda held in `self.blank`, which reads `start` and `hidden`, locals of `__init__()` where it is set, so the "
        "engine cannot follow what it makes; define `blank` as a method of the class that makes the state "
        "(`def blank(self, ...)`), or migrate this use by hand\n"
    ) in capsys.readouterr().out


# a TypedDict carry copied from the one given, then updated with the new state
TYPED_DICT_COPY_AGENT = """\
    from typing import TypedDict

    import torch
    import torch.nn as nn


    class Base(TypedDict):
        steps: int


    class Carry(Base):
        hidden: torch.Tensor


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)

        def start(self, n):
            return Carry(hidden=torch.zeros(n, self.hidden), steps=0)

        def forward(self, x, carry):
            h = self.cell(x, carry["hidden"])
            nxt = Carry(carry)
            nxt.update(hidden=h)
            nxt["steps"] += 1
            return self.pi(h), nxt
"""

DRIVE_TYPED_DICT_COPY = """\
    import torch
    from agent import Agent

    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    carry = agent.start(3)
    loss = 0
    for t in range(5):
        logits, carry = agent(torch.randn(3, 4), carry)
        loss = loss + logits.pow(2).mean()
        if t == 2:
            carry = agent.start(3)
    assert carry["steps"] == 2
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_typed_dict_copied_then_updated(tmp_path, form):
    # `nxt = Carry(carry)` is a dict, so `nxt.update(hidden=h)` stores under its key: it was G2L101
    # "updated by `nxt.update()`, whose values are followed only into a dict made in the program"
    write(tmp_path, {"agent.py": TYPED_DICT_COPY_AGENT, "driver.py": DRIVE_TYPED_DICT_COPY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form != "packed":
        assert "nxt.update(hidden=(h, c))" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")


def test_a_typed_dict_copy_updated_from_pairs_stays_refused(tmp_path, capsys):
    agent = TYPED_DICT_COPY_AGENT.replace('nxt.update(hidden=h)', 'nxt.update([("hidden", h)])')
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_TYPED_DICT_COPY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:28:9: G2L101 `nxt` holds hidden states and is updated by `nxt.update()`, whose values are "
        "followed only into a dict made in the program"
    ) in capsys.readouterr().out


# a replay that keeps (obs, h) rows and takes them apart into columns with `zip(*rows)`
ZIPPED_ROWS_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 3)
            self.hidden = hidden

        def reset(self, n):
            return torch.zeros(n, self.hidden)

        def step(self, obs, h):
            h = self.gru(obs, h)
            return self.pi(h), h


    class Replay:
        def __init__(self):
            self.items = []

        def add(self, obs, h):
            self.items.append((obs, h.detach()))

        def sample(self, k):
            obs, h = zip(*self.items[-k:])
            return torch.cat(obs), torch.cat(h)
"""

DRIVE_ZIPPED_ROWS = """\
    import torch
    from agent import Agent, Replay

    torch.manual_seed(0)
    agent = Agent()
    replay = Replay()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = agent.reset(2)
    for t in range(5):
        obs = torch.randn(2, 4)
        replay.add(obs, h)
        logits, h = agent.step(obs, h)
        if t == 2:
            fresh = agent.reset(2)
            h = h * 0.0 + fresh
    obs, hs = replay.sample(2)
    logits, _ = agent.step(obs, hs)
    opt.zero_grad()
    logits.pow(2).mean().backward()
    opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_columns_of_rows_taken_apart_by_zip(tmp_path, form):
    # `obs, h = zip(*self.items[-k:])`: `h` is the column of the rows' states; it was G2L102 "`h` holds
    # the hidden state elsewhere, but here it receives a part of an unknown value"
    write(tmp_path, {"agent.py": ZIPPED_ROWS_AGENT, "driver.py": DRIVE_ZIPPED_ROWS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "return torch.cat(obs), (torch.cat([hc[0] for hc in h]), torch.cat([hc[1] for hc in h]))" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")
