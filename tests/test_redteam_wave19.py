"""Red team, wave 19 (aimed at the code of session 30 and at styles no wave wrote): each case
migrated and run, or refused with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

FORMS = ("tuple", "packed", "auto")

# ------------------------------------------- torch bound by a call that imports it
# `nn = importlib.import_module("torch.nn")` binds as `import torch.nn as nn` does, but names were
# qualified by import statements only: `nn.GRUCell` was taken for a GRU of the program's own and
# the project was "left unchanged" (exit 0, still a GRU). At module level it is an import now (the
# prefilter and the names read it so); inside a function it is refused as an import there is.
IMPORTED_BY_CALL = """\
    import importlib

    torch = importlib.import_module("torch")
    nn = importlib.import_module("torch.nn")


    class Agent(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.rnn = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.hidden = hidden

        def initial(self, n):
            return torch.zeros(n, self.hidden)

        def forward(self, x, h):
            h = self.rnn(x, h)
            return self.pi(h), h
"""

DRIVE_AGENT = """\
    import torch
    from agent import Agent

    agent = Agent()
    h = agent.initial(3)
    loss = 0
    for t in range(4):
        logits, h = agent(torch.randn(3, 4), h)
        loss = loss + logits.pow(2).mean()
        if t == 1:
            h = h * torch.tensor([0.0, 1.0, 1.0]).view(-1, 1)
    loss.backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_torch_imported_by_a_call_at_module_level_is_migrated(tmp_path, form):
    write(tmp_path, {"agent.py": IMPORTED_BY_CALL, "driver.py": DRIVE_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTMCell(4, hidden)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("form", FORMS)
def test_torch_imported_by_the_builtin_at_module_level_is_migrated(tmp_path, form):
    # `__import__("torch.nn")` binds the top package, as `import torch.nn` does
    agent = IMPORTED_BY_CALL.replace('importlib.import_module("torch")', '__import__("torch.nn")').replace(
        'nn = importlib.import_module("torch.nn")', "T = torch"
    ).replace("nn.", "torch.nn.")
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "torch.nn.LSTMCell(4, hidden)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")


IMPORTED_BY_CALL_INSIDE = """\
    import importlib


    def make_agent(hidden=8):
        nn = importlib.import_module("torch.nn")
        return nn.GRUCell(4, hidden)
"""


def test_torch_imported_by_a_call_inside_a_function_is_refused(tmp_path, capsys):
    driver = "    import torch\n    from agent import make_agent\n\n    cell = make_agent()\n    h = cell(torch.randn(2, 4), torch.zeros(2, 8))\n"
    write(tmp_path, {"agent.py": IMPORTED_BY_CALL_INSIDE, "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--check", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:6:12: G2L101 `nn.GRUCell(4, hidden)` is made under a name that torch is imported as "
        "inside a function, which the engine does not follow, so it would not be migrated with the rest; migrate it by "
        "hand, or move that import to the top of the module"
    ) in capsys.readouterr().out


# ------------------------------------------- packed: torch imported in a `try`
# The packed form looked for `import torch` among the module's top statements only: one in a
# `try` (an optional dependency) was "needs `import torch` in this file" (G2L100).
def test_the_packed_form_uses_torch_imported_in_a_try(tmp_path):
    agent = IMPORTED_BY_CALL.replace(
        'import importlib\n\n    torch = importlib.import_module("torch")\n    nn = importlib.import_module("torch.nn")\n',
        "try:\n        import torch\n        from torch import nn\n    except ImportError:  # docs builds\n        torch = nn = None\n",
    )
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "torch.cat(self.rnn(" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")


def test_an_assignment_of_a_lambda_beside_the_gru_is_screened(tmp_path):
    # the screen reads module assignments for imports by a call; a lambda's `.args` is no list of arguments
    agent = IMPORTED_BY_CALL.replace('nn = importlib.import_module("torch.nn")', 'nn = importlib.import_module("torch.nn")\n    squash = lambda x: x.tanh()')
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


# ------------------------------------------- torch's module aliased by an assignment
# `nn = torch.nn` after `import torch` names torch.nn as `import torch.nn as nn` does; `nn.GRUCell`
# was taken for a GRU of the program's own: "left unchanged", exit 0, still a GRU.
@pytest.mark.parametrize("form", FORMS)
def test_torch_nn_aliased_by_an_assignment_is_migrated(tmp_path, form):
    agent = IMPORTED_BY_CALL.replace(
        'import importlib\n\n    torch = importlib.import_module("torch")\n    nn = importlib.import_module("torch.nn")\n',
        "import torch\n\n    nn = torch.nn\n",
    )
    write(tmp_path, {"agent.py": agent, "driver.py": DRIVE_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTMCell(4, hidden)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")
