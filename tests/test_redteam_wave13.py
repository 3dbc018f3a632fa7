"""Red team, wave 13 (our own small projects in CleanRL, R2D2, recurrent SAC/TD3 and env-wrapper
styles): what the engine got wrong there, each case migrated and run, or refused with a finding
that names the place."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- storage of another file, written through an attribute
MODEL = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0), h)
            return out[0], h
"""

CLEANRL_SPLIT = {
    "pyproject.toml": "",
    "model.py": MODEL,
    "buffer.py": """\
        import torch


        class Rollout:
            def __init__(self, steps, envs, hidden):
                self.states = torch.zeros(steps + 1, 1, envs, hidden)
    """,
    "train.py": """\
        import torch

        from buffer import Rollout
        from model import Net


        def main():
            net = Net()
            buf = Rollout(4, 2, 8)
            h = torch.zeros(1, 2, 8)
            buf.states[0] = h
            for step in range(4):
                _, h = net(torch.randn(2, 4), h)
                buf.states[step + 1] = h
            out, _ = net(torch.randn(2, 4), buf.states[2])
            out.sum().backward()
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_stored_into_an_attribute_of_another_files_object_is_refused_when_that_file_is_not_given(tmp_path, capsys, monkeypatch, form):
    # `buf.states[t] = h` with `buf = Rollout(...)` of buffer.py: the store was split into
    # `buf.states[0][t]` / `buf.states[1][t]` (packed: left one tensor of the GRU's width) while
    # buffer.py kept one tensor of the GRU's size: exit 0, and the program crashed
    write(tmp_path, CLEANRL_SPLIT)
    before = (tmp_path / "train.py").read_text()
    monkeypatch.chdir(tmp_path)
    code = main(["rewrite", "--quiet", "--state", form, "model.py", "train.py"])
    assert code == 1
    assert (
        "train.py:11:21: G2L101 the hidden state `h` is stored into the object `buf.states`, which comes from "
        "buffer.py, a file not migrated with this one; give that file in the same run too"
    ) in capsys.readouterr().out
    assert (tmp_path / "train.py").read_text() == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_stored_into_an_attribute_of_another_files_object_migrates_that_file_and_runs(tmp_path, form):
    write(tmp_path, CLEANRL_SPLIT)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert (tmp_path / "buffer.py").read_text() != CLEANRL_SPLIT["buffer.py"]
    run_migrated(tmp_path, "import train; train.main()")


# ---------------------------------------------------------------- the state kept on an env wrapper of another file
ENV_HIDDEN = {
    "pyproject.toml": "",
    "net.py": """\
        import torch
        import torch.nn as nn


        class Policy(nn.Module):
            def __init__(self, hidden=6):
                super().__init__()
                self.hidden = hidden
                self.cell = nn.GRUCell(4, hidden)

            def blank(self):
                return torch.zeros(1, self.hidden)

            def forward(self, obs, hidden):
                hidden = self.cell(obs, hidden)
                return hidden.sum(), hidden
    """,
    "wrappers.py": """\
        class Wrapper:
            def __init__(self, init_hidden):
                self.init_hidden = init_hidden
                self.hidden = None

            def reset(self):
                self.hidden = self.init_hidden()
    """,
    "driver.py": """\
        import torch

        from net import Policy
        from wrappers import Wrapper


        def main():
            policy = Policy()
            envs = [Wrapper(policy.blank) for _ in range(2)]
            for env in envs:
                env.reset()
            for t in range(3):
                for env in envs:
                    out, env.hidden = policy(torch.randn(1, 4), env.hidden)
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_an_attribute_of_an_object_of_no_known_class_is_not_taken_for_the_only_analysed_class_that_has_it(tmp_path, capsys, monkeypatch, form):
    # `env.hidden` of a wrapper of wrappers.py was taken for `Policy.hidden` (the only class analysed
    # with a `hidden`), an int: the packed form wrote `nn.LSTMCell(4, hidden.chunk(2, dim=-1)[0])`,
    # exit 0, and the program crashed. Without wrappers.py the store is a crossing into it.
    write(tmp_path, ENV_HIDDEN)
    before = (tmp_path / "net.py").read_text()
    monkeypatch.chdir(tmp_path)
    code = main(["rewrite", "--quiet", "--state", form, "net.py", "driver.py"])
    assert code == 1
    assert (
        "driver.py:14:18: G2L101 the hidden state `env.hidden` is stored into the object `env`, which comes from "
        "wrappers.py, a file not migrated with this one; give that file in the same run too"
    ) in capsys.readouterr().out
    assert (tmp_path / "net.py").read_text() == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_the_state_kept_on_an_env_wrapper_migrates_with_the_wrapper_file_and_runs(tmp_path, form):
    write(tmp_path, ENV_HIDDEN)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver; driver.main()")


# ---------------------------------------------------------------- a config attribute that shares its name with the state's
CONFIG_NAMESAKE = {
    "pyproject.toml": "",
    "agent.py": """\
        import argparse

        import torch
        import torch.nn as nn


        class Agent(nn.Module):
            def __init__(self, cfg):
                super().__init__()
                self.gru = nn.GRU(4, cfg.hidden)
                self.head = nn.Linear(cfg.hidden, 2)
                self.hidden = torch.zeros(1, cfg.envs, cfg.hidden)

            def step(self, obs):
                out, self.hidden = self.gru(obs.unsqueeze(0), self.hidden)
                return self.head(out[0])


        def main():
            cfg = argparse.Namespace(hidden=8, envs=3)
            agent = Agent(cfg)
            for t in range(3):
                agent.step(torch.randn(cfg.envs, 4))
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_config_attribute_named_like_the_state_attribute_is_read_as_the_config_where_it_is_a_size(tmp_path, form):
    # `cfg.hidden` (an argparse Namespace) was taken for `Agent.hidden`, the only class with a
    # `hidden`: `nn.LSTM(4, cfg.hidden[0])` (packed `cfg.hidden.chunk(2, dim=-1)[0]`), exit 0, and a crash;
    # then refused (G2L100); `cfg` holds a library's object and no Agent, so it is read as its own (session 29)
    write(tmp_path, CONFIG_NAMESAKE)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTM(4, cfg.hidden)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent; agent.main()")


def test_the_state_attribute_named_apart_from_the_config_migrates_and_runs(tmp_path):
    files = {"pyproject.toml": "", "agent.py": CONFIG_NAMESAKE["agent.py"].replace("self.hidden", "self.rnn_state")}
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent; agent.main()")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_config_attribute_named_like_the_state_attribute_is_read_as_the_config_where_it_is_a_number(tmp_path, form):
    # `16 if cfg.hidden > 8 else 8` and `print(cfg.hidden)`: the object `cfg` is an argparse
    # Namespace, which is no Agent (exit 0 and `cfg.hidden[0] > 8` before, then G2L101; session 29: migrated)
    files = {"pyproject.toml": "", "agent.py": CONFIG_NAMESAKE["agent.py"]
             .replace("self.gru = nn.GRU(4, cfg.hidden)", "width = 16 if cfg.hidden > 8 else 8\n                self.gru = nn.GRU(4, width)")
             .replace("nn.Linear(cfg.hidden, 2)", "nn.Linear(width, 2)")
             .replace("torch.zeros(1, cfg.envs, cfg.hidden)", "torch.zeros(1, cfg.envs, width)")}
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "width = 16 if cfg.hidden > 8 else 8" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent; agent.main()")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_config_from_an_entry_point_named_like_the_state_attribute_is_refused(tmp_path, capsys, form):
    # `def main(cfg)` run by a framework (hydra): nothing shows that `cfg` is no Agent but that it is
    # given to `Agent(cfg)`, a constructor (exit 0 and `cfg.hidden[0] > 8` before)
    files = {"pyproject.toml": "", "agent.py": CONFIG_NAMESAKE["agent.py"]
             .replace("import argparse\n\n        ", "")
             .replace("self.gru = nn.GRU(4, cfg.hidden)", "width = 16 if cfg.hidden > 8 else 8\n                self.gru = nn.GRU(4, width)")
             .replace("nn.Linear(cfg.hidden, 2)", "nn.Linear(width, 2)")
             .replace("torch.zeros(1, cfg.envs, cfg.hidden)", "torch.zeros(1, cfg.envs, width)")
             .replace("def main():\n            cfg = argparse.Namespace(hidden=8, envs=3)\n", "def main(cfg):\n")}
    write(tmp_path, files)
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        "agent.py:8:23: G2L101 `cfg.hidden` is taken for the attribute `hidden` of `Agent` (the one class of the program "
        "that has it), which holds the hidden state, but `cfg` also holds the value given to the parameter `cfg` of "
        "`Agent.__init__()`, which is no instance of that class; give the attribute that holds the state a name of its own"
    ) in capsys.readouterr().out
    assert (tmp_path / "agent.py").read_text() == before


# ---------------------------------------------------------------- an agent handed to a function of a file the group does not import
AGENT_PARAMETER = {
    "pyproject.toml": "",
    "model.py": """\
        import torch
        import torch.nn as nn


        class Agent(nn.Module):
            def __init__(self, n=2):
                super().__init__()
                self.gru = nn.GRU(4, 8)
                self.hidden = torch.zeros(1, n, 8)
    """,
    "runner.py": """\
        import torch


        def rollout(agent, steps):
            total = 0
            for t in range(steps):
                out, h = agent.gru(torch.randn(1, 2, 4), agent.hidden)
                agent.hidden = h.detach()
                total = total + out.sum()
            return total
    """,
    "driver.py": """\
        from model import Agent
        import runner


        def main():
            agent = Agent()
            runner.rollout(agent, 4).backward()
    """,
}


def test_an_instance_holding_the_module_handed_to_another_files_function_is_refused_when_that_file_is_not_given(tmp_path, capsys, monkeypatch):
    # runner.py imports nothing of the group, so only driver.py's call reaches it: model.py became
    # `self.lstm = nn.LSTM(4, 8)` alone while runner.py kept `agent.gru(x, agent.hidden)` (exit 0, then a crash)
    write(tmp_path, AGENT_PARAMETER)
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "model.py", "driver.py"]) == 1
    assert (
        "driver.py:7:20: G2L101 an instance of `Agent` is passed to `runner.rollout`, which comes from runner.py, a file "
        "not migrated with this one; its attribute `gru` holds the recurrent module, which becomes an LSTM, so the calls "
        "made through it there would still pass and take one tensor; give that file in the same run too"
    ) in capsys.readouterr().out
    assert (tmp_path / "model.py").read_text() == textwrap.dedent(AGENT_PARAMETER["model.py"])


def test_an_instance_holding_the_module_handed_to_another_files_function_migrates_with_it_and_runs(tmp_path):
    write(tmp_path, AGENT_PARAMETER)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "agent.lstm(" in (tmp_path / "runner.py").read_text()
    run_migrated(tmp_path, "import driver; driver.main()")
