"""Files that share hidden states are migrated together: groups, imports, all or nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path

from gru2lstm.cli import main
from gru2lstm.engine import RunOptions, run
from gru2lstm.project import Project

MODEL = textwrap.dedent('''\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def initial_state(self, batch):
            return torch.zeros(1, batch, 8)

        def forward(self, x, h):
            y, h = self.gru(x, h)
            return y, h
''')

AGENT = textwrap.dedent('''\
    from model import Policy


    class Agent:
        def __init__(self):
            self.policy = Policy()
            self.hidden = self.policy.initial_state(2)

        def act(self, x):
            y, self.hidden = self.policy(x, self.hidden)
            return y

        def end(self, done):
            self.hidden = self.hidden * (1.0 - done)
''')


def write(folder: Path, files: dict) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def groups_of(folder: Path, seeds: list) -> list:
    paths = sorted(folder.rglob("*.py"))
    names = [p.relative_to(folder).as_posix() for p in paths]
    return [
        ([names[i] for i in group.core], [names[i] for i in group.near])
        for group in Project(paths).groups([names.index(s) for s in seeds])
    ]


def test_a_group_takes_importers_transitively_and_what_they_import_one_step(tmp_path):
    write(tmp_path, {
        "model.py": "class Policy:\n    pass\n",
        "agent.py": "from model import Policy\nfrom storage import Buffer\n",
        "train.py": "import agent\n\nagent.Agent = None\nfrom agent import Policy\n",
        "storage.py": "from helpers import pad\n\nclass Buffer:\n    pass\n",
        "helpers.py": "def pad():\n    pass\n",
        "unrelated.py": "import os\n",
    })
    assert groups_of(tmp_path, ["model.py"]) == [(["agent.py", "model.py", "train.py"], ["storage.py"])]


def test_relative_imports_and_module_imports_count(tmp_path):
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/model.py": "class Policy:\n    pass\n",
        "pkg/agent.py": "from .model import Policy\nfrom . import buffers\n\nb = buffers.Storage()\n",
        "pkg/buffers.py": "class Storage:\n    pass\n",
    })
    assert groups_of(tmp_path, ["pkg/model.py"]) == [(["pkg/agent.py", "pkg/model.py"], ["pkg/buffers.py"])]


def test_files_that_do_not_import_each_other_are_separate_groups(tmp_path):
    write(tmp_path, {"a.py": "class A:\n    pass\n", "b.py": "class B:\n    pass\n"})
    assert groups_of(tmp_path, ["a.py", "b.py"]) == [(["a.py"], []), (["b.py"], [])]


def test_a_state_made_in_one_file_and_masked_in_another_is_migrated_in_both(tmp_path):
    write(tmp_path, {"model.py": MODEL, "agent.py": AGENT})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    model, agent = (tmp_path / "model.py").read_text(), (tmp_path / "agent.py").read_text()
    assert "self.lstm = nn.LSTM(4, 8)" in model and "torch.zeros(1, batch, 8),\n" in model
    assert "self.hidden = (self.hidden[0] * (1.0 - done), self.hidden[1] * (1.0 - done))" in agent


def test_the_renamed_attribute_is_followed_into_other_files(tmp_path):
    write(tmp_path, {"model.py": MODEL, "agent.py": AGENT + "\n    def compact(self):\n        self.policy.gru.flatten_parameters()\n"})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "self.policy.lstm.flatten_parameters()" in (tmp_path / "agent.py").read_text()


def test_a_file_given_alone_reports_where_the_state_goes_outside_the_given_paths(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"model.py": MODEL, "agent.py": AGENT})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--check", "model.py"]) == 1
    # model.py alone is refused (agent.py calls what it changes); agent.py alone has no GRU.
    assert main(["rewrite", "--check", "--quiet", "agent.py"]) == 0
    write(tmp_path, {"agent.py": AGENT.replace("from model import Policy", "import torch.nn as nn\nfrom model import Policy")
                     .replace("self.policy = Policy()", "self.policy = Policy()\n        self.core = nn.GRU(4, 8)")
                     .replace("y, self.hidden = self.policy(x, self.hidden)", "y, self.hidden = self.core(x, self.hidden)")})
    capsys.readouterr()
    assert main(["rewrite", "--check", "agent.py"]) == 1
    out = capsys.readouterr().out
    assert "agent.py:9:" in out and "which comes from model.py, a file not migrated with this one" in out


def test_when_one_file_of_a_group_needs_a_person_none_is_written(tmp_path, capsys):
    blocked = AGENT + "\n    def save(self):\n        import pickle\n        return pickle.dumps(self.hidden)\n"
    write(tmp_path, {"model.py": MODEL, "agent.py": blocked})
    assert main(["rewrite", str(tmp_path)]) == 1
    assert (tmp_path / "model.py").read_text() == MODEL
    assert (tmp_path / "agent.py").read_text() == blocked
    out = capsys.readouterr().out
    assert f"{tmp_path / 'agent.py'}:18:16: G2L101" in out
    assert f"{tmp_path / 'model.py'}:1:1: G2L105 not migrated: {tmp_path / 'agent.py'} shares hidden states" in out
    # With --allow-partial, what is safe is written in both and the rest is marked.
    assert main(["rewrite", "--allow-partial", "--quiet", str(tmp_path)]) == 1
    assert "nn.LSTM" in (tmp_path / "model.py").read_text()
    assert "# gru2lstm: manual" in (tmp_path / "agent.py").read_text()


def test_results_of_a_group_say_which_files_were_changed_together(tmp_path):
    write(tmp_path, {"model.py": MODEL, "agent.py": AGENT, "other.py": "x = 1\n"})
    results = {Path(r.path).name: r for r in run([str(tmp_path)], RunOptions(write=False))}
    assert results["model.py"].status == results["agent.py"].status == "changed"
    assert set(results["model.py"].group) == {str(tmp_path / "model.py"), str(tmp_path / "agent.py")}
    assert results["other.py"].status == "unchanged" and results["other.py"].group == ()


ROLLOUT = textwrap.dedent('''\
    import torch


    def rollout(actor, steps):
        h = torch.zeros(1, 2, 8)
        for _ in range(steps):
            y, h = actor(torch.randn(1, 2, 4), h)
        return y
''')


def test_a_module_passed_to_a_function_of_another_file_is_followed_there(tmp_path):
    # main.py makes the policy and hands it to rollout(): the state rollout() makes is a pair too.
    write(tmp_path, {"model.py": MODEL, "rollout.py": ROLLOUT,
                     "main.py": "from model import Policy\nfrom rollout import rollout\n\nrollout(Policy(), 5)\n"})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "h = (\n        torch.zeros(1, 2, 8),\n        torch.zeros(1, 2, 8),\n    )\n" in (tmp_path / "rollout.py").read_text()


def test_a_module_handed_to_code_the_engine_cannot_see_is_refused(tmp_path, capsys):
    files = {"model.py": MODEL, "main.py": "import trainer\nfrom model import Policy\n\ntrainer.fit(Policy())\n"}
    write(tmp_path, files)
    assert main(["rewrite", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'main.py'}:4:13: G2L101 an instance of `Policy` is passed to `trainer.fit`" in out
    assert "`Policy.forward()` now takes or returns (h, c)" in out
    assert all((tmp_path / name).read_text() == text for name, text in files.items())


REGISTERED = MODEL + "\n\nREGISTRY = {}\nREGISTRY[\"rnn\"] = Policy\n"
CONTROLLER = textwrap.dedent('''\
    from model import REGISTRY


    class Controller:
        def __init__(self, name):
            self.agent = REGISTRY[name]()
            self.hidden = self.agent.initial_state(2)

        def act(self, x):
            y, self.hidden = self.agent(x, self.hidden)
            return y
''')


def test_a_registry_of_agent_classes_is_followed(tmp_path):
    write(tmp_path, {"model.py": REGISTERED, "controller.py": CONTROLLER})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "self.lstm = nn.LSTM(4, 8)" in (tmp_path / "model.py").read_text()
    assert (tmp_path / "controller.py").read_text() == CONTROLLER  # it passes the pair along as it is


def test_a_registry_of_several_classes_makes_an_instance_of_each(tmp_path):
    other = textwrap.dedent('''\
        import torch


        class Still:
            def initial_state(self, batch):
                return torch.zeros(1, batch, 8)

            def forward(self, x, h):
                return x, h * 0.5
    ''')
    registry = MODEL.replace("import torch\n", "import torch\n\nfrom still import Still\n", 1) + "\n\nREGISTRY = {\"rnn\": Policy, \"still\": Still}\n"
    write(tmp_path, {"model.py": registry, "still.py": other, "controller.py": CONTROLLER.replace("y, self.hidden = self.agent(x", "y, self.hidden = self.agent.forward(x")})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    # Still's state is a pair too now: the controller may hold either agent
    assert "return x, (h[0] * 0.5, h[1] * 0.5)" in (tmp_path / "still.py").read_text()
    assert "torch.zeros(1, batch, 8),\n" in (tmp_path / "still.py").read_text()


def test_an_agent_of_a_registry_of_several_classes_held_in_a_local_is_followed(tmp_path):
    registry = REGISTERED.replace("REGISTRY[\"rnn\"] = Policy\n", "REGISTRY[\"rnn\"] = Policy\nREGISTRY[\"twin\"] = Twin\n")
    registry = registry.replace("\n\nREGISTRY = {}", "\n\nclass Twin(Policy):\n    pass\n\n\nREGISTRY = {}")
    runner = "from model import REGISTRY\n\n\ndef run(name, x):\n    agent = REGISTRY[name]()\n    h = agent.initial_state(2)\n    y, h = agent(x, h)\n    return y, h\n"
    write(tmp_path, {"model.py": registry, "runner.py": runner})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "self.lstm = nn.LSTM(4, 8)" in (tmp_path / "model.py").read_text()


def test_a_registry_written_by_code_the_engine_cannot_read_is_refused(tmp_path, capsys):
    registry = REGISTERED + "REGISTRY.update(plugins.AGENTS)\n"
    write(tmp_path, {"model.py": registry, "controller.py": CONTROLLER})
    assert main(["rewrite", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'model.py'}:19:19: G2L101 `Policy` is used as a value here (a registry, a factory, a callback)" in out
    assert (tmp_path / "model.py").read_text() == registry


def test_a_registry_lookup_kept_in_a_variable_only_called_is_followed(tmp_path):
    controller = CONTROLLER.replace("self.agent = REGISTRY[name]()", "cls = REGISTRY[name]\n        self.agent = cls()")
    write(tmp_path, {"model.py": REGISTERED, "controller.py": controller})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "self.lstm = nn.LSTM(4, 8)" in (tmp_path / "model.py").read_text()
    assert (tmp_path / "controller.py").read_text() == controller


def test_a_registry_lookup_kept_in_a_variable_and_stored_is_refused(tmp_path, capsys):
    # `self.kind = cls` hands the class on: what is made from it there is not followed
    controller = CONTROLLER.replace("self.agent = REGISTRY[name]()", "cls = REGISTRY[name]\n        self.kind = cls\n        self.agent = cls()")
    write(tmp_path, {"model.py": REGISTERED, "controller.py": controller})
    assert main(["rewrite", str(tmp_path)]) == 1
    assert f"{tmp_path / 'model.py'}:19:19: G2L101 `Policy` is used as a value here" in capsys.readouterr().out
    assert (tmp_path / "controller.py").read_text() == controller


def test_a_registry_read_by_a_file_not_given_blocks_the_others(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"model.py": REGISTERED, "controller.py": CONTROLLER})
    monkeypatch.chdir(tmp_path)
    # No lookup of the registry is seen: `Policy` stored into it is a crossing, and nothing is written.
    assert main(["rewrite", "model.py"]) == 1
    assert "model.py:19:19: G2L101 `Policy` is used as a value here" in capsys.readouterr().out
    assert (tmp_path / "model.py").read_text() == REGISTERED


def test_a_state_carrying_function_without_callers_is_an_interface_change(tmp_path, capsys):
    # without initial_state(), which nothing calls either (tests/test_uncalled_creators.py)
    write(tmp_path, {"model.py": MODEL.replace("    def initial_state(self, batch):\n        return torch.zeros(1, batch, 8)\n\n", "")})
    assert main(["rewrite", str(tmp_path / "model.py")]) == 0
    out = capsys.readouterr().out
    assert "model.py:10:9: G2L202 interface change: the parameter `h` and the return value of `Policy.forward()` become (h, c)" in out
    assert "nn.LSTM(4, 8)" in (tmp_path / "model.py").read_text()


def test_a_star_import_of_the_model_file_brings_its_classes(tmp_path):
    agent = AGENT.replace("from model import Policy", "from model import *")
    write(tmp_path, {"model.py": MODEL, "agent.py": agent})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "self.hidden = (self.hidden[0] * (1.0 - done), self.hidden[1] * (1.0 - done))" in (tmp_path / "agent.py").read_text()
def test_a_suppressed_finding_in_one_file_lets_the_group_be_written(tmp_path, capsys):
    kept = AGENT + "\n    def save(self):\n        import pickle\n        return pickle.dumps(self.hidden)  # gru2lstm: ignore[G2L101]\n"
    write(tmp_path, {"model.py": MODEL, "agent.py": kept})
    assert main(["rewrite", str(tmp_path)]) == 0
    assert (tmp_path / "model.py").read_text() != MODEL  # migrated with agent.py, which no longer blocks it
    assert (tmp_path / "agent.py").read_text().endswith("return pickle.dumps(self.hidden)  # gru2lstm: ignore[G2L101]\n")
    assert "G2L105" not in capsys.readouterr().out


def test_a_file_given_alone_is_not_written_when_a_file_not_given_calls_what_it_changes(tmp_path, capsys, monkeypatch):
    # pre-commit hands over the staged model.py only; agent.py, not given, still passes one tensor.
    write(tmp_path, {"model.py": MODEL, "agent.py": AGENT})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "model.py"]) == 1
    assert (tmp_path / "model.py").read_text() == MODEL
    out = capsys.readouterr().out
    assert "model.py:13:9: G2L101 `Policy.forward()` now takes or returns (h, c) (the parameter `h` and the return value), " \
           "and agent.py imports it without being given" in out
    # Given together they are migrated together.
    assert main(["rewrite", "--quiet", "model.py", "agent.py"]) == 0
    assert "nn.LSTM" in (tmp_path / "model.py").read_text()


def test_a_file_not_given_that_uses_nothing_whose_contract_changes_does_not_block(tmp_path, capsys, monkeypatch):
    runner = "from agent import Agent\n\nagent = Agent()\nagent.act(None)\nagent.end(0.0)\n"
    write(tmp_path, {"model.py": MODEL, "agent.py": AGENT, "runner.py": runner})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "model.py", "agent.py"]) == 0
    assert "nn.LSTM" in (tmp_path / "model.py").read_text() and (tmp_path / "runner.py").read_text() == runner


def test_interface_changes_are_listed_in_json(tmp_path, capsys):
    import json

    write(tmp_path, {"model.py": MODEL})
    main(["rewrite", "--check", "--format", "json", str(tmp_path / "model.py")])
    record = json.loads(capsys.readouterr().out)["files"][0]
    assert record["interface_changes"] == [
        {"line": 13, "column": 9, "function": "Policy.forward", "carriers": "the parameter `h` and the return value", "called": False}
    ]


def test_folders_without_init_are_namespace_packages_run_from_the_project_root(tmp_path):
    # networks/policy.py and agents/agent.py, no __init__.py; agent.py says `from networks.policy import Policy`.
    write(tmp_path, {"networks/policy.py": MODEL, "agents/agent.py": AGENT.replace("from model import", "from networks.policy import")})
    assert groups_of(tmp_path, ["networks/policy.py"]) == [(["agents/agent.py", "networks/policy.py"], [])]


def test_a_src_package_is_found_whether_src_is_a_package_or_the_root(tmp_path):
    write(tmp_path, {"src/__init__.py": "", "src/pkg/__init__.py": "", "src/pkg/model.py": MODEL,
                     "src/pkg/agent.py": AGENT.replace("from model import", "from pkg.model import")})
    assert groups_of(tmp_path, ["src/pkg/model.py"]) == [(["src/pkg/agent.py", "src/pkg/model.py"], [])]


def test_without_a_project_marker_the_working_folder_is_the_project(tmp_path, capsys, monkeypatch):
    # `python main.py` runs from here: main.py imports pkg.model, so pkg/model.py alone is refused.
    write(tmp_path, {"pkg/__init__.py": "", "pkg/model.py": MODEL,
                     "main.py": "from pkg.model import Policy\n\nh = Policy().initial_state(2)\ny, h = Policy()(None, h)\n"})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "pkg/model.py"]) == 1
    assert "and main.py imports it without being given" in capsys.readouterr().out
    assert (tmp_path / "pkg" / "model.py").read_text() == MODEL


def test_an_import_inside_a_function_ties_the_files(tmp_path, capsys, monkeypatch):
    agent = AGENT.replace("from model import Policy\n", "").replace(
        "        self.policy = Policy()", "        from model import Policy\n\n        self.policy = Policy()")
    write(tmp_path, {"model.py": MODEL, "agent.py": agent})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--check", "model.py"]) == 1
    assert "and agent.py imports it without being given" in capsys.readouterr().out
    assert main(["rewrite", "--quiet", "."]) == 0
    assert "self.hidden = (self.hidden[0] * (1.0 - done), self.hidden[1] * (1.0 - done))" in (tmp_path / "agent.py").read_text()


def test_importlib_import_module_of_a_literal_is_an_import(tmp_path):
    agent = AGENT.replace("from model import Policy\n", "import importlib\n\nmodels = importlib.import_module(\"model\")\n").replace(
        "Policy()", "models.Policy()")
    write(tmp_path, {"model.py": MODEL, "agent.py": agent})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "self.hidden = (self.hidden[0] * (1.0 - done), self.hidden[1] * (1.0 - done))" in (tmp_path / "agent.py").read_text()


def test_importlib_import_module_inside_a_function_is_an_import_too(tmp_path):
    run = (
        "import importlib\n\nimport torch\n\n\n"
        "def main():\n"
        "    models = importlib.import_module(\"model\")\n"
        "    policy = models.Policy()\n"
        "    h = policy.initial_state(2)\n"
        "    for _ in range(3):\n"
        "        y, h = policy(torch.zeros(2, 4), h)\n"
        "    return y\n"
    )
    write(tmp_path, {"model.py": MODEL, "run.py": run})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert (tmp_path / "run.py").read_text() == run  # it passes the state along as it is
    assert "nn.LSTM(4, 8)" in (tmp_path / "model.py").read_text()


def test_the_step_table_lists_the_interface_changes(tmp_path, capsys):
    write(tmp_path, {"model.py": MODEL, "agent.py": AGENT})
    main(["rewrite", "--check", str(tmp_path)])
    err = " ".join(capsys.readouterr().err.split())
    assert "interface changes (parameters or returns that become (h, c)): Policy.initial_state() (its callers here follow), " \
           "Policy.forward() (its callers here follow)" in err


def test_a_group_refused_for_a_finding_a_wider_one_cannot_change_parses_only_its_core(tmp_path, monkeypatch):
    """A GRU/LSTM switch (G2L102) is not resolved by reading the files the model imports from:
    they are not parsed again with LibCST (on a library tree, that was most of the run)."""
    import gru2lstm.migrate as migrate

    model = (
        "import torch.nn as nn\n\nfrom layers import init\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, use_gru):\n"
        "        super().__init__()\n"
        "        self.rnn = nn.GRU(4, 8) if use_gru else nn.LSTM(4, 8)\n"
        "        init(self.rnn)\n"
    )
    write(tmp_path, {"model.py": model, "layers.py": "def init(module):\n    return module\n"})
    parsed = []
    real = migrate.parse
    monkeypatch.setattr(migrate, "parse", lambda source: parsed.append(source) or real(source))
    results = run([str(tmp_path)], RunOptions(write=False))
    assert {Path(r.path).name: r.status for r in results}["model.py"] == "needs_attention"
    assert parsed == [model]


def test_with_several_contracts_changed_the_finding_names_them_all(tmp_path, capsys, monkeypatch):
    # Which of them runner.py calls, its imports alone cannot say: each one is named, none claimed.
    model = MODEL + textwrap.dedent('''\


        def step(x, h):
            return Policy()(x, h)
    ''')
    runner = "from model import step\n\ny, h = step(None, None)\n"
    write(tmp_path, {"model.py": model, "runner.py": runner})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--check", "model.py"]) == 1
    out = capsys.readouterr().out
    assert "now take or return (h, c), and runner.py imports from this file without being given" in out
    assert "`Policy.forward()`" in out and "`step()`" in out
