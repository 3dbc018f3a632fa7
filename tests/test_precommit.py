"""Both hooks, run through the real pre-commit (`try-repo`) against a throwaway git repo."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

GRU_FILE = '''import torch
from torch import nn


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8)
        self.hidden = torch.zeros(1, 1, 8)

    def forward(self, x):
        out, self.hidden = self.gru(x, self.hidden)
        return out
'''

pytestmark = pytest.mark.skipif(shutil.which("pre-commit") is None, reason="pre-commit is in the test extra")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def user_repo(tmp_path):
    repo = tmp_path / "user"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.invalid")
    git(repo, "config", "user.name", "ci")
    (repo / "policy.py").write_text(GRU_FILE)
    (repo / "plain.py").write_text("x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "start")
    return repo


def try_repo(repo: Path, hook: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PRE_COMMIT_HOME=os.environ.get("PRE_COMMIT_HOME", str(tmp_path / "cache")))
    return subprocess.run(
        ["pre-commit", "try-repo", str(ROOT), hook, "--all-files", "--verbose"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=900,
    )


def test_check_hook_reports_and_changes_nothing(user_repo, tmp_path):
    result = try_repo(user_repo, "gru2lstm-check", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "would rewrite policy.py" in result.stdout
    assert (user_repo / "policy.py").read_text() == GRU_FILE


def test_rewrite_hook_rewrites_and_fails_like_black(user_repo, tmp_path):
    result = try_repo(user_repo, "gru2lstm", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "files were modified by this hook" in result.stdout
    rewritten = (user_repo / "policy.py").read_text()
    assert "self.lstm = nn.LSTM(4, 8)" in rewritten
    assert (user_repo / "plain.py").read_text() == "x = 1\n"
    again = try_repo(user_repo, "gru2lstm", tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
