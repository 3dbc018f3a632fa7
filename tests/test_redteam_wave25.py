"""Red team wave 25 (`/work/scratch/rt25`): silent breaks found there, each now refused with the
exact finding, or migrated and run."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# forward() applies {idiom} to h before the cell; {methods} are the agent's helpers, {top} module
# functions; the driver asserts that one call a step was counted
AGENT = """\
    import functools

    import torch
    import torch.nn as nn

    LOG = []
    {top}

    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            self.calls = 0

        def initial(self, n):
            return torch.zeros(n, 8)

        def forward(self, x, h, done):
            {idiom}
            h = self.cell(x, h)
            return self.pi(h), h
    {methods}
"""

DRIVE = """\
    import torch
    import agent as A

    agent = A.Agent()
    h = agent.initial(3)
    done = torch.zeros(3)
    for t in range(4):
        y, h = agent(torch.randn(3, 4), h, done)
        done = torch.tensor([0.0, 1.0, 0.0])
    y.sum().backward()
    assert agent.calls in (0, 4) and len(A.LOG) in (0, 4), (agent.calls, A.LOG)
"""

COUNTING_GATE = "def gate(self, h):\n    self.calls += 1\n    return h.clamp(0, 1)"
PURE_GATE = "def gate(self, h):\n    return h.clamp(0, 1)"
COUNTING_DECORATOR = """
def count_calls(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        LOG.append(1)
        return fn(*args)
    return wrapper


@count_calls
def keep(d):
    return (1 - d).unsqueeze(-1)
"""
PLAIN_DECORATOR = "\n@torch.no_grad()\ndef keep(d):\n    return (1 - d).unsqueeze(-1)\n"


def _agent(tmp_path, idiom, methods="", top=""):
    methods = "\n" + "\n".join("        " + line for line in methods.splitlines())
    top = "\n".join("    " + line for line in top.splitlines())
    agent = AGENT.replace("{idiom}", idiom).replace("{methods}", methods).replace("{top}", top)
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE, "pyproject.toml": ""})
    return tmp_path


@pytest.mark.parametrize("idiom, methods, top, call", [
    # a method of the program given the state that counts: written once per half (`(h[0] *
    # self.gate(h[0]), h[1] * self.gate(h[1]))`), exit 0, the count doubled
    ("h = h * self.gate(h)", COUNTING_GATE, "", "self.gate(h)"),
    # a function under a decorator that wraps it in code that counts: the walk ran the function as
    # written, which only computes (exit 0, the count doubled)
    ("h = h * keep(done)", "", COUNTING_DECORATOR, "keep(done)"),
])
def test_a_call_that_counts_is_refused_whatever_its_arguments(tmp_path, capsys, idiom, methods, top, call):
    project = _agent(tmp_path, idiom, methods, top)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 1
    source = (project / "agent.py").read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if idiom in text)
    top_code = idiom.removeprefix("h = ")
    assert capsys.readouterr().out == (
        f"{project / 'agent.py'}:{line}:{top_code.index(call) + 13}: G2L100 `{call}` would run twice, once per half of the "
        f"hidden state, in `{top_code}`, and the engine cannot tell that it only computes a value; assign it to a name first\n"
    )


@pytest.mark.parametrize("idiom, methods, top", [
    # the same calls when they only compute: written once per half, each half gated by itself
    ("h = h * self.gate(h)", PURE_GATE, ""),
    ("h = h * keep(done)", "", PLAIN_DECORATOR),
])
def test_a_call_that_only_computes_is_written_per_half_and_runs(tmp_path, idiom, methods, top):
    project = _agent(tmp_path, idiom, methods, top)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 0
    run_migrated(project, "import runpy; runpy.run_path('driver.py')")


@pytest.mark.parametrize("idiom, methods, operand", [
    # features of the state kept apart (a local, a helper's result): the features rule gave them
    # h alone, and `h * g` multiplied [h|c] by h (exit 0, then a crash: 16 against 8)
    ("g = torch.sigmoid(h)\n            h = h * g", "", "g"),
    ("h = h * self.gate(h)", "def gate(self, h):\n    return torch.sigmoid(h)", "self.gate(h)"),
])
def test_packed_features_of_the_state_as_an_operand_are_refused(tmp_path, capsys, idiom, methods, operand):
    project = _agent(tmp_path, idiom, methods)
    assert main(["rewrite", "--quiet", "--state", "packed", str(project)]) == 1
    line = 20 + idiom.count("\n")
    top = idiom.splitlines()[-1].strip().removeprefix("h = ")
    assert capsys.readouterr().out == (
        f"{project / 'agent.py'}:{line}:13: G2L100 `{top}` combines the hidden state with `{operand}`, computed from the "
        "hidden state as features, which the packed form gives h alone, as wide as h; in the packed form the state is h "
        "and c side by side, twice as wide, so the two would no longer line up; use --state tuple, or migrate this by hand\n"
    )


def test_packed_state_times_its_own_features_written_inline_migrates_and_runs(tmp_path):
    # `torch.sigmoid(h)` inline stays on [h|c]: each half gated by itself
    project = _agent(tmp_path, "h = h * torch.sigmoid(h)")
    assert main(["rewrite", "--quiet", "--state", "packed", str(project)]) == 0
    run_migrated(project, "import runpy; runpy.run_path('driver.py')")


def test_packed_storage_allocated_like_a_template_is_refused(tmp_path, capsys):
    # `np.zeros_like(self.template)` was taken for a tensor made like the state, packed already:
    # the template kept the hidden size, and storing [h|c] into it failed (exit 0, then a crash)
    runner = """\
        import numpy as np
        import torch
        import torch.nn as nn


        class Runner:
            def __init__(self, steps, n):
                self.cell = nn.GRUCell(4, 8)
                self.template = np.zeros((steps, n, 8), dtype=np.float32)
                self.states = np.zeros_like(self.template)

            def run(self, steps):
                h = torch.zeros(3, 8)
                for t in range(steps):
                    self.states[t] = h.detach().numpy()
                    h = self.cell(torch.randn(3, 4), torch.as_tensor(self.states[t]))
    """
    write(tmp_path, {"runner.py": runner, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert capsys.readouterr().out == (
        f"{tmp_path / 'runner.py'}:10:23: G2L100 `np.zeros_like(self.template)` takes its shape from `self.template`, which is "
        "not the hidden state, so the engine cannot double its hidden size; allocate it with its sizes, or use --state tuple\n"
    )
