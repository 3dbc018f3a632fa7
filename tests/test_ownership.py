"""A rewrite keeps the file's owner, group and mode; what happens to hard links is what the
README says (the name given is rewritten, other names keep the old content)."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from gru2lstm.cli import main
from gru2lstm.sourcefile import read_source, write_source
from test_cli import SMALL_GRU, SMALL_LSTM

OTHER = 12345  # a uid and gid that are not the test's

as_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")


@as_root
def test_owner_group_and_mode_survive_a_rewrite(tmp_path):
    path = tmp_path / "policy.py"
    path.write_text(SMALL_GRU)
    os.chown(path, OTHER, OTHER)
    os.chmod(path, 0o640)
    assert main(["rewrite", "--quiet", str(path)]) == 0
    after = path.stat()
    assert path.read_text() == SMALL_LSTM
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (OTHER, OTHER, 0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.py"]


@as_root
def test_setuid_and_setgid_bits_survive_the_change_of_owner(tmp_path):
    path = tmp_path / "tool.py"
    path.write_text("x = 1\n")
    os.chown(path, OTHER, OTHER)
    os.chmod(path, 0o6750)  # chown clears these bits: they must be set after it
    write_source(read_source(path), "x = 2\n")
    after = path.stat()
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (OTHER, OTHER, 0o6750)


@as_root
def test_a_file_whose_owner_cannot_be_kept_is_not_written(tmp_path, capsys, monkeypatch):
    path = tmp_path / "policy.py"
    path.write_text(SMALL_GRU)
    os.chown(path, OTHER, OTHER)

    def refused(*args, **kwargs):  # chown as a user who is not root: the file may be written, not given away
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refused)
    assert main(["rewrite", "--quiet", str(path)]) == 123
    assert path.read_text() == SMALL_GRU and path.stat().st_uid == OTHER
    assert f"{path}:1:1: cannot write: the file belongs to uid:gid {OTHER}:{OTHER}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.py"]


def test_a_hard_link_keeps_the_old_content(tmp_path):
    path = tmp_path / "policy.py"
    path.write_text(SMALL_GRU)
    other_name = tmp_path / "other_name.txt"
    os.link(path, other_name)
    assert main(["rewrite", "--quiet", str(path)]) == 0
    assert path.read_text() == SMALL_LSTM
    assert other_name.read_text() == SMALL_GRU
    assert path.stat().st_nlink == 1 and other_name.stat().st_nlink == 1
