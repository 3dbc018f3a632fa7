"""A changed forward() (or method) that may be called through an object the engine cannot
identify, in the shape of a recurrent loop: refused, naming the call (duck_calls.py)."""

from __future__ import annotations

import textwrap

from gru2lstm.cli import main
from test_cross_file import write

MODEL = textwrap.dedent('''\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self, hidden_size=8):
            super().__init__()
            self.hidden_size = hidden_size
            self.gru = nn.GRU(4, hidden_size)
            self.head = nn.Linear(hidden_size, 2)

        def forward(self, obs, hidden=None):
            out, hidden = self.gru(obs, hidden)
            return self.head(out[-1]), hidden
''')

# Handed any module; nothing in the project calls it (a notebook does).
COLLECT = textwrap.dedent('''\
    import torch


    def collect(net, envs, steps):
        hidden = torch.zeros(1, envs, net.hidden_size)
        for _ in range(steps):
            logits, hidden = net(torch.randn(1, envs, 4), hidden)
            hidden.mul_(0.5)
        return hidden
''')

RUNNER = textwrap.dedent('''\
    import torch


    class Runner:
        def __init__(self, policy, envs):
            self.policy = policy
            self.state = torch.zeros(1, envs, 8)

        def step(self, obs):
            logits, self.state = self.policy(obs, hidden=self.state)
            return logits
''')

ENJOY = textwrap.dedent('''\
    import torch

    net = torch.load("net.pt")
    h = torch.zeros(1, 1, 8)
    for _ in range(3):
        logits, h = net(torch.randn(1, 1, 4), h)
''')


def test_a_parameter_called_in_a_loop_in_a_file_that_imports_nothing_refuses(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"model.py": MODEL, "collect.py": COLLECT})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "."]) == 1
    out = capsys.readouterr().out
    assert "model.py:12:9: G2L101 `Net.forward()`" in out
    assert "collect.py, which imports none of the files migrated with this one, calls `net(torch.randn(1, envs, 4), hidden)` at line 7" in out
    assert (tmp_path / "model.py").read_text() == MODEL


def test_only_the_model_given_names_the_file_not_given(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"model.py": MODEL, "collect.py": COLLECT})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "model.py"]) == 1
    assert "collect.py, which was not given, calls `net(" in capsys.readouterr().out
    assert (tmp_path / "model.py").read_text() == MODEL


def test_an_attribute_set_from_a_constructor_parameter_and_a_keyword_refuse(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"model.py": MODEL, "runner.py": RUNNER})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "."]) == 1
    assert "calls `self.policy(obs, hidden=self.state)` at line 10" in capsys.readouterr().out


def test_a_loaded_policy_played_by_a_script_refuses(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"model.py": MODEL, "enjoy.py": ENJOY})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "."]) == 1
    assert "enjoy.py, which imports none of the files migrated with this one, calls `net(torch.randn(1, 1, 4), h)` at line 6" in capsys.readouterr().out


def test_in_the_model_file_the_call_itself_is_the_finding(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"model.py": MODEL + "\n\n" + COLLECT.replace("import torch\n", "")})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "."]) == 1
    out = capsys.readouterr().out
    assert "model.py:22:26: G2L101 `net(torch.randn(1, envs, 4), hidden)` calls `net`, an object from outside" in out
    assert "if it is the module of `Net.forward()`" in out


def test_a_caller_that_passes_the_module_makes_the_loop_followed(tmp_path, monkeypatch):
    main_py = "from collect import collect\nfrom model import Net\n\ncollect(Net(), 2, 3)\n"
    write(tmp_path, {"model.py": MODEL, "collect.py": COLLECT, "main.py": main_py})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "."]) == 0
    migrated = (tmp_path / "collect.py").read_text()
    assert "        torch.zeros(1, envs, net.hidden_size),\n        torch.zeros(1, envs, net.hidden_size),\n" in migrated
    assert "(hidden[0].mul_(0.5), hidden[1].mul_(0.5))" in migrated


def test_a_file_with_its_own_recurrent_module_is_a_program_of_its_own(tmp_path, monkeypatch):
    own = COLLECT + "\n\nclass Other(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.lstm = torch.nn.LSTM(4, 8)\n"
    write(tmp_path, {"model.py": MODEL, "other.py": own})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "."]) == 0


def test_calls_that_do_not_take_back_what_they_pass_are_not_loops(tmp_path, monkeypatch):
    plain = textwrap.dedent('''\
        def evaluate(net, env, steps):
            obs = env.reset()
            for _ in range(steps):
                obs, reward, done, info = env.step(net.pick(obs))
                x = net.encode(obs)
    ''')
    write(tmp_path, {"model.py": MODEL, "evaluate.py": plain})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "."]) == 0


def test_an_expression_that_reads_the_state_twice_is_a_finding_not_a_half_rewrite(tmp_path, capsys, monkeypatch):
    loop = MODEL + textwrap.dedent('''\


        def run(net, steps):
            h = torch.zeros(1, 2, 8)
            for _ in range(steps):
                h_old = h
                y, h = net(torch.randn(1, 2, 4), h)
                h = h / (h_old.norm() + 1)
            return h


        run(Net(), 3)
    ''')
    write(tmp_path, {"model.py": loop})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--quiet", "."]) == 1
    # of another state than the one it carries (its own, `h / (h.norm() + 1)`, is written per half: test_completed_refusals9)
    assert "G2L100 `h / (h_old.norm() + 1)` reads the hidden state in `h` and again in `h_old`" in capsys.readouterr().out
    assert (tmp_path / "model.py").read_text() == loop
