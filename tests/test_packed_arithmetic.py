"""Packed form: arithmetic of the packed state (2H wide) with a tensor as wide as h, or a torch
function acting along its last dimension whose result stays a state, is a finding; with a number,
a mask or a tensor made like the state it stays as it is, and features read from it read h."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"

LOOP = """
    def shift(a, b):
        return a + b


    core = nn.GRU(4, 8)
    proj = nn.Linear(4, 8)
    h = torch.zeros(1, 2, 8)
    for step in range(3):
        x = torch.ones(1, 2, 4)
        masks = torch.ones(1, 2, 1)
        out, h = core(x, h)
        {update}
    """


def migrate(update: str, state: str):
    code = HEADER + textwrap.dedent(LOOP.format(update=update))
    migration = migrate_source(code, Options(state=state))
    return migration.source[len(HEADER):], migration.findings


@pytest.mark.parametrize("update, other", [
    ("h = h + proj(x)", "`proj(x)`, the output of a layer as wide as h"),
    ("g = torch.sigmoid(proj(x))\n    h = h * g", "`g`, the output of a layer as wide as h"),
    ("h = h + torch.ones(8)", "`torch.ones(8)`, an allocation of the hidden size `8`"),
    ("bias = torch.ones(8)\n    h = shift(h, bias)", "`bias`, an allocation of the hidden size `8`"),
    ("h = h * torch.linspace(0.5, 1.0, 8)", "`torch.linspace(0.5, 1.0, 8)`, made with its last size the hidden size `8`"),
    ("h = h.mul(torch.ones(8))", "`torch.ones(8)`, an allocation of the hidden size `8`"),  # as `h * ...`
    # in place, its result dropped: the state changes all the same (exit 0, then a size error)
    ("h.mul_(torch.full((8,), 0.5))", "`torch.full((8,), 0.5)`, an allocation of the hidden size `8`"),
    ("h.add_(proj(x))", "`proj(x)`, the output of a layer as wide as h"),
])
def test_a_tensor_as_wide_as_h_is_a_finding_in_packed_form(update, other):
    out, findings = migrate(update, "packed")
    (finding,) = findings
    assert finding.code == "G2L100" and f"combines the hidden state with {other}" in finding.message
    # a layer's output added to the state is refused by the tuple form too (the test below): no advice to use it
    added = update.startswith(("h = h + proj", "h.add_(proj"))
    assert ("--state tuple" in finding.message) is not added
    assert ("the tuple form cannot choose what c gets from it either" in finding.message) is added


def test_the_tuple_form_refuses_to_add_a_layer_output_to_c():
    # was written once per half (`h[1] + proj(x)`): c got what the GRU code added to h, a choice the engine cannot make
    out, findings = migrate("h = h + proj(x)", "tuple")
    assert [(finding.code, finding.message) for finding in findings] == [("G2L100", (
        "`h + proj(x)` adds `proj(x)`, which is not a hidden state, to the hidden state; with (h, c) the engine would do the "
        "same to c as to h, which is a choice it cannot make; write it on h alone (and say what c gets) by hand, or make the "
        "operand a state the engine follows"
    ))]


@pytest.mark.parametrize("update, written", [
    ("h = h + torch.ones(8)", "h[{}] + torch.ones(8)"),
    ("h.mul_(torch.full((8,), 0.5))", "h[{}].mul_(torch.full((8,), 0.5))"),
])
def test_the_tuple_form_writes_it_once_per_half(update, written):
    out, findings = migrate(update, "tuple")
    assert findings == []
    assert written.format(0) in out and written.format(1) in out


@pytest.mark.parametrize("update", [
    "h = h * masks",
    "h = h * 0.5 + torch.zeros_like(h)",
    "h = shift(h, torch.ones_like(h))",  # drawn at random (`torch.randn_like(h)`), a finding in both forms (test_views_changed.py)
    "h = h * (1 - masks)",
])
def test_numbers_masks_and_tensors_made_like_the_state_stay_in_packed_form(update):
    out, findings = migrate(update, "packed")
    assert findings == []
    assert update.replace("\n    ", "\n        ") in out


@pytest.mark.parametrize("update, mask", [
    ("drop = torch.rand(1, 2, 8) < 0.1\n        h = h.masked_fill(drop, 0.0)", "`drop`, an allocation of the hidden size `8`"),
    ("h = torch.where(proj(x) > 0, torch.zeros_like(h), h)", "`proj(x) > 0`, the output of a layer as wide as h"),
    ("h.masked_fill_(proj(x) > 0, 0.0)", "`proj(x) > 0`, the output of a layer as wide as h"),
])
def test_a_mask_as_wide_as_h_is_a_finding_in_packed_form(update, mask):
    # per unit (zoneout-like) masks: exit 0 before, then a size error at the first step
    out, findings = migrate(update, "packed")
    (finding,) = findings
    assert finding.code == "G2L100" and f"picks elements of the hidden state by {mask}" in finding.message
    out, findings = migrate(update, "tuple")
    assert findings == [] and "h[1]" in out


@pytest.mark.parametrize("update", [
    "h = h.masked_fill(masks < 0.5, 0.0)",
    "h = torch.where(masks > 0.5, h, torch.zeros_like(h))",
])
def test_a_mask_of_last_size_one_stays_in_packed_form(update):
    out, findings = migrate(update, "packed")
    assert findings == [] and update in out


@pytest.mark.parametrize("update", [
    "h = F.layer_norm(h, (8,))",
    "h = torch.nn.functional.normalize(h, dim=-1).detach()",
])
def test_a_function_along_the_hidden_dimension_that_stays_a_state_is_a_finding_in_packed_form(update):
    out, findings = migrate(update, "packed")
    (finding,) = findings
    assert finding.code == "G2L100" and "acts along the last dimension of the hidden state" in finding.message
    out, findings = migrate(update, "tuple")
    assert findings == [] and "(h[0]" in out.replace("F.layer_norm(", "(").replace("torch.nn.functional.normalize(", "(")


def test_a_function_along_the_hidden_dimension_read_as_features_reads_h_in_packed_form():
    out, findings = migrate("y = head(F.layer_norm(h, (8,)))", "packed")
    assert findings == []
    assert "y = head(F.layer_norm(h.chunk(2, dim=-1)[0], (8,)))" in out
