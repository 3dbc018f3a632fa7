"""A literal list keeps a slot per position until it is used as a sequence (gru2lstm/sequences.py):
`return [belief, mean]` unpacked by the caller makes `belief` a hidden state, not `mean`."""

from __future__ import annotations

import textwrap

from gru2lstm.migrate import migrate_source
from test_rules import HEADER

RECORD = """
class T(nn.Module):
    def __init__(self):
        self.rnn = nn.GRUCell(4, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, belief, x):
        belief = self.rnn(x, belief)
        mean = self.fc(belief)
        hidden = [belief, mean]
        return hidden


def run():
    model = T()
    belief = torch.zeros(1, 8)
    for _ in range(3):
        belief, mean = model(belief, torch.randn(1, 4))
        print(mean)
    return belief
"""


def test_a_list_unpacked_by_position_keeps_each_item_apart():
    migration = migrate_source(HEADER + textwrap.dedent(RECORD))
    assert not any("mean" in f.message for f in migration.findings), migration.findings
    assert "hidden = [belief, mean]" in migration.source  # the pair is stored whole, `mean` left alone
    assert "mean = self.fc(belief[0])" in migration.source


def test_a_list_indexed_by_a_variable_is_a_sequence_of_one_kind():
    code = RECORD.replace("hidden = [belief, mean]\n        return hidden", "hidden = [belief, mean]\n        return hidden[len(hidden) - 2]")
    migration = migrate_source(HEADER + textwrap.dedent(code))
    # Its items are joined: `mean` may now be what a caller takes as the state.
    assert any("`mean`" in f.message or "self.fc(belief)" in f.message for f in migration.findings), migration.findings


def test_a_list_literal_of_creations_used_as_a_sequence_elsewhere_pairs_each_creation():
    # `hs` is iterated in forward(): its positions join its element, a state, so each creation is a pair.
    code = """
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.GRUCell(4, 8)

        def forward(self, x, hs):
            return [self.a(x, h) for h in hs]


    def run():
        model = Two()
        hs = [torch.zeros(1, 8), torch.zeros(1, 8)]
        for _ in range(3):
            hs = model(torch.randn(1, 4), hs)
    """
    migration = migrate_source(HEADER + textwrap.dedent(code))
    assert not migration.findings, migration.findings
    assert "hs = [(torch.zeros(1, 8), torch.zeros(1, 8)), (torch.zeros(1, 8), torch.zeros(1, 8))]" in migration.source
