"""Work the engine leaves undone on a big tree, and why that loses nothing: no wider group for a
finding no other file can change, no walk of files that only pick a class of torch.nn by a name,
no `ast` parse of files whose bytes cannot pick one (benchmarks/README.md, tenth round)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gru2lstm.migrate as migrate
from gru2lstm import ahead, engine, prefilter
from gru2lstm.engine import RunOptions, run


def _write(root: Path, files: dict) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def _record_groups(monkeypatch) -> list:
    """The module keys of every migrate_modules call of the run (the engine runs in-process with jobs=1)."""
    calls = []
    real = migrate.migrate_modules

    def recording(modules, sources, options=migrate.Options()):
        calls.append(sorted(Path(module.key).name for module in modules))
        return real(modules, sources, options)

    monkeypatch.setattr(migrate, "migrate_modules", recording)
    return calls


def _findings(results) -> list:
    return [(Path(result.path).name, finding.line, finding.code) for result in results if result.migration for finding in result.migration.findings]


def _picking_model(imports: str, base: str, owner: str) -> str:
    """A module whose recurrent core is a class of torch.nn picked by a name (`getattr(OWNER, kind)`),
    called with a state: the engine must say so (G2L102 at the getattr)."""
    return (
        f"{imports}\n\n\nclass Net({base}):\n    def __init__(self, kind):\n        super().__init__()\n"
        f"        self.core = getattr({owner}, kind)(4, 8)\n\n    def forward(self, x, h):\n        y, h = self.core(x, h)\n        return y, h\n"
    )


MADE_UNDER_AN_IMPORTED_NAME = {
    "util.py": "import torch.nn as nn\n",
    "helpers.py": "def scale(y):\n    return y * 2\n",
    "model.py": (
        "from util import nn\n"
        "from helpers import scale\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.rnn = nn.GRU(4, 8)\n\n"
        "    def forward(self, x, h):\n"
        "        y, h = self.rnn(x, h)\n"
        "        return scale(y), h\n"
    ),
}


def test_a_gru_made_under_a_name_of_another_file_asks_for_no_wider_group(tmp_path, monkeypatch):
    # The G2L101 is about how model.py makes its GRU: helpers.py, which a wider group would add,
    # cannot change it (on torch's own tree that wider group parsed 700 kB for nothing).
    _write(tmp_path, MADE_UNDER_AN_IMPORTED_NAME)
    calls = _record_groups(monkeypatch)
    results = run([str(tmp_path)], RunOptions(write=False), jobs=1)
    assert ("model.py", 8, "G2L101") in _findings(results)
    assert calls == [["model.py"]]
    assert all(result.status != "changed" for result in results)


def test_a_state_handed_to_another_file_still_asks_for_the_wider_group(tmp_path, monkeypatch):
    # Not every G2L101 is local: a state given to a function of a file the group imports from is
    # followed only by the wider attempt, which then migrates both files.
    _write(tmp_path, {
        "helpers.py": "def keep(h):\n    return h.detach()\n",
        "model.py": (
            "import torch.nn as nn\n"
            "from helpers import keep\n\n\n"
            "class Net(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.rnn = nn.GRU(4, 8)\n\n"
            "    def forward(self, x, h):\n"
            "        y, h = self.rnn(x, h)\n"
            "        return y, keep(h)\n"
        ),
    })
    calls = _record_groups(monkeypatch)
    run([str(tmp_path)], RunOptions(write=False), jobs=1)
    assert calls[-1] == ["helpers.py", "model.py"]


def test_a_file_that_only_picks_a_class_by_name_is_not_walked(tmp_path, monkeypatch):
    # No GRU or LSTM is spelled: the walk (flow.collect) could find nothing; the pick is still reported.
    _write(tmp_path, {"model.py": _picking_model("import torch.nn as nn", "nn.Module", "nn")})
    monkeypatch.setattr(migrate, "collect", lambda *args, **kwargs: pytest.fail("the walk ran"))
    results = run([str(tmp_path)], RunOptions(write=False), jobs=1)
    assert _findings(results) == [("model.py", 7, "G2L102")]


@pytest.mark.parametrize("binding", [
    "layers = torch.nn",
    "layers = torch.nn.modules.rnn  # where the classes are defined",
    "import torch.nn as layers",
    "from torch.nn import modules as layers",
])
def test_a_name_set_or_imported_as_torch_nn_then_read_by_getattr_is_refused(tmp_path, binding):
    # `layers = torch.nn` was not in the bytes the prefilter looked for: exit 0, a GRU chosen by
    # the config left a GRU and nothing said so.
    _write(tmp_path, {"model.py": _picking_model(f"import torch\n{binding}", "torch.nn.Module", "layers")})
    results = run([str(tmp_path)], RunOptions(write=False), jobs=1)
    assert _findings(results) == [("model.py", 8, "G2L102")]


@pytest.mark.parametrize("text", [
    # a getter as a sort key, applied to no module of torch
    "import operator\nimport torch\n\nrows = sorted(torch.load('x'), key=operator.attrgetter('step'))\n",
    # a getattr of a module of torch that holds no class of torch.nn
    "from torch import _C\n\n\ndef op(name):\n    return getattr(_C, name)\n",
    # another module of torch imported in place, or read from sys.modules
    "import importlib\nimport sys\n\nconfig = importlib.import_module('torch._dynamo.config')\nfx = sys.modules['torch.fx']\n",
])
def test_bytes_that_cannot_pick_a_class_of_torch_nn_are_not_parsed(monkeypatch, text):
    assert _parses(monkeypatch, text) == []


@pytest.mark.parametrize("text", [
    "import operator\nimport torch.nn as nn\n\ncell = operator.attrgetter(name)(nn)(4, 8)\n",
    "import operator\nimport torch as T\n\npick = operator.attrgetter(name)\ncell = pick(T.nn)(4, 8)\n",
    "import importlib\n\nlayers = importlib.import_module('torch.nn')\ncell = getattr(layers, name)(4, 8)\n",
    "import sys\n\ncell = getattr(sys.modules['torch.nn.modules.rnn'], name)(4, 8)\n",
])
def test_bytes_that_may_pick_a_class_of_torch_nn_are_parsed(monkeypatch, text):
    # the other side of the screen: these reach the `ast` reading, which says yes or no precisely
    assert _parses(monkeypatch, text) == [text.encode()]


def _parses(monkeypatch, text: str) -> list:
    """What `prefilter.chooses_class_by_value` gives `ast.parse` for the file `text`."""
    parsed = []
    real = ast.parse
    monkeypatch.setattr(ast, "parse", lambda source, *args, **kwargs: parsed.append(source) or real(source, *args, **kwargs))
    prefilter.chooses_class_by_value(text.encode())
    monkeypatch.undo()
    return parsed


def test_the_parent_process_does_not_import_libcst():
    # engine.py: on a big tree an early worker imports LibCST while the parent screens and groups;
    # an import of a LibCST module by project.py (session 36) cost the parent ~0.3 s on every run
    program = (
        "import sys\n"
        "import gru2lstm.cli, gru2lstm.engine, gru2lstm.project, gru2lstm.report, gru2lstm.discovery\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'libcst'))\n"
    )
    shown = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the child is forked on Linux only")
def test_a_tree_screened_in_two_halves_gives_what_one_process_gives(tmp_path, monkeypatch):
    # engine._screen: in a big tree a forked child screens the second half (ahead.py); seeds, files
    # that only hold the class, files that pick one by a name, markers: the same in either half
    _write(tmp_path, {
        **MADE_UNDER_AN_IMPORTED_NAME,
        "a_cells.py": "import torch.nn as nn\n\nCELL = nn.GRUCell\n",
        "b_user.py": (
            "import torch\nfrom a_cells import CELL\n\n\nclass Agent(torch.nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.cell = CELL(4, 8)\n\n"
            "    def forward(self, x, h):\n        return self.cell(x, h)\n"
        ),
        "c_pick.py": _picking_model("import torch.nn as nn", "nn.Module", "nn"),
        "d_marked.py": "x = 1  # gru2lstm: manual (G2L101)\n",
        "z_plain.py": "def f(x):\n    return x\n",
    })

    def outcome(apart: int) -> list:
        monkeypatch.setattr(engine, "SCREEN_APART_FILES", apart)
        results = run([str(tmp_path)], RunOptions(write=False, diff=True), jobs=2)
        return [(Path(result.path).name, result.status, result.diff, _findings([result])) for result in results]

    monkeypatch.setattr(ahead, "spare_core", lambda: True)
    children = []
    real = ahead.computed_ahead
    monkeypatch.setattr(ahead, "computed_ahead", lambda compute: children.append(compute) or real(compute))
    split = outcome(2)
    assert len(children) == 1
    assert split == outcome(10_000)
    assert len(children) == 1
    assert {name for name, status, _, _ in split if status != "unchanged"} >= {"a_cells.py", "c_pick.py", "d_marked.py", "model.py"}


def test_a_child_that_fails_leaves_its_half_to_this_process(tmp_path, monkeypatch):
    _write(tmp_path, {**MADE_UNDER_AN_IMPORTED_NAME, "z_plain.py": "x = 1\n"})
    monkeypatch.setattr(engine, "SCREEN_APART_FILES", 2)
    monkeypatch.setattr(ahead, "spare_core", lambda: True)
    monkeypatch.setattr(ahead, "computed_ahead", lambda compute: (lambda: None))  # a child that died
    results = run([str(tmp_path)], RunOptions(write=False), jobs=2)
    assert ("model.py", 8, "G2L101") in _findings(results)
