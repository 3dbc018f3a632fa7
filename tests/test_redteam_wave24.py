"""Red team wave 24 (`/work/scratch/rt24`, styles not in the fixtures): silent breaks found there,
each now migrated and run, or refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# MAPPO style: one numpy array holds the state of every (thread, agent); the actor gets its rows
# joined by `np.concatenate(self.rnn_states)` and gives them back split by thread
MAPPO_RNN = """\
    import torch
    import torch.nn as nn


    class RNNLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8, num_layers=2)

        def forward(self, x, hxs):
            x, hxs = self.rnn(x.unsqueeze(0), hxs.transpose(0, 1).contiguous())
            return x.squeeze(0), hxs.transpose(0, 1)
"""

MAPPO_RUNNER = """\
    import numpy as np
    import torch

    from rnn import RNNLayer


    class Runner:
        def __init__(self, threads=2, agents=3):
            self.threads = threads
            self.layer = RNNLayer()
            self.rnn_states = np.zeros((threads, agents, 2, 8), dtype=np.float32)

        def step(self):
            obs = torch.randn(self.threads * 3, 4)
            x, rnn_states = self.layer(obs, torch.from_numpy(np.concatenate(self.rnn_states)))
            self.rnn_states = np.array(np.split(rnn_states.detach().numpy(), self.threads))
            return x
"""

MAPPO_DRIVER = """\
    import torch

    from runner import Runner

    runner = Runner()
    for t in range(3):
        x = runner.step()
    x.sum().backward()
"""

# run outside the project (the engine reads every file of it): each LSTM call must get back exactly
# the (h, c) the call before gave out
SAME_STATE_BACK = """\
    import torch
    import torch.nn as nn

    given, made = [], []
    original = nn.LSTM.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.register_forward_pre_hook(lambda m, args: given.append(args[1]))
        self.register_forward_hook(lambda m, args, out: made.append(out[1]))

    nn.LSTM.__init__ = init
    import runpy
    runpy.run_path("driver.py")
    assert len(given) == 3
    for before, after in zip(made, given[1:]):
        assert all(torch.equal(a, b) for a, b in zip(before, after))
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_rows_of_a_state_array_joined_whole_take_each_half_apart(tmp_path, form):
    # tuple form: `np.concatenate([hc[0] for hc in self.rnn_states])` joined thread 0's h and c as h (exit 0)
    write(tmp_path, {"rnn.py": MAPPO_RNN, "runner.py": MAPPO_RUNNER, "driver.py": MAPPO_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "np.concatenate(self.rnn_states[1])" in (tmp_path / "runner.py").read_text()
    run_migrated(tmp_path, SAME_STATE_BACK)


ROWS_RESET = """\
    import torch
    import torch.nn as nn

    core = nn.GRU(4, 8)
    h = torch.zeros(1, 3, 8)
    for t in range(4):
        out, h = core(torch.randn(1, 3, 4), h)
        rows = []
        for {target} in {iterable}:
            rows.append(torch.zeros_like(row) if t == 2 else row)
        h = torch.stack(rows).unsqueeze(0)
"""


@pytest.mark.parametrize("target, iterable", [
    ("row", "h[0]"),
    ("row, d", "zip(sorted(h[0], key=lambda r: float(r.sum())), range(3))"),  # reversed(h[0]) migrates (session 36)
])
def test_rows_of_a_state_taken_by_a_loop_are_refused(tmp_path, capsys, target, iterable):
    # tuple form: each row taken for a pair, `torch.zeros_like(row[0])`, then `hs, cs = zip(*rows)`
    # over rows of h alone: exit 0, a ValueError at the first step (the packed form refused them
    # already, naming the loop); through zip or enumerate they migrate (below)
    write(tmp_path, {"run.py": ROWS_RESET.format(target=target, iterable=iterable), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out == (
        f"{tmp_path / 'run.py'}:9:9: G2L101 `{target}` holds the hidden state elsewhere, but here it "
        f"receives a part of what iterating `{iterable}` gives, which the engine cannot follow; migrate this use by hand "
        "so that it handles the pair (h, c)\n"
    )


@pytest.mark.parametrize("target, iterable", [
    ("row, d", "zip(h[0].unbind(0), range(3))"),
    ("row, d", "zip(h[0], range(3))"),  # session 35: cut into its rows as by `unbind(0)`
    ("i, row", "enumerate(h[0])"),
    ("row, d", "zip(reversed(h[0]), range(3))"),  # session 36: reversed() and iter() cut it too
])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_rows_of_a_state_taken_through_zip_or_enumerate_migrate_and_run(tmp_path, form, target, iterable):
    write(tmp_path, {"run.py": ROWS_RESET.format(target=target, iterable=iterable), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")
