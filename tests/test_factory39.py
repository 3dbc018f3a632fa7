"""Issue 13, session 39 (factory): states and other buffers made by one factory (repros in
/work/scratch/factory/cases/). A dict filled by a key not written out, one of whose values is the
state, left that value one tensor (exit 0, the migrated program crashed); a factory of a fresh
tensor not taken as one (its last size a number, `.to(device)` after it, numpy, a factory calling
a factory, its sizes swapped or given by keyword) joined all its calls, so the mask made by it was
paired or doubled with the state (exit 0, a buffer that is not recurrence changed)."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_left13 import FACTORY, FORMS, _refused
from tests.test_redteam_packed import run_migrated, write

PLAIN = FACTORY.format(extra="", keywords="", given="")
TWO_CALLS = "    h = fresh(3, 8)\n    mask = fresh(3, 8)\n"


def _line_of(source: str, text: str) -> int:
    return next(number for number, line in enumerate(textwrap.dedent(source).splitlines(), 1) if text in line)


# 1. a dict (or list) filled by a key not written out, one of its values the state
FILLED = {
    "loop": '    bufs = {}\n    for k in ("h", "m"):\n        bufs[k] = fresh(3, 8)\n',
    "loop-over-a-name": '    keys = ["h", "m"]\n    bufs = {}\n    for k in keys:\n        bufs[k] = fresh(3, 8)\n',
    "loop-of-zeros": '    bufs = {}\n    for k in ("h", "m"):\n        bufs[k] = torch.zeros(3, 8)\n',
    "comprehension": '    keys = ["h", "m"]\n    bufs = {k: fresh(3, 8) for k in keys}\n',
    "fromkeys": '    keys = ["h", "m"]\n    bufs = dict.fromkeys(keys, fresh(3, 8))\n',
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("filled", FILLED.values(), ids=FILLED.keys())
def test_a_dict_filled_by_a_key_not_written_out_with_the_state_and_a_mask_is_refused_where_the_state_is_read(tmp_path, capsys, form, filled):
    # before (all but the comprehension): exit 0 in both forms, `bufs["h"]` stayed one tensor and
    # the LSTMCell got it (tuple: no pair; packed: "hidden0 has inconsistent hidden_size"); the
    # comprehension paired (tuple) or doubled (packed) the mask with the state
    source = PLAIN.replace(TWO_CALLS, filled + '    h = bufs["h"]\n    mask = bufs["m"]\n')
    first = _refused(tmp_path, capsys, form, {"agent.py": source}, f'{_line_of(source, "h = bufs[")}:5: G2L101 ')
    assert first.endswith(
        "G2L101 `bufs[\"h\"]` holds the hidden state, but `bufs` gets its values where their keys are not written out "
        f"(`{filled.strip().splitlines()[-1].strip()}`, line {_line_of(source, filled.strip().splitlines()[-1].strip())}) "
        "and its key `'m'` gives another value, so the engine cannot tell which value written there is the hidden state; "
        "write the key out (`bufs[\"h\"] = ...`), or keep the hidden state in a name of its own"
    )


def test_a_dict_filled_by_a_key_not_written_out_whose_every_key_read_gives_the_state_migrates_and_runs(tmp_path):
    # before: exit 0, the creation written by `bufs[k]` left one tensor (the LSTMCell got it)
    source = PLAIN.replace(TWO_CALLS, '    bufs = {}\n    for k in ("h",):\n        bufs[k] = fresh(3, 8)\n    h = bufs["h"]\n    mask = fresh(3, 8)\n')
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    migrated = (tmp_path / "agent.py").read_text()
    assert "bufs[k] = (\n        fresh(3, 8),\n        fresh(3, 8),\n    )\n" in migrated and "mask = fresh(3, 8)\n" in migrated
    run_migrated(tmp_path, "import agent")


# 2. factories of a fresh tensor that were followed as a whole, joining the mask with the state
FACTORIES = {
    "last-size-a-number": ("def fresh(n):\n        return torch.zeros(n, 8)", "fresh(3)", "fresh(3)"),
    "to-device": ("def fresh(n, dim):\n        return torch.zeros(n, dim).to('cpu')", "fresh(3, 8)", "fresh(3, 2 * 8)"),
    "requires-grad": ("def fresh(n, dim):\n        return torch.zeros(n, dim).requires_grad_()", "fresh(3, 8)", "fresh(3, 2 * 8)"),
    "numpy": (
        "def fresh(n, dim):\n        return torch.from_numpy(np.zeros((n, dim), dtype=np.float32))", "fresh(3, 8)", "fresh(3, 2 * 8)",
    ),
    "nested": (
        "def make(n, dim):\n        return torch.zeros(n, dim)\n\n\n    def fresh(n, dim):\n        return make(n, dim)",
        "fresh(3, 8)", "fresh(3, 2 * 8)",
    ),
    "swapped": ("def fresh(dim, n):\n        return torch.zeros(n, dim)", "fresh(8, 3)", "fresh(2 * 8, 3)"),
    "by-keywords": ("def fresh(n, dim):\n        return torch.zeros(n, dim)", "fresh(dim=8, n=3)", "fresh(dim=2 * 8, n=3)"),
    "size-by-default": ("def fresh(n, dim=8):\n        return torch.zeros(n, dim)", "fresh(3)", "fresh(3)"),
}
DEFINED = "def fresh(n, dim):\n        return torch.zeros(n, dim)"


def _factory_source(defined: str, state_call: str) -> str:
    source = PLAIN.replace(DEFINED, defined).replace("import torch.nn as nn\n", "import torch.nn as nn\n    import numpy as np\n")
    return source.replace(TWO_CALLS, f"    h = {state_call}\n    mask = {state_call}\n")


@pytest.mark.parametrize("defined, state_call, packed_call", FACTORIES.values(), ids=FACTORIES.keys())
def test_a_factory_called_for_the_state_and_a_mask_pairs_only_the_state_call(tmp_path, defined, state_call, packed_call):
    # before: exit 0, the factory's return paired, so the mask was a pair too (`mask = (mask[0] + 1,
    # mask[1] + 1)`); by keywords, swapped or by default: G2L101 "cannot follow"
    source = _factory_source(defined, state_call)
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    migrated = (tmp_path / "agent.py").read_text()
    assert f"h = (\n    {state_call},\n    {state_call},\n)\n" in migrated
    assert f"mask = {state_call}\n" in migrated and "mask = mask + 1\n" in migrated and defined.replace("\n    ", "\n") in migrated
    run_migrated(tmp_path, "import agent")


@pytest.mark.parametrize("defined, state_call, packed_call", [v for v in FACTORIES.values() if v[1] != v[2]], ids=[k for k, v in FACTORIES.items() if v[1] != v[2]])
def test_a_factory_called_for_the_state_and_a_mask_widens_only_the_state_call_packed(tmp_path, defined, state_call, packed_call):
    # before: exit 0 with the factory's creation doubled, so the mask was doubled too (the driver's
    # mask check failed), or G2L101 where the call did not write its sizes out in order
    write(tmp_path, {"agent.py": _factory_source(defined, state_call), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    migrated = (tmp_path / "agent.py").read_text()
    assert f"h = {packed_call}\n" in migrated and f"mask = {state_call}\n" in migrated and "mask = mask + 1\n" in migrated and defined.replace("\n    ", "\n") in migrated
    run_migrated(tmp_path, "import agent")


@pytest.mark.parametrize("name", ["last-size-a-number", "size-by-default"])
def test_a_factory_call_that_does_not_give_the_hidden_size_is_refused_packed_saying_how_to_give_it(tmp_path, capsys, name):
    defined, state_call, _ = FACTORIES[name]
    source = _factory_source(defined, state_call)
    first = _refused(tmp_path, capsys, "packed", {"agent.py": source}, f'{_line_of(source, "h = fresh")}:5: G2L100 ')
    assert first.endswith(
        f"G2L100 `{state_call}` makes the hidden state, but no argument of this call gives its last size alone (the size is "
        "written or computed inside `fresh()`, left to a default, spread, or held in a shape), and `fresh()` also makes tensors "
        "that are not states, so the engine cannot double the hidden size at the call; give the hidden size as an argument of "
        "its own (`fresh(n, hidden)` making `torch.zeros(n, hidden)`), or use --state tuple"
    )


STARTED_IN_THE_CALL = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def init_hidden(self, b):
            return torch.zeros(1, b, 8)

        def start(self, x):
            out, h = self.gru(x, self.init_hidden(x.shape[1]))
            return self.pi(out), h

        def step(self, x, h):
            out, h = self.gru(x, h)
            return self.pi(out), h


    agent = Agent()
    y, h = agent.start(torch.randn(5, 3, 4))
    for t in range(3):
        y, h = agent.step(torch.randn(5, 3, 4), h)
        y.sum().backward()
        h = h.detach()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_factory_whose_one_call_is_handed_to_the_gru_gives_the_state_itself(tmp_path, form):
    # a call held by no name, given to the GRU as its state, is a state call (the factory is then
    # followed as a whole: packed `torch.zeros(1, b, 2 * 8)` in it)
    write(tmp_path, {"agent.py": STARTED_IN_THE_CALL, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "packed":
        assert "return torch.zeros(1, b, 2 * 8)\n" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")
