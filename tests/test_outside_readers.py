"""A changed member read by a file not migrated with the group: the group is refused, naming it.

Members are attributes of the group's classes that hold the hidden state (`agent.hidden`), and
in packed form the attributes a state is allocated with (`recurrent_hidden_state_size`), whose
size doubles. The reading file was not given (pre-commit hands over the staged files only), or
was given but imports none of the group's files (`torch.load` of a saved policy).
"""

from __future__ import annotations

import shutil
import textwrap

from conftest import ROOT

from gru2lstm.cli import main
from test_cross_file import write

AGENT_WITH_STATE = textwrap.dedent('''\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.hidden = torch.zeros(1, 1, 8)

        def forward(self, x):
            out, self.hidden = self.gru(x, self.hidden)
            return out
''')

RUNNER = textwrap.dedent('''\
    import torch

    from model import Agent

    agent = Agent()
    for step in range(3):
        agent(torch.randn(1, 1, 4))
        agent.hidden = agent.hidden.detach()
''')

# Plays a saved policy: it never imports the model's file, so it is grouped with nothing.
ENJOY = textwrap.dedent('''\
    import torch


    def enjoy(path, steps=3):
        actor_critic = torch.load(path)
        hxs = torch.zeros(1, actor_critic.recurrent_hidden_state_size)
        masks = torch.ones(1, 1)
        for _ in range(steps):
            _, action, _, hxs = actor_critic.act(torch.randn(1, 4), hxs, masks)
        return action
''')


def test_a_state_attribute_read_by_a_file_not_given_refuses_the_group(tmp_path, capsys, monkeypatch):
    # No method takes or returns the state: only `agent.hidden` tells runner.py it changes.
    write(tmp_path, {"model.py": AGENT_WITH_STATE, "runner.py": RUNNER})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "model.py"]) == 1
    out = capsys.readouterr().out
    assert "model.py:9:9: G2L101 `Agent.hidden` holds the hidden state, which becomes (h, c), and runner.py, which was " \
           "not given, reads it at line 8 (`agent.hidden`), so it would still take one tensor there; give that file too" in out
    assert (tmp_path / "model.py").read_text() == AGENT_WITH_STATE
    # Given together they are migrated together.
    assert main(["rewrite", "--quiet", "model.py", "runner.py"]) == 0
    assert "agent.hidden = (agent.hidden[0].detach(), agent.hidden[1].detach())" in (tmp_path / "runner.py").read_text()


def test_an_attribute_of_the_same_name_on_another_object_does_not_refuse(tmp_path, capsys, monkeypatch):
    # `args.hidden` of a file that neither imports the model nor uses `args` as an Agent.
    other = "import argparse\n\nargs = argparse.Namespace(hidden=8)\nprint(args.hidden)\n"
    write(tmp_path, {"model.py": AGENT_WITH_STATE, "config.py": other})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "model.py"]) == 0
    assert "nn.LSTM(4, 8)" in (tmp_path / "model.py").read_text()


def _prealloc_project(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "fixtures" / "prealloc_tensor" / "input", project)
    (project / "setup.cfg").write_text("")  # the project's root
    return project


def test_packed_a_size_attribute_read_by_a_given_file_outside_the_group_refuses(tmp_path, capsys, monkeypatch):
    project = _prealloc_project(tmp_path)
    write(project, {"enjoy.py": ENJOY})
    before = {path: path.read_text() for path in project.rglob("*.py")}
    monkeypatch.chdir(project)
    assert main(["rewrite", "--state", "packed", "."]) == 1
    out = capsys.readouterr().out
    assert "G2L101 `recurrent_hidden_state_size` sizes the packed hidden state, which is allocated with twice it now, " \
           "and enjoy.py, which imports none of the files migrated with this one, reads it at line 6 " \
           "(`actor_critic.recurrent_hidden_state_size`), so it would allocate the state with the GRU's size there" in out
    assert {path: path.read_text() for path in project.rglob("*.py")} == before


def test_packed_a_size_attribute_read_by_a_file_not_given_refuses(tmp_path, capsys, monkeypatch):
    project = _prealloc_project(tmp_path)
    write(project, {"enjoy.py": ENJOY})
    monkeypatch.chdir(project)
    assert main(["rewrite", "--state", "packed", "main.py", "ppo/model.py", "ppo/storage.py", "ppo/algo.py"]) == 1
    out = capsys.readouterr().out
    assert "and enjoy.py, which was not given, reads it at line 6 (`actor_critic.recurrent_hidden_state_size`)" in out
    assert "nn.GRU" in (project / "ppo" / "model.py").read_text()


def test_packed_without_an_outside_reader_the_project_migrates(tmp_path, monkeypatch):
    project = _prealloc_project(tmp_path)
    monkeypatch.chdir(project)
    assert main(["rewrite", "--quiet", "--state", "packed", "."]) == 0
    assert "2 * recurrent_hidden_state_size" in (project / "ppo" / "storage.py").read_text()


def test_a_reader_in_another_program_of_the_same_repository_does_not_refuse(tmp_path, monkeypatch):
    # Two programs side by side in one repository: their import roots do not hold each other.
    write(tmp_path, {"setup.cfg": "", "one/model.py": AGENT_WITH_STATE, "two/runner.py": RUNNER.replace("from model import Agent", "from agents import Agent")})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "one/model.py"]) == 0
