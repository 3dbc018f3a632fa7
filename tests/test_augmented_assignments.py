"""A state changed by an augmented assignment (`h *= mask`, `hidden[:, done] *= 0`, `h += 0.1 * h_old`):
refused before (G2L100, "updated in place"), though common in resets. The tuple form changes each
half in place (the pair itself by the operator's in-place method, `h[0].mul_(mask)`), the packed
form keeps the statement, whose operand must then fit the packed width. Each migrated program is
run: every LSTM call gets a pair with a non-zero c."""

from __future__ import annotations

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from single_file_runs import state_after
from test_per_half import LOOP, blocking, migrate, run

CASES = [
    ("h *= mask", ["h[0].mul_(mask)", "h[1].mul_(mask)"]),
    ("h /= 2", ["h[0].div_(2)", "h[1].div_(2)"]),
    ("h[:, done.view(-1)] *= 0", ["h[0][:, done.view(-1)] *= 0", "h[1][:, done.view(-1)] *= 0"]),
    ("h += 0.1 * h_old", ["h[0].add_(0.1 * h_old[0])", "h[1].add_(0.1 * h_old[1])"]),  # two states: each its half
    ("h -= torch.ones(8)", ["h[0].sub_(torch.ones(8))", "h[1].sub_(torch.ones(8))"]),  # as wide as h: packed refuses
]


@pytest.mark.parametrize("line, written", CASES, ids=[line for line, _ in CASES])
def test_an_augmented_assignment_changes_each_half_in_place(line, written):
    tuple_form = migrate(LOOP.replace("LINE", line), "tuple")
    assert blocking(tuple_form) == []
    lines = [text.strip() for text in tuple_form.source.splitlines()]
    assert lines[lines.index(written[0]) + 1] == written[1]
    assert any(run(tuple_form.source))
    packed = migrate(LOOP.replace("LINE", line), "packed")
    if "torch.ones(8)" in line:
        (finding,) = blocking(packed)
        assert finding[0] == "G2L100" and "combines the hidden state with `torch.ones(8)`" in finding[2]
        return
    assert blocking(packed) == [] and line in packed.source  # the packed tensor changes as a whole
    namespace = {}
    exec(compile(packed.source, "packed.py", "exec"), namespace)
    namespace["run"]()


@pytest.mark.parametrize("line, why", [
    ("h **= 2", "only for `*=`, `+=`, `-=` and `/=`, in a statement of its own"),
    ("h *= mask; print(1)", "only for `*=`, `+=`, `-=` and `/=`, in a statement of its own"),
    ("h *= (torch.rand(1, 3, 1) > 0.1).float()", "h and c would get different draws"),
])
def test_what_cannot_be_written_per_half_is_a_finding(line, why):
    tuple_form = migrate(LOOP.replace("LINE", line), "tuple")
    assert not tuple_form.changed
    assert any(code == "G2L100" and why in message for code, _, message in blocking(tuple_form)), blocking(tuple_form)


def test_an_accumulator_of_states_is_still_refused():
    # `acc += h`: acc is not the state, and the state's c has no place in it
    tuple_form = migrate(LOOP.replace("LINE", "acc = torch.zeros(1, 3, 8)\n        acc += h"), "tuple")
    assert not tuple_form.changed and any(code.startswith("G2L10") for code, _, _ in blocking(tuple_form))


CELL = """
import torch
from torch import nn


class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(4, 8)
        self.pi = nn.Linear(8, 2)
        self.hx = torch.zeros(3, 8)

    def act(self, x, done):
        self.hx *= (1.0 - done).unsqueeze(-1)
        self.hx = self.cell(x, self.hx)
        return self.pi(self.hx)


def run(steps):
    agent = Agent()
    for t in range(steps):
        logits = agent.act(torch.randn(3, 4), (torch.rand(3) < 0.3).float())
    logits.sum().backward()
    return agent.hx
"""


def test_an_attribute_changed_in_place_changes_each_half():
    tuple_form = migrate_source(CELL, Options(state="tuple"))
    assert blocking(tuple_form) == []
    assert "self.hx[0].mul_((1.0 - done).unsqueeze(-1))\n        self.hx[1].mul_((1.0 - done).unsqueeze(-1))" in tuple_form.source
    h, c = state_after(tuple_form.source, 5)
    assert h.shape == c.shape == (3, 8) and c.abs().sum() > 0
