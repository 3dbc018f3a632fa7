"""Red team wave 23 (`/work/scratch/rt23`): silent breaks found there, each now refused with the
exact finding, or migrated and run."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# forward() applies {idiom} to h before the cell; {methods} are the agent's helpers, {tail} more
# classes; the driver asserts that the agent counted one call a step
AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            self.calls = 0
            self.step = 0
            self.seen = torch.zeros(1)
            self.log = []
            self.gate = Gate()
            self.bias = nn.Parameter(torch.zeros(8))

        def initial(self, n):
            return torch.zeros(n, 8)

        def forward(self, x, h, done):
            {idiom}
            h = self.cell(x, h)
            self.step += 1
            return self.pi(h), h
    {methods}


    class Gate:
        def __init__(self):
            self.calls = 0

        def mean(self, done):
            self.calls += 1
            return (1 - done).unsqueeze(-1)


    class Counting(Agent):
        def keep(self, done):
            self.calls += 1
            return (1 - done).unsqueeze(-1)

        @property
        def wrap(self):
            self.calls += 1
            return 1.0
"""

DRIVE = """\
    import torch
    from agent import Agent

    agent = Agent()
    h = agent.initial(3)
    done = torch.zeros(3)
    for t in range(4):
        y, h = agent(torch.randn(3, 4), h, done)
        done = torch.tensor([0.0, 1.0, 0.0])
    y.sum().backward()
    assert len(agent.log) in (0, 4) and agent.calls in (0, 4) and agent.seen.item() in (0, 4), (agent.log, agent.calls)
"""

KEEP = "def keep(self, done):\n    {body}\n    return (1 - done).unsqueeze(-1)"


def _agent(tmp_path, idiom, methods):
    methods = "\n" + "\n".join("        " + line for line in methods.splitlines())
    write(tmp_path, {"agent.py": AGENT.replace("{idiom}", idiom).replace("{methods}", methods), "driver.py": DRIVE, "pyproject.toml": ""})
    return tmp_path


@pytest.mark.parametrize("idiom, methods, call", [
    # each was exit 0 in the tuple form, written once per half: the count doubled
    # a store through a local alias, in place (`log += [...]`, `seen += 1` of a tensor)
    ("h = h * self.keep(done)", KEEP.format(body="log = self.log\n    log += [done]"), "self.keep(done)"),
    ("h = h * self.keep(done)", KEEP.format(body="seen = self.seen\n    seen += 1"), "self.keep(done)"),
    # an in-place method of a tensor held in an attribute
    ("h = h * self.keep(done)", KEEP.format(body="self.seen.add_(1)"), "self.keep(done)"),
    # a property that counts, read in the operand or in a helper it calls
    ("h = h * self.now", "@property\ndef now(self):\n    self.calls += 1\n    return torch.ones(1, 1)", "self.now"),
    ("h = h * self.keep(done)", KEEP.format(body="self.wrap") + "\n\n@property\ndef wrap(self):\n    self.calls += 1\n    return 1.0",
     "self.keep(done)"),
    # the method of the class only computes, a subclass's override counts
    ("h = h * self.keep(done)", KEEP.format(body="pass"), "self.keep(done)"),
    # a subclass's property counts
    ("h = h * self.wrap", "@property\ndef wrap(self):\n    return 1.0", "self.wrap"),
    # a method of the program named like a tensor's (`mean`)
    ("h = h * self.gate.mean(done)", "", "self.gate.mean(done)"),
    # a method that gives back its argument: the call's value is the argument's, not its return
    ("m = (1 - done).unsqueeze(-1)\n            h = h * self.keep(m)", "def keep(self, m):\n    self.calls += 1\n    return m",
     "self.keep(m)"),
])
def test_a_call_that_stores_through_what_it_runs_is_refused(tmp_path, capsys, idiom, methods, call):
    project = _agent(tmp_path, idiom, methods)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 1
    line = 21 + idiom.count("\n")
    top = idiom.splitlines()[-1].strip().removeprefix("h = ")
    assert capsys.readouterr().out == (
        f"{project / 'agent.py'}:{line}:{top.index(call) + 13}: G2L100 `{call}` would run twice, once per half of the hidden state, "
        f"in `{top}`, and the engine cannot tell that it only computes a value; assign it to a name first\n"
    )


@pytest.mark.parametrize("idiom, methods", [
    # a helper that reads an attribute the program counts elsewhere, and a local counter
    ("h = h * self.fade(done)", "def fade(self, done):\n    total = 0\n    for _ in range(self.step):\n        total += 1\n    return (1 - done).unsqueeze(-1) / (1 + total)"),
    # builtins that give a number (`len`, `float`) only compute (it was G2L100 'would run twice')
    ("h = h * float(len(self.log) < 100)", ""),
])
def test_a_call_that_only_computes_migrates_and_runs(tmp_path, idiom, methods):
    project = _agent(tmp_path, idiom, methods)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 0
    run_migrated(project, "import runpy; runpy.run_path('driver.py')")


@pytest.mark.parametrize("idiom, operand", [
    # a learned bias spread over the state's shape by a fresh tensor was taken for a tensor made for
    # the state (a reset): the tuple form added it to c too, exit 0
    ("h = h + torch.ones_like(h) * self.bias", "torch.ones_like(h) * self.bias"),
    ("h = torch.where(done.bool().unsqueeze(-1), h.new_ones(h.shape) * self.bias, h)", "h.new_ones(h.shape) * self.bias"),
])
def test_a_learned_bias_scaled_by_a_fresh_tensor_is_refused(tmp_path, capsys, idiom, operand):
    project = _agent(tmp_path, idiom, "")
    assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 1
    top = idiom.removeprefix("h = ")
    what = "adds" if "+" in top else "joins"
    assert capsys.readouterr().out == (
        f"{project / 'agent.py'}:21:13: G2L100 `{top}` {what} `{operand}`, which is not a hidden state, to the hidden state; "
        "with (h, c) the engine would do the same to c as to h, which is a choice it cannot make; write it on h alone "
        "(and say what c gets) by hand, or make the operand a state the engine follows\n"
    )


CARRIED = """\
    import torch
    import torch.nn as nn
    from typing import TypedDict
    from typing_extensions import NotRequired


    class Carry(TypedDict):
        hidden: NotRequired[torch.Tensor]
        steps: int


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def start(self, n) -> Carry:
            return Carry(hidden=torch.zeros(n, 8), steps=0)

        def forward(self, x, carry: Carry):
            h = self.cell(x, carry["hidden"])
            return self.pi(h), Carry(hidden=h, steps=carry["steps"] + 1)
"""

DRIVE_CARRIED = """\
    import torch
    from agent import Agent

    agent = Agent()
    carry = agent.start(3)
    for t in range(4):
        y, carry = agent(torch.randn(3, 4), carry)
        if t == 1:
            carry = agent.start(3)
    y.sum().backward()
"""


def test_a_typed_dict_field_not_required_becomes_a_pair_inside_it(tmp_path):
    # it was `Tuple[NotRequired[torch.Tensor], NotRequired[torch.Tensor]]`, which no type checker takes
    write(tmp_path, {"agent.py": CARRIED, "driver.py": DRIVE_CARRIED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "    hidden: NotRequired[Tuple[torch.Tensor, torch.Tensor]]\n" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
