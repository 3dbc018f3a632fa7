"""A GRU class picked by a name the engine did not see (`/work/scratch/review2`, session 39's dynpick):
torch.nn reached through a name set inside the function (`L = torch.nn`, `m = sys.modules["torch.nn"]`),
an import made in place with an f-string, a relative name or `sys.modules.get`, `functools.reduce(getattr,
...)`, `globals()` after `from torch.nn import *`, a GRU name written with escapes or split literals; and a
class bound in a file that was not given (model.py alone, as pre-commit gives it). Each was exit 0 with the
GRU left a GRU and nothing written; each is now one finding at the place that picks the class (G2L102;
G2L101 beside a GRU the engine migrates, or at the call in the given file), in both forms, nothing written."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# A model whose recurrent module is made by `make(kind)` (its body BODY, after IMPORTS), stepped with its state
MODEL = """\
    import functools, importlib, operator, sys
    import torch
    from torch import nn
    IMPORTS


    def make(kind):
        BODY


    class Net(nn.Module):
        def __init__(self, kind="GRU"):
            super().__init__()
            self.rnn = make(kind)BESIDE
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.rnn(x, h)
            return self.head(out), h
"""
RUN = """\
    import torch
    from model import Net

    net = Net()
    h = torch.zeros(1, 3, 8)
    for _ in range(3):
        y, h = net(torch.randn(3, 1, 4), h)
    y.sum().backward()
    print(type(net.rnn).__name__)
"""
MADE = "(4, 8, batch_first=True)"

# (name, imports, body of `make` (its last line returns the module), the place that picks the class)
PICKED = [
    ("torch.nn set in the function", "", "L = torch.nn\nreturn getattr(L, kind)MADE", "getattr(L, kind)"),
    ("attrgetter of torch.nn set in the function", "", "L = torch.nn\nreturn operator.attrgetter(kind)(L)MADE", "operator.attrgetter(kind)(L)"),
    ("import_module set in the function", "", "m = importlib.import_module('torch.nn')\nreturn getattr(m, kind)MADE", "getattr(m, kind)"),
    ("sys.modules set in the function", "", "m = sys.modules['torch.nn']\nreturn getattr(m, kind)MADE", "getattr(m, kind)"),
    ("import_module of an f-string", "", "return getattr(importlib.import_module(f'torch.nn'), kind)MADE", "getattr(importlib.import_module(f'torch.nn'), kind)"),
    ("sys.modules.get", "", "return getattr(sys.modules.get('torch.nn'), kind)MADE", "getattr(sys.modules.get('torch.nn'), kind)"),
    ("import_module of a relative name", "", "return getattr(importlib.import_module('.nn', 'torch'), kind)MADE",
     "getattr(importlib.import_module('.nn', 'torch'), kind)"),
    ("functools.reduce of getattr", "", "return functools.reduce(getattr, ['nn', kind], torch)MADE", "functools.reduce(getattr, ['nn', kind], torch)"),
    ("globals after a star import", "from torch.nn import *", "return globals()[kind]MADE", "globals()[kind]"),
    ("a name split in two literals", "", "return getattr(nn, 'GR' 'U')MADE", "getattr(nn, 'GR' 'U')"),
    ("a name written with an escape", "", "return getattr(nn, '\\x47RU')MADE", "getattr(nn, '\\x47RU')"),
    ("a name written out", "", "return getattr(nn, 'GRU')MADE", "getattr(nn, 'GRU')"),
]


def _model(imports: str, body: str, beside: str = "") -> str:
    return MODEL.replace("IMPORTS", imports).replace("BODY", body.replace("MADE", MADE).replace("\n", "\n        ")).replace("BESIDE", beside)


def _place(folder, source: str, chooser: str, code: str) -> str:
    lines = textwrap.dedent(source).splitlines()
    line = next(number for number, text in enumerate(lines, 1) if chooser in text)
    return f"{folder / 'model.py'}:{line}:{lines[line - 1].index(chooser) + 1}: {code} "


def _runs(folder) -> str:
    done = subprocess.run([sys.executable, "run.py"], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("imports, body, chooser", [case[1:] for case in PICKED], ids=[case[0] for case in PICKED])
def test_a_gru_class_picked_by_a_name_is_one_finding_where_it_is_picked(tmp_path, capsys, form, imports, body, chooser):
    # each was "2 files would be left unchanged", exit 0, while the program runs a GRU
    source = _model(imports, body)
    write(tmp_path, {"model.py": source, "run.py": RUN, "pyproject.toml": ""})
    assert _runs(tmp_path) == "GRU"
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(_place(tmp_path, source, chooser, "G2L102") + f"`{chooser}` picks a class of torch.nn by a name")
    assert out.count("G2L") == 1
    assert (tmp_path / "model.py").read_text() == textwrap.dedent(source)


@pytest.mark.parametrize("imports, body, chooser", [case[1:] for case in PICKED], ids=[case[0] for case in PICKED])
def test_a_gru_class_picked_by_a_name_beside_a_gru_that_migrates_is_one_finding(tmp_path, capsys, imports, body, chooser):
    # the written-out GRU was migrated and the one picked by the name stayed a GRU, exit 0
    source = _model(imports, body, "\n            self.core = nn.GRU(4, 4, batch_first=True)").replace(
        "out, h = self.rnn(x, h)", "x, _ = self.core(x)\n            out, h = self.rnn(x, h)"
    )
    write(tmp_path, {"model.py": source, "run.py": RUN, "pyproject.toml": ""})
    assert _runs(tmp_path) == "GRU"
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(_place(tmp_path, source, chooser, "G2L101") + f"`{chooser}` takes a module class of torch.nn by")
    assert out.count("G2L101") == 1
    assert (tmp_path / "model.py").read_text() == textwrap.dedent(source)


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_layer_picked_through_torch_nn_set_in_a_function_beside_a_gru_is_no_finding_and_the_gru_migrates(tmp_path, form):
    source = _model("", "L = torch.nn\nreturn nn.GRU(4, 8, batch_first=True), getattr(L, 'Tanh')(), getattr(L, kind.replace('GRU', 'ReLU'))()")
    source = source.replace("self.rnn = make(kind)", "self.rnn, self.act, self.act2 = make(kind)").replace("self.head(out)", "self.head(self.act2(self.act(out)))")
    write(tmp_path, {"model.py": source, "run.py": RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTM(4, 8, batch_first=True)" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import run")


LAYERS = "from torch import nn\n\nRecurrent = nn.GRU\n"
STAR_MODEL = """\
    import torch
    from torch import nn
    from layers import *


    class Net(nn.Module):
        def __init__(self, act="ReLU"):
            super().__init__()
            self.rnn = Recurrent(4, 8, batch_first=True)
            self.act = getattr(nn, act)()
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.rnn(x, h)
            return self.head(self.act(out)), h
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("imports, made", [
    ("from layers import *", "Recurrent(4, 8, batch_first=True)"),
    ("from layers import Recurrent as Core", "Core(4, 8, batch_first=True)"),
    ("import layers", "layers.Recurrent(4, 8, batch_first=True)"),
], ids=["star", "aliased", "module"])
def test_a_gru_class_bound_in_a_file_not_given_is_one_finding_naming_that_file(tmp_path, capsys, form, imports, made):
    # model.py alone (as pre-commit gives the staged files) was "1 file would be left unchanged", exit 0
    source = STAR_MODEL.replace("from layers import *", imports).replace("Recurrent(4, 8, batch_first=True)", made)
    write(tmp_path, {"layers.py": LAYERS, "model.py": source, "run.py": RUN, "pyproject.toml": ""})
    assert _runs(tmp_path) == "GRU"
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path / "model.py")]) == 1
    out = capsys.readouterr().out
    layers = tmp_path / "layers.py"
    column = textwrap.dedent(source).splitlines()[8].index(made) + 1
    assert out.splitlines()[0] == (
        f"{tmp_path / 'model.py'}:9:{column}: G2L101 `{made}` makes a module from `Recurrent`, which {layers}:3 binds to the GRU class "
        f"(`Recurrent = nn.GRU`) in a file that was not given, so the engine cannot see that this module is a GRU and would leave it one; "
        f"give {layers} too (or the project folder)"
    )
    assert out.count("G2L") == 1
    assert (tmp_path / "model.py").read_text() == textwrap.dedent(source)
    # given the folder, the class is reported where it is bound
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert capsys.readouterr().out.startswith(f"{layers}:3:13: G2L101 the class `nn.GRU` is assigned here")


def test_a_file_given_alone_that_only_tests_a_class_bound_elsewhere_is_no_finding(tmp_path, capsys):
    # `isinstance(m, Recurrent)` makes no module: nothing to say
    source = "from layers import Recurrent\n\n\ndef is_core(m):\n    return isinstance(m, Recurrent)\n"
    write(tmp_path, {"layers.py": LAYERS, "check.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path / "check.py")]) == 0
    assert "G2L" not in capsys.readouterr().out
