"""Session 40's cuts of the torch row (benchmarks/README.md, twelfth round): each one leaves every
verdict as it was, and only skips work that a cheaper test shows cannot matter."""

from __future__ import annotations

import ast
import re

import pytest

from gru2lstm.imports import may_import
from gru2lstm.prefilter import chooses_class_by_value, gru_class_names, names_bound_in_code, references_torch_gru, screen
from gru2lstm.vocab import CLASS_BY_TEXT_BYTES, CLASS_BY_VALUE_BYTES, NAME_READ_BYTES, NAME_READ_NEEDLES


# ----------------------------------------------------------------- an import list's comments
@pytest.mark.parametrize("source", [
    # a comment in the list names something else: the list is read up to its `)`, comments left out
    "from . import (\n    jagged_lowerings,\n    mkldnn_lowerings,  # registers the model's ops on import\n)\nx = model\n",
    "from pkg import (  # the model's helpers\n    agent,\n)\n",
])
def test_a_comment_in_an_import_list_does_not_make_it_an_import_of_the_module(source):
    assert not may_import(source.encode(), b"model")


@pytest.mark.parametrize("source", [
    "from pkg import (\n    agent,  # the (old) one)\n    model,\n)\n",  # a `)` in a comment does not close the list
    "from pkg import (  # helpers\n    model as m,  # the policy\n)\n",
    "from pkg import (agent, model)  # both\n",
    "from pkg import (\n    agent,  # one\n    model)\n",
])
def test_an_import_list_with_comments_that_spells_the_module_may_import_it(source):
    assert may_import(source.encode(), b"model")


# ----------------------------------------------------------------- the class-by-name byte patterns
@pytest.mark.parametrize("pairs", [CLASS_BY_VALUE_BYTES, CLASS_BY_TEXT_BYTES, NAME_READ_BYTES])
def test_each_gated_pattern_spells_its_needle_outside_any_group(pairs):
    """A pattern is searched only in files that spell its needle: the needle must be a literal every
    match holds (written out, not inside a group or an alternation)."""
    for needle, pattern in pairs:
        if needle is None:
            continue
        assert needle in NAME_READ_NEEDLES
        literal = re.escape(needle)
        at = pattern.find(literal)
        assert at >= 0, pattern
        before = re.sub(rb"\\.", b"", pattern[:at])  # escapes left out: no group or alternation opens before it
        assert b"(" not in before and b"|" not in before, pattern


@pytest.mark.parametrize("source, expected", [
    ("import torch.nn as nn\ncell = getattr(nn, cfg.rnn)(4, 8)\n", True),
    ("import torch.nn as nn\ncell = vars(nn)[cfg.rnn](4, 8)\n", True),
    ("import torch.nn as nn\ncell = nn.__dict__[cfg.rnn](4, 8)\n", True),
    ("import torch.nn as nn\ncell = nn.__getattribute__(cfg.rnn)(4, 8)\n", True),
    ("import inspect\nimport torch.nn as nn\nCELLS = dict(inspect.getmembers(nn))\n", True),
    ("import torch.nn.modules.rnn as rnn_mod\ncell = getattr(rnn_mod, cfg.rnn)(4, 8)\n", True),
    ("import importlib\ncell = getattr(importlib.import_module('torch.nn'), cfg.rnn)(4, 8)\n", True),
    ("import torch.nn as nn\ncell = eval('nn.' + cfg.rnn)(4, 8)\n", True),
    # none of the needles: no pattern that spells one is searched, and none matches
    ("import torch.nn as nn\ncell = nn.LSTM(4, 8)\n", False),
    ("import torch\nx = torch.zeros(3)\n", False),
])
def test_the_gated_byte_screen_gives_the_verdicts_it_gave(source, expected):
    assert chooses_class_by_value(source.encode()) is expected


# ----------------------------------------------------------------- the screen's shared walk
@pytest.mark.parametrize("source, expected", [
    ("import torch.nn as nn\nclass P(nn.Module):\n    def __init__(self):\n        self.rnn = nn.GRU(4, 8)\n", True),
    # the import inside the function comes after the call in the walk's order, and still binds it
    ("def make():\n    cell = nn.GRUCell(4, 8)\n    return cell\ndef load():\n    from torch import nn\n", True),
    ("from util import nn\nrnn = nn.GRU(4, 8)\n", True),
    ("class GRU:\n    pass\nrnn = GRU(4, 8)\n", False),
    ("import torch.nn as nn\nok = isinstance(m, nn.GRU)\n", False),
])
def test_the_gru_call_pass_reads_the_shared_nodes(source, expected):
    tree = ast.parse(source)
    assert references_torch_gru(tree) is expected
    if expected:
        assert screen(source.encode()).may_hold_gru


# ----------------------------------------------------------------- the lines that may name the class
@pytest.mark.parametrize("source, name", [
    ("import torch.nn as nn\ndef cell_class():\n    return (\n        nn\n        .GRUCell\n    )\n", "cell_class"),
    ("import torch.nn as nn\nRNN = nn.GRU\ndef pick():\n    return RNN\n", "pick"),
    ("from torch.nn import GRU as G\ndef pick():\n    x = 1\n    return G\n", "pick"),
    ("import torch.nn as nn\ndef pick(name):\n    cls = getattr(nn, 'GRU')\n    return cls\n", "pick"),
    ("from torch.nn import *\ndef pick():\n    return GRUCell\n", "pick"),
    ("import torch.nn as nn\nRNN = nn.GRU\nALIAS = RNN\ndef pick():\n    return ALIAS\n", "pick"),
])
def test_a_function_that_returns_the_class_is_still_found(source, name):
    assert name in gru_class_names(ast.parse(source))


def test_a_function_whose_lines_name_no_class_is_not_taken():
    source = "import torch.nn as nn\nRNN = nn.GRU\ndef other():\n    return nn.LSTM\n"
    assert gru_class_names(ast.parse(source)) == {"RNN"}


@pytest.mark.parametrize("source, name", [
    ("import torch.nn as nn\ndef f():\n    for Cell in (\n        nn.GRUCell,\n    ):\n        Cell(4, 8)\n", "Cell"),
    ("import torch.nn as nn\ndef f(cls=nn.GRU):\n    return cls(4, 8)\n", "cls"),
    ("import torch.nn as nn\ndef f():\n    Cell = getattr(\n        nn, 'GRUCell')\n", "Cell"),
])
def test_names_bound_in_code_are_still_found(source, name):
    assert name in names_bound_in_code(ast.parse(source))


# ----------------------------------------------------------------- a pick's parse kept for grouping
def test_a_file_that_picks_a_class_is_parsed_once_before_its_migration(tmp_path, monkeypatch):
    from gru2lstm import engine

    source = "import torch.nn as nn\n\n\ndef make(cfg):\n    return getattr(nn, cfg.rnn)(4, 8)\n"
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "layers.py").write_text(source)
    parsed = []
    real = ast.parse
    monkeypatch.setattr(ast, "parse", lambda text, *args, **kwargs: parsed.append(text) or real(text, *args, **kwargs))
    results = engine.run([str(tmp_path / "layers.py")], engine.RunOptions(write=False), jobs=1)
    monkeypatch.undo()
    assert parsed.count(source.encode()) == 1  # the screen's parse, which grouping reads again
    (result,) = results
    assert result.status == "needs_attention"
    assert [(finding.code, finding.line) for finding in result.migration.findings] == [("G2L102", 5)]
