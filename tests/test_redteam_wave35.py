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
