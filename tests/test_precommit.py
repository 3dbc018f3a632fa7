"""Both hooks of .pre-commit-hooks.yaml, run through the real pre-commit (`try-repo`), not a mock.

`pre-commit try-repo` installs the hook repository into a fresh environment (its own temporary
store, every call), so each call below builds gru2lstm from source and runs it on a throwaway git
repository that holds a small GRU policy.

The hook repository is a one-commit snapshot of this working tree (tracked files and untracked
ones that git does not ignore): `try-repo` on the checkout itself would only see tracked files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from conftest import ROOT

GRU_POLICY = '''import torch
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

    def reset(self):
        self.hidden = torch.zeros_like(self.hidden)
'''

LSTM_POLICY = '''import torch
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

    def reset(self):
        self.hidden = (
            torch.zeros_like(self.hidden[0]),
            torch.zeros_like(self.hidden[0]),
        )
'''

PLAIN = "import torch\n\nx = torch.zeros(3)  # no GRU here\n"

# A fixed identity and date: the snapshot's commit does not depend on who runs the tests.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "gru2lstm tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "gru2lstm tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_ENV)
    env.pop("GIT_DIR", None)
    env.pop("GIT_INDEX_FILE", None)
    result = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return result.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """(path, commit) of a git repository holding this working tree as it is now."""
    snapshot = tmp_path_factory.mktemp("hook-repo")
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    assert (snapshot / ".pre-commit-hooks.yaml").is_file()
    git(snapshot, "init", "-q")
    git(snapshot, "add", "-A")
    git(snapshot, "commit", "-q", "--no-verify", "-m", "snapshot")
    return snapshot, git(snapshot, "rev-parse", "HEAD").strip()


@pytest.fixture
def user_repo(tmp_path) -> Path:
    repo = tmp_path / "user"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "policy.py").write_text(GRU_POLICY)
    (repo / "plain.py").write_text(PLAIN)
    (repo / "notes.txt").write_text("an nn.GRU in a text file is not Python\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "--no-verify", "-m", "start")
    return repo


def try_repo(hook_repo: tuple[Path, str], user_repo: Path, hook: Optional[str]) -> subprocess.CompletedProcess:
    path, commit = hook_repo
    env = dict(os.environ, **GIT_ENV, PRE_COMMIT_COLOR="never")
    env.pop("GIT_DIR", None)
    env.pop("GIT_INDEX_FILE", None)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(path), *([hook] if hook else []),
         "--ref", commit, "--all-files", "--verbose"],
        cwd=user_repo, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900,
    )


def test_check_hook_fails_reports_and_changes_nothing(hook_repo, user_repo):
    result = try_repo(hook_repo, user_repo, "gru2lstm-check")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "gru2lstm (check)" in output and "Failed" in output
    assert "would rewrite policy.py" in output
    assert "would rewrite plain.py" not in output
    assert "files were modified by this hook" not in output
    assert (user_repo / "policy.py").read_text() == GRU_POLICY
    assert (user_repo / "plain.py").read_text() == PLAIN
    assert git(user_repo, "status", "--porcelain") == ""


def test_rewrite_hook_rewrites_fails_like_black_then_passes(hook_repo, user_repo):
    result = try_repo(hook_repo, user_repo, "gru2lstm")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "files were modified by this hook" in output
    assert "rewrote policy.py" in output
    assert (user_repo / "policy.py").read_text() == LSTM_POLICY
    assert (user_repo / "plain.py").read_text() == PLAIN
    assert git(user_repo, "status", "--porcelain") == " M policy.py\n"

    # Migrated code: both hooks pass (no hook id: try-repo installs once and runs every hook).
    git(user_repo, "commit", "-q", "--no-verify", "-am", "migrated")
    again = try_repo(hook_repo, user_repo, None)
    output = again.stdout + again.stderr
    assert again.returncode == 0, output
    assert "gru2lstm (check)" in output and "Failed" not in output
    assert (user_repo / "policy.py").read_text() == LSTM_POLICY
