"""Preallocated storage in the tuple form (a2c-ppo-acktr and R2D2 style): a state copied or
written into rows of one tensor or array is written into the rows of each half, and the time
index stays a time index."""

from __future__ import annotations

import textwrap

import numpy as np
import torch

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from test_rules import HEADER

ROLLOUTS = """
class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.core = nn.GRU(4, 8)

    def act(self, x, hxs):
        out, hxs = self.core(x.unsqueeze(0), hxs.unsqueeze(0))
        return out.squeeze(0), hxs.squeeze(0)


class Storage:
    def __init__(self, steps, envs):
        self.hxs = torch.zeros(steps + 1, envs, 8)
        self.step = 0

    def insert(self, hxs):
        WRITE
        self.step += 1

    def after_update(self):
        self.hxs[0].copy_(self.hxs[-1])


def run():
    policy, storage = Policy(), Storage(3, 2)
    for step in range(3):
        _, hxs = policy.act(torch.randn(2, 4), storage.hxs[step])
        storage.insert(hxs)
    storage.after_update()
    return storage
"""


def migrated(write: str):
    code = textwrap.dedent(ROLLOUTS).replace("WRITE", write)
    return migrate_source(HEADER + code, Options(state="tuple"))


def run(source: str):
    namespace: dict = {}
    exec(compile(source, "<migrated>", "exec"), namespace)
    return namespace["run"]()


def test_a_state_copied_into_a_row_is_copied_into_the_row_of_each_half():
    migration = migrated("self.hxs[self.step + 1].copy_(hxs)")
    assert not migration.findings, migration.findings
    assert "self.hxs[0][self.step + 1].copy_(hxs[0])\n        self.hxs[1][self.step + 1].copy_(hxs[1])" in migration.source
    # `[0]` and `[-1]` are times: each half copies its last row into its first
    assert "self.hxs[0][0].copy_(self.hxs[0][-1])\n        self.hxs[1][0].copy_(self.hxs[1][-1])" in migration.source
    storage = run(migration.source)
    h, c = storage.hxs
    assert c[0].abs().sum() > 0 and torch.equal(c[0], c[-1])


def test_a_state_name_assigned_into_a_row_is_assigned_into_the_row_of_each_half():
    # a plain name moved whole elsewhere is kept; into rows of one tensor it must be split
    migration = migrated("self.hxs[self.step + 1] = hxs")
    assert not migration.findings, migration.findings
    assert "self.hxs[0][self.step + 1] = hxs[0]\n        self.hxs[1][self.step + 1] = hxs[1]" in migration.source
    assert run(migration.source).hxs[1][1].abs().sum() > 0


def test_a_copy_into_rows_of_an_expression_evaluated_twice_is_a_finding():
    migration = migrated("self.pick()[self.step + 1].copy_(hxs)\n\n    def pick(self):\n        return self.hxs")
    assert [f.code for f in migration.findings] == ["G2L100"] and "`self.pick()`" in migration.findings[0].message


NUMPY_REPLAY = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.core = nn.GRU(4, 8, batch_first=True)

    def forward(self, x, h):
        return self.core(x, h)


class Replay:
    def __init__(self, capacity):
        self.start = np.zeros((capacity, 8), np.float32)
        self.i = 0

    def push(self, state):
        self.start[self.i] = state[0, 0].detach().cpu().numpy()
        self.i += 1

    def sample(self, idx):
        return torch.from_numpy(self.start[idx]).unsqueeze(0)


def run():
    net, replay = Net(), Replay(4)
    h = torch.zeros(1, 1, 8)
    for _ in range(4):
        _, h = net(torch.randn(1, 2, 4), h)
        replay.push(h)
    _, h = net(torch.randn(2, 2, 4), replay.sample(np.array([1, 2])))
    return replay
"""


def test_a_state_written_into_rows_of_a_numpy_array_goes_into_an_array_per_half():
    migration = migrate_source("import numpy as np\n" + HEADER + textwrap.dedent(NUMPY_REPLAY), Options(state="tuple"))
    assert not migration.findings, migration.findings
    assert "self.start[0][self.i] = state[0][0, 0].detach().cpu().numpy()" in migration.source
    start = run(migration.source).start
    assert isinstance(start, tuple) and all(np.abs(half).sum() > 0 for half in start)
