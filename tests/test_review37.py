"""Second review of session 37's wrongref3 (issue 13): programs close to the idioms it migrated,
which must not exit 0 with a migrated program that breaks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from gru2lstm.cli import main
from tests.test_redteam_packed import write
from tests.test_wrong_refusals37 import CHECKPOINTED, LANGUAGE_MODEL, SEQUENCE

# repackage_hidden testing for a list: (h, c) is a tuple, so it would take the tensor's branch
LIST_TESTED = [
    "    if isinstance(h, list):\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()",
    "    if type(h) == list:\n            return tuple(repackage_hidden(v) for v in h)\n        return h.detach()",
]


@pytest.mark.parametrize("helper", LIST_TESTED)
def test_a_repackage_hidden_that_tests_for_a_list_is_refused_in_the_tuple_form(tmp_path, capsys, helper):
    # before: exit 0, the helper left as it was; the migrated program raised
    # AttributeError: 'tuple' object has no attribute 'detach'
    write(tmp_path, {"main.py": LANGUAGE_MODEL.replace("{helper}", helper), "pyproject.toml": ""})
    before = (tmp_path / "main.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    test = helper.split(":")[0].strip().removeprefix("if ")
    assert f"main.py:24:8: G2L100 `{test}` tests whether the hidden state `h` is a list" in capsys.readouterr().out
    assert (tmp_path / "main.py").read_text() == before



# the module's forward handed to the checkpoint: run as the module (bypassing its hooks)
FORWARD_HANDED = "out, h = checkpoint(self.core.forward, x, h{reentrant})"
LAST_STATE = """\
    import runpy, torch
    h = runpy.run_path('agent.py')['h']
    c = h[1] if isinstance(h, tuple) else h.chunk(2, -1)[1]
    assert c.shape == (1, 3, 8) and c.abs().sum() > 0, c
"""


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_the_forward_of_a_recurrent_module_under_a_non_reentrant_checkpoint_migrates_and_runs(tmp_path, form):
    # before: G2L101 "`nn.GRU(4, 8)` is made here, but none of its calls is in the files analysed";
    # with another call of the GRU in a method no one calls, exit 0 and an LSTM handed one tensor
    called = FORWARD_HANDED.format(reentrant=", use_reentrant=False")
    write(tmp_path, {"agent.py": CHECKPOINTED.format(imported="from torch.utils.checkpoint import checkpoint", called=called, **SEQUENCE), "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(LAST_STATE)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_forward_of_a_recurrent_module_under_a_reentrant_checkpoint_is_one_finding(tmp_path, capsys):
    called = FORWARD_HANDED.format(reentrant="")
    write(tmp_path, {"agent.py": CHECKPOINTED.format(imported="from torch.utils.checkpoint import checkpoint", called=called, **SEQUENCE), "pyproject.toml": ""})
    before = (tmp_path / "agent.py").read_text()
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[0].startswith(
        f"{tmp_path / 'agent.py'}:13:29: G2L101 the recurrent module `self.core` is run by a checkpoint without `use_reentrant=False` here"
    )
    assert (tmp_path / "agent.py").read_text() == before


# a state tested for being a tensor where it may still be None (the first step)
NONE_FIRST = """\
    import torch
    import torch.nn as nn


    def initial(h, batch):
        if isinstance(h, torch.Tensor):
            return h
        return torch.zeros(1, batch, 8)


    class Agent(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)
            self.pi = nn.Linear(8, 2)

        def forward(self, x, h=None):
            {body}
            return self.pi(out), h


    agent = Agent()
    h = None
    for step in range(4):
        y, h = agent(torch.randn(2, 3, 4), h)
        y.sum().backward()
        h = h.detach()
"""
IN_PLACE = "if not isinstance(h, torch.Tensor):\n                h = torch.zeros(1, x.shape[1], 8)\n            out, h = self.core(x, h)"
THROUGH_HELPER = "out, h = self.core(x, initial(h, x.shape[1]))"


IS_TENSOR = IN_PLACE.replace("isinstance(h, torch.Tensor)", "torch.is_tensor(h)")


@pytest.mark.parametrize("body, forms", [(IN_PLACE, ["tuple", "packed"]), (IS_TENSOR, ["tuple", "packed"]), (THROUGH_HELPER, ["tuple"])])
def test_a_state_tested_for_being_a_tensor_while_it_may_be_none_migrates_and_runs(tmp_path, body, forms):
    # before: exit 0 in both forms, then `isinstance(h[0], ...)` (TypeError on None) or
    # `isinstance(h.chunk(2, dim=-1)[0], ...)` (AttributeError on None)
    for form in forms:
        write(tmp_path, {"agent.py": NONE_FIRST.format(body=body), "pyproject.toml": ""})
        assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
        source = (tmp_path / "agent.py").read_text()
        assert ("isinstance(h, tuple)" in source) == (form == "tuple")
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(LAST_STATE)], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
