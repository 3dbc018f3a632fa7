"""Attributes that hold the state, set by a name the walk does not read (`setattr(self, name, ...)`
over a list of names, `self.__dict__["h"] = ...`, `vars(self).update(...)`): the allocation there was
never seen, the migrated program fed a one-tensor state to the LSTM (exit 0, crashed). Each is a
finding at the place; a name that cannot be the state's (`f"fc{i}"`) is not. Read by its written
name with a default (`getattr(self, "hidden", None)`), the attribute or the default is followed."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write

AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)
            {setting}

        def step(self, x):
            y, h = self.gru(x, self.h_act)
            self.h_act = h.detach()
            return self.pi(y)


    def run():
        agent = Agent()
        for t in range(4):
            out = agent.step(torch.randn(1, 3, 4))
        out.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("setting, column, what", [
    ('for name in ("h_act", "h_eval"): setattr(self, name, torch.zeros(1, 3, 8))', 42,
     "`setattr(self, name, torch.zeros(1, 3, 8))` sets an attribute by a name the engine cannot read, and `self.h_act` holds the hidden state"),
    ('setattr(self, "h_" + "act", torch.zeros(1, 3, 8))', 9,
     '`setattr(self, "h_" + "act", torch.zeros(1, 3, 8))` sets an attribute by a name the engine cannot read'),
    ('self.__dict__["h_act"] = torch.zeros(1, 3, 8)', 9,
     '`self.__dict__["h_act"]` sets `self.h_act`, which holds the hidden state, by its name'),
    ('vars(self).update(h_act=torch.zeros(1, 3, 8))', 9,
     "`vars(self).update(h_act=torch.zeros(1, 3, 8))` sets an attribute by a name the engine cannot read"),
])
def test_a_state_attribute_set_by_a_name_is_a_finding(tmp_path, capsys, form, setting, column, what):
    write(tmp_path, {"pyproject.toml": "", "agent.py": AGENT.replace("{setting}", setting)})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"agent.py:10:{column}: G2L101 {what}" in out
    assert "so the engine does not see the value it may hold from there" in out
    assert (tmp_path / "agent.py").read_text() == before


def test_layers_set_by_a_name_that_cannot_be_the_state_s_migrate(tmp_path):
    # `f"fc{i}"` never names `h_act`: the state's own assignment is seen, nothing is refused
    setting = 'self.h_act = torch.zeros(1, 3, 8)\n            for i in range(2): setattr(self, f"fc{i}", nn.Linear(8, 8))'
    write(tmp_path, {"pyproject.toml": "", "agent.py": AGENT.replace("{setting}", setting)})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    migrated = (tmp_path / "agent.py").read_text()
    assert "self.h_act = (\n            torch.zeros(1, 3, 8),\n            torch.zeros(1, 3, 8),\n        )" in migrated
    run_migrated(tmp_path, "import agent\nagent.run()\n")


READ_WITH_DEFAULT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def step(self, x):
            h = getattr(self, "hidden", {default})
            if h is None:
                h = torch.zeros(1, x.size(1), 8)
            y, h = self.gru(x, h)
            self.hidden = h.detach()
            return self.pi(y)


    def run():
        agent = Agent()
        for t in range(4):
            out = agent.step(torch.randn(1, 3, 4))
        out.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("default", ["None", "torch.zeros(1, x.size(1), 8)"])
def test_a_state_attribute_read_by_its_written_name_with_a_default_migrates(tmp_path, form, default):
    # `getattr(self, "hidden", None)` was a call the engine could not follow (G2L101)
    write(tmp_path, {"pyproject.toml": "", "agent.py": READ_WITH_DEFAULT.replace("{default}", default)})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple" and default != "None":
        assert 'getattr(self, "hidden", (torch.zeros(1, x.size(1), 8), torch.zeros(1, x.size(1), 8)))' in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent\nagent.run()\n")
