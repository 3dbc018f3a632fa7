"""Red team wave 22 (`/work/scratch/rt22`): silent breaks found there, each now refused with the
exact finding, or migrated and run."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# forward() applies {idiom} to h before the cell; the driver asserts that keep() ran once per step
# and that one mask was popped per step
MASKED = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            self.bias = nn.Parameter(torch.zeros(8))
            self.calls = 0
            self.queue = []

        def initial(self, n):
            return torch.zeros(n, 8)

        def keep(self, done):
            self.calls += 1
            return (1 - done).unsqueeze(-1)

        def mask(self, done):
            return self.flip(done).unsqueeze(-1)

        def flip(self, done):
            return 1 - done

        def forward(self, x, h, done):
            {idiom}
            h = self.cell(x, h)
            return self.pi(h), h
"""

DRIVE_MASKED = """\
    import torch
    from agent import Agent

    agent = Agent()
    h = agent.initial(3)
    done = torch.zeros(3)
    for t in range(4):
        agent.queue.append(torch.ones(3, 1))
        y, h = agent(torch.randn(3, 4), h, done)
        done = torch.tensor([0.0, 1.0, 0.0])
    y.sum().backward()
    assert agent.calls in (0, 4) and len(agent.queue) in (0, 4), (agent.calls, agent.queue)
"""


def _masked(tmp_path, idiom):
    write(tmp_path, {"agent.py": MASKED.replace("{idiom}", idiom), "driver.py": DRIVE_MASKED, "pyproject.toml": ""})
    return tmp_path


@pytest.mark.parametrize("idiom, column, call", [
    # each was exit 0 in the tuple form, written `(h[0] * self.keep(done), h[1] * self.keep(done))`: keep() counted twice
    ("h = h * self.keep(done)", 17, "self.keep(done)"),
    ("h = h.clone()\n            h.mul_(self.keep(done))", 16, "self.keep(done)"),
    # the walk takes no value of a list's pop(): it popped twice, an IndexError
    ("h = h * self.queue.pop()", 17, "self.queue.pop()"),
])
def test_a_call_that_does_more_than_compute_written_once_per_half_is_refused(tmp_path, capsys, idiom, column, call):
    project = _masked(tmp_path, idiom)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 1
    line = 28 + idiom.count("\n")
    top = idiom.splitlines()[-1].strip().removeprefix("h = ")
    assert capsys.readouterr().out == (
        f"{project / 'agent.py'}:{line}:{column}: G2L100 `{call}` would run twice, once per half of the hidden state, in "
        f"`{top}`, and the engine cannot tell that it only computes a value; assign it to a name first\n"
    )


@pytest.mark.parametrize("idiom", ["h = h + self.bias", "h = h + self.bias.view_as(h[0])"])
def test_a_learned_bias_added_to_the_state_is_refused(tmp_path, capsys, idiom):
    # was `(h[0] + self.bias, h[1] + self.bias)`: a Parameter was taken for a tensor made for the state, c got the bias too
    project = _masked(tmp_path, idiom)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 1
    joined = idiom.removeprefix("h = ")
    assert capsys.readouterr().out == (
        f"{project / 'agent.py'}:28:13: G2L100 `{joined}` adds `{joined.removeprefix('h + ')}`, which is not a hidden state, "
        "to the hidden state; with (h, c) the engine would do the same to c as to h, which is a choice it cannot make; write "
        "it on h alone (and say what c gets) by hand, or make the operand a state the engine follows\n"
    )


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("idiom", ["h = h * self.mask(done)", "h = h * self.flip(done)[:, None]"])
def test_a_function_of_the_program_that_only_computes_migrates_and_runs(tmp_path, form, idiom):
    project = _masked(tmp_path, idiom)
    assert main(["rewrite", "--quiet", "--state", form, str(project)]) == 0
    run_migrated(project, "import runpy; runpy.run_path('driver.py')")


# ---------------------------------------------------------------- the GRU class reached at module level
CELL_AGENT = """\
    {head}


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = Cell(4, 8)
            self.pi = nn.Linear(8, 2)

        def initial(self, n):
            return torch.zeros(n, 8)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h
"""

DRIVE_CELL = """\
    import torch
    from agent import Agent

    agent = Agent()
    h = agent.initial(3)
    for t in range(4):
        y, h = agent(torch.randn(3, 4), h)
        if t == 2:
            h = agent.initial(3)
    y.sum().backward()
"""


def _cell(tmp_path, head):
    write(tmp_path, {"agent.py": CELL_AGENT.replace("{head}", head), "driver.py": DRIVE_CELL, "pyproject.toml": ""})
    return tmp_path


@pytest.mark.parametrize("head, finding", [
    # torch.nn taken by getattr, then the class by getattr of it: the file was passed over, left a GRU ('unchanged', exit 0)
    ("import torch\n    nn = getattr(torch, 'nn')\n    Cell = getattr(nn, 'GRUCell')",
     "3:8: G2L101 `getattr(nn, 'GRUCell')` takes a module class of torch.nn by its name `GRUCell`, so the engine does not "
     "follow the module made from it: it would stay a GRU, whose state is one tensor, beside code that now passes and takes "
     "(h, c); use the class by its name where the module is made (`nn.GRU(...)`), or migrate this by hand"),
    # a module-level `finally:` block was not read: left a GRU
    ("import torch\n    import torch.nn as nn\n    try:\n        pass\n    finally:\n        Cell = nn.GRUCell",
     "6:12: G2L101 the class `nn.GRUCell` is assigned here, so the modules made from it are not followed: each would become "
     "an LSTM, whose state is (h, c), while the code around it still passes and takes one tensor; use `nn.GRU(...)` by its "
     "name where the module is made, or migrate this by hand"),
])
def test_a_gru_class_reached_by_getattr_of_getattr_or_in_a_finally_block_is_refused(tmp_path, capsys, head, finding):
    project = _cell(tmp_path, head)
    assert main(["rewrite", "--quiet", str(project)]) == 1
    assert capsys.readouterr().out == f"{project / 'agent.py'}:{finding}\n"


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_gru_class_imported_in_a_module_level_with_block_migrates(tmp_path, form):
    # it was left a GRU, 'unchanged', exit 0
    project = _cell(tmp_path, "import warnings\n    import torch\n    import torch.nn as nn\n    with warnings.catch_warnings():\n"
                              "        from torch.nn import GRUCell as Cell")
    assert main(["rewrite", "--quiet", "--state", form, str(project)]) == 0
    assert "from torch.nn import LSTMCell as Cell" in (project / "agent.py").read_text()
    run_migrated(project, "import runpy; runpy.run_path('driver.py')")
