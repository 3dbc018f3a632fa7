"""Second review of session 40's relaxed refusals (issue 13): a property whose setter only stores its
value is followed as a write of that attribute, but only when the class binds nothing else under the
property's name. A deleter that makes a fresh GRU-sized state, or a second setter that does more,
runs code the engine never migrates: each stays refused, with nothing written."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write
from tests.test_crossings import snapshot

AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)
            self._memory = torch.zeros(1, 3, 8)

        @property
        def memory(self):
            return self._memory

        @memory.setter
        def memory(self, value):
            self._memory = value
    {more}
        def forward(self, x):
            out, self.memory = self.gru(x, self.memory)
            return self.head(out)


    agent = Agent()
    for t in range(4):
        y = agent(torch.randn(1, 3, 4))
    {use}
    y = agent(torch.randn(1, 3, 4))
    y.sum().backward()
"""

# a deleter that resets the state to a fresh GRU-sized tensor (migrated, `del agent.memory` then fed
# the LSTM one tensor: both forms crashed), and a second setter that slices the state (it replaces the
# first one: both forms crashed)
MORE = {
    "deleter": ("""
    @memory.deleter
    def memory(self):
        self._memory = torch.zeros(1, 3, 8)
""", "del agent.memory"),
    "second_setter": ("""
    @memory.setter
    def memory(self, value):
        self._memory = value[..., :4].repeat(1, 1, 2)
""", "agent.memory = agent.memory.detach()"),
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("case", sorted(MORE))
def test_a_property_that_binds_more_than_its_getter_and_one_storing_setter_stays_refused(tmp_path, capsys, form, case):
    more, use = MORE[case]
    source = AGENT.format(more=more.replace("\n", "\n    "), use=use)
    write(tmp_path, {"agent.py": source, "pyproject.toml": ""})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    line = (tmp_path / "agent.py").read_text().splitlines().index("        out, self.memory = self.gru(x, self.memory)") + 1
    assert (
        f"{tmp_path / 'agent.py'}:{line}:14: G2L101 `self.memory = ...` sets the property `Agent.memory` through its setter, "
        "which the engine does not follow, and the property now holds (h, c); set the attribute the setter writes "
        "instead, or migrate the setter by hand"
    ) in capsys.readouterr().out.splitlines()


# Silent breaks found by the review that the branch did not cause (main's engine lets them through
# too); each would need the engine to follow a value it does not follow today.

# a function of the module kept in a list and called from it: the state it is given stays one
# tensor in the tuple form (a `def` there breaks the same way on main; the module-level lambda of
# session 40 is now such a function)
IN_A_LIST = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return self.head(out), h


    net = Net()
    policy = lambda o, hid: net(o, hid)
    steps = [policy]
    h = torch.zeros(1, 3, 8)
    for t in range(4):
        y, h = steps[0](torch.randn(1, 3, 4), h)
    y.sum().backward()
"""

# a class whose own __setattr__ changes what is stored (both forms exit 0 and crash, on main too)
OWN_SETATTR = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)
            self._memory = torch.zeros(1, 3, 8)

        def __setattr__(self, name, value):
            if name == "_memory" and value is not None:
                value = value[..., :4].repeat(1, 1, 2)
            super().__setattr__(name, value)

        def forward(self, x):
            out, self._memory = self.gru(x, self._memory)
            return self.head(out)


    agent = Agent()
    for t in range(4):
        y = agent(torch.randn(1, 3, 4))
    y.sum().backward()
"""


# A module-level list or dict of the program's functions looked up and called by module-level code
# (a script's loop): the lookup was taken for a local shadowing the registry, so the call was not
# followed (tuple form: exit 0, caller not rewritten, crash). The registry is one value now.
KEPT_AS = {
    "lambda_in_list": ("policy = lambda o, hid: net(o, hid)", "steps = [policy]", "steps[0]"),
    "def_in_list": ("def policy(o, hid):\n        return net(o, hid)", "steps = [policy]", "steps[0]"),
    "def_in_dict": ("def policy(o, hid):\n        return net(o, hid)", "steps = {'act': policy}", "steps['act']"),
    "def_in_tuple": ("def policy(o, hid):\n        return net(o, hid)", "steps = (policy,)", "steps[0]"),
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("kept", sorted(KEPT_AS))
def test_a_module_function_called_from_a_list_at_module_level_migrates(tmp_path, kept, form):
    defined, stored, looked_up = KEPT_AS[kept]
    text = IN_A_LIST.replace("policy = lambda o, hid: net(o, hid)", defined).replace("steps = [policy]", stored)
    write(tmp_path, {"run.py": text.replace("steps[0](", f"{looked_up}("), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


def test_a_list_of_functions_also_given_a_function_from_outside_stays_refused(tmp_path, capsys):
    # a member not of the program (`print`) leaves the list unfollowed: the store of `policy` is a crossing
    write(tmp_path, {"run.py": IN_A_LIST.replace("steps = [policy]", "steps = [policy]\n    steps.append(print)"), "pyproject.toml": ""})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert "run.py:18:10: G2L101 `policy` is used as a value here" in capsys.readouterr().out
    assert snapshot(tmp_path) == before


# The hook defined by the class itself, by a base of the program, or by a subclass (self may be one)
HOOKED = {
    "own": OWN_SETATTR,
    "base": OWN_SETATTR.replace(OWN_SETATTR[OWN_SETATTR.index("        def __setattr__"):OWN_SETATTR.index("        def forward")], "")
    .replace("class Agent(nn.Module):", "class Hooked(nn.Module):\n"
                                "        def __setattr__(self, name, value):\n"
                                "            super().__setattr__(name, value[..., :4].repeat(1, 1, 2) if name == '_memory' else value)\n\n\n"
                                "    class Agent(Hooked):"),
    "reader": OWN_SETATTR.replace("def __setattr__(self, name, value):", "def __getattribute__(self, name):")
    .replace("                value = value[..., :4].repeat(1, 1, 2)\n            super().__setattr__(name, value)",
             "                pass\n            return super().__getattribute__(name)")
    .replace('if name == "_memory" and value is not None:', 'if name == "_memory":'),
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("hooked", sorted(HOOKED))
def test_a_state_stored_through_a_class_own_setattr_is_refused(tmp_path, capsys, hooked, form):
    write(tmp_path, {"agent.py": HOOKED[hooked], "pyproject.toml": ""})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    hook = "__getattribute__" if hooked == "reader" else "__setattr__"
    owner = "Hooked" if hooked == "base" else "Agent"
    assert f"G2L101 `self._memory` holds the hidden state, and `{owner}.{hook}()` runs on every" in " ".join(out.split()), out
    assert snapshot(tmp_path) == before
