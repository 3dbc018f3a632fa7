"""Second review of session 39's merged changes (issue 13): a batch taken whole (the change that
returned it in place was reverted after this review found `res[-1]` and `tuple(res)` exit 0 with a
crash), `not` / `torch.is_tensor` type tests, and may_import's narrower bytes test. Each program
below must be refused (exit 1, nothing written) or migrated so that it runs; the wrappers of a grown
return (`tuple(f())`, `(f(), 1)`, ...) exited 0 and crashed in the tuple form before session 39 (they
were strict xfails until rules/batch.GrownUnpacking looked at every call of a grown return); the
packed form broke on `tuple()` / `list()` of such a return until session 41 (refused now: tests/test_silent41.py)."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(8, 16)
            self.head = nn.Linear(16, 2)
            self.memory = []

        def act(self, x, h):
            out, h = self.gru(x, h)
            self.memory.append(h)
            return self.head(out), h

        def batch(self, x):
            h_states = torch.cat(self.memory, dim=1)
            return x, h_states

    {learn}

    agent = Agent()
    h = torch.zeros(1, 2, 16)
    for t in range(3):
        out, h = agent.act(torch.randn(1, 2, 8), h)
    learn(agent, torch.randn(1, 6, 8)).backward()
"""


def _refused_or_runs(tmp_path, capsys, form, learn):
    source = AGENT.replace("{learn}", learn)
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    code = main(["rewrite", "--quiet", "--state", form, str(tmp_path)])
    out = capsys.readouterr().out
    if code != 0:
        assert code == 1, out
        assert (tmp_path / "agent.py").read_text() == before
        return
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")


LEARN_HELD = {
    "index": "def learn(agent, x):\n        res = agent.batch(x)\n        y, _ = agent.gru(res[0], res[1])\n        return agent.head(y).sum()",
    "slice": "def learn(agent, x):\n        res = agent.batch(x)\n        hb, = res[1:]\n        y, _ = agent.gru(res[0], hb)\n"
    "        return agent.head(y).sum()",
    "reversed": "def learn(agent, x):\n        res = agent.batch(x)\n        hb, xx = res[::-1]\n        y, _ = agent.gru(xx, hb)\n"
    "        return agent.head(y).sum()",
    "negative_index": "def learn(agent, x):\n        res = agent.batch(x)\n        y, _ = agent.gru(res[0], res[-1])\n"
    "        return agent.head(y).sum()",
    "zip": "def learn(agent, x):\n        d = dict(zip(('obs', 'h'), agent.batch(x)))\n        y, _ = agent.gru(d['obs'], d['h'])\n"
    "        return agent.head(y).sum()",
    "star_target": "def learn(agent, x):\n        first, *rest = agent.batch(x)\n        y, _ = agent.gru(first, rest[0])\n"
    "        return agent.head(y).sum()",
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("learn", LEARN_HELD.values(), ids=LEARN_HELD.keys())
def test_a_batch_taken_whole_is_refused_or_runs(tmp_path, capsys, form, learn):
    _refused_or_runs(tmp_path, capsys, form, learn)


# Silent breaks in the tuple form (exit 0, the migrated program crashes). The first two were G2L104
# before 8f6e09d; the others were broken before it as well (the return grows to `x, h, c` while a
# caller takes it whole through `list`, `zip`, a tuple literal, a dict or a choice).
LEARN_WRAPPED = {
    "tuple_of_it": "def learn(agent, x):\n        res = tuple(agent.batch(x))\n        y, _ = agent.gru(res[0], res[1])\n"
    "        return agent.head(y).sum()",
    "list_of_it": "def learn(agent, x):\n        res = list(agent.batch(x))\n        y, _ = agent.gru(res[0], res[1])\n"
    "        return agent.head(y).sum()",
    "nested": "def learn(agent, x):\n        pack = (agent.batch(x), 1)\n        (xx, hb), k = pack\n        y, _ = agent.gru(xx, hb)\n"
    "        return agent.head(y).sum()",
    "dict": "def learn(agent, x):\n        d = {'b': agent.batch(x)}\n        xx, hb = d['b']\n        y, _ = agent.gru(xx, hb)\n"
    "        return agent.head(y).sum()",
    "choice": "def learn(agent, x):\n        res = agent.batch(x) if agent.memory else (x, torch.zeros(1, 6, 16))\n"
    "        y, _ = agent.gru(res[0], res[1])\n        return agent.head(y).sum()",
}


@pytest.mark.parametrize("learn", LEARN_WRAPPED.values(), ids=LEARN_WRAPPED.keys())
def test_a_batch_taken_whole_through_a_wrapper_is_refused_or_runs_in_the_tuple_form(tmp_path, capsys, learn):
    _refused_or_runs(tmp_path, capsys, "tuple", learn)


REPACKAGE = """\
    import torch
    import torch.nn as nn
    {imports}


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return self.head(out), h


    def repackage_hidden(h):
        if {test}:
            return {first}
        else:
            return {second}


    net = Net()
    opt = torch.optim.SGD(net.parameters(), 0.1)
    h = torch.zeros(1, 3, 8)
    for step in range(4):
        h = repackage_hidden(h)
        y, h = net(torch.randn(5, 3, 4), h)
        loss = y.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
"""
DETACH, EACH = "h.detach()", "tuple(repackage_hidden(v) for v in h)"


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("imports, test, first, second", [
    ("from torch import is_tensor", "is_tensor(h)", DETACH, EACH),
    ("import torch as T", "T.is_tensor(h)", DETACH, EACH),
    ("", "not not isinstance(h, torch.Tensor)", DETACH, EACH),
    ("", "not torch.is_tensor(h)", EACH, DETACH),
    ("", "not type(h) != torch.Tensor", DETACH, EACH),
    ("", "not isinstance(h, list)", DETACH, EACH),  # true for the pair too: refused
])
def test_a_repackage_helper_tested_with_not_or_is_tensor_is_refused_or_runs(tmp_path, capsys, form, imports, test, first, second):
    source = REPACKAGE.format(imports=imports, test=test, first=first, second=second)
    write(tmp_path, {"main.py": source, "pyproject.toml": ""})
    code = main(["rewrite", "--quiet", "--state", form, str(tmp_path)])
    out = capsys.readouterr().out
    if code != 0:
        assert code == 1 and "G2L102" in out, out
        return
    run_migrated(tmp_path, "import runpy; runpy.run_path('main.py')")


MODEL = """\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return self.head(out), h
"""
LOOP = "\nnet = {net}()\nh = torch.zeros(1, 3, 8)\nfor s in range(3):\n    y, h = net(torch.randn(5, 3, 4), h)\n"


@pytest.mark.parametrize("importing, net", [
    ("from pkg import (\n    model as m,\n)\n", "m.Net"),
    ("from pkg import (  # a ) here\n    other,\n    model,\n)\n", "model.Net"),
    ("from pkg import (other)\nfrom pkg import (\n    model)\n", "model.Net"),
    ("import importlib\nm = importlib.import_module('pkg.model', package=None)\n", "m.Net"),
    ("import importlib\nm = importlib.import_module('pkg' '.model')\n", "m.Net"),
    ("import importlib\nname = 'pkg.' + 'model'\nm = importlib.import_module(name)\n", "m.Net"),
])
def test_an_importer_over_lines_or_by_import_module_is_named_when_not_given(tmp_path, capsys, importing, net):
    write(tmp_path, {"pkg/__init__.py": "", "pkg/other.py": "X = 1\n", "pkg/model.py": MODEL, "pyproject.toml": ""})
    (tmp_path / "train.py").write_text("import torch\n" + importing + LOOP.format(net=net))
    before = (tmp_path / "pkg/model.py").read_text()
    assert main(["rewrite", "--state", "tuple", str(tmp_path / "pkg/model.py")]) == 1
    out = capsys.readouterr().out
    assert "G2L101" in out and "train.py" in out, out
    assert (tmp_path / "pkg/model.py").read_text() == before


@pytest.mark.parametrize("learn", [LEARN_WRAPPED["tuple_of_it"], LEARN_WRAPPED["list_of_it"]], ids=["tuple_of_it", "list_of_it"])
def test_a_batch_taken_whole_through_tuple_or_list_is_refused_or_runs_in_the_packed_form(tmp_path, capsys, learn):
    # broken before 8f6e09d too: `res[0]` of the copy was read as the h half of a packed state (refused since session 41)
    _refused_or_runs(tmp_path, capsys, "packed", learn)
