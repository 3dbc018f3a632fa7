"""Red team wave 32 (`/work/scratch/rt32`): styles of real recurrent-RL code not tried before
(recurrent SAC/TD3, world models, per-env dicts, checkpoints, mixins, `__call__` wrappers, ...),
each migrated and run, or refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# separate actor and critic cells whose states travel in one value, taken apart by unpacking
TWO_CELLS = """\
    import torch
    import torch.nn as nn


    class AC(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.actor_rnn = nn.GRUCell(4, hidden)
            self.critic_rnn = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.v = nn.Linear(hidden, 1)

        def init_hidden(self, b):
            return {init}

        def forward(self, x, hxs):
            b = x.size(0)
            {unpack}
            ha = self.actor_rnn(x, ha)
            hc = self.critic_rnn(x, hc)
            return self.pi(ha).sum() + self.v(hc).sum(), {joined}
"""

TWO_CELLS_DRIVER = """\
    import torch

    from model import AC

    ac = AC()
    h = ac.init_hidden(3)
    total = 0
    for t in range(4):
        o, h = ac(torch.randn(3, 4), h)
        total = total + o
    total.backward()
"""

UNPACKED = [
    # (the state made, its unpacking, the state returned, the unpacking migrated)
    ("torch.zeros(2, b, self.hidden)", "ha, hc = hxs[0], hxs[1]", "torch.stack([ha, hc])",
     "(ha, ha_c), (hc, hc_c) = (hxs[0][0], hxs[1][0]), (hxs[0][1], hxs[1][1])"),
    ("torch.zeros(b, self.hidden)", "ha, hc = hxs.clone(), hxs * 2", "ha",
     "(ha, ha_c), (hc, hc_c) = (hxs[0].clone(), hxs[1].clone()), (hxs[0] * 2, hxs[1] * 2)"),
    ("torch.zeros(2 * b, self.hidden)", "ha, hc = hxs[:b], hxs[b:]", "torch.cat([ha, hc])",
     "(ha, ha_c), (hc, hc_c) = (hxs[0][:b], hxs[1][:b]), (hxs[0][b:], hxs[1][b:])"),
    ("torch.zeros(b, 2 * self.hidden)", "ha, hc = hxs[:, :self.hidden], hxs[:, self.hidden:]", "torch.cat([ha, hc], dim=1)",
     "(ha, ha_c), (hc, hc_c) = (hxs[0][:, :self.hidden], hxs[1][:, :self.hidden]), (hxs[0][:, self.hidden:], hxs[1][:, self.hidden:])"),
    ("(torch.zeros(b, self.hidden), torch.zeros(b, self.hidden))", "ha, hc = hxs[0] * 1, hxs[1] * 1", "(ha, hc)",
     "(ha, ha_c), (hc, hc_c) = (hxs[0][0] * 1, hxs[0][1] * 1), (hxs[1][0] * 1, hxs[1][1] * 1)"),
]


@pytest.mark.parametrize("init, unpack, joined, migrated", UNPACKED)
def test_states_unpacked_side_by_side_into_names_held_as_two_migrate_and_run(tmp_path, init, unpack, joined, migrated):
    # exit 0 and a crash (exit 123 for `hxs.clone()`): the line was written once per half of each
    # target, three lines that repeated the other target (`ha, hc = hxs[0], hxs[0][1]`)
    write(tmp_path, {"model.py": TWO_CELLS.format(init=init, unpack=unpack, joined=joined), "driver.py": TWO_CELLS_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert f"        {migrated}\n" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


def test_a_state_given_to_chained_targets_held_as_two_names_is_refused(tmp_path, capsys):
    # exit 123: `ha = hc = hxs[0].clone()` then `ha = hc_c = hxs[1].clone()`, c in the critic's head
    write(tmp_path, {"model.py": TWO_CELLS.format(init="torch.zeros(b, self.hidden)", unpack="ha = hc = hxs.clone()", joined="ha + hc"),
                     "driver.py": TWO_CELLS_DRIVER, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:19:19: G2L100 `hxs.clone()` derives a hidden state held as two names in a statement the engine "
        "cannot write once per half; assign it to a plain name in a statement of its own"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before
