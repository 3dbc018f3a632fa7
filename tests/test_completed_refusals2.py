"""Code the engine refused although it could migrate it soundly (session 28): each project is
migrated in every form, then run, and its LSTM must get (h, c) with a non-zero c; the variants
that still cannot be followed stay refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write

FORMS = ["tuple", "packed", "auto"]

RNN_AGENT = """\
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
            h = self.rnn(x, hidden_state.reshape(-1, self.rnn_hidden_dim))
            return self.fc2(h), h
"""

KEYED_MAC = {
    "modules/agents/__init__.py": """\
        from .rnn_agent import RNNAgent

        REGISTRY = {}
        REGISTRY["rnn"] = RNNAgent
    """,
    "modules/agents/rnn_agent.py": RNN_AGENT,
    "controller.py": """\
        import logging

        from modules.agents import REGISTRY as agent_REGISTRY


        class MAC:
            def __init__(self, args):
                self.n_agents = args.n_agents
                agent_cls = agent_REGISTRY.get(args.agent)
                if agent_cls is None:
                    raise ValueError(args.agent)
                logging.info(f"agent {args.agent}")
                self.agent = agent_cls(4, **vars(args))
                self.hidden_states = None

            def reset(self, batch_size):
                self.hidden_states = self.agent.init_hidden().unsqueeze(0).expand(batch_size, self.n_agents, -1)

            def forward(self, inputs):
                q, self.hidden_states = self.agent(inputs, self.hidden_states)
                return q.view(-1, self.n_agents, 3)
    """,
    "pyproject.toml": "",
}

DRIVE_MAC = """\
    import types

    import torch
    from controller import MAC

    mac = MAC(types.SimpleNamespace(agent="rnn", n_agents=2, rnn_hidden_dim=8, n_actions=3))
    for episode in range(2):
        mac.reset(3)
        qs = [mac.forward(torch.randn(6, 4)) for t in range(4)]
    torch.stack(qs).pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_the_registry_key_given_to_an_exception_is_no_instance_escaping(tmp_path, form):
    # `args.agent` beside the controller's own `self.agent`: read as `.get()`'s key, it names a class
    write(tmp_path, KEYED_MAC)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, DRIVE_MAC)


def test_a_key_attribute_written_with_an_instance_after_the_lookup_stays_refused(tmp_path, capsys):
    controller = KEYED_MAC["controller.py"].replace(
        "self.agent = agent_cls(4, **vars(args))",
        "args.agent = agent_cls(4, **vars(args))\n                pickle.dumps(args.agent)\n                self.agent = args.agent",
    ).replace("import logging\n", "import logging\n        import pickle\n")
    write(tmp_path, {**KEYED_MAC, "controller.py": controller})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    # written in the function, `args.agent` is no sure key there: read as the only class with an `agent`
    assert f"{tmp_path / 'controller.py'}:12:30: G2L101 an instance of `RNNAgent` is passed to `ValueError`" in capsys.readouterr().out


def test_a_registry_key_read_in_another_function_is_still_read_as_the_attribute_it_spells(tmp_path, capsys):
    # not followed: only the function that looks the registry up by `args.agent` knows it for a key there
    controller = KEYED_MAC["controller.py"].replace("raise ValueError(args.agent)", "raise describe(args)")
    controller = controller.replace("class MAC:", "def describe(args):\n            return ValueError(args.agent)\n\n\n        class MAC:")
    write(tmp_path, {**KEYED_MAC, "controller.py": controller})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert f"{tmp_path / 'controller.py'}:7:23: G2L101 an instance of `RNNAgent` is passed to `ValueError`" in capsys.readouterr().out


POLICY = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self, obs_dim, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)

        def initial_state(self, n):
            return torch.zeros(1, n, self.hidden)

        def forward(self, obs, h):
            out, h = self.gru(obs.unsqueeze(0), h)
            return self.pi(out[0]), h
"""

TRAINER = """\
    import torch


    class Trainer:
        def __init__(self, policy_cls, obs_dim=5):
            self.policy_cls = policy_cls
            self.obs_dim = obs_dim

        def setup(self):
            self.policy = self.policy_cls(self.obs_dim)

        def run(self, steps):
            h = self.policy.initial_state(2)
            total = 0.0
            for t in range(steps):
                logits, h = self.policy(torch.randn(2, self.obs_dim), h)
                total = total + logits.sum()
                if t == 2:
                    h = self.policy.initial_state(2)
            return total
"""

DRIVE_TRAINER = """\
    from model import Policy
    from trainer import Trainer

    trainer = Trainer(Policy)
    trainer.setup()
    trainer.run(5).backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_class_injected_and_kept_in_an_attribute_is_made_where_the_attribute_is_called(tmp_path, form):
    write(tmp_path, {"model.py": POLICY, "trainer.py": TRAINER, "driver.py": DRIVE_TRAINER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("form", FORMS)
def test_a_class_injected_and_renamed_in_a_local_is_made_where_the_local_is_called(tmp_path, form):
    trainer = TRAINER.replace("self.policy_cls = policy_cls", "make = policy_cls\n            self.policy = make(obs_dim)")
    write(tmp_path, {"model.py": POLICY, "trainer.py": trainer, "driver.py": DRIVE_TRAINER.replace("    trainer.setup()\n", ""), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("change", [
    "trainer.policy_cls = Policy",  # written from outside its class
    "setattr(trainer, name, Policy)",  # written by a computed name
])
def test_a_class_attribute_that_may_be_written_elsewhere_stays_refused(tmp_path, capsys, change):
    driver = DRIVE_TRAINER.replace("trainer.setup()", f"name = 'policy_cls'\n    {change}\n    trainer.setup()")
    write(tmp_path, {"model.py": POLICY, "trainer.py": TRAINER, "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert f"{tmp_path / 'driver.py'}:4:19: G2L101 `Policy` is used as a value here (a registry, a factory, a callback)" in capsys.readouterr().out


def test_a_class_renamed_in_a_local_that_is_also_stored_stays_refused(tmp_path, capsys):
    trainer = TRAINER.replace("self.policy_cls = policy_cls", "make = policy_cls\n            self.kinds = [make]\n            self.policy = make(obs_dim)")
    write(tmp_path, {"model.py": POLICY, "trainer.py": trainer, "driver.py": DRIVE_TRAINER.replace("    trainer.setup()\n", ""), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert f"{tmp_path / 'driver.py'}:4:19: G2L101 `Policy` is used as a value here (a registry, a factory, a callback)" in capsys.readouterr().out


@pytest.mark.parametrize("form", FORMS)
def test_an_agent_made_by_a_builder_and_kept_in_an_attribute_is_tied_to_its_class(tmp_path, form):
    # `self.agent.init_hidden()` beside the controller's own `init_hidden`: the builder's class says which runs
    controller = KEYED_MAC["controller.py"].replace("self.agent = agent_cls(4, **vars(args))", "self.agent = build(agent_cls, 4, **vars(args))")
    controller = controller.replace("class MAC:", "def build(cls, *args, **kwargs):\n            return cls(*args, **kwargs)\n\n\n        class MAC:")
    controller = controller.replace("def reset(self", "def init_hidden(self")
    write(tmp_path, {**KEYED_MAC, "controller.py": controller})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, DRIVE_MAC.replace("mac.reset(3)", "mac.init_hidden(3)"))


TWO_CALLBACKS = """\
    import torch
    import torch.nn as nn

    H = 8


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(5, H)
            self.q = nn.Linear(H, 3)

        def forward(self, obs, h):
            h = self.cell(obs, h)
            return self.q(h), h


    class Runner:
        def __init__(self, agent):
            self.agent = agent

        def run(self, post, steps=4):
            h = torch.zeros(2, H)
            total = 0.0
            for t in range(steps):
                q, h = self.agent(torch.randn(2, 5), h)
                total = total + q.sum()
                h = post(h)
            return total


    def detach(h):
        return h.detach()


    def decay(h):
        return h.detach() * 0.5


    def main():
        agent = Agent()
        runner = Runner(agent)
        (runner.run(detach) + runner.run(decay)).backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_two_callbacks_handed_to_a_method_of_a_runner_kept_in_a_local_are_both_followed(tmp_path, form):
    write(tmp_path, {"main.py": TWO_CALLBACKS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "from main import main\nmain()")


def test_a_callback_handed_to_a_runner_bound_twice_stays_refused(tmp_path, capsys):
    source = TWO_CALLBACKS.replace("(runner.run(detach)", "if agent.training:\n            runner = None\n        (runner.run(detach)")
    write(tmp_path, {"main.py": source, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert f"{tmp_path / 'main.py'}:28:17: G2L101 the hidden state held by `h` comes from `post(h)`, which the engine cannot follow" in capsys.readouterr().out


BEAST = """\
    import torch
    import torch.nn as nn


    class AtariNet(nn.Module):
        def __init__(self, obs_dim=4, hidden=8, n_actions=3):
            super().__init__()
            self.fc = nn.Linear(obs_dim, hidden)
            self.core = nn.GRU(hidden, hidden, num_layers=1)
            self.policy = nn.Linear(hidden, n_actions)

        def initial_state(self, batch_size):
            return tuple(torch.zeros(self.core.num_layers, batch_size, self.core.hidden_size) for _ in range(1))

        def forward(self, inputs, core_state=()):
            core_input = torch.relu(self.fc(inputs["frame"]))
            core_output_list = []
            notdone = (~inputs["done"]).float()
            for input, nd in zip(core_input.unbind(), notdone.unbind()):
                nd = nd.view(1, -1, 1)
                core_state = tuple(nd * s for s in core_state)
                output, core_state = self.core(input.unsqueeze(0), *core_state)
                core_state = (core_state,)
                core_output_list.append(output)
            return self.policy(torch.cat(core_output_list)), core_state
"""


DRIVE_BEAST = """\
    import torch
    from net import AtariNet

    net = AtariNet()
    state = net.initial_state(2)
    outs = []
    for t in range(3):
        out, state = net({"frame": torch.randn(2, 2, 4), "done": torch.tensor([[False, t == 1], [False, False]])}, state)
        outs.append(out)
    first, _ = net({"frame": torch.randn(1, 2, 4), "done": torch.zeros(1, 2, dtype=torch.bool)})
    torch.stack(outs).sum().backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_state_in_a_tuple_of_one_spread_into_the_recurrent_call_migrates(tmp_path, form):
    # TorchBeast with a GRU: `(h,)` spread by `*core_state`; the LSTM must get (h, c) as one argument
    write(tmp_path, {"net.py": BEAST, "driver.py": DRIVE_BEAST, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


SPREAD_TENSOR = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.cell = nn.GRUCell(4, hidden)
            self.head = nn.Linear(hidden, 2)

        def initial_state(self, batch_size):
            return torch.zeros(1, batch_size, self.hidden)

        def forward(self, x, state):
            h = self.cell(x, *state)
            return self.head(h), h.unsqueeze(0)
"""

DRIVE_SPREAD_TENSOR = """\
    import torch
    from net import Net

    net = Net()
    state = net.initial_state(2)
    outs = []
    for t in range(4):
        out, state = net(torch.randn(2, 4), state)
        outs.append(out)
        if t == 1:
            state = net.initial_state(2)
    torch.stack(outs).sum().backward()
"""


def test_a_state_tensor_spread_into_the_recurrent_call_is_refused_in_tuple_form(tmp_path, capsys):
    # `*state` of the (1, B, H) tensor itself: the pair would be spread as two arguments (exit 0 before the check)
    write(tmp_path, {"net.py": SPREAD_TENSOR, "driver.py": DRIVE_SPREAD_TENSOR, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'net.py'}:16:13: G2L100 `*state` spreads the hidden state itself into `self.cell(x, *state)`: in the "
        "tuple form (h, c) would be spread as two arguments; pass `state[0]` instead of `*state`, or keep the state in a "
        "tuple of one item, or use --state packed"
    ) in capsys.readouterr().out


@pytest.mark.parametrize("form", ["packed", "auto"])
def test_a_state_tensor_spread_into_the_recurrent_call_migrates_packed(tmp_path, form):
    write(tmp_path, {"net.py": SPREAD_TENSOR, "driver.py": DRIVE_SPREAD_TENSOR, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "h = torch.cat(self.cell(x, *(state.chunk(2, dim=-1) for state in state)), dim=-1)" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, "import driver")
