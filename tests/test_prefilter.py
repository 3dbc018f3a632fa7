"""The prefilter: which files are worth a LibCST parse. It must never reject a file the engine changes."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, golden_pairs
from gru2lstm.prefilter import gru_class_names, may_hold_gru, mentions_gru, screen

PASSES = {
    "nn_alias": "from torch import nn\nnet = nn.GRU(2, 2)\n",
    "torch_nn_module": "import torch.nn as nn\nnet = nn.GRUCell(2, 2)\n",
    "fully_qualified": "import torch\nnet = torch.nn.GRU(2, 2)\n",
    "nn_of_a_star_import": "from util import *\nnet = nn.GRUCell(2, 2)\n",
    "nn_of_an_imported_module": "import util\nnet = util.nn.GRUCell(2, 2)\n",
    "from_import_as": "from torch.nn import GRU as RNN\nnet = RNN(2, 2)\n",
    "star_import": "from torch.nn import *\nnet = GRU(2, 2)\n",
    "torch_alias": "import torch as T\nnet = T.nn.GRU(2, 2)\n",
    "in_a_container": "from torch import nn\nlayers = nn.ModuleList([nn.GRUCell(2, 2) for _ in range(3)])\n",
    "nn_renamed": "from torch import nn as tnn\nnet = tnn.GRU(2, 2)\n",
    "modules_path": "import torch\nnet = torch.nn.modules.rnn.GRU(2, 2)\n",
    "import_in_function": "def build():\n    import torch\n    return torch.nn.GRU(2, 2)\n",
    "from_import_then_call": "from torch.nn import GRU\nnet = GRU(2, 2)\n",
    "call_after_a_comment": "from torch import nn\nnet = (nn.GRU  # the recurrence\n       (2, 2))\n",
    "call_after_a_continuation": "from torch import nn\nnet = nn.GRUCell \\\n    (2, 2)\n",
    "syntax_error": "import torch\nnet = torch.nn.GRU(2, 2\n",  # the engine reports where
}

REJECTS = {
    "no_mention": "import torch\nnet = torch.nn.LSTM(2, 2)\n",
    "comment_only": "import torch\n# we used to have a GRU here\nnet = torch.nn.LSTM(2, 2)\n",
    "string_only": 'import torch\nNAME = "GRU"\nnet = torch.nn.LSTM(2, 2)\n',
    "no_torch_import": "from mylib import GRU\nnet = GRU(2, 2)\n",
    "own_class": "import torch\n\nclass GRU:\n    pass\n\nnet = GRU()\n",
    "other_library": "import tensorflow as tf\nlayer = tf.keras.layers.GRU(4)\n",
    "other_library_module": "import keras\nlayer = keras.layers.GRU(4)\n",
    "isinstance_only": "import torch.nn as nn\n\ndef init(m):\n    return isinstance(m, nn.GRU)\n",
    "mapping_table": "from torch import nn\nfrom mylib import QGRU\n\nMAPPING = {nn.GRU: QGRU, nn.GRUCell: QGRU}\n",
    "relative_import": "import torch\nfrom .layers import GRU\nnet = GRU(2, 2)\n",
}


# Files that hold the GRU class itself: another file may construct through the name they bind
# (tests/test_gru_aliases.py), so they pass, marked as holding the class only -> the names bound.
CLASS_HOLDERS = {
    "reexport_only": ("from torch.nn import GRU\n\n__all__ = ['GRU']\n", {"GRU"}),
    "alias": ("import torch.nn as nn\n\nRNN = nn.GRU\n", {"RNN"}),
    "alias_of_alias": ("from torch.nn import GRUCell as Cell\n\nCore = Cell\n", {"Cell", "Core"}),
    "registry": ("from torch import nn\n\nCELLS = {'gru': nn.GRU, 'rnn': nn.RNN}\n", {"CELLS"}),
    "registry_filled": ("from torch import nn\n\nCELLS = {}\nCELLS['gru'] = nn.GRU\nKINDS = []\nKINDS.append(nn.GRUCell)\n", {"CELLS", "KINDS"}),
    "getattr_literal": ("import torch\n\nRNN = getattr(torch.nn, 'GRU')\n", {"RNN"}),
    "modules_path": ("import torch\n\nRNN = torch.nn.modules.rnn.GRU\n", {"RNN"}),
    "multi_line_import": ("from torch.nn import (\n    GRU,\n    Linear,\n)\n", {"GRU"}),
}


@pytest.mark.parametrize("source, names", CLASS_HOLDERS.values(), ids=CLASS_HOLDERS.keys())
def test_files_that_hold_the_gru_class_pass_with_the_names_they_bind(source, names):
    screening = screen(source.encode())
    assert screening.may_hold_gru and screening.class_only
    assert gru_class_names(screening.tree) == names


def test_a_construction_binds_no_class_name():
    screening = screen(b"from torch import nn\n\nRNN = nn.GRU\ncore = RNN(4, 8)\nother = nn.GRU(4, 8)\nTABLE = {nn.GRU: 1}\n")
    assert screening.may_hold_gru and not screening.class_only
    assert gru_class_names(screening.tree) == {"RNN"}


@pytest.mark.parametrize("source", PASSES.values(), ids=PASSES.keys())
def test_files_that_may_hold_a_torch_gru_pass(source):
    assert may_hold_gru(source.encode())


@pytest.mark.parametrize("source", REJECTS.values(), ids=REJECTS.keys())
def test_files_that_cannot_hold_a_torch_gru_are_rejected(source):
    assert not may_hold_gru(source.encode())


def test_the_byte_search_is_case_sensitive_and_cheap():
    assert mentions_gru(b"nn.GRU(")
    assert mentions_gru(b"from torch.nn import GRU as RNN")
    assert mentions_gru(b"RNN = nn.GRU")  # the class as a value (step 3)
    assert not mentions_gru(b"torch._VF.gru(x)")
    assert not mentions_gru(b"# the GRU cell here, GRU=4 gates\n")  # prose costs no parse
    assert not mentions_gru(b'if variant == "GRU":\n')


def test_source_in_a_coding_cookie_encoding_passes():
    source = "# -*- coding: latin-1 -*-\n# r\u00e9seau\nfrom torch import nn\nnet = nn.GRU(2, 2)\n"
    assert may_hold_gru(source.encode("latin-1"))


def test_every_golden_input_passes():
    folders = golden_pairs()
    assert folders, f"no golden pairs under {FIXTURES}"
    assert [f.name for f in folders if not may_hold_gru((f / "input.py").read_bytes())] == []


@pytest.mark.parametrize("source", REJECTS.values(), ids=REJECTS.keys())
def test_the_engine_agrees_with_every_rejection(source):
    """Soundness: what the prefilter rejects, the engine would not have changed either."""
    from gru2lstm.migrate import migrate_source

    migration = migrate_source(source)
    assert not migration.changed and not migration.blocked


@pytest.mark.parametrize("source, names", CLASS_HOLDERS.values(), ids=CLASS_HOLDERS.keys())
def test_the_engine_defers_the_parse_of_a_file_that_can_only_hold_the_class(source, names):
    deferred = screen(source.encode(), defer_holders=True)
    assert deferred.may_hold_gru and deferred.class_only
    assert deferred.parsed == ("GRUCell as" in source)  # an import `as` may bind a name that is called


def test_a_subclass_of_the_gru_class_is_a_file_to_migrate_and_never_deferred():
    # the program's own GRU: made by its own name (`Quantized(4, 8)`), no `GRU(` need be spelt anywhere
    source = b"from torch import nn\n\nclass Quantized(nn.GRU):\n    pass\n"
    for screening in (screen(source), screen(source, defer_holders=True)):
        assert screening.may_hold_gru and screening.parsed and not screening.class_only
    assert gru_class_names(screen(source).tree) == {"Quantized"}


def test_a_construction_is_never_deferred():
    screening = screen(b"from torch import nn\n\nRNN = nn.GRU\ncore = RNN(4, 8)\nother = nn.GRU(4, 8)\n", defer_holders=True)
    assert screening.parsed and not screening.class_only


MADE_FROM_BOUND = {
    "for_target": "import torch.nn as nn\nfor Cell in (nn.GRUCell,):\n    pass\nnet = Cell(2, 2)\n",
    "with_as": "import contextlib\nimport torch.nn as nn\nwith contextlib.nullcontext(nn.GRU) as R:\n    net = R(2, 2)\n",
    "default_argument": "import torch.nn as nn\n\ndef make(i, cls=nn.GRU):\n    return cls(i, 2)\n",
    "keyword_only_default": "import torch.nn as nn\n\ndef make(*, cls=nn.GRU):\n    return cls(2, 2)\n",
    "assigned_in_a_function": "import torch.nn as nn\n\ndef make():\n    Cell = nn.GRUCell\n    return Cell(2, 2)\n",
    "given_to_a_function": "import torch.nn as nn\n\nCELLS = {'gru': nn.GRUCell}\n\ndef build(table):\n    return table['gru'](2, 2)\n\nnet = build(CELLS)\n",
    "annotated_field": "import torch.nn as nn\n\nclass Spec:\n    cell: type = nn.GRUCell\n\nnet = Spec().cell(2, 2)\n",
}


@pytest.mark.parametrize("source", MADE_FROM_BOUND.values(), ids=MADE_FROM_BOUND.keys())
def test_a_class_bound_in_code_or_given_to_a_function_and_called_makes_a_gru(source):
    # they only held the class (step 3) and met no group: "left unchanged", exit 0, a GRU
    screening = screen(source.encode(), defer_holders=True)
    assert screening.may_hold_gru and not screening.class_only
