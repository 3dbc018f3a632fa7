"""Red team, wave 14 (aimed at session 28: stacked cells, uncalled modules, held classes, spread
states, guessed owners): what the engine got wrong there, each case migrated and run, or refused
with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- the module read by a file not given
SIBLING = {
    "pyproject.toml": "",
    "model.py": """\
        import torch
        import torch.nn as nn


        class Agent(nn.Module):
            def __init__(self, hidden=8):
                super().__init__()
                self.enc = nn.Linear(5, hidden)
                self.gru = nn.GRU(hidden, hidden)
                self.head = nn.Linear(hidden, 2)
                self.hidden = torch.zeros(1, 3, hidden)

            def forward(self, obs):
                out, self.hidden = self.gru(torch.relu(self.enc(obs)).unsqueeze(0), self.hidden)
                return self.head(out[0])
    """,
    # handed the agent, importing nothing of the model: it calls the module itself
    "runner.py": """\
        import torch


        def run(agent):
            for t in range(4):
                y = agent(torch.randn(3, 5))
            probe, h = agent.gru(torch.randn(2, 3, 8), agent.hidden)
            return agent.head(h[0])
    """,
    "driver.py": """\
        from model import Agent
        from runner import run


        def main():
            run(Agent()).sum().backward()
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_module_called_by_a_file_not_given_that_is_handed_the_agent_is_refused(tmp_path, capsys, monkeypatch, form):
    # pre-commit, model.py alone: its GRU has a call there, so the uncalled-module rule is silent,
    # and runner.py imports nothing of it; model.py became an LSTM renamed `lstm` while runner.py
    # kept `agent.gru(x, agent.hidden)`: exit 0, then an AttributeError
    write(tmp_path, SIBLING)
    before = (tmp_path / "model.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, "model.py"]) == 1
    assert (
        "model.py:9:9: G2L101 `Agent.gru` holds the recurrent module, which becomes an LSTM taking and returning (h, c), "
        "and runner.py, which was not given, reads it at line 7 (`agent.gru`), so it would still be called with one tensor "
        "there; give that file too (or the project folder)"
    ) in capsys.readouterr().out
    assert (tmp_path / "model.py").read_text() == before


def test_a_module_read_alone_by_a_file_not_given_is_refused_by_its_name(tmp_path, capsys, monkeypatch):
    # runner.py reads nothing else of the agent that says what it is: `agent.gru` spells the GRU
    files = dict(SIBLING, **{"runner.py": SIBLING["runner.py"].replace("agent.hidden)", "torch.zeros(1, 3, 8))")})
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "model.py"]) == 1
    assert "runner.py, which was not given, reads it at line 7 (`agent.gru`)" in capsys.readouterr().out


def test_a_module_held_by_any_name_called_alone_by_a_file_not_given_is_refused_where_it_is_called_as_one(tmp_path, capsys, monkeypatch):
    # `self.core = nn.GRU(...)`: the name says nothing, but `agent.core(x, h0)` is called as a
    # recurrent module is, with an input and a state (model.py alone migrated before, exit 0)
    files = {
        name: text.replace("self.gru", "self.core").replace("agent.gru", "agent.core").replace("agent.hidden)", "torch.zeros(1, 3, 8))")
        for name, text in SIBLING.items()
    }
    write(tmp_path, files)
    before = (tmp_path / "model.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "model.py"]) == 1
    assert "runner.py, which was not given, reads it at line 7 (`agent.core`)" in capsys.readouterr().out
    assert (tmp_path / "model.py").read_text() == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_module_called_by_another_file_migrates_with_it_and_runs(tmp_path, form):
    write(tmp_path, SIBLING)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver; driver.main()")


# ---------------------------------------------------------------- callbacks of which one gives its argument back
CALLBACKS = {
    "pyproject.toml": "",
    "policy.py": """\
        import torch
        import torch.nn as nn


        class Policy(nn.Module):
            def __init__(self, hidden=8):
                super().__init__()
                self.rnn = nn.GRUCell(5, hidden)
                self.pi = nn.Linear(hidden, 2)
                self.hidden_size = hidden

            def initial(self, batch):
                return torch.zeros(batch, self.hidden_size)

            def forward(self, obs, h):
                h = self.rnn(obs, h)
                return self.pi(h), h
    """,
    "loop.py": """\
        import torch


        class Runner:
            def __init__(self, policy):
                self.policy = policy

            def run(self, on_step):
                h = self.policy.initial(3)
                for t in range(4):
                    logits, h = self.policy(torch.randn(3, 5), h)
                    h = on_step(h, t)
                return h
    """,
    "train.py": """\
        import torch
        from loop import Runner
        from policy import Policy


        def decay(h, t):
            return h * 0.9


        def random_reset(h, t):
            keep = (torch.rand(h.shape[0], 1) > 0.5).float()
            return h * keep


        def main():
            runner = Runner(Policy())
            runner.run(decay)
            return runner.run(random_reset)
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_callbacks_of_which_one_gives_its_argument_back_all_take_the_pair(tmp_path, form):
    # `on_step(h, t)` runs decay (which gives h back, so the call was written once per half) or
    # random_reset (which draws its mask, so it took the pair): the tuple form wrote
    # `(on_step(h[0], t), on_step(h[1], t))` and random_reset read `h[0]` of one half, exit 0 and a crash
    write(tmp_path, CALLBACKS)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "h = on_step(h, t)" in (tmp_path / "loop.py").read_text()
        assert "return (h[0] * 0.9, h[1] * 0.9)" in (tmp_path / "train.py").read_text()
    run_migrated(tmp_path, "import train; train.main()")


# ---------------------------------------------------------------- a config of an entry point taken for the state
ENTRY = {
    "pyproject.toml": "",
    "agent.py": """\
        import torch
        import torch.nn as nn


        class Agent(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.gru = nn.GRUCell(5, width)
                self.hidden = torch.zeros(3, width)

            def step(self, obs):
                self.hidden = self.gru(obs, self.hidden)
                return self.hidden
    """,
    # run by a framework (hydra): nothing in the program calls it, nothing says what `cfg` is
    "main.py": """\
        import torch
        from agent import Agent


        def main(cfg):
            agent = Agent(8)
            for t in range(4):
                agent.step(torch.randn(3, 5))
            agent.hidden = agent.hidden * 0.5
            cfg.hidden = cfg.hidden * 0.5
            return cfg
    """,
}


def test_an_attribute_of_a_parameter_of_an_entry_point_is_not_taken_for_the_state(tmp_path, capsys):
    # `cfg.hidden` was taken for `Agent.hidden` by its name alone and became
    # `(cfg.hidden[0] * 0.5, cfg.hidden[1] * 0.5)`: exit 0, 0 findings, then a TypeError on the int
    write(tmp_path, ENTRY)
    before = (tmp_path / "main.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (tmp_path / "main.py").read_text() == before
    assert (
        "main.py:10:5: G2L101 `cfg.hidden` is taken for the attribute `hidden` of `Agent` (the one class of the program "
        "that has it), which holds the hidden state, but `cfg` also holds the value given to the parameter `cfg` of "
        "`main()` (a function no code of the program calls), which is no instance of that class; give the attribute "
        "that holds the state a name of its own"
    ) in capsys.readouterr().out
