"""`gru2lstm rewrite --verify`: a good rewrite is kept; a rewrite that fails a check is put back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")

from conftest import ROOT  # noqa: E402
from gru2lstm.cli import main  # noqa: E402
from gru2lstm.results import FileResult  # noqa: E402
from gru2lstm.verify.rewrite import verify_rewritten  # noqa: E402

TINY = ROOT / "tests" / "mutations" / "tiny_agent"


@pytest.fixture
def project(tmp_path):
    """The tiny agent in a folder whose pyproject.toml says how to build and drive it."""
    config = (TINY / "verify.toml").read_text()
    (tmp_path / "pyproject.toml").write_text("[tool.gru2lstm.verify]\n" + config.split("\n", 1)[1])
    shutil.copy(TINY / "input.py", tmp_path / "agent.py")
    return tmp_path


def test_a_verified_rewrite_is_kept(project, capsys):
    assert main(["rewrite", "--verify", "--quiet", str(project / "agent.py")]) == 0
    assert (project / "agent.py").read_text() == (TINY / "expected.py").read_text()
    assert "verified" in capsys.readouterr().err


def test_a_rewrite_that_fails_a_check_is_put_back_byte_for_byte(project):
    original = (project / "agent.py").read_bytes()
    # As if the rewrite had zeroed c at every step: a real migration bug, caught by a check.
    (project / "agent.py").write_text(_zero_cell_when_acting((TINY / "expected.py").read_text()))
    result = FileResult(str(project / "agent.py"), "changed", written=True)
    (result,) = verify_rewritten([result], {str(project / "agent.py"): original})
    assert (project / "agent.py").read_bytes() == original
    assert result.status == "needs_attention" and not result.written
    assert result.verification.startswith("restored to its original, because")


def _zero_cell_when_acting(source: str) -> str:
    marker = "self.lstm(x, hidden)"
    assert source.count(marker) >= 1, "the tiny agent calls its LSTM as self.lstm(x, hidden)"
    return source.replace(marker, "self.lstm(x, (hidden[0], torch.zeros_like(hidden[1])))")


def test_verify_does_not_go_with_check(project, capsys):
    assert main(["rewrite", "--verify", "--check", str(project / "agent.py")]) == 2
    assert "--verify" in capsys.readouterr().err


# ----------------------------------------------------------------------------- files that share states
PACKAGE = ROOT / "fixtures" / "cross_file_package"


@pytest.fixture
def package(tmp_path):
    """The cross-file package fixture as a project: pkg/ (input side) and a pyproject.toml."""
    config = (PACKAGE / "verify.toml").read_text()
    body = "\n".join(line for line in config.splitlines() if not line.startswith("#"))
    (tmp_path / "pyproject.toml").write_text("[tool.gru2lstm.verify]\n" + body + "\n")
    shutil.copy(PACKAGE / "driver.py", tmp_path / "driver.py")
    shutil.copytree(PACKAGE / "input", tmp_path / "pkg")
    return tmp_path


def test_a_verified_group_is_kept_whole(package, capsys):
    assert main(["rewrite", "--verify", "--quiet", str(package / "pkg")]) == 0
    for name in ("agent.py", "model.py", "storage.py", "__init__.py"):
        assert (package / "pkg" / name).read_text() == (PACKAGE / "expected" / name).read_text(), name
    assert "verified" in capsys.readouterr().err


def test_when_a_file_of_a_group_fails_every_file_of_the_group_is_put_back(package):
    originals = {str(package / "pkg" / name): (package / "pkg" / name).read_bytes() for name in ("agent.py", "model.py", "storage.py")}
    for name in ("agent.py", "model.py", "storage.py"):
        shutil.copy(PACKAGE / "expected" / name, package / "pkg" / name)
    # As if the rewrite had forgotten to detach c when storing it: caught by a check of agent.py.
    agent = package / "pkg" / "agent.py"
    text = agent.read_text()
    assert "self.hidden[1].detach()" in text
    agent.write_text(text.replace("(self.hidden[0].detach(), self.hidden[1].detach())", "(self.hidden[0].detach(), torch.zeros_like(self.hidden[1]))"))
    paths = tuple(originals)
    results = [FileResult(path, "changed", written=True, group=paths) for path in paths]
    results = verify_rewritten(results, originals)
    for result in results:
        assert (package / "pkg" / Path(result.path).name).read_bytes() == originals[result.path]
        assert result.status == "needs_attention" and not result.written
    storage = next(r for r in results if r.path.endswith("storage.py"))
    assert "agent.py, which shares hidden states with it, failed" in storage.verification
