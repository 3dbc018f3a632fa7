"""Module-level script code reads its own names flow-sensitively (gru2lstm/scopes.py), and the
columns of rows, `tuple(zip(*rows))`, keep each position apart (gru2lstm/sequences.py): a name
rebound from the rows to their columns does not make every column a hidden state."""

from __future__ import annotations

import textwrap

from gru2lstm.migrate import migrate_source
from test_rules import HEADER

SCRIPT = """
import gym

env = gym.make("CartPole-v1")
rnn = nn.GRUCell(4, 8)
h = torch.zeros(1, 8)
action = torch.zeros(1, 4)
for _ in range(3):
    h = rnn(action, h)
    env.step(action)
seen = h
seen = action
env.render(seen)
"""

COLUMNS = """
import gym

env = gym.make("CartPole-v1")
rnn = nn.GRUCell(4, 8)
action = torch.zeros(1, 4)
h = torch.zeros(1, 8)
rows = []
for _ in range(3):
    env.step(action)
    rows.append((action, h))
rows = tuple(zip(*rows))
inputs = torch.cat(rows[0])
h = rnn(inputs, torch.cat(rows[1]))
env.step(inputs)
"""


def _messages(code: str) -> list:
    return [f.message for f in migrate_source(HEADER + textwrap.dedent(code)).findings]


def test_a_script_name_rebound_holds_only_what_it_was_last_given():
    messages = _messages(SCRIPT)
    assert not any("`action`" in m or "`seen`" in m for m in messages), messages


def test_a_name_a_function_reads_holds_every_value_it_is_given():
    code = SCRIPT + "\n\ndef show():\n    env.render(seen)\n"
    assert any("`seen`" in m for m in _messages(code))


def test_the_columns_of_rows_keep_each_position_apart():
    messages = _messages(COLUMNS)
    assert not any("`action`" in m or "`inputs`" in m for m in messages), messages


def test_columns_in_a_function_keep_each_position_apart():
    body = textwrap.indent(textwrap.dedent(COLUMNS).split("rnn = nn.GRUCell(4, 8)\n")[1], "    ")
    code = 'import gym\n\nenv = gym.make("CartPole-v1")\nrnn = nn.GRUCell(4, 8)\n\n\ndef run():\n' + body
    messages = _messages(code)
    assert not any("`action`" in m or "`inputs`" in m for m in messages), messages
