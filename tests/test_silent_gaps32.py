"""Silent breaks left by session 31's helpers and found again in session 32 (`/work/scratch/rt19`,
`/work/scratch/rt20`, `/work/scratch/complete7`): each was exit 0, then the migrated program
crashed, ran wrong or kept its GRU. Each is now migrated and run, or refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

# rt20 e02: torch's nn reached by a spelling other than an import; the driver masks and carries the state
ALIASED_AGENT = """\
    import torch
    {alias}


    class Agent(torch.nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = {made}(4, hidden)
            self.pi = torch.nn.Linear(hidden, 2)

        def initial(self, n):
            return torch.zeros(n, self.hidden)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h
"""

DRIVE_ALIASED = """\
    import torch
    from agent import Agent

    agent = Agent()
    h = agent.initial(3)
    for t in range(5):
        logits, h = agent(torch.randn(3, 4), h)
        if t == 2:
            h = h * torch.tensor([0.0, 1.0, 1.0]).view(-1, 1)
    logits.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_torch_nn_taken_by_getattr_with_its_name_is_an_import(tmp_path, form):
    # was exit 0 "left unchanged": `nn = getattr(torch, "nn")` bound nothing, so nn.GRUCell stayed a GRU
    agent = ALIASED_AGENT.format(alias='nn = getattr(torch, "nn")', made="nn.GRUCell")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_ALIASED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTMCell(4, hidden)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")


def test_torch_nn_taken_by_getattr_inside_a_function_is_reported_at_its_gru(tmp_path, capsys):
    # was exit 0 "left unchanged", as `nn = torch.nn` in a function is refused
    agent = ALIASED_AGENT.format(alias='\n\n    def core(hidden):\n        nn = getattr(torch, "nn")\n        return nn.GRUCell(4, hidden)\n', made="core")
    agent = agent.replace("core(4, hidden)", "core(hidden)")
    write(tmp_path, {"agent.py": agent, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert capsys.readouterr().out == (
        f"{tmp_path / 'agent.py'}:6:12: G2L101 `nn.GRUCell(4, hidden)` is made under a name that torch is imported as inside a "
        "function, which the engine does not follow, so it would not be migrated with the rest; migrate it by hand, or move that "
        "import to the top of the module\n"
    )


def test_a_gru_class_aliased_inside_a_module_level_if_is_refused_as_at_module_level(tmp_path, capsys):
    # was exit 0 "left unchanged": the prefilter read the names a module binds to the class only at its top level
    agent = ALIASED_AGENT.format(alias="if True:\n        GRUCell = torch.nn.GRUCell", made="GRUCell")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_ALIASED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        f"{tmp_path / 'agent.py'}:3:5: G2L101 the class `GRUCell` is used as a value here, so the modules made from it are not "
        "followed: each would become an LSTM, whose state is (h, c), while the code around it still passes and takes one tensor; "
        "use `nn.GRU(...)` by its name where the module is made, or migrate this by hand\n"
    )
    assert "would rewrite" not in out and "LSTM" not in (tmp_path / "agent.py").read_text()
