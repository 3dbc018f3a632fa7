"""Classes of torch.nn chosen by a name in ways the engine did not read (`/work/scratch/gruleft5`):
text evaluated (`eval`, `exec`), `operator.attrgetter`, `sys.modules`, `__import__(..., fromlist=...)`,
the module's own names, and classes carried by `functools.partial`, `type(...)`, a class statement or a
table of torch.nn's classes. Each was left a GRU with exit 0 ("no GRU"); each is now one finding at the
place that chooses the class, in both forms, and nothing is written. A lookup that can only give a
layer (`eval("nn.Linear")`) is none, and the GRU beside it migrates and runs."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_gru_left import ACTOR, CHOSEN
from tests.test_redteam_packed import run_migrated, write

IMPORTS = "import functools, inspect, operator, sys"
UNDER = (
    "`{made}` is made under `{under}`, a module of torch imported in place, which the engine does not follow, so it would not be "
    "migrated with the rest; migrate it by hand, or move that import to the top of the module (`from torch import nn`)"
)

# (name, imports, module-level choice, the cell made, the place that chooses (its code), the finding's code)
CHOSEN_BY_NAME = [
    ("eval of a text", "", "", "eval('nn.' + cfg.rnn)(4, 8)", "eval('nn.' + cfg.rnn)", "G2L102"),
    ("eval of an f-string", "", "", "eval(f'torch.nn.{cfg.rnn}')(4, 8)", "eval(f'torch.nn.{cfg.rnn}')", "G2L102"),
    ("eval of a format", "", "", "eval('nn.{}'.format(cfg.rnn))(4, 8)", "eval('nn.{}'.format(cfg.rnn))", "G2L102"),
    ("eval held", "", "Cell = eval('nn.' + cfg.rnn)", "Cell(4, 8)", "eval('nn.' + cfg.rnn)", "G2L102"),
    ("eval of a gru written out", "", "", "eval('nn.GRUCell')(4, 8)", "eval('nn.GRUCell')", "G2L102"),
    ("exec binding a name", "", "exec(f'Cell = nn.{cfg.rnn}')", "Cell(4, 8)", "exec(f'Cell = nn.{cfg.rnn}')", "G2L102"),
    ("exec into a namespace", "", "ns = {}\nexec('cls = nn.' + cfg.rnn, globals(), ns)\nCell = ns['cls']", "Cell(4, 8)",
     "exec('cls = nn.' + cfg.rnn, globals(), ns)", "G2L102"),
    ("attrgetter of nn", "", "", "operator.attrgetter(cfg.rnn)(nn)(4, 8)", "operator.attrgetter(cfg.rnn)(nn)", "G2L102"),
    ("attrgetter of torch", "", "", "operator.attrgetter('nn.' + cfg.rnn)(torch)(4, 8)", "operator.attrgetter('nn.' + cfg.rnn)(torch)", "G2L102"),
    ("attrgetter of a gru written out", "", "", "operator.attrgetter('GRUCell')(nn)(4, 8)", "operator.attrgetter('GRUCell')(nn)", "G2L102"),
    ("getattr of sys.modules", "", "", "getattr(sys.modules['torch.nn'], cfg.rnn)(4, 8)", "getattr(sys.modules['torch.nn'], cfg.rnn)", "G2L102"),
    ("getattr of the module itself", "from torch.nn import GRUCell, LSTMCell", "", "getattr(sys.modules[__name__], cfg.rnn)(4, 8)",
     "getattr(sys.modules[__name__], cfg.rnn)", "G2L102"),
    ("globals", "from torch.nn import GRUCell, LSTMCell", "", "globals()[cfg.rnn](4, 8)", "globals()[cfg.rnn]", "G2L102"),
    ("__import__ with a fromlist", "", "", "getattr(__import__('torch.nn', fromlist=[cfg.rnn]), cfg.rnn)(4, 8)",
     "getattr(__import__('torch.nn', fromlist=[cfg.rnn]), cfg.rnn)", "G2L102"),
    ("an attribute of __import__", "", "", "getattr(__import__('torch').nn, cfg.rnn)(4, 8)", "getattr(__import__('torch').nn, cfg.rnn)", "G2L102"),
    ("the module of torch's recurrent classes", "import torch.nn.modules.rnn as rnn_mod", "", "getattr(rnn_mod, cfg.rnn)(4, 8)",
     "getattr(rnn_mod, cfg.rnn)", "G2L102"),
    ("functools.partial", "", "make = functools.partial(getattr(nn, cfg.rnn), 4)", "make(8)", "getattr(nn, cfg.rnn)", "G2L102"),
    ("functools.partial called in place", "", "", "functools.partial(getattr(nn, cfg.rnn), 4, 8)()", "getattr(nn, cfg.rnn)", "G2L102"),
    ("a table of every class", "", "CLASSES = {k: getattr(nn, k) for k in dir(nn)}", "CLASSES[cfg.rnn](4, 8)", "getattr(nn, k)", "G2L102"),
    ("a table of the namespace", "", "CLASSES = {k: v for k, v in vars(nn).items()}", "CLASSES[cfg.rnn](4, 8)", "vars(nn).items()", "G2L102"),
    ("inspect.getmembers", "", "CLASSES = dict(inspect.getmembers(nn))", "CLASSES.get(cfg.rnn)(4, 8)", "inspect.getmembers(nn)", "G2L102"),
    ("a subclass made by type", "", "Cell = type('Cell', (getattr(nn, cfg.rnn),), {})", "Cell(4, 8)", "getattr(nn, cfg.rnn)", "G2L102"),
    ("a subclass by a class statement", "", "class Cell(getattr(nn, cfg.rnn)):\n    pass", "Cell(4, 8)", "getattr(nn, cfg.rnn)", "G2L102"),
    ("a gru of sys.modules", "", "", "sys.modules['torch'].nn.GRUCell(4, 8)", "sys.modules['torch'].nn.GRUCell(4, 8)", "G2L101"),
    ("a gru of __import__ with a fromlist", "", "", "__import__('torch.nn', fromlist=['GRUCell']).GRUCell(4, 8)",
     "__import__('torch.nn', fromlist=['GRUCell']).GRUCell(4, 8)", "G2L101"),
]


def _actor(imports: str, choice: str, made: str) -> str:
    return ACTOR.replace("IMPORTS", f"{IMPORTS}\n    {imports}" if imports else IMPORTS).replace("CHOICE", choice.replace("\n", "\n    ")).replace("MADE", made)


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("imports, choice, made, chooser, code", [case[1:] for case in CHOSEN_BY_NAME], ids=[case[0] for case in CHOSEN_BY_NAME])
def test_a_class_of_torch_nn_chosen_by_a_name_is_one_finding_where_it_is_chosen(tmp_path, capsys, form, imports, choice, made, chooser, code):
    # each was "no GRU", exit 0, and the program went on running its GRU
    source = _actor(imports, choice, made)
    write(tmp_path, {"actor.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    lines = textwrap.dedent(source).splitlines()
    line = next(number for number, text in enumerate(lines, 1) if chooser in text)
    place = f"{tmp_path / 'actor.py'}:{line}:{lines[line - 1].index(chooser) + 1}: {code} "
    taking = next(number for number, text in enumerate(lines, 1) if "self.cell(x, h)" in text)
    if code == "G2L102":
        sentence = CHOSEN.format(chooser=chooser).replace("line 20", f"line {taking}")
    else:
        sentence = UNDER.format(made=chooser, under=chooser.rpartition(".")[0])
        if chooser.startswith("sys.modules"):
            sentence = sentence.replace("imported in place", "read from `sys.modules`").replace("that import to the top", "that read to an import at the top")
    assert out.splitlines()[0] == place + sentence
    assert out.count("G2L") == 1
    assert (tmp_path / "actor.py").read_text() == textwrap.dedent(source)


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("layers", [
    "self.lin = eval('nn.Linear')(4, 4)",
    "self.lin = operator.attrgetter('Linear')(nn)(4, 4)",
    "self.norm = eval('nn.' + cfg.act)()",
    "self.norm = operator.attrgetter(cfg.act)(nn)()",
    "self.lin = getattr(sys.modules['torch.nn'], 'Linear')(4, 4)",
], ids=["eval", "attrgetter", "eval by a name", "attrgetter by a name", "sys.modules"])
def test_a_layer_chosen_by_a_name_beside_a_gru_is_no_finding_and_the_gru_migrates(tmp_path, form, layers):
    # `eval("nn.Linear")` was G2L101 "looks names of this module up by a string": it looks up torch's
    source = _actor("", "", "nn.GRUCell(4, 8)").replace("self.pi = nn.Linear(8, 2)", f"{layers}\n            self.pi = nn.Linear(8, 2)")
    write(tmp_path, {"actor.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTMCell(4, 8)" in (tmp_path / "actor.py").read_text()
    run_migrated(tmp_path, "import actor")


def test_a_layer_chosen_by_a_name_alone_is_no_finding(tmp_path, capsys):
    # the same routes to an activation, called with its input alone, in a file with no GRU
    source = _actor("", "", "nn.Linear(4, 8)").replace("self.act = getattr(nn, cfg.act)()", "self.act = eval('nn.' + cfg.act)()")
    source = source.replace("h = self.cell(x, h)", "h = self.cell(x) + h")
    write(tmp_path, {"actor.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "G2L" not in capsys.readouterr().out
