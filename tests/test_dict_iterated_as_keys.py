"""A dict of states made in one function and iterated in another (`for name in states`, also
through `sorted`/`set`): iterating gives its keys, but where the walk cannot tell the value is a
dict it took each item for a state, and packed rewrote the key (`new[name.chunk(2, dim=-1)[0]]`,
exit 0, then a crash). It is a finding at the loop; `states.keys()` migrates."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

TEAM = """\
    import torch
    import torch.nn as nn


    class Team(nn.Module):
        def __init__(self, names):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            self.names = names

        def initial(self, n):
            return {name: torch.zeros(n, 8) for name in self.names}

        def forward(self, obs, states):
            out, new = {}, {}
            for name in ITERATED:
                new[name] = self.cell(obs[name], states[name])
                out[name] = self.pi(new[name])
            return out, new


    torch.manual_seed(0)
    team = Team(["a", "b"])
    opt = torch.optim.SGD(team.parameters(), lr=0.1)
    states = team.initial(3)
    loss = 0
    for t in range(5):
        out, states = team({"a": torch.randn(3, 4), "b": torch.randn(3, 4)}, states)
        loss = loss + sum(y.sum() for y in out.values())
        if t == 2:
            states = team.initial(3)
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


@pytest.mark.parametrize("iterated, column", [("states", 21), ("sorted(frozenset(states))", 38), ("set(states)", 25)])
@pytest.mark.parametrize("form", ["packed", "tuple", "auto"])
def test_a_dict_made_elsewhere_iterated_is_refused(tmp_path, capsys, form, iterated, column):
    write(tmp_path, {"agent.py": TEAM.replace("ITERATED", iterated), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:17:{column}: G2L101 `states` is iterated, and it holds a dict of hidden states made elsewhere: "
        "iterating it gives its keys, but the engine cannot tell here that it is a dict and would take each item for a "
        "hidden state; use `states.keys()` (or `.items()`) there"
    ) in capsys.readouterr().out
    assert (tmp_path / "agent.py").read_text() == before


@pytest.mark.parametrize("form", ["packed", "tuple"])
def test_its_keys_iterated_migrate(tmp_path, form):
    write(tmp_path, {"agent.py": TEAM.replace("ITERATED", "states.keys()"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")


# the keys named otherwise: zipped or counted in the loop, a list of them kept or returned, a comprehension
NAMED = [
    ("for name, o in zip(states, obs):", 28),
    ("for i, name in enumerate(states):", 34),
    ("names = sorted(states)\n            for name in names:", 24),
]


@pytest.mark.parametrize("loop, column", NAMED)
@pytest.mark.parametrize("form", ["packed", "tuple"])
def test_the_keys_named_otherwise_are_refused(tmp_path, capsys, form, loop, column):
    write(tmp_path, {"agent.py": TEAM.replace("for name in ITERATED:", loop), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert f"{tmp_path / 'agent.py'}:17:{column}: G2L101 `states` is iterated, and it holds a dict of hidden states made elsewhere:" in (
        capsys.readouterr().out
    )


def test_a_list_of_the_keys_returned_is_refused(tmp_path, capsys):
    team = TEAM.replace("for name in ITERATED:", "for name in self.order(states):").replace(
        "        def forward(", "        def order(self, states):\n            return sorted(states)\n\n        def forward("
    )
    write(tmp_path, {"agent.py": team, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert f"{tmp_path / 'agent.py'}:16:23: G2L101 `states` is iterated" in capsys.readouterr().out


@pytest.mark.parametrize("form", ["packed", "tuple"])
def test_a_key_taken_by_index_migrates(tmp_path, form):
    # `list(states)[i]` gives no key a name by iterating: it migrated before and still does
    loop = "for i in range(len(states)):\n                name = list(states)[i]"
    write(tmp_path, {"agent.py": TEAM.replace("for name in ITERATED:", loop), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")
