"""Red team wave 26 (`/work/scratch/rt26`, meta-RL, belief encoders, communicating agents, curiosity,
Ape-X rings, recurrent TD3, options, traced policies): code refused that now migrates and runs, or
refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# CommNet style: every agent's state in one (A, B, H) tensor, flattened for the cell and given back
# its agent dimension by `unflatten`; the message is the mean of the other agents' states
COMM_AGENTS = """\
    import torch
    import torch.nn as nn


    class MeanComm(nn.Module):
        def __init__(self, hid=6):
            super().__init__()
            self.fc = nn.Linear(4, hid)
            self.cell = nn.GRUCell(2 * hid, hid)
            self.out = nn.Linear(hid, 3)

        def step(self, obs, h):
            agents = h.shape[0]
            comm = (h.sum(0, keepdim=True) - h) / (agents - 1)
            x = torch.cat([torch.relu(self.fc(obs)), comm], -1)
            h = self.cell(x.flatten(0, 1), h.flatten(0, 1)).unflatten({dim}, {sizes})
            return self.out(h), h
"""

COMM_DRIVER = """\
    import torch

    from agents import MeanComm

    model = MeanComm()
    h = torch.zeros(3, 2, 6)
    for t in range(4):
        logits, h = model.step(torch.randn(3, 2, 4), h)
    logits.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_given_its_agent_dimension_back_by_unflatten_migrates_and_runs(tmp_path, form):
    # `unflatten` was a method the engine did not know: G2L101 on the cell's result
    write(tmp_path, {"agents.py": COMM_AGENTS.format(dim=0, sizes="(agents, -1)"), "driver.py": COMM_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


def test_a_packed_state_unflattened_along_its_last_dimension_is_refused(tmp_path, capsys):
    # along the last dimension, the packed state's h and c would be cut into heads together
    write(tmp_path, {"agents.py": COMM_AGENTS.format(dim=-1, sizes="(2, 3)"), "driver.py": COMM_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agents.py'}:16:13: G2L100 `self.cell(x.flatten(0, 1), h.flatten(0, 1)).unflatten(-1, (2, 3))` acts along "
        "the last dimension of the hidden state (or one the engine cannot tell from it), and its result stays a state; in the "
        "packed form that dimension holds h and c side by side, so it would mix them; use --state tuple, or migrate this by hand"
    )


# an operation along the last dimension applied to what a cell gives, before it is named
CELL_RESULT_FLIPPED = """\
    import torch
    import torch.nn as nn


    class Reversed(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 6)
            self.head = nn.Linear(6, 2)

        def forward(self, x, h):
            h = self.cell(x, h).flip(-1)
            return self.head(h), h


    model = Reversed()
    h = torch.zeros(2, 6)
    for _ in range(3):
        y, h = model(torch.randn(2, 4), h)
    y.sum().backward()
"""


def test_a_cell_result_flipped_along_its_last_dimension_is_refused_packed(tmp_path, capsys):
    # packed form: `torch.cat(self.cell(x, h.chunk(2, dim=-1)), dim=-1).flip(-1)` put c reversed
    # where h was, and the head read it (exit 0); only a named state's operations were judged
    write(tmp_path, {"run.py": CELL_RESULT_FLIPPED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'run.py'}:12:13: G2L100 `self.cell(x, h).flip(-1)` acts along the last dimension of the hidden state "
        "(or one the engine cannot tell from it), and its result stays a state; in the packed form that dimension holds h "
        "and c side by side, so it would mix them; use --state tuple, or migrate this by hand"
    )


def test_a_cell_result_flipped_along_its_last_dimension_migrates_as_pairs_under_auto(tmp_path):
    write(tmp_path, {"run.py": CELL_RESULT_FLIPPED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "auto", str(tmp_path)]) == 0
    assert "torch.cat" not in (tmp_path / "run.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


# a helper that projects both the observations and the state through a layer: its parameter was
# bound to both, so observations drawn by numpy (`np.random.randn(2, 4)`) reached a place that holds
# the state; it only reads its parameter as features, so each call reads it there (summaries.FeatureParameter)
SHARED_PROJECTION = """\
    import numpy as np
    import torch
    import torch.nn as nn


    def project(layer, t):
        return torch.tanh(layer(t))


    class Agents(nn.Module):
        def __init__(self):
            super().__init__()
            self.obs_fc = nn.Linear(4, 6)
            self.msg_fc = nn.Linear(6, 6)
            self.cell = nn.GRUCell(12, 6)

        def forward(self, obs, h):
            e = project(self.obs_fc, obs)
            m = project(self.msg_fc, h)
            return self.cell(torch.cat([e, m], -1), h)


    agents = Agents()
    h = torch.zeros(2, 6)
    for t in range(3):
        h = agents(torch.as_tensor(np.random.randn(2, 4), dtype=torch.float32), h)
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_observations_drawn_by_numpy_through_a_shared_projection_migrate_and_run(tmp_path, form):
    # packed form: exit 0, `layer(t.chunk(2, dim=-1)[0])` cut the observations in two (a crash at the
    # first step); then G2L101 at the observations; now the helper is left as it is
    write(tmp_path, {"run.py": SHARED_PROJECTION, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    migrated = (tmp_path / "run.py").read_text()
    assert "return torch.tanh(layer(t))" in migrated
    assert "agents(torch.as_tensor(np.random.randn(2, 4), dtype=torch.float32), h)" in migrated
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


# Ape-X style: the state at each sequence start written into a numpy ring by `np.copyto`
COPYTO_RING = """\
    import numpy as np
    import torch
    import torch.nn as nn

    core = nn.GRU(3, 5)
    ring = np.zeros((4, 5), np.float32)
    h = torch.zeros(1, 1, 5)
    for i in range(4):
        np.copyto(ring[i], h[0, 0].numpy())
        _, h = core(torch.randn(1, 1, 3), h)
        h = h.detach()
    out, _ = core(torch.randn(2, 2, 3), torch.from_numpy(ring[[1, 3]]).unsqueeze(0))
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_state_copied_into_a_numpy_ring_by_copyto_is_refused(tmp_path, capsys, form):
    # packed form: exit 0, both arguments read as features (`np.copyto(ring.chunk(2, dim=-1)[0][i], ...)`)
    write(tmp_path, {"run.py": COPYTO_RING, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    path = tmp_path / "run.py"
    assert capsys.readouterr().out == (
        f"{path}:9:15: G2L100 the hidden state `ring[i]` is written over by `np.copyto()`, which the engine does not "
        "write half by half; migrate this use by hand so that it handles the pair (h, c)\n"
        f"{path}:9:24: G2L100 the hidden state `h[0, 0].numpy()` is copied over another tensor by `np.copyto()`, which "
        "the engine does not write half by half; migrate this use by hand so that it handles the pair (h, c)\n"
    )
