"""Cells stacked by hand: each layer's new state moved into the name the next layer takes as its
input (`h = cell(inp, states[layer])`, then `inp = h`). That move is the layer's features, so it
reads h (`inp = h.chunk(2, dim=-1)[0]` packed; tuple: the split name is h already) while the pair
is kept as the layer's state; one name for both (`x = cell(x, h)`) is held as two, x and x_c, in the
tuple form (packed: a finding). Each project is migrated, then run: every LSTMCell must get (h, c)
with a non-zero c. Where the name fed on is given to a cell as its state too, it stays refused."""

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


KEPT = STACK.replace("new_states.append(h)\n                inp = h", "inp = h\n                new_states.append(inp)")


def test_an_input_that_is_also_kept_as_the_state_migrates_held_as_two(tmp_path):
    # `inp = h`, then `new_states.append(inp)`: inp is the next input and the layer's state
    write(tmp_path, {"model.py": KEPT, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    text = (tmp_path / "model.py").read_text()
    assert "h, c = cell(inp, states[layer])\n            inp = h\n            inp_c = c\n            new_states.append((inp, inp_c))\n" in text
    run_migrated(tmp_path, DRIVE)


def test_an_input_that_is_also_kept_as_the_state_is_refused_packed(tmp_path, capsys):
    write(tmp_path, {"model.py": KEPT, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'model.py'}:21:17: G2L100 `inp` is the input of `cell(inp, states[layer])` and also keeps the state it returns" in out
    assert "GRUCell" in (tmp_path / "model.py").read_text()


def test_an_input_whose_state_is_given_to_a_layer_again_stays_refused(tmp_path, capsys):
    # the name fed on is handed to a cell as its state elsewhere: no one reading fits it
    model = STACK.replace("            return self.pi(inp), new_states", "            self.last = inp\n            return self.pi(inp), new_states").replace(
        "        def initial_state", "        def again(self, y):\n            return self.cells[0](y, self.last)\n\n        def initial_state"
    )
    write(tmp_path, {"model.py": model, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert "G2L100 the input `inp` of `cell(inp, states[layer])` also holds a hidden state" in capsys.readouterr().out


ONE_NAME = STACK.replace(
    """            inp = torch.relu(self.enc(obs))
            new_states = []
            for layer, cell in enumerate(self.cells):
                h = cell(inp, states[layer])
                new_states.append(h)
                inp = h
            return self.pi(inp), new_states""",
    """            return self.layers_of(torch.relu(self.enc(obs)), states)

        def layers_of(self, x, states):
            new_states = []
            for cell, h in zip(self.cells, states):
                x = cell(x, h)
                new_states.append(x)
            return self.pi(x), new_states""",
)


@pytest.mark.parametrize("form", ["tuple", "auto"])
def test_one_name_for_the_input_and_each_layer_state_migrates_held_as_two(tmp_path, form):
    # `x = cell(x, h)`: the parameter x is the first layer's input, then each layer's state; held
    # as two names, x is h wherever it is read, and the pair is what the list keeps
    write(tmp_path, {"model.py": ONE_NAME, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "model.py").read_text()
    assert "            x, x_c = cell(x, h)\n            new_states.append((x, x_c))\n        return self.pi(x), new_states\n" in text
    run_migrated(tmp_path, DRIVE)


def test_one_name_for_the_input_and_each_layer_state_is_refused_packed(tmp_path, capsys):
    write(tmp_path, {"model.py": ONE_NAME, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:23:17: G2L100 `x` is the input of `cell(x, h)` and also keeps the state it returns (over a "
        "loop of layers): in the packed form that name would hold h and c side by side where the next layer reads h; use "
        "--state tuple, or keep each layer's state in a name of its own (`h_new = cell(x, h)`, then `x = h_new`)\n"
    ) in capsys.readouterr().out
    assert "GRUCell" in (tmp_path / "model.py").read_text()
