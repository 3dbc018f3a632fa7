"""States read as features where they are not (session 39, red team wave 33): a list of per-env
states rebuilt from a state read as features (`np.split(h.numpy(), n, axis=1)`) is refused at
the line in both forms (read as h alone, it dropped c: exit 0, a crash); in the packed form a state
that gives only its shape to a feature read (`h.mean(0, keepdim=True).expand_as(h)`) gives h's
half, as the tuple form gives `h[0]` (it gave the packed state, twice as wide: a crash)."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

MODEL = """\
    import torch
    import torch.nn as nn


    class RecurrentPolicy(nn.Module):
        def __init__(self, obs_dim=4, hidden=8, n_actions=3):
            super().__init__()
            self.hidden_size = hidden
            self.enc = nn.Linear(obs_dim, hidden)
            self.gru = nn.GRU(hidden, hidden)
            self.pi = nn.Linear(hidden, n_actions)
            self.v = nn.Linear(hidden, 1)

        def forward(self, obs, hidden):
            x = torch.relu(self.enc(obs))
            out, hidden = self.gru(x, hidden)
            return self.pi(out), self.v(out), hidden
"""

# one numpy state per environment, joined for the step and split back after it
POOL = """\
    import numpy as np
    import torch


    class Pool:
        def __init__(self, net, n):
            self.net = net
            self.states = [np.zeros((1, 1, net.hidden_size), np.float32) for _ in range(n)]

        def step(self, obs):
            h = torch.from_numpy(np.concatenate(self.states, axis=1))
            with torch.no_grad():
                logits, v, h = self.net(obs, h)
            self.states = {split}
            return v
"""

DRIVER = """\
    import torch
    from model import RecurrentPolicy
    from envpool import Pool

    torch.manual_seed(0)
    p = Pool(RecurrentPolicy(), 3)
    for t in range(4):
        v = p.step(torch.randn(1, 3, 4))
"""


def _pool(tmp_path, split: str) -> dict:
    files = {"model.py": MODEL, "envpool.py": POOL.format(split=split), "driver.py": DRIVER, "pyproject.toml": ""}
    write(tmp_path, files)
    return {name: (tmp_path / name).read_text() for name in files}


@pytest.mark.parametrize("split", [
    "np.split(h.numpy(), h.size(1), axis=1)",
    "np.split(h.cpu().numpy(), h.size(1), axis=1)",
    "np.split(np.array(h.tolist(), np.float32), h.size(1), axis=1)",
])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_per_env_states_split_from_a_state_read_as_features_are_refused(tmp_path, capsys, form, split):
    # exit 0 before: the tuple form kept h alone in the list (c dropped, `zip(*self.states)` raised
    # next step), the packed form split `h.chunk(2, dim=-1)[0].numpy()` (width 8 where 16 next call)
    before = _pool(tmp_path, split)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'envpool.py'}:14:23: G2L100 `self.states` holds the hidden state, but here it receives `{split}`, "
        "made from the hidden state `h` by calls the engine reads as its features (h alone), so the cell state c would be "
        "dropped from what it holds; split the state with `torch.split` or `unbind` (which the engine follows) before "
        "converting the pieces, or split h and c each into it by hand"
    )
    assert {name: (tmp_path / name).read_text() for name in before} == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_per_env_states_split_by_torch_before_numpy_migrate_and_run(tmp_path, form):
    # the remedy the finding names: pieces of the state the engine follows, then converted
    _pool(tmp_path, "[s.numpy() for s in torch.split(h, 1, dim=1)]")
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py', run_name='__main__')")


# a communication message averaged over the agents' states, given the state's shape
COMM = """\
    import torch
    import torch.nn as nn


    class CommAgent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.cell = nn.GRUCell(4 + hidden, hidden)
            self.q = nn.Linear(hidden, 3)

        def forward(self, obs, h):
            msg = h.mean(0, keepdim=True).expand_as(h)
            blank = self.q(torch.zeros_like(h)).detach()
            noise = torch.zeros(1, 1).expand_as(h)
            h = self.cell(torch.cat([obs, msg], -1), h + noise * 0)
            return self.q(h) + blank * 0, h


    torch.manual_seed(0)
    agent = CommAgent()
    h = torch.zeros(3, 8)
    qs = []
    for t in range(4):
        q, h = agent(torch.randn(3, 4), h)
        qs.append(q)
    torch.stack(qs).sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_giving_its_shape_to_features_migrates_and_runs(tmp_path, form):
    write(tmp_path, {"comm.py": COMM, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('comm.py')")


def test_a_state_giving_its_shape_to_features_gives_h_half_packed(tmp_path):
    # packed before: `.expand_as(h)` and `zeros_like(h)` of the packed state, twice as wide as the
    # features (RuntimeError); what is made into the state (`noise`, through a name) stays whole
    write(tmp_path, {"comm.py": COMM, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    text = (tmp_path / "comm.py").read_text()
    assert "msg = h.chunk(2, dim=-1)[0].mean(0, keepdim=True).expand_as(h.chunk(2, dim=-1)[0])" in text
    assert "blank = self.q(torch.zeros_like(h.chunk(2, dim=-1)[0])).detach()" in text
    assert "noise = torch.zeros(1, 1).expand_as(h)\n" in text
