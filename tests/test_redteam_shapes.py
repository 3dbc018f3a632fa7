"""What a recurrent call's results are (red-team cases): a GRUCell's output fed on as the next
layer's input while also kept as the state (and a GRU's state fed as the next GRU's input), a GRU's output carried as the state through a name,
a state unpacked after a starred target, a GRUCell used as a plain layer in packed form, a random
mask in an expression written once per half, a MAPPO-style `check(x)` converter that asks
`torch.is_tensor`, and the output check on a stored pair indexed by time. Each is migrated so that
the program runs, or refused with a finding at the line."""

from __future__ import annotations

import ast
import textwrap

import pytest

from gru2lstm.lstm_check import lstm_mistakes
from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options

HEADER = "import torch\nfrom torch import nn\n\n\n"

STACKED_CELLS = '''
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.cells = nn.ModuleList([nn.GRUCell(4 if i == 0 else 8, 8) for i in range(2)])
            self.pi = nn.Linear(8, 2)

        def forward(self, x, state):
            new_state = []
            for cell, h in zip(self.cells, state):
                x = cell(x, h)
                new_state.append(x)
            return self.pi(x), new_state


    net = Stack()
    state = [torch.zeros(3, 8) for _ in range(2)]
    for t in range(4):
        logits, state = net(torch.randn(3, 4), state)
'''

OUTPUT_NAMED = '''
    class Q(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.q = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h_n = self.gru(x, h)
            carried = out[-1:]
            return self.q(out), carried


    net = Q()
    h = torch.zeros(1, 3, 8)
    for t in range(4):
        q, h = net(torch.randn(2, 3, 4), h)
'''

STARRED = '''
    class V(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.v = nn.Linear(8, 1)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return self.v(out), out, h


    net = V()
    h = torch.zeros(1, 3, 8)
    for t in range(4):
        *_, h = net(torch.randn(1, 3, 4), h)
'''

PLAIN_CELL = '''
    class P(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.GRUCell(4, 8)
            self.core = nn.GRU(8, 8)

        def forward(self, x, h):
            out, h = self.core(torch.relu(self.pre(x)).unsqueeze(0), h)
            return out, h


    net = P()
    h = torch.zeros(1, 3, 8)
    for t in range(4):
        y, h = net(torch.randn(3, 4), h)
'''


def migrate(body: str, state: str = "auto"):
    return migrate_source(HEADER + textwrap.dedent(body), Options(state=state))


def blocking(migration) -> list:
    return [(f.code, f.line, f.message) for f in migration.findings if f.blocks_write]


def test_stacked_cells_whose_output_is_the_next_input_and_the_state_are_refused_packed_at_the_call():
    migration = migrate(STACKED_CELLS, "packed")
    assert [(code, line) for code, line, _ in blocking(migration)] == [("G2L100", 15)]
    assert "`x` is the input of `cell(x, h)` and also keeps the state it returns" in blocking(migration)[0][2]
    assert not migration.changed


def test_stacked_cells_whose_output_is_the_next_input_and_the_state_hold_it_as_two():
    # auto takes the tuple form: x is h wherever it is read, x_c beside it
    migration = migrate(STACKED_CELLS)
    assert blocking(migration) == [] and migration.state_form == "tuple"
    assert "x, x_c = cell(x, h)" in migration.source
    namespace = {}
    exec(compile(migration.source, "stacked.py", "exec"), namespace)
    assert all(c.abs().sum() > 0 for _, c in namespace["state"])


STACKED_GRUS = '''
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru1 = nn.GRU(4, 8)
            self.gru2 = nn.GRU(8, 8)

        def forward(self, x, h1, h2):
            _, h1 = self.gru1(x, h1)
            out, h2 = self.gru2(h1, h2)
            return out, h1, h2


    net = Two()
    h1, h2 = torch.zeros(1, 3, 8), torch.zeros(1, 3, 8)
    for t in range(3):
        y, h1, h2 = net(torch.randn(1, 3, 4), h1, h2)
'''


@pytest.mark.parametrize("state, fed", [("tuple", "self.gru2(h1[0], h2)"), ("packed", "self.gru2(h1.chunk(2, dim=-1)[0], h2.chunk(2, dim=-1))")])
def test_a_state_fed_as_the_input_of_the_next_gru_feeds_its_h(state, fed):
    # Refused until session 25: another layer's state, held apart from this call's own, is read
    # as features there (its h), as an LSTM stack feeds it on (tests/test_packed_dims_context.py runs it).
    migration = migrate(STACKED_GRUS, state)
    assert blocking(migration) == [] and f"out, h2 = {fed}" in migration.source


@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_the_output_carried_as_the_state_through_a_name_is_refused(state):
    migration = migrate(OUTPUT_NAMED, state)
    assert [(code, line) for code, line, _ in blocking(migration)] == [("G2L100", 13)]
    assert "the output of `self.gru(x, h)` is carried on as the hidden state" in blocking(migration)[0][2]
    assert not migration.changed


def test_a_state_unpacked_after_a_starred_target_is_refused_not_taken_from_the_wrong_position():
    migration = migrate(STARRED, "tuple")
    codes = [(code, line) for code, line, _ in blocking(migration)]
    assert ("G2L101", 20) in codes and all(code != "G2L100" for code, _ in codes)
    assert any("after a starred target" in message for _, _, message in blocking(migration))


def test_a_state_unpacked_after_a_starred_target_is_one_tensor_in_packed_form_which_auto_takes():
    migration = migrate(STARRED)
    assert blocking(migration) == [] and migration.state_form == "packed"
    assert migration.form_fallback.refused == "tuple" and migration.form_fallback.line == 20
    namespace = {}
    exec(compile(migration.source, "starred.py", "exec"), namespace)
    assert namespace["h"].chunk(2, dim=-1)[1].abs().sum() > 0


def test_a_starred_target_of_a_literal_tuple_counts_positions_from_its_end():
    source = STARRED.replace("*_, h = net(torch.randn(1, 3, 4), h)", "v, out, h = net(torch.randn(1, 3, 4), h)\n        *_, h = (v, out, h)")
    migration = migrate(source)
    assert blocking(migration) == []
    namespace = {}
    exec(compile(migration.source, "starred.py", "exec"), namespace)
    assert namespace["h"][1].abs().sum() > 0


@pytest.mark.parametrize("state", ["tuple", "packed"])
def test_a_grucell_used_as_a_plain_layer_reads_h_in_either_form(state):
    migration = migrate(PLAIN_CELL, state)
    assert blocking(migration) == []
    assert "torch.relu(self.pre(x)[0])" in migration.source
    namespace = {}
    exec(compile(migration.source, "plain.py", "exec"), namespace)
    h = namespace["h"]
    c = h[1] if state == "tuple" else h.chunk(2, dim=-1)[1]
    assert c.abs().sum() > 0

RANDOM_MASK = '''
    core = nn.GRU(4, 8)
    h = torch.zeros(1, 3, 8)
    for t in range(3):
        out, h = core(torch.randn(2, 3, 4), h)
        MASKED
'''


def test_a_random_mask_is_not_drawn_once_per_half():
    migration = migrate(RANDOM_MASK.replace("MASKED", "h = torch.where(torch.rand(1, 3, 1) < 0.5, torch.zeros_like(h), h)"), "tuple")
    assert [(code, line) for code, line, _ in blocking(migration)] == [("G2L100", 10)]
    assert "`torch.rand(1, 3, 1)` draws random numbers" in blocking(migration)[0][2]


def test_dropout_of_the_state_asks_whether_h_and_c_share_one_draw():
    migration = migrate(RANDOM_MASK.replace("MASKED", "h = torch.nn.functional.dropout(h, 0.1)"), "tuple")
    assert [(code, line) for code, line, _ in blocking(migration)] == [("G2L100", 10)]
    assert "draws random numbers for the hidden state" in blocking(migration)[0][2]
    assert "choosing whether h and c share one draw" in blocking(migration)[0][2]


def test_a_random_mask_bound_to_a_name_is_shared_by_both_halves():
    bound = "keep = torch.rand(1, 3, 1) < 0.5\n        h = torch.where(keep, torch.zeros_like(h), h)"
    migration = migrate(RANDOM_MASK.replace("MASKED", bound), "tuple")
    assert blocking(migration) == []
    assert "torch.where(keep, torch.zeros_like(h[0]), h[0]), torch.where(keep, torch.zeros_like(h[0]), h[1])" in migration.source


CONVERTER = '''
    import numpy as np


    def check(x):
        return torch.from_numpy(x) if not torch.is_tensor(x) else x


    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 8)

        def forward(self, x, h):
            x, h = self.rnn(x.unsqueeze(0), h)
            return x.squeeze(0), h


    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = Layer()

        def forward(self, obs, h):
            obs, h = check(obs).float(), check(h).float()
            return self.rnn(obs, h)


    actor = Actor()
    store = np.zeros((5, 1, 3, 8), dtype=np.float32)
    for t in range(4):
        y, h = actor(np.random.randn(3, 4).astype(np.float32), store[t])
        store[t + 1] = h.detach().numpy()
'''


def test_a_converter_that_asks_torch_is_tensor_stays_apart_per_call_and_a_same_named_module_is_no_lstm():
    migration = migrate(CONVERTER, "packed")
    assert blocking(migration) == []
    assert "obs, h = check(obs).float(), check(h).float()" in migration.source  # obs is no state
    namespace = {}
    exec(compile(migration.source, "converter.py", "exec"), namespace)
    assert namespace["store"][4, :, :, 8:].any()  # c stored


def test_the_output_check_names_a_pair_indexed_by_time():
    source = textwrap.dedent('''
        import numpy as np
        from torch import nn


        class Buffer:
            def __init__(self):
                self.states = (np.zeros((5, 3, 8)), np.zeros((5, 3, 8)))


        core = nn.LSTM(4, 8)
        buffer = Buffer()
        for step in range(4):
            start = buffer.states[step]
    ''')
    mistakes = lstm_mistakes([ast.parse(source)])
    assert [(m.line, m.why) for m in mistakes] == [(14, "`buffer.states` only ever holds a pair (h, c), used here as one tensor")]
