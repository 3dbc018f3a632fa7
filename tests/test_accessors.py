"""Reads and writes that run the program's own code: properties and indexing.

A property that returns the hidden state (`@property def hidden(self): return self._h`):
reading `agent.hidden` runs the getter. It was an attribute like any other, so the read was not
the state and `agent.hidden.detach()` was left on the pair (exit 0, AttributeError at run time).
A read on an object of no known class, and a write through the property's setter, are G2L101
once the property returns (h, c) (gru2lstm/accessors.py), but a write through a setter that only
stores its value in an attribute of self, which is a write of that attribute.

`buffer[i]` of a class with `__getitem__` runs it: it was taken for the index of a stored pair,
`(buffer[0][0].detach(), buffer[1][0].detach())`, which ran and mixed two steps' states (exit 0).
An index the walk cannot tie to the class, and a state stored through `__setitem__`, are G2L101."""

from __future__ import annotations

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options
from single_file_runs import state_after

AGENT = '''\
import functools

import torch
import torch.nn as nn


class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8)
        self._h = torch.zeros(1, 2, 8)

    @DECORATOR
    def hidden(self):
        return self._h

    def step(self, x):
        out, self._h = self.gru(x, self._h)
        return out

'''

READ = AGENT + '''
def run(steps):
    agent = Agent()
    saved = []
    for _ in range(steps):
        agent.step(torch.randn(1, 2, 4))
        saved.append(agent.hidden.detach().clone())
    return saved[-1]
'''

UNKNOWN_OWNER = AGENT + '''
def record(agent, saved):
    saved.append(agent.hidden.detach())


def run(steps):
    agent, saved = Agent(), []
    for _ in range(steps):
        agent.step(torch.randn(1, 2, 4))
        record(agent, saved)
    return saved[-1]
'''

SETTER = AGENT.replace("    def step(self, x):", "    @hidden.setter\n    def hidden(self, value):\n        self._h = value\n\n    def step(self, x):") + '''
def run(steps):
    agent = Agent()
    for _ in range(steps):
        agent.step(torch.randn(1, 2, 4))
        agent.hidden = agent.hidden * 0.5
    return agent.hidden
'''


@pytest.mark.parametrize("decorator", ["property", "functools.cached_property"])
@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_a_read_of_a_property_runs_its_getter(decorator, state):
    migration = migrate_source(READ.replace("DECORATOR", decorator), Options(state=state))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    assert not any("Agent.hidden" in f.message for f in migration.findings)  # the read is its caller
    after = state_after(migration.source)
    h, c = after if state == "tuple" else after.chunk(2, dim=-1)
    assert h.shape == c.shape == (1, 2, 8) and c.abs().sum() > 0


def test_the_read_is_migrated_half_by_half():
    migration = migrate_source(READ.replace("DECORATOR", "property"), Options(state="tuple"))
    assert "saved.append((agent.hidden[0].detach().clone(), agent.hidden[1].detach().clone()))" in migration.source


def test_a_read_on_an_object_of_no_known_class_is_refused():
    migration = migrate_source(UNKNOWN_OWNER.replace("DECORATOR", "property"), Options(state="tuple"))
    found = [f for f in migration.findings if f.code == "G2L101"]
    assert not migration.changed and len(found) == 1
    assert found[0].line == UNKNOWN_OWNER.splitlines().index("    saved.append(agent.hidden.detach())") + 1
    assert "may read the property `Agent.hidden`" in found[0].message


@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_a_write_through_a_setter_that_only_stores_its_value_is_a_write_of_that_attribute(state):
    # session 40: `self._h = value` is all the setter does, so `agent.hidden = E` is `agent._h = E`
    migration = migrate_source(SETTER.replace("DECORATOR", "property"), Options(state=state))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    after = state_after(migration.source)
    h, c = after if state == "tuple" else after.chunk(2, dim=-1)
    assert h.shape == c.shape == (1, 2, 8) and c.abs().sum() > 0


def test_a_write_through_a_setter_that_does_more_is_refused():
    source = SETTER.replace("DECORATOR", "property").replace("        self._h = value\n", "        self._h = value.detach()\n")
    migration = migrate_source(source, Options(state="tuple"))
    assert not migration.changed
    assert any(f.code == "G2L101" and "through its setter" in f.message for f in migration.findings)


def test_an_attribute_of_that_name_on_a_class_without_the_property_is_no_read_of_it():
    source = READ.replace("DECORATOR", "property") + '''

class Log:
    def __init__(self):
        self.hidden = []

    def add(self, x):
        self.hidden.append(x)
'''
    migration = migrate_source(source, Options(state="tuple"))
    assert [f for f in migration.findings if f.blocks_write] == [] and migration.changed


def test_a_field_of_that_name_read_on_a_record_of_known_class_is_no_read_of_the_property():
    """`steps[0].hidden` of a dataclass with a field `hidden` (red-team v4): the joined classes
    show the object is a Step, which has no such property."""
    source = AGENT.replace("DECORATOR", "property").replace("import functools\n", "import functools\nfrom dataclasses import dataclass\n") + '''
@dataclass
class Step:
    obs: torch.Tensor
    hidden: torch.Tensor


def run(steps):
    agent, episode = Agent(), []
    for _ in range(steps):
        obs = torch.randn(1, 2, 4)
        episode.append(Step(obs, agent.hidden))
        agent.step(obs)
    return episode[-1].hidden
'''
    migration = migrate_source(source, Options(state="tuple"))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    h, c = state_after(migration.source)
    assert h.shape == c.shape == (1, 2, 8) and c.abs().sum() > 0


BUFFER = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 8)

    def forward(self, x, h):
        out, h = self.gru(x, h)
        return out, h


class Buffer:
    def __init__(self):
        self.states = []

    def add(self, h):
        self.states.append(h)

    def __getitem__(self, i):
        return self.states[i]

"""

INDEXED = BUFFER + """
def run(steps):
    net, buf = Net(), Buffer()
    h = torch.zeros(1, 2, 8)
    for _ in range(steps):
        buf.add(h)
        out, h = net(torch.randn(1, 2, 4), h)
    first = buf[1].detach()
    out, h = net(torch.randn(1, 2, 4), buf[2])
    return first
"""


@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_an_index_of_an_object_with_getitem_runs_it(state):
    migration = migrate_source(INDEXED, Options(state=state))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    first = state_after(migration.source)
    h, c = first if state == "tuple" else first.chunk(2, dim=-1)
    assert h.shape == c.shape == (1, 2, 8) and c.abs().sum() > 0
    if state == "tuple":
        assert "first = (buf[1][0].detach(), buf[1][1].detach())" in migration.source


def test_an_index_the_walk_cannot_tie_to_the_class_is_refused():
    source = INDEXED.replace("    first = buf[1].detach()", "    first = peek(buf)") + "\n\ndef peek(buffer):\n    return buffer[1].detach()\n"
    migration = migrate_source(source, Options(state="tuple"))
    assert not migration.changed
    assert any(f.code == "G2L101" and "runs `Buffer.__getitem__()`" in f.message for f in migration.findings)


def test_a_state_stored_through_setitem_is_refused():
    source = BUFFER.replace("    def __getitem__", "    def __setitem__(self, i, h):\n        self.states[i] = h\n\n    def __getitem__") + INDEXED[len(BUFFER):].replace(
        "    first = buf[1].detach()", "    buf[0] = h\n    first = buf[1].detach()"
    )
    migration = migrate_source(source, Options(state="tuple"))
    assert not migration.changed
    assert any(f.code == "G2L101" and "through `Buffer.__setitem__()`" in f.message for f in migration.findings)


ITERATED = BUFFER.replace("    def __getitem__(self, i):\n        return self.states[i]\n", "    def __iter__(self):\n        ITER\n") + """
def run(steps):
    net, buf = Net(), Buffer()
    h = torch.zeros(1, 2, 8)
    for _ in range(steps):
        out, h = net(torch.randn(1, 2, 4), h)
        buf.add(h)
    kept = READ
    return kept[-1]
"""

ITERS = {"iter": "return iter(self.states)", "generator": "for s in self.states:\n            yield s"}
READS = {"comprehension": "[s.detach() for s in buf]", "list": "[s.detach() for s in list(buf)]"}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
@pytest.mark.parametrize("iterator", ITERS.values(), ids=ITERS.keys())
def test_iterating_an_object_with_iter_gives_what_it_returns(iterator, read):
    """`for s in buf` of a class with __iter__ was taken for the elements of the instance: not
    states, so `s.detach()` was left on the pair (exit 0, AttributeError)."""
    migration = migrate_source(ITERATED.replace("ITER", iterator).replace("READ", read), Options(state="tuple"))
    assert [f for f in migration.findings if f.blocks_write] == [], migration.findings
    h, c = state_after(migration.source)
    assert h.shape == c.shape == (1, 2, 8) and c.abs().sum() > 0


def test_iterating_an_object_the_walk_cannot_tie_to_its_class_is_refused():
    source = ITERATED.replace("ITER", ITERS["iter"]).replace("READ", "detached(buf)") + "\n\ndef detached(states):\n    return [s.detach() for s in states]\n"
    migration = migrate_source(source, Options(state="tuple"))
    assert not migration.changed
    assert any(f.code == "G2L101" and "runs `Buffer.__iter__()`" in f.message for f in migration.findings)
