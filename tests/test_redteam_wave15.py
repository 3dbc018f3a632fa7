"""Red team, wave 15 (styles no earlier wave used: RLlib-style models, RL^2, GTrXL gates, truncated
BPTT, packed sequences, multi-agent dicts, wrappers, tensor ops on the state, world models,
curiosity modules, partials, numpy round trips): what the engine got wrong there, each case
migrated and run, or refused with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- a state taken from `d.setdefault(k, h0)`
TEAM = {
    "pyproject.toml": "",
    "ma.py": """\
        import torch
        import torch.nn as nn

        H = 8


        class Policy(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.GRUCell(4, H)
                self.pi = nn.Linear(H, 3)

            def forward(self, obs, h):
                h = self.cell(obs, h)
                return self.pi(h), h


        class Team:
            def __init__(self, agents):
                self.policy = Policy()
                self.agents = agents
                self.hidden = dict.fromkeys(agents, torch.zeros(1, H))

            def step(self, obs_dict, dones):
                for aid, obs in obs_dict.items():
                    logits, self.hidden[aid] = self.policy(obs.unsqueeze(0), self.hidden.get(aid, torch.zeros(1, H)))
                    if dones[aid]:
                        self.hidden.pop(aid)
                return logits

            def joint(self):
                return torch.cat([self.hidden.setdefault(a, torch.zeros(1, H)) for a in self.agents], 0)
    """,
    "driver.py": """\
        import torch
        from ma import Team


        def main():
            team = Team(["a0", "a1"])
            for t in range(4):
                team.step({a: torch.randn(4) for a in team.agents}, {a: t == 1 and a == "a1" for a in team.agents})
            logits, _ = team.policy(torch.randn(2, 4), team.joint().detach())
            logits.sum().backward()
    """,
}


def test_a_join_of_states_taken_by_setdefault_is_a_state_when_its_file_is_given_alone(tmp_path, capsys, monkeypatch):
    # pre-commit, ma.py alone: `self.hidden.setdefault(a, h0)` either gives the kept state or the
    # default, but the join of them was not seen as a state, so joint() kept returning what was
    # now a list of pairs to torch.cat: exit 0, then a TypeError in driver.py
    write(tmp_path, TEAM)
    before = (tmp_path / "ma.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "ma.py"]) == 1
    out = capsys.readouterr().out
    assert "ma.py:31:9: G2L202 interface change: the return value of `Team.joint()` becomes (h, c)" in out
    assert "`Policy.forward()` and `Team.joint()` now take or return (h, c), and driver.py imports from this file" in out
    assert (tmp_path / "ma.py").read_text() == before


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_join_of_states_taken_by_setdefault_is_migrated_with_its_project(tmp_path, monkeypatch, form):
    write(tmp_path, TEAM)
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, "."]) == 0
    run_migrated(tmp_path, "import driver\ndriver.main()")


# ---------------------------------------------------------------- a method a library calls
RLLIB = {
    "pyproject.toml": "",
    "model.py": """\
        import torch
        import torch.nn as nn
        from ray.rllib.models.torch.torch_modelv2 import TorchModelV2


        class RecurrentModel(TorchModelV2, nn.Module):
            def __init__(self, obs_space, action_space, num_outputs, model_config, name, cell_size=8):
                TorchModelV2.__init__(self, obs_space, action_space, num_outputs, model_config, name)
                nn.Module.__init__(self)
                self.cell_size = cell_size
                self.fc = nn.Linear(obs_space.shape[0], cell_size)
                self.gru = nn.GRU(cell_size, cell_size, batch_first=True)
                self.logits = nn.Linear(cell_size, num_outputs)

            def get_initial_state(self):
                return [self.fc.weight.new_zeros(self.cell_size)]

            def forward_rnn(self, inputs, state, seq_lens):
                out, h = self.gru(torch.relu(self.fc(inputs)), state[0].unsqueeze(0))
                return self.logits(out), [h.squeeze(0)]
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_method_of_a_library_class_that_nothing_here_calls_is_refused(tmp_path, capsys, monkeypatch, form):
    # RLlib calls forward_rnn() with its list of one [B, H] tensor per state and stacks what it
    # returns: the tuple form wrote `(state[0][0], state[1][0])` and returned `[(h, c)]` with a
    # warning only (G2L202), exit 0
    write(tmp_path, RLLIB)
    before = (tmp_path / "model.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, "."]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "model.py:18:9: G2L101 the parameter `state` and the return value (a hidden state inside it) of "
        "`RecurrentModel.forward_rnn()` become (h, c), and nothing analysed "
        "calls it; its class derives from `ray.rllib.models.torch.torch_modelv2.TorchModelV2`, a library's class, so the "
        "library may call it and would still pass and take one tensor there; migrate it by hand to what that library passes"
    ]
    assert (tmp_path / "model.py").read_text() == before


# ---------------------------------------------------------------- a GRU cell used as a gate
GATED = {
    "pyproject.toml": "",
    "blocks.py": """\
        import torch
        import torch.nn as nn


        class GatedResidual(nn.Module):
            def __init__(self, dim):
                super().__init__()
                self.sub = nn.Linear(dim, dim)
                self.gate = nn.GRUCell(dim, dim)

            def forward(self, x):
                y = torch.relu(self.sub(x))
                return self.gate(y, x)


        class Agent(nn.Module):
            def __init__(self, dim=8):
                super().__init__()
                self.enc = nn.Linear(5, dim)
                self.block = GatedResidual(dim)
                self.gru = nn.GRU(dim, dim)

            def forward(self, obs, h):
                out, h = self.gru(self.block(self.enc(obs)).unsqueeze(0), h)
                return out[0], h
    """,
}


def test_a_gru_cell_gating_two_activations_is_refused_naming_the_parameter_it_gates(tmp_path, capsys, monkeypatch):
    # GTrXL: the cell mixes the residual stream `x` into the sublayer's output; `x` is no state
    # carried across steps, so an LSTMCell there is wrong. The finding said "the hidden state held
    # by `self.enc(obs)` comes from `self.enc(obs)`"; it names the parameter and the layer
    write(tmp_path, GATED)
    before = (tmp_path / "blocks.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "."]) == 1
    assert (
        "blocks.py:24:38: G2L101 the parameter `x` of `GatedResidual.forward()` holds the hidden state, but here it receives "
        "`self.enc(obs)`, features of the layer `self.enc`, which is not recurrent, so there is no cell state to carry with it; "
        "give it one by hand, for example `(h, torch.zeros_like(h))`, or, where the recurrent module it reaches only gates two "
        "activations and carries nothing across steps (a GTrXL gate), keep that module a GRU by hand"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "blocks.py").read_text() == before


# ---------------------------------------------------------------- states in a dict global to another module
REGISTRY = {
    "pyproject.toml": "",
    "shared.py": """\
        HIDDEN = {}
    """,
    "policy.py": """\
        import torch.nn as nn

        import shared


        class Policy(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(5, 8)
                self.pi = nn.Linear(8, 2)

            def act(self, obs, env_id):
                h = shared.HIDDEN.get(env_id)
                out, h = self.gru(obs.view(1, 1, -1), h)
                shared.HIDDEN[env_id] = h
                return self.pi(out[0, 0])
    """,
    "runner.py": """\
        import torch

        import shared


        def reset_env(env_id, size):
            shared.HIDDEN[env_id] = torch.zeros(1, 1, size)


        def joint_state():
            return torch.cat([shared.HIDDEN[k] for k in sorted(shared.HIDDEN)], 1)
    """,
    "driver.py": """\
        import torch
        from policy import Policy
        from runner import joint_state, reset_env


        def main():
            pol = Policy()
            for t in range(4):
                for env_id in range(2):
                    logits = pol.act(torch.randn(5), env_id)
                if t == 1:
                    reset_env(1, 8)
            out, _ = pol.gru(torch.randn(1, 2, 5), joint_state().detach())
            (logits.sum() + out.sum()).backward()
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_dict_of_states_global_to_a_module_imported_whole_is_that_modules_global(tmp_path, monkeypatch, form):
    # `shared.HIDDEN` after `import shared` was an attribute of the name `shared` in each file, not
    # shared.py's dict: the tuple form took it for a preallocated tensor (`shared.HIDDEN[0][env_id] =`,
    # its keys cut as `k[0]`); and the packed form split `shared.HIDDEN.get(env_id)`, None for a
    # new environment, with `.chunk`: exit 0, then a TypeError or an AttributeError
    write(tmp_path, REGISTRY)
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, "."]) == 0
    if form == "packed":
        assert "self.lstm(obs.view(1, 1, -1), None if h is None else h.chunk(2, dim=-1))" in (tmp_path / "policy.py").read_text()
    run_migrated(tmp_path, "import driver\ndriver.main()")


# ---------------------------------------------------------------- a state in a global set by `global`
SCRIPT_AGENT = {
    "pyproject.toml": "",
    "agent.py": """\
        import torch
        import torch.nn as nn

        net = nn.GRUCell(5, 8)
        head = nn.Linear(8, 2)
        hidden = None


        def reset(n):
            global hidden
            hidden = torch.zeros(n, 8)


        def step(obs, done=None):
            global hidden
            if done is not None:
                hidden = hidden * (1 - done).unsqueeze(-1)
            hidden = net(obs, hidden)
            return head(hidden)
    """,
    "driver.py": """\
        import torch
        import agent


        def main():
            agent.reset(3)
            for t in range(4):
                logits = agent.step(torch.randn(3, 5), torch.tensor([t == 2, False, False]).float())
            agent.hidden = agent.hidden.detach()
            agent.step(torch.randn(3, 5)).sum().backward()
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_in_a_global_that_functions_declare_global_is_the_modules_global(tmp_path, monkeypatch, form):
    # `global hidden` in reset() and step(): their assignments were taken for locals, so the tuple
    # form wrote `hidden, cell = net(obs, (hidden, cell))` with `cell` never made, and neither form
    # paired or doubled reset()'s zeros: exit 0, then an UnboundLocalError or a size mismatch
    write(tmp_path, SCRIPT_AGENT)
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, "."]) == 0
    run_migrated(tmp_path, "import driver\ndriver.main()")


def test_a_global_that_holds_the_state_read_by_a_file_not_given_is_refused(tmp_path, capsys, monkeypatch):
    # pre-commit, agent.py alone: driver.py reads `agent.hidden`, which becomes (h, c)
    write(tmp_path, SCRIPT_AGENT)
    before = (tmp_path / "agent.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "agent.py"]) == 1
    assert (
        "agent.py:6:1: G2L101 `agent.hidden` holds the hidden state, which becomes (h, c), and driver.py, which was not given, "
        "reads it at line 9 (`agent.hidden`), so it would still take one tensor there; give that file too (or the project folder)"
    ) in capsys.readouterr().out.splitlines()
    assert (tmp_path / "agent.py").read_text() == before


# ---------------------------------------------------------------- a script-style module read by another as `core.X`
CORE = {
    "pyproject.toml": "",
    "core.py": """\
        import torch
        import torch.nn as nn

        rnn = nn.GRU(5, 8)
        head = nn.Linear(8, 2)
        HISTORY = []
        state = torch.zeros(1, 2, 8)


        def act(obs):
            global state
            HISTORY.append(state)
            out, state = rnn(obs.unsqueeze(0), state)
            return head(out[0])
    """,
    "train.py": """\
        import torch

        import core


        def replay():
            starts = torch.cat(core.HISTORY, 1).detach()
            out, _ = core.rnn(torch.randn(1, starts.shape[1], 5), starts)
            return core.head(out[0]).pow(2).mean()
    """,
    "driver.py": """\
        import torch
        import core
        from train import replay


        def main():
            for t in range(4):
                core.act(torch.randn(2, 5))
            replay().backward()
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_file_that_reads_only_globals_of_the_gru_module_is_migrated_with_it(tmp_path, monkeypatch, form):
    # train.py reads `core.HISTORY` and calls `core.rnn`, no function or class of core.py: it was
    # not grouped with it and kept `torch.cat(core.HISTORY, 1)` of pairs: exit 0, then a TypeError
    write(tmp_path, CORE)
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, "."]) == 0
    run_migrated(tmp_path, "import driver\ndriver.main()")


def test_globals_of_the_gru_module_read_by_a_file_not_given_are_refused(tmp_path, capsys, monkeypatch):
    write(tmp_path, CORE)
    before = (tmp_path / "core.py").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "core.py"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert (
        "core.py:4:1: G2L101 `core.rnn` holds the recurrent module, which becomes an LSTM taking and returning (h, c), and "
        "train.py, which was not given, reads it at line 8 (`core.rnn`), so it would still be called with one tensor there; "
        "give that file too (or the project folder)"
    ) in out
    assert any(line.startswith("core.py:6:1: G2L101 `core.HISTORY` holds the hidden state") for line in out)
    assert (tmp_path / "core.py").read_text() == before
