"""Second review of the narrowed byte screens (prefilter.chooses_class_by_value): a file whose bytes
the screen rejects is never read, so a GRU it picks by a name and calls with a state was left a GRU
with exit 0. The screen must pass every file whose `ast` reading picks a class of torch.nn by a name,
whatever the import or assignment that binds torch.nn to the name the file reads, and whatever the
read (`getattr`, `attrgetter`, `__dict__`, `__getattribute__`)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from gru2lstm import prefilter
from gru2lstm.cli import main
from gru2lstm.prefilter import chooses_class_by_value
from gru2lstm.tree_nodes import nodes_of
from tests.test_redteam_packed import write

PICKED = {  # a spelling that defines `make(kind)`, a module of the class named `kind` -> what picks the class
    # two modules imported by one statement
    "import torch, torch.nn as L\nfrom operator import attrgetter\n\n\ndef make(kind):\n    return attrgetter(kind)(L)(4, 8, batch_first=True)\n":
        "attrgetter(kind)(L)",
    "import numpy as np, torch.nn as layers\nimport torch\n\n\ndef make(kind):\n    return getattr(layers, kind)(4, 8, batch_first=True)\n":
        "getattr(layers, kind)",
    # a list of names in parentheses, over several lines
    "import torch\nfrom torch import (\n    nn as L,\n)\nimport operator\ndef make(kind):\n    return operator.attrgetter(kind)(L)(4, 8, batch_first=True)\n":
        "operator.attrgetter(kind)(L)",
    "import torch\nfrom torch.nn.modules import (\n    rnn as R,\n)\ndef make(kind):\n    return getattr(R, kind)(4, 8, batch_first=True)\n":
        "getattr(R, kind)",
    # set after a `;`
    "import torch; L = torch.nn\nfrom operator import attrgetter\n\n\ndef make(kind):\n    return attrgetter(kind)(L)(4, 8, batch_first=True)\n":
        "attrgetter(kind)(L)",
    # set to torch.nn by a getattr or from another name (not only `L = torch.nn`)
    "import torch\nL = getattr(torch, 'nn')\n\n\ndef make(kind):\n    return getattr(L, kind)(4, 8, batch_first=True)\n":
        "getattr(L, kind)",
    "import torch\nfrom torch import nn as _nn\nL = _nn\n\ndef make(kind):\n    return getattr(L, kind)(4, 8, batch_first=True)\n":
        "getattr(L, kind)",
    # its namespace read under a name that does not end in nn
    "import torch, torch.nn as L\n\n\n\ndef make(kind):\n    return L.__dict__[kind](4, 8, batch_first=True)\n":
        "L.__dict__[kind]",
    "import torch, torch.nn as L\n\n\n\ndef make(kind):\n    return L.__getattribute__(kind)(4, 8, batch_first=True)\n":
        "L.__getattribute__(kind)",
    # applied with a trailing comma
    "import torch\nfrom torch import nn\nfrom operator import attrgetter\n\ndef make(kind):\n    return attrgetter(kind)(nn,)(4, 8, batch_first=True)\n":
        "attrgetter(kind)(nn,)",
}
NET = """

class Net(torch.nn.Module):
    def __init__(self, kind="GRU"):
        super().__init__()
        self.rnn = make(kind)
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x, h):
        out, h = self.rnn(x, h)
        return self.head(out), h
"""
RUN = """import torch
from model import Net

net = Net()
h = torch.zeros(1, 3, 8)
for _ in range(3):
    y, h = net(torch.randn(3, 1, 4), h)
y.sum().backward()
assert type(net.rnn).__name__ == "GRU"
"""


def _picks_by_name(data: bytes) -> bool:
    """What the `ast` reading behind the byte screen says of the whole file."""
    tree = ast.parse(data)
    names = prefilter._TorchNames(tree)
    return any(prefilter._picks_by_value(node, names) for node in nodes_of(tree).of(ast.Call, ast.Subscript, ast.Attribute))


@pytest.mark.parametrize("spelling", PICKED, ids=range(len(PICKED)))
def test_the_byte_screen_passes_every_spelling_the_ast_reading_picks_by_a_name(spelling):
    data = spelling.encode()
    assert _picks_by_name(data)
    assert chooses_class_by_value(data)


@pytest.mark.parametrize("spelling", PICKED, ids=range(len(PICKED)))
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_gru_picked_by_a_name_under_an_import_of_any_spelling_is_refused(tmp_path, capsys, form, spelling):
    # before (the narrowed screen): exit 0, "2 files would be left unchanged", the GRU left a GRU
    write(tmp_path, {"model.py": spelling + NET, "run.py": RUN, "pyproject.toml": ""})
    done = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # the program runs, a GRU picked by its name
    before = (tmp_path / "model.py").read_text()
    line = before.splitlines().index(next(text for text in before.splitlines() if PICKED[spelling] in text)) + 1
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"model.py:{line}:12: G2L102 `{PICKED[spelling]}` picks a class of torch.nn by a name the engine does not follow to a class" in out
    assert (tmp_path / "model.py").read_text() == before


@pytest.mark.parametrize("spelling", [
    "import numpy as np, torch.optim as L\nfrom operator import attrgetter\nkey = attrgetter('lr')(L)\n",
    "from torch import (\n    optim as L,\n)\nx = getattr(L, name)\n",
    "import os; L = os.path\nx = getattr(L, name)\n",
    "import torch\nL = torch.optim\nx = getattr(L, name)\nself.__dict__[name] = 1\n",
    "import torch\nx = getattr(torch, name)\n",
])
def test_the_byte_screen_still_rejects_names_bound_to_no_module_of_torch_nn(spelling):
    assert not chooses_class_by_value(spelling.encode())
