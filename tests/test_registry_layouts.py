"""Registries kept in another file: filled by a decorator, read with `.get`, or a literal of a file
that only holds it. Followed when every store is known and the files are given together; refused
(G2L101 naming the file) when a file that holds or fills the registry was not given, and when a
module's members are taken by name (`getattr(module, name)`)."""

from __future__ import annotations

import textwrap

from gru2lstm.cli import main
from test_cross_file import write

DECORATOR_REGISTRY = textwrap.dedent('''\
    AGENTS = {}


    def register(name):
        def deco(cls):
            AGENTS[name] = cls
            return cls
        return deco
''')

POLICY = textwrap.dedent('''\
    import torch
    import torch.nn as nn

    from registry import register


    @register("rnn")
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

CONTROLLER = textwrap.dedent('''\
    from registry import AGENTS


    class Controller:
        def __init__(self, name):
            self.agent = AGENTS[name]()
            self.hidden = self.agent.initial_state(2)

        def act(self, x):
            y, self.hidden = self.agent(x, self.hidden)
            return y

        def end(self, done):
            self.hidden = self.hidden * (1.0 - done)
''')

MASKED = "self.hidden = (self.hidden[0] * (1.0 - done), self.hidden[1] * (1.0 - done))"


def test_a_registry_filled_by_a_decorator_is_followed(tmp_path):
    write(tmp_path, {"registry.py": DECORATOR_REGISTRY, "model.py": POLICY, "controller.py": CONTROLLER})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "self.lstm = nn.LSTM(4, 8)" in (tmp_path / "model.py").read_text()
    assert MASKED in (tmp_path / "controller.py").read_text()
    assert (tmp_path / "registry.py").read_text() == DECORATOR_REGISTRY


def test_a_registry_read_with_get_is_followed(tmp_path):
    controller = CONTROLLER.replace("AGENTS[name]()", "AGENTS.get(name)()")
    write(tmp_path, {"registry.py": DECORATOR_REGISTRY, "model.py": POLICY, "controller.py": controller})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert MASKED in (tmp_path / "controller.py").read_text()


def test_the_default_of_get_is_made_too(tmp_path):
    still = "import torch\n\n\nclass Still:\n    def initial_state(self, batch):\n        return torch.zeros(1, batch, 8)\n\n" \
            "    def forward(self, x, h):\n        return x, h * 0.5\n"
    controller = CONTROLLER.replace("AGENTS[name]()", "AGENTS.get(name, Still)()").replace(
        "from registry import AGENTS\n", "from registry import AGENTS\nfrom still import Still\n")
    controller = controller.replace("y, self.hidden = self.agent(x", "y, self.hidden = self.agent.forward(x")
    write(tmp_path, {"registry.py": DECORATOR_REGISTRY, "model.py": POLICY, "controller.py": controller, "still.py": still})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    # the controller may hold either class: Still's state is a pair too
    assert "return x, (h[0] * 0.5, h[1] * 0.5)" in (tmp_path / "still.py").read_text()


def test_a_decorator_also_called_by_hand_is_refused(tmp_path, capsys):
    registry = DECORATOR_REGISTRY + "\n\nclass Other:\n    pass\n\n\nregister(\"other\")(Other)\n"
    files = {"registry.py": registry, "model.py": POLICY, "controller.py": CONTROLLER}
    write(tmp_path, files)
    assert main(["rewrite", str(tmp_path)]) == 1
    assert f"{tmp_path / 'model.py'}:7:2: G2L101 `Policy` is handed to a decorator here that may keep it in a registry" in capsys.readouterr().out
    assert all((tmp_path / name).read_text() == text for name, text in files.items())


def test_a_decorator_registry_of_a_file_not_given_is_refused_naming_it(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"registry.py": DECORATOR_REGISTRY, "model.py": POLICY, "controller.py": CONTROLLER})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "model.py"]) == 1
    assert "model.py:7:2: G2L101 `Policy` is handed to a decorator here that may keep it in a registry, which comes " \
           "from registry.py, a file not migrated with this one" in capsys.readouterr().out
    assert (tmp_path / "model.py").read_text() == POLICY


def test_a_literal_registry_of_another_file_is_followed_or_refused_naming_it(tmp_path, capsys, monkeypatch):
    policy = POLICY.replace("from registry import register", "from registry import AGENTS").replace('@register("rnn")\n', "")
    policy += '\n\nAGENTS["rnn"] = Policy\n'
    files = {"registry.py": "AGENTS = {}\n", "model.py": policy, "controller.py": CONTROLLER}
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "model.py", "controller.py"]) == 1
    assert "model.py:20:17: G2L101 `Policy` is used as a value here (a registry, a factory, a callback) that involves " \
           "registry.py, a file not migrated with this one" in capsys.readouterr().out
    assert all((tmp_path / name).read_text() == text for name, text in files.items())
    assert main(["rewrite", "--quiet", "."]) == 0
    assert MASKED in (tmp_path / "controller.py").read_text()


def test_getattr_of_a_module_is_refused(tmp_path, capsys, monkeypatch):
    policy = POLICY.replace("from registry import register\n", "").replace('@register("rnn")\n', "")
    controller = CONTROLLER.replace("from registry import AGENTS", "import model").replace("AGENTS[name]()", "getattr(model, name)()")
    files = {"model.py": policy, "controller.py": controller}
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "."]) == 1
    assert "controller.py:6:30: G2L101 the module `model` is used as a value here" in capsys.readouterr().out
    # pre-commit: the file that takes its members by name was not given
    assert main(["rewrite", "model.py"]) == 1
    assert "and controller.py imports it without being given" in capsys.readouterr().out
    assert all((tmp_path / name).read_text() == text for name, text in files.items())
