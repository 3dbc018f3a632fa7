"""Wrong refusals of common real idioms (session 40): a method no code of the project calls beside
the ones its training loop calls (CleanRL's `get_value`), packed. Each migrates now and runs, and a
near variant where the relaxed condition does not hold stays refused, with nothing written."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import run_migrated, write
from tests.test_crossings import snapshot

# CleanRL's ppo with a GRU: `get_value()` is never called in the project; the loop calls
# `get_action_and_value()`, and both hand the state to `get_states()`
CLEANRL = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.network = nn.Sequential(nn.Linear(4, 16), nn.ReLU())
            self.gru = nn.GRU(16, 8)
            self.actor = nn.Linear(8, 2)
            self.critic = nn.Linear(8, 1)

        def get_states(self, x, gru_state, done):
            hidden = self.network(x)
            batch_size = gru_state.shape[1]
            hidden = hidden.reshape((-1, batch_size, self.gru.input_size))
            done = done.reshape((-1, batch_size))
            new_hidden = []
            for h, d in zip(hidden, done):
                h, gru_state = self.gru(h.unsqueeze(0), (1.0 - d).view(1, -1, 1) * gru_state)
                new_hidden += [h]
            return torch.flatten(torch.cat(new_hidden), 0, 1), gru_state

        def get_value(self, x, gru_state, done):
            hidden, _ = self.get_states(x, gru_state, done)
            return self.critic(hidden)

        def get_action_and_value(self, x, gru_state, done):
            hidden, gru_state = self.get_states(x, gru_state, done)
            return self.actor(hidden), self.critic(hidden), gru_state
"""

CLEANRL_LOOP = """\
    import torch
    from agent import Agent

    agent = Agent()
    opt = torch.optim.Adam(agent.parameters(), 1e-3)
    state = torch.zeros(agent.{core}.num_layers, 4, agent.{core}.hidden_size)
    start = state.clone()
    for step in range(5):
        with torch.no_grad():
            logits, value, state = agent.get_action_and_value(torch.randn(4, 4), state, (torch.rand(4) < 0.2).float())
    logits, value, _ = agent.get_action_and_value(torch.randn(5 * 2, 4), start[:, :2], torch.zeros(5 * 2))
    value.pow(2).mean().backward()
    opt.step()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_method_nothing_calls_beside_those_the_loop_calls_migrates_and_runs(tmp_path, form, capsys):
    # packed: G2L101 "receives the hidden state from callers that were not analysed": its state is
    # the loop's own (allocated twice as wide), handed to it only by the class's own call
    write(tmp_path, {"agent.py": CLEANRL, "train.py": CLEANRL_LOOP.format(core="gru"), "pyproject.toml": ""})
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert f"{tmp_path / 'agent.py'}:24:9: G2L202 interface change: the parameter `gru_state` of `Agent.get_value()`" in captured.out
    # the method nothing in the project calls takes the state the loop made
    run_migrated(tmp_path, """
        import runpy, torch
        loop = runpy.run_path('train.py')
        assert loop['agent'].get_value(torch.randn(4, 4), loop['state'], torch.zeros(4)).shape == (4, 1)
    """)
    if form == "packed":
        assert "torch.zeros(agent.lstm.num_layers, 4, 2 * agent.lstm.hidden_size)" in (tmp_path / "train.py").read_text()


def test_a_method_nothing_calls_whose_class_no_code_outside_it_calls_stays_refused_packed(tmp_path, capsys):
    # only `get_value()` calls `get_states()`: no code of the project makes the state
    write(tmp_path, {"agent.py": CLEANRL.replace("get_action_and_value", "act"), "pyproject.toml": ""})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agent.py'}:24:9: G2L101 packed form: the parameter `gru_state` of `Agent.get_value()` receives "
        "the hidden state from callers that were not analysed, which allocate it with the GRU's size; give them too, "
        "or use --state tuple"
    )


# a second core whose state only the method nothing calls takes
TWO_CORES = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.actor_gru = nn.GRU(4, 8)
            self.critic_gru = nn.GRU(4, 8)
            self.actor = nn.Linear(8, 2)
            self.critic = nn.Linear(8, 1)

        def act(self, x, state):
            out, state = self.actor_gru(x, state)
            return self.actor(out), state

        def get_value(self, x, critic_state):
            out, _ = self.critic_gru(x, critic_state)
            return self.critic(out)


    agent = Agent()
    h = torch.zeros(1, 3, 8)
    for _ in range(3):
        logits, h = agent.act(torch.randn(1, 3, 4), h)
    logits.sum().backward()
"""


def test_a_method_nothing_calls_taking_another_state_than_the_loop_gives_stays_refused_packed(tmp_path, capsys):
    write(tmp_path, {"agent.py": TWO_CORES, "pyproject.toml": ""})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'agent.py'}:17:9: G2L101 packed form: the parameter `critic_state` of `Agent.get_value()` receives "
        "the hidden state from callers that were not analysed, which allocate it with the GRU's size; give them too, "
        "or use --state tuple"
    )


# a lambda bound to a module-level name around the model (rt33 p18), or making the state (a factory)
POLICY = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 3)

        def init_hidden(self, batch):
            return torch.zeros(1, batch, 8)

        def forward(self, obs, hidden):
            out, hidden = self.gru(obs, hidden)
            return self.pi(out), hidden
"""

LAMBDA_LOOP = """\
    import torch
    from policy import Policy

    net = Policy()
    policy = {policy}
    h = net.init_hidden(2)
    for t in range(4):
        logits, h = policy(torch.randn(1, 2, 4), h)
    logits.sum().backward()
"""

FACTORY_LOOP = """\
    import torch
    from policy import Policy

    fresh = lambda n, dim: torch.zeros(1, n, dim)
    net = Policy()
    h = fresh(2, 8)
    mask = fresh(2, 8)
    for t in range(4):
        logits, h = net(torch.randn(1, 2, 4), h * (1 - mask.mean()))
    logits.sum().backward()
    assert mask.shape == (1, 2, 8)
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("loop", [LAMBDA_LOOP.format(policy="lambda o, hid: net(o, hid)"), FACTORY_LOOP])
def test_a_lambda_bound_to_a_module_level_name_is_followed_and_runs(tmp_path, form, loop):
    # G2L101 "an instance of `Policy` is called inside `lambda o, hid: net(o, hid)`" / "comes from `fresh(2, 8)`"
    write(tmp_path, {"policy.py": POLICY, "run.py": loop, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")
    if loop is FACTORY_LOOP:
        run = (tmp_path / "run.py").read_text()
        assert ("h = fresh(2, 2 * 8)" if form == "packed" else "    fresh(2, 8),\n    fresh(2, 8),\n") in run
        assert "mask = fresh(2, 8)\n" in run


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("policy, rebound, column", [
    ("lambda *a: net(*a)", "", 21),  # no parameter to bind the state to
    ("lambda o, hid: net(o, hid)", "if t == 9:\n            policy = net\n        ", 25),  # bound twice: a value, not a function
])
def test_a_lambda_that_is_no_function_of_the_module_stays_refused(tmp_path, capsys, form, policy, rebound, column):
    loop = LAMBDA_LOOP.format(policy=policy).replace("        logits, h = policy", f"        {rebound}logits, h = policy")
    write(tmp_path, {"policy.py": POLICY, "run.py": loop, "pyproject.toml": ""})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert any(line.startswith(
        f"{tmp_path / 'run.py'}:5:{column}: G2L101 an instance of `Policy` is called inside `{policy}`, which the engine cannot follow;"
    ) for line in capsys.readouterr().out.splitlines())


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_lambda_of_a_module_level_name_handed_to_code_not_followed_stays_refused(tmp_path, capsys, form):
    loop = LAMBDA_LOOP.format(policy="lambda o, hid: net(o, hid)") + "    print(policy)\n"
    write(tmp_path, {"policy.py": POLICY, "run.py": loop, "pyproject.toml": ""})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert capsys.readouterr().out.splitlines()[1] == (
        f"{tmp_path / 'run.py'}:10:7: G2L101 `policy` is used as a value here (a registry, a factory, a callback), and "
        "`policy()` now takes or returns (h, c) (the parameter `hid` and the return value); the engine cannot follow what "
        "is made or called through it; migrate those calls by hand so that they pass and take (h, c)"
    )


# the state handed to a helper by a keyword its `**kw` takes (rt33 q14)
KWARGS_RUNNER = """\
    import torch
    from policy import Policy


    def call_policy(net, **kw):
        {body}


    net = Policy()
    h = net.init_hidden(2)
    for t in range(4):
        logits, h = call_policy(net, obs=torch.randn(1, 2, 4), hidden=h)
    logits.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("body", [
    'return net(kw["obs"], kw["hidden"])',
    'return net(kw["obs"], kw["hidden"].detach() * 1.0)',  # written per half in the tuple form
    'hidden = kw.pop("hidden")\n        return net(kw["obs"], hidden)',
    "return net(**kw)",
])
def test_a_state_given_by_a_keyword_that_kwargs_takes_migrates_and_runs(tmp_path, form, body):
    # G2L101 "the hidden state `h` is passed to `call_policy()` beyond its parameters"
    write(tmp_path, {"policy.py": POLICY, "run.py": KWARGS_RUNNER.format(body=body), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('run.py')")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_kwargs_read_with_a_name_as_its_key_stays_refused(tmp_path, capsys, form):
    # the tuple form wrote `(kw[0][name], kw[1][name])` (exit 0, KeyError) before `kw` was known as a dict
    body = 'name = "hidden"\n        return net(kw["obs"], kw[name])'
    write(tmp_path, {"policy.py": POLICY, "run.py": KWARGS_RUNNER.format(body=body), "pyproject.toml": ""})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert (
        f"{tmp_path / 'run.py'}:7:27: G2L101 `kw` is read with `name` as its key, so each value it holds is taken as a "
        "hidden state, but key `'obs'` is also read by name elsewhere, and the engine cannot tell whether it holds one; "
        "keep the hidden states in a container of their own"
    ) in capsys.readouterr().out.splitlines()


# the state kept behind a property with a setter (rt33 t10)
MEMORY_AGENT = """\
    import torch
    from policy import Policy


    class Agent:
        def __init__(self, net, n):
            self.net = net
            self._memory = net.init_hidden(n)

        @property
        def memory(self):
            return self._memory

        @memory.setter
        def memory(self, value):
            {store}

        def step(self, obs):
            logits, self.memory = self.net(obs, self.memory)
            return logits


    agent = Agent(Policy(), 2)
    outs = [agent.step(torch.randn(1, 2, 4)) for _ in range(3)]
    agent.memory = agent.memory.detach()
    outs.append(agent.step(torch.randn(1, 2, 4)))
    torch.stack(outs).sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_set_through_a_setter_that_only_stores_it_migrates_and_runs(tmp_path, form):
    # G2L101 "`self.memory = ...` sets the property `Agent.memory` through its setter, which the engine does not follow"
    write(tmp_path, {"policy.py": POLICY, "agent.py": MEMORY_AGENT.format(store="self._memory = value"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('agent.py')")
    if form == "tuple":
        assert "agent.memory = (agent.memory[0].detach(), agent.memory[1].detach())" in (tmp_path / "agent.py").read_text()


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("store", ["self._memory = value * 1.0", "self.count = 0\n            self._memory = value"])
def test_a_state_set_through_a_setter_that_does_more_stays_refused(tmp_path, capsys, form, store):
    write(tmp_path, {"policy.py": POLICY, "agent.py": MEMORY_AGENT.format(store=store), "pyproject.toml": ""})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    line = 20 if "count" in store else 19
    assert (
        f"{tmp_path / 'agent.py'}:{line}:17: G2L101 `self.memory = ...` sets the property `Agent.memory` through its setter, "
        "which the engine does not follow, and the property now holds (h, c); set the attribute the setter writes "
        "instead, or migrate the setter by hand"
    ) in capsys.readouterr().out.splitlines()


# a cell made by a lambda bound to a module-level name (was G2L101 "made inside a lambda")
CELL_BY_LAMBDA = """\
    import torch
    import torch.nn as nn

    make_cell = lambda i, h: nn.GRUCell(i, h)


    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = make_cell(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h):
            h = self.cell(x, h)
            return self.pi(h), h


    actor = Actor()
    h = torch.zeros(3, 8)
    for _ in range(3):
        y, h = actor(torch.randn(3, 4), h)
    y.sum().backward()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_cell_made_by_a_lambda_of_a_module_level_name_migrates_and_runs(tmp_path, form):
    write(tmp_path, {"actor.py": CELL_BY_LAMBDA, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert "make_cell = lambda i, h: nn.LSTMCell(i, h)" in (tmp_path / "actor.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('actor.py')")
