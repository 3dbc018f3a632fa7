"""A bound method kept as a value (`self.act_fn = policy.forward`, `step = net.forward`) and called
later runs that method of the instance: its arguments are bound to the method's parameters like
a call the walk followed (joined_calls.called_methods). Was G2L101 ("an object from outside that
nothing analysed identifies", red-team u5b)."""

from __future__ import annotations

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from single_file_runs import state_after

POLICY = '''\
import torch
import torch.nn as nn


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(4, 8)
        self.pi = nn.Linear(8, 2)

    def initial_state(self, n):
        return torch.zeros(n, 8)

    def forward(self, obs, h):
        h = self.cell(obs, h)
        return self.pi(h), h

'''

HELD = POLICY + '''
class Runner:
    def __init__(self, policy):
        self.act_fn = policy.forward
        self.init_fn = policy.initial_state

    def run(self, steps):
        h = self.init_fn(2)
        for _ in range(steps):
            logits, h = self.act_fn(torch.randn(2, 4), h)
        return h


def run(steps):
    return Runner(Policy()).run(steps)
'''

LOCAL = POLICY + '''
def run(steps):
    net = Policy()
    step = net.forward
    h = net.initial_state(2)
    for _ in range(steps):
        logits, h = step(torch.randn(2, 4), h)
        h = h * 0.5
    return h
'''


@pytest.mark.parametrize("state", ["tuple", "packed"])
@pytest.mark.parametrize("source", [HELD, LOCAL], ids=["held", "local"])
def test_a_bound_method_called_later_carries_the_pair(source, state):
    migration = migrate_source(source, Options(state=state))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    assert "nn.LSTMCell(4, 8)" in migration.source
    after = state_after(migration.source)
    h, c = after if state == "tuple" else after.chunk(2, dim=-1)
    assert h.shape == c.shape == (2, 8) and c.abs().sum() > 0


def test_the_call_through_the_bound_method_is_left_as_written():
    migration = migrate_source(HELD, Options(state="tuple"))
    assert "logits, h = self.act_fn(torch.randn(2, 4), h)" in migration.source
    assert "return self.pi(h[0]), h" in migration.source


def test_a_method_looked_up_by_a_computed_name_is_still_refused():
    source = HELD.replace("self.act_fn = policy.forward", "self.act_fn = getattr(policy, 'for' + 'ward')")
    migration = migrate_source(source, Options(state="tuple"))
    assert "G2L101" in [f.code for f in migration.findings if f.blocks_write] and not migration.changed
