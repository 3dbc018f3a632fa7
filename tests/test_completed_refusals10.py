"""Gaps the red teams of session 33 found (complete13). A tensor the module owns (a registered
buffer, a parameter) added to the state is an offset of h, not a state: it is refused in both forms
(packed took it for a state and doubled it, so c got the offset too)."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import write

OFFSET_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            OFFSET

        def initial(self, n):
            return torch.zeros(n, 8)

        def forward(self, x, h):
            h = h + self.offset
            h = self.cell(x, h)
            return self.pi(h), h


    agent = Agent()
    h = agent.initial(3)
    for t in range(4):
        y, h = agent(torch.randn(3, 4), h)
"""

OFFSETS = [
    "self.register_buffer('offset', torch.zeros(8)); nn.init.normal_(self.offset)",
    "self.register_buffer('offset', torch.zeros(8))",
    "self.offset = nn.Parameter(torch.randn(8))",
]
ADDED = {
    "tuple": "agent.py:16:13: G2L100 `h + self.offset` adds `self.offset`, which is not a hidden state, to the hidden state",
    "auto": "agent.py:16:13: G2L100 `h + self.offset` adds `self.offset`, which is not a hidden state, to the hidden state",
    "packed": "agent.py:16:13: G2L100 `h + self.offset` combines the hidden state with `self.offset`",
}


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_tensor_the_module_owns_added_to_the_state_is_refused(tmp_path, capsys, form, offset):
    write(tmp_path, {"agent.py": OFFSET_AGENT.replace("OFFSET", offset), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    assert f"{tmp_path}/{ADDED[form]}" in capsys.readouterr().out
    assert (tmp_path / "agent.py").read_text() == before
