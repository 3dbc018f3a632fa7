"""The GRU reached through a name the project binds to its class (an alias, a subclass, a registry
of classes, `getattr` of torch.nn), in a file that never spells `GRU(`: that file joins the group
of the files that share states with it, so the engine sees the construction, and refuses with
G2L101 where it cannot follow it. Nothing may be written then (red-team probes:
/work/redteam/probe_alias)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from gru2lstm.cli import main
from gru2lstm.project import Project

ENCODER = """\
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8)

    def forward(self, x, h):
        return self.gru(x, h)
"""

DECODER = """\
import torch.nn as nn

{imports}


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.core = {made}

    def forward(self, x, h):
        return self.core(x, h)
"""

# The decoder's core continues the encoder's state.
EXCHANGE = """\
import torch

from decoder import Decoder
from encoder import Encoder


def run():
    enc, dec = Encoder(), Decoder()
    h = torch.zeros(1, 2, 8)
    for t in range(3):
        out, h = enc(torch.randn(1, 2, 4), h)
        out, h = dec(torch.randn(1, 2, 4), h)
    return out
"""

HELPER = """\
def step(core, x, h, done):
    out, h = core(x, h)
    return out, (h * (1.0 - done)).detach()
"""

MODEL_A = """\
import torch.nn as nn

from helpers import step


class NetA(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8)

    def forward(self, x, h, done):
        return step(self.gru, x, h, done)
"""

MODEL_B = """\
import torch
import torch.nn as nn

from helpers import step
{imports}


class NetB(nn.Module):
    def __init__(self):
        super().__init__()
        self.core = {made}

    def forward(self, x, h, done):
        return step(self.core, x, h, done)
"""

RUN_A = """\
import torch

from model_a import NetA


def run_a():
    a = NetA()
    h = torch.zeros(1, 2, 8)
    for t in range(3):
        y, h = a(torch.randn(1, 2, 4), h, torch.zeros(1, 2, 1))
    return y
"""


def write(folder: Path, files: dict) -> dict:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return {name: (folder / name).read_text() for name in files}


def findings(capsys) -> list:
    """(file name, line, code, message) of every finding of the JSON report."""
    report = json.loads(capsys.readouterr().out)
    return [(Path(record["path"]).name, f["line"], f["code"], f["message"]) for record in report["files"] for f in record["findings"]]


def refuses(tmp_path, capsys, monkeypatch, files: dict) -> list:
    """Run the tool on the project; it must exit 1 and write nothing. Its findings."""
    before = write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    code = main(["rewrite", "--format", "json", "--state", "tuple", "."])
    found = findings(capsys)
    assert code == 1, found
    assert {name: (tmp_path / name).read_text() for name in files} == before
    return found


def exchange(layers: str, imports: str, made: str) -> dict:
    return {"layers.py": layers, "encoder.py": ENCODER, "decoder.py": DECODER.format(imports=imports, made=made), "main.py": EXCHANGE}


def test_an_alias_in_another_file_is_the_finding_where_it_is_bound(tmp_path, capsys, monkeypatch):
    found = refuses(tmp_path, capsys, monkeypatch, exchange("import torch.nn as nn\n\nRNN = nn.GRU\n", "from layers import RNN", "RNN(4, 8)"))
    assert ("layers.py", 3, "G2L101") in {f[:3] for f in found}
    assert any(name == "layers.py" and "`nn.GRU` is assigned here" in message for name, _, _, message in found)


def test_a_subclass_in_another_file_is_the_finding_at_its_base(tmp_path, capsys, monkeypatch):
    layers = "import torch.nn as nn\n\n\nclass Core(nn.GRU):\n    def __init__(self, hidden):\n        super().__init__(4, hidden)\n"
    found = refuses(tmp_path, capsys, monkeypatch, exchange(layers, "from layers import Core", "Core(8)"))
    assert any(name == "layers.py" and line == 4 and "a base class here" in message for name, line, _, message in found)


def test_a_registry_of_classes_in_a_config_module_is_the_finding_where_it_is_filled(tmp_path, capsys, monkeypatch):
    config = 'import torch.nn as nn\n\nCELLS = {"gru": nn.GRU, "rnn": nn.RNN}\nCELL = "gru"\n'
    found = refuses(tmp_path, capsys, monkeypatch, exchange(config, "from layers import CELL, CELLS", "CELLS[CELL](4, 8)"))
    assert any(name == "layers.py" and line == 3 and code == "G2L101" for name, line, code, _ in found)


def test_an_alias_reexported_by_a_package_brings_its_user_into_the_group(tmp_path):
    write(tmp_path, {
        "nets/__init__.py": "from .layers import RNN\n",
        "nets/layers.py": "import torch.nn as nn\n\nRNN = nn.GRU\n",
        "nets/policy.py": "import torch.nn as nn\n\nfrom nets import RNN\n\n\nclass Policy(nn.Module):\n"
                          "    def __init__(self):\n        super().__init__()\n        self.critic = RNN(4, 8)\n",
        "unrelated.py": "import os\n",
    })
    paths = sorted(tmp_path.rglob("*.py"))
    names = [p.relative_to(tmp_path).as_posix() for p in paths]
    groups = Project(paths).groups([names.index("nets/layers.py")])
    assert [[names[i] for i in group.core] for group in groups] == [["nets/__init__.py", "nets/layers.py", "nets/policy.py"]]


def test_an_import_of_the_class_used_in_another_file_is_followed_there(tmp_path, capsys, monkeypatch):
    layers = "from torch.nn import GRU as Recurrent\n\nSIZE = 8\n"
    found = refuses(tmp_path, capsys, monkeypatch, exchange(layers, "from layers import SIZE, Recurrent", "Recurrent(4, SIZE)"))
    assert any(name == "decoder.py" and code == "G2L101" and "`self.core`" in message for name, _, code, message in found)


def test_the_class_taken_by_getattr_with_its_name_is_the_finding_at_the_call(tmp_path, capsys, monkeypatch):
    found = refuses(tmp_path, capsys, monkeypatch, {
        "helpers.py": HELPER, "model_a.py": MODEL_A,
        "model_b.py": MODEL_B.format(imports="", made='getattr(nn, "GRU")(4, 8)'),
        "main.py": "from model_a import NetA\nfrom model_b import NetB\n\nnets = [NetA(), NetB()]\n",
    })
    assert any(name == "model_b.py" and line == 11 and code == "G2L101" and "its name `GRU`" in message for name, line, code, message in found)


def test_a_module_class_taken_by_a_name_the_engine_cannot_read_is_the_finding_at_the_call(tmp_path, capsys, monkeypatch):
    found = refuses(tmp_path, capsys, monkeypatch, {
        "helpers.py": HELPER, "model_a.py": MODEL_A, "config.py": 'CELL = "GRU"\n',
        "model_b.py": MODEL_B.format(imports="import config", made="getattr(torch.nn, config.CELL)(4, 8)"),
        "main.py": "from model_a import NetA\nfrom model_b import NetB\n\nnets = [NetA(), NetB()]\n",
    })
    assert any(name == "model_b.py" and "`config.CELL`" in message for name, _, _, message in found)


def test_an_activation_taken_by_its_name_is_not_a_finding(tmp_path, capsys, monkeypatch):
    model = MODEL_A.replace("self.gru = nn.GRU(4, 8)", 'self.gru = nn.GRU(4, 8)\n        self.act = getattr(nn, "Tanh")()\n        self.other = getattr(nn, self.kind)()')
    write(tmp_path, {"helpers.py": HELPER, "model_a.py": model, "run_a.py": RUN_A})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--format", "json", "--state", "tuple", "."]) == 0
    assert [f for f in findings(capsys) if f[2] == "G2L101"] == []
    assert "nn.LSTM(4, 8)" in (tmp_path / "model_a.py").read_text()


def test_a_given_file_that_shares_only_a_helper_with_the_group_blocks_it(tmp_path, capsys, monkeypatch):
    # model_b.py makes its module by a name from a config module and imports only the helper that
    # the group changes: no import ties it to the group, yet it calls `step()` with one tensor. Given,
    # it is migrated with the group, and the finding is where its module is made.
    found = refuses(tmp_path, capsys, monkeypatch, {
        "helpers.py": HELPER, "model_a.py": MODEL_A, "run_a.py": RUN_A, "config.py": 'CELL = "GRU"\n',
        "model_b.py": MODEL_B.format(imports="import config", made="getattr(torch.nn, config.CELL)(4, 8)"),
    })
    assert any(
        name == "model_b.py" and line == 11 and code == "G2L101" and message.startswith("`getattr(torch.nn, config.CELL)` takes")
        for name, line, code, message in found
    )


def test_an_alias_project_with_no_construction_the_engine_follows_is_refused_where_the_class_is_held(tmp_path, capsys, monkeypatch):
    # it was left alone, exit 0, a GRU kept (rt21 c04): model.py makes a GRU through layers.RNN
    before = write(tmp_path, {
        "layers.py": "import torch.nn as nn\n\nRNN = nn.GRU\n",
        "model.py": DECODER.format(imports="from layers import RNN", made="RNN(4, 8)"),
    })
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--format", "json", "."]) == 1
    assert ("layers.py", 3, "G2L101") in {found[:3] for found in findings(capsys)}
    assert {name: (tmp_path / name).read_text() for name in before} == before


SUBCLASS_ONLY = """\
import torch
import torch.nn as nn


class Core(nn.GRU):
    def forward(self, x, h=None):
        return super().forward(x, h)


def run():
    core = Core(4, 8)
    h = torch.zeros(1, 3, 8)
    for t in range(3):
        _, h = core(torch.randn(1, 3, 4), h)
"""


def test_a_subclass_made_by_its_own_name_where_nothing_constructs_nn_gru_is_refused(tmp_path, capsys, monkeypatch):
    # No `GRU(` anywhere: the file was screened as one that only holds the class, no group took it in,
    # and the run said "1 file would be left unchanged", exit 0, the program's own GRU never seen.
    found = refuses(tmp_path, capsys, monkeypatch, {"pyproject.toml": "", "core.py": SUBCLASS_ONLY})
    assert [(name, line, code) for name, line, code, _ in found] == [("core.py", 5, "G2L101")]
    assert found[0][3].startswith("the class `nn.GRU` is a base class here, so the modules made from it are not followed")


def test_a_gru_made_but_held_nowhere_the_walk_follows_is_refused(tmp_path, capsys, monkeypatch):
    # `self.add_module("core", nn.GRU(4, 8))`: no construction was bound, the run said "nothing to
    # migrate", exit 0, and the program's only GRU stayed a GRU without a word
    added = SUBCLASS_ONLY.replace("class Core(nn.GRU):\n    def forward(self, x, h=None):\n        return super().forward(x, h)\n", (
        "class Core(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.add_module(\"rnn\", nn.GRU(4, 8))\n\n"
        "    def forward(self, x, h=None):\n        return self.rnn(x, h)\n"
    )).replace("core = Core(4, 8)", "core = Core()")
    found = refuses(tmp_path, capsys, monkeypatch, {"pyproject.toml": "", "core.py": added})
    assert [(name, line, code) for name, line, code, _ in found] == [("core.py", 8, "G2L101")]
    assert found[0][3].startswith("`nn.GRU(4, 8)` is made here but held nowhere the engine follows")
