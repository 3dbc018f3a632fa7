"""Stacked GRUCells unrolled layer by layer over a Python list of per-layer states (session 35):
`hs[i] = cell(x, hs[i])`, then `x = hs[i]`. The element moved into the next layer's input is that
layer's features, so it reads h (`x = hs[i][0]`; packed `x = hs[i].chunk(2, dim=-1)[0]`) while the
list keeps each layer's pair. Each spelling is migrated, then run: every LSTMCell must get (h, c)
with a non-zero c. Where the input name is given back as a state, it stays refused."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

STACK = """\
    import torch
    import torch.nn as nn


    class Stack(nn.Module):
        def __init__(self, obs=3, hidden=4, layers=2):
            super().__init__()
            self.cells = nn.ModuleList([nn.GRUCell(obs if i == 0 else hidden, hidden) for i in range(layers)])
            self.head = nn.Linear(hidden, 2)
            self.hidden = hidden

        def init_states(self, n):
            return [torch.zeros(n, self.hidden) for _ in self.cells]

        def forward(self, x, hs):
{body}
"""

DRIVER = """\
    import torch

    from stack import Stack

    net = Stack()
    hs = net.init_states(2)
    outs = []
    for t in range(4):
        y, hs{more} = net(torch.randn(2, 3), hs)
        outs.append(y)
        if t == 1:
            hs = [h * torch.tensor([[0.0], [1.0]]) for h in hs]
    torch.stack(outs).pow(2).mean().backward()
"""

# spelling -> (forward's body, the line it becomes in the tuple form, in the packed form)
SPELLINGS = {
    "element": (
        """\
        hs = list(hs)
        for i, cell in enumerate(self.cells):
            hs[i] = cell(x, hs[i])
            x = hs[i]
        return self.head(x), hs""",
        "x = hs[i][0]",
        "x = hs[i].chunk(2, dim=-1)[0]",
    ),
    "head_in_the_loop": (
        """\
        hs = list(hs)
        ys = []
        for i in range(len(self.cells)):
            hs[i] = self.cells[i](x, hs[i])
            x = hs[i]
            ys.append(self.head(x))
        return sum(ys), hs""",
        "x = hs[i][0]",
        "x = hs[i].chunk(2, dim=-1)[0]",
    ),
    "chained_name": (
        """\
        hs = list(hs)
        for i, cell in enumerate(self.cells):
            hs[i] = h = cell(x, hs[i])
            x = h
        return self.head(x), hs""",
        "hs[i] = h, c = cell(x, hs[i])",
        "x = h.chunk(2, dim=-1)[0]",
    ),
    "appended": (
        """\
        new_hs = []
        for i, cell in enumerate(self.cells):
            new_hs.append(cell(x, hs[i]))
            x = new_hs[-1]
        return self.head(x), new_hs""",
        "x = new_hs[-1][0]",
        "x = new_hs[-1].chunk(2, dim=-1)[0]",
    ),
}


def _body(text: str) -> str:
    return textwrap.indent(textwrap.dedent(text), " " * 12)


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_a_list_of_layer_states_fed_on_by_element_migrates_and_runs(tmp_path, spelling, form):
    body, tuple_line, packed_line = SPELLINGS[spelling]
    write(tmp_path, {"stack.py": STACK.format(body=_body(body)), "driver.py": DRIVER.format(more=""), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert (tuple_line if form == "tuple" else packed_line) in (tmp_path / "stack.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


CHAINED_INPUT = """\
    hs = list(hs)
    for i, cell in enumerate(self.cells):
        x = hs[i] = cell(x, hs[i])
    return self.head(x), hs"""


def test_one_name_for_the_input_and_the_element_migrates_held_as_two(tmp_path):
    write(tmp_path, {"stack.py": STACK.format(body=_body(CHAINED_INPUT)), "driver.py": DRIVER.format(more=""), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "            x, x_c = hs[i] = cell(x, hs[i])\n" in (tmp_path / "stack.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


def test_one_name_for_the_input_and_the_element_is_refused_packed(tmp_path, capsys):
    write(tmp_path, {"stack.py": STACK.format(body=_body(CHAINED_INPUT)), "driver.py": DRIVER.format(more=""), "pyproject.toml": ""})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'stack.py'}:18:25: G2L100 `x` is the input of `cell(x, hs[i])` and also keeps the state it returns "
        "(over a loop of layers): in the packed form that name would hold h and c side by side where the next layer "
        "reads h; use --state tuple, or keep each layer's state where the code keeps it (`hs[i] = cell(x, hs[i])`, then `x = hs[i]`)"
    )


def test_an_input_given_back_as_a_layer_state_stays_refused(tmp_path, capsys):
    # the last layer's output is stored as the first layer's state by the caller: x is a state, not h
    body = SPELLINGS["element"][0].replace("return self.head(x), hs", "return self.head(x), hs, x")
    driver = DRIVER.format(more=", top").replace("outs.append(y)", "hs[0] = top\n        outs.append(y)")
    write(tmp_path, {"stack.py": STACK.format(body=_body(body)), "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert f"{tmp_path / 'stack.py'}:18:21: G2L100 the input `x` of `cell(x, hs[i])` also holds a hidden state" in capsys.readouterr().out
    assert "GRUCell" in (tmp_path / "stack.py").read_text()
