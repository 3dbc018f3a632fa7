"""Statements of newer Pythons. `match` statements: their cases were not walked (only the names in them read), so a state
handled inside a case was left as one tensor (tuple: the self-check's internal error; packed: ran
unseen). Each case is now a branch of an `if`; a pattern that captures names takes a state apart in
ways the engine does not follow, which is a finding. `try`/`except*` was likewise only read: it is
walked as `try`/`except`."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write

LOOP = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            y, h = self.gru(x, h)
            return self.pi(y), h


    def run(mode="detach"):
        net = Net()
        h = torch.zeros(1, 3, 8)
        for t in range(3):
            out, h = net(torch.randn(1, 3, 4), h)
            match mode:
                case "detach" if t > 0:
                    h = h.detach()
                case "reset":
                    h = torch.zeros(1, 3, 8)
                case _:
                    pass
        out.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_handled_inside_the_cases_of_a_match_migrates(tmp_path, form):
    write(tmp_path, {"pyproject.toml": "", "loop.py": LOOP})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    source = (tmp_path / "loop.py").read_text()
    if form == "tuple":
        assert "h = (h[0].detach(), h[1].detach())" in source
    else:
        assert "h = torch.zeros(1, 3, 2 * 8)" in source
    run_migrated(tmp_path, "import loop\nloop.run()\nloop.run('reset')\n")


def test_a_state_taken_apart_by_a_capturing_pattern_is_a_finding(tmp_path, capsys):
    carried = LOOP.replace("match mode:", "match (h, t):").replace('case "detach" if t > 0:', "case (state, 1):")
    carried = carried.replace("h = h.detach()", "h = state.detach()").replace('case "reset":', "case (state, 2):")
    write(tmp_path, {"pyproject.toml": "", "loop.py": carried})
    before = (tmp_path / "loop.py").read_text()
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert (
        "loop.py:21:16: G2L100 the hidden state `h` is taken apart by the patterns of a `match` statement; "
        "migrate this use by hand so that it handles the pair (h, c)"
    ) in capsys.readouterr().out
    assert (tmp_path / "loop.py").read_text() == before


def test_a_state_handled_in_a_try_with_except_star_migrates(tmp_path):
    loop = LOOP.replace("""            match mode:
                case "detach" if t > 0:
                    h = h.detach()
                case "reset":
                    h = torch.zeros(1, 3, 8)
                case _:
                    pass""", """            try:
                h = h.detach()
            except* ValueError:
                h = torch.zeros(1, 3, 8)""")
    write(tmp_path, {"pyproject.toml": "", "loop.py": loop})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "h = (h[0].detach(), h[1].detach())" in (tmp_path / "loop.py").read_text()
    run_migrated(tmp_path, "import loop\nloop.run()\n")
