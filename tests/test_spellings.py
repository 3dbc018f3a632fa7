"""spellings.py answers as the substring search it replaces, and grouping does not change with it."""

from __future__ import annotations

from pathlib import Path

import gru2lstm.project as project
from gru2lstm.project import Project
from gru2lstm.spellings import Spellings

SOURCES = {
    "model_1.py": "import torch\nclass A(torch.nn.Module):\n    def __init__(self):\n        self.gru = torch.nn.GRU(1, 1)\n",
    "model_10.py": "from model_1 import A\nclass B(A):\n    pass\n",
    "user.py": "from model_10 import B\n# model_1x is only a longer word here\nb = B()\n",
    "blob.py": "DATA = b'" + "x" * 300 + "model_1" + "y" * 300 + "'\n",
    "modèle.py": "import torch\nclass C(torch.nn.Module):\n    pass\n",
    "user_of_c.py": "from modèle import C\nc = C()\n",
    "odd-name.py": "x = 1\n",
}


class _Entry:
    def __init__(self, path: Path) -> None:
        self.key, self.data = str(path), path.read_bytes()

    def contents(self) -> bytes:
        return self.data


def test_every_name_is_found_where_a_substring_search_finds_it(tmp_path):
    for name, text in SOURCES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    entries = [_Entry(path) for path in sorted(tmp_path.iterdir())]
    names = {word.encode() for word in ("model_1", "model_10", "user", "blob", "modèle", "odd-name", "odel", "x", "B")}
    spellings = Spellings(entries, names)
    for entry in entries:
        for name in names:
            assert spellings.spells(entry, name) == (name in entry.contents()), (entry.key, name)


def test_groups_are_the_same_with_the_scan_of_many_seeds(tmp_path, monkeypatch):
    for name, text in SOURCES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    paths = sorted(tmp_path.iterdir())
    seeds = list(range(len(paths)))
    searched = Project(paths).groups(seeds)
    monkeypatch.setattr(project, "MANY_SEEDS", 0)
    assert Project(paths).groups(seeds) == searched
