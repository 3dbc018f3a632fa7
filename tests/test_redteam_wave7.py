"""Red team, wave 7 (our own small projects in the styles of polymorphic policies, Tianshou's dict
state, a Hydra-like config with A3C workers, typed and scripted code, mixins and delegation, and an
ensemble of recurrent critics): what the engine got wrong there, each case migrated and run, or
refused with a finding that names the place."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- a list of states inside a stored tuple
CRITICS = """\
    import torch
    import torch.nn as nn


    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8)

        def forward(self, x, h):
            out, h = self.rnn(x, h)
            return out, h


    def main():
        critics = [Critic(), Critic()]
        items = []
        states = [torch.zeros(1, 1, 8) for _ in critics]
        for _ in range(3):
            new = []
            for critic, h in zip(critics, states):
                _, h = critic(torch.randn(2, 1, 4), h)
                new.append(h)
            items.append((1.0, [s.clone() for s in new]))
            states = new
        chosen = items[-2:]
        # one batch per critic: the element m of the list at position 1 of each stored tuple
        batched = [torch.cat([c[1][m] for c in chosen], 1) for m in range(2)]
        return [critic(torch.randn(2, 2, 4), h) for critic, h in zip(critics, batched)]
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_an_element_of_a_list_held_at_a_position_of_a_stored_tuple_is_a_state(tmp_path, form):
    # `c[1][m]` was read as a slice of a state at `c[1]` (tuple form: `c[1][0][m]`, an IndexError),
    # or not seen at all (the clone and the cat left one tensor): exit 0, broken.
    write(tmp_path, {"pyproject.toml": "", "critics.py": CRITICS})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "critics.py").read_text()
    if form == "tuple":
        assert "c[1][m][0] for c in chosen" in text and "(s[0].clone(), s[1].clone())" in text
    run_migrated(tmp_path, "import critics\ncritics.main()\n")


# ---------------------------------------------------------------- a class named by a config for a loader
MODELS = """\
    import torch
    import torch.nn as nn


    class GRUActor(nn.Module):
        def __init__(self, size=8):
            super().__init__()
            self.cell = nn.GRUCell(4, size)

        def forward(self, inputs):
            x, hx = inputs
            hx = self.cell(x, hx)
            return hx.sum(-1), hx
"""

INSTANTIATE = """\
    import importlib


    def instantiate(cfg):
        module_name, _, attr = cfg["_target_"].rpartition(".")
        target = getattr(importlib.import_module(module_name), attr)
        return target(**{k: v for k, v in cfg.items() if k != "_target_"})
"""

WORKER = """\
    import torch

    from pkg.instantiate import instantiate


    def worker(cfg):
        model = instantiate(cfg)
        hx = torch.zeros(1, 8)
        for _ in range(3):
            value, hx = model((torch.randn(1, 4), hx))
        return value
"""


@pytest.mark.parametrize("config", [
    {"conf/a3c.yaml": "model:\n  _target_: pkg.models.GRUActor\n  size: 8\n"},
    {"pkg/config.py": 'MODEL = {"_target_": "pkg.models.GRUActor", "size": 8}\n'},
])
def test_a_class_a_config_names_for_an_import_by_a_computed_name_blocks_the_group(tmp_path, config):
    # Hydra's `instantiate`: the import's name has no literal start, and the loader's file never
    # spells the class, so the import did not count; the model was written and the worker still
    # passed one tensor (exit 0, broken).
    files = {"pyproject.toml": "", "pkg/__init__.py": "", "pkg/models.py": MODELS,
             "pkg/instantiate.py": INSTANTIATE, "pkg/worker.py": WORKER, **config}
    write(tmp_path, files)
    before = (tmp_path / "pkg/models.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (tmp_path / "pkg/models.py").read_text() == before


def test_an_import_by_a_computed_name_no_config_names_for_still_does_not_block(tmp_path):
    # A plugin loader that nothing ties to the model does not block its migration.
    worker = WORKER.replace("from pkg.instantiate import instantiate", "from pkg.models import GRUActor").replace(
        "instantiate(cfg)", "GRUActor()")
    write(tmp_path, {"pyproject.toml": "", "pkg/__init__.py": "", "pkg/models.py": MODELS,
                     "pkg/instantiate.py": INSTANTIATE, "pkg/worker.py": worker,
                     "conf/a3c.yaml": "model:\n  _target_: pkg.plugins.Other\n"})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "from pkg.worker import worker\nworker({})\n")


def test_a_loaded_object_called_with_the_state_inside_a_tuple_of_inputs_is_refused(tmp_path, capsys):
    # `value, hx = model((x, hx))` on a pickled model: the state passed inside the first argument
    # was not seen as taken back, so the file went on passing one tensor (exit 0, broken).
    play = """\
        import torch


        def play(path):
            model = torch.load(path)
            hx = torch.zeros(1, 8)
            for _ in range(3):
                value, hx = model((torch.randn(1, 4), hx))
            return value
    """
    write(tmp_path, {"pyproject.toml": "", "models.py": MODELS, "play.py": play})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "G2L101" in out and "model((torch.randn(1, 4), hx))` at line 8" in out


# ---------------------------------------------------------------- two scripted instances of one class
SCRIPTED_TWICE = """\
    import torch
    import torch.nn as nn


    class QNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return out, h


    class Agent:
        def __init__(self):
            self.net = torch.jit.script(QNet())
            self.target = torch.jit.script(QNet())
            self.target.load_state_dict(self.net.state_dict())

        def learn(self, x, h):
            q, _ = self.net(x, h)
            with torch.no_grad():
                q_next, _ = self.target(x, h)
            return (q - q_next).sum()


    def main():
        return Agent().learn(torch.randn(2, 1, 4), torch.rand(1, 1, 8))
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_second_scripted_instance_of_a_class_is_followed(tmp_path, form):
    # The online and target nets, each `torch.jit.script(QNet())`: the second was not tied to its
    # class (a union made for the first changed the class's representative), so its call was a
    # G2L101 "`self.target`, which the engine cannot follow".
    write(tmp_path, {"pyproject.toml": "", "agent.py": SCRIPTED_TWICE})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTM(4, 8)" in (tmp_path / "agent.py").read_text()
    # run without the LSTM watch: TorchScript cannot compile a patched forward()
    done = subprocess.run([sys.executable, "-c", "import agent; agent.main()"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- polymorphic policies from a registry
POLICIES = """\
    import torch
    import torch.nn as nn


    class BasePolicy(nn.Module):
        is_recurrent = False

        def initial_state(self, n):
            return None

        def act(self, obs, state):
            raise NotImplementedError


    class GRUPolicy(BasePolicy):
        is_recurrent = True

        def __init__(self):
            super().__init__()
            self.rnn = nn.GRUCell(4, 8)

        def initial_state(self, n):
            return torch.zeros(n, 8)

        def act(self, obs, state):
            state = self.rnn(obs, state)
            return state.sum(-1), state

        def evaluate(self, seq, state):
            return [self.act(x, state)[0] for x in seq]


    class MLPPolicy(BasePolicy):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 1)

        def act(self, obs, state):
            return self.fc(obs).squeeze(-1), state


    POLICIES = {"gru": GRUPolicy, "mlp": MLPPolicy}
"""

RUNNER = """\
    import torch


    class Runner:
        def __init__(self, policy):
            self.policy = policy
            self.state = policy.initial_state(3)

        def collect(self):
            for _ in range(3):
                with torch.no_grad():
                    value, next_state = self.policy.act(torch.randn(3, 4), self.state)
                if self.policy.is_recurrent:
                    self.state = next_state
            return value
"""

TRAIN = """\
    import torch

    from policies import POLICIES
    from runner import Runner


    def main(name):
        runner = Runner(POLICIES[name]())
        value = runner.collect()
        if name == "gru":
            runner.policy.evaluate([torch.randn(3, 4)], runner.state)
        return value
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_an_instance_from_a_registry_of_several_classes_handed_to_another_file_is_followed(tmp_path, form):
    # `Runner(POLICIES[name]())`, Runner in a file that imports no policy: the instance (any of
    # two classes) went to code outside the group unreported, so only `act` changed and
    # `initial_state` still made one tensor (exit 0, broken). Reported, the group is widened and
    # the runner's calls are followed; `policy.act` was taken for an attribute of the one class
    # that calls `self.act`, and not followed (a wrong G2L101).
    write(tmp_path, {"pyproject.toml": "", "policies.py": POLICIES, "runner.py": RUNNER, "train.py": TRAIN})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTMCell(4, 8)" in (tmp_path / "policies.py").read_text()
    run_migrated(tmp_path, "import train\ntrain.main('gru')\ntrain.main('mlp')\n")


# ---------------------------------------------------------------- a dict state reset by any key
DICT_STATE = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def forward(self, x, state):
            out, h = self.gru(x, state["hidden"])
            return out, {"hidden": h}


    def reset_state(state, ids):
        for key in state:
            state[key][:, ids] = 0
        return state


    def main():
        net = Net()
        state = {"hidden": torch.rand(1, 3, 8)}
        for t in range(4):
            out, state = net(torch.randn(2, 3, 4), state)
            state = reset_state(state, torch.tensor([t % 3]))
        return state
"""


def test_a_dict_of_states_read_with_a_name_as_key_is_refused_in_tuple_form(tmp_path, capsys):
    # Tianshou's reset of a dict state: `state[key]` was not tied to the states, so it stayed
    # `state[key][:, ids] = 0` on a pair (exit 0, a TypeError on the first reset).
    write(tmp_path, {"pyproject.toml": "", "net.py": DICT_STATE})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert "net.py:17:9: G2L101 `state` holds hidden states (key `'hidden'`) and is read with `key` as its key" in capsys.readouterr().out


def test_a_dict_of_states_read_with_a_name_as_key_migrates_in_packed_form(tmp_path):
    # packed, the value read is one tensor like before; `[:, ids]` names no last dimension
    write(tmp_path, {"pyproject.toml": "", "net.py": DICT_STATE})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import net\nnet.main()\n")


# ---------------------------------------------------------------- the state inside a tuple of the inputs
A3C = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class ActorCritic(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 8)
            self.cell = nn.GRUCell(8, 8)
            self.actor = nn.Linear(8, 2)
            self.critic = nn.Linear(8, 1)

        def init_hidden(self):
            return torch.zeros(1, 8)

        def forward(self, inputs):
            x, hx = inputs
            hx = self.cell(F.elu(self.fc(x)), hx)
            return self.critic(hx), self.actor(hx), hx


    def worker(steps=4):
        model = ActorCritic()
        hx = model.init_hidden()
        for t in range(steps):
            value, logits, hx = model((torch.randn(1, 4), hx))
            if t == 2:
                hx = model.init_hidden()
            else:
                hx = hx.detach()
        return value
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_inside_a_tuple_of_the_inputs_is_no_pair_to_the_output_check(tmp_path, form):
    # `model((state, hx))` with hx a pair: the output check took the literal `(state, hx)` for a
    # pair (h, c), so `x, (hx, cx) = inputs` read c from its second item and the heads fed "c":
    # exit 123 on a correct migration.
    write(tmp_path, {"pyproject.toml": "", "a3c.py": A3C})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import a3c\na3c.worker()\n")
