"""Packed form: a state padded with fresh rows (`torch.cat([h, torch.zeros(1, k, H)], dim=1)` when
environments are added) joins an allocation into the state, so the allocation is as wide as the
packed state (exit 0 before, then a size error). The tuple form joins each half with the fresh rows
(session 35; it asked for the allocation by name)."""

from __future__ import annotations

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

MODEL = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h, extra):
            out, h = self.gru(x, torch.cat([h, torch.zeros(1, extra, 8)], dim=1))
            return self.pi(out[-1]), h


    def grow(h, k):
        return torch.cat([torch.zeros(1, k, 8), h], dim=1)
"""

RUNNER = """\
    import torch
    from model import Net, grow


    def run():
        net = Net()
        h = torch.zeros(1, 2, 8)
        for t in range(3):
            y, h = net(torch.randn(1, 2 + t, 4), h, 1 if t > 0 else 0)
            if t == 1:
                alive = torch.tensor([0, 2])
                h = h.index_select(1, alive)
                h = torch.cat([h, torch.zeros(1, 1, 8)], dim=1)
        h = grow(h[:, 1:], 1)
        y, h = net(torch.randn(1, 4, 4), h, 0)
        y.sum().backward()
"""


def test_allocations_joined_into_a_packed_state_are_doubled(tmp_path):
    write(tmp_path, {"model.py": MODEL, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    model, runner = (tmp_path / "model.py").read_text(), (tmp_path / "runner.py").read_text()
    assert "self.lstm(x, torch.cat([h, torch.zeros(1, extra, 2 * 8)], dim=1).chunk(2, dim=-1))" in model
    assert "return torch.cat([torch.zeros(1, k, 2 * 8), h], dim=1)" in model
    assert "h = torch.cat([h, torch.zeros(1, 1, 2 * 8)], dim=1)" in runner
    run_migrated(tmp_path, "from runner import run\nrun()\n")


def test_the_tuple_form_joins_each_half_with_the_fresh_rows(tmp_path):
    # G2L100 "batches stored hidden states from an expression the engine would have to evaluate twice" before
    write(tmp_path, {"model.py": MODEL, "runner.py": RUNNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    model = (tmp_path / "model.py").read_text()
    assert "return (torch.cat([torch.zeros(1, k, 8), h[0]], dim=1), torch.cat([torch.zeros(1, k, 8), h[1]], dim=1))" in model
    run_migrated(tmp_path, "from runner import run\nrun()\n")
