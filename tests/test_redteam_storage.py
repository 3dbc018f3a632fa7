"""Preallocated storage in the tuple form (a2c-ppo-acktr and R2D2 style): a state copied or
written into rows of one tensor or array is written into the rows of each half, and the time
index stays a time index."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import torch

from gru2lstm.cli import main
from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from gru2lstm.project import Project
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


ELEMENT_ROWS = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.core = nn.GRU(4, 8)

    def initial_state(self):
        return torch.zeros(1, 1, 8)

    def forward(self, x, h):
        out, h = self.core(x, h)
        return out, h


def act(net, buffers, index):
    state = net.initial_state()
    for _ in range(2):
        buffers[index][...] = state
        _, state = net(torch.randn(1, 1, 4), state)


def run():
    net = Net()
    buffers = [net.initial_state() for _ in range(2)]
    for i in range(2):
        act(net, buffers, i)
    _, h = net(torch.randn(1, 2, 4), torch.cat([buffers[i] for i in range(2)], dim=1))
    return buffers
"""


def test_a_state_written_into_all_rows_of_a_stored_one_is_followed():
    # `buffers[index][...] = state` (TorchBeast): a state written into an element of a list of
    # states. Packed: the packed state is written whole; tuple form: each half into its half.
    packed = migrate_source(HEADER + textwrap.dedent(ELEMENT_ROWS))
    assert not packed.findings, packed.findings
    assert "buffers[index][...] = state\n" in packed.source
    run(packed.source)
    pair = migrate_source(HEADER + textwrap.dedent(ELEMENT_ROWS), Options(state="tuple"))
    assert not pair.findings, pair.findings
    assert "buffers[index][0][...] = state[0]\n        buffers[index][1][...] = state[1]" in pair.source
    assert all(isinstance(held, tuple) for held in run(pair.source))


NET = '''\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.core = nn.GRU(4, 8, batch_first=True)

    def initial_state(self):
        return torch.zeros(1, 1, 8)

    def forward(self, x, h):
        out, h = self.core(x, h)
        return out, h
'''

REPLAY = '''\
import torch


class Replay:
    def __init__(self, capacity):
        self.starts = torch.zeros(capacity, 8)
        self.n = 0

    def push(self, start):
        self.starts[self.n] = start[0, 0]
        self.n += 1

    def sample(self, idx):
        return self.starts[idx].unsqueeze(0)
'''

TRAIN = '''\
import torch
from net import Net
from replay import Replay


def collect(net, replay, steps):
    state = net.initial_state()
    for _ in range(steps):
        with torch.no_grad():
            _, state = net(torch.randn(1, 1, 4), state)
        replay.push(state)


def learn(net, replay):
    state = replay.sample(torch.tensor([0, 1]))
    out, _ = net(torch.randn(2, 3, 4), state)
    return out.sum()


def main():
    net, replay = Net(), Replay(4)
    collect(net, replay, 3)
    return learn(net, replay), replay
'''


def test_a_parameter_given_an_instance_of_a_storage_class_of_another_file_is_followed(tmp_path, monkeypatch):
    # `collect(net, replay)` with `replay = Replay(...)` of replay.py, which has no GRU: only
    # the files imported from show what `replay.push(state)` runs, so they are analysed too.
    for name, text in {"net.py": NET, "replay.py": REPLAY, "train.py": TRAIN}.items():
        (tmp_path / name).write_text(text)
    for form, allocation in (("tuple", "self.starts = (\n            torch.zeros(capacity, 8),"), ("packed", "torch.zeros(capacity, 2 * 8)")):
        folder = tmp_path / form
        folder.mkdir()
        for name in ("net.py", "replay.py", "train.py"):
            (folder / name).write_text((tmp_path / name).read_text())
        assert main(["rewrite", "--quiet", "--state", form, str(folder)]) == 0
        assert allocation in (folder / "replay.py").read_text()
        monkeypatch.syspath_prepend(str(folder))
        for name in ("net", "replay", "train"):
            sys.modules.pop(name, None)
        import train

        loss, replay = train.main()
        halves = replay.starts if form == "tuple" else replay.starts.chunk(2, dim=-1)
        assert all(half[:3].abs().sum() > 0 for half in halves)
        for name in ("net", "replay", "train"):
            sys.modules.pop(name, None)


RETURNED_CALL = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.core = nn.GRU(4, 8)

    def forward(self, x, h):
        return CALL


store = torch.zeros(5, 1, 1, 8)
net = Net()
h = torch.zeros(1, 1, 8)
for t in range(4):
    USE
    store[t + 1] = h
"""


def test_a_recurrent_call_whose_new_state_is_not_unpacked_is_refused_in_the_packed_form():
    # `list(self.core(x, h))`: the packed form packs (h, c) again after an unpacking only; a
    # result that flows on whole would carry a tuple into the packed storage.
    code = textwrap.dedent(RETURNED_CALL).replace("CALL", "list(self.core(x, h))").replace("USE", "_, h = net(torch.randn(1, 1, 4), h)")
    migration = migrate_source(HEADER + code, Options(state="packed"))
    assert [f.code for f in migration.findings] == ["G2L100"], migration.findings
    assert "`self.core(x, h)`" in migration.findings[0].message
    # returned as it is, alone on its line: unpacked into fresh names and packed again (session 30)
    code = textwrap.dedent(RETURNED_CALL).replace("CALL", "self.core(x, h)").replace("USE", "_, h = net(torch.randn(1, 1, 4), h)")
    migration = migrate_source(HEADER + code, Options(state="packed"))
    assert not migration.findings, migration.findings
    assert "return output, torch.cat(hxs, dim=-1)" in migration.source
    exec(compile(migration.source, "<migrated>", "exec"), {})
    # only the output taken: the new state is thrown away, nothing to pack
    code = textwrap.dedent(RETURNED_CALL).replace("CALL", "self.core(x, h)[0]").replace("USE", "y = net(torch.randn(1, 1, 4), h)")
    migration = migrate_source(HEADER + code, Options(state="packed"))
    assert not migration.findings, migration.findings
    exec(compile(migration.source, "<migrated>", "exec"), {})


def test_a_second_gru_file_imported_beside_the_first_is_in_the_core_of_the_group(tmp_path):
    # decoder.py and encoder.py each build a GRU; model.py imports both. The encoder is not only
    # a file the decoder's group imports from (tried only when the group needs a person): its
    # GRU is a seed of its own, so it is migrated (or refused) with the group.
    gru = "import torch.nn as nn\n\n\nclass {0}(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.gru = nn.GRU(4, 8)\n"
    files = {
        "decoder.py": gru.format("Decoder"),
        "encoder.py": gru.format("Encoder"),
        "model.py": "from decoder import Decoder\nfrom encoder import Encoder\n\nparts = Decoder(), Encoder()\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    paths = sorted(tmp_path.glob("*.py"))
    groups = Project(paths).groups([0, 1])
    assert [(group.core, group.near) for group in groups] == [([0, 1, 2], [])]


MAPPO = """
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
    return np.array(np.split(_t2n(h), 2))


def run():
    net, buffer = Net(), Buffer(3)
    for step in range(3):
        states = collect(net, buffer, step)
        done = np.array([[True, False, False], [False, False, True]])
        states[done == True] = np.zeros(((done == True).sum(), 1, 8), dtype=np.float32)
        buffer.insert(step, states)
    _, h = net(torch.randn(6, 4), torch.from_numpy(buffer.states[1].reshape(6, 1, 8)))
    return buffer
"""


def test_rows_of_a_preallocated_state_batched_or_reset_by_a_creation_are_so_in_each_half():
    # MAPPO: `np.concatenate(buffer.states[step])` batches the rows of one step: each half's;
    # `states[done == True] = np.zeros(...)` resets rows: each half's, with a creation of its own.
    migration = migrate_source("import numpy as np\n" + HEADER + textwrap.dedent(MAPPO), Options(state="tuple"))
    assert not migration.findings, migration.findings
    assert "(torch.from_numpy(np.concatenate(buffer.states[0][step])), torch.from_numpy(np.concatenate(buffer.states[1][step])))" in migration.source
    assert "states[0][done == True] = np.zeros(" in migration.source and "states[1][done == True] = np.zeros(" in migration.source
    states = run(migration.source).states
    assert isinstance(states, tuple) and all(np.abs(half[1:]).sum() > 0 for half in states)
