"""Each rule of docs/rules.md on the smallest code that shows it (valid: rewritten; invalid: a finding)."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.migrate import SourceError, migrate_source
from gru2lstm.options import Options

HEADER = "import torch\nfrom torch import nn\n\n\n"


def migrate(code: str, **options) -> str:
    return migrate_source(HEADER + textwrap.dedent(code), Options(**options)).source[len(HEADER):]


def findings(code: str):
    return migrate_source(HEADER + textwrap.dedent(code)).findings


REWRITES = {
    "module and rename": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16, num_layers=2, batch_first=True)

            def forward(self, x, h):
                return self.gru(x, h)
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)

            def forward(self, x, h):
                return self.lstm(x, h)
        """,
    ),
    "creation assigned whole, inline creation, halfwise detach": (
        """
        class M(nn.Module):
            def __init__(self):
                self.core = nn.GRU(8, 16)
                self.h = None

            def act(self, x):
                if self.h is None:
                    self.h = torch.zeros(1, 1, 16)
                out, h = self.core(x, self.h)
                self.h = h.detach()
                return out

            def fresh(self, x):
                return self.core(x, torch.zeros(1, 1, 16))[0]
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.core = nn.LSTM(8, 16)
                self.h = None

            def act(self, x):
                if self.h is None:
                    self.h = (
                        torch.zeros(1, 1, 16),
                        torch.zeros(1, 1, 16),
                    )
                out, h = self.core(x, self.h)
                self.h = (h[0].detach(), h[1].detach())
                return out

            def fresh(self, x):
                return self.core(x, (torch.zeros(1, 1, 16), torch.zeros(1, 1, 16)))[0]
        """,
    ),
    "features read from h only": (
        """
        class M(nn.Module):
            def __init__(self):
                self.rnn = nn.GRU(8, 16, num_layers=2)
                self.head = nn.Linear(16, 2)

            def forward(self, x, h0):
                out, h = self.rnn(x, h0)
                return self.head(h[-1]), h
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.rnn = nn.LSTM(8, 16, num_layers=2)
                self.head = nn.Linear(16, 2)

            def forward(self, x, h0):
                out, h = self.rnn(x, h0)
                return self.head(h[0][-1]), h
        """,
    ),
    "keep names": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)
        """,
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.LSTM(8, 16)
        """,
    ),
}


@pytest.mark.parametrize("name", list(REWRITES))
def test_rewrite(name):
    before, after = REWRITES[name]
    keep = name == "keep names"
    assert migrate(before, keep_names=keep) == textwrap.dedent(after)


def test_import_alias_keeps_the_alias():
    source = "from torch.nn import GRU as RNN\nimport torch\n\nrnn = RNN(4, 4)\n"
    assert migrate_source(source).source == "from torch.nn import LSTM as RNN\nimport torch\n\nrnn = RNN(4, 4)\n"


def test_module_level_holder_is_renamed_where_it_is_bound_and_read():
    source = "import torch\nfrom torch import nn\n\ngru = nn.GRU(2, 2)\nout, h = gru(torch.zeros(1, 1, 2))\n"
    assert migrate_source(source).source == (
        "import torch\nfrom torch import nn\n\nlstm = nn.LSTM(2, 2)\nout, h = lstm(torch.zeros(1, 1, 2))\n"
    )


def test_plain_import_is_renamed_everywhere():
    source = "from torch.nn import GRU\n\nnet = GRU(4, 4)\nok = isinstance(net, GRU)\n"
    assert migrate_source(source).source == "from torch.nn import LSTM\n\nnet = LSTM(4, 4)\nok = isinstance(net, LSTM)\n"


FINDINGS = {
    "unknown function": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)

            def act(self, x, h):
                out, h = self.gru(x, h)
                save_somewhere(h)
                return out
        """,
        "G2L101",
    ),
    "state from an unknown source": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)

            def act(self, x):
                h = load_state()
                out, h2 = self.gru(x, h)
                return out
        """,
        "G2L101",
    ),
    "a place that holds a GRU or an LSTM": (
        """
        class M(nn.Module):
            def __init__(self, kind):
                if kind == "gru":
                    self.core = nn.GRU(8, 16)
                else:
                    self.core = nn.LSTM(8, 16)
        """,
        "G2L102",
    ),
    "partner name already taken": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)
                self.mem = []

            def act(self, x, h):
                out, h = self.gru(x, h)
                self.mem.append(h)
                return out, h

            def learn(self, x):
                c_states = 0
                h_states = torch.cat(self.mem, dim=1)
                return self.gru(x, h_states)[0], c_states
        """,
        "G2L103",
    ),
    "grown return not unpacked": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)
                self.mem = []

            def act(self, x, h):
                out, h = self.gru(x, h)
                self.mem.append(h)
                return out, h

            def batch(self, x):
                h_states = torch.cat(self.mem, dim=1)
                return x, h_states

            def learn(self, x):
                both = self.batch(x)
                return self.gru(both[0], both[1])[0]
        """,
        "G2L104",
    ),
    "batched state not assigned": (
        """
        class M(nn.Module):
            def __init__(self):
                self.gru = nn.GRU(8, 16)
                self.mem = []

            def act(self, x, h):
                out, h = self.gru(x, h)
                self.mem.append(h)

            def learn(self, x):
                return self.gru(x, torch.cat(self.mem, dim=1))
        """,
        "G2L100",
    ),
}


@pytest.mark.parametrize("name", list(FINDINGS))
def test_finding_leaves_file_untouched(name):
    code, expected_code = FINDINGS[name]
    source = HEADER + textwrap.dedent(code)
    migration = migrate_source(source)
    assert expected_code in {f.code for f in migration.findings}
    assert migration.blocked
    assert migration.source == source and not migration.changed
    finding = next(f for f in migration.findings if f.code == expected_code)
    assert finding.line > len(HEADER.splitlines())


def test_allow_partial_writes_the_safe_part():
    code, _ = FINDINGS["unknown function"]
    migration = migrate_source(HEADER + textwrap.dedent(code), Options(allow_partial=True))
    assert "nn.LSTM(8, 16)" in migration.source
    assert "        save_somewhere(h)  # gru2lstm: manual (G2L101)\n" in migration.source


def test_file_without_gru_is_unchanged():
    source = HEADER + "net = nn.LSTM(4, 4)\nmlp = nn.Linear(4, 4)\n"
    migration = migrate_source(source)
    assert not migration.changed and migration.source == source


def test_local_class_named_gru_is_left_alone():
    source = "class GRU:\n    pass\n\n\nnet = GRU()\n"
    migration = migrate_source(source)
    assert not migration.changed
    assert [f.code for f in migration.findings] == ["G2L201"]


def test_unparsable_source_raises_source_error():
    with pytest.raises(SourceError) as error:
        migrate_source("def broken(:\n    pass\n")
    assert error.value.line == 1


def test_every_finding_code_is_catalogued_and_documented():
    import re
    from pathlib import Path

    from gru2lstm.findings import CODES

    root = Path(__file__).resolve().parent.parent
    used = set(re.findall(r'"(G2L\d{3})"', "".join(p.read_text() for p in (root / "gru2lstm").glob("*.py"))))
    assert used <= set(CODES), used - set(CODES)
    readme = (root / "README.md").read_text()
    assert all(f"| {code} |" in readme for code in CODES)
    assert len({message for _, message in CODES.values()}) == len(CODES)
