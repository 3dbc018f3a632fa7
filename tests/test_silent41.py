"""Silent breaks of session 41 (issue 13): programs the engine migrated with exit 0 while the
migrated program crashed (found by review6 of session 40; tests/test_review40b.py on s40-review6).

- A copy of a returned tuple that holds the state beside other values (`list(agent.batch(x))`,
  `tuple(...)`, `[*...]`): which item of the copy is the state is not followed, so every item was
  taken for it (packed: `x` chunked, a tensor appended widened; tuple: `res[1] = res[1].detach()`
  written `res[0][1] = res[1][0].detach()`). Refused now (G2L101 at the copy), in both forms.
- Tuple form: a state tensor taken apart into its layers by `tuple(hs)` or `list(hs)`: the layers
  were taken for (h, c) pairs. Refused now (G2L100 at the copy), as `for row in hs` is.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write
from tests.test_review39 import AGENT

COPIES = {
    "concat_front": """\
    def learn(agent, x):
        l = [torch.ones(1, 6, 16)] + list(agent.batch(x))
        y, _ = agent.gru(l[1], l[2])
        return agent.head(y).sum() + l[0].sum()
""",
    "concat_h": """\
    def learn(agent, x):
        l = list(agent.batch(x)) + [torch.ones(1, 6, 16)]
        y, _ = agent.gru(l[0], l[1] * l[2])
        return agent.head(y).sum()
""",
    "concat_tuple_mask": """\
    def learn(agent, x):
        t = tuple(agent.batch(x)) + (torch.ones(1, 6, 16),)
        y, _ = agent.gru(t[0], t[1] * t[2])
        return agent.head(y).sum()
""",
    "mut_append": """\
    def learn(agent, x):
        l = list(agent.batch(x))
        l.append(torch.ones(1, 6, 16))
        y, _ = agent.gru(l[0], l[1])
        return agent.head(y).sum() + l[2].sum()
""",
    "mut_append_then_h": """\
    def learn(agent, x):
        l = list(agent.batch(x))
        l.append(torch.ones(1, 6, 16))
        y, _ = agent.gru(l[0], l[2] * l[1])
        return agent.head(y).sum()
""",
    "mut_insert": """\
    def learn(agent, x):
        l = list(agent.batch(x))
        l.insert(0, torch.ones(1, 6, 16))
        y, _ = agent.gru(l[1], l[2])
        return agent.head(y).sum() + l[0].sum()
""",
    "mut_insert_wrong": """\
    def learn(agent, x):
        l = list(agent.batch(x))
        l.insert(1, torch.ones(1, 6, 16))
        y, _ = agent.gru(l[0], l[1] + l[2])
        return agent.head(y).sum()
""",
    "mut_pop": """\
    def learn(agent, x):
        l = list(agent.batch(x))
        x0 = l.pop(0)
        y, _ = agent.gru(x0, l[0])
        return agent.head(y).sum()
""",
    "mut_setitem_other": """\
    def learn(agent, x):
        l = list(agent.batch(x))
        l[1] = torch.zeros(1, 6, 16)
        y, _ = agent.gru(l[0], l[1])
        return agent.head(y).sum()
""",
    "slice_head": """\
    def learn(agent, x):
        l = list(agent.batch(x))
        r = l[:2]
        y, _ = agent.gru(r[0], r[1])
        return agent.head(y).sum()
""",
    "slice_rev": """\
    def learn(agent, x):
        l = tuple(agent.batch(x))
        r = l[::-1]
        y, _ = agent.gru(r[1], r[0])
        return agent.head(y).sum()
""",
    "zip_list": """\
    def learn(agent, x):
        pairs = list(zip(agent.batch(x), agent.batch(x)))
        y, _ = agent.gru(pairs[0][0], pairs[1][1])
        return agent.head(y).sum()
""",
    "repeated_and_sliced": """\
    def use(agent, r):
        y, _ = agent.gru(r[0], r[1])
        return agent.head(y).sum()

    def learn(agent, x):
        l = list(agent.batch(x)) * 2
        return use(agent, l[2:])
""",
    "read_by_index": """\
    def learn(agent, x):
        res = list(agent.batch(x))
        y, _ = agent.gru(res[0], res[1])
        return agent.head(y).sum()
""",
    "spread": """\
    def learn(agent, x):
        xx, *rest = [*agent.batch(x)]
        y, _ = agent.gru(xx, rest[0])
        return agent.head(y).sum()
""",
}

# the copy that loses the positions: the finding's place
COPIED = {
    "concat_front": "list(agent.batch(x))", "concat_h": "list(agent.batch(x))", "concat_tuple_mask": "tuple(agent.batch(x))",
    "slice_rev": "tuple(agent.batch(x))", "spread": "[*agent.batch(x)]",
}

LAYERS = {
    "list_h_zip": """\
    def learn(agent, x):
        xx, hs = agent.batch(x)
        parts = [a + b for a, b in zip(list(hs), list(hs))]
        y, _ = agent.gru(xx, torch.stack(parts, 0) / 2)
        return agent.head(y).sum()
""",
    "tuple_h_star": """\
    def learn(agent, x):
        xx, hs = agent.batch(x)
        y, _ = agent.gru(xx, torch.stack(tuple(hs), 0))
        return agent.head(y).sum()
""",
}

ITEM_WRITTEN_BACK = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(8, 16)
            self.head = nn.Linear(16, 2)

        def act(self, x, h):
            out, h = self.gru(x, h)
            return self.head(out), h


    agent = Agent()
    h = torch.zeros(1, 2, 16)
    for t in range(3):
        res = list(agent.act(torch.randn(1, 2, 8), h))
        res[1] = res[1].detach()
        out, h = res
    (out.sum() + h.sum()).backward()
"""


def _program(functions: str) -> str:
    return AGENT.replace("{learn}", textwrap.indent(textwrap.dedent(functions), "    ").lstrip())


def _line_of(source: str, text: str) -> int:
    return next(number for number, line in enumerate(textwrap.dedent(source).splitlines(), 1) if text in line)


def _refused_at(tmp_path, capsys, form: str, source: str, codes: tuple, text: str, on: str = "") -> None:
    """Refused with one of `codes` naming `text`, on the line that holds `on` (else `text`); nothing written."""
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (tmp_path / "agent.py").read_text() == before
    line = _line_of(source, on or text)
    assert any(
        f"agent.py:{line}:" in finding and any(code in finding for code in codes) and f"`{text}`" in finding for finding in out.splitlines()
    ), out


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("name", COPIES)
def test_a_copy_of_a_returned_tuple_holding_the_state_beside_other_values_is_refused_at_the_copy(tmp_path, capsys, form, name):
    copied = COPIED.get(name, "list(agent.batch(x))")
    inner = copied[copied.index("agent"):-1]
    # the tuple form refuses some through the return that grows to `x, h, c` (G2L104, rules/batch.GrownUnpacking)
    _refused_at(tmp_path, capsys, form, _program(COPIES[name]), ("G2L101",) if form == "packed" else ("G2L101", "G2L104"), inner)


@pytest.mark.parametrize("name", LAYERS)
def test_a_state_tensor_taken_apart_into_its_layers_is_refused_in_the_tuple_form(tmp_path, capsys, name):
    _refused_at(tmp_path, capsys, "tuple", _program(LAYERS[name]), ("G2L100",), "hs", on="(hs)")


@pytest.mark.parametrize("name", LAYERS)
def test_a_state_tensor_taken_apart_into_its_layers_migrates_and_runs_in_the_packed_form(tmp_path, name):
    write(tmp_path, {"agent.py": _program(LAYERS[name]), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_the_state_item_of_a_copied_tuple_written_back_is_refused_at_the_copy(tmp_path, capsys, form):
    # tuple form: was written `res[0][1] = res[1][0].detach()` (IndexError)
    _refused_at(tmp_path, capsys, form, ITEM_WRITTEN_BACK, ("G2L101",), "agent.act(torch.randn(1, 2, 8), h)")


@pytest.mark.parametrize("source", [*(_program(f) for f in (*COPIES.values(), *LAYERS.values())), ITEM_WRITTEN_BACK],
                         ids=[*COPIES, *LAYERS, "item_written_back"])
def test_the_fixtures_of_this_file_run_as_they_are(tmp_path, source):
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    done = subprocess.run([sys.executable, "agent.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
