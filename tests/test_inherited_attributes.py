"""A module held by an attribute that one class of a hierarchy sets and another's method calls:
set in a base's __init__ and called in a subclass's forward(), set in a subclass and called in a
mixin's or an abstract base's method. Each class's `self.rnn` was a place of its own, so the GRU
had no call ("none of its calls is in the files analysed") or the base's head got a state from
nowhere (G2L101); an instance has one attribute of that name, whichever class's code sets it."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from gru2lstm.project import shown_path
from tests.test_redteam_packed import run_migrated, write

SET_IN_BASE = """\
    import torch
    import torch.nn as nn


    class Base(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.rnn = nn.GRU(8, 8)
            self.v = nn.Linear(8, 1)

        def initial(self, n):
            return torch.zeros(1, n, 8)


    class Agent(Base):
        def forward(self, obs, h):
            out, h = self.rnn(self.enc(obs).unsqueeze(0), h)
            return self.v(out[0]), h
"""

MIXIN = """\
    import torch
    import torch.nn as nn


    class RecurrentMixin:
        def step(self, obs, h):
            out, h = self.rnn(self.enc(obs).unsqueeze(0), h)
            return self.v(out[0]), h

        def initial(self, n):
            return torch.zeros(1, n, self.rnn.hidden_size)


    class Agent(RecurrentMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.rnn = nn.GRU(8, 8)
            self.v = nn.Linear(8, 1)

        def forward(self, obs, h):
            return self.step(obs, h)
"""

ABSTRACT_BASE = """\
    import torch
    import torch.nn as nn


    class BaseAgent(nn.Module):
        def forward(self, obs, h):
            x = torch.relu(self.enc(obs))
            h = self.core(x, h)
            return self.v(h), h

        def initial(self, n):
            return torch.zeros(n, 8)


    class Agent(BaseAgent):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.cell = nn.GRUCell(8, 8)
            self.v = nn.Linear(8, 1)

        def core(self, x, h):
            return self.cell(x, h)
"""

RUN = """\
    import torch

    from model import Agent

    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = agent.initial(2)
    for t in range(4):
        v, h = agent(torch.randn(2, 4), h)
        if t == 1:
            h = agent.initial(2)
    assert v.shape == (2, 1), v.shape
    opt.zero_grad()
    v.sum().backward()
    opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("model", [SET_IN_BASE, MIXIN, ABSTRACT_BASE], ids=["set-in-base", "mixin", "abstract-base"])
def test_an_attribute_set_by_one_class_of_a_hierarchy_and_called_by_another_migrates(tmp_path, form, model):
    write(tmp_path, {"model.py": model, "run.py": RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "GRU" not in (tmp_path / "model.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


SIBLINGS = """\
    import torch
    import torch.nn as nn


    class BaseAgent(nn.Module):
        def forward(self, obs, h):
            return self.core(obs, h)


    class Recurrent(BaseAgent):
        def __init__(self):
            super().__init__()
            self.core = nn.GRUCell(4, 8)


    class Plain(BaseAgent):
        def __init__(self):
            super().__init__()
            self.core = nn.Bilinear(4, 8, 8)
"""


def test_siblings_that_set_the_attribute_a_base_calls_to_a_gru_and_to_another_module_are_refused(tmp_path, capsys):
    # the base's call runs either: the engine cannot rewrite it for one of them
    write(tmp_path, {"model.py": SIBLINGS, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'model.py'}:13:21: G2L102 `nn.GRUCell(4, 8)` is held in `self.core` of `Recurrent`, which is "
        "joined with `self.core` of `BaseAgent` and `Plain`, where a `nn.Bilinear` is held too (`nn.Bilinear(4, 8, 8)`, "
        "line 19): the classes share the code that calls `self.core`, so the engine cannot tell the GRU's calls from the "
        "`nn.Bilinear`'s and leaves both as they are; give the GRU an attribute of its own in `Recurrent` (and the call "
        "of it there)"
    ]
    assert (tmp_path / "model.py").read_text() == before


PACKAGE = {
    "pyproject.toml": "",
    "agents/__init__.py": "",
    "agents/base.py": """\
        import torch
        import torch.nn as nn


        class BaseAgent(nn.Module):
            def __init__(self, hidden=8):
                super().__init__()
                self.hidden = hidden
                self.enc = nn.Linear(4, hidden)
                self.rnn = nn.GRU(hidden, hidden, batch_first=True)
                self.pi = nn.Linear(hidden, 3)

            def init_hidden(self, n):
                return torch.zeros(1, n, self.hidden)
    """,
    "agents/recurrent.py": """\
        import torch

        from agents.base import BaseAgent


        class RecurrentAgent(BaseAgent):
            def forward(self, obs, hxs):
                x = torch.relu(self.enc(obs)).unsqueeze(1)
                out, hxs = self.rnn(x, hxs)
                return self.pi(out[:, -1]), hxs
    """,
    "train.py": """\
        import torch

        from agents.recurrent import RecurrentAgent

        agent = RecurrentAgent(hidden=8)
        opt = torch.optim.Adam(agent.parameters(), lr=1e-3)
        hxs = agent.init_hidden(2)
        stored = []
        for t in range(5):
            logits, hxs = agent(torch.randn(2, 4), hxs)
            stored.append(hxs.detach())
            done = torch.tensor([t == 2, False])
            hxs = hxs * (~done).float().view(1, -1, 1)
        batch = torch.cat(stored, 1)
        logits, _ = agent(torch.randn(10, 4), batch)
        opt.zero_grad()
        logits.sum().backward()
        opt.step()
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_subclass_in_another_file_calling_its_base_s_gru_migrates_as_a_project(tmp_path, form):
    write(tmp_path, PACKAGE)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('train.py')")


def test_the_files_of_the_hierarchy_given_without_the_script_that_calls_it_are_refused(tmp_path, capsys):
    # the subclass's file has no line to change, so its contract change went unchecked: the base's
    # file was written alone (exit 0) and train.py passed one tensor to the LSTM
    write(tmp_path, PACKAGE)
    before = {path: path.read_text() for path in tmp_path.rglob("*.py")}
    given = [str(tmp_path / "agents" / "base.py"), str(tmp_path / "agents" / "recurrent.py")]
    assert main(["rewrite", "--quiet", *given]) == 1
    out = capsys.readouterr().out
    assert (
        f"{tmp_path / 'agents' / 'recurrent.py'}:7:9: G2L101 `RecurrentAgent.forward()` now takes or returns (h, c) (the "
        f"parameter `hxs` and the return value), and {shown_path(tmp_path / 'train.py')} imports it without being given, so its calls "
        "would still pass and take one tensor; give that file too (or the project folder)"
    ) in out.splitlines()
    assert {path: path.read_text() for path in tmp_path.rglob("*.py")} == before


def test_the_base_s_file_given_alone_names_the_subclass_s_file_that_calls_its_gru(tmp_path, capsys):
    # as a pre-commit hook gives it: the GRU's calls are in the subclass's file, which was not
    # named ("give the files that call it" without saying which)
    write(tmp_path, PACKAGE)
    before = {path: path.read_text() for path in tmp_path.rglob("*.py")}
    assert main(["rewrite", "--quiet", str(tmp_path / "agents" / "base.py")]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agents' / 'base.py'}:10:20: G2L101 `nn.GRU(hidden, hidden, batch_first=True)` is made here, but "
        f"none of its calls is in the files analysed: {shown_path(tmp_path / 'agents' / 'recurrent.py')} imports "
        "`BaseAgent` without being given, and the code that calls it (there, or reached from there) would still pass one "
        "tensor as the state; give that file too (or the project folder)"
    )
    assert {path: path.read_text() for path in tmp_path.rglob("*.py")} == before


def test_a_module_level_gru_given_alone_names_the_scripts_that_call_it(tmp_path, capsys):
    write(tmp_path, {
        "core.py": """\
            import torch.nn as nn

            rnn = nn.GRUCell(4, 8)
        """,
        "train.py": """\
            import torch

            from core import rnn

            h = torch.zeros(2, 8)
            for _ in range(3):
                h = rnn(torch.randn(2, 4), h)
        """,
        "evaluate.py": """\
            import torch

            import core

            h = core.rnn(torch.randn(2, 4), torch.zeros(2, 8))
        """,
    })
    assert main(["rewrite", "--quiet", str(tmp_path / "core.py")]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'core.py'}:3:7: G2L101 `nn.GRUCell(4, 8)` is made here, but none of its calls is in the files "
        f"analysed: {shown_path(tmp_path / 'evaluate.py')}, {shown_path(tmp_path / 'train.py')} import `rnn` without "
        "being given, and the code that calls it (there, or reached from there) would still pass one tensor as the state; "
        "give those files too (or the project folder)"
    )


STATEFUL_BASE = """\
    import torch
    import torch.nn as nn


    class StatefulBase(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden_size = hidden
            self.h = None

        def reset(self, n):
            self.h = torch.zeros(1, n, self.hidden_size)

        def mask(self, done):
            self.h = self.h * (1.0 - done).view(1, -1, 1)


    class Agent(StatefulBase):
        def __init__(self):
            super().__init__(8)
            self.enc = nn.Linear(4, 8)
            self.rnn = nn.GRU(8, 8)
            self.pi = nn.Linear(8, 3)

        def act(self, obs):
            out, self.h = self.rnn(self.enc(obs).unsqueeze(0), self.h)
            return self.pi(out[0])
"""

STATEFUL_RUN = """\
    import torch

    from model import Agent

    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    agent.reset(2)
    for t in range(5):
        logits = agent.act(torch.randn(2, 4))
        agent.mask(torch.tensor([float(t == 2), 0.0]))
    opt.zero_grad()
    logits.sum().backward()
    opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_held_by_an_attribute_a_base_resets_and_masks_migrates(tmp_path, form):
    # the base's `self.h` was a place apart from the subclass's: packed, the reset made H wide
    # (exit 0, then the LSTM got half a state); tuple, exit 123
    write(tmp_path, {"model.py": STATEFUL_BASE, "run.py": STATEFUL_RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")
