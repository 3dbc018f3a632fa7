"""Red team wave 21 (`/work/scratch/rt21`): silent breaks found there, each now refused with the
exact finding, or migrated and run."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated
from tests.test_silent_gaps31 import ON_PATH, _project

# `blank(n)` of the library returns {"hidden": zeros(n, 8), "steps": 0}; {fill} is what start() does with it
FILLED_AGENT = """\
    import torch
    import torch.nn as nn
    from elsewhere import blank


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)

        def zeros(self, n):
            return torch.zeros(n, 8)

        def start(self, n, fresh=False):
            carry = blank(n)
    {fill}
            return carry

        def forward(self, x, carry):
            h = self.cell(x, carry["hidden"])
            return h.sum(), {"hidden": h, "steps": carry["steps"] + 1}
"""

DRIVE_FILLED = """\
    import torch
    from agent import Agent

    agent = Agent()
    carry = agent.start(3)
    for t in range(4):
        y, carry = agent(torch.randn(3, 4), carry)
        if t == 1:
            carry = agent.start(3)
"""


def _filled(tmp_path, fill: str):
    return _project(tmp_path, {"agent.py": FILLED_AGENT.replace("{fill}", fill), "driver.py": DRIVE_FILLED})


@pytest.mark.parametrize("fill", [
    # each was exit 0: the write did not surely put the program's tensor there, the library's stayed one tensor
    '        if fresh:\n                carry["hidden"] = torch.zeros(n, 8)',
    '        carry.setdefault("hidden", torch.zeros(n, 8))',
    '        h = self.cell(torch.zeros(n, 4), carry["hidden"])\n            carry["hidden"] = h',
    '        carry["hidden"] = self.cell(torch.zeros(n, 4), carry["hidden"])',
])
def test_a_library_holder_not_surely_filled_by_the_program_is_refused(tmp_path, capsys, fill):
    project = _filled(tmp_path, fill)
    assert main(["rewrite", "--quiet", str(project)]) == 1
    assert capsys.readouterr().out.startswith(
        f"{project / 'agent.py'}:15:17: G2L101 `carry` holds hidden states, but here it receives what `blank(n)` returns, "
        "which the engine cannot follow, so the states in it would stay one tensor; migrate this use by hand, or give the "
        "file that defines the code it reaches in the same run\n"
    )


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("fill", [
    '        carry["hidden"] = torch.zeros(n, 8)',
    '        carry["hidden"] = self.zeros(n)',
    '        with torch.no_grad():\n                carry["hidden"] = torch.zeros(n, 8)',
])
def test_a_library_holder_the_program_fills_right_after_migrates(tmp_path, form, fill):
    project = _filled(tmp_path, fill)
    assert main(["rewrite", "--quiet", "--state", form, str(project)]) == 0
    run_migrated(project, ON_PATH + "import driver")
