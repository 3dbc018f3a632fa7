"""Red team wave 31 (`/work/scratch/rt31`): styles of real recurrent-RL code not tried before,
each migrated and run, or refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# the state taken with the rest of a call's results into a starred target
STARRED = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            out, *rest = self.gru(x.unsqueeze(0), h)
            return self.pi(out[0]), rest[0]
"""

STARRED_DRIVER = """\
    import torch

    from model import Net

    net = Net()
    h = torch.zeros(1, 2, 8)
    for t in range(3):
        o, h = net(torch.randn(2, 4), h)
    o.sum().backward()
"""


def test_a_packed_state_unpacked_into_a_starred_target_is_refused(tmp_path, capsys):
    # exit 0 and a crash: `rest = torch.cat(rest, dim=-1)` was written after the call, where `rest`
    # is a list holding the pair
    write(tmp_path, {"model.py": STARRED, "driver.py": STARRED_DRIVER, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:12:22: G2L100 the packed form needs the state of `self.gru(x.unsqueeze(0), h)` unpacked "
        "into a name of its own, and here it lands in the list of the starred target `*rest`; unpack it as `out, h = ...`, "
        "or use --state tuple"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before
