"""Red team, wave 17 (styles of recurrent-RL code written in 2023-2026: record types holding the state,
datasets and loaders, Optional states, async vector envs, multi-agent dicts and checkpoints): what the
engine got wrong there, each case migrated and run, or refused with a finding that names the place."""

from __future__ import annotations

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ------------------------------------------- a method of the group named as a torch creator
# `model.zeros(n)` is the model's own method, which the migration makes return (h, c); the output
# check read it by its name as torch.zeros, one tensor, and failed the group (exit 123).
MODEL = """\
    import torch
    import torch.nn as nn


    class Recurrent(nn.Module):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(obs_dim, hidden, num_layers=2)
            self.head = nn.Linear(hidden, 2)

        def zeros(self, n):
            return torch.zeros(2, n, self.hidden)

        def forward(self, x, h):
            y, h = self.gru(x, h)
            return self.head(h[-1]), h
"""

CHECKPOINT = """\
    import torch


    def save_run(path, model, hidden):
        torch.save({"model": model.state_dict(), "hidden": hidden.cpu()}, path)


    def resume(path):
        return torch.load(path)["hidden"]
"""

DRIVE_CHECKPOINT = """\
    import torch
    from checkpoint import resume, save_run
    from model import Recurrent

    model = Recurrent()
    h = model.zeros(3)
    with torch.no_grad():
        for t in range(4):
            _, h = model(torch.randn(1, 3, 4), h)
            if t == 1:
                h[:, 0] = 0
    save_run("run.pt", model, h)
    q, _ = model(torch.randn(1, 3, 4), resume("run.pt"))
    q.pow(2).mean().backward()
"""


def test_a_group_method_named_as_a_torch_creator_is_read_as_the_method(tmp_path):
    write(tmp_path, {"model.py": MODEL, "checkpoint.py": CHECKPOINT, "driver.py": DRIVE_CHECKPOINT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert 'torch.save({"model": model.state_dict(), "hidden": (hidden[0].cpu(), hidden[1].cpu())}, path)' in (
        tmp_path / "checkpoint.py"
    ).read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# ------------------------------------------- a method of a program class named as a tensor method
# `planner.repeat(h, 3)` calls Planner.repeat(); read as the tensor method `.repeat` of `planner`,
# the planner itself became a hidden state and the project was refused (G2L100 on `.parameters()`).
PLANNER = """\
    import torch
    import torch.nn as nn


    class Planner(nn.Module):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(obs_dim, hidden)
            self.q = nn.Linear(hidden, 2)

        def initial(self, n):
            return torch.zeros(1, n, self.hidden)

        def repeat(self, h, k):
            return h.repeat(1, k, 1)

        def forward(self, x, h):
            y, h = self.gru(x, h)
            return self.q(y), h
"""

DRIVE_PLANNER = """\
    import torch
    from model import Planner

    planner = Planner()
    opt = torch.optim.SGD(planner.parameters(), lr=0.1)
    h = planner.initial(2)
    with torch.no_grad():
        for t in range(3):
            _, h = planner(torch.randn(1, 2, 4), h)
    q, _ = planner(torch.randn(1, 6, 4), planner.repeat(h, 3))
    q.pow(2).mean().backward()
    opt.step()
"""


def test_a_program_method_named_as_a_tensor_method_is_the_program_method(tmp_path):
    write(tmp_path, {"model.py": PLANNER, "driver.py": DRIVE_PLANNER, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# ------------------------------------------- an annotated local that holds a GRUCell's state
# `h: Optional[Tensor] = state.get("hidden")`: the tuple form split the local into `h` and its
# partner, and an annotated assignment cannot have two targets: the output did not parse (exit 123).
TYPED_AGENT = """\
    from typing import Optional

    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.hidden_size = hidden
            self.rnn = nn.GRUCell(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)

        def act(self, obs, state: dict):
            h: Optional[torch.Tensor] = state.get("hidden")
            if h is None:
                h = torch.zeros(obs.shape[0], self.hidden_size)
            h = self.rnn(obs, h)
            state["hidden"] = h
            return self.pi(h), state
"""

DRIVE_TYPED_AGENT = """\
    import torch
    from agent import Agent

    agent = Agent()
    state = {}
    with torch.no_grad():
        for t in range(4):
            logits, state = agent.act(torch.randn(2, 4), state)
            if t == 1:
                state.pop("hidden")
    logits, state = agent.act(torch.randn(2, 4), state)
    logits.pow(2).mean().backward()
"""


def test_an_annotated_local_that_holds_a_cell_state_stays_one_name(tmp_path):
    write(tmp_path, {"agent.py": TYPED_AGENT, "driver.py": DRIVE_TYPED_AGENT, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    text = (tmp_path / "agent.py").read_text()
    assert 'h: Optional[Tuple[torch.Tensor, torch.Tensor]] = state.get("hidden")' in text
    assert "return self.pi(h[0]), state" in text
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# ------------------------------------------- a state inside a parameter's attribute, one file given
# forward(x, carry) reads the state from `carry.hidden` and gives it back in `carry._replace(...)`;
# with model.py given alone (pre-commit), the record that holds it is made in loop.py, which kept
# one tensor: model.py was written (GRU -> LSTM), exit 0, and the LSTM got one tensor.
RECORD_MODEL = """\
    import torch.nn as nn


    class Model(nn.Module):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.core = nn.GRU(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)

        def forward(self, x, carry):
            y, h = self.core(x, carry.hidden)
            return self.pi(y), carry._replace(hidden=h, t=carry.t + 1)
"""

RECORD_LOOP = """\
    from typing import NamedTuple

    import torch


    class Carry(NamedTuple):
        hidden: torch.Tensor
        t: int


    def run(model, steps):
        carry = Carry(hidden=torch.zeros(1, 3, 8), t=0)
        for i in range(steps):
            logits, carry = model(torch.randn(1, 3, 4), carry)
        return logits
"""


def test_a_state_in_an_attribute_of_a_parameter_changes_the_interface(tmp_path, capsys):
    write(tmp_path, {"model.py": RECORD_MODEL, "loop.py": RECORD_LOOP, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path / "model.py")]) == 1
    assert (
        f"{tmp_path / 'model.py'}:10:9: G2L202 interface change: the parameter `carry` (a hidden state inside it) and the "
        "return value (a hidden state inside it) of `Model.forward()` become (h, c); no caller was found in the files analysed; give the files that call it in "
        "the same run, or make callers elsewhere pass and take it"
    ) in capsys.readouterr().out
    assert "nn.GRU" in (tmp_path / "model.py").read_text()
    write(tmp_path, {"driver.py": "from loop import run\nfrom model import Model\n\nrun(Model(), 4).sum().backward()\n"})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# ------------------------------------------- a state returned inside a dict, one file given
# `memory()` returns {"h": self.h, ...}; with agent.py given alone (pre-commit) it was written and
# logger.py, which reads `memory["h"].norm()`, got a pair (exit 0, crash): a return that holds the
# state inside a container changes the interface, as a parameter that holds it inside does.
MEMORY_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, obs_dim=4, hidden=8, n=2):
            super().__init__()
            self.cell = nn.GRUCell(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.h = torch.zeros(n, hidden)

        def act(self, obs):
            self.h = self.cell(obs, self.h)
            return self.pi(self.h)

        def memory(self):
            return {"h": self.h}
"""

DRIVE_MEMORY = """\
    import torch
    from agent import Agent

    a = Agent()
    for t in range(3):
        logits = a.act(torch.randn(2, 4))
        print(float(a.memory()["h"].norm()))
    logits.pow(2).mean().backward()
"""


def test_a_state_returned_inside_a_dict_changes_the_interface(tmp_path, capsys):
    write(tmp_path, {"agent.py": MEMORY_AGENT, "driver.py": DRIVE_MEMORY, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path / "agent.py")]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:16:9: G2L101 `Agent.memory()` now takes or returns (h, c) (the return value (a hidden "
        f"state inside it)), and {tmp_path / 'driver.py'} imports it without being given, so its calls would still pass and take one "
        "tensor; give that file too (or the project folder)"
    ) in capsys.readouterr().out
    assert "nn.GRUCell" in (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# p65, the same through a record: `memory()` returns `Memory(self.h, self.t)`, a NamedTuple of the
# program; logger.py, which imports nothing of the group, reads `memory.h.norm()` of what driver.py
# hands it. Given agent.py alone (pre-commit), it was written and the run crashed on a pair: an
# attribute of a returned value that holds the state changes the interface, as a key does.
RECORD_AGENT = """\
    import torch
    import torch.nn as nn
    from typing import NamedTuple


    class Memory(NamedTuple):
        h: torch.Tensor
        t: int


    class Agent(nn.Module):
        def __init__(self, obs_dim=4, hidden=8, n=2):
            super().__init__()
            self.cell = nn.GRUCell(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)
            self.h = torch.zeros(n, hidden)
            self.t = 0

        def act(self, obs):
            self.h = self.cell(obs, self.h)
            self.t += 1
            return self.pi(self.h)

        def memory(self):
            return Memory(self.h, self.t)
"""

RECORD_LOGGER = """\
    def summarize(memory):
        return float(memory.h.norm()), memory.t
"""

DRIVE_RECORD = """\
    import torch
    from agent import Agent
    from logger import summarize

    a = Agent()
    for t in range(3):
        logits = a.act(torch.randn(2, 4))
        print(summarize(a.memory()))
    logits.pow(2).mean().backward()
"""


def test_a_state_returned_inside_a_record_changes_the_interface(tmp_path, capsys):
    write(tmp_path, {"agent.py": RECORD_AGENT, "logger.py": RECORD_LOGGER, "driver.py": DRIVE_RECORD, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path / "agent.py")]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:24:9: G2L101 `Agent.memory()` now takes or returns (h, c) (the return value (a hidden "
        f"state inside it)), and {tmp_path / 'driver.py'} imports it without being given, so its calls would still pass and take one "
        "tensor; give that file too (or the project folder)"
    ) in capsys.readouterr().out
    assert "nn.GRUCell" in (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "memory.h[0].norm()" in (tmp_path / "logger.py").read_text()
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# The record kept in an attribute instead (`self.mem = Memory(self.h, self.t)`), read by driver.py as
# `a.mem`: the attribute is a changed member, as one that holds the state itself is.
def test_a_state_kept_inside_a_record_attribute_is_a_changed_member(tmp_path, capsys):
    agent = RECORD_AGENT.replace("return self.pi(self.h)", "self.mem = Memory(self.h, self.t)\n            return self.pi(self.h)")
    agent = agent[: agent.index("\n        def memory(self):")] + "\n"
    write(tmp_path, {"agent.py": agent, "logger.py": RECORD_LOGGER, "driver.py": DRIVE_RECORD.replace("a.memory()", "a.mem"), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path / "agent.py")]) == 1
    assert (
        f"{tmp_path / 'agent.py'}:22:9: G2L101 `Agent.mem` holds the hidden state, which becomes (h, c), and {tmp_path / 'driver.py'}, "
        "which was not given, reads it at line 8 (`a.mem`), so it would still take one tensor there; give that file too (or the "
        "project folder)"
    ) in capsys.readouterr().out
    assert "nn.GRUCell" in (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import runpy; runpy.run_path('driver.py')")


# ------------------------------------------- a library's environment whose method shares a name with the agent's
# `env.reset()` in `def rollout(agent, env)` was tied to `Agent.reset()`, the one method of the program
# so named, which returns the state: the observation became a hidden state and the project was refused.
# The drivers hand `env` only values a library made, so a second walk leaves the call untied.
ENV_AGENT = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.hidden = hidden
            self.gru = nn.GRU(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)

        def reset(self, n=1):
            return torch.zeros(1, n, self.hidden)

        def forward(self, obs, h):
            out, h = self.gru(obs.view(1, 1, -1), h)
            return self.pi(out[0]), h
"""

ENV_ROLLOUT = """\
    def rollout(agent, env, steps):
        obs = env.reset()
        h = agent.reset()
        for t in range(steps):
            logits, h = agent(obs, h)
            obs, reward, done = env.step(int(logits.argmax()))
            if done:
                obs = env.reset()
                h = agent.reset()
        return logits
"""

ENV_DRIVER = """\
    import types

    import torch

    from agent import Agent
    from rollout import rollout

    clock = [0]


    def step(action):
        clock[0] += 1
        return torch.randn(4), 1.0, clock[0] % 3 == 0


    env = types.SimpleNamespace(reset=lambda: torch.randn(4), step=step)
    agent = Agent()
    rollout(agent, env, 7).pow(2).mean().backward()
"""


def test_a_library_objects_method_named_as_the_agents_is_not_the_agents(tmp_path):
    for form in ("tuple", "packed", "auto"):
        folder = tmp_path / form
        write(folder, {"agent.py": ENV_AGENT, "rollout.py": ENV_ROLLOUT, "driver.py": ENV_DRIVER, "pyproject.toml": ""})
        assert main(["rewrite", "--quiet", "--state", form, str(folder)]) == 0, form
        assert "obs[0]" not in (folder / "rollout.py").read_text()
        run_migrated(folder, "import driver")


def test_an_object_that_may_be_the_agent_keeps_the_method_tied(tmp_path, capsys):
    # the same rollout also given the agent as its environment: `env.reset()` may be `Agent.reset()`
    driver = ENV_DRIVER + "    rollout(agent, agent, 1)\n"
    write(tmp_path, {"agent.py": ENV_AGENT, "rollout.py": ENV_ROLLOUT, "driver.py": driver, "pyproject.toml": ""})
    assert main(["rewrite", "--check", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert "G2L1" in capsys.readouterr().out


# ------------------------------------------- rows of a new state copied into the states of all environments
# `self.hx.index_copy_(0, env_ids, new_hx)` (an async vector env: only some environments stepped) was a
# method the engine did not know (G2L100): it joins two states as `h.lerp_(h_old, w)` does, per half in the
# tuple form; along the last dimension of a packed state it would move columns of h and c together.
ASYNC_CORE = """\
    import torch
    import torch.nn as nn


    class Core(nn.Module):
        def __init__(self, obs_dim=4, hidden=8):
            super().__init__()
            self.cell = nn.GRUCell(obs_dim, hidden)
            self.pi = nn.Linear(hidden, 2)

        def forward(self, obs, hx):
            hx = self.cell(obs, hx)
            return self.pi(hx), hx
"""

ASYNC_ACTOR = """\
    import torch

    from core import Core


    class Actor:
        def __init__(self, n_envs, hidden=8):
            self.core = Core(hidden=hidden)
            self.hx = torch.zeros(n_envs, hidden)

        @torch.no_grad()
        def act(self, obs, env_ids):
            logits, new_hx = self.core(obs, self.hx.index_select(0, env_ids))
            self.hx.{copy}
            return logits

        def reset(self, done):
            self.hx = torch.where(done[:, None], 0, self.hx)
"""

ASYNC_DRIVER = """\
    import torch

    from actor import Actor

    torch.manual_seed(0)
    actor = Actor(4)
    for t in range(5):
        ids = torch.tensor([0, 2, 3]) if t % 2 else torch.tensor([1, 2])
        actor.act(torch.randn(len(ids), 4), ids)
        if t == 2:
            actor.reset(torch.tensor([True, False, False, True]))
    logits, _ = actor.core(torch.randn(4, 4), actor.hx)
    logits.pow(2).mean().backward()
"""


def test_rows_of_a_new_state_copied_into_the_state_by_index(tmp_path):
    for copy in ("index_copy_(0, env_ids, new_hx)", "index_add_(0, env_ids, new_hx - self.hx.index_select(0, env_ids))"):
        for form in ("tuple", "packed", "auto"):
            folder = tmp_path / f"{copy[:9]}-{form}"
            write(folder, {"core.py": ASYNC_CORE, "actor.py": ASYNC_ACTOR.replace("{copy}", copy), "driver.py": ASYNC_DRIVER, "pyproject.toml": ""})
            assert main(["rewrite", "--quiet", "--state", form, str(folder)]) == 0, (copy, form)
            run_migrated(folder, "import driver")


def test_columns_copied_into_a_packed_state_by_index_stay_refused(tmp_path, capsys):
    actor = ASYNC_ACTOR.replace("{copy}", "index_copy_(0, env_ids, new_hx)\n            self.hx.index_copy_(1, torch.arange(8).flip(0), self.hx.clone())")
    write(tmp_path, {"core.py": ASYNC_CORE, "actor.py": actor, "driver.py": ASYNC_DRIVER, "pyproject.toml": ""})
    assert main(["rewrite", "--check", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"{tmp_path / 'actor.py'}:15:9: G2L100 `self.hx.index_copy_(1, torch.arange(8).flip(0), self.hx.clone())` acts along "
        "the last dimension of the hidden state"
    ) in capsys.readouterr().out
