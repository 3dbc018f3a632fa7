"""`super().forward(x, h)` in a subclass runs the base class's method: its arguments are followed
into it. It was a call of nothing known, so the subclass's state stayed one tensor while the
base's forward() took (h, c) (G2L202 only, exit 0, IndexError in the LSTM at run time)."""

from __future__ import annotations

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from single_file_runs import state_after

SOURCE = '''\
import torch
import torch.nn as nn


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8)

    def forward(self, x, h):
        out, h = self.gru(x, h)
        return out, h


class Child(Base):
    def __init__(self):
        super(Child, self).__init__()
        self.extra = nn.Linear(8, 2)

    def forward(self, x, h):
        out, h = SUPER.forward(x, h)
        return self.extra(out), h * 0.5


def run(steps):
    agent = Child()
    h = torch.zeros(1, 2, 8)
    for _ in range(steps):
        y, h = agent(torch.randn(1, 2, 4), h)
    return h
'''


@pytest.mark.parametrize("spelling", ["super()", "super(Child, self)"])
@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_a_base_method_called_through_super_takes_the_pair(spelling, state):
    migration = migrate_source(SOURCE.replace("SUPER", spelling), Options(state=state))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    assert not any("Base.forward" in f.message for f in migration.findings)  # its caller is known
    after = state_after(migration.source)
    h, c = after if state == "tuple" else after.chunk(2, dim=-1)
    assert h.shape == c.shape == (1, 2, 8) and c.abs().sum() > 0


def test_the_subclass_scales_both_halves():
    migration = migrate_source(SOURCE.replace("SUPER", "super()"), Options(state="tuple"))
    assert "return self.extra(out), (h[0] * 0.5, h[1] * 0.5)" in migration.source
