"""The command line as users and CI see it: exit codes, streams, formats, and what is written."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import FIXTURES
from gru2lstm.cli import main

MAIN = FIXTURES / "dual_head_ppo"


@pytest.fixture
def work(tmp_path):
    shutil.copy(MAIN / "input.py", tmp_path / "model.py")
    (tmp_path / "plain.py").write_text("import torch\n\nx = torch.zeros(3)\n")
    (tmp_path / "pkg").mkdir()
    shutil.copy(MAIN / "input.py", tmp_path / "pkg" / "nested.py")
    (tmp_path / ".hidden").mkdir()
    shutil.copy(MAIN / "input.py", tmp_path / ".hidden" / "skipped.py")
    return tmp_path


def test_rewrite_in_place_writes_expected_and_exits_0(work, capsys):
    assert main(["rewrite", str(work / "model.py")]) == 0
    assert (work / "model.py").read_text() == (MAIN / "expected.py").read_text()
    err = capsys.readouterr().err
    assert f"rewrote {work / 'model.py'}" in err
    assert "6. batch preparation (h_states, c_states)" in err


def test_check_writes_nothing_and_exits_1(work, capsys):
    before = (work / "model.py").read_bytes()
    assert main(["rewrite", "--check", str(work)]) == 1
    assert (work / "model.py").read_bytes() == before
    err = capsys.readouterr().err
    assert "would rewrite" in err and "skipped.py" not in err
    assert "2 files would be rewritten, 1 file would be left unchanged." in err


def test_check_on_migrated_code_exits_0(tmp_path, capsys):
    shutil.copy(MAIN / "expected.py", tmp_path / "model.py")
    assert main(["rewrite", "--check", str(tmp_path)]) == 0


def test_diff_prints_unified_diff_and_writes_nothing(work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    before = (work / "model.py").read_bytes()
    assert main(["rewrite", "--diff", "model.py"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- a/model.py\n+++ b/model.py\n")
    assert "+        self.lstm = nn.LSTM(layer_size, hidden_size, batch_first=True)\n" in out
    assert (work / "model.py").read_bytes() == before


def test_json_has_one_record_per_file(work, capsys):
    assert main(["rewrite", "--check", "--format", "json", str(work)]) == 1
    report = json.loads(capsys.readouterr().out)
    records = {r["path"].split("/")[-1]: r for r in report["files"]}
    assert set(records) == {"model.py", "plain.py", "nested.py"}
    model = records["model.py"]
    assert model["status"] == "changed" and model["written"] is False
    assert model["state_form"] == "tuple"
    steps = {s["step"]: s["lines"] for s in model["steps"]}
    assert steps["batch"] == [314, 325, 343]
    assert steps["module"] == [112, 175]
    assert model["sites"]["found"] > 0 and model["sites"]["attention"] == 0
    assert records["plain.py"]["status"] == "unchanged"
    assert report["exit_code"] == 1


def test_finding_blocks_the_file_and_exits_1(tmp_path, capsys):
    source = "import torch\nfrom torch import nn\n\ngru = nn.GRU(2, 2)\nh = torch.zeros(1, 1, 2)\nout, h = gru(torch.zeros(1, 1, 2), h)\nsend(h)\n"
    path = tmp_path / "leak.py"
    path.write_text(source)
    assert main(["rewrite", str(path)]) == 1
    assert path.read_text() == source
    out = capsys.readouterr().out
    assert f"{path}:7:6: G2L101 " in out


def test_unparsable_file_exits_123_and_is_not_written(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text("import torch.nn as nn\nnet = nn.GRU(2, 2\n")
    assert main(["rewrite", str(path)]) == 123
    assert path.read_text() == "import torch.nn as nn\nnet = nn.GRU(2, 2\n"
    err = capsys.readouterr().err
    assert f"{path}:2:" in err and "cannot parse" in err


def test_missing_path_is_a_usage_error(tmp_path, capsys):
    assert main(["rewrite", str(tmp_path / "nope.py")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_bad_option_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main(["rewrite", "--state", "sideways", "x.py"])
    assert exit_info.value.code == 2


def test_file_without_gru_is_never_reported_as_changed(tmp_path, capsys):
    path = tmp_path / "lstm.py"
    path.write_text("from torch import nn\n\nnet = nn.LSTM(2, 2)  # not a GRU\n")
    assert main(["rewrite", "--verbose", str(path)]) == 0
    err = capsys.readouterr().err
    assert "rewrote" not in err and f"{path} unchanged" in err


def test_many_files_in_parallel_match_one_by_one(tmp_path):
    for index in range(10):
        shutil.copy(MAIN / "input.py", tmp_path / f"m{index}.py")
    assert main(["rewrite", "--quiet", "-j", "2", str(tmp_path)]) == 0
    expected = (MAIN / "expected.py").read_text()
    assert all((tmp_path / f"m{index}.py").read_text() == expected for index in range(10))


def test_rewrite_never_imports_torch(work):
    code = (
        "import sys\n"
        "from gru2lstm.cli import main\n"
        f"code = main(['rewrite', '--check', '--quiet', {str(work)!r}])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "torch was imported" not in result.stderr


def test_module_entry_point_and_version():
    result = subprocess.run([sys.executable, "-m", "gru2lstm", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("gru2lstm ")
