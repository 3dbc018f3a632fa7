"""The packed form on projects the red team wrote in the ways real code does (our own small
versions): each is migrated, then run, and its LSTM must get (h, c) with a non-zero c."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from gru2lstm.cli import main

# Run after the project's own code: every LSTM / LSTMCell call must get a pair, some with a non-zero c.
WATCH = textwrap.dedent('''\
    import torch.nn as nn

    seen = []


    def watch(module, args):
        state = args[1] if len(args) > 1 else None
        if state is not None:
            assert isinstance(state, tuple) and len(state) == 2, type(state)
            seen.append(bool(state[1].abs().sum() > 0))


    for kind in (nn.LSTM, nn.LSTMCell):
        original = kind.__init__

        def init(self, *args, original=original, **kwargs):
            original(self, *args, **kwargs)
            self.register_forward_pre_hook(watch)

        kind.__init__ = init
''')


def write(folder: Path, files: dict) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def run_migrated(folder: Path, script: str) -> None:
    """Run `script` in `folder` with every LSTM watched: it must run, and some c be non-zero."""
    (folder / "watch_lstm.py").write_text(WATCH)
    code = "import watch_lstm\n" + textwrap.dedent(script) + "\nassert any(watch_lstm.seen), watch_lstm.seen\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


DRQN = """\
    import torch
    import torch.nn as nn


    class Recurrent(nn.Module):
        def __init__(self, size=6):
            super().__init__()
            self.core = nn.GRU(size, size, batch_first=True)

        def forward(self, x, state=None):
            y, state = self.core(x, state)
            return y, state
"""

LAZY_AGENT = """\
    import torch

    from net import Recurrent


    class Actor:
        def __init__(self, envs):
            self.net = Recurrent()
            self.state = None

        def step(self, obs):
            y, self.state = self.net(obs, self.state)
            return y

        def finished(self, done):
            if self.state is not None:
                self.state[:, done] = 0
"""


def test_a_state_that_may_be_none_at_the_call_stays_none_in_packed_form(tmp_path):
    write(tmp_path, {"net.py": DRQN, "actor.py": LAZY_AGENT})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    net = (tmp_path / "net.py").read_text()
    assert "self.core(x, None if state is None else state.chunk(2, dim=-1))" in net
    run_migrated(tmp_path, """\
        import torch
        from actor import Actor

        actor = Actor(3)
        for t in range(6):
            actor.step(torch.randn(3, 1, 6))
            actor.finished(torch.tensor([t % 2 == 0, False, True]))
    """)


def test_a_state_that_may_be_none_stays_none_in_tuple_form(tmp_path):
    write(tmp_path, {"net.py": DRQN, "actor.py": LAZY_AGENT})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "self.core(x, state)" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, """\
        import torch
        from actor import Actor

        actor = Actor(3)
        for t in range(6):
            actor.step(torch.randn(3, 1, 6))
            actor.finished(torch.tensor([t % 2 == 0, False, True]))
    """)


CELL_WITHOUT_TORCH = """\
    import torch.nn as nn
    import torch.nn.functional as F


    class Cell(nn.Module):
        def __init__(self, size=5):
            super().__init__()
            self.size = size
            self.inp = nn.Linear(3, size)
            self.cell = nn.GRUCell(size, size)

        def blank(self, n):
            return self.inp.weight.new(n, self.size).zero_()

        def forward(self, x, h):
            return self.cell(F.relu(self.inp(x)), h.reshape(-1, self.size))
"""


CELL_LOOP = """\
    import torch

    from cell import Cell


    def unroll(steps):
        net = Cell()
        h = net.blank(4)
        for _ in range(steps):
            h = net(torch.randn(4, 3), h)
        return h
"""


def test_a_file_without_import_torch_gains_it_where_the_packed_form_packs(tmp_path):
    write(tmp_path, {"cell.py": CELL_WITHOUT_TORCH, "loop.py": CELL_LOOP})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    cell = (tmp_path / "cell.py").read_text()
    assert cell.startswith("import torch\nimport torch.nn as nn\n")
    assert "return torch.cat(self.cell(F.relu(self.inp(x)), h.reshape(-1, 2 * self.size).chunk(2, dim=-1)), dim=-1)" in cell
    run_migrated(tmp_path, """\
        from loop import unroll

        assert unroll(3).shape == (4, 10)
    """)


DICT_MEMORY = """\
    import torch
    import torch.nn as nn


    class Memory(nn.Module):
        def __init__(self, width=6):
            super().__init__()
            self.width = width
            self.rnn = nn.GRUCell(3, width)
            self.head = nn.Linear(width, 2)

        def blank(self, n):
            return {"rnn": torch.zeros(n, self.width), "steps": 0}

        def forward(self, obs, memory):
            h = self.rnn(obs, memory["rnn"])
            return self.head(h), {"rnn": h, "steps": memory["steps"] + 1}


    def unroll(steps):
        net = Memory()
        memory = net.blank(4)
        for _ in range(steps):
            out, memory = net(torch.randn(4, 3), memory)
        return out
"""


def test_a_creation_inside_a_dict_literal_that_holds_the_state_is_doubled(tmp_path):
    write(tmp_path, {"memory.py": DICT_MEMORY})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    memory = (tmp_path / "memory.py").read_text()
    assert 'return {"rnn": torch.zeros(n, 2 * self.width), "steps": 0}' in memory
    run_migrated(tmp_path, """\
        from memory import unroll

        assert unroll(3).shape == (4, 2)
    """)


ENCODER = """\
    import torch.nn as nn


    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 6, batch_first=True)

        def forward(self, seq):
            _, last = self.rnn(seq)
            return last
"""

DECODER = """\
    import torch
    import torch.nn as nn


    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.step = nn.GRUCell(2, 6)
            self.out = nn.Linear(6, 2)

        def forward(self, h, steps):
            y = torch.zeros(h.size(0), 2)
            ys = []
            for _ in range(steps):
                h = self.step(y, h)
                y = self.out(h)
                ys.append(y)
            return torch.stack(ys, 1)
"""

SEQ2SEQ = """\
    import torch.nn as nn

    from parts.decoder import Decoder
    from parts.encoder import Encoder


    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.decoder = Decoder()

        def forward(self, seq):
            return self.decoder(self.encoder(seq).squeeze(0), 3)
"""


def test_a_second_file_that_builds_a_gru_is_migrated_with_the_group_that_imports_it(tmp_path):
    files = {"parts/__init__.py": "", "parts/decoder.py": DECODER, "parts/encoder.py": ENCODER, "model.py": SEQ2SEQ}
    for state, encoder_line in (("packed", "last = torch.cat(last, dim=-1)"), ("tuple", "_, last = self.rnn(seq)")):
        write(tmp_path, files)
        assert main(["rewrite", "--quiet", "--state", state, str(tmp_path)]) == 0
        encoder = (tmp_path / "parts/encoder.py").read_text()
        assert "self.rnn = nn.LSTM(3, 6, batch_first=True)" in encoder and encoder_line in encoder
        run_migrated(tmp_path, """\
            import torch
            from model import Seq2Seq

            assert Seq2Seq()(torch.randn(4, 5, 3)).shape == (4, 3, 2)
        """)


def test_a_state_from_a_file_not_migrated_with_the_group_is_refused_in_packed_form(tmp_path, capsys, monkeypatch):
    write(tmp_path, {"parts/__init__.py": "", "parts/decoder.py": DECODER, "parts/encoder.py": ENCODER, "model.py": SEQ2SEQ})
    monkeypatch.chdir(tmp_path)
    assert main(["rewrite", "--state", "packed", "parts/decoder.py", "model.py"]) == 1
    assert "model.py:14:29: G2L101 the hidden state" in capsys.readouterr().out
    assert (tmp_path / "parts/decoder.py").read_text() == textwrap.dedent(DECODER)


STACKED = """\
    import torch
    import torch.nn as nn


    class Stacked(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.GRUCell(3, 6), nn.GRUCell(6, 6)])

        def blank(self, n):
            return [torch.zeros(n, 6) for _ in self.layers]

        def forward(self, x, states):
            new = []
            for layer, h in zip(self.layers, states):
                x = layer(x, h)
                new.append(x)
            return x, new


    def unroll(steps):
        net = Stacked()
        states = net.blank(4)
        for _ in range(steps):
            out, states = net(torch.randn(4, 3), states)
        return out
"""


def test_a_cell_state_fed_on_as_the_next_cells_input_under_the_input_name_is_refused_packed(tmp_path, capsys):
    write(tmp_path, {"stacked.py": STACKED})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "stacked.py:16:17: G2L100 `x` is the input of `layer(x, h)` and also keeps the state it returns" in out
    assert (tmp_path / "stacked.py").read_text() == textwrap.dedent(STACKED)


def test_a_cell_state_fed_on_as_the_next_cells_input_under_the_input_name_is_held_as_two(tmp_path):
    # tuple form: x is h wherever it is read, its c beside it (tests/test_stacked_inputs.py)
    write(tmp_path, {"stacked.py": STACKED})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "            x, x_c = layer(x, h)\n            new.append((x, x_c))\n" in (tmp_path / "stacked.py").read_text()
    run_migrated(tmp_path, "from stacked import unroll\nunroll(3).sum().backward()\n")


OUTPUT_AS_STATE = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(3, 6)
            self.q = nn.Linear(6, 2)

        def forward(self, x, h):
            out, h_last = self.core(x, h)
            carried = out[-1:]
            return self.q(out), carried


    def unroll(steps):
        net = Net()
        h = torch.zeros(1, 4, 6)
        for _ in range(steps):
            q, h = net(torch.randn(2, 4, 3), h)
        return q
"""


def test_the_output_carried_as_the_state_beside_a_new_state_nothing_reads_is_refused(tmp_path, capsys):
    for state in ("packed", "tuple"):
        write(tmp_path, {"net.py": OUTPUT_AS_STATE})
        assert main(["rewrite", "--state", state, str(tmp_path)]) == 1
        assert "net.py:12:23: G2L100 the output of `self.core(x, h)`" in capsys.readouterr().out


PLAIN_CELL = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = nn.GRUCell(3, 6)
            self.core = nn.GRU(6, 6)

        def forward(self, x, h):
            y = F.relu(self.gate(x.flatten(0, 1))).view(x.size(0), x.size(1), -1)
            out, h = self.core(y, h)
            return out, h


    def unroll(steps):
        net = Net()
        h = torch.zeros(1, 4, 6)
        for _ in range(steps):
            out, h = net(torch.randn(2, 4, 3), h)
        return out
"""


def test_a_cell_used_as_a_plain_layer_reads_h_in_packed_form(tmp_path):
    write(tmp_path, {"net.py": PLAIN_CELL})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    assert "y = F.relu(self.gate(x.flatten(0, 1))[0]).view(" in (tmp_path / "net.py").read_text()
    run_migrated(tmp_path, """\
        from net import unroll

        assert unroll(3).shape == (2, 4, 6)
    """)


STARRED = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(3, 6)
            self.v = nn.Linear(6, 1)

        def forward(self, x, h):
            seq, h = self.core(x, h)
            return self.v(seq), seq, h


    def unroll(steps):
        net = Net()
        h = torch.zeros(1, 4, 6)
        for _ in range(steps):
            *_, h = net(torch.randn(1, 4, 3), h)
        return h
"""


def test_a_state_after_a_starred_target_is_refused_in_tuple_form_and_packed_whole_in_packed_form(tmp_path, capsys):
    """`*_, h = net(x, h)`: the tuple form cannot tell which position `h` takes (refused); the
    packed form keeps one tensor per position, so `seq` stays the output and `h` the state."""
    write(tmp_path, {"net.py": STARRED})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert "net.py:20:13: G2L101 `h` holds the hidden state, but here it receives a value unpacked after a starred target" in capsys.readouterr().out
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 0
    migrated = (tmp_path / "net.py").read_text()
    assert "return self.v(seq), seq, h\n" in migrated and "self.core(x, h.chunk(2, dim=-1))" in migrated


SUMMED = """\
    import torch
    import torch.nn as nn


    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.head = nn.Linear(8, 2)

        def forward(self, x, h):
            out, h = self.gru(x, h)
            return out, h


    def run(steps):
        m = M()
        h = torch.zeros(1, 2, 8)
        for t in range(steps):
            y, h = m(torch.randn(1, 2, 4), h)
            v = m.head(h.sum(0))
            size = h.size(-1)
        return v, size
"""


def test_packed_a_value_computed_from_the_state_reads_h_and_a_size_stays_the_packed_one(tmp_path):
    write(tmp_path, {"model.py": SUMMED})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    model = (tmp_path / "model.py").read_text()
    assert "v = m.head(h.chunk(2, dim=-1)[0].sum(0))" in model
    assert "size = h.size(-1)" in model
    run_migrated(tmp_path, "from model import run\nrun(3)\n")


def test_packed_states_split_into_a_list_along_the_batch_are_kept(tmp_path):
    split = SUMMED.replace("""\
        h = torch.zeros(1, 2, 8)
        for t in range(steps):
            y, h = m(torch.randn(1, 2, 4), h)""", """\
        hs = [torch.zeros(1, 1, 8) for _ in range(2)]
        for t in range(steps):
            y, h = m(torch.randn(1, 2, 4), torch.cat(hs, 1))
            hs = list(torch.split(h, 1, dim=1))""")
    write(tmp_path, {"model.py": split})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    # the cut is followed now (rules/pieces.py), and kept in the packed form: `dim=1` is the batch of this 3-D state
    run_migrated(tmp_path, "from model import run\nrun(3)\n")
