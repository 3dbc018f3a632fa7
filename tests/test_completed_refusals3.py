"""Code the engine refused although it could migrate it soundly (session 29): each project is
migrated in every form, then run, and its LSTM must get (h, c) with a non-zero c; the variants
that still cannot be followed stay refused with the exact finding."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_completed_refusals2 import DRIVE_MAC, KEYED_MAC
from tests.test_redteam_packed import run_migrated, write

FORMS = ["tuple", "packed", "auto"]

CELL_POLICY = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self, obs_dim, hidden=8):
            super().__init__()
            self.enc = nn.Linear(obs_dim, hidden)
            self.rnn = nn.GRUCell(hidden, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.hidden_size = hidden

        def initial(self, batch):
            return torch.zeros(batch, self.hidden_size)

        def forward(self, obs, h):
            h = self.rnn(torch.relu(self.enc(obs)), h)
            return self.pi(h), h


    class MlpPolicy(nn.Module):
        def __init__(self, obs_dim, hidden=8):
            super().__init__()
            self.pi = nn.Linear(obs_dim, 2)
            self.hidden_size = hidden

        def initial(self, batch):
            return torch.zeros(batch, self.hidden_size)

        def forward(self, obs, h):
            return self.pi(obs), h
"""

# the class is a parameter's default, kept in `self.policy_cls` and read into a local that is only called;
# the agent made so is handed to a Runner that only calls it
ALIAS_TRAINER = """\
    import torch
    from policy import Policy


    class Runner:
        def __init__(self, agent):
            self.agent = agent
            self.h = agent.initial(3)

        def run(self, fn):
            for t in range(4):
                logits, self.h = self.agent(torch.randn(3, 5), self.h)
                self.h = fn(self.h)
            return logits


    def detached(h):
        return h.detach()


    class Trainer:
        def __init__(self, policy_cls=Policy):
            self.policy_cls = policy_cls

        def build(self):
            make = self.policy_cls
            self.policy = make(5)
            runner = Runner(self.policy)
            runner.run(detached)
            return runner.run(detached)
"""

DRIVE_ALIAS = """\
    import torch
    from trainer import Trainer

    torch.manual_seed(0)
    Trainer().build().pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_class_attribute_read_into_a_local_that_is_only_called_is_followed(tmp_path, form):
    write(tmp_path, {"policy.py": CELL_POLICY, "trainer.py": ALIAS_TRAINER, "driver.py": DRIVE_ALIAS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


def test_a_class_attribute_read_into_a_local_that_is_stored_stays_refused(tmp_path, capsys):
    trainer = ALIAS_TRAINER.replace("make = self.policy_cls\n", "make = self.policy_cls\n            self.kinds = [make]\n")
    write(tmp_path, {"policy.py": CELL_POLICY, "trainer.py": trainer, "driver.py": DRIVE_ALIAS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert f"{tmp_path / 'trainer.py'}:22:35: G2L101 `Policy` is used as a value here (a registry, a factory, a callback)" in capsys.readouterr().out


# every call gives the class, so the default `Policy` is never taken; it is one of what the parameter may hold
DEFAULT_TRAINER = """\
    import torch
    from policy import Policy


    class Trainer:
        def __init__(self, policy_cls=Policy):
            self.policy_cls = policy_cls

        def run(self):
            self.policy = self.policy_cls(5)
            h = self.policy.initial(3)
            for t in range(4):
                logits, h = self.policy(torch.randn(3, 5), h)
                h = h * (torch.arange(3) != t % 3).float().unsqueeze(1)
            return logits
"""

DRIVE_DEFAULT = """\
    import torch
    from policy import MlpPolicy, Policy
    from trainer import Trainer

    torch.manual_seed(0)
    Trainer(Policy).run().pow(2).mean().backward()
    assert Trainer(MlpPolicy).run().shape == (3, 2)
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_class_given_by_every_caller_and_as_the_default_is_followed(tmp_path, form):
    write(tmp_path, {"policy.py": CELL_POLICY, "trainer.py": DEFAULT_TRAINER, "driver.py": DRIVE_DEFAULT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


CFG_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, hidden_size):
            super().__init__()
            self.enc = nn.Linear(5, hidden_size)
            self.gru = nn.GRUCell(hidden_size, hidden_size)
            self.head = nn.Linear(hidden_size, 2)
            self.hidden = None

        def reset(self, batch):
            self.hidden = torch.zeros(batch, self.gru.hidden_size)

        def act(self, obs):
            self.hidden = self.gru(torch.relu(self.enc(obs)), self.hidden)
            return self.head(self.hidden)
"""

# `cfg.hidden` is taken for `Agent.hidden` by its name, but `cfg` is a `types.SimpleNamespace`: a
# library's object, so it is read as a field of its own (the size), not as the state
CFG_FACTORY = """\
    from agent import Agent


    def make_agent(cfg):
        return Agent(cfg.hidden)


    class Trainer:
        def __init__(self, cfg):
            self.cfg = cfg
            self.agent = make_agent(self.cfg)

        def describe(self):
            return "hidden=%d" % self.cfg.hidden

        def steps(self):
            return self.cfg.hidden // 2
"""

DRIVE_CFG = """\
    import types

    import torch
    from factory import Trainer

    torch.manual_seed(0)
    trainer = Trainer(types.SimpleNamespace(hidden=8))
    trainer.agent.reset(3)
    for t in range(trainer.steps()):
        logits = trainer.agent.act(torch.randn(3, 5))
    logits.pow(2).mean().backward()
    assert trainer.describe() == "hidden=8"
"""


@pytest.mark.parametrize("form", FORMS)
def test_an_attribute_of_a_library_object_named_like_the_state_is_read_as_its_own(tmp_path, form):
    write(tmp_path, {"agent.py": CFG_AGENT, "factory.py": CFG_FACTORY, "driver.py": DRIVE_CFG, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "return self.cfg.hidden // 2" in (tmp_path / "factory.py").read_text()
    run_migrated(tmp_path, "import driver")


def test_an_attribute_of_an_object_also_given_an_agent_stays_tied_to_the_state(tmp_path, capsys):
    # `cfg` holds a SimpleNamespace and, on another call, the agent itself: `cfg.hidden` may be the state
    driver = DRIVE_CFG.replace("assert trainer.describe() == \"hidden=8\"", "Trainer(trainer.agent)")
    write(tmp_path, {"agent.py": CFG_AGENT, "factory.py": CFG_FACTORY, "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'factory.py'}:5:18: G2L101 `cfg.hidden` is taken for the attribute `hidden` of `Agent` (the one class "
        "of the program that has it), which holds the hidden state, but `cfg` also holds a value made by a library"
    ) in capsys.readouterr().out


# pymarl's `self.args = args` … `agent_REGISTRY.get(self.args.agent)`: the key read through the
# attribute that copies the parameter is the key read through the parameter
@pytest.mark.parametrize("form", FORMS)
def test_a_registry_key_read_through_an_attribute_copying_the_parameter_is_a_key(tmp_path, form):
    controller = KEYED_MAC["controller.py"].replace(
        "agent_cls = agent_REGISTRY.get(args.agent)", "self.args = args\n                agent_cls = agent_REGISTRY.get(self.args.agent)",
    ).replace("raise ValueError(args.agent)", "raise ValueError(self.args.agent)")
    write(tmp_path, {**KEYED_MAC, "controller.py": controller})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, DRIVE_MAC)


def test_a_registry_key_read_through_an_attribute_written_otherwise_stays_refused(tmp_path, capsys):
    controller = KEYED_MAC["controller.py"].replace(
        "agent_cls = agent_REGISTRY.get(args.agent)", "self.args = args.sub\n                agent_cls = agent_REGISTRY.get(self.args.agent)",
    ).replace("raise ValueError(args.agent)", "raise ValueError(self.args.agent)")
    write(tmp_path, {**KEYED_MAC, "controller.py": controller})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    assert f"{tmp_path / 'controller.py'}:12:30: G2L101 an instance of `RNNAgent` is passed to `ValueError`" in capsys.readouterr().out


CELL_NET = """\
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.GRUCell(4, 8)
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.head(h), h
"""

# `h.addcmul_(a, b)` adds a * b to the state in place: elementwise, on each half of a pair
DRIVE_ADDCMUL = """\
    import torch
    from model import Net

    torch.manual_seed(0)
    net = Net()
    h = torch.zeros(3, 8)
    for t in range(5):
        out, h = net(torch.randn(3, 4), h)
        h = h.detach().clone()
        keep = (torch.rand(3, 1) > 0.5).float()
        h.addcmul_(keep, keep, value=-0.5)
    out.pow(2).mean().backward()
"""


@pytest.mark.parametrize("form", FORMS)
def test_a_state_changed_in_place_by_addcmul_migrates(tmp_path, form):
    write(tmp_path, {"model.py": CELL_NET, "driver.py": DRIVE_ADDCMUL, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import driver")


@pytest.mark.parametrize("form, change, finding", [
    ("packed", "h.addcmul_(torch.ones(8), keep, value=-0.5)",
     "11:5: G2L100 `h.addcmul_(torch.ones(8), keep, value=-0.5)` combines the hidden state with `torch.ones(8)`, an allocation of the hidden size `8`"),
    ("tuple", "h.addcmul_(torch.rand(3, 1), keep, value=-0.5)",
     "11:16: G2L100 `torch.rand(3, 1)` draws random numbers, and `h.addcmul_(torch.rand(3, 1), keep, value=-0.5)` runs once per half"),
    ("tuple", "h_old = h.clone()\n        h.addcmul_(h_old, keep, value=-0.5)",  # its own `h` is written per half
     "12:16: G2L100 `h.addcmul_(h_old, keep, value=-0.5)` reads the hidden state in `h` and again in `h_old`"),
])
def test_an_addcmul_that_cannot_run_on_each_half_stays_refused(tmp_path, capsys, form, change, finding):
    driver = DRIVE_ADDCMUL.replace("h.addcmul_(keep, keep, value=-0.5)", change)
    write(tmp_path, {"model.py": CELL_NET, "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert f"{tmp_path / 'driver.py'}:{finding}" in capsys.readouterr().out


# the state kept in a buffer registered by a name written out: one tensor, as the packed form holds it
BUFFER_AGENT = """\
    import torch
    import torch.nn as nn


    class ActingAgent(nn.Module):
        def __init__(self, obs_dim=4, hidden=8, n_actions=2, n_envs=3):
            super().__init__()
            self.gru = nn.GRU(obs_dim, hidden)
            self.pi = nn.Linear(hidden, n_actions)
            self.register_buffer("memory", torch.zeros(1, n_envs, hidden))

        @torch.no_grad()
        def act(self, obs, done):
            self.memory[:, done] = 0.0
            out, self.memory = self.gru(obs.unsqueeze(0), self.memory)
            return self.pi(out[0]).argmax(-1)

        def evaluate(self, obs_seq, h0):
            out, _ = self.gru(obs_seq, h0)
            return self.pi(out)
"""

DRIVE_BUFFER = """\
    import torch
    from agent import ActingAgent

    torch.manual_seed(0)
    agent = ActingAgent()
    done = torch.zeros(3, dtype=torch.bool)
    seen = []
    for t in range(6):
        obs = torch.randn(3, 4)
        seen.append(obs)
        agent.act(obs, done)
        done = torch.rand(3) < 0.4
    assert "memory" in dict(agent.named_buffers())
    agent.evaluate(torch.stack(seen), agent.memory.clone()).mean().backward()
"""


@pytest.mark.parametrize("form", ["packed", "auto"])
def test_a_state_kept_in_a_registered_buffer_migrates_packed(tmp_path, form):
    write(tmp_path, {"agent.py": BUFFER_AGENT, "driver.py": DRIVE_BUFFER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    migrated = (tmp_path / "agent.py").read_text()
    assert 'self.register_buffer("memory", torch.zeros(1, n_envs, 2 * hidden))' in migrated
    assert "out, memory_pair = self.lstm(obs.unsqueeze(0), self.memory.chunk(2, dim=-1))" in migrated
    run_migrated(tmp_path, "import driver")


def test_a_state_kept_in_a_registered_buffer_is_refused_in_tuple_form(tmp_path, capsys):
    write(tmp_path, {"agent.py": BUFFER_AGENT, "driver.py": DRIVE_BUFFER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:10:9: G2L101 `self.register_buffer(\"memory\", torch.zeros(1, n_envs, hidden))` registers "
        "`self.memory`, which holds the hidden state, as a buffer or a parameter, which holds one tensor, never the pair (h, c); "
        "use --state packed, or keep the state in a plain attribute (`self.memory = ...`)"
    ) in capsys.readouterr().out


# a runner that imports no torch calls the agent's GRU: the packed form repacks the state there
# with torch, so the file gains `import torch` above its first import
GRU_HOLDER = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, n=2):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)
            self.hidden = torch.zeros(1, n, 8)
"""

TORCHLESS_RUNNER = """\
    \"\"\"Acting with an agent handed in.\"\"\"
    from utils import noisy_obs


    def rollout(agent, steps):
        total = 0
        for t in range(steps):
            out, h = agent.gru(noisy_obs(2), agent.hidden)
            agent.hidden = h.detach()
            total = total + agent.head(out).sum()
        return total
"""

NOISE = """\
    import torch


    def noisy_obs(n):
        return torch.randn(1, n, 4)
"""

DRIVE_TORCHLESS = """\
    import torch
    from model import Agent
    import runner

    torch.manual_seed(0)
    runner.rollout(Agent(), 4).backward()
"""


def test_a_file_without_torch_gains_the_import_the_packed_form_needs(tmp_path):
    write(tmp_path, {"model.py": GRU_HOLDER, "runner.py": TORCHLESS_RUNNER, "utils.py": NOISE, "driver.py": DRIVE_TORCHLESS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert (tmp_path / "runner.py").read_text().startswith('"""Acting with an agent handed in."""\nimport torch\nfrom utils import noisy_obs\n')
    run_migrated(tmp_path, "import driver")


def test_a_file_that_spells_torch_otherwise_stays_refused_packed(tmp_path, capsys):
    runner = TORCHLESS_RUNNER.replace("total = 0\n", "total = 0\n        torch = None\n")
    write(tmp_path, {"model.py": GRU_HOLDER, "runner.py": runner, "utils.py": NOISE, "driver.py": DRIVE_TORCHLESS, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'runner.py'}:9:18: G2L100 the packed form needs `import torch` in this file to pack (h, c) after "
        "`agent.gru(noisy_obs(2), agent.hidden)`; add the import, or use --state tuple"
    ) in capsys.readouterr().out


# recurrent TD3: transitions kept with both recurrent states, sampled and stacked column by column
TD3 = """\
    import random

    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Actor(nn.Module):
        def __init__(self, obs_dim, act_dim, hid):
            super().__init__()
            self.cell = nn.GRUCell(obs_dim, hid)
            self.out = nn.Linear(hid, act_dim)

        def forward(self, obs, h):
            h = self.cell(obs, h)
            return torch.tanh(self.out(h)), h


    class Critic(nn.Module):
        def __init__(self, obs_dim, act_dim, hid):
            super().__init__()
            self.cell = nn.GRUCell(obs_dim, hid)
            self.q = nn.Linear(hid + act_dim, 1)

        def forward(self, obs, act, h):
            h = self.cell(obs, h)
            return self.q(torch.cat([h, act], -1)), h


    class TD3:
        def __init__(self, obs_dim=3, act_dim=1, hid=8):
            self.hid = hid
            self.actor = Actor(obs_dim, act_dim, hid)
            self.critic = Critic(obs_dim, act_dim, hid)
            self.memory = []

        def blank(self, n):
            return torch.zeros(n, self.hid)

        def remember(self, obs, act, rew, h_actor, h_critic):
            self.memory.append((obs, act, rew, h_actor, h_critic))

        def train(self, batch=4):
            sample = random.sample(self.memory, batch)
            obs, act, rew, h_actor, h_critic = map(torch.stack, zip(*sample))
            q, _ = self.critic(obs, act, h_critic)
            a, _ = self.actor(obs, h_actor)
            q_pi, _ = self.critic(obs, a, h_critic)
            (F.mse_loss(q, rew) - q_pi.mean()).backward()
"""

DRIVE_TD3 = """\
    import random

    import torch
    from td3 import TD3

    torch.manual_seed(0)
    random.seed(0)
    agent = TD3()
    h_a, h_c = agent.blank(1)[0], agent.blank(1)[0]
    for t in range(10):
        obs = torch.randn(3)
        with torch.no_grad():
            act, new_h_a = agent.actor(obs.unsqueeze(0), h_a.unsqueeze(0))
            _, new_h_c = agent.critic(obs.unsqueeze(0), act, h_c.unsqueeze(0))
        agent.remember(obs, act[0], torch.randn(1), h_a, h_c)
        h_a, h_c = new_h_a[0], new_h_c[0]
        if t == 5:
            h_a, h_c = agent.blank(1)[0], agent.blank(1)[0]
    agent.train()
"""


@pytest.mark.parametrize("form", ["tuple", "packed", "auto"])
def test_stored_states_stacked_column_by_column_migrate(tmp_path, form):
    # the tuple form stacks each half of the states' columns apart (session 30; it was G2L100)
    write(tmp_path, {"td3.py": TD3, "driver.py": DRIVE_TD3, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    stacked = (
        "obs, act, rew, (h_actor, c_actor), (h_critic, c_critic) = (tuple(map(torch.stack, zip(*column))) if position in (3, 4) "
        "else torch.stack(column) for position, column in enumerate(zip(*sample)))"
    ) if form != "packed" else "obs, act, rew, h_actor, h_critic = map(torch.stack, zip(*sample))"
    assert stacked in (tmp_path / "td3.py").read_text()
    run_migrated(tmp_path, "import driver")


# `cfg` is an instance of a class of the program whose body gives `hidden`: no Agent
CONFIG_CLASS_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.cfg = cfg
            self.enc = nn.Linear(5, cfg.hidden)
            self.gru = nn.GRUCell(cfg.hidden, cfg.hidden)
            self.head = nn.Linear(cfg.hidden, 2)
            self.hidden = torch.zeros(cfg.batch, cfg.hidden)

        def step(self, obs):
            self.hidden = self.gru(torch.relu(self.enc(obs)), self.hidden)
            if self.cfg.hidden > 4:
                self.hidden = self.hidden * 0.9
            return self.head(self.hidden)
"""

CONFIG_CLASS_MAIN = """\
    import torch
    from agent import Agent


    class Cfg:
        hidden = 8
        batch = 3


    def main(cfg=Cfg()):
        agent = Agent(cfg)
        for t in range(4):
            logits = agent.step(torch.randn(cfg.batch, 5))
        logits.pow(2).mean().backward()
        return agent.cfg.hidden
"""


@pytest.mark.parametrize("form", FORMS)
def test_an_attribute_of_a_config_class_named_like_the_state_is_read_as_its_own(tmp_path, form):
    write(tmp_path, {"agent.py": CONFIG_CLASS_AGENT, "main.py": CONFIG_CLASS_MAIN, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "if self.cfg.hidden > 4:" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import main; assert main.main() == 8")


# a cell's state in a buffer, reset from a learned initial state registered as a parameter
BUFFER_CELL_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, n=3, hidden=8):
            super().__init__()
            self.cell = nn.GRUCell(4, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.register_buffer("memory", torch.zeros(n, hidden))
            self.register_parameter("h0", nn.Parameter(torch.zeros(1, hidden)))

        def reset(self):
            self.memory = self.h0.expand(self.memory.shape[0], -1).detach().clone()

        def act(self, obs, done):
            self.memory = self.memory * (1 - done.float()).unsqueeze(1)
            self.memory = self.cell(obs, self.memory)
            out = self.pi(self.memory)
            self.memory = self.memory.detach()
            return out
"""

DRIVE_BUFFER_CELL = """\
    import torch
    from agent import Agent

    torch.manual_seed(0)
    agent = Agent()
    done = torch.zeros(3, dtype=torch.bool)
    for episode in range(2):
        agent.reset()
        for t in range(4):
            out = agent.act(torch.randn(3, 4), done)
            done = torch.rand(3) < 0.3
    out.pow(2).mean().backward()
    assert "memory" in dict(agent.named_buffers()) and "h0" in dict(agent.named_parameters())
"""


@pytest.mark.parametrize("form", ["packed", "auto"])
def test_a_cell_state_in_a_buffer_reset_from_a_registered_parameter_migrates_packed(tmp_path, form):
    write(tmp_path, {"agent.py": BUFFER_CELL_AGENT, "driver.py": DRIVE_BUFFER_CELL, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert 'self.register_parameter("h0", nn.Parameter(torch.zeros(1, 2 * hidden)))' in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import driver")
