"""How far a group reaches: a state followed into every given file it flows to, however many
imports from the files that construct the GRU (project.Project.reached, engine._widened)."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- a record class two imports from the core
MODEL = """\
    import torch
    import torch.nn as nn


    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 6)
            self.head = nn.Linear(6, 2)

        def initial(self, n):
            return torch.zeros(1, n, 6)

        def forward(self, x, h):
            y, h = self.rnn(x, h)
            return self.head(y), h
"""

RUN = """\
    import torch

    from model import Actor
    from recorder import Recorder


    def main():
        actor, recorder = Actor(), Recorder()
        h = actor.initial(2)
        for step in range(4):
            y, h = actor(torch.randn(1, 2, 3), h)
            recorder.add(y, h)
            if step == 1:
                h = h * 0.0
        y, h = actor(torch.randn(1, 2, 3), recorder.first())
        return y
"""

RECORDER = """\
    from records import Record


    class Recorder:
        def __init__(self):
            self.items = []

        def add(self, out, hidden):
            self.items.append(Record(out, hidden.detach()))

        def first(self):
            return self.items[0].hidden
"""

RECORDS = """\
    class Record:
        def __init__(self, out, hidden):
            self.out = out
            self.hidden = hidden
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_kept_by_a_class_two_imports_from_the_core_is_followed_there(tmp_path, form):
    # run.py (the core) imports recorder.py (near), which imports records.py: the state passed to
    # `Record(...)` was "a file not migrated with this one" although records.py was given.
    write(tmp_path, {"pyproject.toml": "", "model.py": MODEL, "run.py": RUN, "recorder.py": RECORDER, "records.py": RECORDS})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import run\nrun.main()\n")


def test_the_file_two_imports_away_not_given_is_named_and_nothing_is_written(tmp_path, capsys, monkeypatch):
    files = {"pyproject.toml": "", "model.py": MODEL, "run.py": RUN, "recorder.py": RECORDER, "records.py": RECORDS}
    write(tmp_path, files)
    before = {name: (tmp_path / name).read_text() for name in files}
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "model.py", "run.py", "recorder.py"]) == 1
    out = capsys.readouterr().out
    assert "recorder.py:9:" in out and "records.py, a file not migrated with this one" in out
    assert {name: (tmp_path / name).read_text() for name in files} == before


# ---------------------------------------------------------------- text made of a value holding states
PRINTED = """\
    import logging

    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4)

        def forward(self, x, h):
            y, h = self.rnn(x, h)
            return y, h


    class Runner:
        def __init__(self):
            self.net = Net()
            self.h = torch.zeros(1, 2, 4)

        def __repr__(self):
            return f"Runner(state of {tuple(self.h.shape)})"

        def step(self):
            y, self.h = self.net(torch.randn(1, 2, 3), self.h)
            return y


    def main():
        runner = Runner()
        for _ in range(3):
            runner.step()
        logging.info("after three steps: %s", runner)
        print(f"{runner.h}", str(runner.h), format(runner))
        return runner


    if __name__ == "__main__":
        print(main())
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_value_holding_states_made_into_text_is_only_read(tmp_path, form):
    # `print(main())` of the runner was G2L101 ("passed to `print()`"): text made of a pair is as
    # good as text made of a tensor, and the class's own `__repr__` is migrated with its other methods.
    write(tmp_path, {"pyproject.toml": "", "runner.py": PRINTED})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    if form == "tuple":
        assert "tuple(self.h[0].shape)" in (tmp_path / "runner.py").read_text()
    run_migrated(tmp_path, "import runner\nprint(runner.main())\n")


# ---------------------------------------------------------------- a wrapper that delegates by __getattr__
POLICY = """\
    import torch
    import torch.nn as nn


    class GRUPolicy(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4)
            self.head = nn.Linear(4, 2)

        def initial(self, n):
            return torch.zeros(1, n, 4)

        def act(self, x, h):
            y, h = self.rnn(x, h)
            return self.head(y), h

        def reset(self, h, done):
            return h * (1.0 - done).view(1, -1, 1)
"""

EXPLORER = """\
    class Explorer:
        def __init__(self, policy, epsilon=0.1):
            self._policy = policy
            self.epsilon = epsilon

        def __getattr__(self, name):
            \"\"\"Everything the wrapper does not define is the policy's.\"\"\"
            return getattr(self._policy, name)
"""

ACTING = """\
    import torch

    from policy import GRUPolicy
    from wrapper import Explorer


    def main():
        agent = Explorer(GRUPolicy())
        h = agent.initial(2)
        for step in range(4):
            y, h = agent.act(torch.randn(1, 2, 3), h)
            h = agent.reset(h, torch.tensor([float(step == 1), 0.0]))
        return y
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_reads_through_a_delegating_getattr_reach_the_wrapped_policy(tmp_path, form):
    # `getattr(self._policy, name)` was G2L101 ("an instance of `GRUPolicy` is passed to `getattr()`").
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "wrapper.py": EXPLORER, "main.py": ACTING})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import main\nmain.main()\n")


def test_a_delegated_read_the_walk_cannot_tie_to_a_class_is_refused_at_the_read(tmp_path, capsys):
    # another class has an `act` too: which one `agent.act` runs, only the wrapped object says
    files = {"pyproject.toml": "", "policy.py": POLICY + "\n\n    class Scripted:\n        def act(self, x, h):\n            return x, h\n",
             "wrapper.py": EXPLORER, "main.py": ACTING}
    write(tmp_path, files)
    assert main(["rewrite", "--check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (f"{tmp_path / 'main.py'}:11:16: G2L101 `agent.act` is read through `Explorer.__getattr__`, which hands it to the "
            "object in `self._policy`") in out and "(`agent._policy.act`)" in out


def test_a_getattr_that_does_more_than_delegate_stays_a_crossing(tmp_path, capsys):
    logged = EXPLORER.replace("            return getattr(self._policy, name)\n",
                              "            print(name)\n            return getattr(self._policy, name)\n")
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "wrapper.py": logged, "main.py": ACTING})
    assert main(["rewrite", "--check", str(tmp_path)]) == 1
    assert "G2L101 an instance of `GRUPolicy` is passed to `getattr()`" in capsys.readouterr().out


def test_a_delegating_wrapper_handed_to_code_the_engine_cannot_see_is_refused(tmp_path, capsys):
    # what that code calls through the wrapper (`agent.act(x, h)`) is the policy's changed method
    handed = ACTING.replace("    import torch\n", "    import torch\n    import trainer\n").replace(
        "        h = agent.initial(2)\n", "        trainer.fit(agent)\n        h = agent.initial(2)\n")
    write(tmp_path, {"pyproject.toml": "", "policy.py": POLICY, "wrapper.py": EXPLORER, "main.py": handed})
    assert main(["rewrite", str(tmp_path)]) == 1
    assert ("G2L101 an instance of `Explorer` is passed to `trainer.fit`, which the engine cannot follow; `Explorer` hands what "
            "it lacks to `self._policy` (its `__getattr__`), and `GRUPolicy.") in capsys.readouterr().out
    assert (tmp_path / "policy.py").read_text() == textwrap.dedent(POLICY)  # nothing written


# ---------------------------------------------------------------- two groups that reach one given file
def _actor(name: str, size: int) -> str:
    return f"""\
    import torch
    import torch.nn as nn

    from recorder_{name} import Recorder


    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, {size})
            self.head = nn.Linear({size}, 2)
            self.recorder = Recorder()

        def forward(self, x, h):
            y, h = self.rnn(x, h)
            self.recorder.add(y, h)
            return self.head(y), h


    def main():
        actor = Actor()
        h = torch.zeros(1, 2, {size})
        for step in range(4):
            y, h = actor(torch.randn(1, 2, 3), h)
        y, h = actor(torch.randn(1, 2, 3), actor.recorder.first())
        return y
"""


def _two_groups() -> dict:
    return {"pyproject.toml": "", "model_a.py": _actor("a", 6), "model_b.py": _actor("b", 5),
            "recorder_a.py": RECORDER, "recorder_b.py": RECORDER, "records.py": RECORDS}


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_two_groups_whose_flows_reach_one_given_file_are_migrated_as_one(tmp_path, capsys, form, jobs):
    # model_a.py and model_b.py each construct a GRU (two groups); each keeps its states in
    # `Record`s of records.py, two imports from its core. The first group back took records.py in;
    # the second was refused: "records.py, a file not migrated with this one; give that file in
    # the same run too", and a G2L105 on model_*.py, though records.py was given and migrated.
    write(tmp_path, _two_groups())
    assert main(["rewrite", "-j", jobs, "--state", form, str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "G2L10" not in captured.out + captured.err
    run_migrated(tmp_path, "import model_a, model_b\nmodel_a.main()\nmodel_b.main()\n")


def test_two_groups_reaching_one_file_are_reported_as_one_under_check(tmp_path, capsys):
    write(tmp_path, _two_groups())
    assert main(["rewrite", "--check", "--quiet", str(tmp_path)]) == 1
    assert capsys.readouterr().out == ""  # no finding: each file is said once, as "would rewrite"


# ---------------------------------------------------------------- a given file that imports a changed file for a constant
AGENT_WITH_STORAGE = """\
    import torch
    import torch.nn as nn

    from storage import Storage


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 6)
            self.head = nn.Linear(6, 2)
            self.storage = Storage(4, 2, 6)

        def forward(self, x, h):
            y, h = self.rnn(x, h)
            return self.head(y), h

        def run(self):
            h = torch.zeros(1, 2, 6)
            for step in range(4):
                y, h = self(torch.randn(1, 2, 3), h)
                self.storage.insert(step, h)
            y, h = self(torch.randn(1, 2, 3), self.storage.at(2))
            return y
"""

STORAGE = """\
    import torch

    STEPS = 4


    class Storage:
        def __init__(self, steps, envs, size):
            self.hxs = torch.zeros(steps + 1, envs, size)

        def insert(self, step, h):
            self.hxs[step + 1].copy_(h.squeeze(0))

        def at(self, step):
            return self.hxs[step].unsqueeze(0)
"""

NAMING = """\
    from storage import STEPS, Storage


    def describe():
        return f"{Storage.__name__} of {STEPS} steps"
"""

FILLING = """\
    import torch

    from storage import Storage


    def warm(storage):
        storage.insert(0, torch.zeros(1, 2, 6))
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_given_file_importing_the_changed_storage_for_its_name_leaves_the_group_migrated(tmp_path, capsys, form):
    # naming.py imports `Storage` (whose insert() now takes (h, c)) only to print its name; it was
    # G2L101 "... imports it without being migrated with it" and a G2L105 on agent.py.
    write(tmp_path, {"pyproject.toml": "", "agent.py": AGENT_WITH_STORAGE, "storage.py": STORAGE, "naming.py": NAMING})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "naming.py").read_text() == textwrap.dedent(NAMING)
    run_migrated(tmp_path, "import agent, naming\nagent.Agent().run()\nprint(naming.describe())\n")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_given_file_that_feeds_the_changed_storage_is_migrated_with_the_group(tmp_path, form):
    # filling.py hands the storage a fresh state: migrated with the group, it passes (h, c) too
    write(tmp_path, {"pyproject.toml": "", "agent.py": AGENT_WITH_STORAGE, "storage.py": STORAGE, "filling.py": FILLING})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    assert (tmp_path / "filling.py").read_text() != textwrap.dedent(FILLING)
    run_migrated(tmp_path, """\
        import agent, filling
        a = agent.Agent()
        filling.warm(a.storage)
        a.run()
    """)


def test_a_file_feeding_the_changed_storage_not_given_is_named_and_nothing_is_written(tmp_path, capsys, monkeypatch):
    files = {"pyproject.toml": "", "agent.py": AGENT_WITH_STORAGE, "storage.py": STORAGE, "filling.py": FILLING}
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "agent.py", "storage.py"]) == 1
    out = capsys.readouterr().out
    assert ("storage.py:10:9: G2L101 `Storage.insert()` and `Storage.at()` now take or return (h, c), and filling.py imports "
            "from this file without being given, so its calls would still pass and take one tensor; give that file too") in out
    assert {name: (tmp_path / name).read_text() for name in files} == {name: textwrap.dedent(text) for name, text in files.items()}


# ---------------------------------------------------------------- a near file that calls the model through a parameter
SELF_PLAYING = """\
    import torch
    import torch.nn as nn

    from runner import rollout


    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 6)
            self.head = nn.Linear(6, 2)

        def initial(self, n):
            return torch.zeros(1, n, 6)

        def forward(self, x, h):
            y, h = self.rnn(x, h)
            return self.head(y), h

        def play(self):
            return rollout(self, self.initial(2))
"""

ROLLOUT = """\
    import torch


    def rollout(actor, h):
        for step in range(4):
            y, h = actor(torch.randn(1, 2, 3), h)
            h = h * 0.5
        return y, h
"""


def test_a_loop_in_a_near_file_over_an_object_it_is_handed_is_seen(tmp_path, capsys):
    # model.py alone migrated clean (forward() "no caller found", G2L202 only): runner.py, which it
    # imports from, was never analysed, and the rewrite exited 0 with the LSTM given one tensor.
    # (`self` of a class a subclass may be is no known instance there: the loop is refused.)
    subclass = "\n\n    class Slow(Actor):\n        def forward(self, x, h):\n            return super().forward(x, h)\n"
    files = {"pyproject.toml": "", "model.py": SELF_PLAYING + subclass, "runner.py": ROLLOUT}
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (f"{tmp_path / 'runner.py'}:6:16: G2L101 `actor(torch.randn(1, 2, 3), h)` calls `actor`, an object from outside that "
            "nothing analysed identifies, passing what looks like a hidden state") in out
    assert {name: (tmp_path / name).read_text() for name in files} == {name: textwrap.dedent(text) for name, text in files.items()}


def test_self_handed_to_a_function_of_a_file_not_given_is_named(tmp_path, capsys):
    # pre-commit gives model.py alone: `rollout(self, ...)` hands the Actor to runner.py, unseen
    files = {"pyproject.toml": "", "model.py": SELF_PLAYING, "runner.py": ROLLOUT}
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", str(tmp_path / "model.py")]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'model.py'}:21:24: G2L101 an instance of `Actor` (`self`) is passed to `rollout`, which comes from " in out
    assert "runner.py, a file not migrated with this one; `Actor.forward()` now takes or returns (h, c)" in out
    assert {name: (tmp_path / name).read_text() for name in files} == {name: textwrap.dedent(text) for name, text in files.items()}


def test_self_handed_to_a_builtin_is_no_escape(tmp_path):
    # `super(Actor, self).__init__()` hands self to a builtin: the corpus's models were refused for it
    files = {"pyproject.toml": "", "model.py": SELF_PLAYING.replace("super().__init__()", "super(Actor, self).__init__()")}
    files["model.py"] = files["model.py"].replace("from runner import rollout\n", "").replace(
        "            return rollout(self, self.initial(2))", "            return self(torch.randn(1, 2, 3), self.initial(2))")
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", str(tmp_path / "model.py")]) == 0
    assert "self.rnn = nn.LSTM(3, 6)" in (tmp_path / "model.py").read_text()


def test_a_loop_in_a_near_file_over_self_handed_to_it_is_migrated(tmp_path):
    # `rollout(self, ...)`: self is an Actor there, so runner.py's loop is followed and migrated
    write(tmp_path, {"pyproject.toml": "", "model.py": SELF_PLAYING, "runner.py": ROLLOUT})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "h = (h[0] * 0.5, h[1] * 0.5)" in (tmp_path / "runner.py").read_text()
    run_migrated(tmp_path, "import model\nmodel.Actor().play()\n")
