"""Cells stacked by hand: each layer's new state moved into the name the next layer takes as its
input (`h = cell(inp, states[layer])`, then `inp = h`). That move is the layer's features, so it
reads h (`inp = h.chunk(2, dim=-1)[0]` packed; tuple: the split name is h already) while the pair
is kept as the layer's state. Each project is migrated in every form, then run: every LSTMCell
must get (h, c) with a non-zero c. Where the input is also held as a state, it stays refused."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

FORMS = ["tuple", "packed", "auto"]

STACK = """\
    import torch
    import torch.nn as nn


    class Stack(nn.Module):
        def __init__(self, obs_dim, hidden=8, layers=2, actions=3):
            super().__init__()
            self.enc = nn.Linear(obs_dim, hidden)
            self.cells = nn.ModuleList([nn.GRUCell(hidden, hidden) for _ in range(layers)])
            self.pi = nn.Linear(hidden, actions)
            self.layers = layers
            self.hidden = hidden

        def initial_state(self, batch):
            return [torch.zeros(batch, self.hidden) for _ in range(self.layers)]

        def forward(self, obs, states):
            inp = torch.relu(self.enc(obs))
            new_states = []
            for layer, cell in enumerate(self.cells):
                h = cell(inp, states[layer])
                new_states.append(h)
                inp = h
            return self.pi(inp), new_states
"""

RUNNER = """\
    import torch
    from model import Stack


    def train(steps=6):
        agent = Stack(4)
        states = agent.initial_state(2)
        total = 0
        for t in range(steps):
            logits, states = agent(torch.randn(2, 4), states)
            if t == 3:
                states = agent.initial_state(2)
            total = total + logits.sum()
        total.backward()
        torch.optim.Adam(agent.parameters()).step()
"""

DRIVE = """\
    from runner import train

    train()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_layer_state_moved_into_the_next_layer_input_migrates(tmp_path, form):
    write(tmp_path, {"model.py": STACK, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "model.py").read_text()
    if form == "packed":
        assert "            inp = h.chunk(2, dim=-1)[0]\n" in text
        assert "h = torch.cat(cell(inp, states[layer].chunk(2, dim=-1)), dim=-1)" in text
    else:
        assert "            h, c = cell(inp, states[layer])\n            new_states.append((h, c))\n            inp = h\n" in text
    run_migrated(tmp_path, DRIVE)


@pytest.mark.parametrize("form", FORMS)
def test_the_first_layer_input_moved_in_by_name_migrates(tmp_path, form):
    # `inp = x` is a move too: it is cut with the state's, and reads nothing to change
    model = STACK.replace("inp = torch.relu(self.enc(obs))", "x = torch.relu(self.enc(obs))\n            inp = x")
    write(tmp_path, {"model.py": model, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "        inp = x\n" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, DRIVE)


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_an_input_that_is_also_kept_as_the_state_stays_refused(tmp_path, capsys, form):
    # `new_states.append(inp)`: the name fed on is the layer's state too, so no one reading fits it
    model = STACK.replace("new_states.append(h)\n                inp = h", "inp = h\n                new_states.append(inp)")
    write(tmp_path, {"model.py": model, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'model.py'}:21:17: G2L100 the input `inp` of `cell(inp, states[layer])` also holds a hidden state" in out
    assert "GRUCell" in (tmp_path / "model.py").read_text()
