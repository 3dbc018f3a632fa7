"""States handed to torch's datasets and loaders (red team wave 34, u18): `TensorDataset(obs, h0.squeeze(0))`
served back by `for o, h in DataLoader(ds)`, by iterating the dataset, or by `ds[i]` was exit 0 in both forms:
the argument was read as features (h alone, c dropped) while what the dataset gave back was taken for the pair.
A dataset holds what it is given by code the engine does not follow, so each is refused, nothing written."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import write
from tests.test_redteam_wave34 import MODEL  # a GRU policy: init_hidden(n), forward(x, h)

RUN = """\
    import torch
    from model import Policy
    from train import train

    net = Policy()
    h = net.init_hidden(4)
    start = h
    obs = []
    for t in range(5):
        o = torch.randn(1, 4, 4)
        obs.append(o)
        _, h = net(o, h)
    train(net, torch.cat(obs), start)
"""

TRAIN = """\
    import torch
    from torch.utils.data import DataLoader, TensorDataset


    def train(net, obs, h0):
        ds = TensorDataset(obs.transpose(0, 1), h0.squeeze(0))
        READ
            v, _ = net(o.transpose(0, 1), h.unsqueeze(0))
            v.pow(2).mean().backward()
"""

READS = {
    # through a loader held by a name (was exit 0: the loader's rows taken for pairs)
    "loader = DataLoader(ds, batch_size=2)\n        for o, h in loader:": "6:45: G2L100 the hidden state `h0` is held by `TensorDataset()`",
    "for o, h in ds:": "6:45: G2L100 the hidden state `h0` is held by `TensorDataset()`",
    "if True:\n            o, h = ds[1]": "6:45: G2L100 the hidden state `h0` is held by `TensorDataset()`",
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("read", list(READS))
def test_a_state_held_by_a_dataset_is_refused(tmp_path, capsys, read, form):
    files = {"pyproject.toml": "", "model.py": MODEL, "run.py": RUN, "train.py": TRAIN.replace("READ", read)}
    write(tmp_path, files)
    before = {name: (tmp_path / name).read_text() for name in files}
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'train.py'}:{READS[read]}" in out
    assert {name: (tmp_path / name).read_text() for name in files} == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_loader_held_by_a_name_is_refused_where_it_is_made(tmp_path, capsys, form):
    files = {"pyproject.toml": "", "model.py": MODEL, "run.py": RUN, "train.py": TRAIN.replace(
        "READ", "loader = DataLoader(ds, batch_size=2)\n        for o, h in loader:"
    ).replace("ds = TensorDataset(obs.transpose(0, 1), h0.squeeze(0))", "ds = make(obs, h0)")}
    files["train.py"] += "\n\n    def make(obs, h0):\n        return list(zip(obs.transpose(0, 1), h0.squeeze(0)))\n"
    write(tmp_path, files)
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'train.py'}:7:14: G2L101 `loader` holds hidden states, but here it receives what "
        "`DataLoader(ds, batch_size=2)` returns, which collates the rows it is given by code the engine does not follow"
    ) in capsys.readouterr().out
