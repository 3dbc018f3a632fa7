"""Silent gaps found in session 32 and left open there (`/work/scratch/complete8/ops/y6`,
`/work/scratch/rt21/src`): each was exit 0, then the migrated program ran a call twice, crashed or
kept its GRU. Each is now migrated and run, or refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

ACTOR = """\
    import torch
    import torch.nn as nn
    {imports}

    CALLS = []


    def thing(n):
        CALLS.append(n)
        return torch.ones(1, n, 1) * 0.5


    class Actor(nn.Module):
        def __init__(self, n=3):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)
            self.h = torch.zeros(1, n, 8)

        def keep(self, n):
            CALLS.append(n)
            return torch.ones(1, n, 1)

        def forward(self, obs):
            out, new_h = self.gru(obs.unsqueeze(0), self.h)
            self.h = new_h.detach()
            return self.pi(out[0])

        def nudge(self):
            {nudge}


    net = Actor()
    for t in range(4):
        net(torch.randn(3, 4))
        net.nudge()
    assert len(CALLS) in (0, 4), CALLS  # once a step where the program's functions are called
"""
LIBRARY = """\
    import torch


    def thing(n):
        return torch.ones(1, n, 8)


    def mask(n):
        return torch.ones(1, n, 1)


    def flags(n):
        return torch.ones(1, n)


    def done(n):
        return torch.tensor([False, True, False][:n])
"""
RUN = "import sys; sys.path.insert(0, '../lib')\nimport agent"


def _actor(tmp_path, nudge, imports=""):
    write(tmp_path / "lib", {"somelib.py": LIBRARY})
    write(tmp_path / "proj", {"agent.py": ACTOR.format(imports=imports, nudge=nudge), "pyproject.toml": ""})
    return tmp_path / "proj"


@pytest.mark.parametrize("nudge, column, call", [
    # each was `(self.h[0].mul_(thing(3)), self.h[1].mul_(thing(3)))`: CALLS grew by two a step
    ("self.h.mul_(thing(3))", 21, "thing(3)"),
    ("self.h = self.h * self.keep(3)", 27, "self.keep(3)"),
    ("self.h = torch.where(self.keep(3) > 0, self.h, torch.zeros_like(self.h))", 30, "self.keep(3)"),
])
def test_a_function_of_the_program_written_once_per_half_is_refused(tmp_path, capsys, nudge, column, call):
    project = _actor(tmp_path, nudge)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 1
    top = nudge.split(" = ")[-1]
    assert capsys.readouterr().out == (
        f"{project / 'agent.py'}:30:{column}: G2L100 `{call}` would run twice, once per half of the hidden state, in "
        f"`{top}`, and the engine cannot tell that it only computes a value; assign it to a name first\n"
    )


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("nudge", ["m = thing(3)\n            self.h.mul_(m)", "m = self.keep(3)\n            self.h = self.h * m"])
def test_a_call_bound_to_a_name_first_runs_once_and_migrates(tmp_path, form, nudge):
    project = _actor(tmp_path, nudge)
    assert main(["rewrite", "--quiet", "--state", form, str(project)]) == 0
    run_migrated(project, RUN)  # the driver asserts one call a step


PACKED_FINDING = (
    "a call the engine does not follow, so it cannot tell how wide it is; in the packed form the state is h and c side by side, "
    "twice as wide, so an operand as wide as h would no longer line up; use --state tuple, or migrate this by hand\n"
)


@pytest.mark.parametrize("nudge, column, product, operand", [
    # rt21 b05: was trusted as a mask (last size 1), exit 0, and `thing` gives one as wide as h: a crash
    ("m = somelib.thing(3)\n            self.h = self.h * m", 18, "self.h * m", "`m`, made by `somelib.thing(3)`,"),
    ("self.h.mul_(somelib.mask(3))", 9, "self.h.mul_(somelib.mask(3))", "`somelib.mask(3)`,"),
])
def test_a_library_result_in_a_product_with_the_packed_state_is_refused(tmp_path, capsys, nudge, column, product, operand):
    project = _actor(tmp_path, nudge, imports="import somelib")
    assert main(["rewrite", "--quiet", "--state", "packed", str(project)]) == 1
    line = 31 if "\n" in nudge else 30
    assert capsys.readouterr().out == (
        f"{project / 'agent.py'}:{line}:{column}: G2L100 `{product}` combines the hidden state with {operand} " + PACKED_FINDING
    )


@pytest.mark.parametrize("library", ["thing", "mask"])
def test_auto_then_holds_a_library_product_as_a_tuple_and_runs(tmp_path, library):
    # as wide as h or a mask, each half is scaled as h was
    project = _actor(tmp_path, f"m = somelib.{library}(3)\n            self.h = self.h * m", imports="import somelib")
    assert main(["rewrite", "--quiet", "--state", "auto", str(project)]) == 0
    assert "self.h = (self.h[0] * m, self.h[1] * m)" in (project / "agent.py").read_text()
    run_migrated(project, RUN)


@pytest.mark.parametrize("nudge", [
    "self.h = self.h * somelib.flags(3).unsqueeze(-1)",
    "self.h = self.h * somelib.flags(3)[:, :, None]",
    "self.h = self.h * (1 - somelib.done(3).float().unsqueeze(1))",
    "masks = torch.ones(3, 1)\n            self.h = self.h * masks",
])
def test_masks_of_last_size_one_still_migrate_packed_and_run(tmp_path, nudge):
    project = _actor(tmp_path, nudge, imports="import somelib")
    assert main(["rewrite", "--quiet", "--state", "packed", str(project)]) == 0
    assert "2 * 8" in (project / "agent.py").read_text()
    run_migrated(project, RUN)


CELL_AGENT = """\
    import torch
    {imports}


    class Agent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = {made}(4, 8)
            self.pi = torch.nn.Linear(8, 2)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h
"""
DRIVE_CELL = """\
    import torch
    from agent import Agent

    agent = Agent()
    h = torch.zeros(3, 8)
    for t in range(3):
        y, h = agent(torch.randn(3, 4), h)
"""


@pytest.mark.parametrize("util", ["import torch\n\nnn = torch.nn\n", "import torch.nn as nn\n", "from torch import nn\n"])
@pytest.mark.parametrize("given", ["project", "agent.py"])
def test_torch_nn_imported_from_a_module_of_the_project_is_refused_at_the_gru(tmp_path, capsys, util, given):
    # rt21 c02: `from util import nn` was "left unchanged", the GRU kept; the one file given alone too (pre-commit)
    write(tmp_path, {"agent.py": CELL_AGENT.format(imports="from util import nn", made="nn.GRUCell"), "util.py": util,
                     "driver.py": DRIVE_CELL, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path if given == "project" else tmp_path / given)]) == 1
    assert capsys.readouterr().out == (
        f"{tmp_path / 'agent.py'}:8:21: G2L101 `nn.GRUCell(4, 8)` is made under `nn`, a name this file imports from "
        f"{tmp_path / 'util.py'}, where it stands for `torch.nn`, which the engine does not follow, so it would not be migrated "
        "with the rest; migrate it by hand, or move its import from torch to this file (`from torch import nn`)\n"
    )
    assert "GRUCell" in (tmp_path / "agent.py").read_text()


def test_a_class_of_the_project_called_through_a_module_it_imports_is_left_alone(tmp_path):
    # `layers.GRUCell` of the program's own (no torch name): the file is parsed, nothing is refused
    layers = "import torch\n\n\nclass GRUCell(torch.nn.Module):\n    def __init__(self, i, h):\n        super().__init__()\n"
    write(tmp_path, {"agent.py": CELL_AGENT.format(imports="import layers", made="layers.GRUCell"), "layers.py": layers,
                     "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0


@pytest.mark.parametrize("imports, made", [("from layers import Cell", "Cell"), ("import layers", "layers.Cell"),
                                           ("from layers import Cell as C", "C")])
def test_a_gru_class_held_in_another_file_and_made_here_is_refused_where_it_is_held(tmp_path, capsys, imports, made):
    # rt21 c04: `Cell = nn.GRUCell` in layers.py, `Cell(4, 8)` in agent.py was "left unchanged", the GRU kept
    write(tmp_path, {"agent.py": CELL_AGENT.format(imports=imports, made=made), "layers.py": "import torch.nn as nn\n\nCell = nn.GRUCell\n",
                     "driver.py": DRIVE_CELL, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    # one finding at its one statement (the name bound was a second, "`Cell` is used as a value")
    assert capsys.readouterr().out == (
        f"{tmp_path / 'layers.py'}:3:8: G2L101 the class `nn.GRUCell` is assigned here, so the modules made from it are not "
        "followed: each would become an LSTM, whose state is (h, c), while the code around it still passes and takes one tensor; "
        "use `nn.GRU(...)` by its name where the module is made, or migrate this by hand\n"
    )
    assert "GRUCell" in (tmp_path / "layers.py").read_text()
