"""Red team wave 21 (`/work/scratch/rt21`): silent breaks found there, each now refused with the
exact finding, or migrated and run."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write
from tests.test_silent_gaps31 import DRIVE_IN_PLACE, IN_PLACE, ON_PATH, _project

# `blank(n)` of the library returns {"hidden": zeros(n, 8), "steps": 0}; {fill} is what start() does with it
FILLED_AGENT = """\
    import torch
    import torch.nn as nn
    from elsewhere import blank


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)

        def zeros(self, n):
            return torch.zeros(n, 8)

        def start(self, n, fresh=False):
            carry = blank(n)
    {fill}
            return carry

        def forward(self, x, carry):
            h = self.cell(x, carry["hidden"])
            return h.sum(), {"hidden": h, "steps": carry["steps"] + 1}
"""

DRIVE_FILLED = """\
    import torch
    from agent import Agent

    agent = Agent()
    carry = agent.start(3)
    for t in range(4):
        y, carry = agent(torch.randn(3, 4), carry)
        if t == 1:
            carry = agent.start(3)
"""


def _filled(tmp_path, fill: str):
    return _project(tmp_path, {"agent.py": FILLED_AGENT.replace("{fill}", fill), "driver.py": DRIVE_FILLED})


@pytest.mark.parametrize("fill", [
    # each was exit 0: the write did not surely put the program's tensor there, the library's stayed one tensor
    '        if fresh:\n                carry["hidden"] = torch.zeros(n, 8)',
    '        carry.setdefault("hidden", torch.zeros(n, 8))',
    '        h = self.cell(torch.zeros(n, 4), carry["hidden"])\n            carry["hidden"] = h',
    '        carry["hidden"] = self.cell(torch.zeros(n, 4), carry["hidden"])',
    '        warm = self.cell(torch.zeros(n, 4), carry["hidden"])\n            self.warm = warm\n            carry["hidden"] = torch.zeros(n, 8)',
])
def test_a_library_holder_not_surely_filled_by_the_program_is_refused(tmp_path, capsys, fill):
    project = _filled(tmp_path, fill)
    assert main(["rewrite", "--quiet", str(project)]) == 1
    assert capsys.readouterr().out.startswith(
        f"{project / 'agent.py'}:15:17: G2L101 `carry` holds hidden states, but here it receives what `blank(n)` returns, "
        "which the engine cannot follow, so the states in it would stay one tensor; migrate this use by hand, or give the "
        "file that defines the code it reaches in the same run\n"
    )


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("fill", [
    '        carry["hidden"] = torch.zeros(n, 8)',
    '        carry["hidden"] = self.zeros(n)',
    '        with torch.no_grad():\n                carry["hidden"] = torch.zeros(n, 8)',
])
def test_a_library_holder_the_program_fills_right_after_migrates(tmp_path, form, fill):
    project = _filled(tmp_path, fill)
    assert main(["rewrite", "--quiet", "--state", form, str(project)]) == 0
    run_migrated(project, ON_PATH + "import driver")


@pytest.mark.parametrize("nudge", ["self.h.lerp_(thing(3).reshape_as(self.h), 0.5)", "self.h = self.h + thing(3).view_as(self.h)"])
def test_a_library_value_given_the_state_s_shape_joined_with_it_is_refused_packed(tmp_path, capsys, nudge):
    # packed, `thing(3).reshape_as(self.h)` was taken as made like the state (exit 0): its elements are h's width, a crash
    project = _project(tmp_path, {"agent.py": IN_PLACE.replace("{nudge}", nudge), "driver.py": DRIVE_IN_PLACE})
    assert main(["rewrite", "--quiet", "--state", "packed", str(project)]) == 1
    joined = nudge.partition(" = ")[2] or nudge
    operand = "thing(3).reshape_as(self.h)" if "reshape_as" in nudge else "thing(3).view_as(self.h)"
    assert (
        f"{project / 'agent.py'}:19:{9 if joined == nudge else 18}: G2L100 `{joined}` combines the hidden state with "
        f"`{operand}`, made by `thing(3)`, a call the engine does not follow, so it cannot tell how wide it is; in the "
        "packed form the state is h and c side by side, twice as wide, so an operand as wide as h would no longer line "
        "up; migrate this by hand, as the tuple form cannot choose what c gets from it either"
    ) in capsys.readouterr().out
    # the tuple form would add the library's tensor to c too, `thing(3)` called once per half (wave 22: the shape read
    # from the state by view_as does not make the operand one computed from it)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(project)]) == 1
    joins = "joins" if "lerp" in nudge else "adds"
    assert f"G2L100 `{joined}` {joins} `{operand}`, which is not a hidden state, to the hidden state" in capsys.readouterr().out


def test_a_gru_class_held_in_a_class_body_and_made_through_self_is_reported(tmp_path, capsys):
    # `Cell = nn.GRUCell` in the class, `self.Cell(4, 8)`: the file was passed over as one that only holds the class,
    # "left unchanged" (exit 0) though it makes a GRU
    agent = """\
        import torch
        from torch import nn


        class Agent(nn.Module):
            Cell = nn.GRUCell

            def __init__(self):
                super().__init__()
                self.cell = self.Cell(4, 8)

            def forward(self, x, h):
                return self.cell(x, h)
    """
    write(tmp_path, {"agent.py": agent, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--check", str(tmp_path)]) == 1
    assert capsys.readouterr().out == (
        f"{tmp_path / 'agent.py'}:6:12: G2L101 the class `nn.GRUCell` is assigned here, so the modules made from it are "
        "not followed: each would become an LSTM, whose state is (h, c), while the code around it still passes and takes "
        "one tensor; use `nn.GRU(...)` by its name where the module is made, or migrate this by hand\n"
    )


PER_AGENT = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)

        def blank(self):
            return torch.zeros(1, 8)

        def forward(self, obs, h):
            h = self.cell(obs, h)
            return h.sum(-1), h


    class Actor:
        def __init__(self, policy, agent_ids):
            self.policy = policy
            self.hiddens = {aid: policy.blank() for aid in agent_ids}

        def act(self, observations):
            ids = sorted(observations)
            h = torch.cat([self.hiddens[a] for a in ids], 0)
            out, h = self.policy(torch.stack([observations[a] for a in ids]), h)
            for a, row in zip(ids, h.split(1, 0)):
                self.hiddens[a] = row.detach()
            return out
"""

DRIVE_PER_AGENT = """\
    import torch
    from policy import Actor, Policy

    actor = Actor(Policy(), ["pursuer_0", "evader_0"])
    for t in range(4):
        actor.act({aid: torch.randn(4) for aid in actor.hiddens})
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_loop_in_another_file_over_a_dict_of_states_sees_its_keys(tmp_path, form):
    # `for aid in actor.hiddens` in driver.py, walked before policy.py made it a dict: taken for a loop over the
    # states, written `aid[0]` (exit 0, a KeyError)
    write(tmp_path, {"policy.py": PER_AGENT, "driver.py": DRIVE_PER_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "for aid in actor.hiddens}" in (tmp_path / "driver.py").read_text()
    run_migrated(tmp_path, "import driver")


GOT_PER_KEY = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.hiddens = {}

        def act(self, aid, obs):
            h = self.hiddens.get(aid)
            if h is None:
                h = torch.zeros(1, 8)
            h = self.cell(obs, h)
            self.hiddens[aid] = h.detach()
            return h.sum()


    agent = Agent()
    for t in range(3):
        for aid in ["a", "b"]:
            agent.act(aid, torch.randn(1, 4))
"""


def test_a_state_got_from_a_dict_by_key_is_refused_as_two_names_and_migrates_packed(tmp_path, capsys):
    # the tuple form wrote `h, c = (self.hiddens.get(aid), None)`: the pair stored there became h (exit 0, a crash)
    write(tmp_path, {"agent.py": GOT_PER_KEY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out == (
        f"{tmp_path / 'agent.py'}:12:9: G2L100 `h` may be None here, and the tuple form holds this state as two names, "
        "`h` and `c`, which None cannot start; start it as a state (`torch.zeros(...)`), or migrate this use by hand so "
        "that it handles the pair (h, c)\n"
    )
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0  # auto: packed
    run_migrated(tmp_path, "import agent")


def test_a_loop_over_a_module_s_global_dict_of_states_sees_its_keys(tmp_path):
    # `HIDDENS = {}` in store.py, iterated by driver.py walked first: `aid` was taken for a state (G2L100 `.upper()`)
    agent = GOT_PER_KEY.replace("import torch.nn as nn\n", "import torch.nn as nn\n\n    import store\n").replace(
        "self.hiddens", "store.HIDDENS").replace("            store.HIDDENS = {}\n", "").partition("\n\n    agent = Agent()")[0]
    driver = """\
        import torch
        import store
        from agent import Agent

        agent = Agent()
        for aid in ["a", "b"]:
            agent.act(aid, torch.randn(1, 4))
        for t in range(3):
            names = [aid.upper() for aid in store.HIDDENS]
            for aid in list(store.HIDDENS):
                agent.act(aid, torch.randn(1, 4))
    """
    write(tmp_path, {"agent.py": agent, "store.py": "HIDDENS = {}\n", "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")
