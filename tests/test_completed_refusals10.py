"""Gaps the red teams of session 33 found (complete13). A tensor the module owns (a registered
buffer, a parameter) added to the state is an offset of h, not a state: it is refused in both forms
(packed took it for a state and doubled it, so c got the offset too). A Dreamer dict of a state and
other values masked by a comprehension migrates packed (the mask scales [h|c] as it scales the
rest); the tuple refusal names the keys and what to do. An untraced list appended to storage is
named as such (it was "this return"). An inherited TypedDict field gets the pair's annotation.
Each project is migrated then run (its LSTM must get a non-zero c), or the exact finding asserted."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

OFFSET_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            OFFSET

        def initial(self, n):
            return torch.zeros(n, 8)

        def forward(self, x, h):
            h = h + self.offset
            h = self.cell(x, h)
            return self.pi(h), h


    agent = Agent()
    h = agent.initial(3)
    for t in range(4):
        y, h = agent(torch.randn(3, 4), h)
"""

OFFSETS = [
    "self.register_buffer('offset', torch.zeros(8)); nn.init.normal_(self.offset)",
    "self.register_buffer('offset', torch.zeros(8))",
    "self.offset = nn.Parameter(torch.randn(8))",
]
ADDED = {
    "tuple": "agent.py:16:13: G2L100 `h + self.offset` adds `self.offset`, which is not a hidden state, to the hidden state",
    "auto": "agent.py:16:13: G2L100 `h + self.offset` adds `self.offset`, which is not a hidden state, to the hidden state",
    "packed": "agent.py:16:13: G2L100 `h + self.offset` combines the hidden state with `self.offset`",
}


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_a_tensor_the_module_owns_added_to_the_state_is_refused(tmp_path, capsys, form, offset):
    write(tmp_path, {"agent.py": OFFSET_AGENT.replace("OFFSET", offset), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    assert f"{tmp_path}/{ADDED[form]}" in capsys.readouterr().out
    assert (tmp_path / "agent.py").read_text() == before


RSSM = """\
    import torch
    import torch.nn as nn


    class RSSM(nn.Module):
        def __init__(self):
            super().__init__()
            self._cell = nn.GRUCell(6, 8)
            self._out = nn.Linear(8, 4)

        def initial(self, n):
            return {"stoch": torch.zeros(n, 4), "deter": torch.zeros(n, 8)}

        def step(self, prev, x, is_first):
            mask = (1.0 - is_first.float()).unsqueeze(-1)
            prev = {k: v * mask for k, v in prev.items()}
            deter = self._cell(torch.cat([prev["stoch"], x], -1), prev["deter"])
            stoch = torch.tanh(self._out(deter))
            return {"stoch": stoch, "deter": deter}


    def train():
        torch.manual_seed(0)
        model = RSSM()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        state = model.initial(3)
        loss = 0
        for t in range(6):
            is_first = torch.rand(3) < 0.3
            state = model.step(state, torch.randn(3, 2), is_first)
            loss = loss + state["stoch"].pow(2).mean()
            if t == 2:
                state = {k: v.detach() for k, v in state.items()}
        opt.zero_grad()
        loss.backward()
        opt.step()
        return state
"""


@pytest.mark.parametrize("form", ["packed", "auto"])
def test_a_dreamer_dict_of_states_masked_by_a_comprehension_migrates_packed(tmp_path, form):
    # G2L101 "beside other values" before: the mask scales [h|c] as it scales stoch
    write(tmp_path, {"rssm.py": RSSM, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    migrated = (tmp_path / "rssm.py").read_text()
    assert "prev = {k: v * mask for k, v in prev.items()}" in migrated
    assert 'stoch = torch.tanh(self._out(deter.chunk(2, dim=-1)[0]))' in migrated
    run_migrated(tmp_path, """\
        from rssm import train

        state = train()
        assert state["deter"].shape == (3, 16) and state["deter"][:, 8:].abs().sum() > 0, state["deter"]
    """)


def test_a_dreamer_dict_of_states_masked_by_a_comprehension_names_the_key_in_the_tuple_form(tmp_path, capsys):
    write(tmp_path, {"rssm.py": RSSM, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'rssm.py'}:16:41: G2L101 `prev` holds hidden states (key `'deter'`) beside other values and is iterated "
        "by `.items()`, so the engine cannot tell them apart: with (h, c) there, one expression cannot be written for the "
        "state and for the other values (key `'stoch'`) alike; write the expression out key by key, or keep the hidden "
        "states in a container of their own"
    ) in capsys.readouterr().out


def test_a_comprehension_scaling_the_dict_by_a_tensor_as_wide_as_h_stays_refused_packed(tmp_path, capsys):
    # stoch as wide as deter: `v * w` scales both in the GRU program, but not the packed [h|c]
    project = RSSM.replace("nn.Linear(8, 4)", "nn.Linear(8, 8)").replace("torch.zeros(n, 4)", "torch.zeros(n, 8)")
    project = project.replace("nn.GRUCell(6, 8)", "nn.GRUCell(10, 8)").replace("v * mask", "v * self.w")
    project = project.replace("self._out = nn.Linear(8, 8)", "self._out = nn.Linear(8, 8)\n            self.w = torch.ones(8)")
    write(tmp_path, {"rssm.py": project, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert f"{tmp_path / 'rssm.py'}:17:43: G2L101 `prev` holds hidden states (key `'deter'`) beside other values" in capsys.readouterr().out


def test_an_untraced_list_appended_to_storage_is_named_as_such(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": "", "player.py": """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 8)

            def get_default_rnn_state(self):
                return (torch.zeros(1, 3, 8),)

            def forward(self, x, states):
                if len(states) == 1:
                    states = states[0]
                out, states = self.gru(x, states)
                return out, (states,)


        net = Net()
        states = net.get_default_rnn_state()
        states = [s.to("cpu") for s in states]
        mb = []
        for t in range(3):
            mb.append([s.clone() for s in states])
            out, states = net(torch.randn(1, 3, 4), states)
    """})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'player.py'}:25:16: G2L101 `mb` holds hidden states, but here it is given a list of `s.clone()` "
        "(`[s.clone() for s in states]`), built from pieces the engine cannot trace back to a state"
    ) in capsys.readouterr().out


def test_an_inherited_typed_dict_field_gets_the_pair_annotation(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "agent.py": """\
        import torch
        import torch.nn as nn
        from typing import TypedDict


        class Base(TypedDict):
            hidden: torch.Tensor


        class Carry(Base):
            steps: int


        class Agent(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.GRUCell(4, 8)
                self.pi = nn.Linear(8, 2)

            def start(self, n) -> Carry:
                return Carry(hidden=torch.zeros(n, 8), steps=0)

            def forward(self, x, carry: Carry):
                h: torch.Tensor = self.cell(x, carry["hidden"])
                return self.pi(h), Carry(hidden=h, steps=carry["steps"] + 1)


        def train():
            torch.manual_seed(0)
            agent = Agent()
            opt = torch.optim.SGD(agent.parameters(), lr=0.1)
            carry = agent.start(3)
            loss = 0
            for t in range(5):
                y, carry = agent(torch.randn(3, 4), carry)
                loss = loss + y.pow(2).mean()
                if t == 2:
                    carry = agent.start(3)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return carry
    """})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    migrated = (tmp_path / "agent.py").read_text()
    assert "class Base(TypedDict):\n    hidden: Tuple[torch.Tensor, torch.Tensor]\n" in migrated
    run_migrated(tmp_path, """\
        import typing

        import torch
        from agent import Base, train

        carry = train()
        assert typing.get_type_hints(Base)["hidden"] == typing.Tuple[torch.Tensor, torch.Tensor]
        assert len(carry["hidden"]) == 2 and carry["hidden"][1].abs().sum() > 0
    """)
