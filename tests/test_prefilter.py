"""The prefilter: which files are worth a LibCST parse. It must never reject a file the engine changes."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, golden_pairs
from gru2lstm.prefilter import may_hold_gru, mentions_gru

PASSES = {
    "nn_alias": "from torch import nn\nnet = nn.GRU(2, 2)\n",
    "torch_nn_module": "import torch.nn as nn\nnet = nn.GRUCell(2, 2)\n",
    "fully_qualified": "import torch\nnet = torch.nn.GRU(2, 2)\n",
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
    "isinstance_only": "import torch.nn as nn\n\ndef init(m):\n    return isinstance(m, nn.GRU)\n",
    "mapping_table": "from torch import nn\nfrom mylib import QGRU\n\nMAPPING = {nn.GRU: QGRU, nn.GRUCell: QGRU}\n",
    "reexport_only": "from torch.nn import GRU\n\n__all__ = ['GRU']\n",
    "subclass_only": "from torch import nn\n\nclass Quantized(nn.GRU):\n    pass\n",
    "relative_import": "import torch\nfrom .layers import GRU\nnet = GRU(2, 2)\n",
}


@pytest.mark.parametrize("source", PASSES.values(), ids=PASSES.keys())
def test_files_that_may_hold_a_torch_gru_pass(source):
    assert may_hold_gru(source.encode())


@pytest.mark.parametrize("source", REJECTS.values(), ids=REJECTS.keys())
def test_files_that_cannot_hold_a_torch_gru_are_rejected(source):
    assert not may_hold_gru(source.encode())


def test_the_byte_search_is_case_sensitive_and_cheap():
    assert mentions_gru(b"nn.GRU(")
    assert mentions_gru(b"from torch.nn import GRU as RNN")
    assert not mentions_gru(b"nn.GRU")
    assert not mentions_gru(b"torch._VF.gru(x)")


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
