"""Helpers shared by the hidden state and other values (issue 13, point 4): summarised per call site,
so what different calls pass never meets in a helper's parameter or return. No finding on the
values that are not states; the state's own uses migrated (or, when they cannot be, one finding
on what holds the state)."""

from __future__ import annotations

import textwrap
from dataclasses import replace

import pytest
import libcst as cst
from libcst import metadata as meta

from gru2lstm.flow import collect
from gru2lstm.migrate import ParsedModule, migrate_source, parse
from gru2lstm.options import Options
from gru2lstm.program import FunctionKey
from gru2lstm.project import ModuleSource
from gru2lstm.summaries import MAX_DEPTH, PassThrough, pass_through
from gru2lstm.values import Derivation

HEADER = "import numpy as np\nimport torch\nimport torch.nn as nn\nfrom collections import namedtuple\n\n\n"


def migrate(code: str, **options):
    migration = migrate_source(HEADER + textwrap.dedent(code), Options(**options))
    return migration.source[len(HEADER):], migration.findings


def blocking(findings) -> list:
    return [f for f in findings if f.blocks_write]


def summary_of(code: str, name: str):
    """The summary of the module-level function `name` of `code`."""
    wrapper = ParsedModule(parse(textwrap.dedent(code)))
    flow = collect([("<source>", wrapper.module, wrapper.resolve(meta.ParentNodeProvider), ModuleSource("<source>"))])
    return pass_through(flow.functions[FunctionKey(None, name, "<source>")], flow)


ORTHO_POLICY = """
    def ortho(layer, gain):
        nn.init.orthogonal_(layer.weight_hh_l0 if hasattr(layer, "weight_hh_l0") else layer.weight, gain)
        return layer


    class Policy(nn.Module):
        def __init__(self, obs, hidden):
            super().__init__()
            self.fc = ortho(nn.Linear(obs, hidden), 1.0)
            self.gru = ortho(nn.GRU(hidden, hidden), 1.0)
            self.v = ortho(nn.Linear(hidden, 1), 0.01)

        def forward(self, x, h):
            out, h = self.gru(torch.relu(self.fc(x)), h)
            value = self.v(out)
            return value, h


    policy = Policy(4, 8)
    value, h = policy(torch.zeros(1, 2, 4), torch.zeros(1, 2, 8))
"""


@pytest.mark.parametrize("partial", [False, True])
def test_a_layer_initialiser_keeps_the_gru_and_the_linears_apart(partial):
    out, findings = migrate(ORTHO_POLICY, allow_partial=partial)
    assert blocking(findings) == []
    assert "self.lstm = ortho(nn.LSTM(hidden, hidden), 1.0)" in out
    assert "self.v = ortho(nn.Linear(hidden, 1), 0.01)" in out
    assert "        value = self.v(out)\n" in out  # never `value, value_c = self.v(out)`
    assert "value, h = policy(torch.zeros(1, 2, 4), (torch.zeros(1, 2, 8), torch.zeros(1, 2, 8)))" in out


@pytest.mark.parametrize("partial", [False, True])
def test_an_initialiser_that_keeps_its_layers_is_a_finding_that_names_the_linear(partial):
    code = "LAYERS = []\n" + textwrap.dedent(ORTHO_POLICY).replace("def ortho(layer, gain):\n", "def ortho(layer, gain):\n    LAYERS.append(layer)\n")
    out, findings = migrate(code, allow_partial=partial)
    assert out == code  # not even --allow-partial writes
    (finding,) = blocking(findings)
    assert finding.code == "G2L102"
    assert "where a `nn.Linear` is held too (`nn.Linear(obs, hidden)`, line" in finding.message
    assert "LSTM, an RNN" not in finding.message


def test_a_gru_held_with_a_module_class_of_the_program_is_a_finding_not_its_forward():
    code = """
        KEPT = []


        def ortho(layer):
            KEPT.append(layer)
            return layer


        class Head(nn.Module):
            def __init__(self, hidden):
                super().__init__()
                self.out = nn.Linear(hidden, 1)

            def forward(self, x):
                return self.out(x)


        class Policy(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = ortho(nn.GRU(4, 8))
                self.v = ortho(Head(8))

            def forward(self, x, h):
                out, h = self.gru(x, h)
                return self.v(out), h
        """
    out, findings = migrate(code, allow_partial=True)
    assert out == textwrap.dedent(code)
    (finding,) = blocking(findings)
    assert finding.code == "G2L102" and "a `Head` is held too (`Head(8)`" in finding.message


def test_a_switch_between_gru_and_lstm_names_the_lstm():
    _, findings = migrate("""
        class M(nn.Module):
            def __init__(self, lstm):
                super().__init__()
                self.core = nn.LSTM(4, 8) if lstm else nn.GRU(4, 8)
        """)
    (finding,) = blocking(findings)
    assert "where a `nn.LSTM` is held too (`nn.LSTM(4, 8)`, line 11): code that chooses between them" in finding.message


def test_a_numpy_converter_for_observations_masks_and_states():
    out, findings = migrate("""
        def check(input):
            output = torch.from_numpy(input) if type(input) == np.ndarray else input
            return output


        class Policy(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 8)
                self.rnn = nn.GRU(8, 8)

            def forward(self, obs, rnn_states, masks):
                obs = check(obs).float()
                rnn_states = check(rnn_states).float()
                masks = check(masks).float()
                out, rnn_states = self.rnn(self.fc(obs).unsqueeze(0), (rnn_states * masks).unsqueeze(0))
                return out, rnn_states.squeeze(0)


        policy = Policy()
        states = np.zeros((2, 8), dtype=np.float32)
        out, states = policy(np.ones((2, 4), dtype=np.float32), states, np.ones((2, 1), dtype=np.float32))
        """)
    assert findings == []
    assert "        obs = check(obs).float()\n" in out
    assert "        masks = check(masks).float()\n" in out
    assert "        rnn_states = (check(rnn_states[0]).float(), check(rnn_states[1]).float())\n" in out
    assert "((rnn_states[0] * masks).unsqueeze(0), (rnn_states[1] * masks).unsqueeze(0))" in out


RECORD = """
    Stats = namedtuple("Stats", ["mean", "std", "hidden"])


    def to_device(t):
        return t.to("cpu")


    def detach_all(stats):
        return {mapping}


    class Policy(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRUCell(4, 8)
            self.mu = nn.Linear(8, 1)

        def forward(self, obs, h):
            h = self.gru(obs, h)
            mean = self.mu(h)
            return Stats(mean, torch.ones_like(mean), h)


    policy = Policy()
    h = torch.zeros(2, 8)
    for step in range(3):
        stats = detach_all(policy(torch.ones(2, 4), h))
        print(stats.mean.sum(), stats.std.mean())
        h = stats.hidden
"""


@pytest.mark.parametrize("mapping", ["Stats(*[to_device(t) for t in stats])", "type(stats)(*map(to_device, stats))"])
def test_a_helper_over_every_field_of_a_record_is_one_finding_on_the_record(mapping):
    code = RECORD.replace("{mapping}", mapping)
    out, findings = migrate(code, state="tuple")  # packed, each item is one tensor: the list comprehension migrates
    assert out == textwrap.dedent(code)  # `to_device((h, c))` would break: nothing written
    assert findings and all("`stats`" in f.message for f in findings)
    assert not any("mean" in f.message or "std" in f.message for f in findings)


def test_iterating_a_record_names_the_field_that_holds_the_state():
    _, findings = migrate(RECORD.replace("{mapping}", "Stats(*[to_device(t) for t in stats])"), state="tuple")
    (finding,) = findings
    assert "`stats` holds hidden states (field `hidden`) beside other values and is iterated" in finding.message


def test_a_helper_over_the_items_of_a_returned_tuple_keeps_them_apart():
    _, findings = migrate("""
        def to_device(x):
            return x.to("cpu")


        class Policy(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(4, 8)
                self.mu = nn.Linear(8, 1)

            def forward(self, obs, h):
                out, h = self.gru(obs.unsqueeze(0), h.unsqueeze(0))
                mean = self.mu(out.squeeze(0))
                return mean, torch.ones_like(mean), h.squeeze(0)


        policy = Policy()
        h = torch.zeros(2, 8)
        for step in range(3):
            batch = policy(torch.ones(2, 4), h)
            mean, std, h = [to_device(x) for x in batch]
            print(mean.sum(), std.mean())
        """, state="tuple")  # packed, each item is one tensor: it migrates (tests/test_wrong_refusals41.py)
    (finding,) = findings
    assert finding.code == "G2L101" and "`batch` holds hidden states (item 2) beside other values" in finding.message


def test_items_mapped_from_states_only_are_migrated():
    out, findings = migrate("""
        core = nn.GRU(4, 8)
        h1, h2 = torch.zeros(1, 1, 8), torch.zeros(1, 1, 8)
        for step in range(3):
            _, h1 = core(torch.ones(1, 1, 4), h1)
            _, h2 = core(torch.ones(1, 1, 4), h2)
            h1, h2 = [h.detach() for h in (h1, h2)]
        """)
    assert findings == []
    assert "h1, h2 = [(h[0].detach(), h[1].detach()) for h in (h1, h2)]" in out


# ------------------------------------------------------------------ the summaries themselves
@pytest.mark.parametrize("body, expected", [
    ("return x", PassThrough(("x",), Derivation.KEEP, identity=True)),  # given back as it came: the argument itself
    ("y = torch.as_tensor(x)\n    return y.view(-1)", PassThrough(("x",), Derivation.SHAPE)),
    ("x = x.float()\n    if x is None:\n        x = x.cpu()\n    return x", PassThrough(("x",), Derivation.KEEP)),
    ("assert len(x) > 0 and getattr(x, 'shape', None) is not None\n    return x", PassThrough(("x",), Derivation.KEEP, identity=True)),
    ("y = x\n    return y if x is not None else x", PassThrough(("x",), Derivation.KEEP, identity=True)),
    ("return -x", PassThrough(("x",), Derivation.KEEP)),  # computed: not the argument as it came
    ("y: torch.Tensor = x.detach()\n    return y", PassThrough(("x",), Derivation.KEEP)),
    ("STORE.append(x)\n    return x", None),  # kept: what each call passes would be lost
    ("y: int = x\n    y = 0\n    STORE.append(y)\n    return x", None),  # kept through a name that also holds other values
    ("x.append(1)\n    return x", None),  # written into
    ("y = x\n    y = 0\n    return y", None),  # a local that once holds something else
    ("for x in range(3):\n        pass\n    return x", None),  # rebound by a loop
    ("f = lambda: x\n    return x", None),  # a closure could keep it
    ("return x if x is not None else torch.zeros(1)", None),  # not only the parameter
    ("print(x)\n    return x", None),  # handed to code that may keep it
])
def test_what_a_helper_gives_back(body, expected):
    found = summary_of(f"import torch\n\n\ndef helper(x):\n    {body}\n", "helper")
    assert (found if found is None else replace(found, chain=None)) == expected  # the chain: below


@pytest.mark.parametrize("body, chain", [
    ("return x", []),
    ("y = torch.as_tensor(x)\n    return y.view(-1)", ["torch.as_tensor(x)", "y.view(-1)"]),
    ("y: torch.Tensor = x.detach()\n    return y", ["x.detach()"]),
    ("x = x.float()\n    if x is None:\n        x = x.cpu()\n    return x", None),  # a parameter bound again: not one path
    ("return -x", None),  # an arithmetic: its rank is not read
])
def test_the_calls_a_helper_gives_its_parameter_back_through(body, chain):
    # the packed form follows the argument's rank through them (rules/packed_ranks.py)
    found = summary_of(f"import torch\n\n\ndef helper(x):\n    {body}\n", "helper").chain
    assert (found if found is None else [cst.Module([]).code_for_node(node) for node in found]) == chain


@pytest.mark.parametrize("body, expected", [
    ("return a * m + b * (1 - m)", PassThrough(("a", "b", "m"), Derivation.KEEP)),
    ("return -a.float() / 2", PassThrough(("a",), Derivation.KEEP)),
    ("return a.view(-1) * b", None),  # which operand is reshaped would be lost at the call
    ("return a * SCALE", None),  # a global: not arithmetic of the parameters only
    ("return 1 + 2", None),  # gives back none of them
    ("STORE.append(b)\n    return a * b", None),  # one of them kept
    ("if m is None:\n        return a\n    return a * m", None),  # not one and the same arithmetic
])
def test_what_a_helper_of_several_parameters_gives_back(body, expected):
    assert summary_of(f"import torch\n\n\ndef helper(a, b, m=None):\n    {body}\n", "helper") == expected


BLEND = """
    def blend(a, b, m):
        return a * m + b * (1 - m)


    core = nn.GRU(4, 8)
    h = torch.zeros(1, 2, 8)
    obs, prev = torch.ones(1, 2, 4), torch.zeros(1, 2, 4)
    for step in range(3):
        x = blend(obs, prev, 0.5)
        out, h = core(x, h)
        h = {update}
    """


def test_a_helper_of_arithmetic_is_that_arithmetic_at_each_call():
    # Called with observations and with the state, it neither makes `x` a state (which fed the
    # GRU's input would be refused as stacked layers) nor leaves the state's call on the pair.
    out, findings = migrate(BLEND.format(update="blend(h, torch.zeros_like(h), 0.9)"))
    assert findings == []
    assert "x = blend(obs, prev, 0.5)" in out
    assert "h = (blend(h[0], torch.zeros_like(h[0]), 0.9), blend(h[1], torch.zeros_like(h[0]), 0.9))" in out


def test_a_helper_of_arithmetic_given_two_states_takes_each_ones_half():
    out, findings = migrate(BLEND.format(update="blend(h, h.detach(), 0.9)"))
    assert findings == []
    assert "h = (blend(h[0], h[0].detach(), 0.9), blend(h[1], h[1].detach(), 0.9))" in out


def test_a_helper_through_helpers_up_to_the_depth_limit():
    chain = "def h0(x):\n    return x.float()\n\n\n" + "".join(
        f"def h{n}(x):\n    return h{n - 1}(x)\n\n\n" for n in range(1, MAX_DEPTH + 2)
    )
    assert summary_of(chain, f"h{MAX_DEPTH}") == PassThrough(("x",), Derivation.KEEP)
    assert summary_of(chain, f"h{MAX_DEPTH + 1}") is None  # deeper: bound as any function


def test_a_recursive_helper_is_not_summarised():
    assert summary_of("def f(x):\n    return f(x)\n", "f") is None


def test_the_argument_a_nested_helper_gives_back_is_the_one_followed():
    code = "def pick(a, b):\n    return b\n\n\ndef outer(x, y):\n    return pick(y, x)\n"
    assert summary_of(code, "outer") == PassThrough(("x",), Derivation.KEEP)


def test_a_holder_given_a_part_of_something_unknown_says_what_it_receives():
    _, findings = migrate("""
        core = nn.GRU(4, 8)
        h = torch.zeros(1, 2, 8)
        for step in range(3):
            out, h = core(torch.ones(1, 2, 4), h)
            out, h = [torch.relu(x) for x in (out, h)]
        """)
    (finding,) = [f for f in findings if f.code == "G2L102"]
    assert "`h` holds the hidden state elsewhere, but here it receives a part of an unknown value" in finding.message


def test_an_arithmetic_helper_with_a_parameter_left_to_its_default_is_the_arithmetic_of_the_others():
    out, findings = migrate("""
        def scale(a, m=0.5):
            return a * m


        core = nn.GRU(4, 8)
        h = torch.zeros(1, 2, 8)
        for step in range(3):
            out, h = core(scale(torch.ones(1, 2, 4)), h)
            h = scale(h)
        """)
    assert findings == []
    assert "out, h = core(scale(torch.ones(1, 2, 4)), h)" in out and "h = (scale(h[0]), scale(h[1]))" in out
