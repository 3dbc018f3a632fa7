"""How a recurrent call is written. A position of a recurrent layer's result taken by an index (`h = self.gru(x, h)[1]`), not
unpacked: in the tuple form the LSTM's position 1 is the pair itself (it was a false G2L102, "which
is not one"); the packed form, which must join the pair again, asks for the unpacking. A state chosen in the call itself
(`self.gru(x, h if h is not None else torch.zeros(...))`): the fresh one was left one tensor (exit 0,
the LSTM given one tensor on the first step); it is held as a named choice is. A GRUCell's state
read as features is held as two names, `h, c`: one that starts as None (`h = None` before the loop,
`h0=None`) gets `c = None` beside it and is given as `None if h is None else (h, c)` (was the
self-check's internal error, or exit 0 with None unpacked); a choice into the two names makes each
option a pair."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write

NET = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            {step}
            return self.pi(h[-1]), h


    def run():
        net = Net()
        h = torch.zeros(1, 3, 8)
        for t in range(3):
            out, h = net(torch.randn(1, 3, 4), h)
        out.sum().backward()
"""


@pytest.mark.parametrize("step, migrated", [
    ("h = self.gru(x, h)[1]", "h = self.lstm(x, h)[1]"),
    ("y = self.gru(x, h)[0]; h = self.gru(x, h)[1]", "y = self.lstm(x, h)[0]; h = self.lstm(x, h)[1]"),
])
def test_tuple_a_position_of_the_result_taken_by_an_index_migrates(tmp_path, step, migrated):
    write(tmp_path, {"pyproject.toml": "", "net.py": NET.replace("{step}", step)})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    source = (tmp_path / "net.py").read_text()
    assert migrated in source and "self.pi(h[0][-1])" in source
    run_migrated(tmp_path, "import net\nnet.run()\n")


def test_packed_a_position_of_the_result_taken_by_an_index_asks_for_an_unpacking(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": "", "net.py": NET.replace("{step}", "h = self.gru(x, h)[1]")})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert (
        "net.py:12:13: G2L100 the packed form needs the state of `self.gru(x, h)` unpacked into a name (`out, h = ...`) "
        "to pack (h, c) again; unpack it first, or use --state tuple"
    ) in capsys.readouterr().out


def test_a_cell_s_result_indexed_is_a_row_of_the_state_not_a_position(tmp_path):
    # a GRUCell gives h itself: `[0]` is its first row, as before
    source = NET.replace("nn.GRU(4, 8)", "nn.GRUCell(4, 8)").replace("{step}", "h = self.gru(x[0], h)\n            first = self.gru(x[0], h)[0]")
    source = source.replace("torch.zeros(1, 3, 8)", "torch.zeros(3, 8)")
    write(tmp_path, {"pyproject.toml": "", "net.py": source})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "first = self.lstm(x[0], h)[0][0]" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, "import net\nnet.run()\n")


def test_tuple_a_state_chosen_inside_the_call_makes_each_option_a_pair(tmp_path):
    chosen = "y, h = self.gru(x, h if h is not None else torch.zeros(1, x.size(1), 8))"
    source = NET.replace("{step}", chosen).replace("h = torch.zeros(1, 3, 8)", "h = None")
    write(tmp_path, {"pyproject.toml": "", "net.py": source})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    migrated = (tmp_path / "net.py").read_text()
    assert "self.lstm(x, h if h is not None else (torch.zeros(1, x.size(1), 8), torch.zeros(1, x.size(1), 8)))" in migrated
    run_migrated(tmp_path, "import net\nnet.run()\n")


CELL_LOOP = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, xs, h0):
            {start}
            for t in range(xs.size(0)):
                h = self.cell(xs[t], {given})
            return self.pi(h), h


    def run():
        net = Net()
        out, h = net(torch.randn(5, 3, 4), torch.zeros(3, 8))
        out.sum().backward()
"""


@pytest.mark.parametrize("given, written", [
    ("h", "h, c = self.cell(xs[t], (None if h is None else (h, c)))"),
    ("h0 if t == 0 else h", "h, c = self.cell(xs[t], h0 if t == 0 else (None if h is None else (h, c)))"),
])
def test_tuple_a_cell_state_held_as_two_names_that_starts_as_none_stays_none_until_the_first_step(tmp_path, given, written):
    # `h` feeds a head, so it is held as `h, c`: `(h, c)` on the first step was (None, c unbound),
    # caught only by the self-check (exit 123, "reads `c` before anything binds it")
    write(tmp_path, {"pyproject.toml": "", "net.py": CELL_LOOP.replace("{start}", "h = None").replace("{given}", given)})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    migrated = (tmp_path / "net.py").read_text()
    assert "        h = None\n        c = None\n" in migrated and written in migrated
    assert "return self.pi(h), (None if h is None else (h, c))" in migrated
    run_migrated(tmp_path, "import net\nnet.run()\n")


def test_tuple_a_cell_state_held_as_two_names_started_as_a_state_migrates(tmp_path):
    source = CELL_LOOP.replace("{start}", "h = h0 if h0 is not None else torch.zeros(xs.size(1), 8)").replace("{given}", "h")
    write(tmp_path, {"pyproject.toml": "", "net.py": source})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "h, c = self.cell(xs[t], (h, c))" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, "import net\nnet.run()\n")


@pytest.mark.parametrize("start, written", [
    ("h = None if xs.size(0) > 9 else h0", "h, c = (None, None) if xs.size(0) > 9 else ((None, None) if h0 is None else h0)"),
    ("h = h0", "h, c = ((None, None) if h0 is None else h0)"),
])
def test_tuple_a_state_that_may_be_none_moved_into_two_names_unpacks_none_as_both(tmp_path, start, written):
    # `h, c = h0` with `h0=None` from the first call could not unpack (exit 0, TypeError)
    source = CELL_LOOP.replace("{start}", start).replace("{given}", "h").replace("def forward(self, xs, h0):", "def forward(self, xs, h0=None):")
    source = source.replace("out, h = net(torch.randn(5, 3, 4), torch.zeros(3, 8))", "out, h = net(torch.randn(5, 3, 4))\n        out, h = net(torch.randn(5, 3, 4), h)")
    write(tmp_path, {"pyproject.toml": "", "net.py": source})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert written in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, "import net\nnet.run()\n")


def test_tuple_an_operation_on_a_cell_s_new_state_runs_on_each_half(tmp_path):
    # was G2L102 "... receives `self.cell(xs[t], h) * m`, which is not one" about the state itself
    source = CELL_LOOP.replace("{start}", "h = h0").replace("h = self.cell(xs[t], {given})", "h = self.cell(xs[t], h) * 0.5")
    write(tmp_path, {"pyproject.toml": "", "net.py": source})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "h, c = tuple(half * 0.5 for half in self.cell(xs[t], (h, c)))" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, "import net\nnet.run()\n")
