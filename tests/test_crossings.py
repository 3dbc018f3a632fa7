"""Places where the hidden state crosses out of or into the analysed code (issue 13): each one is
migrated and runs, or is refused with a G2L101 that names the place; never exit 0 with a broken
program."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched


def snapshot(folder: Path) -> dict:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*.py"))}


def refused(folder: Path, capsys, state: str) -> str:
    """Run the engine on `folder`: it must exit 1, write nothing, and say why; the findings."""
    before = snapshot(folder)
    capsys.readouterr()
    assert main(["rewrite", "--quiet", "--state", state, str(folder)]) == 1
    assert snapshot(folder) == before
    return capsys.readouterr().out


# ---------------------------------------------------------------- states in files
NET = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            y, h = self.core(x, h)
            return self.head(y), h
"""

SAVED_AND_LOADED = """\
    import pickle

    import torch

    from net import Net


    def train(path):
        net = Net()
        h = torch.zeros(1, 1, 8)
        for _ in range(3):
            q, h = net(torch.randn(1, 1, 4), h)
        torch.save({"model": net.state_dict(), "hidden": h}, path)
        with open(path + ".pkl", "wb") as f:
            pickle.dump(h, f)


    def play(path):
        net = Net()
        ckpt = torch.load(path)
        net.load_state_dict(ckpt["model"])
        h = ckpt["hidden"]
        for _ in range(3):
            q, h = net(torch.randn(1, 1, 4), h)
        with open(path + ".pkl", "rb") as f:
            q, _ = net(torch.randn(1, 1, 4), pickle.load(f))
        return q
"""


@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_a_state_saved_and_loaded_at_the_same_place_is_followed(tmp_path, state):
    write(tmp_path, {"net.py": NET, "run.py": SAVED_AND_LOADED})
    assert main(["rewrite", "--quiet", "--state", state, str(tmp_path)]) == 0
    run_migrated(tmp_path, "from run import train, play\ntrain('ckpt.pt')\nplay('ckpt.pt')\n")


@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_a_state_loaded_from_a_file_nothing_analysed_saves_is_a_finding(tmp_path, capsys, state):
    # A checkpoint of the GRU program holds one tensor: the load is not followed.
    write(tmp_path, {"net.py": NET, "run.py": SAVED_AND_LOADED.replace('"hidden": h', '"last": h')})
    out = refused(tmp_path, capsys, state)
    assert (
        "run.py:20:12: G2L101 the hidden state is read back under the key 'hidden' from what `torch.load(path)` loads, "
        "and nothing analysed saves a hidden state there" in out
    )
    # ... and the save under another key is read back by nothing analysed.
    assert "run.py:13:5: G2L101 `torch.save(" in out and "writes the hidden state under the key 'last'" in out


def test_a_state_pickled_and_never_read_back_is_a_finding(tmp_path, capsys):
    write(tmp_path, {"net.py": NET, "run.py": SAVED_AND_LOADED.replace("pickle.load(f)", "torch.zeros(1, 1, 8)")})
    out = refused(tmp_path, capsys, "tuple")
    assert "run.py:15:9: G2L101 `pickle.dump(h, f)` writes the hidden state, and nothing analysed reads it back" in out


def test_a_model_saved_and_loaded_without_its_state_is_no_finding(tmp_path):
    write(tmp_path, {"net.py": NET, "run.py": SAVED_AND_LOADED.replace(', "hidden": h', "").replace('ckpt["hidden"]', "torch.zeros(1, 1, 8)")
                     .replace("pickle.dump(h, f)", "pickle.dump(net, f)").replace("pickle.load(f)", "torch.zeros(1, 1, 8)")})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    run_migrated(tmp_path, "from run import train, play\ntrain('ckpt.pt')\nplay('ckpt.pt')\n")


# ---------------------------------------------------------------- in-place ops in an expression whose value is dropped
LOOP = """\
    import torch
    import torch.nn as nn


    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)

        def forward(self, x, h):
            y, h = self.core(x, h)
            return y, h


    def run():
        m = M()
        h = torch.zeros(1, 2, 8)
        for t in range(4):
            y, h = m(torch.randn(1, 2, 4), h)
            STATEMENT
        return h
"""


@pytest.mark.parametrize("statement, written", [
    ("h.fill_(0.0) if t == 2 else None", "(h[0].fill_(0.0), h[1].fill_(0.0)) if t == 2 else None"),
    ("_ = None if t != 2 else h.mul_(0.5)", "_ = None if t != 2 else (h[0].mul_(0.5), h[1].mul_(0.5))"),
    ("t == 2 and h.zero_()", "t == 2 and (h[0].zero_(), h[1].zero_())"),
    ("t != 2 or h.zero_()", "t != 2 or (h[0].zero_(), h[1].zero_())"),
    ("(h.mul_(0.5) if t else h.zero_()) if t < 3 else None",
     "((h[0].mul_(0.5), h[1].mul_(0.5)) if t else (h[0].zero_(), h[1].zero_())) if t < 3 else None"),
])
def test_an_in_place_op_in_a_dropped_choice_acts_on_each_half(tmp_path, statement, written):
    write(tmp_path, {"loop.py": LOOP.replace("STATEMENT", statement)})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert f"        {written}\n" in (tmp_path / "loop.py").read_text()
    run_migrated(tmp_path, "from loop import run\nrun()\n")


@pytest.mark.parametrize("statement, finding", [
    # the truth of a state decides whether the rest runs
    ("h.zero_() or t", "loop.py:20:9: G2L100"),
    ("(lambda: h.zero_())()", "loop.py:20:18: G2L100 the hidden state `h` is used inside `(lambda: h.zero_())`"),
    ("(z := h.zero_())", "loop.py:20:15: G2L100 the hidden state `h` is used inside `(z := h.zero_())`"),
])
def test_an_in_place_op_whose_result_is_read_is_a_finding(tmp_path, capsys, statement, finding):
    write(tmp_path, {"loop.py": LOOP.replace("STATEMENT", statement)})
    assert finding in refused(tmp_path, capsys, "tuple")


# ---------------------------------------------------------------- a state handed to an object nothing identifies
MODEL = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return self.head(out), h


    def main():
        net = Net()
        h = torch.zeros(1, 3, 8)
        y, h = net(torch.randn(1, 3, 4), h)
        return y
"""

# No loop: the state goes in where forward() takes it, made on the spot or bound to a name first.
NO_LOOP = """\
    import torch


    def evaluate(net, seq):
        out, _ = net(seq, torch.zeros(1, 3, 8))
        return out


    def score(net, x):
        h0 = torch.zeros(1, 3, 8).to("cpu")
        q = net(x, h0)[0]
        return q
"""

# What an unknown object is given that is no state: an input, a mask, a tensor where no state goes.
NOT_A_STATE = """\
    import torch


    def act(net, x, mask):
        a = net(x, mask)
        b = net(torch.zeros(1, 3, 4))
        return a, b
"""


def test_a_new_tensor_passed_where_a_changed_parameter_goes_in_the_group_is_a_finding(tmp_path, capsys):
    write(tmp_path, {"model.py": MODEL + "\n\n" + NO_LOOP})
    out = refused(tmp_path, capsys, "tuple")
    assert "model.py:27:14: G2L101 `net(seq, torch.zeros(1, 3, 8))` calls `net`, an object from outside" in out
    assert "model.py:33:9: G2L101 `net(x, h0)` calls `net`" in out


def test_a_new_tensor_passed_where_a_changed_parameter_goes_in_another_file_is_a_finding(tmp_path, capsys):
    write(tmp_path, {"model.py": MODEL, "play.py": NO_LOOP})
    out = refused(tmp_path, capsys, "tuple")
    assert "which imports none of the files migrated with this one, calls `net(seq, torch.zeros(1, 3, 8))` at line 5" in out
    assert "calls `net(x, h0)` at line 11" in out


def test_an_unknown_object_given_no_state_is_no_finding(tmp_path):
    write(tmp_path, {"model.py": MODEL + "\n\n" + NOT_A_STATE})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    write(tmp_path, {"model.py": MODEL, "act.py": NOT_A_STATE})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0


# ---------------------------------------------------------------- a state inside a parameter, callers unseen
LIBRARY_DRIVEN = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)

        def compute(self, inputs):
            hidden = inputs["rnn"][0]
            out, hidden = self.gru(inputs["obs"].unsqueeze(0), hidden)
            return self.head(out[0]), {"rnn": [hidden]}
"""

LIBRARY_LOOP = """\
    import torch
    from model import Policy

    policy = Policy()
    state = {"rnn": [torch.zeros(1, 3, 8)]}
    for step in range(4):
        logits, state = policy.compute({"obs": torch.randn(3, 4), "rnn": state["rnn"]})
    logits.sum().backward()
"""


def test_a_state_inside_a_parameter_that_no_caller_fills_is_refused_in_tuple_form(tmp_path, capsys):
    # A library fills `inputs` (skrl's `inputs["rnn"]`): whether it would give [(h, c)] or
    # ([h], [c]) is its convention, not one the rewrite can pick (exit 0 with a guess before).
    write(tmp_path, {"pyproject.toml": "", "model.py": LIBRARY_DRIVEN})
    out = refused(tmp_path, capsys, "tuple")
    assert (
        f"{tmp_path / 'model.py'}:11:9: G2L101 the parameter `inputs` (a hidden state inside it) of `Policy.compute()`: "
        "no code of the project calls it, and where (h, c) sits inside it (a pair in the state's place, or one container "
        "per half) is for its callers to decide; migrate this function and what fills that parameter by hand, or give "
        "the files that call it in the same run"
    ) in out


def test_a_state_inside_a_parameter_that_callers_of_the_project_fill_migrates(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": "", "model.py": LIBRARY_DRIVEN, "run.py": LIBRARY_LOOP})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path / "model.py")]) == 1  # as pre-commit gives it
    assert snapshot(tmp_path) == before
    out = capsys.readouterr().out
    assert "run.py imports it without being given" in out and "no code of the project calls it" not in out
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "torch.zeros(1, 3, 8), torch.zeros(1, 3, 8)" in (tmp_path / "run.py").read_text()
    run_migrated(tmp_path, "import run\n")


def test_a_state_inside_a_parameter_of_a_source_from_stdin_with_no_name_is_refused(tmp_path):
    source = textwrap.dedent(LIBRARY_DRIVEN)
    done = subprocess.run(
        [sys.executable, "-m", "gru2lstm", "rewrite", "--quiet", "--state", "tuple", "-"],
        input=source, capture_output=True, text=True, cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stdout == source  # the source as it came
    assert "-:11:9: G2L101 the parameter `inputs` (a hidden state inside it)" in done.stderr
