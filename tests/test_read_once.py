"""A run reads each file once and parses it with `ast` once (the write reads it again only to
check that nothing changed it meanwhile)."""

from __future__ import annotations

import ast
from pathlib import Path

from test_cli import SMALL_GRU, SMALL_LSTM

from gru2lstm.engine import RunOptions, run


def test_a_group_is_read_and_parsed_once(tmp_path, monkeypatch):
    (tmp_path / "model.py").write_text(SMALL_GRU)
    (tmp_path / "train.py").write_text("from model import *\n\nprint(1)\n")
    reads, parses = [], []
    real_read, real_parse = Path.read_bytes, ast.parse

    def counting_read(path):
        reads.append(path.name)
        return real_read(path)

    def counting_parse(source, *args, **kwargs):
        parses.append(source)
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", counting_read)
    monkeypatch.setattr(ast, "parse", counting_parse)
    results = run([str(tmp_path)], RunOptions(write=True), jobs=1)
    assert {result.status for result in results} == {"changed", "unchanged"}
    assert (tmp_path / "model.py").read_text() == SMALL_LSTM
    # the screen's read and the guard before the write; train.py, outside model.py's group, is read
    # again for reads of the members the group changes (readers.py), and for imports by a computed
    # name (dynamic_imports.py)
    assert sorted(reads) == ["model.py", "model.py", "train.py", "train.py", "train.py"]
    inputs = [source for source in parses if isinstance(source, bytes)]
    assert len(inputs) == len(set(inputs))  # no input parsed twice
