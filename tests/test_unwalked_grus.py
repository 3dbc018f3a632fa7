"""GRUs made where the walk does not go: in a class or function defined inside a function (a
nested scope is not walked), or under a name torch is imported as inside a function (names are
qualified by the module's imports). The first was renamed to an LSTM while its state was not
migrated (exit 0, a crash); the second was left a GRU with "unchanged". Both are G2L101 now."""

from __future__ import annotations

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

TOP = """\
    import torch
    import torch.nn as nn


    class Top(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0), h)
            return out[0], h
"""

NESTED_CLASS = """\


    def build():
        class Inner(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 8)

            def forward(self, x, h):
                out, h = self.gru(x.unsqueeze(0), h)
                return out[0], h

        return Inner()
"""

DRIVER = """\
    import torch
    from model import Top, build

    a, b = Top(), build()
    h, g = torch.zeros(1, 2, 8), torch.zeros(1, 2, 8)
    for t in range(3):
        y, h = a(torch.randn(2, 4), h)
        z, g = b(torch.randn(2, 4), g)
    (y.sum() + z.sum()).backward()
"""

LAZY = """\
    import torch


    def build():
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 8)

            def forward(self, x, h):
                out, h = self.gru(x.unsqueeze(0), h)
                return out[0], h

        return Net()
"""

LAZY_DRIVER = """\
    import torch
    from model import build

    net = build()
    h = torch.zeros(1, 2, 8)
    for t in range(3):
        y, h = net(torch.randn(2, 4), h)
    y.sum().backward()
"""


def test_a_gru_in_a_class_defined_in_a_function_is_refused(tmp_path, capsys):
    write(tmp_path, {"model.py": TOP + NESTED_CLASS, "driver.py": DRIVER, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:19:24: G2L101 `nn.GRU(4, 8)` is made inside a class or function defined in a function, "
        "which the engine does not follow, so it would not be migrated with the rest; migrate it by hand, or move that "
        "class or function to the top level of the module"
    ) in capsys.readouterr().out
    assert (tmp_path / "model.py").read_text() == before


def test_alone_there_it_is_one_finding(tmp_path, capsys):
    # where no GRU is followed at all, it was "made here but held nowhere the engine follows"
    write(tmp_path, {"model.py": "    import torch\n    import torch.nn as nn\n" + NESTED_CLASS, "pyproject.toml": ""})
    assert main(["rewrite", "--check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count("G2L101") == 1 and "defined in a function" in out


def test_a_gru_under_torch_imported_inside_a_function_is_refused(tmp_path, capsys):
    write(tmp_path, {"model.py": LAZY, "driver.py": LAZY_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--check", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:10:24: G2L101 `nn.GRU(4, 8)` is made under a name that torch is imported as inside a "
        "function, which the engine does not follow, so it would not be migrated with the rest; migrate it by hand, or "
        "move that import to the top of the module"
    ) in capsys.readouterr().out


def test_the_classes_of_the_module_still_migrate(tmp_path):
    write(tmp_path, {"model.py": TOP, "driver.py": "    import torch\n    from model import Top\n\n    a = Top()\n    h = torch.zeros(1, 2, 8)\n    for t in range(3):\n        y, h = a(torch.randn(2, 4), h)\n    y.sum().backward()\n", "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")
