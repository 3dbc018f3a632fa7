"""A model file whose forward() takes the state and which nothing in the project calls, beside an
`initial_state()` nothing calls either: forward() took (h, c) while `initial_state()` kept
returning one tensor, exit 0 with only the G2L202 warning, and a driver elsewhere doing
`net(x, net.initial_state(2))` crashed on its first step. Now, when no code of the project calls
them, the allocation is a G2L101 and nothing is written; with a file that calls them given, the
project migrates and runs; with it in the project but not given (pre-commit), the finding names it."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

NET = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.fc = nn.Linear(4, hidden)
            self.core = nn.GRU(hidden, hidden)
            self.pi = nn.Linear(hidden, 3)

        def initial_state(self, batch_size):
            return tuple(torch.zeros(self.core.num_layers, batch_size, self.core.hidden_size) for _ in range(1))

        def forward(self, x, core_state=()):
            out, h = self.core(torch.relu(self.fc(x)).unsqueeze(0), *core_state)
            return self.pi(out.squeeze(0)), (h,)
"""

DRIVER = """\
    import torch
    from net import Net

    net = Net()
    state = net.initial_state(2)
    total = 0
    for t in range(5):
        if t == 3:
            state = net.initial_state(2)
        logits, state = net(torch.randn(2, 4), state)
        total = total + logits.sum()
    total.backward()
"""


PLAIN = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 3)

        def initial_state(self, batch_size):
            return torch.zeros(1, batch_size, self.gru.hidden_size)

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0), h)
            return self.pi(out.squeeze(0)), h
"""


def test_an_initial_state_nothing_calls_beside_a_forward_nothing_calls_is_refused(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"pyproject.toml": "", "net.py": PLAIN})
    before = (tmp_path / "net.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--state", "tuple", "net.py"]) == 1
    assert (
        "net.py:12:16: G2L101 `Net.initial_state()` returns `torch.zeros(1, batch_size, self.gru.hidden_size)`, a new "
        "tensor shaped like the hidden state, but no code of the project calls it or `Net.forward()`, whose parameter "
        "`h` becomes (h, c): a caller that hands the one to the other would pass one tensor; give the files that call "
        "them in the same run (a script that does is enough)"
    ) in capsys.readouterr().out
    assert (tmp_path / "net.py").read_text() == before


@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_with_the_driver_given_the_project_migrates_and_runs(tmp_path, monkeypatch, state):
    write(tmp_path, {"pyproject.toml": "", "net.py": NET, "driver.py": DRIVER})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--state", state, "."]) == 0
    assert "nn.LSTM(hidden, hidden)" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, "import driver")


def test_an_initial_state_forward_calls_itself_is_no_finding(tmp_path, capsys, monkeypatch):
    net = """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.core = nn.GRU(4, 8)

            def initial_state(self, batch_size):
                return torch.zeros(1, batch_size, 8)

            def forward(self, x, h=None):
                if h is None:
                    h = self.initial_state(x.size(1))
                return self.core(x, h)
    """
    write(tmp_path, {"pyproject.toml": "", "net.py": net})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--state", "tuple", "net.py"]) == 0
    out = capsys.readouterr().out
    assert "G2L101" not in out and "G2L202" in out
    assert "return (\n            torch.zeros(1, batch_size, 8),\n            torch.zeros(1, batch_size, 8),\n" in (tmp_path / "net.py").read_text()


def test_a_new_tensor_of_another_rank_is_no_finding(tmp_path, capsys, monkeypatch):
    net = PLAIN.replace("self.gru.hidden_size)", "self.gru.hidden_size)\n\n    def blank_observation(self, batch_size):\n        return torch.zeros(batch_size, 4)")
    write(tmp_path, {"pyproject.toml": "", "net.py": net})
    monkeypatch.chdir(tmp_path)
    main(["rewrite", "--check", "--state", "tuple", "net.py"])
    out = capsys.readouterr().out
    assert out.count("G2L101") == 1 and "blank_observation" not in out


def test_given_alone_beside_a_driver_not_given_the_finding_names_the_driver(tmp_path, capsys, monkeypatch):
    driver = DRIVER.replace("net(torch.randn(2, 4), state)", "net(torch.randn(2, 4), h)").replace("state = ", "h = ")
    write(tmp_path, {"pyproject.toml": "", "net.py": PLAIN, "driver.py": driver})
    before = (tmp_path / "net.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--state", "tuple", "net.py"]) == 1
    out = capsys.readouterr().out
    assert "driver.py imports it without being given" in out and "a new tensor shaped like" not in out
    assert (tmp_path / "net.py").read_text() == before
    assert main(["rewrite", "--state", "tuple", "."]) == 0
    run_migrated(tmp_path, "import driver")


def test_a_function_of_the_module_that_makes_the_state_counts_as_well(tmp_path, capsys, monkeypatch):
    lib = """\
        import torch
        import torch.nn as nn


        class Core(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.GRUCell(4, 8)

            def forward(self, x, h):
                return self.cell(x, h)


        def init_hidden(batch_size):
            return torch.zeros(batch_size, 8)
    """
    write(tmp_path, {"pyproject.toml": "", "lib.py": lib})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--state", "tuple", "lib.py"]) == 1
    assert "lib.py:15:12: G2L101 `init_hidden()` returns `torch.zeros(batch_size, 8)`" in capsys.readouterr().out


# The same contract kept in an attribute: reset() stores the tensor callers hand to forward()
STORED = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 3)
            self.pos = torch.zeros(1, 2, 4)

        def reset(self, batch_size):
            self.h = torch.zeros(1, batch_size, self.gru.hidden_size)

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0) + self.pos, h)
            return self.pi(out.squeeze(0)), h
"""

STORED_DRIVER = """\
    import torch
    from net import Net

    net = Net()
    net.reset(2)
    total = 0
    for t in range(5):
        if t == 3:
            net.reset(2)
        logits, net.h = net(torch.randn(2, 4), net.h)
        total = total + logits.sum()
    total.backward()
"""


def test_a_state_stored_in_an_attribute_nothing_here_reads_is_refused(tmp_path, capsys, monkeypatch):
    # `self.pos`, of the state's rank too, is read by forward(): no tensor for callers, no finding
    write(tmp_path, {"pyproject.toml": "", "net.py": STORED})
    before = (tmp_path / "net.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--state", "tuple", "net.py"]) == 1
    out = capsys.readouterr().out
    assert (
        "net.py:13:18: G2L101 `Net.reset()` stores `torch.zeros(1, batch_size, self.gru.hidden_size)`, a new tensor shaped "
        "like the hidden state, in `self.h`, which no code here reads, but no code of the project calls it or "
        "`Net.forward()`, whose parameter `h` becomes (h, c): a caller that hands the one to the other would pass one "
        "tensor; give the files that call them in the same run (a script that does is enough)"
    ) in out
    assert out.count("G2L101") == 1
    assert (tmp_path / "net.py").read_text() == before


@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_a_state_stored_in_an_attribute_migrates_with_the_driver_that_reads_it(tmp_path, monkeypatch, state):
    write(tmp_path, {"pyproject.toml": "", "net.py": STORED, "driver.py": STORED_DRIVER})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "--state", state, "."]) == 0
    run_migrated(tmp_path, "import driver")


def test_a_state_stored_in_an_attribute_given_alone_names_the_driver(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"pyproject.toml": "", "net.py": STORED, "driver.py": STORED_DRIVER})
    before = (tmp_path / "net.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--state", "tuple", "net.py"]) == 1
    assert "and driver.py imports it without being given" in capsys.readouterr().out
    assert (tmp_path / "net.py").read_text() == before


# initial_state() handing out a tensor made fresh in __init__: expanded, or a learned h0 as it is
FROM_INIT = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 3)
            self.h0 = {made}

        def initial_state(self, batch_size):
            return {returned}

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0), h)
            return self.pi(out.squeeze(0)), h
"""


@pytest.mark.parametrize(("made", "returned", "where"), [
    ("torch.zeros(1, 1, 8)", "self.h0.expand(1, batch_size, 8).clone()", "13:16: G2L101 `Net.initial_state()` returns `self.h0.expand(1, batch_size, 8)`"),
    ("nn.Parameter(torch.zeros(1, 2, 8))", "self.h0", "10:32: G2L101 `Net.initial_state()` returns `torch.zeros(1, 2, 8)`"),
])
def test_a_tensor_made_in_init_and_handed_out_counts_as_well(tmp_path, capsys, monkeypatch, made, returned, where):
    write(tmp_path, {"pyproject.toml": "", "net.py": FROM_INIT.format(made=made, returned=returned)})
    before = (tmp_path / "net.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--state", "tuple", "net.py"]) == 1
    assert f"net.py:{where}, a new tensor shaped like the hidden state" in capsys.readouterr().out
    assert (tmp_path / "net.py").read_text() == before
