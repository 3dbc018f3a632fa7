"""Which files a run takes, as black takes them, and what odd files and folders do to a run.

Every test makes its own project root (a `.git` folder in tmp_path), so patterns are matched
against paths relative to it whatever lies above. Tests run as root, where permissions do not
stop a read: an unreadable file or folder is simulated by patching the function that reads it
(`Path.read_bytes`, `os.scandir`) in this process.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

import gru2lstm.engine
from conftest import ROOT
from gru2lstm.cli import main
from gru2lstm.discovery import Selection, discover
from test_cli import SMALL_GRU, SMALL_LSTM


@pytest.fixture
def project(tmp_path):
    (tmp_path / ".git").mkdir()
    return tmp_path


def write(root, *names, text=SMALL_GRU):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def taken(root, *paths, **selection):
    """The found paths, relative to `root`, /-separated; a path with a problem gets a `!`."""
    found = discover([str(root / p) for p in paths or ["."]], Selection(**selection))
    return [
        pathlib.Path(os.path.relpath(entry.path, root)).as_posix() + ("!" if entry.problem else "") for entry in found
    ]


def json_run(capsys, *argv):
    code = main(["rewrite", "--format", "json", *argv])
    document = json.loads(capsys.readouterr().out)
    assert document["exit_code"] == code
    return code, {record["path"]: record for record in document["files"]}


# ----------------------------------------------------------------------------- .gitignore and excludes
def test_gitignore_files_of_the_root_and_of_nested_folders_are_respected(project):
    write(project, "a.py", "generated/g.py", "pkg/b.py", "pkg/local_only.py", "pkg/deep/local_only.py", "secret.py")
    (project / ".gitignore").write_text("generated/\n/secret.py\n")
    (project / "pkg" / ".gitignore").write_text("local_only.py\n")
    assert taken(project) == ["a.py", "pkg/b.py"]


def test_exclude_replaces_the_default_and_turns_gitignore_off(project):
    write(project, "a.py", "build/b.py", "generated/g.py", "skip/s.py")
    (project / ".gitignore").write_text("generated/\n")
    assert taken(project) == ["a.py", "skip/s.py"]
    assert taken(project, exclude="/skip/") == ["a.py", "build/b.py", "generated/g.py"]


def test_an_empty_exclude_excludes_nothing_and_turns_gitignore_off(project):
    write(project, "a.py", "build/b.py", "generated/g.py")
    (project / ".gitignore").write_text("generated/\n")
    assert taken(project, exclude="") == ["a.py", "build/b.py", "generated/g.py"]


def test_a_folder_given_inside_an_ignored_one_is_skipped_as_in_black(project):
    write(project, "generated/deep/g.py", "build/lib/b.py")
    (project / ".gitignore").write_text("generated/\n")
    assert taken(project, "generated/deep", "build/lib") == []
    assert taken(project, "generated/deep", "build/lib", exclude="^$") == ["generated/deep/g.py", "build/lib/b.py"]


def test_extend_exclude_adds_to_the_default_and_gitignore(project):
    write(project, "a.py", "build/b.py", "generated/g.py", "skip/s.py", "skip_me.py")
    (project / ".gitignore").write_text("generated/\n")
    assert taken(project, extend_exclude=r"/skip(/|_me\.py)") == ["a.py"]


def test_patterns_see_the_path_from_the_project_root_with_a_slash_for_folders(project):
    write(project, "src/pkg/a.py", "src/pkg/tests/t.py", "src/tests.py")
    # given the inner folder, the path matched still starts at the root
    assert taken(project, "src/pkg", extend_exclude="^/src/pkg/tests/$") == ["src/pkg/a.py"]
    assert taken(project, "src", extend_exclude="/tests/$") == ["src/pkg/a.py", "src/tests.py"]
    assert taken(project, extend_exclude="^/src/pkg/") == ["src/tests.py"]  # given the root itself


def test_a_multiline_pattern_is_verbose_as_in_black(project):
    write(project, "a.py", "one/b.py", "two/c.py")
    assert taken(project, extend_exclude="(\n  /one/  # first\n | /two/\n)") == ["a.py"]


def test_files_given_by_name_pass_every_exclude_but_force_exclude(project):
    write(project, "build/b.py", "generated/g.py")
    (project / ".gitignore").write_text("generated/\n")
    assert taken(project, "build/b.py", "generated/g.py", extend_exclude="b") == ["build/b.py", "generated/g.py"]
    assert taken(project, "build/b.py", "generated/g.py", force_exclude=r"/g\.py$") == ["build/b.py"]
    assert taken(project, ".", force_exclude=r"/build/") == []


def test_hidden_folders_and_virtual_environments_are_never_entered(project):
    write(project, "a.py", ".cache/b.py", "env/c.py", "x.egg-info/d.py")
    (project / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    assert taken(project, exclude="^$") == ["a.py"]


def test_exclude_options_on_the_command_line(project, capsys):
    write(project, "a.py", "generated/g.py", "skip/s.py")
    (project / ".gitignore").write_text("generated/\n")
    code, records = json_run(capsys, "--check", "--extend-exclude", "/skip/", str(project))
    assert code == 1 and sorted(records) == [str(project / "a.py")]
    code, records = json_run(capsys, "--check", "--exclude", "/skip/", str(project))
    assert sorted(records) == [str(project / "a.py"), str(project / "generated" / "g.py")]


def test_a_bad_pattern_is_a_usage_error(project, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["rewrite", "--extend-exclude", "(", str(project)])
    assert exit_info.value.code == 2
    assert "--extend-exclude" in capsys.readouterr().err


def test_a_bad_gitignore_pattern_is_a_usage_error_naming_the_file(project, capsys):
    write(project, "a.py")
    (project / ".gitignore").write_text("!\n")  # a negation of nothing
    assert main(["rewrite", str(project)]) == 2
    assert f"{project / '.gitignore'}: cannot read:" in capsys.readouterr().err


# ----------------------------------------------------------------------------- odd files and folders
def test_a_symlink_loop_is_one_error_and_the_rest_is_written(project, capsys):
    write(project, "a.py")
    os.symlink("loop.py", project / "loop.py")
    assert main(["rewrite", "--quiet", str(project)]) == 123
    assert (project / "a.py").read_text() == SMALL_LSTM
    assert capsys.readouterr().err.splitlines() == [f"{project / 'loop.py'}:1:1: cannot read: a symbolic-link loop"]


def test_a_folder_linking_to_its_parent_is_one_error_and_is_not_followed(project):
    write(project, "pkg/a.py")
    os.symlink("..", project / "pkg" / "up")
    assert taken(project) == ["pkg/a.py", "pkg/up!"]


def test_links_are_followed_inside_the_project_only_and_a_file_is_taken_once(project, tmp_path_factory):
    write(project, "real/a.py")
    os.symlink("real", project / "alias")
    outside = tmp_path_factory.mktemp("outside")
    write(outside, "o.py")
    os.symlink(outside, project / "elsewhere")
    os.symlink(outside / "o.py", project / "o_link.py")
    assert taken(project) == ["alias/a.py"]  # real/a.py is the same file; the other links leave the project


def test_a_dangling_link_is_an_error_naming_its_target(project, capsys):
    write(project, "a.py")
    os.symlink("gone.py", project / "dangling.py")
    code, records = json_run(capsys, "--check", str(project))
    assert code == 123
    assert records[str(project / "dangling.py")]["error"] == {
        "line": 1, "column": 1, "message": "cannot read: a dangling symbolic link (to gone.py)",
    }
    assert records[str(project / "a.py")]["status"] == "changed"


def test_a_fifo_is_an_error_and_is_never_opened(project):
    write(project, "a.py")
    os.mkfifo(project / "pipe.py")
    # in a child process: opening the FIFO would block forever, the timeout turns that into a failure
    result = subprocess.run(
        [sys.executable, "-m", "gru2lstm", "rewrite", "--check", str(project), str(project / "pipe.py")],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert result.returncode == 123
    assert f"{project / 'pipe.py'}:1:1: cannot read: not a regular file (a FIFO); not opened" in result.stderr.splitlines()
    assert f"would rewrite {project / 'a.py'}" in result.stderr


def test_a_folder_that_cannot_be_listed_is_an_error(project, capsys, monkeypatch):
    write(project, "a.py", "locked/b.py")
    scandir = os.scandir

    def refuse_locked(path):
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)  # root reads any folder: simulate mode 000
    code, records = json_run(capsys, "--check", str(project))
    assert code == 123
    assert records[str(project / "locked")]["error"]["message"] == "cannot read folder: Permission denied"
    assert records[str(project / "a.py")]["status"] == "changed"


def test_a_file_that_cannot_be_read_is_an_error(project, capsys, monkeypatch):
    write(project, "a.py", "b.py")
    read_bytes = pathlib.Path.read_bytes

    def refuse_b(path):
        if path.name == "b.py":
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(pathlib.Path, "read_bytes", refuse_b)  # root reads any file: simulate mode 000
    assert main(["rewrite", "--quiet", str(project)]) == 123
    assert capsys.readouterr().err.splitlines() == [f"{project / 'b.py'}:1:1: cannot read: Permission denied"]
    assert (project / "a.py").read_text() == SMALL_LSTM


def test_a_file_that_vanishes_after_discovery_is_an_error(project, capsys, monkeypatch):
    write(project, "a.py", "b.py")

    def discover_then_delete(paths, selection):
        found = discover(paths, selection)
        (project / "b.py").unlink()
        return found

    monkeypatch.setattr(gru2lstm.engine, "discover", discover_then_delete)
    code, records = json_run(capsys, str(project))
    assert code == 123
    assert records[str(project / "b.py")]["error"]["message"] == "cannot read: No such file or directory"
    assert records[str(project / "a.py")]["written"] is True


def test_a_dangling_link_given_by_name_is_a_file_error_but_a_missing_path_is_a_usage_error(project, capsys):
    os.symlink("gone.py", project / "dangling.py")
    assert main(["rewrite", str(project / "dangling.py")]) == 123
    assert main(["rewrite", str(project / "gone.py")]) == 2
