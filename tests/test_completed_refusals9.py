"""Code the engine refused although it could migrate it soundly (session 33, complete12): an update
of the state computed from the state itself (`h - h.mean(-1, keepdim=True)`, `h + 0.01 *
torch.randn_like(h)`) is written per half in the tuple form, each half from itself alone; the
packed form, where a reduction or a draw over the last dimension would mix h and c, stays refused
and `auto` holds it as a tuple. Each project is migrated, then run: its LSTM must get (h, c) with
a non-zero c and training must run."""

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
            self.pi = nn.Linear(8, 2)

        def initial(self, n):
            return torch.zeros(n, 8)

        def forward(self, x, h):
            h_old = h
            h = UPDATE
            h = self.cell(x, h)
            return self.pi(h), h


    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    h = agent.initial(3)
    loss = 0
    for t in range(6):
        y, h = agent(torch.randn(3, 4), h)
        loss = loss + y.sum()
        if t == 3:
            h = agent.initial(3)
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

# (the update, its tuple form)
OWN_HALF = [
    ("h - h.mean(-1, keepdim=True)", "h = (h[0] - h[0].mean(-1, keepdim=True), h[1] - h[1].mean(-1, keepdim=True))"),
    ("h - h.mean(1, keepdim=True)", "h = (h[0] - h[0].mean(1, keepdim=True), h[1] - h[1].mean(1, keepdim=True))"),
    ("h / (h.abs().amax(-1, keepdim=True) + 1)",
     "h = (h[0] / (h[0].abs().amax(-1, keepdim=True) + 1), h[1] / (h[1].abs().amax(-1, keepdim=True) + 1))"),
    ("h / (h.norm() + 1)", "h = (h[0] / (h[0].norm() + 1), h[1] / (h[1].norm() + 1))"),
    # noise in the state's shape: each half its own draw, as one draw over [h|c] would give
    ("h + 0.01 * torch.randn_like(h)", "h = (h[0] + 0.01 * torch.randn_like(h[0]), h[1] + 0.01 * torch.randn_like(h[0]))"),
]


@pytest.mark.parametrize("update, written", OWN_HALF, ids=[update for update, _ in OWN_HALF])
@pytest.mark.parametrize("form", ["tuple", "auto"])
def test_an_update_computed_from_the_state_itself_is_written_per_half(tmp_path, form, update, written):
    write(tmp_path, {"agent.py": AGENT.replace("UPDATE", update), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert written in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")


@pytest.mark.parametrize("update, finding", [
    ("h - h.mean(-1, keepdim=True)", "16:17: G2L100 `h.mean(-1, keepdim=True)` acts along the last dimension of the hidden state"),
    ("h + 0.01 * torch.randn_like(h)", "16:13: G2L100 `h + 0.01 * torch.randn_like(h)` combines the hidden state with "
     "`0.01 * torch.randn_like(h)`, drawn at random"),
])
def test_the_packed_form_still_refuses_what_would_mix_h_and_c(tmp_path, capsys, update, finding):
    write(tmp_path, {"agent.py": AGENT.replace("UPDATE", update), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert f"{tmp_path / 'agent.py'}:{finding}" in capsys.readouterr().out


@pytest.mark.parametrize("update, finding", [
    # another state than the one carried: which half of it each half takes is no rule
    ("h - h_old.mean(-1, keepdim=True)", "16:17: G2L100 `h - h_old.mean(-1, keepdim=True)` reads the hidden state in `h` "
     "and again in `h_old`"),
    # a draw of another shape than the state's: it may be a mask, and per half h and c would differ
    ("h + 0.01 * torch.randn(3, 8)", "16:24: G2L100 `torch.randn(3, 8)` draws random numbers"),
    # a function the state's read is handed to, not known to only compute
    ("h * torch.nn.functional.softmax(h, -1)", "16:45: G2L100 `h * torch.nn.functional.softmax(h, -1)` reads the hidden "
     "state in `h` and again in `h`"),
    # an operand that is no state: what c gets is a choice
    ("h + self.pi.weight.sum()", "16:13: G2L100 `h + self.pi.weight.sum()` adds"),
])
def test_what_is_not_computed_from_its_own_half_stays_refused_in_the_tuple_form(tmp_path, capsys, update, finding):
    write(tmp_path, {"agent.py": AGENT.replace("UPDATE", update), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert f"{tmp_path / 'agent.py'}:{finding}" in capsys.readouterr().out


LAMBDA_AGENT = AGENT.replace("            h_old = h\n", "            keep = KEEP\n").replace("h = UPDATE", "h = h * keep(h_done)").replace(
    "def forward(self, x, h):", "def forward(self, x, h, h_done=torch.zeros(3)):"
)


def test_a_local_lambda_that_only_computes_is_called_once_per_half(tmp_path):
    # `keep(done)` was "would run twice ... cannot tell that it only computes": its body only computes
    write(tmp_path, {"agent.py": LAMBDA_AGENT.replace("KEEP", "lambda d: (1 - d).unsqueeze(-1)"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "h = (h[0] * keep(h_done), h[1] * keep(h_done))" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")


@pytest.mark.parametrize("keep", [
    "lambda d: (torch.rand(3, 1) < 0.5).float()",  # each half its own draw
    "lambda d: agent_calls.append(d) or (1 - d).unsqueeze(-1)",  # called twice, appended twice
])
def test_a_local_lambda_that_may_do_more_than_compute_stays_refused(tmp_path, capsys, keep):
    agent = LAMBDA_AGENT.replace("KEEP", keep).replace("    class Agent", "    agent_calls = []\n\n\n    class Agent")
    write(tmp_path, {"agent.py": agent, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert "G2L100 `keep(h_done)` would run twice, once per half of the hidden state" in capsys.readouterr().out


HELD_LAMBDA_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)
            self.blank = lambda n: self.h0.expand(1, n, 8).contiguous()
            self.h0 = torch.zeros(1, 1, 8)

        def forward(self, x, h):
            out, h = self.gru(x.unsqueeze(0), h)
            return self.pi(out[0]), h


    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    loss = 0
    h = agent.blank(3)
    for t in range(6):
        y, h = agent(torch.randn(3, 4), h)
        loss = loss + y.sum()
        if t == 3:
            h = agent.blank(3)
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


@pytest.mark.parametrize("form, written", [
    ("tuple", "self.blank = lambda n: (self.h0[0].expand(1, n, 8).contiguous(), self.h0[1].expand(1, n, 8).contiguous())"),
    ("packed", "self.blank = lambda n: self.h0.expand(1, n, 2 * 8).contiguous()"),
])
def test_a_held_lambda_reading_a_state_attribute_is_walked_as_its_method_only(tmp_path, form, written):
    # its body is walked as the method `blank` (definitions._held_lambda); the walk of `__init__`
    # also handed its read of `self.h0` over as "used inside `lambda ...`" (G2L100)
    write(tmp_path, {"agent.py": HELD_LAMBDA_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert written in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import agent")


def test_a_lambda_reading_a_local_beside_a_state_attribute_stays_refused(tmp_path, capsys):
    agent = HELD_LAMBDA_AGENT.replace("self.h0.expand(1, n, 8)", "self.h0.expand(1, n, width)").replace(
        "super().__init__()\n", "super().__init__()\n            width = 8\n"
    )
    write(tmp_path, {"agent.py": agent, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    # it runs on what `__init__` had there: not a method (tests/test_completed_refusals8.py)
    assert "; define `blank` as a method of the class that makes the state (`def blank(self, ...)`)" in capsys.readouterr().out


PER_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.pi = nn.Linear(8, 2)
            self.hiddens = {}

        def forward(self, aid, x):
            h = self.hiddens.get(aid)
            h = h if h is not None else torch.zeros(1, 8)
            h = self.cell(x, h)
            self.hiddens[aid] = h.detach()
            return self.pi(h)

        def snapshot(self):
            return {aid: h.clone() for aid, h in self.hiddens.items()}


    torch.manual_seed(0)
    agent = Agent()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    loss = 0
    for t in range(6):
        for aid in ("a", "b"):
            loss = loss + agent(aid, torch.randn(1, 4)).sum()
        if t == 3:
            del agent.hiddens["a"]
    snap = agent.snapshot()
    assert KEYS(snap) == KEYS(["a", "b"])
    assert all(h.shape[0] == 1 for h in snap.values())  # one row each (the packed width compared would be refused)
    opt.zero_grad()
    loss.backward()
    opt.step()
"""


@pytest.mark.parametrize("keys", ["set", "frozenset", "sorted"])
@pytest.mark.parametrize("form", ["packed", "auto"])
def test_the_keys_of_a_dict_of_states_taken_by_a_builtin_are_no_states(tmp_path, form, keys):
    # `set(snap)` was G2L101 "passed to `set`, which the engine cannot follow": iterated, a dict gives its keys
    # (the tuple form refuses `self.hiddens.get(aid)`, which may be None: tests/test_redteam_wave21.py)
    write(tmp_path, {"agent.py": PER_AGENT.replace("KEYS", keys), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import agent")
