"""Wrong refusals of real idioms (session 41): each migrates now and its driver runs (the LSTM gets a
non-zero c, training runs), and a near variant where the relaxed condition does not hold stays
refused, with the exact finding and nothing written."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write
from tests.test_crossings import snapshot
from tests.test_summaries import HEADER, RECORD


def refused(folder, capsys, form: str) -> list:
    """Run the engine on `folder`: it must exit 1 and write nothing; the findings other than G2L105."""
    before = snapshot(folder)
    capsys.readouterr()
    assert main(["rewrite", "--quiet", "--state", form, str(folder)]) == 1
    assert snapshot(folder) == before
    return [line for line in capsys.readouterr().out.splitlines() if "G2L105" not in line]


# A GRUCell that acts step by step with the weights of the GRU that trains on whole sequences
SHARED_WEIGHTS = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.cell = nn.GRUCell(4, 8)
            self.cell.weight_ih = self.gru.weight_ih_l0
            self.cell.weight_hh.data = self.gru.weight_hh_l0.data
            self.cell.bias_ih = self.gru.bias_ih_l0
            self.cell.bias_hh = self.gru.bias_hh_l0
            self.v = nn.Linear(8, 1)

        def act(self, x, h):
            h = self.cell(x, h)
            return self.v(h), h

        def forward(self, xs, h0):
            out, h = self.gru(xs, h0.unsqueeze(0))
            return self.v(out), h.squeeze(0)
"""

SHARED_WEIGHTS_LOOP = """\
    import torch
    from model import Net

    net = Net()
    h = torch.zeros(2, 8)
    start = h
    obs = []
    with torch.no_grad():
        for t in range(4):
            o = torch.randn(2, 4)
            obs.append(o)
            _, h = net.act(o, h)
    v, _ = net(torch.stack(obs), start)
    v.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_cell_that_shares_the_grus_whole_parameters_migrates_and_runs(tmp_path, form):
    # G2L107 "takes apart `self.cell.weight_ih`": both become LSTMs, whose parameters are stacked alike
    write(tmp_path, {"model.py": SHARED_WEIGHTS, "train.py": SHARED_WEIGHTS_LOOP, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "self.cell.weight_ih = self.lstm.weight_ih_l0" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, """
        import runpy
        loop = runpy.run_path('train.py')
        net = loop['net']
        assert net.cell.weight_hh.data_ptr() == net.lstm.weight_hh_l0.data_ptr()
        assert net.cell.weight_ih.grad is not None
    """)


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_grus_parameter_shared_with_a_linear_layer_is_refused(tmp_path, capsys, form):
    # the Linear would get the LSTM's 4 gates' rows (32), which the layer after it does not take
    model = SHARED_WEIGHTS.replace("self.cell.weight_ih = self.gru.weight_ih_l0", "self.proj = nn.Linear(4, 24)\n            self.proj.weight = self.gru.weight_ih_l0")
    write(tmp_path, {"model.py": model, "train.py": SHARED_WEIGHTS_LOOP, "pyproject.toml": ""})
    assert refused(tmp_path, capsys, form) == [
        f"{tmp_path / 'model.py'}:11:9: G2L107 `self.proj.weight = self.gru.weight_ih_l0` gives `self.gru.weight_ih_l0`, "
        "a parameter of the GRU whose rows are stacked by gate (3 gates: r, z, n), to what is not a parameter of a GRU: "
        "as the LSTM's it has 4 gates' rows, which the code made for the GRU's would not expect; migrate it by hand for "
        "the LSTM's gates"
    ]


def test_a_grus_parameter_replaced_by_a_new_one_is_refused_as_a_replacement(tmp_path, capsys):
    model = SHARED_WEIGHTS.replace("self.cell.weight_hh.data = self.gru.weight_hh_l0.data", "self.cell.weight_hh = nn.Parameter(torch.randn(24, 8))")
    write(tmp_path, {"model.py": model, "train.py": SHARED_WEIGHTS_LOOP, "pyproject.toml": ""})
    assert refused(tmp_path, capsys, "tuple") == [
        f"{tmp_path / 'model.py'}:11:9: G2L107 `self.cell.weight_hh = nn.Parameter(torch.randn(24, 8))` replaces "
        "`self.cell.weight_hh`, a parameter of the GRU whose rows are stacked by gate (3 gates: r, z, n), with a value "
        "the engine cannot tell is made for the LSTM's 4 gates (i, f, g, o); share a whole parameter of another GRU "
        "there, or migrate it by hand for the LSTM's gates"
    ]


# A helper that detaches whatever it is given, the observation beside the state
DETACH_ALL_MODEL = """\
    import torch
    import torch.nn as nn


    class RecurrentPolicy(nn.Module):
        def __init__(self, obs_dim=8, hidden=8, n_actions=3):
            super().__init__()
            self.hidden_size = hidden
            self.enc = nn.Linear(obs_dim, hidden)
            self.gru = nn.GRU(hidden, hidden)
            self.pi = nn.Linear(hidden, n_actions)
            self.v = nn.Linear(hidden, 1)

        def init_hidden(self, batch):
            return torch.zeros(1, batch, self.hidden_size)

        def forward(self, obs, hidden):
            x = torch.relu(self.enc(obs))
            out, hidden = self.gru(x, hidden)
            return self.pi(out), self.v(out), hidden
"""

DETACH_ALL_RUNNER = """\
    import torch
    from model import RecurrentPolicy
    from util import detach_all

    net = RecurrentPolicy()
    opt = torch.optim.SGD(net.parameters(), 0.01)
    h = net.init_hidden(2)
    o = torch.randn(1, 2, 8)
    for t in range(4):
        _, v, h = net(o, h)
        loss = v.pow(2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        o = torch.randn(1, 2, 8)
        o, h = detach_all(o, h)
"""

DETACH_ALL = """\
    def detach_all(*ts):
        return [t.detach() for t in ts]
"""


def test_a_helper_that_keeps_each_item_of_a_mix_migrates_packed_and_runs(tmp_path):
    # G2L101 "`ts` holds hidden states (item 1) beside other values and is iterated": packed, each
    # item is one tensor, the state too, and `t.detach()` acts on h and c alike
    write(tmp_path, {"model.py": DETACH_ALL_MODEL, "train.py": DETACH_ALL_RUNNER, "util.py": DETACH_ALL, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert (tmp_path / "util.py").read_text() == textwrap.dedent(DETACH_ALL)
    assert "o = torch.randn(1, 2, 8)" in (tmp_path / "train.py").read_text()  # the observation stays as wide as it was
    run_migrated(tmp_path, """
        import runpy
        loop = runpy.run_path('train.py')
        assert loop['h'].shape == (1, 2, 16) and not loop['h'].requires_grad
    """)


@pytest.mark.parametrize("form, runner, util, column", [
    ("tuple", DETACH_ALL_RUNNER, DETACH_ALL, 33),  # a pair has no .detach(): the one expression cannot serve both
    # the items stacked as one: the state and the observation must have one width
    ("packed", DETACH_ALL_RUNNER.replace("o, h = detach_all(o, h)", "both = torch.stack(detach_all(o, h)); o, h = both[0], both[1]"), DETACH_ALL, 33),
    # `t[..., :8]` cuts the last dimension, where h and c lie side by side
    ("packed", DETACH_ALL_RUNNER, DETACH_ALL.replace("t.detach()", "t[..., :8].detach()"), 42),
    # `tuple(...)` of the items: each taken for the state
    ("packed", DETACH_ALL_RUNNER, DETACH_ALL.replace("[t.detach() for t in ts]", "tuple(t.detach().cpu() for t in ts)"), 44),
])
def test_a_helper_over_a_mix_that_does_not_keep_each_item_apart_stays_refused(tmp_path, capsys, form, runner, util, column):
    write(tmp_path, {"model.py": DETACH_ALL_MODEL, "train.py": runner, "util.py": util, "pyproject.toml": ""})
    assert refused(tmp_path, capsys, form) == [
        f"{tmp_path / 'util.py'}:2:{column}: G2L101 `ts` holds hidden states (item 1) beside other values and is iterated, "
        "so the engine cannot tell them apart: with (h, c) there, one expression cannot be written for the state and for "
        "the other values alike; write the expression out item by item (unpack it: `a, b = ts`), or keep the hidden states "
        "in a container of their own"
    ]


def test_a_record_mapped_field_by_field_through_a_helper_migrates_packed_and_runs(tmp_path):
    # tuple form: G2L101 "`stats` holds hidden states (field `hidden`) beside other values" (test_summaries.py)
    code = RECORD.replace("{mapping}", "Stats(*[to_device(t) for t in stats])")
    (tmp_path / "agent.py").write_text(HEADER + textwrap.dedent(code))
    (tmp_path / "pyproject.toml").write_text("")
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "return Stats(*[to_device(t) for t in stats])" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, """
        import runpy
        assert runpy.run_path('agent.py')['h'].shape == (2, 16)
    """)


# numpy storage of the state, reset by a mask and cast back with numpy's `.astype`
NUMPY_RUNNER = """\
    import numpy as np
    import torch


    class Runner:
        def __init__(self, net, n):
            self.net = net
            self.hidden = np.zeros((1, n, 8), dtype=np.float32)

        def step(self, obs, done):
            self.hidden = np.where(done[None, :, None], 0.0, self.hidden).astype(np.float32)
            with torch.no_grad():
                _, v, h = self.net(torch.from_numpy(obs), torch.from_numpy(self.hidden))
            self.hidden = h.numpy()
            return v
"""

NUMPY_LOOP = """\
    import numpy as np
    import torch
    from model import RecurrentPolicy
    from runner import Runner

    net = RecurrentPolicy(obs_dim=4)
    runner = Runner(net, 3)
    for t in range(5):
        runner.step(np.random.randn(1, 3, 4).astype(np.float32), np.random.rand(3) < 0.3)
    _, v, _ = net(torch.randn(2, 3, 4), net.init_hidden(3))
    v.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_numpy_state_cast_with_astype_migrates_and_runs(tmp_path, form):
    # G2L100 "is used with `.astype()`, which the engine does not know": numpy's cast keeps each element
    write(tmp_path, {"model.py": DETACH_ALL_MODEL, "runner.py": NUMPY_RUNNER, "train.py": NUMPY_LOOP, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, """
        import runpy
        runner = runpy.run_path('train.py')['runner']
        assert all(half.shape == (1, 3, 8) for half in runner.hidden) if isinstance(runner.hidden, tuple) else runner.hidden.shape == (1, 3, 16)
    """)


def test_a_numpy_state_cut_along_its_last_dimension_after_astype_stays_refused_packed(tmp_path, capsys):
    runner = NUMPY_RUNNER.replace(".astype(np.float32)", ".astype(np.float32)[..., :8]")
    write(tmp_path, {"model.py": DETACH_ALL_MODEL, "runner.py": runner, "train.py": NUMPY_LOOP, "pyproject.toml": ""})
    assert refused(tmp_path, capsys, "packed") == [
        f"{tmp_path / 'runner.py'}:11:23: G2L100 `np.where(done[None, :, None], 0.0, self.hidden).astype(np.float32)[..., :8]` "
        "acts along the last dimension of the hidden state (or one the engine cannot tell from it), and its result stays a "
        "state; in the packed form that dimension holds h and c side by side, so it would mix them; use --state tuple, or "
        "migrate this by hand"
    ]


# An env wrapper that hands the state on in its info dict, copied with the keys it changes
INFO_WRAPPER = """\
    import torch


    class RecurrentEnv:
        def __init__(self, net):
            self.net = net
            self.info = {}

        def reset(self):
            self.info = {"h": self.net.init_hidden(1), "t": 0}
            return torch.randn(1, 1, 8)

        def step(self, obs):
            logits, v, h = self.net(obs, self.info["h"])
            self.info = dict(self.info, h=h.detach(), t=self.info["t"] + 1)
            return torch.randn(1, 1, 8), v, self.info
"""

INFO_LOOP = """\
    import torch
    from model import RecurrentPolicy
    from wrap import RecurrentEnv

    env = RecurrentEnv(RecurrentPolicy())
    o = env.reset()
    loss = 0
    for t in range(5):
        o, v, info = env.step(o)
        loss = loss + v.sum() + 0 * info["h"].sum()
    loss.backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_dict_copied_with_the_state_under_a_keyword_migrates_and_runs(tmp_path, form):
    # G2L101 "`self.info` holds hidden states and is passed to `dict()`": `dict(d, h=h)` is `{**d, "h": h}`
    write(tmp_path, {"model.py": DETACH_ALL_MODEL, "wrap.py": INFO_WRAPPER, "train.py": INFO_LOOP, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert 'dict(self.info, h=(h[0].detach(), h[1].detach()), t=self.info["t"] + 1)' in (tmp_path / "wrap.py").read_text()
    run_migrated(tmp_path, """
        import runpy
        assert runpy.run_path('train.py')['info']['t'] == 5
    """)


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_dict_copied_with_keywords_spread_from_a_name_stays_refused(tmp_path, capsys, form):
    wrapper = INFO_WRAPPER.replace("dict(self.info, h=h.detach(), t=self.info[\"t\"] + 1)", "dict(self.info, **new)").replace(
        "            self.info = dict", "            new = {\"h\": h.detach(), \"t\": self.info[\"t\"] + 1}\n            self.info = dict")
    write(tmp_path, {"model.py": DETACH_ALL_MODEL, "wrap.py": wrapper, "train.py": INFO_LOOP, "pyproject.toml": ""})
    assert refused(tmp_path, capsys, form)[0] == (
        f"{tmp_path / 'wrap.py'}:16:26: G2L101 `self.info` holds hidden states and is passed to `dict()`, which the engine "
        "cannot follow; migrate this use by hand so that it handles the pair (h, c)"
    )


# Per-env states kept in a deque, joined for the batched call and split back
DEQUE_RUNNER = """\
    from collections import deque
    import torch


    class Runner:
        def __init__(self, net, n):
            self.net = net
            self.states = deque([net.init_hidden(1) for _ in range(n)], maxlen=n)

        def step(self, obs):
            h = torch.cat(list(self.states), 1)
            _, v, h = self.net(obs, h)
            self.states = deque(h.split(1, dim=1), maxlen=len(self.states))
            return v

        def reset(self, i):
            self.states[i] = self.net.init_hidden(1)
"""

DEQUE_LOOP = """\
    import torch
    from model import RecurrentPolicy
    from runner import Runner

    runner = Runner(RecurrentPolicy(), 3)
    loss = 0
    for t in range(5):
        loss = loss + runner.step(torch.randn(1, 3, 8)).sum()
        if t == 2:
            runner.reset(1)
    loss.backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_per_env_states_in_a_deque_migrate_and_run(tmp_path, form):
    # G2L100 "the hidden state `net.init_hidden(1)` is passed to `deque()`": a deque made from an
    # iterable holds its elements, as `list(...)` does
    write(tmp_path, {"model.py": DETACH_ALL_MODEL, "runner.py": DEQUE_RUNNER, "train.py": DEQUE_LOOP, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, """
        import runpy
        states = runpy.run_path('train.py')['runner'].states
        assert len(states) == 3 and all((len(s) == 2) if isinstance(s, tuple) else s.shape == (1, 1, 16) for s in states)
    """)


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_deque_of_the_rows_of_a_state_permuted_stays_refused(tmp_path, capsys, form):
    runner = DEQUE_RUNNER.replace(
        "self.states = deque(h.split(1, dim=1), maxlen=len(self.states))",
        "self.states = deque(h.permute(1, 0, 2).unsqueeze(2), maxlen=len(self.states))",
    )
    write(tmp_path, {"model.py": DETACH_ALL_MODEL, "runner.py": runner, "train.py": DEQUE_LOOP, "pyproject.toml": ""})
    assert refused(tmp_path, capsys, form) == [
        f"{tmp_path / 'runner.py'}:13:9: G2L102 `self.states` holds the hidden state elsewhere, but here it receives an "
        "element of an unknown iterable, which is not one as far as the engine can tell; use another name for the other value"
    ]
