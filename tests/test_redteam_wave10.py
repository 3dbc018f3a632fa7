"""Red team, wave 10 (our own small multi-file projects in the ways real projects wire a recurrent
model: factories over a config, plugin registries, TYPE_CHECKING imports, circular imports, classes
and callbacks handed in, star re-exports, runner registries): what the engine got wrong there, each
case migrated and run, or refused with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- a registry of runners in a package's __init__
RUNNERS = {
    "pyproject.toml": "",
    "agent.py": """\
        import torch
        import torch.nn as nn


        class Agent(nn.Module):
            def __init__(self):
                super().__init__()
                self.core = nn.GRUCell(4, 8)

            def init_hidden(self, n):
                return torch.zeros(n, 8)

            def step(self, obs, h):
                h = self.core(obs, h)
                return h.sum(-1), h
    """,
    "runners/__init__.py": """\
        from .episode_runner import EpisodeRunner
        from .parallel_runner import ParallelRunner

        REGISTRY = {"episode": EpisodeRunner, "parallel": ParallelRunner}
    """,
    "runners/episode_runner.py": """\
        import torch


        class EpisodeRunner:
            def __init__(self, agent):
                self.agent = agent

            def run(self, steps):
                h = self.agent.init_hidden(1)
                for t in range(steps):
                    q, h = self.agent.step(torch.randn(1, 4), h)
                return q
    """,
    "runners/parallel_runner.py": """\
        import torch


        class ParallelRunner:
            def __init__(self, agent):
                self.agent = agent
                self.hidden = None

            def run(self, steps):
                self.hidden = self.agent.init_hidden(3)
                for t in range(steps):
                    q, self.hidden = self.agent.step(torch.randn(3, 4), self.hidden)
                    self.hidden = self.hidden.masked_fill((torch.arange(3) == t % 3).unsqueeze(1), 0.0)
                return q
    """,
    "run.py": """\
        from agent import Agent
        from runners import REGISTRY as r_REGISTRY


        def main(kind):
            runner = r_REGISTRY[kind](Agent())
            runner.run(4).sum().backward()
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_registry_of_classes_from_files_two_imports_away_is_followed_into_them(tmp_path, form):
    # The registry's classes come from files the group did not hold: it was no registry at all, so
    # `r_REGISTRY[kind](agent)` was a call nothing names (G2L101 "give the file that defines the
    # code it reaches", every file given). Now the call names them and the group takes them in.
    write(tmp_path, RUNNERS)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import run\nrun.main('episode')\nrun.main('parallel')\n")


def test_a_registry_of_classes_from_a_file_not_given_names_it(tmp_path, capsys):
    write(tmp_path, RUNNERS)
    assert main(["rewrite", "--check", str(tmp_path / "agent.py"), str(tmp_path / "run.py"), str(tmp_path / "runners" / "__init__.py")]) == 1
    out = capsys.readouterr().out
    assert "run.py:6:31: G2L101 an instance of `Agent` is passed to `r_REGISTRY[kind]`, which comes from " in out
    assert "episode_runner.py, a file not migrated with this one" in out


# ---------------------------------------------------------------- a model that hands itself to its runner
CIRCULAR = {
    "pyproject.toml": "",
    "model.py": """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.core = nn.GRU(4, 8, batch_first=True)

            def blank(self, n):
                return torch.zeros(1, n, 8)

            def forward(self, x, h):
                y, h = self.core(x, h)
                return y[:, -1], h

            def evaluate(self, steps):
                from runner import run_episode  # runner imports this module: imported here
                return run_episode(self, steps)
    """,
    "runner.py": """\
        import torch

        import model


        def run_episode(net, steps, n=2):
            h = net.blank(n)
            for t in range(steps):
                q, h = net(torch.randn(n, 1, 4), h)
            return q


        def build():
            return model.Net()
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_self_handed_to_a_function_is_an_instance_of_the_class(tmp_path, form):
    # `run_episode(self, steps)`: `self` was no instance there, so `net(x, h)` was a call of an
    # unknown object (G2L101, and "no call of `Net` could be followed") though all was in view.
    write(tmp_path, CIRCULAR)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runner\nnet = runner.build()\nnet.evaluate(3).sum().backward()\n")


def test_self_of_a_class_with_subclasses_handed_to_a_function_stays_a_finding(tmp_path, capsys):
    # a subclass's forward() may be what runs there: not followed as the base class's
    files = dict(CIRCULAR)
    files["model.py"] += """\


        class Wide(Net):
            def forward(self, x, h):
                y, h = self.core(x, h)
                return y.sum(1), h
    """
    write(tmp_path, files)
    assert main(["rewrite", "--check", str(tmp_path)]) == 1
    assert "runner.py:9:16: G2L101 `net(torch.randn(n, 1, 4), h)` calls `net`, an object from outside" in capsys.readouterr().out


# ---------------------------------------------------------------- a trainer handed the policy and the buffer class
INJECTED = {
    "pyproject.toml": "",
    "policy.py": """\
        import torch.nn as nn


        class RecurrentPolicy(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 8)
                self.critic = nn.Linear(8, 1)

            def act(self, obs, h):
                out, h = self.gru(obs.unsqueeze(0), h)
                return self.critic(out[0]), h
    """,
    "trainer.py": """\
        import torch


        class Trainer:
            def __init__(self, policy, buffer_cls, steps=4):
                self.policy = policy
                self.steps = steps
                self.buffer = buffer_cls(steps, 3, 8)

            def collect(self):
                for t in range(self.steps):
                    value, h = self.policy.act(torch.randn(3, 4), self.buffer.h[t])
                    self.buffer.h[t + 1] = h.detach()
    """,
}


def test_a_method_called_on_an_injected_object_with_a_row_of_storage_is_refused(tmp_path, capsys):
    # trainer.py imports nothing of the group, and `self.policy.act(obs, self.buffer.h[t])` takes
    # back no name it passes: it was not seen as a caller, and the rewrite exited 0 with only
    # policy.py changed (the trainer still passing one tensor).
    write(tmp_path, INJECTED)
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "policy.py:10:9: G2L101 `RecurrentPolicy.act()` now takes or returns (h, c)" in out
    assert "calls `self.policy.act(torch.randn(3, 4), self.buffer.h[t])` at line 12 on an object the engine cannot identify" in out


def test_a_module_called_on_an_injected_object_with_a_row_named_like_the_state_is_refused(tmp_path, capsys):
    # the same through forward(): `self.policy(obs, self.buffer.h[t])`, a row of storage spelled
    # like the parameter `h`, was no caller either (exit 0)
    files = {name: text.replace("def act(", "def forward(").replace("self.policy.act(", "self.policy(") for name, text in INJECTED.items()}
    write(tmp_path, files)
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "policy.py:10:9: G2L101 `RecurrentPolicy.forward()` now takes or returns (h, c)" in out
    assert "calls `self.policy(torch.randn(3, 4), self.buffer.h[t])` at line 12 on an object the engine cannot identify" in out


# ---------------------------------------------------------------- a package that re-exports with a star and __all__
STARRED = {
    "pyproject.toml": "",
    "agents/__init__.py": """\
        from .gru import *  # noqa: F401,F403
        from .common import Head

        __all__ = ["RecurrentAgent", "Head"]
    """,
    "agents/common.py": """\
        import torch.nn as nn


        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 2)

            def forward(self, x):
                return self.fc(x)
    """,
    "agents/gru.py": """\
        import torch
        import torch.nn as nn

        from .common import Head

        __all__ = ["RecurrentAgent"]


        class RecurrentAgent(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.GRUCell(4, 8)
                self.head = Head()

            def init_state(self, batch):
                return torch.zeros(batch, 8)

            def forward(self, obs, state):
                state = self.rnn(obs, state)
                return self.head(state), state
    """,
    "play.py": """\
        import torch

        from agents import *  # noqa: F403


        def play(agent: RecurrentAgent, steps, n=2):
            state = agent.init_state(n)
            for t in range(steps):
                logits, state = agent(torch.randn(n, 4), state)
                if t % 2 == 1:
                    state = agent.init_state(n)
            return logits
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_star_import_of_a_package_brings_what_it_re_exports(tmp_path, form):
    # `from agents import *` bound only the classes agents/__init__.py defines itself (none), so
    # `agent: RecurrentAgent` was unknown and `agent(x, state)` a call of an unknown object (G2L101)
    write(tmp_path, STARRED)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "from agents import RecurrentAgent\nfrom play import play\nplay(RecurrentAgent(), 5).sum().backward()\n")


def test_a_forward_no_file_of_the_group_calls_is_refused_where_storage_is_handed_to_an_object(tmp_path, capsys):
    # `self.policy(obs, self.buffer.hxs[t])`: the row is not named like forward()'s `h`, and the
    # group (policy.py alone) never calls forward(): exit 0, the trainer kept passing one tensor
    files = {name: text.replace("def act(", "def forward(").replace("self.policy.act(", "self.policy(").replace(".h[", ".hxs[")
             for name, text in INJECTED.items()}
    files["helpers.py"] = """\
        def apply(fn, a, b):
            return fn(a, b)
    """
    write(tmp_path, files)
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "calls `self.policy(torch.randn(3, 4), self.buffer.hxs[t])` at line 12 on an object the engine cannot identify" in out
    assert "helpers.py" not in out  # a local name given to an object is no stored state


def test_storage_handed_to_an_object_is_refused_when_the_group_calls_forward_too(tmp_path, capsys):
    # play.py calls forward() itself, so the group has a caller; trainer.py's injected policy was
    # still passed one tensor (exit 0)
    files = {name: text.replace("def act(", "def forward(").replace("self.policy.act(", "self.policy(").replace(".h[", ".hxs[")
             for name, text in INJECTED.items()}
    files["play.py"] = """\
        import torch

        from policy import RecurrentPolicy


        def play():
            policy = RecurrentPolicy()
            value, h = policy(torch.randn(3, 4), torch.zeros(1, 3, 8))
            return value, h
    """
    write(tmp_path, files)
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1
    assert "calls `self.policy(torch.randn(3, 4), self.buffer.hxs[t])` at line 12" in capsys.readouterr().out
