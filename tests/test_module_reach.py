"""The recurrent module reached other than by a plain call (red-team wave 6a, /work/redteam/probe_reach):
called through `.forward`/`.__call__`, handed to a function or module that calls it, given a hook,
its gate-stacked parameters taken apart by the GRU's 3 gates, renamed while a string spells its
parameters' names, and parameters loaded from a file."""

from __future__ import annotations

import textwrap

import pytest

from gru2lstm.migrate import migrate_source
from gru2lstm.options import Options

NET = '''\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.gru = nn.GRU(4, hidden)
        self.head = nn.Linear(hidden, 2)
{init}
    def forward(self, x, h):
        out, h = {call}
        return self.head(out[-1]), h


def act(steps):
    net = Net()
    h = torch.zeros(1, 2, 8)
    for _ in range(steps):
        y, h = net(torch.randn(1, 2, 4), h)
    return y
'''


def program(init: str = "", call: str = "self.gru(x, h)") -> str:
    body = textwrap.indent(textwrap.dedent(init), " " * 8) if init else ""
    return NET.format(init=body, call=call)


def codes(source: str, state: str = "tuple") -> list:
    return [f.code for f in migrate_source(source, Options(state=state)).findings]


@pytest.mark.parametrize("state", ["tuple", "packed"])
@pytest.mark.parametrize("call", ["self.gru.forward(x, h)", "self.gru.__call__(x, h)"])
def test_a_call_through_forward_or_dunder_call_is_the_call(call, state):
    migration = migrate_source(program(call=call), Options(state=state))
    assert [f.code for f in migration.findings if f.severity == "error"] == []
    assert call.replace("gru", "lstm").split("(")[0] in migration.source
    if state == "tuple":
        assert "h = (\n        torch.zeros(1, 2, 8)," in migration.source
    else:
        assert "h.chunk(2, dim=-1))" in migration.source and "torch.zeros(1, 2, 2 * 8)" in migration.source


@pytest.mark.parametrize("state", ["tuple", "packed"])
@pytest.mark.parametrize("call", [
    "torch.utils.checkpoint.checkpoint(self.gru, x, h)",  # reentrant: a returned pair loses its gradients (use_reentrant=False migrates: test_wrong_refusals37.py)
    "functools.partial(self.gru, x)(h)",
])
def test_the_module_handed_to_a_function_that_calls_it_is_refused(call, state):
    source = "import functools\nimport torch.utils.checkpoint\n" + program(call=call)
    migration = migrate_source(source, Options(state=state))
    assert "G2L101" in [f.code for f in migration.findings] and not migration.changed
    assert any("the recurrent module `self.gru` is " in f.message for f in migration.findings)


def test_a_gru_inside_a_sequential_called_whole_is_refused():
    source = textwrap.dedent('''\
        import torch
        import torch.nn as nn

        body = nn.Sequential(nn.Linear(4, 4), nn.GRU(4, 8))
        core = nn.GRU(2, 8)
        h = torch.zeros(1, 1, 8)
        for t in range(3):
            out, last = body(torch.randn(3, 1, 4))
            _, h = core(last, h)
    ''')
    migration = migrate_source(source, Options(state="tuple"))
    assert not migration.changed
    assert any(f.code == "G2L101" and "`nn.GRU(4, 8)` is handed to `nn.Sequential()`" in f.message for f in migration.findings)


@pytest.mark.parametrize("hook", [
    "self.gru.register_forward_hook(lambda m, inp, out: self.seen.append(out[1]))",
    "self.gru.register_forward_pre_hook(lambda m, inp: (inp[0], inp[1] * 0.5))",
])
def test_a_hook_on_the_module_is_refused(hook):
    source = program(init=f"self.seen = []\n{hook}\n")
    for state in ("tuple", "packed"):
        migration = migrate_source(source, Options(state=state))
        assert not migration.changed
        assert any(f.code == "G2L101" and "hook" in f.message for f in migration.findings)


GATE_WISE = [
    "w_r, w_z, w_n = self.gru.weight_hh_l0.data.chunk(3, 0)\n",
    "self.gru.weight_hh_l0.view(3, hidden, hidden)\n",
    "self.gru.bias_hh_l0.data[hidden:2 * hidden].fill_(1.0)\n",
    "self.gru.bias_ih_l0 = nn.Parameter(torch.zeros(3 * hidden))\n",
    """\
    p = self.gru.weight_hh_l0
    for i in range(3):
        nn.init.orthogonal_(p.data[i * hidden:(i + 1) * hidden])
    """,
    """\
    for name, p in self.gru.named_parameters():
        if "weight" in name:
            nn.init.orthogonal_(p[:hidden])
    """,
    """\
    for name, p in self.named_parameters():
        if name.endswith("weight_hh_l0"):
            p.data[:hidden].zero_()
    """,
]


@pytest.mark.parametrize("init", GATE_WISE)
def test_code_keyed_to_the_grus_three_gates_is_refused(init):
    for state in ("tuple", "packed"):
        migration = migrate_source(program(init=init), Options(state=state))
        assert not migration.changed
        assert "G2L107" in [f.code for f in migration.findings]
        assert any("4 gates (i, f, g, o)" in f.message for f in migration.findings if f.code == "G2L107")


@pytest.mark.parametrize("init", [
    "nn.init.orthogonal_(self.gru.weight_hh_l0)\n",
    "self.gru.bias_hh_l0.data.fill_(0.0)\n",
    """\
    for name, p in self.named_parameters():
        if "bias" in name:
            p.data[:2].zero_()
    """,
])
def test_whole_parameter_code_carries_over(init):
    migration = migrate_source(program(init=init), Options(state="tuple"))
    assert [f.code for f in migration.findings if f.severity == "error"] == []
    assert "nn.LSTM(4, hidden)" in migration.source


def test_a_holder_whose_parameter_names_a_string_spells_keeps_its_name():
    init = """\
    for name, p in self.named_parameters():
        if name.startswith("gru.") and "bias" in name:
            nn.init.constant_(p, 0.25)
    """
    migration = migrate_source(program(init=init), Options(state="tuple"))
    assert "self.gru = nn.LSTM(4, hidden)" in migration.source and "self.lstm" not in migration.source
    assert "self.lstm = nn.LSTM" in migrate_source(program(), Options(state="tuple")).source


def test_parameters_loaded_from_a_file_warn_about_old_checkpoints():
    source = program() + "\n\ndef restore(path):\n    Net().load_state_dict(torch.load(path))\n"
    migration = migrate_source(source, Options(state="tuple"))
    assert migration.changed
    warned = [f for f in migration.findings if f.code == "G2L203"]
    assert len(warned) == 1 and warned[0].severity == "warning" and "checkpoint" in warned[0].message


def test_parameters_copied_from_the_program_give_no_warning():
    source = program() + "\n\ndef sync():\n    Net().load_state_dict(Net().state_dict())\n"
    assert "G2L203" not in codes(source)


@pytest.mark.parametrize("source", [
    # a subclass: the LSTM's forward() would get the tensor the subclass passes on
    '''\
class Core(nn.GRU):
    def forward(self, x, h=None):
        return super().forward(x, h)
''',
    "RNN = nn.GRU\n",  # an alias: what it makes is not followed
    'CORES = {"gru": nn.GRU, "rnn": nn.RNN}\n',
])
def test_the_gru_class_held_as_a_value_is_refused(source):
    source = "import torch\nimport torch.nn as nn\n\n" + source + textwrap.dedent('''
        plain = nn.GRU(4, 8)
        h = torch.zeros(1, 1, 8)
        for t in range(3):
            _, h = plain(torch.randn(1, 1, 4), h)
    ''')
    migration = migrate_source(source, Options(state="tuple"))
    assert not migration.changed
    assert any(f.code == "G2L101" and f.message.startswith("the class `nn.GRU` is") for f in migration.findings)


def test_the_gru_class_tested_or_annotated_is_migrated():
    source = textwrap.dedent('''\
        import torch
        import torch.nn as nn

        plain: nn.GRU = nn.GRU(4, 8)
        ok = isinstance(plain, (nn.GRU, nn.GRUCell)) and type(plain) is nn.GRU
        h = torch.zeros(1, 1, 8)
        for t in range(3):
            _, h = plain(torch.randn(1, 1, 4), h)
    ''')
    migration = migrate_source(source, Options(state="tuple"))
    assert [f.code for f in migration.findings if f.severity == "error"] == []
    assert "isinstance(plain, (nn.LSTM, nn.LSTMCell)) and type(plain) is nn.LSTM" in migration.source


def test_old_checkpoints_are_warned_of_only_where_the_module_holds_the_gru():
    # An optimiser, or a module without a GRU, loads what it always loaded (planet had five
    # warnings, four of them on such loads); `self.load_state_dict` in the GRU's class is one.
    source = program() + (
        "\n\nclass Head(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(2, 2)\n"
        "\n\ndef restore(path, opt):\n    Head().load_state_dict(torch.load(path))\n    opt.load_state_dict(torch.load(path))\n"
    )
    assert "G2L203" not in codes(source)
    own = program().replace("    def forward(", "    def restore(self, path):\n        self.load_state_dict(torch.load(path))\n\n    def forward(", 1)
    assert own != program() and codes(own).count("G2L203") == 1
