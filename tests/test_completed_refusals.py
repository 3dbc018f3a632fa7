"""Code the engine refused although it could migrate it soundly (session 27): each project is
migrated in every form, then run, and its LSTM must get (h, c) with a non-zero c; the variants
that still cannot be followed stay refused with the exact finding."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

FORMS = ["tuple", "packed", "auto"]

AGENTS = {
    "agents/__init__.py": "",
    "agents/mlp.py": """\
        import torch.nn as nn


        class MLPAgent(nn.Module):
            def __init__(self, obs_dim, n_actions, hidden=8):
                super().__init__()
                self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))

            def initial_state(self, n):
                return None

            def forward(self, obs, h):
                return self.net(obs), h
    """,
    "agents/rnn.py": """\
        import torch
        import torch.nn as nn


        class RNNAgent(nn.Module):
            def __init__(self, obs_dim, n_actions, hidden=8):
                super().__init__()
                self.hidden = hidden
                self.fc = nn.Linear(obs_dim, hidden)
                self.rnn = nn.GRU(hidden, hidden, batch_first=True)
                self.pi = nn.Linear(hidden, n_actions)

            def initial_state(self, n):
                return torch.zeros(1, n, self.hidden)

            def forward(self, obs, h):
                x = torch.relu(self.fc(obs)).unsqueeze(1)
                out, h = self.rnn(x, h)
                return self.pi(out.squeeze(1)), h
    """,
    "pyproject.toml": "",
}

FACTORY = """\
    from agents.mlp import MLPAgent
    from agents.rnn import RNNAgent

    CLASSES = {"rnn": RNNAgent, "mlp": MLPAgent}


    def instantiate(cfg):
        cls = CLASSES[cfg["agent"]["name"]]
        return cls(**cfg["agent"]["kwargs"])
"""

ROLLOUT = {
    "runner.py": """\
        import torch


        def rollout(agent, steps, n):
            h = agent.initial_state(n)
            logps = []
            for t in range(steps):
                logits, h = agent(torch.randn(n, 4), h)
                logps.append(torch.log_softmax(logits, -1)[:, 0])
                if t == 2:
                    h = agent.initial_state(n)
            return torch.stack(logps)
    """,
    "train.py": """\
        from factory import instantiate
        from runner import rollout


        def train(cfg):
            agent = instantiate(cfg)
            return rollout(agent, 5, 3)
    """,
}

DRIVE_FACTORY = """\
    from train import train

    train({"agent": {"name": "rnn", "kwargs": {"obs_dim": 4, "n_actions": 2}}}).sum().backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_registry_lookup_kept_in_a_variable_and_called_with_kwargs_migrates(tmp_path, form):
    write(tmp_path, {**AGENTS, **ROLLOUT, "factory.py": FACTORY})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "nn.LSTM(hidden, hidden, batch_first=True)" in (tmp_path / "agents/rnn.py").read_text()
    run_migrated(tmp_path, DRIVE_FACTORY)


def test_a_lookup_kept_in_a_variable_that_is_also_stored_stays_refused(tmp_path, capsys):
    factory = FACTORY.replace("    return cls(", "    KINDS.append(cls)\n        return cls(").replace("def instantiate", "KINDS = []\n\n\n    def instantiate")
    write(tmp_path, {**AGENTS, **ROLLOUT, "factory.py": factory})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert f"{tmp_path / 'factory.py'}:4:19: G2L101 `RNNAgent` is used as a value here (a registry, a factory, a callback)" in capsys.readouterr().out


BUILD = """\
    from agents.rnn import RNNAgent

    AGENTS = {"rnn": RNNAgent}


    def build(cls, *args, **kwargs):
        return cls(*args, **kwargs)


    class Controller:
        def __init__(self, name, n):
            agent_cls = AGENTS.get(name)
            if agent_cls is None:
                raise ValueError("unknown agent")
            self.agent = build(agent_cls, 4, n_actions=2)
            self.n = n
            self.state = None

        def reset(self):
            self.state = self.agent.initial_state(self.n)

        def act(self, obs):
            logits, self.state = self.agent(obs, self.state)
            return logits
"""

DRIVE_BUILD = """\
    import torch
    from controller import Controller

    controller = Controller("rnn", 3)
    for episode in range(2):
        controller.reset()
        out = [controller.act(torch.randn(3, 4)) for t in range(4)]
    torch.stack(out).sum().backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_get_lookup_tested_for_none_and_handed_to_a_builder_migrates(tmp_path, form):
    write(tmp_path, {**AGENTS, "controller.py": BUILD})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, DRIVE_BUILD)


def test_a_builder_also_handed_a_class_by_a_star_argument_stays_refused(tmp_path, capsys):
    # `build(*spec)` may give `cls` anything: what build makes is no longer known
    controller = BUILD.replace("self.n = n\n", "self.n = n\n            self.spare = build(*(agent_cls, 4, 2))\n")
    write(tmp_path, {**AGENTS, "controller.py": controller})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert f"{tmp_path / 'controller.py'}:3:18: G2L101 `RNNAgent` is used as a value here" in capsys.readouterr().out


INJECTED = {
    "buffer.py": """\
        import torch


        class RolloutBuffer:
            def __init__(self, steps, envs, hidden):
                self.h = torch.zeros(steps + 1, 1, envs, hidden)

            def store(self, t, h):
                self.h[t + 1] = h

            def after_update(self):
                self.h[0] = self.h[-1]
    """,
    "policy.py": """\
        import torch.nn as nn


        class RecurrentPolicy(nn.Module):
            def __init__(self, obs_dim=4, hidden=8):
                super().__init__()
                self.hidden_size = hidden
                self.gru = nn.GRU(obs_dim, hidden)
                self.critic = nn.Linear(hidden, 1)

            def act(self, obs, h):
                out, h = self.gru(obs.unsqueeze(0), h)
                return self.critic(out[0]), h
    """,
    "trainer.py": """\
        import torch


        class Trainer:
            def __init__(self, policy, buffer_cls, steps=4, envs=3):
                self.policy = policy
                self.steps = steps
                self.buffer = buffer_cls(steps, envs, policy.hidden_size)

            def collect(self):
                for t in range(self.steps):
                    value, h = self.policy.act(torch.randn(3, 4), self.buffer.h[t])
                    self.buffer.store(t, h.detach())
                return value

            def update(self):
                self.buffer.after_update()
    """,
    "main.py": """\
        from buffer import RolloutBuffer
        from policy import RecurrentPolicy
        from trainer import Trainer


        def make():
            return Trainer(RecurrentPolicy(), buffer_cls=RolloutBuffer)
    """,
    "pyproject.toml": "",
}

DRIVE_INJECTED = """\
    from main import make

    trainer = make()
    trainer.collect()
    trainer.update()
    trainer.collect()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_class_injected_by_every_caller_is_instantiated_where_it_is_called(tmp_path, form):
    write(tmp_path, INJECTED)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    buffer = (tmp_path / "buffer.py").read_text()
    assert ("2 * hidden" in buffer) if form != "tuple" else ("self.h[1][t + 1] = h[1]" in buffer)
    run_migrated(tmp_path, DRIVE_INJECTED)


def test_a_class_injected_through_a_subclass_call_stays_refused(tmp_path, capsys):
    # `super().__init__(policy, cls)` of a subclass is a caller the mentions of `Trainer` do not show
    files = dict(INJECTED)
    files["main.py"] += """
        class Quick(Trainer):
            def __init__(self, policy, cls):
                super().__init__(policy, cls, steps=2)


        def quick():
            return Quick(RecurrentPolicy(), RolloutBuffer)
    """
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'main.py'}:7:50: G2L101 `RolloutBuffer` is used as a value here (a registry, a factory, a callback)" in out
    assert "nn.GRU(obs_dim, hidden)" in (tmp_path / "policy.py").read_text()


RSSM = {
    "rssm.py": """\
        import torch
        import torch.nn as nn


        class RSSM(nn.Module):
            def __init__(self, deter=8, stoch=4, embed=6, action=2):
                super().__init__()
                self.deter_size = deter
                self.stoch_size = stoch
                self.cell = nn.GRUCell(stoch + action, deter)
                self.post = nn.Linear(deter + embed, stoch)
                self.head = nn.Linear(deter + stoch, 1)

            def initial(self, batch):
                return {"deter": torch.zeros(batch, self.deter_size), "stoch": torch.zeros(batch, self.stoch_size)}

            def obs_step(self, state, action, embed):
                x = torch.cat([state["stoch"], action], -1)
                deter = self.cell(x, state["deter"])
                stoch = torch.tanh(self.post(torch.cat([deter, embed], -1)))
                return {"deter": deter, "stoch": stoch}

            def get_feat(self, state):
                return torch.cat([state["stoch"], state["deter"]], -1)
    """,
    "train.py": """\
        import torch

        from rssm import RSSM


        def observe(rssm, embeds, actions, state):
            states = []
            for t in range(embeds.shape[1]):
                state = rssm.obs_step(state, actions[:, t], embeds[:, t])
                states.append(state)
            return {k: torch.stack([s[k] for s in states], 1) for k in states[0]}


        def train(steps=3):
            rssm = RSSM()
            opt = torch.optim.Adam(rssm.parameters())
            state = rssm.initial(5)
            for step in range(steps):
                post = observe(rssm, torch.randn(5, 4, 6), torch.randn(5, 4, 2), state)
                loss = rssm.head(rssm.get_feat(post)).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                state = {k: v[:, -1].detach() for k, v in post.items()}
            return state
    """,
    "pyproject.toml": "",
}


@pytest.mark.parametrize("form", ["packed", "auto"])
def test_a_dreamer_state_dict_stacked_and_rebuilt_by_key_migrates_packed(tmp_path, form):
    # exit 0 before, with the head reading h and c side by side from the stacked posts
    write(tmp_path, RSSM)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert 'return torch.cat([state["stoch"], state["deter"].chunk(2, dim=-1)[0]], -1)' in (tmp_path / "rssm.py").read_text()
    assert (tmp_path / "train.py").read_text() == textwrap.dedent(RSSM["train.py"])
    run_migrated(tmp_path, """\
        from train import train

        state = train()
        assert state["deter"].shape == (5, 16), state["deter"].shape
    """)


def test_a_dreamer_state_dict_stays_refused_in_tuple_form(tmp_path, capsys):
    write(tmp_path, RSSM)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'train.py'}:11:29: G2L101 `s` holds hidden states (key `'deter'`) beside other values and is read with "
        "`k` as its key, so the engine cannot tell them apart"
    ) in capsys.readouterr().out


def test_a_dreamer_state_dict_rebuilt_with_a_cut_of_the_last_dimension_stays_refused(tmp_path, capsys):
    files = dict(RSSM, **{"train.py": RSSM["train.py"].replace("v[:, -1].detach()", "v[..., :4].detach()")})
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert f"{tmp_path / 'train.py'}:24:53: G2L101 `post` holds hidden states (key `'deter'`) beside other values and is iterated by `.items()`" in capsys.readouterr().out


TEAM = {
    "agents.py": """\
        import torch
        import torch.nn as nn


        class Team(nn.Module):
            def __init__(self, names, hidden=8):
                super().__init__()
                self.names = names
                self.hidden = hidden
                self.core = nn.GRUCell(4, hidden)
                self.pi = nn.Linear(hidden, 2)
                self.h = dict.fromkeys(names)

            def reset(self):
                self.h = dict.fromkeys(self.names, torch.zeros(1, self.hidden))

            def act(self, obs):
                out = {}
                for name in self.names:
                    self.h[name] = self.core(obs[name], self.h[name])
                    out[name] = self.pi(self.h[name])
                return out
    """,
    "pyproject.toml": "",
}


@pytest.mark.parametrize("form", FORMS)
def test_a_dict_from_keys_of_one_state_holds_a_state_under_each_key(tmp_path, form):
    write(tmp_path, TEAM)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    agents = (tmp_path / "agents.py").read_text()
    assert "self.h = dict.fromkeys(names)\n" in agents
    assert ("dict.fromkeys(self.names, torch.zeros(1, 2 * self.hidden))" in agents) if form == "packed" else (
        "dict.fromkeys(self.names, (torch.zeros(1, self.hidden), torch.zeros(1, self.hidden)))" in agents
    )
    run_migrated(tmp_path, """\
        import torch
        from agents import Team

        team = Team(["a", "b"])
        for episode in range(2):
            team.reset()
            for t in range(3):
                out = team.act({"a": torch.randn(1, 4), "b": torch.randn(1, 4)})
        sum(v.sum() for v in out.values()).backward()
    """)


CALLBACK = {
    "net.py": """\
        import torch
        import torch.nn as nn


        class Policy(nn.Module):
            def __init__(self, hidden=8):
                super().__init__()
                self.hidden = hidden
                self.gru = nn.GRU(4, hidden)
                self.pi = nn.Linear(hidden, 2)

            def initial(self, n):
                return torch.zeros(1, n, self.hidden)

            def forward(self, obs, h):
                out, h = self.gru(obs[None], h)
                return self.pi(out[0]), h
    """,
    "runner.py": """\
        import torch


        class Runner:
            def __init__(self, policy, n=3):
                self.policy = policy
                self.n = n

            def run(self, step_fn, steps):
                h = self.policy.initial(self.n)
                outs = []
                for t in range(steps):
                    out, h = step_fn(self.policy, torch.randn(self.n, 4), h)
                    outs.append(out)
                    if t == 2:
                        h = self.policy.initial(self.n)
                return torch.stack(outs)
    """,
    "train.py": """\
        from net import Policy
        from runner import Runner


        def step_fn(policy, obs, h):
            logits, h = policy(obs, h)
            return logits, h


        def main():
            return Runner(Policy()).run(step_fn, 5)
    """,
    "pyproject.toml": "",
}


@pytest.mark.parametrize("form", FORMS)
def test_a_function_handed_to_a_method_as_a_callback_is_followed_where_it_is_called(tmp_path, form):
    write(tmp_path, CALLBACK)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert (tmp_path / "train.py").read_text() == textwrap.dedent(CALLBACK["train.py"])
    run_migrated(tmp_path, """\
        from train import main

        main().sum().backward()
    """)


def test_a_callback_method_also_reached_by_its_name_as_a_string_stays_refused(tmp_path, capsys):
    files = dict(CALLBACK, **{"train.py": CALLBACK["train.py"].replace(".run(step_fn, 5)", '.run(step_fn, 5) + getattr(Runner(Policy()), "run")(step_fn, 2).sum()')})
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert f"{tmp_path / 'runner.py'}:13:22: G2L101 `step_fn(self.policy, torch.randn(self.n, 4), h)` calls `step_fn`, an object from outside" in capsys.readouterr().out


KEPT_POST = {
    "net.py": """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.GRUCell(4, 8)
                self.head = nn.Linear(8, 1)

            def initial(self, n):
                return {"deter": torch.zeros(n, 8), "stoch": torch.zeros(n, 4)}

            def step(self, state, x):
                deter = self.cell(x, state["deter"])
                return {"deter": deter, "stoch": torch.tanh(x)}


        def run():
            net = Net()
            s = net.initial(3)
            for t in range(4):
                s = net.step(s, torch.randn(3, 4))
            kept = {k: v.detach() for k, v in s.items()}
            return net.head(kept["deter"])
    """,
    "pyproject.toml": "",
}


def test_a_state_dict_rebuilt_from_items_keeps_its_state_under_its_key(tmp_path):
    # the dict rebuilt from `.items()` holds the packed state under "deter": the head reads h
    write(tmp_path, KEPT_POST)
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert 'return net.head(kept["deter"].chunk(2, dim=-1)[0])' in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, """\
        from net import run

        run().sum().backward()
    """)


PYMARL = {
    "modules/agents/__init__.py": """\
        REGISTRY = {}

        from .rnn_agent import RNNAgent
        REGISTRY["rnn"] = RNNAgent
    """,
    "modules/agents/rnn_agent.py": """\
        import torch.nn as nn
        import torch.nn.functional as F


        class RNNAgent(nn.Module):
            def __init__(self, input_shape, rnn_hidden_dim=8, n_actions=3, **kwargs):
                super().__init__()
                self.rnn_hidden_dim = rnn_hidden_dim
                self.fc1 = nn.Linear(input_shape, rnn_hidden_dim)
                self.rnn = nn.GRUCell(rnn_hidden_dim, rnn_hidden_dim)
                self.fc2 = nn.Linear(rnn_hidden_dim, n_actions)

            def init_hidden(self):
                return self.fc1.weight.new_zeros(1, self.rnn_hidden_dim)

            def forward(self, inputs, hidden_state):
                x = F.relu(self.fc1(inputs))
                h_in = hidden_state.reshape(-1, self.rnn_hidden_dim)
                h = self.rnn(x, h_in)
                return self.fc2(h), h
    """,
    "controllers/basic_controller.py": """\
        from modules.agents import REGISTRY as agent_REGISTRY


        class BasicMAC:
            def __init__(self, input_shape, args):
                self.n_agents = args.n_agents
                self.args = args
                self._build_agents(input_shape)
                self.hidden_states = None

            def _build_agents(self, input_shape):
                agent_cls = agent_REGISTRY[self.args.agent]
                self.agent = agent_cls(input_shape, **vars(self.args))

            def init_hidden(self, batch_size):
                self.hidden_states = self.agent.init_hidden().unsqueeze(0).expand(batch_size, self.n_agents, -1)

            def forward(self, inputs):
                q, self.hidden_states = self.agent(inputs, self.hidden_states)
                return q.view(-1, self.n_agents, 3)
    """,
    "pyproject.toml": "",
}


@pytest.mark.parametrize("form", FORMS)
def test_a_pymarl_agent_class_looked_up_into_a_local_and_made_with_vars_of_args_migrates(tmp_path, form):
    write(tmp_path, PYMARL)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, """\
        import types

        import torch
        from controllers.basic_controller import BasicMAC

        mac = BasicMAC(4, types.SimpleNamespace(agent="rnn", n_agents=2, rnn_hidden_dim=8, n_actions=3))
        for episode in range(2):
            mac.init_hidden(3)
            qs = [mac.forward(torch.randn(6, 4)) for t in range(4)]
        torch.stack(qs).pow(2).mean().backward()
    """)


def test_an_initial_state_from_a_method_the_walk_could_not_tie_is_refused_in_packed_form(tmp_path, capsys):
    # `self.agent = build(4)` (a builder), then `self.agent.init_hidden()` where the controller has an
    # `init_hidden` too: only the solver ties the call, and the state it allocates was not doubled
    # (exit 0 before in the packed form, the LSTMCell given halves of the wrong size)
    files = {key: value for key, value in PYMARL.items() if key != "controllers/basic_controller.py"}
    files["modules/agents/__init__.py"] = ""
    files["controller.py"] = """\
        from modules.agents.rnn_agent import RNNAgent


        def build(n, **kwargs):
            return RNNAgent(n, **kwargs)


        class MAC:
            def __init__(self, n_agents):
                self.n_agents = n_agents
                self.agent = build(4, rnn_hidden_dim=8)
                self.hidden_states = None

            def init_hidden(self, batch_size):
                self.hidden_states = self.agent.init_hidden().unsqueeze(0).expand(batch_size, self.n_agents, -1)

            def forward(self, inputs):
                q, self.hidden_states = self.agent(inputs, self.hidden_states)
                return q
    """
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'controller.py'}:15:30: G2L101 `self.hidden_states` holds the hidden state returned by "
        "`self.agent.init_hidden().unsqueeze(0).expand(batch_size, self.n_agents, -1)`, which the engine cannot follow"
    ) in capsys.readouterr().out
    assert "nn.GRUCell(rnn_hidden_dim, rnn_hidden_dim)" in (tmp_path / "modules/agents/rnn_agent.py").read_text()


def test_a_packed_state_cut_along_its_last_dimension_after_a_read_by_a_name_is_refused(tmp_path, capsys):
    # `p[k][..., -4:]` of the packed state takes c's last four: exit 0 before, the head reading c
    write(tmp_path, {"net.py": """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = nn.GRUCell(4, 8)
                self.head = nn.Linear(4, 1)

            def step(self, s, x):
                return {"h": self.cell(x, s["h"]), "x": x}


        def run():
            net = Net()
            s = {"h": torch.zeros(3, 8), "x": torch.zeros(3, 4)}
            steps = []
            for t in range(4):
                s = net.step(s, torch.randn(3, 4))
                steps.append(s)
            mb = {k: torch.stack([p[k][..., -4:] for p in steps]) for k in steps[0]}
            return net.head(mb["x"]) + net.head(mb["h"])
    """, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'net.py'}:22:27: G2L101 `p` holds hidden states (key `'h'`) beside other values and is read with `k` as "
        "its key, and what is done to the value read here names a dimension that may be the last one"
    ) in capsys.readouterr().out
