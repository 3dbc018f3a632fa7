"""Importers of a model file reached through any spelling Python resolves (session 40, issue 13;
/work/scratch/review4/p3 and /work/scratch/dynpick/reexport).

Given pkg/model.py alone (as a pre-commit hook gives the staged files), train.py imported it by
`importlib.import_module(name=...)`, an aliased `import_module`, `__import__(..., fromlist=[...])`,
or reached it as `pkg.model.Net` after `import pkg`: exit 0, model.py written, and train.py crashed on
its first step (IndexError). Each is now a G2L101 naming train.py, nothing written; given the folder,
the project migrates and runs. A computed name through an alias or a keyword is a G2L101 too; a
file of the group that reaches the class through a value the flow does not follow (an import made
inside a function) no longer lets the group be written with "no caller was found"; a GRU class
re-exported by a package's `__init__` is named where it is bound."""

from __future__ import annotations

import ast
import textwrap

import pytest

from gru2lstm.cli import main
from gru2lstm.imports import import_function_names, import_statements, may_import_module, module_imported_by
from tests.test_redteam_packed import run_migrated, write

MODEL = """\
    import torch
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
# the loop of train.py, after NET (how it makes the model)
TRAIN = """\
    import torch
    IMPORTS
    net = NET
    h = torch.zeros(1, 3, 8)
    for step in range(4):
        y, h = net(torch.randn(5, 3, 4), h)
    y.sum().backward()
"""

# (name, the imports of train.py, how it makes the model, pkg/__init__.py)
SPELLINGS = [
    ("import_module by keyword", "import importlib\nm = importlib.import_module(name='pkg.model')", "m.Net()", ""),
    ("import_module aliased", "from importlib import import_module as load\nm = load('pkg.model')", "m.Net()", ""),
    ("import_module assigned", "import importlib\nload = importlib.import_module\nm = load('pkg.model')", "m.Net()", ""),
    ("import_module relative", "import importlib\nm = importlib.import_module('.model', 'pkg')", "m.Net()", ""),
    ("__import__ with a fromlist", "m = __import__('pkg.model', fromlist=['Net'])", "m.Net()", ""),
    ("__import__ positional", "m = __import__('pkg.model', globals(), locals(), ['Net'], 0)", "m.Net()", ""),
    ("__import__ of the package", "m = __import__('pkg.model')", "m.model.Net()", ""),
    ("package attribute after import pkg", "import pkg", "pkg.model.Net()", "from . import model\n"),
    ("package attribute after import_module", "import importlib\npk = importlib.import_module('pkg')", "pk.model.Net()", "from . import model\n"),
    ("package attribute after import pkg.other", "import pkg.other", "pkg.model.Net()", "from . import model\n"),
    ("package attribute after import pkg.model", "import pkg.model", "pkg.model.Net()", ""),
    ("class re-exported by the package", "from pkg import Net", "Net()", "from .model import Net\n"),
]


def _project(folder, imports: str, made: str, init: str) -> None:
    train = TRAIN.replace("IMPORTS", imports.replace("\n", "\n    ")).replace("NET", made)
    write(folder, {"pkg/__init__.py": init, "pkg/model.py": MODEL, "pkg/other.py": "X = 1\n", "train.py": train, "pyproject.toml": ""})


# given the folder, these are still exit 123 in the tuple form (the LSTM self-check catches them)
ALONE_ONLY = [
    ("package module read whole", "import pkg\nmod = pkg.model", "mod.Net()", "from . import model\n"),
    # was exit 0 given model.py alone, or the folder (tuple form), and train.py crashed (session 41)
    ("module read from sys.modules", "import sys\nimport pkg.model", "sys.modules['pkg.model'].Net()", ""),
]


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("imports, made, init", [case[1:] for case in ALONE_ONLY], ids=[case[0] for case in ALONE_ONLY])
def test_the_folder_of_a_module_reached_through_a_value_is_not_written(tmp_path, form, imports, made, init):
    _project(tmp_path, imports, made, init)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) in (1, 123)
    assert (tmp_path / "pkg" / "model.py").read_text() == textwrap.dedent(MODEL)


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("imports, made, init", [case[1:] for case in SPELLINGS + ALONE_ONLY], ids=[case[0] for case in SPELLINGS + ALONE_ONLY])
def test_the_model_file_given_alone_is_refused_naming_its_importer(tmp_path, capsys, form, imports, made, init):
    _project(tmp_path, imports, made, init)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path / "pkg" / "model.py")]) == 1
    out = capsys.readouterr().out
    refused = [line for line in out.splitlines() if f"{tmp_path / 'pkg' / 'model.py'}:11:9: G2L101 " in line]
    assert refused, out
    if form == "tuple":  # packed: the callers not analysed would allocate the GRU's size, said first
        assert any(f"{tmp_path / 'train.py'} import" in line and "without being given" in line for line in refused), out
    assert (tmp_path / "pkg" / "model.py").read_text() == textwrap.dedent(MODEL)


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("imports, made, init", [case[1:] for case in SPELLINGS], ids=[case[0] for case in SPELLINGS])
def test_the_folder_migrates_and_runs(tmp_path, form, imports, made, init):
    _project(tmp_path, imports, made, init)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTM(4, 8)" in (tmp_path / "pkg" / "model.py").read_text()
    run_migrated(tmp_path, "import train")


# a module name computed at run time, through an alias or a keyword: the engine cannot follow it
COMPUTED = [
    ("aliased", "from importlib import import_module as load\nk = 'model'\nm = load(f'pkg.{k}')"),
    ("by keyword", "import importlib\nk = 'model'\nm = importlib.import_module(name=f'pkg.{k}')"),
]


@pytest.mark.parametrize("given", ["pkg/model.py", "."])
@pytest.mark.parametrize("imports", [case[1] for case in COMPUTED], ids=[case[0] for case in COMPUTED])
def test_a_computed_name_through_an_alias_or_a_keyword_is_refused(tmp_path, capsys, imports, given):
    _project(tmp_path, imports, "m.Net()", "")
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path / given)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'pkg' / 'model.py'}:11:9: G2L101 `Net.forward()` now takes or returns (h, c)" in out
    assert f"{tmp_path / 'train.py'} imports a module by a name computed at run time at line " in out
    assert (tmp_path / "pkg" / "model.py").read_text() == textwrap.dedent(MODEL)


# train.py is migrated with the model, but reaches the class through an import made in a function
UNFOLLOWED = [
    ("aliased import_module read in place", "def build():\n    from importlib import import_module as load\n    return load('pkg.model').Net()"),
    ("import_module read in place", "def build():\n    import importlib\n    return importlib.import_module('pkg.model').Net()"),
]


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("imports", [case[1] for case in UNFOLLOWED], ids=[case[0] for case in UNFOLLOWED])
def test_a_group_file_that_reaches_the_class_through_a_value_not_followed_blocks_the_group(tmp_path, capsys, form, imports):
    # was exit 0 with "no caller was found" (G2L202), and train.py crashed (IndexError)
    _project(tmp_path, imports, "build()", "")
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'pkg' / 'model.py'}:11:9: G2L101 " in out
    if form == "tuple":
        assert f"and {tmp_path / 'train.py'} reaches `Net` through an import, but no call of it there was followed" in out
    assert (tmp_path / "pkg" / "model.py").read_text() == textwrap.dedent(MODEL)


REEXPORTED = """\
    import torch
    from torch import nn
    from pkg import Recurrent


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = Recurrent(4, 8, batch_first=True)
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.rnn(x, h)
            return self.head(out), h
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("exported", ["from .layers import Recurrent\n", "from .layers import *\n", "from .layers import Recurrent as Recurrent\n"])
def test_a_gru_class_re_exported_by_a_package_is_named_where_it_is_bound(tmp_path, capsys, form, exported):
    # model.py alone was exit 0 "unchanged" while its module stays a GRU
    write(tmp_path, {"pkg/__init__.py": exported, "pkg/layers.py": "from torch import nn\n\nRecurrent = nn.GRU\n", "model.py": REEXPORTED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path / "model.py")]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        f"{tmp_path / 'model.py'}:9:20: G2L101 `Recurrent(4, 8, batch_first=True)` makes a module from `Recurrent`, which "
        f"{tmp_path / 'pkg' / 'layers.py'}:3 binds to the GRU class (`Recurrent = nn.GRU`)"
    ), out
    assert (tmp_path / "model.py").read_text() == textwrap.dedent(REEXPORTED)


@pytest.mark.parametrize("code, module", [
    ("m = importlib.import_module(name='pkg.model')", "pkg.model"),
    ("m = importlib.import_module(package='pkg', name='.model')", "pkg.model"),
    ("m = __import__('pkg.model', fromlist=['Net'])", "pkg.model"),
    ("m = __import__('pkg.model', fromlist=[])", "pkg"),
    ("m = __import__('pkg.model')", "pkg"),
    ("m = __import__('pkg.model', globals(), locals(), ['Net'])", "pkg.model"),
    ("m = __import__('model', globals(), locals(), ['Net'], 1)", None),  # relative to the caller's globals
    ("m = importlib.import_module(*names)", None),
    ("from importlib import import_module as load\nm = load('pkg.model')", "pkg.model"),
    ("import importlib\nload = importlib.import_module\nm = load('pkg.model')", "pkg.model"),
    ("m = load('pkg.model')", None),  # `load` is no import function here
])
def test_the_module_an_import_call_binds(code, module):
    tree = ast.parse(code)
    bound = [alias.name for statement in import_statements(tree, _names(tree, code)) if isinstance(statement, ast.Import) for alias in statement.names if alias.asname == "m"]
    assert bound == ([module] if module else [])
    if "load" not in code:
        assert module_imported_by(tree.body[-1].value) == module


def _names(tree, code):
    return import_function_names(tree, code.encode())


@pytest.mark.parametrize("data, expected", [
    (b"import pkg\nnet = pkg.model.Net()\n", True),
    (b"import pkg.other\nnet = pkg.model.Net()\n", True),
    (b"from importlib import import_module as load\nm = load(name)\n", True),
    (b"import importlib\nload = importlib.import_module\n", True),
    (b"import pkg\nprint(pkg.other)\n", False),  # reads no `.model`
    (b"import other\nnet = other.model.Net()\n", False),  # no package of pkg.model imported
])
def test_may_import_module_sees_a_package_read_as_an_attribute(data, expected):
    assert may_import_module(data, "pkg.model") is expected
