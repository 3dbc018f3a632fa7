"""Red team, wave 20 (aimed at the code of session 31): each case migrated and run, or refused
with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

FORMS = ("tuple", "packed", "auto")

# ------------------------------------------- an in-place join whose result is read
# `kept = self.h.copy_(new)` (or `self.h.mul_(m)`) read as features: the value was read as h alone,
# so the call itself was written on h's half (`self.h[0].copy_(h[0])`) and c never changed (exit 0,
# every c the LSTM received was zero). An in-place call on a state read as features is refused as
# one on a single state already was.
COPY_READ = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, n=3, hidden=8):
            super().__init__()
            self.gru = nn.GRU(4, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.h = torch.zeros(1, n, hidden)

        def forward(self, x):
            out, h = self.gru(x.unsqueeze(0), self.h.clone())
            with torch.no_grad():
                kept = self.h.METHOD(h.detach())
            return self.pi(out[0]) + kept.sum()
"""


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("method", ["copy_", "mul_"])
def test_an_in_place_join_of_states_read_as_features_is_refused(tmp_path, capsys, form, method):
    write(tmp_path, {"agent.py": COPY_READ.replace("METHOD", method), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"agent.py:15:20: G2L100 `self.h.{method}(h.detach())` changes the hidden state in place and reads it as features, "
        f"which would change h and not c; use `.{method}()` in a statement of its own, then read the state"
    ) in capsys.readouterr().out


# ------------------------------------------- a dict of states made by a function of another file
# `carry = blank(n, H)` with `blank` in util.py, which builds no GRU, then `carry["hidden"]` into
# the cell: the group was migrated without util.py (its dict kept one tensor; exit 0, a crash at the
# first step). Now the holder receiving what a function of a file not analysed returns is G2L101
# naming that file, so the run widens to it; given alone, agent.py is refused.
HOLDER_UTIL = """\
    import torch


    def blank(n, size):
        return {"hidden": torch.zeros(n, size), "steps": 0}
"""

HOLDER_AGENT = """\
    import torch
    import torch.nn as nn

    from util import blank


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)

        def start(self, n):
            return blank(n, self.hidden)

        def forward(self, x, carry):
            h = self.cell(x, carry["hidden"])
            return self.pi(h), NEXT
"""

HOLDER_DRIVER = """\
    import torch
    from agent import Agent

    agent = Agent()
    carry = agent.start(3)
    loss = 0
    for t in range(4):
        logits, carry = agent(torch.randn(3, 4), carry)
        loss = loss + logits.pow(2).mean()
        if t == 1:
            carry = agent.start(3)
    loss.backward()
    assert carry["steps"] == 2
"""


def holder_project(folder, following='{"hidden": h, "steps": carry["steps"] + 1}'):
    write(folder, {
        "util.py": HOLDER_UTIL, "agent.py": HOLDER_AGENT.replace("NEXT", following), "driver.py": HOLDER_DRIVER,
        "pyproject.toml": "",
    })


@pytest.mark.parametrize("form", FORMS)
def test_a_dict_of_states_made_in_another_file_is_migrated_with_it(tmp_path, form):
    holder_project(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert 'return {"hidden": torch.zeros(n, size), "steps": 0}' not in (tmp_path / "util.py").read_text()
    run_migrated(tmp_path, "import driver")


def test_a_dict_of_states_made_in_another_file_not_given_is_refused(tmp_path, capsys):
    holder_project(tmp_path)
    given = [str(tmp_path / name) for name in ("agent.py", "driver.py")]
    assert main(["rewrite", "--quiet", *given]) == 1
    assert (
        "agent.py:15:16: G2L101 `blank(n, self.hidden)` returns what holds hidden states where it is read, which comes "
        f"from {tmp_path / 'util.py'}, a file not migrated with this one, so the states in it would stay one tensor; give that file in the same run too"
    ) in capsys.readouterr().out


# ------------------------------------------- a dict merged with `|`
# `carry | {"hidden": h}` was arithmetic of two values: the merged dict's keys were all one place,
# so `carry["steps"]` read in the driver became `carry["steps"][0]` (exit 0, a crash). It is a copy
# of both dicts, as `{**carry, "hidden": h}` is.
@pytest.mark.parametrize("form", FORMS)
def test_a_dict_merged_with_the_union_operator(tmp_path, form):
    holder_project(tmp_path, 'carry | {"hidden": h, "steps": carry["steps"] + 1}')
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert 'carry["steps"] == 2' in (tmp_path / "driver.py").read_text()
    run_migrated(tmp_path, "import driver")


# ------------------------------------------- a record's fields set by a spread of a name
# `Memory(*parts)` with `parts = [torch.zeros(n, H), 0]`: the spread's items were not placed, so the
# field `h` received nothing from it; its creation kept one tensor (exit 0, a crash at the first
# step). Each field a spread may set now receives a part the walk cannot place: G2L101 on the spread.
RECORD_SPREAD = """\
    from collections import namedtuple

    import torch
    import torch.nn as nn

    Memory = namedtuple("Memory", ["h", "t"])


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = nn.GRUCell(4, hidden)

        def initial(self, n):
            parts = [torch.zeros(n, self.hidden), 0]
            return MADE

        def forward(self, x, mem):
            h = self.cell(x, mem.h)
            return h.sum(), mem._replace(h=h, t=mem.t + 1)


    agent = Agent()
    mem = agent.initial(3)
    for t in range(3):
        y, mem = agent(torch.randn(3, 4), mem)
"""


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("made", ["Memory(*parts[:1], t=0)"])  # `Memory(*parts)` migrates: tests/test_completed_refusals8.py
def test_a_record_made_from_a_spread_of_a_name_is_refused(tmp_path, capsys, form, made):
    write(tmp_path, {"agent.py": RECORD_SPREAD.replace("MADE", made), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    spread = made[len("Memory("):].split(",")[0].rstrip(")")
    assert (
        f"agent.py:17:{len('        return Memory(*') + 1}: G2L101 `{spread}` sets the fields of `Memory` by position, and its field `h` "
        "holds the hidden state; the engine does not follow which item lands there, so it would stay one tensor; "
        "pass the fields one by one, or by name (`Memory(h=...)`)"
    ) in capsys.readouterr().out


# ------------------------------------------- torch.nn bound through a second name
# `from torch import nn as _nn` then `nn = _nn`: only `nn = torch.nn` (an attribute) was read as an
# alias, so `nn.GRUCell` was taken for a class of the program: "left unchanged", exit 0.
CHAINED_ALIAS = """\
    torch = __import__("torch")
    from torch import nn as _nn

    nn = _nn


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)

        def initial(self, n):
            return torch.zeros(n, self.hidden)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h
"""

DRIVE_AGENT = """\
    import torch
    from agent import Agent

    agent = Agent()
    h = agent.initial(3)
    loss = 0
    for t in range(4):
        logits, h = agent(torch.randn(3, 4), h)
        loss = loss + logits.pow(2).mean()
        if t == 1:
            h = h * torch.tensor([0.0, 1.0, 1.0]).view(-1, 1)
    loss.backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_torch_nn_bound_through_a_second_name_is_migrated(tmp_path, form):
    write(tmp_path, {"agent.py": CHAINED_ALIAS, "driver.py": DRIVE_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTMCell(4, hidden)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")


# ------------------------------------------- a position of a tuple bound to a name
# `parts = (torch.zeros(n, H), 0)`, then `parts[0]` where the state goes: a tuple's position was a
# part only once something linked it, so the creation (no place of its own) was not one, and
# `parts[0]` was taken for a position of a layer's result: `(parts[0][0], parts[1][0])`, the
# creation kept one tensor (exit 0, a crash). Every position of a tuple display is a part now.
TUPLE_POSITION = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = nn.GRUCell(4, hidden)

        def initial(self, n):
            parts = (torch.zeros(n, self.hidden), 0)
            return parts[0]

        def forward(self, x, h):
            return self.cell(x, h)
"""

DRIVE_CELL = """\
    import torch
    from agent import Agent

    agent = Agent()
    h = agent.initial(3)
    for t in range(3):
        h = agent(torch.randn(3, 4), h)
        if t == 1:
            h = agent.initial(3)
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_creation_at_a_position_of_a_tuple_bound_to_a_name(tmp_path, form):
    write(tmp_path, {"agent.py": TUPLE_POSITION, "driver.py": DRIVE_CELL, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "        return parts[0]\n" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")
