"""A model wrapped by `nn.DataParallel` / `DistributedDataParallel`: calling the wrapper is calling
the model, and its `.module` is the model (`net.module.init_hidden(n)`). Was G2L101 ("no call of
them could be followed"): the wrapper was a torch module like any other. `torch.compile(net)` is such
a wrapper too (was G2L101 "the hidden state `h` is passed to `fast`")."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from single_file_runs import state_after
from test_redteam_packed import run_migrated, write

NET = '''\
import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8)
        self.head = nn.Linear(8, 2)

    def init_hidden(self, n):
        return torch.zeros(1, n, 8)

    def forward(self, x, h):
        out, h = self.gru(x, h)
        return self.head(out[-1]), h

'''

LOCAL = NET + '''
def run(steps):
    net = nn.DataParallel(Net())
    h = net.module.init_hidden(2)
    for _ in range(steps):
        y, h = net(torch.randn(1, 2, 4), h)
        h = h.detach()
    return h
'''

HELD = NET + '''
class Agent:
    def __init__(self):
        self.net = nn.DataParallel(module=Net(), device_ids=None)

    def reset(self, n):
        self.h = self.net.module.init_hidden(n)

    def act(self, x):
        y, self.h = self.net(x, self.h)
        return y


def run(steps):
    agent = Agent()
    agent.reset(2)
    for _ in range(steps):
        agent.act(torch.randn(1, 2, 4))
    return agent.h
'''

# The wrapper of a module held by self: `self.model` is the model, `self.parallel` wraps it.
REWRAPPED = NET + '''
class Agent:
    def __init__(self):
        self.model = Net()
        self.parallel = torch.nn.DataParallel(self.model)

    def run(self, steps):
        h = self.parallel.module.init_hidden(2)
        for _ in range(steps):
            y, h = self.parallel(torch.randn(1, 2, 4), h)
        return h


def run(steps):
    return Agent().run(steps)
'''


# The model compiled, the compiled one trained after acting with the model itself.
COMPILED = NET + '''
def run(steps):
    net = Net()
    fast = torch.compile(net, backend="eager")
    h = net.init_hidden(2)
    with torch.no_grad():
        for _ in range(steps):
            y, h = net(torch.randn(1, 2, 4), h)
    y, h = fast(torch.randn(1, 2, 4), h)
    return h
'''


def _migrated(source: str, state: str):
    migration = migrate_source(source, Options(state=state))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    assert migration.changed
    return migration.source


@pytest.mark.parametrize("state", ["tuple", "packed"])
@pytest.mark.parametrize("source", [LOCAL, HELD, REWRAPPED], ids=["local", "held", "rewrapped"])
def test_a_wrapped_model_is_migrated_and_carries_c(source, state):
    migrated = _migrated(source, state)
    assert "nn.LSTM(4, 8)" in migrated
    after = state_after(migrated)
    if state == "tuple":
        h, c = after
    else:
        assert after.shape[-1] == 16
        h, c = after.chunk(2, dim=-1)
    assert h.shape == c.shape == (1, 2, 8) and c.abs().sum() > 0


@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_a_compiled_model_is_migrated_and_carries_c(tmp_path, state):
    # run in a process of its own: torch.compile changes torch's state for the rest of this one
    migrated = _migrated(COMPILED, state)
    assert "fast = torch.compile(net, backend=\"eager\")" in migrated and "nn.LSTM(4, 8)" in migrated
    write(tmp_path, {"net.py": migrated})
    run_migrated(tmp_path, "import net\nnet.run(3)\n")


def test_the_state_of_a_wrapped_model_is_detached_half_by_half():
    migrated = _migrated(LOCAL, "tuple")
    assert "h = (h[0].detach(), h[1].detach())" in migrated
    assert "h = net.module.init_hidden(2)" in migrated and "y, h = net(torch.randn(1, 2, 4), h)" in migrated


def test_distributed_data_parallel_is_a_wrapper_too():
    source = NET + textwrap.dedent('''
        def run(steps):
            net = DDP(Net())
            h = net.module.init_hidden(2)
            y, h = net(torch.randn(1, 2, 4), h)
            return h
    ''')
    migrated = _migrated(source, "tuple")
    assert "torch.zeros(1, n, 8),\n            torch.zeros(1, n, 8)," in migrated  # init_hidden gives the pair


def test_the_module_attribute_of_something_else_is_not_the_model():
    """`.module` of a value that no wrapper made is an attribute like any other: the model behind
    it unknown, the call through it is still refused."""
    source = NET + textwrap.dedent('''
        def run(holder, steps):
            h = holder.module.init_hidden(2)
            y, h = holder.module(torch.randn(1, 2, 4), h)
            return h
    ''')
    migration = migrate_source(source, Options(state="tuple"))
    assert "G2L101" in [f.code for f in migration.findings] and not migration.changed
