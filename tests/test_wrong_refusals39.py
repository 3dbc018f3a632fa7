"""Wrong refusals of session 39 (issue 13): code the engine can follow, refused before."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

TWO_CELLS = """\
    import torch
    import torch.nn as nn


    class ActorCritic(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.actor_rnn = nn.GRUCell(4, hidden)
            self.critic_rnn = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.v = nn.Linear(hidden, 1)

        def init_hidden(self, b):
            return torch.zeros(2, b, self.hidden)

        def forward(self, x, hxs):
            {unpack}
            ha = self.actor_rnn(x, ha)
            hc = self.critic_rnn(x, hc)
            return self.pi(ha).sum() + self.v(hc).sum(), torch.stack([ha, hc])


    net = ActorCritic()
    hxs = net.init_hidden(3)
    loss = 0
    for t in range(4):
        out, hxs = net(torch.randn(3, 4), hxs)
        loss = loss + out
    loss.backward()
"""


@pytest.mark.parametrize("unpack", ["[ha, hc] = [hxs[0], hxs[1]]", "ha, hc = [hxs[0], hxs[1]]", "[ha, hc] = hxs[0], hxs[1]"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_list_display_unpacked_item_by_item_migrates_and_runs(tmp_path, capsys, form, unpack):
    # before: G2L102 "`ha` holds the hidden state elsewhere, but here it receives a part of an unknown
    # value" (both forms): a list display was one container whose items were merged
    write(tmp_path, {"model.py": TWO_CELLS.replace("{unpack}", unpack), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0, capsys.readouterr().out
    run_migrated(tmp_path, "import runpy; runpy.run_path('model.py')")

