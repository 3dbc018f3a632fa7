"""A last size of a packed state returned by a function (`return h, h.size(-1)`) is followed to what
its callers do with it, as one held in a name is (tests/test_redteam_wave28.py): used for what is
no state, G2L100 at the read; sizing a new state, it is the packed width already."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 3)

        def core(self, obs, h):
            h = self.cell(obs, h)
            return h, h.size(-1)
"""

DRIVER = """\
    import torch
    import torch.nn.functional as F

    from model import Agent

    agent = Agent()
    h = torch.zeros(2, 8)
    for t in range(3):
        {step}
        {use}
    agent.pi(h).sum().backward()
"""

NO_STATE_USES = [
    # (the step, what uses the size, how the finding names that use)
    ("h, size = agent.core(torch.randn(2, 4), h)", "assert F.pad(agent.pi(h), (0, 10 - size)).shape == (2, 5)", "`size`, which holds it, is used"),
    ("out = agent.core(torch.randn(2, 4), h); h, size = out[0], out[1]", "assert torch.ones(2, 10)[:, :size].shape == (2, 8)", "`size`, which holds it, is used"),
    ("h = agent.core(torch.randn(2, 4), h)[0]", "assert F.pad(agent.pi(h), (0, 10 - agent.core(torch.randn(2, 4), h)[1])).shape == (2, 5)", "it is used as `agent.core(torch.randn(2, 4), h)[1]`"),
    # a bound of a slice: the walk did not evaluate slice bounds at all
    ("h = agent.core(torch.randn(2, 4), h)[0]", "assert torch.ones(2, 20)[:, :agent.core(torch.randn(2, 4), h)[1]].shape == (2, 8)", "it is used as `agent.core(torch.randn(2, 4), h)[1]`"),
]


@pytest.mark.parametrize("step, use, named", NO_STATE_USES)
def test_a_last_size_returned_beside_the_state_and_used_for_what_is_no_state_is_refused(tmp_path, capsys, step, use, named):
    # the caller's size was 2H in the packed form: `F.pad` was given a negative pad and crashed (exit 0)
    write(tmp_path, {"model.py": AGENT, "driver.py": DRIVER.format(step=step, use=use), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    findings = [line for line in capsys.readouterr().out.splitlines() if " G2L100 " in line]
    assert findings == [

        f"{tmp_path / 'model.py'}:13:19: G2L100 `h.size(-1)` reads the last size of the packed state, which is twice "
        f"the hidden size now, and {named} at line 10 of driver.py for something that is no state, which took the "
        "hidden size; read the hidden size from the module (`hidden_size`), or use --state tuple"
    ]
    assert "GRUCell" in (tmp_path / "model.py").read_text()


@pytest.mark.parametrize("step, use, named", NO_STATE_USES)
def test_a_last_size_returned_beside_the_state_migrates_in_the_tuple_form(tmp_path, step, use, named):
    write(tmp_path, {"model.py": AGENT, "driver.py": DRIVER.format(step=step, use=use), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


STATE_USES = [
    ("h, size = agent.core(torch.randn(2, 4), h)", "h = torch.zeros(2, size) if t == 1 else h"),
    ("out = agent.core(torch.randn(2, 4), h); h, size = out[0], out[1]", "h = torch.zeros(2, size) if t == 1 else h"),
]


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("step, use", STATE_USES)
def test_a_last_size_returned_beside_the_state_that_sizes_a_new_state_migrates_and_runs(tmp_path, form, step, use):
    # packed, `torch.zeros(2, size)` became `2 * size` (4H): the LSTMCell got a state twice too wide
    write(tmp_path, {"model.py": AGENT, "driver.py": DRIVER.format(step=step, use=use), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")
