"""Silent breaks of session 40 (issue 13): exit 0 and a migrated program that crashes or changes a
value that is not recurrence.

- A copy of a tuple returned beside the state (`tuple(agent.batch(x))`, `list(...)`, `[*...]`,
  `(*...,)`, `tuple(res)`) read its items as one element: in the packed form `res[0]` (the
  features) was taken for a state and chunked. A copy now keeps the positions; a read by a
  position not written out (`res[-1]`, `res[i]`) and a tuple taken apart by `sorted()`,
  `enumerate()` or a spread beside other items are G2L101 (which item is the state is not known).
- Packed: a tensor sized by all the sizes of the state (`torch.zeros(*h.shape)`, `fresh(*h.shape)`)
  is as wide as [h|c]: right where it only meets the state (`h * mask`), G2L100 where it is used
  for anything else (`mask.shape == (3, 8)`, a head's input).
"""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write
from tests.test_review39 import AGENT


def _learn(body: str) -> str:
    return "def learn(agent, x):\n        " + body.replace("\n", "\n        ") + "\n        return agent.head(y).sum()"


def _rewrite(tmp_path, capsys, form: str, source: str, name: str = "agent.py"):
    write(tmp_path, {name: source, "pyproject.toml": ""})
    before = (tmp_path / name).read_text()
    code = main(["rewrite", "--quiet", "--state", form, str(tmp_path)])
    return code, capsys.readouterr().out, before


COPIES = {
    "tuple_of_call": "res = tuple(agent.batch(x))\ny, _ = agent.gru(res[0], res[1])",
    "list_of_call": "res = list(agent.batch(x))\ny, _ = agent.gru(res[0], res[1])",
    "list_of_list": "res = list(list(agent.batch(x)))\ny, _ = agent.gru(res[0], res[1])",
    "tuple_of_name": "res = agent.batch(x)\nres2 = tuple(res)\ny, _ = agent.gru(res2[0], res2[1])",
    "spread_list": "res = [*agent.batch(x)]\ny, _ = agent.gru(res[0], res[1])",
    "spread_tuple": "res = (*agent.batch(x),)\ny, _ = agent.gru(res[0], res[1])",
    "copy_sliced": "res = list(agent.batch(x))[1:]\ny, _ = agent.gru(x, res[0])",
    "copy_in_dict": "d = {'b': tuple(agent.batch(x))}\ny, _ = agent.gru(d['b'][0], d['b'][1])",
    "copy_zipped": "d = dict(zip(('o', 'h'), tuple(agent.batch(x))))\ny, _ = agent.gru(d['o'], d['h'])",
    "copy_item_written": "res = list(agent.batch(x))\nres[1] = res[1].detach()\ny, _ = agent.gru(res[0], res[1])",
}


@pytest.mark.parametrize("body", COPIES.values(), ids=COPIES.keys())
def test_a_copy_of_a_returned_tuple_keeps_its_positions_in_the_packed_form(tmp_path, capsys, body):
    code, out, _ = _rewrite(tmp_path, capsys, "packed", AGENT.replace("{learn}", _learn(body)))
    assert code == 0, out
    migrated = (tmp_path / "agent.py").read_text()
    assert "agent.lstm(res[0].chunk" not in migrated and "res2[0].chunk" not in migrated
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")


@pytest.mark.parametrize("body", list(COPIES.values())[:3], ids=list(COPIES)[:3])
def test_a_copy_of_a_returned_tuple_that_grows_is_refused_in_the_tuple_form(tmp_path, capsys, body):
    code, out, before = _rewrite(tmp_path, capsys, "tuple", AGENT.replace("{learn}", _learn(body)))
    assert code == 1 and "G2L104" in out, out
    assert (tmp_path / "agent.py").read_text() == before


# (body, the line and column of the finding: learn's first line is line 22 of AGENT)
UNKNOWN_ITEMS = {
    "negative_index_of_copy": ("res = tuple(agent.batch(x))\ny, _ = agent.gru(res[-2], res[-1])", "23:22"),
    "negative_index": ("res = agent.batch(x)\ny, _ = agent.gru(res[0], res[-1])", "23:30"),
    "variable_index": ("res = list(agent.batch(x))\ni = 1\ny, _ = agent.gru(res[0], res[i])", "24:30"),
    "sorted": ("res = sorted(agent.batch(x), key=lambda t: t.shape[-1])\ny, _ = agent.gru(res[0], res[1])", "22:18"),
    "enumerated": ("d = dict(enumerate(agent.batch(x)))\ny, _ = agent.gru(d[0], d[1])", "22:24"),
    "enumerated_comprehension": ("d = {i: t for i, t in enumerate(agent.batch(x))}\ny, _ = agent.gru(d[0], d[1])", "22:37"),
    "spread_beside_others": ("res = (*agent.batch(x), 5)\ny, _ = agent.gru(res[0], res[1])", "22:13"),
    "spread_after_others": ("res = (7, *agent.batch(x))\ny, _ = agent.gru(res[1], res[2])", "22:16"),
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("body, place", UNKNOWN_ITEMS.values(), ids=UNKNOWN_ITEMS.keys())
def test_items_of_a_tuple_beside_the_state_read_by_no_known_position_are_refused(tmp_path, capsys, form, body, place):
    code, out, before = _rewrite(tmp_path, capsys, form, AGENT.replace("{learn}", _learn(body)))
    assert code == 1, out
    assert f"agent.py:{place}: G2L101" in out, out
    assert (tmp_path / "agent.py").read_text() == before


SIZED = """\
    import torch
    import torch.nn as nn


    def fresh(n, dim):
        return torch.zeros(n, dim)


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h


    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = fresh(3, 8)
    {made}
    for step in range(3):
        y, h = agent(torch.randn(3, 4), h)
        opt.zero_grad()
        y.sum().backward()
        opt.step()
        h = h.detach()
        {used}
"""

SIZED_BY_THE_STATE = {
    "factory_compared": ("mask = fresh(*h.shape)", "assert mask.shape == (3, 8)", "23:15"),
    "zeros_compared": ("mask = torch.zeros(*h.shape)", "assert mask.shape == (3, 8)", "23:21"),
    "size_call": ("mask = torch.zeros(h.size())", "assert mask.size(-1) == 8", "23:20"),
    "new_zeros": ("mask = h.new_zeros(h.shape)", "assert mask.shape[-1] == 8", "23:20"),
    "into_a_head": ("mask = torch.ones(*h.shape)", "z = agent.pi(mask)", "23:20"),
    "meets_then_compared": ("mask = torch.ones(*h.shape)", "h = h * mask\n        assert mask.shape[-1] == 8", "23:20"),
}


@pytest.mark.parametrize("made, used, place", SIZED_BY_THE_STATE.values(), ids=SIZED_BY_THE_STATE.keys())
def test_a_tensor_sized_by_the_packed_state_used_for_other_values_is_refused(tmp_path, capsys, made, used, place):
    code, out, before = _rewrite(tmp_path, capsys, "packed", SIZED.format(made=made, used=used), "main.py")
    assert code == 1, out
    assert f"main.py:{place}: G2L100" in out and "chunk(2, dim=-1)[0].shape" in out, out
    assert (tmp_path / "main.py").read_text() == before
    code, out, _ = _rewrite(tmp_path, capsys, "tuple", SIZED.format(made=made, used=used), "main.py")
    assert code == 0, out
    run_migrated(tmp_path, "import runpy; runpy.run_path('main.py')")


@pytest.mark.parametrize("made, used", [
    ("mask = torch.ones(*h.shape)", "h = h * mask"),
    ("mask = torch.zeros(h.shape)", "h = mask + h"),
    ("print(h.shape)", "print(h.size())"),  # sizes printed make no tensor
])
def test_a_tensor_sized_by_the_packed_state_that_only_meets_it_stays_as_wide(tmp_path, capsys, made, used):
    code, out, _ = _rewrite(tmp_path, capsys, "packed", SIZED.format(made=made, used=used), "main.py")
    assert code == 0, out
    run_migrated(tmp_path, "import runpy; runpy.run_path('main.py')")


def test_the_fixtures_of_this_file_run_as_they_are(tmp_path):
    # the originals run (so a refusal above is of a working program)
    for body in [*COPIES.values(), *(body for body, _ in UNKNOWN_ITEMS.values())]:
        (tmp_path / "agent.py").write_text(textwrap.dedent(AGENT.replace("{learn}", _learn(body))))
        run_plain = compile((tmp_path / "agent.py").read_text(), "agent.py", "exec")
        exec(run_plain, {"__name__": "__main__"})
    for made, used, _ in SIZED_BY_THE_STATE.values():
        exec(compile(textwrap.dedent(SIZED.format(made=made, used=used)), "main.py", "exec"), {"__name__": "__main__"})
