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


# ------------------------------------------- an uncalled creator whose attribute some code reads
# `self.h = torch.zeros(...)` stored by reset() beside a forward(x, h) nothing here calls was refused
# only when no code read `self.h`; a method that logs its norm let it through: exit 0 with a G2L202
# warning, reset() kept one tensor while forward() took (h, c), and the caller crashed. A read
# counts only in forward() or a method it calls on self, where the attribute may be what it takes.
READ_BY_A_LOGGER = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(4, hidden)
            self.hidden = hidden
            self.h = None

        def reset(self, n):
            self.h = torch.zeros(1, n, self.hidden)

        def state_norm(self):
            return float(self.h.norm())

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0), h)
            return out[0], h
"""


@pytest.mark.parametrize("form", ("tuple", "auto"))
def test_a_stored_creator_read_only_by_other_code_is_refused(tmp_path, capsys, form):
    write(tmp_path, {"model.py": READ_BY_A_LOGGER, "pyproject.toml": ""})
    assert main(["rewrite", "--check", "--state", form, str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:13:18: G2L101 `Net.reset()` stores `torch.zeros(1, n, self.hidden)`, a new tensor shaped "
        "like the hidden state, in `self.h`, which code here reads only outside `Net.forward()` and what it calls, but no "
        "code of the project calls it or `Net.forward()`, whose parameter `h` becomes (h, c): a caller that hands the one "
        "to the other would pass one tensor; give the files that call them in the same run (a script that does is enough)"
    ) in capsys.readouterr().out


def test_an_attribute_read_by_what_forward_calls_is_not_taken_for_a_creator(tmp_path, capsys):
    # `self.bias` feeds forward() through `_mix()`: a tensor of the state's rank, not one made for callers
    model = READ_BY_A_LOGGER.replace("self.h = torch.zeros(1, n, self.hidden)", "self.bias = torch.zeros(1, n, self.hidden)").replace(
        "def state_norm(self):\n            return float(self.h.norm())",
        "def _mix(self, out):\n            return out + self.bias",
    ).replace("return out[0], h", "return self._mix(out)[0], h")
    write(tmp_path, {"model.py": model, "pyproject.toml": ""})
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1  # would rewrite
    out = capsys.readouterr().out
    assert "G2L101" not in out and "G2L202 interface change: the parameter `h` and the return value of `Net.forward()`" in out


# A state-shaped tensor made into a local first (`h = torch.zeros(...); return h`, or stored from
# it): the creator was seen only when it returned or stored the allocation itself. initial() kept
# one tensor while the uncalled forward() took (h, c): exit 0 with G2L202 only, the caller crashed.
THROUGH_A_LOCAL = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.gru = nn.GRU(4, hidden)
            self.hidden = hidden

        def initial(self, n):
            h = torch.zeros(1, n, self.hidden)
            return h

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0), h)
            return out[0], h
"""


def test_a_creator_returning_a_local_is_refused(tmp_path, capsys):
    write(tmp_path, {"model.py": THROUGH_A_LOCAL, "pyproject.toml": ""})
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:12:13: G2L101 `Net.initial()` returns `torch.zeros(1, n, self.hidden)`, a new tensor "
        "shaped like the hidden state, but no code of the project calls it or `Net.forward()`, whose parameter `h` becomes "
        "(h, c): a caller that hands the one to the other would pass one tensor; give the files that call them in the same "
        "run (a script that does is enough)"
    ) in capsys.readouterr().out


def test_a_creator_storing_a_local_is_refused(tmp_path, capsys):
    model = THROUGH_A_LOCAL.replace("return h\n", "self.h = h\n")
    write(tmp_path, {"model.py": model, "pyproject.toml": ""})
    assert main(["rewrite", "--check", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:12:13: G2L101 `Net.initial()` stores `torch.zeros(1, n, self.hidden)`, a new tensor "
        "shaped like the hidden state, in `self.h`, which no code here reads"
    ) in capsys.readouterr().out


def test_a_creator_returning_a_local_migrates_with_its_callers(tmp_path):
    driver = """\
        import torch
        from model import Net

        net = Net()
        h = net.initial(3)
        for t in range(3):
            y, h = net(torch.randn(3, 4), h)
            if t == 1:
                h = h * torch.tensor([0.0, 1.0, 1.0]).view(1, 3, 1)
        y.sum().backward()
    """
    write(tmp_path, {"model.py": THROUGH_A_LOCAL, "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")
