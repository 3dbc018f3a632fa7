"""Red team wave 34 (`/work/scratch/rt34`): a numpy record array whose field holds the hidden states
(`np.zeros(n, dtype=[("obs", ...), ("h", np.float32, (H,))])` of a replay) is refused in both forms
(it exited 0: the write `data[i]["h"] = h.reshape(-1).numpy()` kept h alone and the field stayed H
wide); the same replay as a list of dicts migrates and runs."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

MODEL = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.v = nn.Linear(8, 1)

        def init_hidden(self, n):
            return torch.zeros(1, n, 8)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return self.v(out), h
"""

RECORDS = """\
    import numpy as np
    import torch


    class Replay:
        def __init__(self, cap):
            self.data = np.zeros(cap, dtype=[("obs", np.float32, (4,)), ("h", np.float32, (8,))])
            self.i = 0

        def add(self, obs, h):
    {write}
            self.i += 1

        def batch(self, idx):
    {read}
"""

DICTS = """\
    import numpy as np
    import torch


    class Replay:
        def __init__(self, cap):
            self.data = [{"obs": None, "h": None} for _ in range(cap)]
            self.i = 0

        def add(self, obs, h):
            self.data[self.i]["obs"] = obs
            self.data[self.i]["h"] = h.reshape(-1).numpy()
            self.i += 1

        def batch(self, idx):
            obs = np.stack([self.data[j]["obs"] for j in idx])
            hs = np.stack([self.data[j]["h"] for j in idx])
            return torch.from_numpy(obs).unsqueeze(0), torch.from_numpy(hs).unsqueeze(0)
"""

DRIVER = """\
    import numpy as np
    import torch
    from model import Policy
    from replay import Replay

    torch.manual_seed(0)
    net, rb = Policy(), Replay(10)
    h = net.init_hidden(1)
    for t in range(5):
        o = torch.randn(4)
        rb.add(o.numpy(), h)
        with torch.no_grad():
            _, h = net(o.view(1, 1, 4), h)
    obs, h0 = rb.batch([1, 3, 4])
    v, _ = net(obs, h0)
    v.sum().backward()
"""

# (add(), batch()) of the record array: record then field, field then record, rows taken first
SPELLINGS = {
    "record then field": (
        '        self.data[self.i]["obs"] = obs\n            self.data[self.i]["h"] = h.reshape(-1).numpy()',
        '        rows = self.data[idx]\n            return torch.from_numpy(rows["obs"]).unsqueeze(0), torch.from_numpy(rows["h"]).unsqueeze(0)',
    ),
    "field then record": (
        '        self.data["obs"][self.i] = obs\n            self.data["h"][self.i] = h.reshape(-1).numpy()',
        '        return torch.from_numpy(self.data["obs"][idx]).unsqueeze(0), torch.from_numpy(self.data["h"][idx]).unsqueeze(0)',
    ),
}


def _project(tmp_path, replay: str) -> dict:
    files = {"model.py": MODEL, "replay.py": replay, "driver.py": DRIVER, "pyproject.toml": ""}
    write(tmp_path, files)
    return {name: (tmp_path / name).read_text() for name in files}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("case", sorted(SPELLINGS))
def test_a_record_array_whose_field_holds_states_is_refused(tmp_path, capsys, form, case):
    # exit 0 and a crash in both forms: tuple stored `h[0]` in the field and read `rows["h"][0]`,
    # `rows["h"][1]` (rows of the records); packed stored `h.chunk(2, dim=-1)[0]` in an H-wide field
    add, batch = SPELLINGS[case]
    before = _project(tmp_path, RECORDS.format(write=add, read=batch))
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    expected = (
        f"{tmp_path / 'replay.py'}:7:21: G2L100 `np.zeros(cap, dtype=[(\"obs\", np.float32, (4,)), (\"h\", np.float32, (8,))])` "
        "makes an array whose field `'h'` holds the hidden state; the field's width is part of the array's dtype, which the "
        "engine neither doubles nor splits into h and c, so the cell state would not fit in it; keep the states in an array "
        "of their own (`np.zeros((n, H))`), or migrate this by hand"
    )
    assert lines.count(expected) == 1, lines
    assert {name: (tmp_path / name).read_text() for name in before} == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_replay_of_dicts_holding_states_migrates_and_runs(tmp_path, form):
    _project(tmp_path, DICTS)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


GATE_MODEL = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.v = nn.Linear(8, 1)

        def init_hidden(self, n):
            hidden = {count} // 3
            return torch.zeros(1, n, hidden)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return self.v(out), h
"""

GATE_DRIVER = """\
    import torch
    from model import Net

    net = Net()
    h = net.init_hidden(2)
    for t in range(3):
        v, h = net(torch.randn(1, 2, 4), h)
    v.sum().backward()
"""

# the count of rows, the parameter it counts
ROW_COUNTS = {
    "self.gru.weight_hh_l0.shape[0]": "self.gru.weight_hh_l0",
    "self.gru.weight_ih_l0.size(0)": "self.gru.weight_ih_l0",
    "len(self.gru.bias_hh_l0)": "self.gru.bias_hh_l0",
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("count", sorted(ROW_COUNTS))
def test_the_hidden_size_taken_from_the_gate_rows_is_refused(tmp_path, capsys, form, count):
    # exit 0 and a crash in both forms: `weight_hh_l0.shape[0] // 3` is 4 * 8 // 3 = 10 for the LSTM
    files = {"model.py": GATE_MODEL.format(count=count), "driver.py": GATE_DRIVER, "pyproject.toml": ""}
    write(tmp_path, files)
    before = {name: (tmp_path / name).read_text() for name in files}
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    parameter = ROW_COUNTS[count]
    assert (
        f"{tmp_path / 'model.py'}:12:18: G2L107 `{count}` counts the rows of `{parameter}`, a parameter of the GRU whose "
        "rows are stacked by gate (3 * hidden_size for r, z, n); the LSTM stacks 4 gates, so the count (and a size taken "
        "from it, `// 3`) would change; use the module's `hidden_size` instead, or migrate it by hand for the "
        "LSTM's gates"
    ) in capsys.readouterr().out.splitlines()
    assert {name: (tmp_path / name).read_text() for name in before} == before
