"""Recurrent modules iterated from a tuple or list written in place (`for cell in (self.lower,
self.upper)`, `zip((self.a, self.b), (ha, hb))`, `for cell, h in ((self.a, ha), (self.b, hb))`):
the element iterated holds those modules, so its calls are recurrent calls. They were calls of
nothing known: the GRUCells became LSTMCells and every call kept passing one tensor (exit 0, no
finding, broken at the first step)."""

from __future__ import annotations

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from single_file_runs import state_after

NET = '''\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.GRUCell(4, 8)
        self.b = nn.GRUCell(4, 8)

    def forward(self, x, ha, hb):
        new = []
        LOOP
        return new[0], new[1]


def run(steps):
    net = Net()
    ha, hb = torch.zeros(2, 8), torch.zeros(2, 8)
    for _ in range(steps):
        ha, hb = net(torch.randn(2, 4), ha, hb)
    return hb
'''

LOOPS = {
    "zip": "for cell, h in zip((self.a, self.b), (ha, hb)):\n            new.append(cell(x, h))",
    "zip_lists": "for cell, h in zip([self.a, self.b], [ha, hb]):\n            new.append(cell(x, h))",
    "pairs": "for cell, h in ((self.a, ha), (self.b, hb)):\n            new.append(cell(x, h))",
}


@pytest.mark.parametrize("state", ["tuple", "packed"])
@pytest.mark.parametrize("loop", LOOPS.values(), ids=LOOPS.keys())
def test_modules_iterated_from_a_literal_are_called_with_the_pair(loop, state):
    migration = migrate_source(NET.replace("LOOP", loop), Options(state=state))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    after = state_after(migration.source)
    h, c = after if state == "tuple" else after.chunk(2, dim=-1)
    assert h.shape == c.shape == (2, 8) and c.abs().sum() > 0


def test_one_module_iterated_from_a_tuple_feeds_the_state_on():
    source = NET.replace("LOOP", "for cell in (self.a, self.b):\n            ha = cell(x, ha)\n        new = [ha, ha]")
    migration = migrate_source(source, Options(state="tuple"))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    h, c = state_after(migration.source)
    assert c.abs().sum() > 0


def test_a_layer_fed_on_under_one_name_is_held_as_two_or_refused_packed():
    source = NET.replace("LOOP", "for cell, h in ((self.a, ha), (self.b, hb)):\n            x = cell(x, h)\n            new.append(x)").replace(
        "nn.GRUCell(4, 8)\n        self.b = nn.GRUCell(4, 8)", "nn.GRUCell(4, 4)\n        self.b = nn.GRUCell(4, 4)"
    ).replace("torch.zeros(2, 8), torch.zeros(2, 8)", "torch.zeros(2, 4), torch.zeros(2, 4)")
    migration = migrate_source(source, Options(state="tuple"))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    h, c = state_after(migration.source)
    assert c.abs().sum() > 0
    migration = migrate_source(source, Options(state="packed"))
    assert not migration.changed and "G2L100" in [f.code for f in migration.findings]


def test_a_name_for_the_input_then_each_layers_state_feeds_h_in_both_forms():
    """`inp = x`, then `inp = h_new` over layers: the tuple form split `inp` and wrote
    `inp, inp_c = x`, so callers passed the observation as a pair (exit 0, running, wrong); then
    it was refused. Now `inp = h_new` is the layer's features: inp is never a state."""
    source = """\\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.cells = nn.ModuleList([nn.GRUCell(4, 4), nn.GRUCell(4, 4)])

    def forward(self, x, hs):
        inp = x
        new = []
        for i, cell in enumerate(self.cells):
            h_new = cell(inp, hs[i])
            new.append(h_new)
            inp = h_new
        return inp, new


def run(steps):
    net = Net()
    hs = [torch.zeros(2, 4), torch.zeros(2, 4)]
    for _ in range(steps):
        y, hs = net(torch.randn(2, 4), hs)
    return hs
"""
    for state in ("tuple", "packed"):
        migration = migrate_source(source, Options(state=state))
        assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
        assert "inp = x\n" in migration.source and "inp_c" not in migration.source
        for h in state_after(migration.source):
            c = h[1] if state == "tuple" else h.chunk(2, dim=-1)[1]
            assert c.abs().sum() > 0, state
