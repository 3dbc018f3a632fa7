"""Nothing lost on disk: encodings, BOM, CRLF, file mode, atomic replacement."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import libcst
import pytest

from conftest import FIXTURES
from gru2lstm import sourcefile
from gru2lstm.cli import main
from gru2lstm.sourcefile import ChangedOnDisk, UnparsableOutput, decode, read_source, write_source

GRU = "import torch\nfrom torch import nn\n\n# GRU policy \u00e9\nnet = nn.GRU(2, 2)\nout, _ = net(torch.zeros(1, 1, 2))\n"
LSTM = "import torch\nfrom torch import nn\n\n# LSTM policy \u00e9\nnet = nn.LSTM(2, 2)\nout, _ = net(torch.zeros(1, 1, 2))\n"


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


# ----------------------------------------------------------------------------- the API itself


def _only(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir())


def test_crlf_and_mixed_endings_survive_read_libcst_write(tmp_path):
    path = tmp_path / "mixed.py"
    path.write_bytes(b"x = 1\r\ny = 2\nz = 3\r\n")
    source = read_source(path)
    assert source.text == "x = 1\r\ny = 2\nz = 3\r\n" and source.newline == "\r\n"
    module = libcst.parse_module(source.text)
    assert module.code == source.text  # LibCST keeps every ending as it found it
    write_source(source, module.code.replace("y = 2", "y = 20"))
    assert path.read_bytes() == b"x = 1\r\ny = 20\nz = 3\r\n"


def test_bom_is_dropped_from_the_text_and_written_back(tmp_path):
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbfx = '\xc3\xa9'\n")
    source = read_source(path)
    assert source.has_bom and source.text == "x = '\u00e9'\n"
    write_source(source, "y = '\u00e9'\n")
    assert path.read_bytes() == b"\xef\xbb\xbfy = '\xc3\xa9'\n"


def test_latin1_cookie_decodes_and_encodes(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n")
    source = read_source(path)
    assert source.encoding == "iso-8859-1" and source.text.endswith("x = '\u00e9'\n")
    write_source(source, source.text.replace("x", "y"))
    assert path.read_bytes() == b"# -*- coding: latin-1 -*-\ny = '\xe9'\n"


def test_text_that_does_not_fit_the_encoding_is_not_written(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nx = 1\n")
    source = read_source(path)
    with pytest.raises(UnicodeEncodeError):
        write_source(source, "# -*- coding: latin-1 -*-\nx = '\u2192'\n")
    assert path.read_bytes() == b"# -*- coding: latin-1 -*-\nx = 1\n" and _only(tmp_path) == ["latin.py"]


def test_bad_cookie_and_bad_bytes_raise_on_read():
    with pytest.raises(SyntaxError):
        decode(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    with pytest.raises(SyntaxError):  # tokenize checks the first two lines itself
        decode(b"x = '\xff'\n")
    with pytest.raises(UnicodeDecodeError):
        decode(b"x = 1\ny = 2\nz = '\xff'\n")


def test_unparsable_output_is_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    source = read_source(path)
    with pytest.raises(UnparsableOutput):
        write_source(source, "x = (1\n")
    assert path.read_text() == "x = 1\n" and _only(tmp_path) == ["a.py"]


def test_a_failed_replace_leaves_the_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    source = read_source(path)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sourcefile.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_source(source, "x = 2\n")
    assert path.read_text() == "x = 1\n" and _only(tmp_path) == ["a.py"]


def test_the_temporary_is_in_the_same_folder_and_replaced_atomically(tmp_path, monkeypatch):
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    source = read_source(path)
    seen = []
    real_replace = os.replace

    def spying_replace(src, dst):
        seen.append((os.path.dirname(src), os.fspath(dst), Path(src).read_text(), path.read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(sourcefile.os, "replace", spying_replace)
    write_source(source, "x = 2\n")
    assert seen == [(str(tmp_path), str(path), "x = 2\n", "x = 1\n")]
    assert _only(tmp_path) == ["a.py"]


def test_mode_is_kept_by_the_api(tmp_path):
    path = tmp_path / "private.py"
    path.write_text("x = 1\n")
    os.chmod(path, 0o600)
    write_source(read_source(path), "x = 2\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    source = read_source(path)
    path.write_text("x = 'edited meanwhile'\n")
    with pytest.raises(ChangedOnDisk):
        write_source(source, "x = 2\n")
    assert path.read_text() == "x = 'edited meanwhile'\n" and _only(tmp_path) == ["a.py"]


def test_a_symlink_stays_a_link_and_its_target_is_written(tmp_path):
    target = tmp_path / "real.py"
    target.write_text("x = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    write_source(read_source(link), "x = 2\n")
    assert link.is_symlink() and target.read_text() == "x = 2\n"
