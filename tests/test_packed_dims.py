"""Packed form: an operation on the state along its last dimension, where h and c lie side by side,
is a finding where its result stays a state; along another dimension (told by the state's rank
when counted from the front) it stays as written; read as features it reads h alone."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"

LOOP = """
    core = nn.GRU(4, 8)
    head = nn.Linear(8, 2)
    gate = nn.Linear(4, 8)
    h = torch.zeros(1, 2, 8)
    idx = torch.tensor([1, 0])
    for step in range(3):
        x = torch.ones(1, 2, 4)
        out, h = core(x, h)
        {update}
    """

CELL = """
    cell = nn.GRUCell(4, 8)
    h = torch.zeros(2, 8)
    for step in range(3):
        h = cell(torch.ones(2, 4), h)
        {update}
    """


def migrate(update: str, program: str = LOOP, state: str = "packed"):
    code = HEADER + textwrap.dedent(program.format(update=update))
    migration = migrate_source(code, Options(state=state))
    return migration.source[len(HEADER):], migration.findings


@pytest.mark.parametrize("update, node", [
    ("h = h.flip(-1)", "h.flip(-1)"),
    ("h = torch.flip(h, [-1])", "torch.flip(h, [-1])"),
    ("h = h.flip(2)", "h.flip(2)"),  # the last dimension of a 3-D state
    ("h = torch.roll(h, 1, dims=-1)", "torch.roll(h, 1, dims=-1)"),
    ("h = h.narrow(-1, 0, 8)", "h.narrow(-1, 0, 8)"),
    ("h = h.index_select(2, torch.arange(8))", "h.index_select(2, torch.arange(8))"),
    ("h = torch.cumsum(h, dim=-1)", "torch.cumsum(h, dim=-1)"),
    ("h = h.transpose(1, 2).flip(1).transpose(1, 2)", "h.transpose(1, 2)"),
    ("h = h.permute(2, 1, 0).flip(0).permute(2, 1, 0)", "h.permute(2, 1, 0)"),
    ("h = torch.cat([h[..., 4:], h[..., :4]], dim=-1)", "torch.cat([h[..., 4:], h[..., :4]], dim=-1)"),
    ("h = h[:, :, :8] * 0.5", "h[:, :, :8]"),
    ("h = h / (1 + h.norm(dim=-1, keepdim=True))", "h.norm(dim=-1, keepdim=True)"),
    ("h = h / (1 + h.norm())", "h.norm()"),  # every dimension, the last one too
    ("h = h - h.mean(-1, keepdim=True)", "h.mean(-1, keepdim=True)"),
])
def test_an_operation_along_the_last_dimension_that_stays_a_state_is_a_finding(update, node):
    out, findings = migrate(update)
    assert {f.code for f in findings} == {"G2L100"}  # each such operation of the statement is named
    assert any(f"`{node}` acts along the last dimension" in f.message and "--state tuple" in f.message for f in findings)


@pytest.mark.parametrize("update", [
    "h = h.flip(1)",  # the batch dimension of a 3-D state
    "h = torch.roll(h, 1, 1)",
    "h = h.index_select(1, idx)",
    "h = h.transpose(0, 1).contiguous().transpose(0, 1)",
    "h = h[:, idx]",
    "h = h - h.mean(1, keepdim=True)",
    "h = h.flip(-2)",
])
def test_an_operation_along_another_dimension_stays_as_written(update):
    out, findings = migrate(update)
    assert findings == []
    assert update.strip() in out and "torch.zeros(1, 2, 2 * 8)" in out


def test_a_dimension_counted_from_the_front_of_a_state_of_unknown_rank_may_be_the_last():
    program = """
    core = nn.GRU(4, 8)


    def step(x, h):
        h = h.flip(1)
        return core(x, h)[1]
    """
    out, findings = migrate("", program)
    assert [f.code for f in findings if f.code == "G2L100"] == ["G2L100"]


def test_what_a_recurrent_call_takes_tells_the_rank_of_what_it_is_made_from():
    program = """
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def forward(self, x, hxs):
            out, hxs = self.gru(x, hxs.transpose(0, 1).contiguous())
            return out, hxs.transpose(0, 1)


    net = Net()
    h = torch.zeros(2, 1, 8)
    for step in range(3):
        out, h = net(torch.ones(1, 2, 4), h)
    """
    out, findings = migrate("", program)
    assert findings == []
    assert "hxs.transpose(0, 1).contiguous().chunk(2, dim=-1)" in out


@pytest.mark.parametrize("update", [
    "y = head(h * torch.sigmoid(gate(x)))",
    "y = head(torch.flip(h, [-1]))",
    "y = h.norm(dim=-1)",
])
def test_read_as_features_it_reads_h_alone(update):
    out, findings = migrate(update)
    assert findings == []
    assert "h.chunk(2, dim=-1)[0]" in out


def test_arithmetic_with_a_layer_output_that_stays_a_state_is_still_a_finding():
    out, findings = migrate("h = h * torch.sigmoid(gate(x))")
    assert [f.code for f in findings] == ["G2L100"] and "combines the hidden state with" in findings[0].message


@pytest.mark.parametrize("update, program", [
    ("h = torch.stack([h_i * 0.5 for h_i in h.unbind(1)], 1)", LOOP),
    ("a, b = h.split(1, dim=1)\n    h = torch.cat([b, a], 1)", LOOP),
    ("h = torch.stack([h_i * 0.5 for h_i in h.unbind(0)], 0)", CELL),
])
def test_a_cut_counted_from_the_front_is_kept_where_the_rank_makes_it_a_batch_dimension(update, program):
    out, findings = migrate(update, program)
    assert findings == []
    assert update.splitlines()[0].strip() in out


def test_a_cut_along_the_last_dimension_counted_from_the_front_is_a_finding():
    out, findings = migrate("h = torch.stack([h_i for h_i in h.unbind(1)], 1)", CELL)
    assert {f.code for f in findings} == {"G2L100"} and any("counted from the front" in f.message for f in findings)


def test_a_packed_cut_per_environment_runs_on_the_packed_state():
    out, findings = migrate("h = torch.stack([h_i * 0.5 for h_i in h.unbind(1)], 1)")
    namespace: dict = {}
    exec(compile(HEADER + out, "packed.py", "exec"), namespace)
    assert findings == [] and namespace["h"].shape == (1, 2, 16)
