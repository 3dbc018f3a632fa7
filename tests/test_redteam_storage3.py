"""States that leave through numpy and come back from numpy rows (MAPPO style): a state read only
as `np.concatenate(buffer.states[step])` and written back through `np.split` is followed in either
form; one written back as an array built from pieces the engine cannot trace to the state is a
finding at that line, never a migration that runs with `h` where (h, c) belongs."""

from __future__ import annotations

import numpy as np
import torch

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options

NUMPY_ROWS = """\
import numpy as np
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.core = nn.GRU(4, 8)

    def forward(self, x, h):
        out, h = self.core(x.unsqueeze(0), h.transpose(0, 1).contiguous())
        return out, h.transpose(0, 1)


class Buffer:
    def __init__(self, steps):
        self.states = np.zeros((steps + 1, 2, 3, 1, 8), dtype=np.float32)

    def insert(self, step, states):
        self.states[step + 1] = states.copy()


def _t2n(x):
    return x.detach().cpu().numpy()


def collect(net, buffer, step):
    _, h = net(torch.randn(6, 4), torch.from_numpy(np.concatenate(buffer.states[step])))
EXIT


def run():
    net, buffer = Net(), Buffer(3)
    for step in range(3):
        states = collect(net, buffer, step)
        done = np.array([[True, False, False], [False, False, True]])
        states[done == True] = np.zeros(((done == True).sum(), 1, 8), dtype=np.float32)
        buffer.insert(step, states)
    return buffer
"""

SPLIT = "    return np.array(np.split(_t2n(h), 2))"


def migrated(exit_line: str, state: str):
    return migrate_source(NUMPY_ROWS.replace("EXIT", exit_line), Options(state=state))


def run(source: str):
    namespace: dict = {}
    exec(compile(source, "<migrated>", "exec"), namespace)
    torch.manual_seed(0)
    return namespace["run"]()


def test_rows_read_only_through_a_concatenation_are_a_state_each_half_its_own_rows():
    # the state's only way back into the GRU is `np.concatenate(buffer.states[step])`: the rows
    # of each half are joined, the allocation and the reset are per half, the return keeps c
    migration = migrated(SPLIT, "tuple")
    assert not migration.findings, migration.findings
    source = migration.source
    assert "np.concatenate(buffer.states[0][step])" in source and "np.concatenate(buffer.states[1][step])" in source
    assert "return out, (h[0].transpose(0, 1), h[1].transpose(0, 1))" in source
    assert "self.states[0][step + 1] = states[0].copy()\n        self.states[1][step + 1] = states[1].copy()" in source
    h, c = run(source).states
    assert np.abs(h[1:]).sum() > 0 and np.abs(c[1:]).sum() > 0


def test_rows_read_only_through_a_concatenation_are_packed_whole():
    migration = migrated(SPLIT, "packed")
    assert not migration.findings, migration.findings
    assert "np.zeros((steps + 1, 2, 3, 1, 2 * 8), dtype=np.float32)" in migration.source
    assert "h.chunk(2, dim=-1)[0]" not in migration.source  # the returned state is no features read
    states = run(migration.source).states
    assert states.shape[-1] == 16 and np.abs(states[1:, ..., 8:]).sum() > 0


UNTRACED_EXITS = {
    "a list literal of slices": "    h_np = h.detach().numpy()\n    return np.array([h_np[:3], h_np[3:]])",
    "a comprehension over a split": "    return np.array([part for part in np.split(_t2n(h), 2)])",
    "a list filled row by row": (
        "    rows = []\n    for i in range(2):\n        rows.append(_t2n(h)[3 * i:3 * (i + 1)])\n    return np.array(rows)"
    ),
}


def test_a_state_written_back_from_pieces_the_engine_cannot_trace_is_a_finding_in_either_form():
    for what, exit_line in UNTRACED_EXITS.items():
        for state in ("tuple", "packed"):
            migration = migrated(exit_line, state)
            codes = [f.code for f in migration.findings]
            assert "G2L101" in codes, (what, state, migration.findings)
            assert migration.source == NUMPY_ROWS.replace("EXIT", exit_line), (what, state)
    untraced = migrated(UNTRACED_EXITS["a list filled row by row"], "packed").findings
    assert any("`np.array(rows)`" in f.message and "cannot trace back to a state" in f.message for f in untraced), untraced
