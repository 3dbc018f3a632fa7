"""Agents held in lists and modules called through them (issue 13, multi-agent projects): an
element of a slice of a list of agents is an agent; `model(**inputs)` of a dict with constant keys
binds each key to the parameter of that name; arguments that cannot be told apart are a finding,
never a caller left passing one tensor."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gru2lstm.cli import main

NET = textwrap.dedent('''\
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8)

        def forward(self, x, hidden):
            out, h = self.rnn(x, hidden)
            return h, out
''')

ARENA = textwrap.dedent('''\
    import torch


    class Agent:
        def __init__(self, model):
            self.model = model

        def learn(self, episode):
            return len(episode)


    class Arena:
        def run(self, agents, steps):
            episode = []
            hidden = torch.zeros(1, 2, 8)
            for t in range(steps):
                for agent in agents[1:]:
                    inputs = {"x": torch.randn(1, 2, 4), "hidden": hidden}
                    hidden, out = agent.model(INPUTS)
                    episode.append(hidden)
            for agent in agents[1:]:
                agent.learn(episode)
            return hidden
''')

MAIN = textwrap.dedent('''\
    from arena import Agent, Arena
    from net import Net


    def main():
        agents = [None]
        agents.append(Agent(Net()))
        return Arena().run(agents, 3)
''')


def rewrite(tmp_path: Path, inputs: str, capsys, more: str = "") -> tuple:
    files = {"net.py": NET, "arena.py": ARENA.replace("INPUTS", inputs) + more, "main.py": MAIN}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    code = main(["rewrite", "--quiet", str(tmp_path)])
    return code, capsys.readouterr().out, (tmp_path / "arena.py").read_text()


def test_keywords_unpacked_from_a_dict_of_constant_keys_are_followed(tmp_path, capsys):
    code, out, arena = rewrite(tmp_path, "**inputs", capsys)
    assert code == 0, out
    assert "hidden = (\n" in arena  # the creation of the state passed under "hidden" is a pair
    assert "agent.learn(episode)" in arena  # the episode of pairs goes where the walk followed it


def test_arguments_that_cannot_be_bound_are_a_finding(tmp_path, capsys):
    code, out, arena = rewrite(tmp_path, "*list(inputs.values())", capsys)
    assert code == 1
    assert "G2L101" in out and "arena.py:19:" in out, out
    assert arena == ARENA.replace("INPUTS", "*list(inputs.values())")  # nothing written


def test_a_method_called_through_agents_made_elsewhere_is_followed_by_the_joined_classes(tmp_path, capsys):
    """`agent.learn(episode)` where another class of the program has a `learn` too: the agents
    main.py puts into the list, joined with the arena's parameter, say which one runs."""
    learner = "\n\nclass Learner:\n    def learn(self, batch):\n        return batch\n"
    code, out, arena = rewrite(tmp_path, "**inputs", capsys, learner)
    assert code == 0, out
    assert "agent.learn(episode)" in arena and "hidden = (\n" in arena
