"""Red team, wave 8 (our own small projects in the styles of a model that keeps its own state, a
multi-agent runner with a dict of states, numpy and disk round trips, a 2-layer GRU read flattened,
remote actors, and per-id states made on first use): what the engine got wrong there, each case
migrated and run, or refused with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- a 2-layer state flattened for a head
FLAT = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8, num_layers=2)
            self.v = nn.Linear(16, 1)

        def forward(self, x, h):
            out, h = self.rnn(x, h)
            flat = h.permute(1, 0, 2).{reshape}
            return self.v(flat), flat, h


    def main():
        net = Net()
        h = torch.zeros(2, 3, 8)
        feats = []
        for _ in range(3):
            v, flat, h = net(torch.randn(1, 3, 4), h)
            feats.append(flat)
        return torch.stack(feats), h
"""


@pytest.mark.parametrize("reshape", ["reshape(3, -1)", "flatten(1)", "flatten(start_dim=-2)"])
def test_packed_a_state_merged_across_its_last_dimension_read_as_features_is_refused(tmp_path, capsys, reshape):
    # `flat.chunk(2, dim=-1)[0]` of rows [h_0 c_0 h_1 c_1] gave the head layer 0's h and c: exit 0, broken.
    write(tmp_path, {"pyproject.toml": "", "net.py": FLAT.replace("{reshape}", reshape)})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"net.py:14:23: G2L100 `flat` is read as features here, and it was made by `h.permute(1, 0, 2).{reshape}`" in out
    assert "merges the last dimension of the packed state" in out


def test_packed_a_flattening_that_keeps_the_last_dimension_migrates(tmp_path):
    # (L, B, 2H) -> (L * B, 2H): h and c stay side by side in each row
    write(tmp_path, {"pyproject.toml": "", "net.py": FLAT.replace("{reshape}", "reshape(-1, h.size(-1))").replace("16, 1", "8, 1")})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "self.v(flat.chunk(2, dim=-1)[0])" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, "import net\nnet.main()\n")


def test_tuple_a_state_flattened_for_a_head_migrates(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "net.py": FLAT.replace("{reshape}", "reshape(3, -1)")})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "self.v(flat[0])" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, "import net\nnet.main()\n")


# ---------------------------------------------------------------- per-id states made on first use
SERVER = """\
    from collections import defaultdict

    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 6)

        def init_hidden(self, n=1):
            return torch.zeros(1, n, 6)

        def forward(self, x, h):
            y, h = self.rnn(x.unsqueeze(0), h)
            return y[0].sum(-1), h


    def main():
        policy = Policy()
        states = defaultdict(lambda: policy.init_hidden(1))
        for t in range(4):
            ids = [0, 1] if t % 2 else [1]
            h = torch.cat([states[i] for i in ids], dim=1)
            _, h = policy(torch.randn(len(ids), 3), h)
            for k, i in enumerate(ids):
                states[i] = h[:, k:k + 1]
        return states
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_defaultdict_whose_factory_makes_states_migrates(tmp_path, form):
    # `defaultdict(lambda: policy.init_hidden(1))` was G2L101 (the instance used inside a lambda)
    write(tmp_path, {"pyproject.toml": "", "server.py": SERVER})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import server\nserver.main()\n")


def test_a_defaultdict_whose_factory_takes_parameters_stays_unfollowed(tmp_path, capsys):
    # a factory with a parameter is no default factory; what it calls is not followed
    write(tmp_path, {"pyproject.toml": "", "server.py": SERVER.replace("lambda: policy.init_hidden(1)", "lambda n=1: policy.init_hidden(n)")})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert "G2L101 an instance of `Policy` is used inside `lambda n=1: policy.init_hidden(n)`" in capsys.readouterr().out


# ---------------------------------------------------------------- a dict of states built from zipped pieces
AGENTS = """\
    import torch
    import torch.nn as nn


    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 5)

        def forward(self, x, h):
            y, h = self.rnn(x, h)
            return y, h


    def main():
        policy = Shared()
        agents = ["a", "b", "c"]
        first = torch.zeros(1, 3, 5)
        states = dict(zip(agents, first.chunk(3, 1)))
        for t in range(4):
            live = agents[: 3 - t // 2]
            h = torch.cat([states[a] for a in live], dim=1)
            _, h = policy(torch.randn(1, len(live), 3), h)
            states.update(zip(live, h.chunk(len(live), 1)))
        return states
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_dict_built_and_updated_from_zipped_pieces_of_a_state_migrates(tmp_path, form):
    # `dict(zip(ids, h.chunk(n, 1)))` was G2L100 (passed to dict()), `.update(zip(...))` G2L101
    write(tmp_path, {"pyproject.toml": "", "agents.py": AGENTS})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "agents.py").read_text()
    if form == "tuple":
        assert "states.update(zip(live, list(zip(h.chunk(len(live), 1), c.chunk(len(live), 1)))))" in text
    run_migrated(tmp_path, "import agents\nagents.main()\n")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_dict_updated_from_a_comprehension_of_states_migrates(tmp_path, form):
    # a mapping handed to update() was G2L101; it is stored as `d[k] = v` stores (tests/test_followed_containers.py)
    write(tmp_path, {"pyproject.toml": "", "agents.py": AGENTS.replace(
        "states.update(zip(live, h.chunk(len(live), 1)))", "states.update({a: h[:, i:i + 1] for i, a in enumerate(live)})")})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "states.update({a: (h[:, i:i + 1], c[:, i:i + 1]) for i, a in enumerate(live)})" in (tmp_path / "agents.py").read_text()
    run_migrated(tmp_path, "import agents\nagents.main()\n")


def test_a_dict_updated_from_a_list_of_pairs_stays_unfollowed(tmp_path, capsys):
    # an iterable of (key, value) rows other than zip(keys, values) is not followed; the slices in it
    # were read as features and `states` got h alone (exit 0, broken)
    write(tmp_path, {"pyproject.toml": "", "agents.py": AGENTS.replace(
        "states.update(zip(live, h.chunk(len(live), 1)))", "states.update([(a, h[:, i:i + 1]) for i, a in enumerate(live)])")})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        "agents.py:24:9: G2L101 `states` holds hidden states and is updated by `states.update()`, whose values are "
        "followed only into a dict made in the program, from a dict, keywords or `zip(keys, values)`"
    ) in capsys.readouterr().out


FRESH = """\
    import torch
    import torch.nn as nn


    def main():
        core = nn.GRU(3, 5)
        states = {}
        for a, h0 in zip("abc", torch.zeros(1, 3, 5).chunk(3, 1)):
            states[a] = h0
        for t in range(3):
            h = torch.cat([states[a] for a in "abc"], dim=1)
            _, h = core(torch.randn(1, 3, 3), h)
            for a, piece in zip("abc", h.chunk(3, 1)):
                states[a] = piece
        return states
"""


def test_tuple_pieces_of_a_new_tensor_kept_as_states_are_refused(tmp_path, capsys):
    # the cut of `torch.zeros(...)` was left one tensor per id while the loop took pairs from the dict: exit 0, broken
    write(tmp_path, {"pyproject.toml": "", "fresh.py": FRESH})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert "fresh.py:8:29: G2L100 `torch.zeros(1, 3, 5).chunk(3, 1)` cuts a new tensor into pieces that are kept as hidden states" in capsys.readouterr().out


def test_packed_pieces_of_a_new_tensor_kept_as_states_migrate(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "fresh.py": FRESH})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "torch.zeros(1, 3, 2 * 5).chunk(3, 1)" in (tmp_path / "fresh.py").read_text()
    run_migrated(tmp_path, "import fresh\nfresh.main()\n")


# ---------------------------------------------------------------- a state written by numpy's savers
SAVED = """\
    import numpy as np
    import torch
    import torch.nn as nn


    def main(path):
        core = nn.GRU(3, 4)
        h = torch.zeros(1, 2, 4)
        states = np.zeros((3, 1, 2, 4), dtype=np.float32)
        for t in range(3):
            _, h = core(torch.randn(1, 2, 3), h)
            states[t] = h.detach().numpy()
        np.savez(path, hiddens=states)
        return np.load(path)["hiddens"]
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_written_by_np_savez_is_refused(tmp_path, capsys, form):
    # the arrays were read as features (tuple: `hiddens=states[0]`, c dropped; packed: `.chunk` of an ndarray)
    write(tmp_path, {"pyproject.toml": "", "saved.py": SAVED})
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "saved.py:13:28: G2L100 the hidden state `states` is written to a file by `np.savez()`, whose arrays the engine does not follow" in out


# ---------------------------------------------------------------- a model that keeps its own state, read through an attribute
STATEFUL = """\
    import torch
    import torch.nn as nn


    class StatefulNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 4)
            self.hidden = None

        def reset_hidden(self, n):
            self.hidden = torch.zeros(1, n, 4)

        def forward(self, x):
            out, self.hidden = self.gru(x, self.hidden)
            return out
"""

AGENT = """\
    import torch

    from model import StatefulNet


    class Agent:
        def __init__(self):
            self.net = StatefulNet()
            self.net.reset_hidden(2)

        def step(self, done):
            self.net(torch.randn(1, 2, 3))
            self.net.hidden = self.net.hidden * (~done).float().view(1, -1, 1)
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_member_read_through_an_attribute_chain_in_a_file_not_given_is_refused(tmp_path, capsys, form):
    # `self.net.hidden * mask` in agent.py (not given) was not seen as a read of `StatefulNet.hidden`:
    # tuple form wrote model.py alone, exit 0, and agent.py multiplied a pair (TypeError)
    write(tmp_path, {"pyproject.toml": "", "model.py": STATEFUL, "agent.py": AGENT})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--state", form, str(tmp_path / "model.py")]) == 1
    out = capsys.readouterr().out
    assert "agent.py, which was not given, reads it at line 13 (`self.net.hidden`)" in out
    assert (tmp_path / "model.py").read_text() == before


def test_a_member_read_through_an_attribute_chain_migrates_with_the_project(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "model.py": STATEFUL, "agent.py": AGENT})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import torch, agent\na = agent.Agent()\nfor t in range(3):\n    a.step(torch.tensor([t == 1, False]))\n")


# ---------------------------------------------------------------- states served by a torch DataLoader
DATASET = """\
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader, Dataset


    class Seqs(Dataset):
        def __init__(self):
            self.items = []

        def add(self, obs, h0):
            self.items.append((obs, h0.squeeze(1)))

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            obs, h0 = self.items[i]
            return {"obs": obs, "h0": h0}


    def main():
        core = nn.GRU(4, 8, batch_first=True)
        data = Seqs()
        h = torch.zeros(1, 1, 8)
        for _ in range(3):
            obs = torch.randn(1, 5, 4)
            data.add(obs[0], h)
            _, h = core(obs, h)
        for batch in DataLoader(data, batch_size=2):
            core(batch["obs"], batch["h0"].transpose(0, 1).contiguous())
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_states_served_by_a_dataloader_are_refused(tmp_path, capsys, form):
    # DataLoader(data) was taken for a tensor function of `data`: the stored state was read as
    # features (`h0[0].squeeze(1)`) while the batch was read as a pair: exit 0, broken
    write(tmp_path, {"pyproject.toml": "", "bc.py": DATASET})
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    assert "bc.py:29:29: G2L101 an instance of `Seqs` is passed to `DataLoader`, which the engine cannot follow" in capsys.readouterr().out
