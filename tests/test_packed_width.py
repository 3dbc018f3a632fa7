"""Packed form: an operand of arithmetic with the state whose last size is known and is not 1 was
as wide as h, and no longer lines up with the packed state (a finding); one of last size 1, a
number, or a tensor made like the state stays as written. The operand is followed through names,
attributes, parameters, elementwise functions and conversions to where it is made."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options

HEADER = "import numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\nH = 8\n\n\n"

MODEL = """
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, H)
        self.gate = nn.Linear(4, H)
        {init}

    def forward(self, x, h, w):
        out, h = self.gru(x, h)
        {update}
        return out, h


def run():
    m = M()
    w = {made}
    h = torch.zeros(1, 2, H)
    masks = torch.ones(5, 2, 1)
    for t in range(4):
        out, h = m(torch.ones(1, 2, 4), h, w)
        {loop}
    return h
"""


def migrate(update: str = "", init: str = "", loop: str = "", made: str = "None"):
    code = HEADER + textwrap.dedent(MODEL).format(init=init, update=update, loop=loop, made=made)
    migration = migrate_source(code, Options(state="packed"))
    return migration.source[len(HEADER):], [f for f in migration.findings if f.code != "G2L202"]


def _is_width_finding(findings, operand: str) -> bool:
    return [f.code for f in findings] == ["G2L100"] and f"with `{operand}`" in findings[0].message and "twice as wide" in findings[0].message


@pytest.mark.parametrize("update, operand", [
    ("h = h * torch.sigmoid(self.gate(x[-1]))", "torch.sigmoid(self.gate(x[-1]))"),  # a layer's output, elementwise
    ("g = torch.tanh(self.gate(x[-1]))\n        h = h + 0.1 * g", "0.1 * g"),  # through a name and arithmetic
    ("h = h * torch.sigmoid(out[-1:])", "torch.sigmoid(out[-1:])"),  # the recurrent layer's own output
    ("h = h * (torch.ones_like(self.gate(x[-1])) * 0.9)", "(torch.ones_like(self.gate(x[-1])) * 0.9)"),
    ("h = h * torch.ones(8)", "torch.ones(8)"),  # a size written as a number other than 1
])
def test_an_operand_made_as_wide_as_h_is_a_finding(update, operand):
    _, findings = migrate(update)
    assert _is_width_finding(findings, operand)


@pytest.mark.parametrize("init", [
    "self.decay = nn.Parameter(torch.ones(H) * 0.9)",
    "self.decay = nn.Parameter(torch.zeros(1, 1, H))",
    'self.register_buffer("decay", torch.full((H,), 0.9))',
    "self.decay = torch.as_tensor(np.ones(H) * 0.9, dtype=torch.float32)",
    # a size held by an attribute, set to the hidden size (probe p_param_hidden_size: it was exit 0)
    "self.hidden_size = H\n        self.decay = nn.Parameter(torch.ones(self.hidden_size) * 0.9)",
    "self.width = 8\n        self.decay = nn.Parameter(torch.ones(self.width) * 0.9)",
])
def test_an_attribute_as_wide_as_h_is_a_finding(init):
    _, findings = migrate("h = h * self.decay", init)
    assert _is_width_finding(findings, "self.decay")


def test_an_operand_made_in_another_function_is_followed_to_where_it_is_made():
    _, findings = migrate("h = h * w", made="torch.as_tensor(np.full(H, 0.9))")
    assert _is_width_finding(findings, "w")


@pytest.mark.parametrize("update, init, loop", [
    ("", "", "h = h * masks[t + 1]"),  # storage of masks (T + 1, N, 1)
    ("h = h * (1 - x[0, :, :1]).view(1, -1, 1)", "", ""),
    ("h = h * 0.9", "", ""),
    ("h = h * self.decay", "self.decay = nn.Parameter(torch.ones(1) * 0.9)", ""),
    ("h = h * self.decay", 'self.register_buffer("decay", torch.tensor(0.9))', ""),
    ("h = h * self.decay", "self.one = 1\n        self.decay = nn.Parameter(torch.ones(self.one) * 0.9)", ""),
    ("h = h + torch.zeros_like(h)", "", ""),
])
def test_an_operand_of_width_one_a_number_or_made_like_the_state_stays_as_written(update, init, loop):
    out, findings = migrate(update, init, loop)
    assert findings == []
    assert (update or loop).strip() in out and "torch.zeros(1, 2, 2 * H)" in out


def test_a_layer_held_by_the_object_named_like_a_tensor_method_is_a_layer():
    # `self.norm(h)` is nn.LayerNorm(H) run on the state, not the tensor method `norm`
    _, findings = migrate("h = self.norm(h)", "self.norm = nn.LayerNorm(H)")
    assert [f.code for f in findings] == ["G2L101"] and "features of the layer `self.norm`" in findings[0].message


def test_an_operand_in_a_returned_state_is_judged_as_one_bound_to_a_name():
    out, findings = migrate("return out, h * self.decay", "self.decay = nn.Parameter(torch.ones(H))")
    assert _is_width_finding(findings, "self.decay")


def test_a_mask_expanded_as_the_state_takes_its_shape_only():
    update = "m = (1 - x[0, :, :1]).view(1, -1, 1)\n        h = h * m.expand_as(h)"
    out, findings = migrate(update)
    assert findings == [] and "h = h * m.expand_as(h)" in out  # the packed state's shape: it lines up
    code = HEADER + textwrap.dedent(MODEL).format(init="", update=update, loop="", made="None")
    migration = migrate_source(code, Options(state="tuple"))
    assert "(h[0] * m.expand_as(h[0]), h[1] * m.expand_as(h[0]))" in migration.source


@pytest.mark.parametrize("update", [
    "h = h * (1 - x[0, :, 0]).unsqueeze(-1)",
    "h = h * (1 - x[0, :, 0])[:, None]",
])
def test_an_operand_given_a_new_last_dimension_is_of_width_one(update):
    out, findings = migrate(update)
    assert findings == [] and update.strip() in out
