"""Nothing lost on disk: encodings, BOM, CRLF, file mode, atomic replacement."""

from __future__ import annotations

import os
import stat

from conftest import FIXTURES
from gru2lstm.cli import main
from gru2lstm.sourcefile import read_source, write_source

GRU = "import torch\nfrom torch import nn\n\n# GRU policy \u00e9\nnet = nn.GRU(2, 2)\n"
LSTM = "import torch\nfrom torch import nn\n\n# LSTM policy \u00e9\nnet = nn.LSTM(2, 2)\n"


def test_crlf_fixture_keeps_its_line_endings(tmp_path):
    data = (FIXTURES / "dual_head_ppo" / "input.py").read_bytes().replace(b"\n", b"\r\n")
    path = tmp_path / "crlf.py"
    path.write_bytes(data)
    assert main(["rewrite", "--quiet", str(path)]) == 0
    expected = (FIXTURES / "dual_head_ppo" / "expected.py").read_bytes().replace(b"\n", b"\r\n")
    assert path.read_bytes() == expected


def test_bom_and_utf8_are_kept(tmp_path):
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbf" + GRU.encode())
    assert main(["rewrite", "--quiet", str(path)]) == 0
    assert path.read_bytes() == b"\xef\xbb\xbf" + LSTM.encode()


def test_latin1_cookie_is_kept(tmp_path):
    path = tmp_path / "latin.py"
    cookie = "# -*- coding: latin-1 -*-\n"
    path.write_bytes((cookie + GRU).encode("latin-1"))
    assert main(["rewrite", "--quiet", str(path)]) == 0
    assert path.read_bytes() == (cookie + LSTM).encode("latin-1")


def test_mode_is_kept_and_no_temporary_file_is_left(tmp_path):
    path = tmp_path / "exec.py"
    path.write_text(GRU)
    os.chmod(path, 0o751)
    assert main(["rewrite", "--quiet", str(path)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exec.py"]


def test_write_source_replaces_whole_file(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    source = read_source(path)
    write_source(source, "y = 2\n")
    assert path.read_text() == "y = 2\n"
