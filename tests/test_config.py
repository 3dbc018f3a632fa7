"""`[tool.gru2lstm]` in pyproject.toml, the project root, and '-' (stdin) as editors use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from gru2lstm.cli import main
from gru2lstm.config import find_project_root
from test_cli import LEAK, SMALL_GRU, SMALL_LSTM


@pytest.fixture
def project(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "policy.py").write_text(SMALL_GRU)
    return tmp_path


def configure(root, text):
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.gru2lstm]\n" + text)


def usage_error(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["rewrite", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gru2lstm rewrite")
    return err


# ----------------------------------------------------------------------------- settings
def test_every_key_spelling_is_read_and_used(project, capsys):
    configure(project, 'keep-names = true\nstate = "packed"\ncheck = true\nformat = "json"\n')
    assert main(["rewrite", str(project)]) == 1  # check = true: nothing written
    assert (project / "policy.py").read_text() == SMALL_GRU
    [record] = json.loads(capsys.readouterr().out)["files"]
    assert record["state_form"] == "packed"
    configure(project, "keep_names = true\n")
    assert main(["rewrite", "--quiet", str(project)]) == 0
    assert "self.gru = nn.LSTM(" in (project / "policy.py").read_text()


def test_the_verify_table_is_left_to_the_verify_subcommand(project, capsys):
    configure(project, 'state = "tuple"\n\n[tool.gru2lstm.verify]\nclass = "Policy"\n')
    assert main(["rewrite", "--check", "--quiet", str(project)]) == 1


def test_the_command_line_wins_over_the_file(project, capsys):
    configure(project, 'state = "packed"\nquiet = true\nformat = "json"\n')
    assert main(["rewrite", "--check", "--state", "tuple", "--verbose", "--format", "text", str(project)]) == 1
    captured = capsys.readouterr()
    assert "(h, c) held as tuple" in captured.err  # the step table: verbose, not quiet
    assert not captured.out.startswith("{")


def test_excludes_in_the_file_match_from_the_project_root(project, capsys):
    (project / "pkg" / "generated").mkdir(parents=True)
    (project / "pkg" / "generated" / "g.py").write_text(SMALL_GRU)
    (project / "pkg" / "p.py").write_text(SMALL_GRU)
    configure(project, 'extend-exclude = "^/pkg/generated/"\n')
    assert main(["rewrite", "--check", "--format", "json", str(project / "pkg")]) == 1
    assert [r["path"] for r in json.loads(capsys.readouterr().out)["files"]] == [str(project / "pkg" / "p.py")]


@pytest.mark.parametrize("line, message", [
    ("colour = true", "unknown option 'colour'"),
    ("stdin-filename = 'x.py'", "unknown option 'stdin-filename'"),
    ("check = 'yes'", "check must be true or false, not 'yes'"),
    ("jobs = '4'", "jobs must be an integer, not '4'"),
    ("jobs = -1", "jobs must be 0 (one per core) or more, not -1"),
    ("state = 'lstm'", "state must be one of 'auto', 'tuple', 'packed', not 'lstm'"),
    ("exclude = 3", "exclude must be a string, not 3"),
    ("exclude = '('", "exclude not a regular expression"),
    ("quiet = true\nverbose = true", "quiet and verbose cannot both be true"),
])
def test_a_bad_setting_is_a_usage_error_naming_the_file_and_the_key(project, capsys, line, message):
    configure(project, line + "\n")
    err = usage_error(capsys, str(project))
    assert f"gru2lstm rewrite: error: {project / 'pyproject.toml'}: [tool.gru2lstm]" in err
    assert message in err
    assert (project / "policy.py").read_text() == SMALL_GRU


def test_a_file_that_is_not_toml_is_a_usage_error(project, capsys):
    (project / "pyproject.toml").write_text("[tool.gru2lstm\n")
    assert f"{project / 'pyproject.toml'}: cannot read:" in usage_error(capsys, str(project))


# ----------------------------------------------------------------------------- the project root
def test_the_root_is_the_nearest_folder_with_git_or_a_gru2lstm_table(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "b" / "pyproject.toml").write_text("[project]\nname = 'b'\n")  # no table: not a root
    assert find_project_root([str(tmp_path / "a" / "b" / "c")]) == tmp_path.resolve()
    (tmp_path / "a" / "pyproject.toml").write_text("[tool.gru2lstm]\n")
    assert find_project_root([str(tmp_path / "a" / "b" / "c")]) == (tmp_path / "a").resolve()
    (tmp_path / "a" / "b" / "c" / ".git").mkdir()  # a repository inside stops the search
    assert find_project_root([str(tmp_path / "a" / "b" / "c" / "x.py")]) == (tmp_path / "a" / "b" / "c").resolve()


def test_the_root_starts_from_the_common_parent_of_the_paths(tmp_path):
    (tmp_path / ".git").mkdir()
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pyproject.toml").write_text("[tool.gru2lstm]\n")
    assert find_project_root([str(tmp_path / "one"), str(tmp_path / "two" / "x.py")]) == tmp_path.resolve()
    assert find_project_root(["-"], stdin_filename=str(tmp_path / "one" / "x.py")) == (tmp_path / "one").resolve()


# ----------------------------------------------------------------------------- stdin
def gru2lstm(*argv, stdin: str, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "gru2lstm", "rewrite", *argv], input=stdin.encode(), capture_output=True,
        cwd=cwd, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def test_stdin_is_migrated_to_stdout_under_its_filename(project):
    result = gru2lstm("-", "--stdin-filename", str(project / "editor.py"), stdin=SMALL_GRU)
    assert result.returncode == 0
    assert result.stdout.decode() == SMALL_LSTM
    assert f"rewrote {project / 'editor.py'}" in result.stderr.decode()
    assert not (project / "editor.py").exists()


def test_stdin_that_cannot_be_migrated_comes_back_as_it_was(project):
    result = gru2lstm("-", stdin=LEAK)
    assert result.returncode == 1
    assert result.stdout.decode() == LEAK
    assert "-:7:6: G2L101" in result.stderr.decode()  # findings leave stdout to the source


def test_stdin_named_after_a_file_another_file_reads_comes_back_as_it_was(project):
    # An editor's buffer of policy.py: main.py, not given, reads its state, as with `rewrite policy.py`.
    (project / "main.py").write_text("from policy import Policy\n\np = Policy()\np.hidden = p.hidden.detach()\n")
    result = gru2lstm("-", "--stdin-filename", str(project / "policy.py"), stdin=SMALL_GRU, cwd=project)
    assert result.returncode == 1
    assert result.stdout.decode() == SMALL_GRU
    assert "main.py, which was not given, reads it at line 4 (`p.hidden`)" in result.stderr.decode()


def test_stdin_with_check_and_diff_as_black(project):
    check = gru2lstm("--check", "-", "--stdin-filename", "editor.py", stdin=SMALL_GRU, cwd=project)
    assert (check.returncode, check.stdout) == (1, b"")
    assert "would rewrite editor.py" in check.stderr.decode()
    diff = gru2lstm("--diff", "-", "--stdin-filename", "editor.py", stdin=SMALL_GRU, cwd=project)
    assert diff.returncode == 0
    assert diff.stdout.decode().startswith("--- a/editor.py\n+++ b/editor.py\n")


def test_stdin_filename_finds_the_configuration_and_force_exclude(project):
    configure(project, 'state = "packed"\nforce-exclude = "^/vendored/"\n')
    packed = gru2lstm("-", "--stdin-filename", str(project / "editor.py"), stdin=SMALL_GRU)
    assert "2 * hidden_size" in packed.stdout.decode()
    excluded = gru2lstm("-", "--stdin-filename", str(project / "vendored" / "x.py"), stdin=SMALL_GRU)
    assert (excluded.returncode, excluded.stdout.decode()) == (0, SMALL_GRU)


def test_stdin_keeps_the_bytes_of_its_encoding_and_line_endings(project):
    source = ("\ufeff" + SMALL_GRU.replace("\n", "\r\n")).encode("utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "gru2lstm", "rewrite", "-"], input=source, capture_output=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert result.stdout == ("\ufeff" + SMALL_LSTM.replace("\n", "\r\n")).encode("utf-8")


def test_stdin_goes_alone(project, capsys):
    assert main(["rewrite", "-", str(project)]) == 2
    assert "'-' (read stdin) cannot be given with other paths" in capsys.readouterr().err


def test_stdin_with_json_prints_the_document_only(project):
    result = gru2lstm("--format", "json", "-", "--stdin-filename", "editor.py", stdin=SMALL_GRU, cwd=project)
    document = json.loads(result.stdout)
    assert [(r["path"], r["status"], r["written"]) for r in document["files"]] == [("editor.py", "changed", False)]
