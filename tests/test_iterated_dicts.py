"""A dict of hidden states, iterated: the loop takes its keys, which are no states."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from test_cross_file import write

MODEL = textwrap.dedent('''\
    import torch
    import torch.nn as nn


    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def forward(self, x, h):
            return self.gru(x, h)


    def run(steps):
        m = M()
        hidden = MADE
        for i in range(2):
            hidden[i] = torch.zeros(1, 1, 8)
        for t in range(steps):
            for i in LOOPED:
                y, hidden[i] = m(torch.randn(1, 1, 4), hidden[i])
        return hidden[0]
''')


@pytest.mark.parametrize("made, looped", [
    ("{i: torch.zeros(1, 1, 8) for i in range(2)}", "hidden"),
    ("{}", "hidden"),
    ("dict()", "list(hidden)"),
    ("OrderedDict()", "sorted(hidden)"),
])
def test_the_keys_of_a_dict_of_states_stay_keys(tmp_path, monkeypatch, made, looped):
    source = MODEL.replace("MADE", made).replace("LOOPED", looped)
    if "OrderedDict" in made:
        source = "from collections import OrderedDict\n\n" + source
    write(tmp_path, {"model.py": source})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "--state", "tuple", "."]) == 0
    migrated = (tmp_path / "model.py").read_text()
    assert "y, hidden[i] = m(torch.randn(1, 1, 4), hidden[i])" in migrated
    assert "hidden[i] = (\n            torch.zeros(1, 1, 8),\n            torch.zeros(1, 1, 8),\n        )" in migrated
