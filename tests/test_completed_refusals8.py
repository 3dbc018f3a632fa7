"""Code the engine refused although it could migrate it soundly (session 32, complete11): each
project is migrated, then run, and its LSTM must get (h, c) with a non-zero c; the variants that
still cannot be followed stay refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_completed_refusals7 import DRIVE_TYPED_DICT_COPY
from tests.test_redteam_packed import run_migrated, write

# episode ends clear the state through a mask the caller hands in, cast or compared first
MASKED_ACTOR = """\
    import torch
    import torch.nn as nn


    class Actor(nn.Module):
        def __init__(self, n=3):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)
            self.h = torch.zeros(1, n, 8)

        def forward(self, obs):
            out, new_h = self.gru(obs.unsqueeze(0), self.h)
            self.h = new_h.detach()
            return self.pi(out[0])

        def clear(self, done):
            self.h = CLEARED


    torch.manual_seed(0)
    net = Actor()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for t in range(4):
        net(torch.randn(3, 4))
    net.clear(DONE)
    loss = net(torch.randn(3, 4)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert float(net.h[..., :8].abs().sum()) > 0
"""


@pytest.mark.parametrize("cleared, done", [
    ("self.h.masked_fill(done.bool(), 0)", "torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1)"),
    ("torch.where(done.bool(), self.h, 0.0)", "torch.tensor([0.0, 1.0, 1.0]).view(1, 3, 1)"),
    ("torch.where(~done.bool(), self.h, torch.zeros_like(self.h))", "torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1)"),
    ("self.h.masked_fill((done == 1).unsqueeze(-1), 0)", "torch.tensor([1.0, 0.0, 0.0]).view(1, 3)"),
    ("self.h * (1 - done.long())", "torch.tensor([1, 0, 0]).view(1, 3, 1)"),
])
@pytest.mark.parametrize("form", ["packed", "auto"])
def test_a_mask_cast_from_one_of_last_size_one(tmp_path, form, cleared, done):
    # `done.bool()` was "a call the engine does not follow" (G2L100 in packed): a cast keeps the
    # shape of what it casts, so the mask is as wide as `done`, last size 1
    write(tmp_path, {"agent.py": MASKED_ACTOR.replace("CLEARED", cleared).replace("DONE", done), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")


def test_a_cast_mask_as_wide_as_h_stays_refused(tmp_path, capsys):
    agent = MASKED_ACTOR.replace("CLEARED", "self.h.masked_fill(done.bool(), 0)").replace("DONE", "torch.ones(1, 3, 8)")
    write(tmp_path, {"agent.py": agent, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:18:18: G2L100 `self.h.masked_fill(done.bool(), 0)` picks elements of the hidden state "
        "by `done.bool()`, an allocation of the hidden size `8`"
    ) in capsys.readouterr().out


def test_the_remedy_named_for_a_lambda_reading_a_local_migrates(tmp_path):
    # the finding on `self.blank = lambda n: start.expand(...)` (tests/test_completed_refusals7.py)
    # says to define `blank` as a method of the class: done so, the project migrates and runs
    from tests.test_completed_refusals7 import DRIVE_LAMBDA_CREATOR, LAMBDA_CREATOR_AGENT

    agent = LAMBDA_CREATOR_AGENT.replace(
        "self.blank = lambda n: torch.zeros(1, n, self.gru.hidden_size)",
        "self.start = torch.zeros(1, 1, hidden)",
    ).replace("    def forward(self, x, h):", "    def blank(self, n):\n            return self.start.expand(1, n, 8).contiguous()\n\n        def forward(self, x, h):")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_LAMBDA_CREATOR, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


# the carry copied with `dict(carry)`, then its state replaced by a dict union in place
DICT_CARRY_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def initial(self, n):
            return {"hidden": torch.zeros(n, 8), "steps": 0}

        def forward(self, x, carry):
            h = self.cell(x, carry["hidden"])
            carry = dict(carry)
            carry |= {"hidden": h}
            carry["steps"] += 1
            return self.pi(h), carry
"""

# the typed-dict driver of refusals 7, its carry made by `initial()`
DRIVE_DICT_CARRY = DRIVE_TYPED_DICT_COPY.replace("agent.start(", "agent.initial(")


@pytest.mark.parametrize("merged", ['carry |= {"hidden": h}', 'carry.update({"hidden": h})', "carry.update(hidden=h)"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_merged_into_a_copy_of_a_dict(tmp_path, form, merged):
    # `carry = dict(carry)` is a dict whatever it copies, and `carry |= m` is `carry.update(m)`: both
    # were G2L101 ("updated in place by `carry |= ...`", "followed only into a dict made in the program")
    write(tmp_path, {"agent.py": DICT_CARRY_AGENT.replace('carry |= {"hidden": h}', merged), "driver.py": DRIVE_DICT_CARRY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert merged.replace("h}", "(h, c)}").replace("=h)", "=(h, c))") in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")


def test_a_dict_union_into_what_may_be_no_dict_stays_refused(tmp_path, capsys):
    # a parameter never copied: what it holds is whatever callers pass, `|=` is its own operator
    agent = DICT_CARRY_AGENT.replace("            carry = dict(carry)\n", "")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_DICT_CARRY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:16:9: G2L101 `carry` holds hidden states and is updated in place by "
        '`carry |= {"hidden": h}`, which the engine cannot follow'
    ) in capsys.readouterr().out


# a record made from a list of its fields spread by position
SPREAD_RECORD_AGENT = """\
    from dataclasses import dataclass

    import torch
    import torch.nn as nn


    @dataclass
    class Memory:
        h: torch.Tensor
        t: int


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def initial(self, n):
            parts = [torch.zeros(n, 8), 0]
            return Memory(*parts)

        def forward(self, x, mem):
            h = self.cell(x, mem.h)
            return self.pi(h), Memory(h, mem.t + 1)
"""

DRIVE_SPREAD_RECORD = """\
    import torch
    from agent import Agent

    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    mem = agent.initial(3)
    loss = 0
    for t in range(5):
        y, mem = agent(torch.randn(3, 4), mem)
        loss = loss + y.pow(2).mean()
        if t == 2:
            mem = agent.initial(3)
    assert mem.t == 2
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_list_literal_spread_into_the_fields_of_a_record(tmp_path, form):
    # `Memory(*parts)` of `parts = [zeros, 0]` bound once and read only there: its items land in
    # the fields in the order written (it was G2L101 "does not follow which item lands there")
    write(tmp_path, {"agent.py": SPREAD_RECORD_AGENT, "driver.py": DRIVE_SPREAD_RECORD, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("changed", ["parts.reverse()", "parts[0], parts[1] = parts[1], parts[0]"])
def test_a_list_literal_changed_before_it_is_spread_stays_refused(tmp_path, capsys, changed):
    # the order written is no longer the order of the items
    agent = SPREAD_RECORD_AGENT.replace("[torch.zeros(n, 8), 0]", f"[0, torch.zeros(n, 8)]\n            {changed}")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_SPREAD_RECORD, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:22:24: G2L101 `*parts` sets the fields of `Memory` by position, and its field `h` "
        "holds the hidden state"
    ) in capsys.readouterr().out


# a library makes the holder; a helper of the program puts a new state into it before any read
LIBRARY = """\
    import torch


    def blank(batch, width=8):
        return {"hidden": torch.zeros(batch, width), "steps": 0}
"""

HELPER_FILLED_AGENT = """\
    import torch
    import torch.nn as nn
    from library import blank


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def start(self, n):
            carry = blank(n)
            self._zero(carry, n)
            return carry

        def forward(self, x, carry):
            h = self.cell(x, carry["hidden"])
            return self.pi(h), {"hidden": h, "steps": carry["steps"] + 1}

        def _zero(self, carry, n):
            carry["hidden"] = torch.zeros(n, 8)
"""

DRIVE_HELPER_FILLED = """\
    import torch
    from agent import Agent

    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    carry = agent.start(3)
    loss = 0
    for t in range(5):
        y, carry = agent(torch.randn(3, 4), carry)
        loss = loss + y.pow(2).mean()
        if t == 2:
            carry = agent.start(3)
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


def _library_project(tmp_path, agent: str) -> None:
    # the library lives outside the project, as an installed package would
    write(tmp_path / "site", {"library.py": LIBRARY})
    write(tmp_path / "project", {"agent.py": agent, "driver.py": DRIVE_HELPER_FILLED, "pyproject.toml": ""})


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_library_holder_filled_by_a_helper_of_the_program(tmp_path, form):
    # `self._zero(carry, n)` on the next line fills `carry["hidden"]` first in its own body: the
    # library's tensor never reaches the cell (it was G2L101 "receives what `blank(n)` returns")
    _library_project(tmp_path, HELPER_FILLED_AGENT)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path / "project")]) == 0
    run_migrated(tmp_path / "project", f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r})\nimport driver")


@pytest.mark.parametrize("helper, call", [
    ('if n > 1:\n                carry["hidden"] = torch.zeros(n, 8)', "self._zero(carry, n)"),
    ('if n == 0:\n                return\n            carry["hidden"] = torch.zeros(n, 8)', "self._zero(carry, n)"),
    ('print(carry)\n            carry["hidden"] = torch.zeros(n, 8)', "self._zero(carry, n)"),
    ('carry["hidden"] = torch.zeros(n, 8)', "n > 2 and self._zero(carry, n)"),
    ('carry["hidden"] = torch.zeros(n, 8)', 'print(carry["hidden"].shape)\n            self._zero(carry, n)'),
])
def test_a_helper_that_may_not_fill_the_library_holder_first_stays_refused(tmp_path, capsys, helper, call):
    agent = HELPER_FILLED_AGENT.replace('carry["hidden"] = torch.zeros(n, 8)', helper).replace("self._zero(carry, n)", call)
    _library_project(tmp_path, agent)
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path / "project")]) == 1
    assert (
        f"{tmp_path / 'project' / 'agent.py'}:13:17: G2L101 `carry` holds hidden states, but here it receives what "
        "`blank(n)` returns, which the engine cannot follow, so the states in it would stay one tensor"
    ) in capsys.readouterr().out


def test_a_helper_a_subclass_overrides_stays_refused(tmp_path, capsys):
    # `self._zero` may run the subclass's, which fills nothing
    agent = HELPER_FILLED_AGENT + "\n\n    class Quiet(Agent):\n        def _zero(self, carry, n):\n            pass\n"
    _library_project(tmp_path, agent)
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path / "project")]) == 1
    assert "agent.py:13:17: G2L101 `carry` holds hidden states" in capsys.readouterr().out


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_list_literal_spread_into_a_namedtuple(tmp_path, form):
    # the red team's wave 20 record (tests/test_redteam_wave20.py), refused there before
    from tests.test_redteam_wave20 import RECORD_SPREAD

    write(tmp_path, {"agent.py": RECORD_SPREAD.replace("MADE", "Memory(*parts)"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")
