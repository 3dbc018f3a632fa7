"""A GRU made in the files given but called only elsewhere (`agent.gru(x, agent.hidden)` in a
runner the pre-commit hook did not stage): the model file alone became an LSTM with its attribute
renamed, exit 0, "0 findings", and the runner crashed on its first step. Now no call of the module
in the files analysed is a G2L101 at the module, and nothing is written; with the runner given,
the project migrates and runs."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

PROJECT = {
    "pyproject.toml": "",
    "model.py": """\
        import torch
        import torch.nn as nn


        class Agent(nn.Module):
            def __init__(self, n=2):
                super().__init__()
                self.gru = nn.GRU(4, 8)
                self.head = nn.Linear(8, 2)
                self.hidden = torch.zeros(1, n, 8)
    """,
    "runner.py": """\
        import torch


        def rollout(agent, steps):
            total = 0
            for t in range(steps):
                out, h = agent.gru(torch.randn(1, 2, 4), agent.hidden)
                agent.hidden = h.detach() if t != 2 else torch.zeros(1, 2, 8)
                total = total + agent.head(out).sum()
            return total
    """,
    "driver.py": """\
        from model import Agent
        import runner

        agent = Agent()
        runner.rollout(agent, 5).backward()
    """,
}


@pytest.mark.parametrize("imports_the_model", [False, True], ids=["runner imports nothing", "runner imports the model"])
def test_a_module_called_only_in_a_file_not_given_is_refused(tmp_path, capsys, monkeypatch, imports_the_model):
    files = dict(PROJECT)
    if imports_the_model:
        files["runner.py"] = "        import model\n" + files["runner.py"]
    write(tmp_path, files)
    before = (tmp_path / "model.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "model.py"]) == 1
    assert (
        "model.py:8:20: G2L101 `nn.GRU(4, 8)` is made here, but none of its calls is in the files analysed: driver.py "
        "imports `Agent` without being given, and the code that calls it (there, or reached from there) would still pass "
        "one tensor as the state; give that file too (or the project folder)\n"
    ) in capsys.readouterr().out
    assert (tmp_path / "model.py").read_text() == before


@pytest.mark.parametrize("form", ["tuple", "auto"])
def test_the_same_project_given_whole_migrates_and_runs(tmp_path, form):
    write(tmp_path, PROJECT)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTM(4, 8)" in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import driver\n")
