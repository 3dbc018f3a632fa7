"""imports.may_import: the bytes test that spares the project scan a parse of every file that
only mentions a module's name. It may say yes too often, never no for a file that imports it."""

from __future__ import annotations

import pytest

from gru2lstm.imports import may_import


@pytest.mark.parametrize("source", [
    "import model\n",
    "import pkg.model as m\n",
    "from pkg.model import Policy\n",
    "from .model import Policy\n",
    "from . import model\n",
    "    from model import Policy  # inside a function\n",
    "x = 1; import model\n",
    "if TYPE_CHECKING: from model import Policy\n",
    "from pkg import (\n    agent,\n    model,\n)\n",
    "from pkg import agent, \\\n    model\n",
    "m = importlib.import_module('pkg.model')\n",
    # an import over lines that a comment may close early, computed or relative names, `__import__`
    "from pkg import (\n    agent,  # the (old) one)\n    model,\n)\n",
    "m = importlib.import_module('pkg.' + name)\n",
    "m = importlib.import_module(f'pkg.{name}')\n",
    "m = importlib.import_module('pkg.' 'model')\n",
    "m = importlib.import_module('.agent', 'pkg.model')\n",
    "m = importlib.import_module(name)\n",
    "m = __import__('pkg', fromlist=['model'])\n",
])
def test_a_file_that_imports_the_module_may(source):
    assert may_import(source.encode(), b"model")


@pytest.mark.parametrize("source", [
    "def forward(self, model):\n    return model(x)\n",
    "import models\n",
    "import os  # the model\n",
    "from pkg.model_utils import load\n",
    # an import over lines or by a literal name elsewhere in the file does not make it one
    "from pkg import (\n    agent,\n    storage,\n)\ndef f(model):\n    return model\n",
    "m = importlib.import_module('pkg.agent')\nmodel = m.build()\n",
    "m = importlib.import_module( 'pkg.agent', package=None)\nmodel = m.build()\n",
])
def test_a_file_that_only_mentions_the_name_may_not(source):
    assert not may_import(source.encode(), b"model")
