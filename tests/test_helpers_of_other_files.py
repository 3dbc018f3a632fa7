"""A function of another given file used beside the state (`h = h * keep(done)` with `keep` in
util.py): the group took in util.py only when the state flowed into it, so the call was one the
engine could not follow, refused in both forms (tuple: "would run twice"; packed: "cannot tell how
wide it is") although the folder held its code. Such a finding now takes the file into the group,
which looks at the function: one that only computes migrates; one that draws random numbers is
refused (run once per half, h and c would get different draws)."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write


def project(keep_body: str) -> dict:
    return {
        "pyproject.toml": "",
        "util.py": f"""\
            import torch


            def keep(done):
                {keep_body}
        """,
        "model.py": """\
            import torch
            import torch.nn as nn


            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.gru = nn.GRU(4, 8)
                    self.pi = nn.Linear(8, 3)

                def forward(self, x, h):
                    out, h = self.gru(x.unsqueeze(0), h)
                    return self.pi(out[0]), h
        """,
        "run.py": """\
            import torch

            from model import Net
            from util import keep

            net = Net()
            h = torch.zeros(1, 2, 8)
            for t in range(4):
                logits, h = net(torch.randn(2, 4), h)
                done = torch.tensor([t == 1, False])
                h = h * keep(done)
            logits.sum().backward()
        """,
    }


COMPUTES = "return (1.0 - done.float()).view(1, -1, 1)"
DRAWS = "return (torch.rand(1, done.shape[0], 1) > 0.1).float() * (1.0 - done.float()).view(1, -1, 1)"


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_computing_helper_of_another_given_file_migrates(tmp_path, form):
    write(tmp_path, project(COMPUTES))
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "    h = (h[0] * keep(done), h[1] * keep(done))\n" in (tmp_path / "run.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


def test_the_helper_s_file_not_given_is_named(tmp_path, capsys, monkeypatch):
    write(tmp_path, project(COMPUTES))
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "--state", "tuple", "model.py", "run.py"]) == 1
    assert (
        "run.py:11:13: G2L100 `keep(done)` would run twice, once per half of the hidden state, in `h * keep(done)`, and "
        "the engine cannot tell that it only computes a value; assign it to a name first, or give util.py, where it comes "
        "from, in the same run"
    ) in capsys.readouterr().out.splitlines()


def test_a_helper_that_draws_is_refused_in_the_tuple_form(tmp_path, capsys, monkeypatch):
    write(tmp_path, project(DRAWS))
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "run.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", "."]) == 1
    assert (
        "run.py:11:13: G2L100 `keep(done)` draws random numbers and would run twice, once per half of the hidden state, "
        "in `h * keep(done)`, so h and c would get different draws; assign it to a name first"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "run.py").read_text() == before
