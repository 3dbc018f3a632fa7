"""A method taking self called through its class (`Base.forward(self, obs, h)`): its first
argument is self, the others its parameters. The walk took the first argument for the first
parameter: a subclass's state never reached the base's GRU (exit 0, then the LSTMCell got one
tensor), and a helper's state was "passed beyond its parameters"."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

MODEL = """\
    import torch
    import torch.nn as nn


    class Base(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.cell = nn.GRUCell(8, 8)
            self.v = nn.Linear(8, 1)

        def value(self, feat):
            return self.v(torch.relu(feat))

        def forward(self, obs, h):
            h = self.cell(self.enc(obs), h)
            return self.v(h), h


    class Agent(Base):
        def forward(self, obs, h):
            {body}
"""

RUN = """\
    import torch

    from model import Agent

    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = torch.zeros(2, 8)
    for t in range(4):
        v, h = agent(torch.randn(2, 4), h)
        if t == 1:
            h = torch.zeros(2, 8)
    assert v.shape == (2, 1), v.shape
    opt.zero_grad()
    v.sum().backward()
    opt.step()
"""

BODIES = [
    "v, h = Base.forward(self, obs, h)\n            return v * 2, h",
    "v, h = Base.forward(self, obs, h=h)\n            return v * 2, h",
    "_, h = Base.forward(self, obs, h)\n            return Base.value(self, h) - Agent.value(self, self.enc(obs)), h",
]


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("body", BODIES)
def test_a_method_called_through_its_class_takes_its_first_argument_as_self(tmp_path, form, body):
    write(tmp_path, {"model.py": MODEL.format(body=body), "run.py": RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")



def test_a_method_taken_from_its_class_and_called_later_is_refused(tmp_path, capsys):
    # `fwd = Base.forward` then `fwd(self, obs, h)`: the walk does not follow it, so the subclass's
    # state stayed one tensor (exit 0, then the LSTMCell got it)
    body = "fwd = Base.forward\n            v, h = fwd(self, obs, h)\n            return v * 2, h"
    write(tmp_path, {"model.py": MODEL.format(body=body), "run.py": RUN, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:22:15: G2L101 `Base` is used as a value here (a registry, a factory, a callback), and "
        "`Base.forward()` now takes or returns (h, c) (the parameter `h` and the return value); the engine cannot follow "
        "what is made or called through it; migrate those calls by hand so that they pass and take (h, c)"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before


@pytest.mark.parametrize("base, column", [("type(self).__mro__[1]", 16), ("self.__class__.__bases__[0]", 16)])
def test_a_base_s_method_reached_through_what_the_engine_cannot_identify_is_refused(tmp_path, capsys, base, column):
    # not followed, the base's forward() was a "no caller found" warning: exit 0, then the
    # subclass's state (one tensor) reached the LSTMCell
    body = f"v, h = {base}.forward(self, obs, h)\n            return v * 2, h"
    write(tmp_path, {"model.py": MODEL.format(body=body), "run.py": RUN, "pyproject.toml": ""})
    before = (tmp_path / "model.py").read_text()
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'model.py'}:22:{column}: G2L101 an instance of `Base` (`self`) is passed to `{base}.forward`, a "
        "`forward()` of a class the engine cannot identify; `Base.forward()` now takes or returns (h, c) (the parameter "
        "`h` and the return value), so the calls made through it there would still pass and take one tensor; migrate "
        "this use by hand, or give the file that defines the code it reaches in the same run"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "model.py").read_text() == before


CLASSMETHODS = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.v = nn.Linear(8, 1)

        @classmethod
        def initial(cls, n):
            return torch.zeros(n, 8)

        @classmethod
        def masked(cls, h, done):
            return h * (1.0 - done).unsqueeze(-1)

        def forward(self, obs, h):
            h = self.cell(obs, h)
            return self.v(h), h
"""

CLASSMETHODS_RUN = """\
    import torch

    from model import Agent

    agent = Agent()
    h = Agent.initial(2)
    for t in range(4):
        v, h = agent(torch.randn(2, 4), h)
        h = Agent.masked(h, torch.tensor([float(t == 1), 0.0]))
    v.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_classmethod_called_through_its_class_takes_its_arguments_after_the_class(tmp_path, form):
    write(tmp_path, {"model.py": CLASSMETHODS, "run.py": CLASSMETHODS_RUN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")
