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


# a GRUCell's state made by a method of the model, in the ways real code makes a zero state
MADE = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)

        def init_state(self, batch):
            return {make}

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h
"""

MADE_DRIVER = """\
    import torch

    from model import Net

    net = Net()
    h = net.init_state(3)
    outs = []
    for t in range(4):
        o, h = net(torch.randn(3, 4), h)
        outs.append(o)
        if t == 1:
            h = net.init_state(3)
    torch.stack(outs).sum().backward()
"""

MOVED = "moves the dimensions of the new tensor `torch.zeros(self.hidden, batch)` before it becomes the hidden state, so the size written last, which the engine doubles, is not the state's last one; make the state in its own order (`torch.zeros(B, H)`), or use --state tuple"


@pytest.mark.parametrize("make", ["torch.zeros(self.hidden, batch).permute(1, 0)", "torch.zeros(self.hidden, batch).T", "torch.zeros(self.hidden, batch).mT", "torch.t(torch.zeros(self.hidden, batch))"])
def test_a_packed_state_made_transposed_is_refused(tmp_path, capsys, make):
    # exit 0 and a crash: the size written last (the batch) was doubled, or, for `.T` and `.mT`, nothing
    write(tmp_path, {"model.py": MADE.format(make=make), "driver.py": MADE_DRIVER, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    column = 16 + make.index("torch.zeros")  # the new tensor's place
    assert f"{tmp_path / 'model.py'}:13:{column}: G2L100 `{make}` {MOVED}" in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before


@pytest.mark.parametrize("make", ["torch.zeros(self.hidden, batch).permute(1, 0)", "torch.zeros(self.hidden, batch).T", "torch.zeros(self.hidden, batch).mT", "torch.t(torch.zeros(self.hidden, batch))"])
def test_a_state_made_transposed_migrates_and_runs_in_the_tuple_form(tmp_path, make):
    # `.T` was a G2L102: an attribute of the new tensor, no state
    write(tmp_path, {"model.py": MADE.format(make=make), "driver.py": MADE_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
    assert f"        return ({make}, {make})\n" in (tmp_path / "model.py").read_text()


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_a_library_call_makes_from_a_number_given_to_a_parameter_is_refused(tmp_path, capsys, form):
    # packed: exit 0 and a crash, `torch.eye(batch, H)` left H wide (read as derived from `batch`,
    # whose number, given to the parameter, was passed over); tuple: "`3` holds the hidden state elsewhere"
    write(tmp_path, {"model.py": MADE.format(make="torch.eye(batch, self.hidden)"), "driver.py": MADE_DRIVER, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'driver.py'}:6:20: G2L102 `3` is given to the parameter `batch` of `Net.init_state()`, which the engine "
        "reads as holding the hidden state, because the state is made from it by a call that is no creation the engine knows "
        "(`torch.zeros`, `torch.full`, ...); make the state with such a creation, or migrate this use by hand so that it "
        "handles the pair (h, c)"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before


@pytest.mark.parametrize("make", ["torch.zeros(batch, self.hidden).flip(1)", "torch.zeros(batch, 1, self.hidden).transpose(0, 1)[0]"])
def test_a_packed_state_made_with_its_last_dimension_in_place_migrates_and_runs(tmp_path, make):
    # acted along (a flip of a new tensor) or moved around it, the last dimension stays the hidden one
    write(tmp_path, {"model.py": MADE.format(make=make), "driver.py": MADE_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# a GRUCell's state kept transposed in a preallocated buffer, hidden size first
TRANSPOSED_STORE = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            self.buf = torch.zeros(5, 8, 3)

        def forward(self, x, h, t):
            h = self.cell(x, h)
            self.buf[t] = h.T.detach()
            return self.pi(h), h

        def stored(self, t):
            return self.buf[t].T.clone()
"""

TRANSPOSED_STORE_DRIVER = """\
    import torch

    from model import Net

    net = Net()
    h = torch.zeros(3, 8)
    for t in range(4):
        with torch.no_grad():
            o, h = net(torch.randn(3, 4), h, t)
    o, h = net(torch.randn(3, 4), net.stored(2), 4)
    o.sum().backward()
"""


def test_a_state_stored_transposed_migrates_and_runs_in_the_tuple_form(tmp_path):
    # exit 0 and a crash: `h.T` was an attribute read, not the state transposed (neither half written,
    # and `self.buf[t].T[0]` read a row of the pair's transposition)
    write(tmp_path, {"model.py": TRANSPOSED_STORE, "driver.py": TRANSPOSED_STORE_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
    migrated = (tmp_path / "model.py").read_text()
    assert "        self.buf[0][t] = h[0].T.detach()\n        self.buf[1][t] = h[1].T.detach()\n" in migrated
    assert "        return (self.buf[0][t].T.clone(), self.buf[1][t].T.clone())\n" in migrated


def test_a_packed_state_stored_transposed_is_refused(tmp_path, capsys):
    # exit 0 and a crash: the buffer, hidden size first, was left 8 rows high for a 16-wide state
    write(tmp_path, {"model.py": TRANSPOSED_STORE, "driver.py": TRANSPOSED_STORE_DRIVER, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:14:23: G2L100 `h.T` acts along the last dimension of the hidden state (or one the engine "
        "cannot tell from it), and its result stays a state; in the packed form that dimension holds h and c side by side, "
        "so it would mix them; use --state tuple, or migrate this by hand"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before
