"""The command line as users and CI see it: exit codes, streams, formats, and what is written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import FIXTURES
from gru2lstm.cli import main

MAIN = FIXTURES / "dual_head_ppo"

SMALL_GRU = '''import torch
from torch import nn


class Policy(nn.Module):
    """A tiny recurrent policy with a GRU core."""

    def __init__(self, obs_size: int = 4, hidden_size: int = 8):
        super().__init__()
        self.gru = nn.GRU(obs_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 2)
        self.hidden = torch.zeros(1, 1, hidden_size)

    def forward(self, x):
        out, self.hidden = self.gru(x, self.hidden)
        return self.head(out)
'''

SMALL_LSTM = '''import torch
from torch import nn


class Policy(nn.Module):
    """A tiny recurrent policy with an LSTM core."""

    def __init__(self, obs_size: int = 4, hidden_size: int = 8):
        super().__init__()
        self.lstm = nn.LSTM(obs_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 2)
        self.hidden = (
            torch.zeros(1, 1, hidden_size),
            torch.zeros(1, 1, hidden_size),
        )

    def forward(self, x):
        out, self.hidden = self.lstm(x, self.hidden)
        return self.head(out)
'''

LEAK = (
    "import torch\nfrom torch import nn\n\nnet = nn.GRU(2, 2)\nh = torch.zeros(1, 1, 2)\n"
    "out, h = net(torch.zeros(1, 1, 2), h)\nsend(h)\n"
)


@pytest.fixture
def work(tmp_path):
    shutil.copy(MAIN / "input.py", tmp_path / "model.py")
    (tmp_path / "plain.py").write_text("import torch\n\nx = torch.zeros(3)\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "nested.py").write_text(SMALL_GRU)
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
        (tmp_path / f"m{index}.py").write_text(SMALL_GRU)
    assert main(["rewrite", "--quiet", "-j", "2", str(tmp_path)]) == 0
    assert all((tmp_path / f"m{index}.py").read_text() == SMALL_LSTM for index in range(10))


@pytest.mark.parametrize("jobs, in_a_worker", [("2", True), ("1", False)])
def test_a_big_tree_starts_its_worker_at_the_first_gru_file(tmp_path, monkeypatch, jobs, in_a_worker):
    """With many files, one worker starts when the screen meets the first GRU (it imports LibCST
    while the rest is screened) and migrates even a single group; `-j 1` keeps it in this process."""
    from gru2lstm import engine

    real = engine.process_group

    def recording(attempts, options):
        (tmp_path / "pids").open("a").write(f"{os.getpid()}\n")
        return real(attempts, options)

    monkeypatch.setattr(engine, "process_group", recording)
    tree = tmp_path / "tree"
    tree.mkdir()
    for index in range(engine.EARLY_WORKER_FILES):
        (tree / f"plain{index}.py").write_text(f"VALUE = {index}\n")
    (tree / "model.py").write_text(SMALL_GRU)
    assert main(["rewrite", "--quiet", "-j", jobs, str(tree)]) == 0
    assert (tree / "model.py").read_text() == SMALL_LSTM
    pids = (tmp_path / "pids").read_text().split()
    assert len(pids) == 1 and (pids[0] != str(os.getpid())) == in_a_worker


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


# ----------------------------------------------------------------------------- exit codes and streams
def test_check_prints_findings_on_stdout_and_says_why_on_stderr(tmp_path, capsys):
    path = tmp_path / "leak.py"
    path.write_text(LEAK)
    assert main(["rewrite", "--check", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{path}:7:6: G2L101 ")
    assert f"cannot rewrite {path}" in captured.err
    assert "1 file needs attention." in captured.err
    assert path.read_text() == LEAK


def test_allow_partial_writes_and_still_exits_1(tmp_path, capsys):
    path = tmp_path / "leak.py"
    path.write_text(LEAK)
    assert main(["rewrite", "--allow-partial", str(path)]) == 1
    written = path.read_text()
    assert "net = nn.LSTM(2, 2)" in written
    assert "send(h)  # gru2lstm: manual (G2L101)" in written
    assert f"rewrote {path} (partially" in capsys.readouterr().err


def test_check_and_diff_combine(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    assert main(["rewrite", "--check", "--diff", "policy.py"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("--- a/policy.py\n+++ b/policy.py\n")
    assert "-        self.gru = nn.GRU(obs_size, hidden_size, batch_first=True)\n" in captured.out
    assert "would rewrite policy.py" in captured.err
    assert (tmp_path / "policy.py").read_text() == SMALL_GRU


def test_diff_alone_exits_0_and_diff_output_is_only_the_diff(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    (tmp_path / "leak.py").write_text(LEAK)
    assert main(["rewrite", "--diff", "policy.py", "leak.py"]) == 1  # leak.py needs a person
    captured = capsys.readouterr()
    assert all(line[:1] in ("-", "+", " ", "@") for line in captured.out.splitlines())
    assert "G2L101" in captured.err  # findings leave stdout to the diff


def test_quiet_prints_findings_and_errors_only(tmp_path, capsys):
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    (tmp_path / "leak.py").write_text(LEAK)
    (tmp_path / "broken.py").write_text("from torch import nn\nnet = nn.GRU(2,\n")
    assert main(["rewrite", "--check", "--quiet", str(tmp_path)]) == 123
    captured = capsys.readouterr()
    assert "G2L101" in captured.out
    assert "cannot parse" in captured.err
    assert "would rewrite" not in captured.err  # no verdicts
    assert "recurrent module GRU -> LSTM" not in captured.err  # no step tables
    assert "would be left unchanged" not in captured.err and "need attention" not in captured.err  # no totals


def test_verbose_lists_unchanged_files(tmp_path, capsys):
    (tmp_path / "plain.py").write_text("x = 1\n")
    assert main(["rewrite", "--verbose", str(tmp_path)]) == 0
    assert f"{tmp_path / 'plain.py'} unchanged (no torch.nn GRU)" in capsys.readouterr().err


def test_unparsable_file_message_format_and_json(tmp_path, capsys):
    path = tmp_path / "broken.py"
    source = "import torch\nfrom torch import nn\nnet = nn.GRU(2, 2))\n"
    path.write_text(source)
    assert main(["rewrite", "--format", "json", str(path)]) == 123
    record = json.loads(capsys.readouterr().out)["files"][0]
    assert record["status"] == "error" and record["written"] is False
    assert record["error"]["line"] == 3 and record["error"]["message"].startswith("cannot parse")
    assert path.read_text() == source
    assert main(["rewrite", str(path)]) == 123
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:3:") and ": cannot parse" in err.splitlines()[0]


def test_undecodable_file_exits_123(tmp_path, capsys):
    path = tmp_path / "latin.py"
    path.write_bytes(b"from torch import nn\nnet = nn.GRU(2, 2)\n# caf\xe9\n")
    assert main(["rewrite", str(path)]) == 123
    assert f"{path}:3:1: cannot decode as utf-8" in capsys.readouterr().err


def test_json_records_findings_and_attention(tmp_path, capsys):
    path = tmp_path / "leak.py"
    path.write_text(LEAK)
    assert main(["rewrite", "--check", "--format", "json", str(path)]) == 1
    document = json.loads(capsys.readouterr().out)
    record = document["files"][0]
    assert record["status"] == "needs_attention" and record["written"] is False
    assert record["findings"][0] == {
        "line": 7, "column": 6, "code": "G2L101", "severity": "error", "message": record["findings"][0]["message"],
        "suppressed": False,
    }
    assert record["sites"]["attention"] == 1 and record["sites"]["suppressed"] == 0
    assert document["summary"] == {"changed": 0, "unchanged": 0, "needs_attention": 1, "error": 0}
    assert document["exit_code"] == 1


def test_negative_jobs_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["rewrite", "-j", "-1", str(tmp_path)])
    assert exit_info.value.code == 2


def test_no_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


# ----------------------------------------------------------------------------- what is (not) written
def test_files_without_a_torch_gru_are_untouched_byte_for_byte(tmp_path, capsys):
    sources = {
        "comment.py": b"import torch\r\n# a GRU used to live here\r\nnet = torch.nn.LSTM(2, 2)\r\n",
        "own_class.py": b"class GRU:\n    pass\n\nnet = GRU()\n",
        "broken_no_gru.py": b"def f(:\n",
    }
    for name, data in sources.items():
        (tmp_path / name).write_bytes(data)
    stamps = {name: (tmp_path / name).stat().st_mtime_ns for name in sources}
    assert main(["rewrite", str(tmp_path)]) == 0
    assert {name: (tmp_path / name).read_bytes() for name in sources} == sources
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in sources} == stamps
    err = capsys.readouterr().err
    assert "rewrote" not in err and "3 files left unchanged." in err


def test_folders_recurse_and_skip_what_black_skips(tmp_path, capsys):
    wanted = ["a.py", "pkg/b.py", "pkg/deep/c.py"]
    skipped = [".hidden/d.py", "venv/e.py", "env1/f.py", "build/g.py", "__pycache__/h.py", "x.egg-info/i.py"]
    for name in wanted + skipped:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(SMALL_GRU)
    (tmp_path / "env1" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "notes.txt").write_text(SMALL_GRU)
    (tmp_path / "script").write_text(SMALL_GRU)  # no .py: taken only when named
    assert main(["rewrite", "--check", "--format", "json", str(tmp_path), str(tmp_path / "script")]) == 1
    paths = [record["path"] for record in json.loads(capsys.readouterr().out)["files"]]
    assert sorted(paths) == sorted(str(tmp_path / name) for name in wanted + ["script"])


def test_a_path_given_twice_is_processed_once(tmp_path, capsys):
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    assert main(["rewrite", "--quiet", str(tmp_path), str(tmp_path / "policy.py")]) == 0
    assert (tmp_path / "policy.py").read_text() == SMALL_LSTM


# ----------------------------------------------------------------------------- internal errors
def _use_engine(monkeypatch, fake):
    """Replace the engine by `fake(source, options) -> Migration`, applied to each file of a group."""
    import gru2lstm.migrate

    def per_module(modules, sources, options):
        return [fake(source, options) for source in sources]

    monkeypatch.setattr(gru2lstm.migrate, "migrate_modules", per_module)


def test_an_engine_crash_is_an_error_for_that_file_only(tmp_path, capsys, monkeypatch):
    import gru2lstm.migrate

    from gru2lstm.project import ModuleSource

    real = gru2lstm.migrate.migrate_modules

    def crashing(source, options):
        if "crash" in source:
            raise KeyError("boom")
        return real([ModuleSource("b_fine.py")], [source], options)[0]

    _use_engine(monkeypatch, crashing)
    (tmp_path / "a_crash.py").write_text(SMALL_GRU + "# crash\n")
    (tmp_path / "b_fine.py").write_text(SMALL_GRU)
    assert main(["rewrite", "-j", "1", str(tmp_path)]) == 123
    err = capsys.readouterr().err
    assert f"{tmp_path / 'a_crash.py'}:1:1: internal error: KeyError: 'boom'" in err
    assert (tmp_path / "a_crash.py").read_text() == SMALL_GRU + "# crash\n"
    assert (tmp_path / "b_fine.py").read_text() == SMALL_LSTM
    assert "1 file rewritten, 1 file failed to rewrite." in err


def test_output_that_is_not_stable_is_never_written(tmp_path, capsys, monkeypatch):
    from gru2lstm.results import Migration

    _use_engine(monkeypatch, lambda source, options: Migration(source + "x = 1\n", True))
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    assert main(["rewrite", str(tmp_path / "policy.py")]) == 123
    assert "a second pass would change the migrated source again" in capsys.readouterr().err
    assert (tmp_path / "policy.py").read_text() == SMALL_GRU


def test_output_that_does_not_parse_is_never_written(tmp_path, capsys, monkeypatch):
    from gru2lstm.results import Migration

    _use_engine(monkeypatch, lambda source, options: Migration(source + "def (\n", True))
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    assert main(["rewrite", str(tmp_path / "policy.py")]) == 123
    assert "the migrated source does not parse" in capsys.readouterr().err
    assert (tmp_path / "policy.py").read_text() == SMALL_GRU


def test_output_that_loses_a_name_is_never_written(tmp_path, capsys, monkeypatch):
    from gru2lstm.results import Migration

    def half_rename(source, options):
        changed = source.replace("out, self.hidden = self.gru(", "out, self.hidden = gru_core(")
        changed = changed.replace("self.gru = nn.GRU", "self.gru = nn.LSTM")
        return Migration(changed, changed != source)

    _use_engine(monkeypatch, half_rename)
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    assert main(["rewrite", str(tmp_path / "policy.py")]) == 123
    assert "uses names that nothing binds: gru_core" in capsys.readouterr().err
    assert (tmp_path / "policy.py").read_text() == SMALL_GRU


def test_a_blocked_migration_is_never_written_even_if_the_engine_returns_text(tmp_path, monkeypatch):
    from gru2lstm.findings import Finding
    from gru2lstm.results import Migration

    def blocked(source, options):
        return Migration(source.replace("nn.GRU", "nn.LSTM"), True, findings=[Finding(7, 6, "G2L100", "unknown use")])

    _use_engine(monkeypatch, blocked)
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    assert main(["rewrite", str(tmp_path / "policy.py")]) == 1
    assert (tmp_path / "policy.py").read_text() == SMALL_GRU


# ----------------------------------------------------------------------------- light: no torch, no verify
def test_rewrite_check_imports_neither_torch_nor_verify(tmp_path):
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    code = (
        "import sys\n"
        "from gru2lstm.cli import main\n"
        f"code = main(['rewrite', '--check', '--quiet', {str(tmp_path)!r}])\n"
        "heavy = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'gru2lstm.verify')))\n"
        "assert not heavy, heavy\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr


def test_help_lists_verify_without_importing_it():
    code = (
        "import sys, contextlib, io\n"
        "from gru2lstm.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'verify' in out.getvalue() and 'rewrite' in out.getvalue()\n"
        "assert not [m for m in sys.modules if m.startswith('gru2lstm.verify') or m == 'torch']\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------------- usage and report details
def _run_cli(*args, env=None):
    """The CLI in a subprocess, stdout and stderr piped (so neither is a terminal)."""
    import os

    return subprocess.run(
        [sys.executable, "-m", "gru2lstm", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def test_jobs_that_is_not_a_number_says_so_with_the_option_name(tmp_path):
    result = _run_cli("rewrite", "-j", "abc", str(tmp_path))
    assert result.returncode == 2
    assert "argument -j/--jobs: invalid int value: 'abc'" in result.stderr
    assert "_jobs" not in result.stderr


def test_unknown_option_prints_the_rewrite_usage(tmp_path):
    result = _run_cli("rewrite", "--bogus", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("usage: gru2lstm rewrite ")
    assert "gru2lstm rewrite: error: unrecognized arguments: --bogus" in result.stderr


def test_unknown_option_before_the_command_prints_the_program_usage(tmp_path):
    result = _run_cli("--bogus", "rewrite", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("usage: gru2lstm [-h]")
    assert "gru2lstm: error: unrecognized arguments: --bogus" in result.stderr


def test_missing_path_prints_the_rewrite_usage(tmp_path):
    result = _run_cli("rewrite", str(tmp_path / "nope.py"))
    assert result.returncode == 2
    assert result.stderr.startswith("usage: gru2lstm rewrite ")
    assert "no such file or folder" in result.stderr


def test_version_works_after_rewrite_as_after_the_program():
    result = _run_cli("rewrite", "--version")
    assert result.returncode == 0 and result.stdout.startswith("gru2lstm ")


def test_rewrite_help_wraps_description_and_options_at_one_width():
    result = _run_cli("rewrite", "--help", env={"COLUMNS": "80"})
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    description = lines[lines.index("") + 1]
    assert len(description) > 70  # filled to the width, not kept as typed or squeezed


def test_force_color_puts_no_escape_codes_into_a_pipe(tmp_path):
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    result = _run_cli("rewrite", "--check", str(tmp_path / "policy.py"), env={"FORCE_COLOR": "1"})
    assert result.returncode == 1
    assert "1. recurrent module GRU -> LSTM" in result.stderr
    assert "\x1b" not in result.stderr + result.stdout


def test_step_table_tells_check_from_write(tmp_path, capsys):
    path = tmp_path / "policy.py"
    path.write_text(SMALL_GRU)
    assert main(["rewrite", "--check", str(path)]) == 1
    checked = capsys.readouterr().err
    assert "would apply" in checked and "applied" not in checked
    assert "lines (before the rewrite)" not in checked
    assert main(["rewrite", str(path)]) == 0
    written = capsys.readouterr().err
    assert "applied" in written and "would apply" not in written
    assert "lines (before the rewrite)" in written  # the numbers are those of the file as it was read


def _table_rows(err: str) -> dict:
    return {line.split("│")[0].strip(): line.split("│")[1].strip() for line in err.splitlines() if "│" in line}


def test_kept_steps_read_kept_or_none_found_never_not_needed(work, capsys):
    main(["rewrite", "--check", str(work / "model.py")])
    rows = _table_rows(capsys.readouterr().err)
    assert rows["3. hidden-state update"] == "kept" and rows["8. reset semantics"] == "kept"
    main(["rewrite", "--check", str(work / "pkg" / "nested.py")])
    rows = _table_rows(capsys.readouterr().err)
    assert rows["3. hidden-state update"] == "none found" and rows["8. reset semantics"] == "none found"
    assert rows["9. weight-init isinstance branch"] == "not needed"


def test_attention_counts_are_plural_only_when_many(tmp_path, capsys):
    path = tmp_path / "leak.py"
    path.write_text(LEAK)
    main(["rewrite", "--check", str(path)])
    err = capsys.readouterr().err
    assert "1 line needs attention (1 finding)" in err


def _stderr_on_a_terminal(args, env):
    """Run the CLI with stderr on a pseudo-terminal; what it wrote there."""
    import os
    import pty

    master, slave = pty.openpty()
    environ = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gru2lstm", *args], stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL,
        env={**environ, **env},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not data:
            break
        chunks.append(data)
    process.wait()
    os.close(master)
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_on_a_terminal_and_none_with_no_color(tmp_path):
    import re

    (tmp_path / "policy.py").write_text(SMALL_GRU)
    colour = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|38;[0-9;]+)m")
    assert colour.search(_stderr_on_a_terminal(["rewrite", "--check", str(tmp_path / "policy.py")], {}))
    plain = _stderr_on_a_terminal(["rewrite", "--check", str(tmp_path / "policy.py")], {"NO_COLOR": "1"})
    assert "recurrent module GRU -> LSTM" in plain and not colour.search(plain)
