"""Silent breaks left by session 31's helpers (`/work/scratch/complete6`, `/work/scratch/rt19`): each
was exit 0, then the migrated program crashed or kept its GRU. Each is now migrated and run, or
refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_completed_refusals6 import DRIVE_TYPED_DICT, MADE_CARRIES, TYPED_DICT_MEMORY
from tests.test_redteam_packed import run_migrated, write

# a library outside the project (a folder beside it, on the path only when the migrated program runs)
LIBRARY = """\
    import torch


    def blank(batch):
        return {"hidden": torch.zeros(batch, 8), "steps": 0}


    def empty():
        return {}


    def thing(n):
        return torch.ones(1, n, 8)
"""


ON_PATH = "import sys; sys.path.insert(0, '../lib')\n"


def _with_library(memory: str) -> str:
    return memory.replace("import torch.nn as nn\n", "import torch.nn as nn\n    from elsewhere import blank, empty\n")


def _project(tmp_path, files: dict):
    """The project in `proj/`, the library in `lib/` beside it: the folder to migrate."""
    write(tmp_path / "lib", {"elsewhere.py": LIBRARY})
    write(tmp_path / "proj", {**files, "pyproject.toml": ""})
    return tmp_path / "proj"


@pytest.mark.parametrize("made", ["blank(batch)", "CarryState(**blank(batch))", "CarryState(blank(batch), steps=0)", '{**blank(batch), "steps": 0}', "blank()"])
def test_a_holder_of_states_a_library_call_returns_is_refused(tmp_path, capsys, made):
    # each was exit 0: `carry["hidden"]` of what `blank` returns kept one tensor, and the cell crashed
    # (`blank()` makes nothing empty: the driver's `carry["hidden"] = carry["hidden"].detach()` does not fill it)
    memory = _with_library(TYPED_DICT_MEMORY).replace(MADE_CARRIES["keywords"], made)
    call = "blank()" if "blank()" in made else "blank(batch)"
    write(tmp_path, {"memory.py": memory, "driver.py": DRIVE_TYPED_DICT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    column = 16 + made.index("blank")
    assert (
        f"{tmp_path / 'memory.py'}:21:{column}: G2L101 `{call}` returns what holds hidden states where it is read, which the "
        "engine cannot follow, so the states in it would stay one tensor; migrate this use by hand, or give the file that defines "
        "the code it reaches in the same run"
    ) in capsys.readouterr().out


def test_a_record_a_library_call_returns_read_by_attribute_is_refused(tmp_path, capsys):
    agent = """\
        import torch.nn as nn
        from elsewhere import blank


        class Agent(nn.Module):
            def __init__(self):
                super().__init__()
                self.core = nn.GRUCell(4, 8)

            def reset(self, n):
                self.mem = blank(n)

            def forward(self, x):
                self.mem.h = self.core(x, self.mem.h)
                return self.mem.h
    """
    project = _project(tmp_path, {"agent.py": agent})
    assert main(["rewrite", "--quiet", str(project)]) == 1
    assert capsys.readouterr().out.startswith(
        f"{project / 'agent.py'}:11:20: G2L101 `self.mem` holds hidden states, but here it receives what `blank(n)` returns, "
        "which the engine cannot follow, so the states in it would stay one tensor; migrate this use by hand, or give the file "
        "that defines the code it reaches in the same run\n"
    )


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_holder_a_library_call_returns_that_the_program_fills_first_migrates(tmp_path, form):
    # the states under its keys are the program's own (`DotDic({})` of l2c): followed, not refused
    made = 'empty()\n            carry["hidden"] = torch.zeros(batch, self.hidden)\n            carry["steps"] = 0\n            return carry'
    memory = _with_library(TYPED_DICT_MEMORY).replace(f"return {MADE_CARRIES['keywords']}", f"carry = {made}")
    project = _project(tmp_path, {"memory.py": memory, "driver.py": DRIVE_TYPED_DICT})
    assert main(["rewrite", "--quiet", "--state", form, str(project)]) == 0
    run_migrated(project, ON_PATH + "import driver")


EMPTY_RECORD = """\
    from types import SimpleNamespace

    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRUCell(4, 8)
            self.mem = {made}

        def start(self, n):
            self.mem.h = torch.zeros(n, 8)

        def forward(self, x):
            self.mem.h = self.core(x, self.mem.h)
            return self.mem.h


    agent = Agent()
    agent.start(3)
    for t in range(3):
        agent(torch.randn(3, 4))
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("made", ["SimpleNamespace()", "SimpleNamespace(**{})"])
def test_a_record_a_library_makes_empty_and_the_program_fills_elsewhere_migrates(tmp_path, form, made):
    # a library's empty record holds none of its states: each is the program's (no finding)
    write(tmp_path, {"agent.py": EMPTY_RECORD.replace("{made}", made), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")


IN_PLACE = """\
    import torch
    import torch.nn as nn
    from elsewhere import thing


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

        def nudge(self):
            {nudge}
"""

DRIVE_IN_PLACE = """\
    import torch
    from agent import Actor

    net = Actor()
    for t in range(3):
        net(torch.randn(3, 4))
    net.nudge()
    net(torch.randn(3, 4))
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
@pytest.mark.parametrize("nudge", ["self.h.add_(thing(3))", "self.h = self.h + thing(3)", "self.h = torch.where(self.h > 0, thing(3), self.h)"])
def test_a_state_joined_with_what_a_library_call_returns(tmp_path, capsys, nudge, form):
    # packed, it was written whole (exit 0) and `thing(3)`, as wide as h, no longer lined up: a crash; tuple (and auto's
    # fallback), it was written once per half: `thing` ran twice and c got it too (session 32: tests/test_silent_gaps32.py)
    project = _project(tmp_path, {"agent.py": IN_PLACE.replace("{nudge}", nudge), "driver.py": DRIVE_IN_PLACE})
    assert main(["rewrite", "--quiet", "--state", form, str(project)]) == 1
    joined = nudge.partition(" = ")[2] or nudge
    column = 9 if joined == nudge else 18
    if form == "packed":
        assert (
            f"{project / 'agent.py'}:19:{column}: G2L100 `{joined}` combines the hidden state with `thing(3)`, a call the engine "
            "does not follow, so it cannot tell how wide it is; in the packed form the state is h and c side by side, twice as "
            "wide, so an operand as wide as h would no longer line up; migrate this by hand, as the tuple form cannot "
            "choose what c gets from it either"
        ) in capsys.readouterr().out
        return
    assert capsys.readouterr().out.startswith(
        f"{project / 'agent.py'}:19:{column}: G2L100 `{joined}` {'joins' if 'where' in joined else 'adds'} `thing(3)`, which is "
        "not a hidden state, to the hidden state; with (h, c) the engine would do the same to c as to h, which is a choice it "
        "cannot make; write it on h alone (and say what c gets) by hand, or make the operand a state the engine follows\n"
    )


def test_a_torch_module_aliased_inside_a_function_is_reported_at_its_gru(tmp_path, capsys):
    # `nn = torch.nn` in the function: the GRUCell was not seen ("unchanged", left a GRU, exit 0)
    agent = """\
        import torch


        def make_cell(hidden=8):
            nn = torch.nn
            return nn.GRUCell(4, hidden)
    """
    write(tmp_path, {"agent.py": agent, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--check", str(tmp_path)]) == 1
    assert capsys.readouterr().out == (
        f"{tmp_path / 'agent.py'}:6:12: G2L101 `nn.GRUCell(4, hidden)` is made under a name that torch is imported as inside "
        "a function, which the engine does not follow, so it would not be migrated with the rest; migrate it by hand, or move "
        "that import to the top of the module\n"
    )
