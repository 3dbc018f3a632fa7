"""Red team wave 33 (`/work/scratch/rt33`): a dict of the states of several recurrent modules (a
recurrent SAC's `{"actor": h, "critic": h}`) reset through a name as its key is refused; reset
under its constant keys, or made again by a comprehension, it migrates and runs."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

NETS = """\
    import torch
    import torch.nn as nn


    class RecActor(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(4, hidden, batch_first=True)
            self.mu = nn.Linear(hidden, 2)

        def forward(self, obs, h):
            y, h = self.gru(obs, h)
            return torch.tanh(self.mu(y)), h


    class RecCritic(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(6, hidden, batch_first=True)
            self.q = nn.Linear(hidden, 1)

        def forward(self, obs, act, h):
            y, h = self.gru(torch.cat([obs, act], -1), h)
            return self.q(y), h
"""

SAC = """\
    import torch
    from nets import RecActor, RecCritic


    class SAC:
        def __init__(self):
            self.actor = RecActor()
            self.critic = RecCritic()
            self.hiddens = {{"actor": torch.zeros(1, 1, 8), "critic": torch.zeros(1, 1, 8)}}

        def act(self, obs):
            a, self.hiddens["actor"] = self.actor(obs, self.hiddens["actor"])
            q, self.hiddens["critic"] = self.critic(obs, a, self.hiddens["critic"])
            return a, q

        def reset(self):
    {reset}
"""

DRIVER = """\
    import torch
    from sac import SAC

    torch.manual_seed(0)
    s = SAC()
    qs = []
    for t in range(5):
        a, q = s.act(torch.randn(1, 1, 4))
        qs.append(q)
        if t == 2:
            s.reset()
    torch.stack(qs).sum().backward()
"""

# (the body of reset(), line and column of the write by a name as key)
BY_A_NAME = {
    "loop over its keys": ("        for k in self.hiddens:\n                self.hiddens[k] = torch.zeros(1, 1, 8)", 18, 13),
    "loop over a tuple of its keys": (
        '        for k in ("actor", "critic"):\n                self.hiddens[k] = torch.zeros(1, 1, 8)', 18, 13
    ),
    "parameter of a helper": (
        '        self.reset_one("actor")\n            self.reset_one("critic")\n\n'
        "        def reset_one(self, k):\n            self.hiddens[k] = torch.zeros(1, 1, 8)",
        21, 9,
    ),
}
BY_CONSTANT_KEYS = {
    "constant keys": '        self.hiddens["actor"] = torch.zeros(1, 1, 8)\n            self.hiddens["critic"] = torch.zeros(1, 1, 8)',
    "comprehension": "        self.hiddens = {k: torch.zeros(1, 1, 8) for k in self.hiddens}",
}


def _project(tmp_path, reset: str) -> dict:
    files = {"nets.py": NETS, "sac.py": SAC.format(reset=reset), "driver.py": DRIVER, "pyproject.toml": ""}
    write(tmp_path, files)
    return {name: (tmp_path / name).read_text() for name in files}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("case", sorted(BY_A_NAME))
def test_a_dict_of_states_written_with_a_name_as_its_key_is_refused(tmp_path, capsys, form, case):
    # exit 0 and a crash after the reset: the write by a name as key was left one tensor (tuple:
    # the LSTM got a tensor; packed: the state was H wide where 2H is)
    reset, line, column = BY_A_NAME[case]
    before = _project(tmp_path, reset)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{tmp_path / 'sac.py'}:{line}:{column}: G2L101 `self.hiddens[k]` writes into `self.hiddens`, which holds hidden "
        "states under constant keys (`'actor'`, `'critic'`), with `k` as its key; the engine does not follow a write by any "
        "key to those states, so the value written would stay one tensor where (h, c) is; write each state under its "
        "constant key (`self.hiddens['actor'] = ...`), or migrate this by hand"
    ) in out.splitlines()
    assert {name: (tmp_path / name).read_text() for name in before} == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("case", sorted(BY_CONSTANT_KEYS))
def test_a_dict_of_states_reset_under_its_keys_migrates_and_runs(tmp_path, form, case):
    _project(tmp_path, BY_CONSTANT_KEYS[case])
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
