"""Red team wave 35 (`/work/scratch/rt35`): project layouts and the ways states cross files.

- A storage whose `add(**items)` writes each value by a key not written out (`self.store[k][self.t] = v`)
  beside a state's key: the packed form exited 0 (the caller's `h=h[0]` read as h alone, into a slot
  doubled for the packed state: a crash); refused in both forms now.
- The same storage named `self.data`: `st.data["h"]` of the runner read as the tensor's `.data`, so the
  state given to the model was tracked to nothing and the packed form accepted it unseen; refused in both
  forms, naming the attribute.
- `torch.zeros(T, *h.shape[1:])` of a packed state: its last size is the packed one already, but the
  packed form doubled T (twice the rows); left as it is now, and spread from another tensor, a finding.
"""

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

STORAGE = """\
    import torch


    class Storage:
        def __init__(self, T, n):
            self.{attr} = {{"obs": torch.zeros(T, n, 4), "h": torch.zeros(T, n, 8)}}
            self.t = 0

        def add(self, **items):
            for k, v in items.items():
                self.{attr}[k][self.t] = v
            self.t += 1
"""

STORAGE_DRIVER = """\
    import torch
    from model import Policy
    from storage import Storage

    net = Policy()
    st = Storage(5, 2)
    h = net.init_hidden(2)
    for t in range(5):
        o = torch.randn(2, 4)
        st.add(obs=o, h=h[0])
        with torch.no_grad():
            _, h = net(o[None], h)
    v, _ = net(st.{attr}["obs"], st.{attr}["h"][0][None])
    v.sum().backward()
"""


def _storage_project(tmp_path, attr: str) -> dict:
    files = {
        "model.py": MODEL, "storage.py": STORAGE.format(attr=attr), "driver.py": STORAGE_DRIVER.format(attr=attr),
        "pyproject.toml": "",
    }
    write(tmp_path, files)
    return {name: (tmp_path / name).read_text() for name in files}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_storage_written_by_any_key_from_keyword_arguments_is_refused(tmp_path, capsys, form):
    # packed: exit 0, `st.add(obs=o, h=h.chunk(2, dim=-1)[0][0])` into `store["h"]`, doubled: a crash
    before = _storage_project(tmp_path, "store")
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    because = (
        "so the engine cannot tell them apart" if form == "tuple" else
        "and `self.store[k][self.t] = v` writes into the value read here, which the engine cannot tell is the whole "
        "packed state where the key is a state's"
    )
    assert (
        f"{tmp_path / 'storage.py'}:11:13: G2L101 `self.store` holds hidden states (key `'h'`) beside other values and is "
        f"read with `k` as its key, {because}; keep the hidden states in a container of their own"
    ) in lines
    assert {name: (tmp_path / name).read_text() for name in before} == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_read_from_a_data_attribute_of_a_storage_is_refused(tmp_path, capsys, form):
    # packed: exit 0 and a crash (`st.data["h"]`, taken for a tensor's `.data`, was tracked to nothing)
    before = _storage_project(tmp_path, "data")
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'driver.py'}:13:28: G2L102 the parameter `h` of `Policy.forward()` holds the hidden state, but here "
        "it receives `st.data[\"h\"][0][None]`, read from `st.data`, which the engine does not track, since `.data` reads "
        "as a tensor's own attribute, so it can neither give it a cell state nor tell its size; rename that attribute, "
        "or migrate this use by hand so that it handles the pair (h, c)"
    ) in capsys.readouterr().out.splitlines()
    assert {name: (tmp_path / name).read_text() for name in before} == before


COLLECT = """\
    import torch


    def collect(net, n, T):
        h = net.init_hidden(n)
        template = torch.ones(1, n, 8)
        hs = torch.zeros(T, *{source}.shape[1:])
        for t in range(T):
            hs[t] = h[0]
            with torch.no_grad():
                _, h = net(torch.randn(1, n, 4), h)
        return hs
"""

COLLECT_DRIVER = """\
    import torch
    from model import Policy
    from collect import collect

    net = Policy()
    hs = collect(net, 2, 5)
    assert hs.shape[0] == 5, hs.shape
    v, _ = net(torch.randn(3, 2, 4), hs[3][None])
    v.sum().backward()
"""


def test_a_creation_spreading_the_state_shape_is_packed_already(tmp_path):
    # it became `torch.zeros(2 * T, *h.shape[1:])`: twice the rows, the later ones zero
    write(tmp_path, {"model.py": MODEL, "collect.py": COLLECT.format(source="h"), "driver.py": COLLECT_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "hs = torch.zeros(T, *h.shape[1:])" in (tmp_path / "collect.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


def test_a_state_creation_spreading_another_shape_is_refused_packed(tmp_path, capsys):
    files = {"model.py": MODEL, "collect.py": COLLECT.format(source="template"), "driver.py": COLLECT_DRIVER, "pyproject.toml": ""}
    write(tmp_path, files)
    before = {name: (tmp_path / name).read_text() for name in files}
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'collect.py'}:7:10: G2L100 `torch.zeros(T, *template.shape[1:])` takes its last sizes from "
        "`*template.shape[1:]`, which is not the shape of the hidden state, so the engine cannot double its hidden size; "
        "give the sizes one by one, or use --state tuple"
    ) in capsys.readouterr().out.splitlines()
    assert {name: (tmp_path / name).read_text() for name in before} == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_the_spread_creation_project_runs_in_both_forms(tmp_path, form):
    write(tmp_path, {"model.py": MODEL, "collect.py": COLLECT.format(source="h"), "driver.py": COLLECT_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


DATA_STORAGE = """\
    import torch


    class Storage:
        def __init__(self, T, n):
            self.data = {"h": torch.zeros(T, n, 8)}

        def add(self, t, h):
            self.data["h"][t] = h
"""

CORE_DRIVER = """\
    import torch
    import torch.nn as nn
    from storage import Storage

    core = nn.GRU(4, 8)
    st = Storage(5, 3)
    h = torch.zeros(1, 3, 8)
    for t in range(5):
        st.add(t, h[0])
        _, h = core(torch.randn(1, 3, 4), h)
    out, _ = core(torch.randn(2, 3, 4), st.data["h"][2][None])
    out.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_layer_given_a_state_read_from_a_data_attribute_is_refused(tmp_path, capsys, form):
    # tuple: exit 0, `core(x, st.data["h"][2][None])` gave the LSTM the h half alone (a crash)
    files = {"storage.py": DATA_STORAGE, "driver.py": CORE_DRIVER, "pyproject.toml": ""}
    write(tmp_path, files)
    before = {name: (tmp_path / name).read_text() for name in files}
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'driver.py'}:11:37: G2L102 `core(torch.randn(2, 3, 4), st.data[\"h\"][2][None])` takes the hidden "
        "state, but here it receives `st.data[\"h\"][2][None]`, read from `st.data`, which the engine does not track, since "
        "`.data` reads as a tensor's own attribute, so it can neither give it a cell state nor tell its size; rename that "
        "attribute, or migrate this use by hand so that it handles the pair (h, c)"
    ) in capsys.readouterr().out.splitlines()
    assert {name: (tmp_path / name).read_text() for name in before} == before


RESET_MODEL = """\
    import torch
    import torch.nn as nn


    class GRUPolicy(nn.Module):
        def __init__(self, obs_dim=4, hidden=8, n_actions=3):
            super().__init__()
            self.hidden_size = hidden
            self.enc = nn.Linear(obs_dim, hidden)
            self.gru = nn.GRU(hidden, hidden)
            self.pi = nn.Linear(hidden, n_actions)
            self.v = nn.Linear(hidden, 1)

        def init_hidden(self, n):
            return torch.zeros(1, n, self.hidden_size)

        def forward(self, obs, h):
            x = torch.relu(self.enc(obs))
            out, h = self.gru(x, h)
            return self.pi(out), self.v(out), h


    class MLPPolicy(nn.Module):
        def __init__(self, obs_dim=4, hidden=8, n_actions=3):
            super().__init__()
            self.body = nn.Linear(obs_dim, hidden)
            self.pi = nn.Linear(hidden, n_actions)
            self.v = nn.Linear(hidden, 1)

        def init_hidden(self, n):
            return torch.zeros(1, n, 8)

        def forward(self, obs, h):
            x = torch.relu(self.body(obs))
            return self.pi(x), self.v(x), h
"""

RESET_RUNNER = """\
    import torch


    def run(net, n, steps):
        h = net.init_hidden(n)
        for t in range(steps):
            with torch.no_grad():
                _, _, h = net(torch.randn(1, n, 4), h)
            done = torch.nonzero(torch.rand(n) < 0.4).flatten()
            if len(done):
{reset}
        return h
"""

RESET_DRIVER = """\
    import torch
    from model import GRUPolicy
    from runner import run

    torch.manual_seed(0)
    net = GRUPolicy()
    h = run(net, 3, 6)
    logits, v, _ = net(torch.randn(3, 3, 4), h)
    v.mean().backward()
"""


def _reset_project(tmp_path, reset: str) -> dict:
    files = {"model.py": RESET_MODEL, "runner.py": RESET_RUNNER.format(reset=reset), "driver.py": RESET_DRIVER, "pyproject.toml": ""}
    write(tmp_path, files)
    return {name: (tmp_path / name).read_text() for name in files}


def test_a_fresh_state_returned_by_a_call_into_index_copy_is_refused(tmp_path, capsys):
    # (beside a policy class whose `init_hidden` makes no state) tuple: exit 0, `h[0].index_copy(1, done, net.init_hidden(len(done)))` gave each half the pair (a crash)
    before = _reset_project(tmp_path, "                h = h.index_copy(1, done, net.init_hidden(len(done)))")
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'runner.py'}:11:39: G2L100 `net.init_hidden(len(done))` returns a hidden state and is given to "
        "`h.index_copy(1, done, net.init_hidden(len(done)))`, which the engine writes once per half of the pair, so each "
        "half would get the whole pair; assign `net.init_hidden(len(done))` to a name first"
    ) in capsys.readouterr().out.splitlines()
    assert {name: (tmp_path / name).read_text() for name in before} == before


def test_a_fresh_state_named_before_index_copy_migrates_and_runs(tmp_path):
    _reset_project(tmp_path, "                fresh = net.init_hidden(len(done))\n                h = h.index_copy(1, done, fresh)")
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
