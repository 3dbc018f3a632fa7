"""Red team, wave 3b (our own small projects in the styles of recurrent SAC, resets, checkpoints
and models picked by name): what the engine got wrong there, each case migrated and run, or
refused with a finding that names the place."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched


def snapshot(folder: Path) -> dict:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*.py"))}


# ---------------------------------------------------------------- a policy imported by a computed name
POLICY = """\
    import torch
    import torch.nn as nn


    class Policy(nn.Module):
        def __init__(self, size=6):
            super().__init__()
            self.size = size
            self.core = nn.GRU(size, size)

        def blank(self, n):
            return torch.zeros(1, n, self.size)

        def forward(self, x, h):
            y, h = self.core(x, h)
            return y, h
"""

PICKED_BY_NAME = """\
    import importlib

    import torch


    def make(kind):
        module = importlib.import_module(f"policies.{kind}")
        return module.Policy()


    def play(kind, steps=3):
        policy = make(kind)
        h = policy.blank(2)
        for _ in range(steps):
            y, h = policy(torch.randn(1, 2, 6), h)
        return h
"""


def test_a_module_imported_by_a_computed_name_blocks_the_file_it_may_load(tmp_path, capsys):
    write(tmp_path, {"pyproject.toml": "", "policies/__init__.py": "", "policies/recurrent.py": POLICY, "play.py": PICKED_BY_NAME})
    before = snapshot(tmp_path)
    for given in ([tmp_path], [tmp_path / "policies" / "recurrent.py"]):
        assert main(["rewrite", *map(str, given)]) == 1
        assert snapshot(tmp_path) == before
        out = capsys.readouterr().out
        assert "recurrent.py:14:9: G2L101 `Policy.forward()` now takes or returns (h, c)" in out
        assert "play.py imports a module by a name computed at run time at line 7" in out
        assert "`importlib.import_module(f\"policies.{kind}\")`" in out


def test_a_computed_import_that_cannot_load_the_model_does_not_block_it(tmp_path):
    other = PICKED_BY_NAME.replace('f"policies.{kind}"', 'f"envs.{kind}"').replace("module.Policy()", "module.Env()")
    write(tmp_path, {"pyproject.toml": "", "policies/__init__.py": "", "policies/recurrent.py": POLICY,
                     "envs.py": other, "main.py": "from policies.recurrent import Policy\n\nPolicy()(__import__('torch').zeros(1, 1, 6), Policy().blank(1))\n"})
    assert main(["rewrite", "--quiet", str(tmp_path)]) == 0
    assert "nn.LSTM" in (tmp_path / "policies" / "recurrent.py").read_text()


# ---------------------------------------------------------------- resets written in the ways people write them
RESET_POLICY = """\
    import torch
    import torch.nn as nn


    class Seq(nn.Module):
        def __init__(self, size=5):
            super().__init__()
            self.size = size
            self.core = nn.GRU(3, size)

        def init_hidden(self, n):
            return torch.zeros(1, n, self.size)

        def forward(self, x, h):
            y, h = self.core(x.unsqueeze(0), h)
            return y.squeeze(0), h
"""

RESET_LOOP = """\
    import torch

    from seq import Seq


    def act(steps=6, envs=4):
        net = Seq()
        h = net.init_hidden(envs)
        for step in range(steps):
            y, h = net(torch.randn(envs, 3), h)
            done = torch.arange(envs) == step % envs
            idx = done.nonzero().squeeze(-1)
            if step % 2:
                h[:, idx] = net.init_hidden(len(idx))
            else:
                h[0, idx] = net.init_hidden(len(idx)).squeeze(0)
        return h
"""


def test_rows_reset_to_a_state_made_by_a_call_make_it_once_for_both_halves(tmp_path):
    write(tmp_path, {"seq.py": RESET_POLICY, "loop.py": RESET_LOOP})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    loop = (tmp_path / "loop.py").read_text()
    assert "h[0][:, idx], h[1][:, idx] = net.init_hidden(len(idx))" in loop
    assert "h[0][0, idx], h[1][0, idx] = tuple(half.squeeze(0) for half in net.init_hidden(len(idx)))" in loop
    run_migrated(tmp_path, "from loop import act\nact()\n")


# ---------------------------------------------------------------- a state restored by a library, packed form
RESTORED = """\
    import pickle

    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.core = nn.GRU(4, 8)

        def forward(self, x, h):
            y, h = self.core(x, h)
            return y, h


    def resume(path):
        net = Net()
        with open(path, "rb") as f:
            h = pickle.load(f)
        y, h = net(torch.randn(1, 1, 4), h)
        return h
"""


def test_a_packed_state_returned_by_a_library_function_is_a_finding(tmp_path, capsys):
    write(tmp_path, {"resume.py": RESTORED})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert (
        "resume.py:20:13: G2L101 the hidden state is read back from what `pickle.load(f)` loads, and nothing analysed saves a hidden state there"
        in capsys.readouterr().out
    )


# ---------------------------------------------------------------- a model picked from a table built by a comprehension
MODELS = """\
    import torch
    import torch.nn as nn


    class Recurrent(nn.Module):
        def __init__(self, size=6):
            super().__init__()
            self.size = size
            self.core = nn.GRU(size, size)

        def blank(self, n):
            return torch.zeros(1, n, self.size)

        def forward(self, x, h):
            y, h = self.core(x, h)
            return y, h


    class Flat(nn.Module):
        def __init__(self, size=6):
            super().__init__()
            self.body = nn.Linear(size, size)

        def blank(self, n):
            return None

        def forward(self, x, h):
            return self.body(x), h
"""

BY_TABLE = """\
    import torch

    from models import Flat, Recurrent

    TABLE = {cls.__name__: cls for cls in ITERATED}


    def play(name, steps=3):
        net = TABLE[name]()
        h = net.blank(2)
        for _ in range(steps):
            y, h = net(torch.randn(1, 2, 6), h)
            if h is not None:
                h = h.detach()
        return y
"""


def test_a_table_built_by_a_comprehension_over_a_literal_is_followed(tmp_path):
    write(tmp_path, {"models.py": MODELS, "play.py": BY_TABLE.replace("ITERATED", "[Recurrent, Flat]")})
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    assert "h = (h[0].detach(), h[1].detach())" in (tmp_path / "play.py").read_text()
    run_migrated(tmp_path, "from play import play\nplay('Recurrent')\nplay('Flat')\n")


def test_a_table_built_by_a_comprehension_over_a_name_is_a_finding(tmp_path, capsys):
    write(tmp_path, {"models.py": MODELS, "play.py": BY_TABLE.replace("ITERATED", "ALL").replace("TABLE =", "ALL = [Recurrent, Flat]\n    TABLE =")})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert "play.py:5:8: G2L101 `Recurrent` is used as a value here (a registry, a factory, a callback)" in capsys.readouterr().out


# ---------------------------------------------------------------- names reached by a string
BUFFERED = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.register_buffer("h", torch.zeros(1, 3, 8))

        def forward(self, x):
            out, h = self.gru(x, self.h)
            self.h = h.detach()
            return out
"""

BY_GLOBALS = """\
    import torch
    import torch.nn as nn


    class Rec(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)

        def forward(self, x, h):
            return self.gru(x, h)


    def run(name, steps=3):
        net = globals()[name]()
        h = torch.zeros(1, 2, 8)
        for _ in range(steps):
            out, h = net(torch.randn(1, 2, 4), h)
        return h
"""


def test_a_state_attribute_registered_as_a_buffer_is_a_finding_in_tuple_form(tmp_path, capsys):
    write(tmp_path, {"net.py": BUFFERED})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert (
        'net.py:9:9: G2L101 `self.register_buffer("h", torch.zeros(1, 3, 8))` registers `self.h`, which holds the hidden '
        "state, as a buffer or a parameter, which holds one tensor, never the pair (h, c)"
    ) in capsys.readouterr().out


def test_a_state_attribute_registered_as_a_buffer_migrates_packed(tmp_path):
    # a finding in both forms before session 29: the walk now binds `self.h` to what is registered
    write(tmp_path, {"net.py": BUFFERED, "pyproject.toml": ""})
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import torch, net\nm = net.Net()\nfor t in range(3):\n    out = m(torch.randn(1, 3, 4))\nout.sum().backward()")


def test_a_class_made_through_globals_is_a_finding(tmp_path, capsys):
    write(tmp_path, {"rec.py": BY_GLOBALS})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    assert "rec.py:15:11: G2L101 `globals()` looks names of this module up by a string, and `Rec.forward()` now takes or returns (h, c)" in capsys.readouterr().out


# ---------------------------------------------------------------- learned initial states and two states in one expression
LEARNED = """\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8)
            self.h0 = nn.Parameter(torch.zeros(1, 1, 8))

        def initial(self, n):
            return self.h0.expand(-1, n, -1).contiguous()

        def forward(self, x, h):
            return self.gru(x, h)


    def run(n=3):
        net = Net()
        h = net.initial(n)
        for _ in range(4):
            out, h = net(torch.randn(1, n, 4), h)
            fresh = net.initial(n)
            h = torch.where((torch.rand(n) < 0.4).view(1, -1, 1), fresh, h)
        return h
"""


def test_a_learned_initial_state_is_a_finding_in_the_tuple_form(tmp_path, capsys):
    # a pair of parameters in a tuple would be no parameters of the module: never trained
    write(tmp_path, {"net.py": LEARNED})
    before = snapshot(tmp_path)
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    assert snapshot(tmp_path) == before
    out = capsys.readouterr().out
    assert "net.py:9:19: G2L101 `self.h0` holds the hidden state, and here it is a learned initial state" in out
    assert "use --state packed" in out


def test_a_learned_initial_state_is_doubled_in_the_packed_form(tmp_path, capsys):
    # was G2L101 in both forms: the packed form learns h and c as one parameter of twice the size
    unpacked = LEARNED.replace("return self.gru(x, h)", "out, h = self.gru(x, h)\n            return out, h")
    write(tmp_path, {"net.py": unpacked})
    assert main(["rewrite", "--state", "packed", str(tmp_path)]) == 0
    migrated = (tmp_path / "net.py").read_text()
    assert "self.h0 = nn.Parameter(torch.zeros(1, 1, 2 * 8))" in migrated
    assert "return self.h0.expand(-1, n, -1).contiguous()" in migrated
    namespace: dict = {}
    exec(compile(migrated, "net.py", "exec"), namespace)
    torch.manual_seed(0)  # `run` resets some states at random: a seed where not all are reset at the end
    h = namespace["run"]()
    assert h.shape == (1, 3, 16) and h[..., 8:].abs().sum() > 0
    assert "h0" in dict(namespace["Net"]().named_parameters())


def test_an_expression_of_two_states_that_draws_its_mask_says_so(tmp_path, capsys):
    # Two states in one `torch.where` are written once per half (tests/test_per_half.py), but not
    # around a mask drawn inside it: each half would get its own draw.
    write(tmp_path, {"net.py": LEARNED.replace("nn.Parameter(torch.zeros(1, 1, 8))", "torch.zeros(1, 1, 8)")})
    assert main(["rewrite", "--state", "tuple", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "net.py:24:26: G2L100 `torch.rand(n)` draws random numbers, and `torch.where((torch.rand(n) < 0.4).view(1, -1, 1), fresh, h)` runs once per half" in out


@pytest.mark.parametrize("made, doubled", [
    ("nn.Parameter(data=torch.zeros(1, 1, 8), requires_grad=True)", "nn.Parameter(data=torch.zeros(1, 1, 2 * 8), requires_grad=True)"),
    ("nn.Parameter(torch.randn(1, 1, 8) * 0.1)", "nn.Parameter(torch.randn(1, 1, 2 * 8) * 0.1)"),
    ("nn.Parameter(*[torch.zeros(1, 1, 8)])", None),  # the tensor it wraps not seen: refused, never left the GRU's size
])
def test_a_learned_initial_state_spelled_otherwise_is_doubled_or_refused(tmp_path, made, doubled):
    unpacked = LEARNED.replace("return self.gru(x, h)", "out, h = self.gru(x, h)\n            return out, h")
    write(tmp_path, {"net.py": unpacked.replace("nn.Parameter(torch.zeros(1, 1, 8))", made)})
    before = snapshot(tmp_path)
    code = main(["rewrite", "--state", "packed", str(tmp_path)])
    if doubled is None:
        assert code == 1 and snapshot(tmp_path) == before
    else:
        assert code == 0 and f"self.h0 = {doubled}" in (tmp_path / "net.py").read_text()
