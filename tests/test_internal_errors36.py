"""Internal errors (exit 123, the LSTM self-check catching a broken rewrite) that are a migration or a
finding (session 36): layer states preallocated in one (L, B, H) tensor and written by row by
stacked GRUCells (`hs[i] = cell(x, hs[i])`, `* 0.9`, chained `x = hs[i] = ...`, `hs[i].copy_(...)`); a state
read in a conditional expression handed to `print`; a state tested for being a tuple
(`isinstance(hk, tuple)`: one finding at the test in the tuple form, the test kept packed). Each
migration is run: every LSTM must get (h, c) with a non-zero c."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

STACK = """\
    import torch
    import torch.nn as nn


    class Stack(nn.Module):
        def __init__(self, obs=3, hidden=4, layers=2):
            super().__init__()
            self.cells = nn.ModuleList([nn.GRUCell(obs if i == 0 else hidden, hidden) for i in range(layers)])
            self.head = nn.Linear(hidden, 2)
            self.hidden = hidden

        def init_states(self, n):
            return torch.zeros(len(self.cells), n, self.hidden)

        def forward(self, x, hs):
            hs = hs.clone()
            for i, cell in enumerate(self.cells):
{step}
            return self.head(x), hs
"""

# acting only: rows written in place (the GRU program could not backpropagate through them either)
DRIVER = """\
    import torch

    from stack import Stack

    torch.set_grad_enabled(False)
    net = Stack()
    hs = net.init_states(2)
    for t in range(4):
        y, hs = net(torch.randn(2, 3), hs)
        if t == 1:
            hs = hs * torch.tensor([[0.0], [1.0]])
    print(y.sum())
"""

# spelling -> (the loop's body, its line in the tuple form, in the packed form or None where refused)
ROWS = {
    "assigned": (
        """\
        hs[i] = cell(x, hs[i])
        x = hs[i]""",
        "hs[0][i], hs[1][i] = cell(x, (hs[0][i], hs[1][i]))",
        "hs[i] = torch.cat(cell(x, hs[i].chunk(2, dim=-1)), dim=-1)",
    ),
    "copied": (
        """\
        hs[i].copy_(cell(x, hs[i]))
        x = hs[i]""",
        "hs[0][i], hs[1][i] = cell(x, (hs[0][i], hs[1][i]))",
        "hs[i].copy_(torch.cat(cell(x, hs[i].chunk(2, dim=-1)), dim=-1))",
    ),
    "scaled": (
        """\
        hs[i] = cell(x, hs[i]) * 0.9
        x = hs[i]""",
        "hs[0][i], hs[1][i] = tuple(half * 0.9 for half in cell(x, (hs[0][i], hs[1][i])))",
        "hs[i] = torch.cat(cell(x, hs[i].chunk(2, dim=-1)), dim=-1) * 0.9",
    ),
    "chained_name": (
        """\
        hs[i] = h = cell(x, hs[i])
        x = h""",
        "hs[0][i], hs[1][i] = h, c = cell(x, (hs[0][i], hs[1][i]))",
        "hs[i] = h = torch.cat(cell(x, hs[i].chunk(2, dim=-1)), dim=-1)",
    ),
    "chained": (
        """\
        x = hs[i] = cell(x, hs[i])""",
        "x, x_c = hs[0][i], hs[1][i] = cell(x, (hs[0][i], hs[1][i]))",
        None,
    ),
}


def _project(folder, step: str) -> None:
    write(folder, {"stack.py": STACK.format(step=textwrap.indent(textwrap.dedent(step), " " * 16)), "driver.py": DRIVER, "pyproject.toml": ""})


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("spelling", list(ROWS))
def test_layer_states_written_by_row_into_one_tensor_migrate_and_run(tmp_path, spelling, form):
    step, tuple_line, packed_line = ROWS[spelling]
    if form == "packed" and packed_line is None:
        pytest.skip("refused packed: test_one_name_for_the_input_and_a_row_is_refused_packed_with_that_spelling")
    _project(tmp_path, step)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert " " * 12 + (tuple_line if form == "tuple" else packed_line) + "\n" in (tmp_path / "stack.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


def test_one_name_for_the_input_and_a_row_is_refused_packed_with_that_spelling(tmp_path, capsys):
    # the remedy keeps the state where the code already keeps it, then reads the input from there
    _project(tmp_path, ROWS["chained"][0])
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'stack.py'}:18:25: G2L100 `x` is the input of `cell(x, hs[i])` and also keeps the state it returns "
        "(over a loop of layers): in the packed form that name would hold h and c side by side where the next layer "
        "reads h; use --state tuple, or keep each layer's state where the code keeps it (`hs[i] = cell(x, hs[i])`, then `x = hs[i]`)"
    )
    assert "GRUCell" in (tmp_path / "stack.py").read_text()


CORE = """\
    import torch
    import torch.nn as nn


    class Core(nn.Module):
        def __init__(self, obs=3, hidden=4):
            super().__init__()
            self.gru = nn.GRU(obs, hidden)
            self.pi = nn.Linear(hidden, 2)

        def forward(self, x, h):
            y, h = self.gru(x.unsqueeze(0), h)
            return self.pi(y[0]), h
"""

SPREAD = """\
    import torch

    from model import Core

    core = Core()
    h = torch.zeros(1, 2, 4)
    for t in range(3):
        with torch.no_grad():
            out, h = core(torch.randn(2, 3), h)
    k = 3
    hk = h.repeat_interleave(k, dim=1)
    print({shown})
    out, hk = core(torch.randn(2 * k, 3), hk)
    out.pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_read_in_a_conditional_expression_given_to_print_reads_h(tmp_path, form):
    # each option of the choice is read on its own: `hk.shape` was left to the LSTM check (exit 123)
    write(tmp_path, {"model.py": CORE, "driver.py": SPREAD.format(shown="hk.shape if k > 1 else 0"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "print(hk[0].shape if k > 1 else 0)\n" in (tmp_path / "driver.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


KIND_TESTED = "hk.shape if not isinstance(hk, tuple) else hk[0].shape"


def test_a_state_tested_for_being_a_tuple_is_refused_in_the_tuple_form(tmp_path, capsys):
    # the code already handles (h, c): the migrated state would turn the test true (it was exit 123)
    write(tmp_path, {"model.py": CORE, "driver.py": SPREAD.format(shown=KIND_TESTED), "pyproject.toml": ""})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'driver.py'}:12:23: G2L100 `isinstance(hk, tuple)` tests whether the hidden state `hk` is a tuple, "
        "so this code already handles an LSTM's (h, c); in the tuple form the test would turn true and run the code "
        "written for the pair, which the engine does not rewrite or check; keep only the GRU's branch, use --state packed "
        "(the state stays one tensor and the test false), or migrate this code by hand"
    )
    assert "nn.GRU(" in (tmp_path / "model.py").read_text()


def test_a_state_tested_for_being_a_tuple_keeps_its_test_packed(tmp_path):
    write(tmp_path, {"model.py": CORE, "driver.py": SPREAD.format(shown=KIND_TESTED), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert f"print({KIND_TESTED})\n" in (tmp_path / "driver.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


DETACHED = """\
    import torch
    import torch.nn as nn


    def detach_state(state):
        if {test}:
            return tuple(s.detach() for s in state)
        return state.detach()


    rnn = nn.GRU(3, 4)
    head = nn.Linear(4, 2)
    hidden = torch.zeros(1, 2, 4)
    for t in range(3):
        hidden = detach_state(hidden)
        out, hidden = rnn(torch.randn(5, 2, 3), hidden)
        head(out).pow(2).mean().backward()
"""


@pytest.mark.parametrize(
    "test, kinds", [("isinstance(state, tuple)", "a tuple"), ("isinstance(state, (tuple, list))", "a tuple or a list"), ("type(state) is tuple", "a tuple")]
)
def test_a_helper_that_branches_on_the_state_s_kind_is_refused_at_its_test(tmp_path, capsys, test, kinds):
    # the finding was the loop over the pair in the branch written for it (`for s in state`)
    write(tmp_path, {"train.py": DETACHED.format(test=test), "pyproject.toml": ""})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0].startswith(
        f"{tmp_path / 'train.py'}:6:8: G2L100 `{test}` tests whether the hidden state `state` is {kinds}, so this code already handles"
    )


def test_a_helper_that_branches_on_the_state_s_kind_migrates_packed(tmp_path):
    write(tmp_path, {"train.py": DETACHED.format(test="isinstance(state, tuple)"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "    if isinstance(state, tuple):\n" in (tmp_path / "train.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('train.py')")


@pytest.mark.parametrize("guard, column", [("", 13), ("if i >= 0: ", 24)], ids=["own line", "after a colon"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_one_value_kept_as_a_row_and_read_as_the_next_input_is_refused(tmp_path, capsys, form, guard, column):
    # a chain of the cell's state given to both: the row keeps (h, c), the input reads h (exit 0 and a
    # crash in both forms: `tuple(half * 0.9 for half in cell(...)[0])`, packed `x` of width 2H)
    step = guard + "x = hs[i] = cell(x, hs[i]) * 0.9"
    _project(tmp_path, step)
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'stack.py'}:18:{column}: G2L100 `x` and `hs[i]` are given one value, `cell(x, hs[i]) * 0.9`, where `hs[i]` "
        "keeps it as the hidden state and `x` reads it as features: an LSTM's state is (h, c) and its features h, which one "
        "expression cannot give both; keep the state first (`hs[i] = cell(x, hs[i]) * 0.9`), then read it (`x = hs[i]`)"
    ) in capsys.readouterr().out.splitlines()
    assert "GRUCell" in (tmp_path / "stack.py").read_text()


DEEP = """\
    import torch
    import torch.nn as nn


    class Deep(nn.Module):
        def __init__(self, obs=3, hidden=4, layers=2):
            super().__init__()
            self.grus = nn.ModuleList([nn.GRU(obs if i == 0 else hidden, hidden) for i in range(layers)])
            self.head = nn.Linear(hidden, 2)
            self.hidden = hidden

        def init_states(self, n):
            return torch.zeros(len(self.grus), 1, n, self.hidden)

        def forward(self, x, hs):
            hs = hs.clone()
            out = x
            for i, gru in enumerate(self.grus):
                out, hs[i] = gru(out, hs[i])
            return self.head(out[-1]), hs


    torch.set_grad_enabled(False)
    net = Deep()
    hs = net.init_states(2)
    for t in range(4):
        y, hs = net(torch.randn(5, 2, 3), hs)
        if t == 1:
            hs = hs * torch.tensor([[0.0], [1.0]])
"""


@pytest.mark.parametrize(
    "form, lines",
    [
        ("tuple", ["            out, (hs[0][i], hs[1][i]) = lstm(out, (hs[0][i], hs[1][i]))\n"]),
        ("packed", ["            out, hs_pair = lstm(out, hs[i].chunk(2, dim=-1))\n", "            hs[i] = torch.cat(hs_pair, dim=-1)\n"]),
    ],
)
def test_a_gru_state_unpacked_into_a_row_of_layer_states_migrates_and_runs(tmp_path, form, lines):
    # tuple: exit 123 (`hs[i]` of the pair); packed: exit 0 and a crash (`out, hs[i] = lstm(...)` put
    # the tuple (h, c) into a row of the packed tensor)
    write(tmp_path, {"deep.py": DEEP, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "deep.py").read_text()
    assert all(line in text for line in lines), text
    run_migrated(tmp_path, "import runpy; runpy.run_path('deep.py')")
