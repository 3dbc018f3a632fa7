"""Red team, wave 5 (our own small projects in the styles of separate actor and critic nets,
packed variable-length sequences, histories of states, trainers with hooks and callbacks, and
hierarchical agents): what the engine got wrong there, each case migrated and run, or refused
with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched
from test_redteam_wave3b import POLICY, snapshot  # the policy file of the red-team projects

# ---------------------------------------------------------------- a buffer whose method is named like a tensor's
NETS = """\
    import torch
    import torch.nn as nn


    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.actor = nn.GRU(4, 8)
            self.critic = nn.GRU(4, 6)

        def blank(self, n):
            return torch.zeros(1, n, 8), torch.zeros(1, n, 6)

        def step(self, x, hxs):
            actor_h, critic_h = hxs
            _, actor_h = self.actor(x, actor_h)
            _, critic_h = self.critic(x, critic_h)
            return actor_h, critic_h
"""

BUFFER = """\
    import torch


    class Buffer:
        def __init__(self, steps, n):
            self.hxs = {"pi": torch.zeros(steps, 1, n, 8), "vf": torch.zeros(steps, 1, n, 6)}
            self.pos = 0

        def add(self, hxs):
            self.hxs["pi"][self.pos] = hxs[0]
            self.hxs["vf"][self.pos] = hxs[1]
            self.pos += 1

        def first(self):
            return self.hxs["pi"][0], self.hxs["vf"][0]
"""

COLLECT = """\
    import torch

    from buffer import Buffer
    from nets import Pair


    def collect(net, buf, hxs, steps=3):
        for _ in range(steps):
            buf.add(hxs)
            hxs = net.step(torch.randn(1, 2, 4), hxs)
        return hxs


    def main():
        net = Pair()
        buf = Buffer(3, 2)
        hxs = collect(net, buf, net.blank(2))
        net.step(torch.randn(1, 2, 4), buf.first())
        return hxs
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_buffer_method_named_add_is_a_method_of_the_buffer_not_a_tensor_join(tmp_path, form):
    # `buf.add(hxs)` was read as the tensor method `buf.add(other)`: buffer.py stayed as it was,
    # exit 0, and storing a pair into its tensors failed.
    write(tmp_path, {"pyproject.toml": "", "nets.py": NETS, "buffer.py": BUFFER, "collect.py": COLLECT})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    stored = 'self.hxs["pi"][0][self.pos] = hxs[0][0]' if form == "tuple" else 'torch.zeros(steps, 1, n, 2 * 8)'
    assert stored in (tmp_path / "buffer.py").read_text()
    run_migrated(tmp_path, "import collect\ncollect.main()\n")


def test_a_tensor_join_whose_result_is_used_is_still_a_join(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "net.py": """\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.core = nn.GRU(4, 8)

            def run(self, x):
                h = h_old = torch.zeros(1, 2, 8)
                for _ in range(3):
                    _, h = self.core(x, h)
                    h = h.add(h_old)
                return h
    """})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "h = (h[0].add(h_old[0]), h[1].add(h_old[1]))" in (tmp_path / "net.py").read_text()


# ---------------------------------------------------------------- a history of states
HISTORY = """\
    from collections import deque

    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self, k=3):
            super().__init__()
            self.k = k
            self.cell = nn.GRUCell(4, 8)
            self.head = nn.Linear(8, 2)
            self.h = torch.zeros(2, 8)
            self.hist = []
            self.recent = deque(maxlen=k)

        def act(self, x):
            self.h = self.cell(x, self.h)
            self.hist.append(self.h)
            self.recent.append(self.h.detach())
            window = torch.stack(self.hist[-self.k:])
            return self.head(window.mean(0))

        def summary(self):
            return self.head(torch.stack(list(self.recent)).mean(0))

        def last_two(self):
            return torch.cat(self.hist[-2:], dim=-1).sum()
"""


def test_a_slice_of_a_list_of_states_is_a_list_of_states(tmp_path):
    # `torch.stack(self.hist[-k:])` was a stack of one element: left as it was, exit 0, and the
    # stack of pairs failed.
    write(tmp_path, {"pyproject.toml": "", "agent.py": HISTORY})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    text = (tmp_path / "agent.py").read_text()
    assert "hs, cs = zip(*self.hist[-self.k:])" in text
    assert "torch.cat([pair[0] for pair in self.hist[-2:]], dim=-1).sum()" in text
    run_migrated(tmp_path, "import torch, agent\na = agent.Agent()\nfor _ in range(4):\n    a.act(torch.randn(2, 4))\na.last_two()\n")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_batch_of_kept_states_read_as_features_reads_h(tmp_path, form):
    # `torch.stack(list(self.recent)).mean(0)` read a stack of pairs (tuple, TypeError) or of the
    # packed states (packed: twice as wide), at exit 0.
    write(tmp_path, {"pyproject.toml": "", "agent.py": HISTORY.replace(
        "\n        def last_two(self):\n            return torch.cat(self.hist[-2:], dim=-1).sum()\n", ""
    )})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    read = (
        "torch.stack([pair[0] for pair in list(self.recent)]).mean(0)" if form == "tuple"
        else "torch.stack(list(self.recent)).chunk(2, dim=-1)[0].mean(0)"
    )
    assert read in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, "import torch, agent\na = agent.Agent()\nfor _ in range(4):\n    a.act(torch.randn(2, 4))\na.summary()\n")


def test_packed_a_batch_of_kept_states_joined_along_another_dimension_is_refused(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": "", "agent.py": HISTORY})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert "agent.py:28:16: G2L100 `torch.cat(self.hist[-2:], dim=-1)` joins stored hidden states along a dimension" in capsys.readouterr().out


# ---------------------------------------------------------------- callbacks that record the state per episode
RECORDER = """\
    import torch


    class Recorder:
        def __init__(self):
            self.episodes = []

        def on_episode_start(self):
            self.episodes.append([])

        def on_step(self, hidden):
            self.episodes[-1].append(hidden.clone())

        def last(self):
            return torch.cat(self.episodes[-1], dim=1)
"""

LOOP = """\
    import torch

    from policy import Policy
    from recorder import Recorder


    def play(episodes=2, steps=3):
        policy, recorder = Policy(), Recorder()
        for _ in range(episodes):
            recorder.on_episode_start()
            h = policy.blank(1)
            for _ in range(steps):
                y, h = policy(torch.randn(1, 1, 6), h)
                recorder.on_step(h)
        return recorder.last()
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_appended_to_the_last_list_of_a_list_is_kept_there(tmp_path, form):
    # `self.episodes[-1].append(h)` was a call the engine could not follow (G2L101).
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "recorder.py": RECORDER, "loop.py": LOOP})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "self.episodes[-1].append((hidden[0].clone(), hidden[1].clone()))" in (tmp_path / "recorder.py").read_text()
    run_migrated(tmp_path, "import loop\nlast = loop.play()\n")


# ---------------------------------------------------------------- an in-place join of two states
IN_PLACE_JOINS = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)

        def run(self, steps=3):
            h = torch.zeros(1, 2, 8)
            anchor = torch.zeros(1, 2, 8)
            for _ in range(steps):
                _, h = self.core(torch.randn(1, 2, 4), h)
                h.add_(anchor)
                h.lerp_(anchor, 0.5)
                anchor = h.detach().clone()
            out, h = self.core(torch.randn(1, 2, 4), h)
            return out
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_an_in_place_join_of_two_states_acts_on_both_halves(tmp_path, form):
    # `h.add_(anchor)` was read as features: `h[0].add_(anchor[0])`, exit 0, and c never took the join.
    write(tmp_path, {"pyproject.toml": "", "net.py": IN_PLACE_JOINS})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    text = (tmp_path / "net.py").read_text()
    if form == "tuple":
        assert "(h[0].add_(anchor[0]), h[1].add_(anchor[1]))" in text
        assert "(h[0].lerp_(anchor[0], 0.5), h[1].lerp_(anchor[1], 0.5))" in text
    else:
        assert "            h.add_(anchor)\n            h.lerp_(anchor, 0.5)\n" in text
    run_migrated(tmp_path, "import net\nnet.Net().run()\n")


# ---------------------------------------------------------------- a dict of both nets' states, copied with dict()
DICT_STORE = """\
    import torch

    from nets import Pair


    class Store:
        def __init__(self):
            self.states = []

        def insert(self, hxs):
            self.states.append({k: v.detach() for k, v in hxs.items()})

        def first(self):
            return dict(self.states[0])


    def play(steps=3):
        net, store = Pair(), Store()
        actor_h, critic_h = net.blank(2)
        hxs = {"pi": actor_h, "vf": critic_h}
        for _ in range(steps):
            store.insert(hxs)
            actor_h, critic_h = net.step(torch.randn(1, 2, 4), (hxs["pi"], hxs["vf"]))
            hxs = {"pi": actor_h, "vf": critic_h}
        start = store.first()
        return net.step(torch.randn(1, 2, 4), (start["pi"], start["vf"]))
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_dict_of_states_copied_with_dict_holds_what_it_holds(tmp_path, form):
    # `dict(self.states[0])` was a call the engine could not follow (G2L101).
    write(tmp_path, {"pyproject.toml": "", "nets.py": NETS, "store.py": DICT_STORE})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import store\nstore.play()\n")


# ---------------------------------------------------------------- a state masked into a name before the call
MASKED = """\
    import torch
    import torch.nn as nn


    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8)

        def forward(self, x, h, done_mask):
            h = h * done_mask
            out, h = self.rnn(x, h)
            return out, h


    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.actor = Actor()

        def step(self, x, hxs, done_mask):
            actor_h, critic_h = hxs
            out, actor_h = self.actor(x, actor_h, done_mask)
            return out, (actor_h, critic_h)
"""

MASKED_LOOP = """\
    import torch

    from both import Both


    def play(steps=3):
        net = Both()
        hxs = (torch.zeros(1, 2, 8), torch.zeros(1, 2, 3))
        for _ in range(steps):
            out, hxs = net.step(torch.randn(1, 2, 4), hxs, torch.ones(1, 2, 1))
        return hxs
"""


def test_a_state_masked_into_its_own_name_from_a_caller_not_given_names_that_caller(tmp_path, capsys):
    # `h = h * done_mask` with the state's origin in a file not given: a G2L102 ("receives
    # `h * done_mask`, which is not one") that named no other file; the operand named like the
    # state is the state, as for the call's own argument, and the pre-commit finding names loop.py.
    write(tmp_path, {"pyproject.toml": "", "both.py": MASKED, "loop.py": MASKED_LOOP})
    before = snapshot(tmp_path)
    assert main(["rewrite", str(tmp_path / "both.py")]) == 1
    assert snapshot(tmp_path) == before
    out = capsys.readouterr().out
    assert "G2L102" not in out
    assert "loop.py imports from this file without being given" in out
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "h = (h[0] * done_mask, h[1] * done_mask)" in (tmp_path / "both.py").read_text()
    run_migrated(tmp_path, "import loop\nloop.play()\n")


# ---------------------------------------------------------------- a record field named like a module of the agent
HIERARCHY = """\
    from typing import NamedTuple

    import torch
    import torch.nn as nn


    class Levels(NamedTuple):
        manager: torch.Tensor
        worker: torch.Tensor


    class Agent(nn.Module):
        def __init__(self, k=2):
            super().__init__()
            self.k = k
            self.manager = nn.GRUCell(4, 10)
            self.goal = nn.Linear(10, 3)
            self.worker = nn.GRUCell(4 + 3, 6)

        def initial(self, n):
            return Levels(torch.zeros(n, 10), torch.zeros(n, 6))

        def forward(self, x, state: Levels, t: int):
            proposed = self.manager(x, state.manager)
            manager = torch.where(torch.tensor(t % self.k == 0), proposed, state.manager)
            worker = self.worker(torch.cat([x, self.goal(manager)], -1), state.worker)
            return worker, Levels(manager, worker)
"""


def test_a_field_read_through_an_annotated_parameter_is_the_records_field(tmp_path):
    # `state.manager` of `state: Levels`, where the agent has a `manager` module too: the place of
    # the parameter alone, never linked to `Levels.manager`; `initial()` kept one tensor and the
    # output check stopped the run (exit 123).
    write(tmp_path, {"pyproject.toml": "", "agent.py": HIERARCHY})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "return Levels((torch.zeros(n, 10), torch.zeros(n, 10)), (torch.zeros(n, 6), torch.zeros(n, 6)))" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, (
        "import torch, agent\na = agent.Agent()\ns = a.initial(2)\n"
        "for t in range(4):\n    y, s = a(torch.randn(2, 4), s, t)\n"
    ))


# ---------------------------------------------------------------- one cell's state joined into another cell's input
FED_ON = """\
    import torch
    import torch.nn as nn


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.manager = nn.GRUCell(4, 10)
            self.worker = nn.GRUCell(4 + 10, 6)

        def initial(self, n):
            return torch.zeros(n, 10), torch.zeros(n, 6)

        def forward(self, x, manager_h, worker_h):
            manager_h = self.manager(x, manager_h)
            worker_h = self.worker(torch.cat([x, manager_h], -1), worker_h)
            return manager_h, worker_h


    def play(steps=3):
        agent = Agent()
        m, w = agent.initial(2)
        for _ in range(steps):
            m, w = agent(torch.randn(2, 4), m, w)
        return m, w
"""


def test_a_split_state_joined_into_another_cells_input_is_its_h(tmp_path):
    program = HIERARCHY.replace("self.worker = nn.GRUCell(4 + 3, 6)", "self.worker = nn.GRUCell(4 + 10, 6)").replace(
        "torch.cat([x, self.goal(manager)], -1)", "torch.cat([x, proposed], -1)"
    )
    write(tmp_path, {"pyproject.toml": "", "agent.py": program})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "proposed, proposed_c = self.manager(x, state.manager)" in (tmp_path / "agent.py").read_text()
    run_migrated(tmp_path, (
        "import torch, agent\na = agent.Agent()\ns = a.initial(2)\n"
        "for t in range(4):\n    y, s = a(torch.randn(2, 4), s, t)\n"
    ))


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_joined_into_another_cells_input_is_refused(tmp_path, capsys, form):
    # Packed, `torch.cat([x, manager_h], -1)` fed h and c (twice the width) to the worker, at exit 0;
    # tuple, the pair stayed in the list (exit 123 from the output check).
    write(tmp_path, {"pyproject.toml": "", "agent.py": FED_ON})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", form, str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert "agent.py:16:20: G2L100 the input `torch.cat([x, manager_h], -1)` of `self.worker(" in capsys.readouterr().out
