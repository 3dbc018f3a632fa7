"""A state, or a view of one, changed in place by a function rather than a method or an operator
(`nn.init.zeros_(row)`, `torch.mul(h, m, out=h)`, `F.relu(h, inplace=True)`, `row.data.zero_()`):
the state itself is changed on each half (both halves as the GRU changed its one state), a name
bound to a view of it is refused as wave 12 refused `row *= m`, and a state written over through
`out=` is refused (exit 0 before, each a reset or a clamp that reached h alone, or wrote c into h)."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write

# At the recurrent call after `arm(kind)`, every tensor of the state handed in must obey the change.
PROBE = """\
    import torch
    import torch.nn as nn

    pending, checked, problems = [], [], []
    OK = {"zero": lambda t: bool((t == 0).all()), "nonneg": lambda t: bool((t >= 0).all())}


    def arm(kind):
        pending.append(kind)


    def pre(module, args):
        if pending:
            kind = pending.pop()
            state = args[1] if isinstance(args[1], tuple) else (args[1],)
            problems.extend(i for i, t in enumerate(state) if not OK[kind](t))
            checked.append(kind)


    for kind in (nn.LSTM, nn.GRU):
        original = kind.__init__

        def init(self, *args, original=original, **kwargs):
            original(self, *args, **kwargs)
            self.register_forward_pre_hook(pre)

        kind.__init__ = init
"""

STATE = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import probe


    def main():
        net = nn.GRU(5, 8)
        head = nn.Linear(8, 2)
        h = torch.zeros(1, 2, 8)
        for t in range(5):
            if t == 3:
                with torch.no_grad():
                    CHANGE
                probe.arm("KIND")
            out, h = net(torch.randn(1, 2, 5), h)
            h = h.detach()
        head(out).sum().backward()
"""

CHANGES = [
    ("nn.init.zeros_(h)", "zero"),
    ("torch.nn.init.constant_(h, 0.0)", "zero"),
    ("torch.zero_(h)", "zero"),
    ("h.data.zero_()", "zero"),
    ("h.detach().mul_(0.0)", "zero"),
    ("F.relu(h, inplace=True)", "nonneg"),
]


@pytest.mark.parametrize("form", ["tuple", "packed"])
@pytest.mark.parametrize("change, kind", CHANGES)
def test_the_state_changed_in_place_by_a_function_is_changed_on_both_halves(tmp_path, form, change, kind):
    # `F.relu(h, inplace=True)` read h as features before (the output check then refused it, exit 123)
    write(tmp_path, {"pyproject.toml": "", "probe.py": PROBE, "main.py": STATE.replace("CHANGE", change).replace("KIND", kind)})
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 0
    run_migrated(tmp_path, "import main, probe\nmain.main()\nassert probe.checked and not probe.problems, probe.problems")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_state_written_over_through_out_is_refused(tmp_path, capsys, form):
    # the tuple form wrote `(torch.mul(h[0], m, out=h[0]), torch.mul(h[1], m, out=h[0]))`: c's result
    # into h, c left as it was (exit 0); the packed one `out=h.chunk(2, dim=-1)[0]`
    write(tmp_path, {"pyproject.toml": "", "probe.py": PROBE, "main.py": STATE.replace("CHANGE", "torch.mul(h, torch.zeros(1, 2, 1), out=h)")})
    assert main(["rewrite", "--check", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        "main.py:14:56: G2L100 the hidden state `h` is given as `out=` to `torch.mul()`, which writes its result over "
        "it; the engine does not write each half's result into its own half; migrate this use by hand so that it "
        "handles the pair (h, c)"
    ) in capsys.readouterr().out


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_stored_state_written_through_out_is_refused(tmp_path, capsys, form):
    # `torch.add(new, 0.0, out=buf[t + 1])` stores the new state as `buf[t + 1].copy_(new)` would
    files = {"pyproject.toml": "", "main.py": VIEW.replace("buf[t + 1].copy_(new)", "torch.add(new, 0.0, out=buf[t + 1])").replace(
        "row = buf[t]\n                    CHANGE", "pass")}
    write(tmp_path, files)
    assert main(["rewrite", "--check", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        "main.py:16:37: G2L100 the hidden state `buf[t + 1]` is given as `out=` to `torch.add()`, which writes its "
        "result over it; the engine does not write each half's result into its own half"
    ) in capsys.readouterr().out


VIEW = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import util


    def main():
        net = nn.GRU(5, 8)
        head = nn.Linear(8, 2)
        buf = torch.zeros(6, 1, 2, 8)
        with torch.no_grad():
            for t in range(5):
                if t == 3:
                    row = buf[t]
                    CHANGE
                out, new = net(torch.randn(1, 2, 5), buf[t])
                buf[t + 1].copy_(new)
        out, _ = net(torch.randn(1, 2, 5), buf[5])
        head(out).sum().backward()
"""
UTIL = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    def reset(row):
        CHANGE
"""

VIEW_CHANGES = [
    "nn.init.zeros_(row)",
    "torch.nn.init.constant_(row, 0.0)",
    "torch.mul(row, torch.zeros(1, 2, 1), out=row)",
    "torch.add(new, 1.0, out=row)",
    "F.relu(row, inplace=True)",
    "torch.clamp_(row, -0.01, 0.01)",
    "torch.zero_(row)",
    "row.data.zero_()",
    "row.data.mul_(0.0)",
    "row.detach().zero_()",
]


@pytest.mark.parametrize("change", VIEW_CHANGES)
@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_view_of_a_stored_state_changed_by_a_function_is_refused(tmp_path, capsys, form, change):
    # `row = buf[t]` shares the buffer's storage; read as features it is h alone, so the change
    # left c as it was (exit 0 before, in both forms)
    write(tmp_path, {"pyproject.toml": "", "main.py": VIEW.replace("CHANGE", change), "util.py": UTIL.replace("CHANGE", "pass")})
    before = (tmp_path / "main.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        f"main.py:15:17: G2L100 `{change}` changes in place `row`, which line 14 binds to a view of the hidden state; "
        "with the LSTM that name reads h alone, so c would not change with it"
    ) in capsys.readouterr().out
    assert (tmp_path / "main.py").read_text() == before


@pytest.mark.parametrize("change", ["nn.init.zeros_(row)", "torch.mul(row, 0.0, out=row)", "row.data.zero_()"])
def test_a_stored_row_given_to_a_function_of_another_file_that_changes_it_is_refused(tmp_path, capsys, change):
    files = {
        "pyproject.toml": "",
        "main.py": VIEW.replace("row = buf[t]\n                    CHANGE", "util.reset(buf[t])"),
        "util.py": UTIL.replace("CHANGE", change),
    }
    write(tmp_path, files)
    assert main(["rewrite", "--check", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        f"util.py:7:5: G2L100 `{change}` changes in place `row`, which the call at line 14 binds to a view of the "
        "hidden state"
    ) in capsys.readouterr().out


# ---------------------------------------------------------------- packed: a mask drawn at random in the state's shape
ZONEOUT = """\
    import torch
    import torch.nn as nn


    def main():
        net = nn.GRU(5, 8)
        head = nn.Linear(8, 2)
        h = torch.zeros(1, 2, 8)
        for t in range(5):
            out, h = net(torch.randn(1, 2, 5), h)
            keep = torch.bernoulli(torch.full_like(h, 0.5))
            h = MASKED
        head(out).sum().backward()
"""
# every LSTM call must get h and c zeroed at the same units: one draw for both halves
SAME_UNITS = """\
    import torch.nn as nn

    pairs = []


    def pre(module, args):
        if isinstance(args[1], tuple):
            h, c = args[1]
            pairs.append(bool(((h == 0) == (c == 0)).all()))


    original = nn.LSTM.__init__


    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.register_forward_pre_hook(pre)


    nn.LSTM.__init__ = init
"""


@pytest.mark.parametrize("masked, column", [("h * keep", 13), ("h.masked_fill(keep == 0, 0.0)", 13)])
def test_a_mask_drawn_at_random_in_the_state_shape_is_refused_packed_and_shared_by_the_halves_in_the_tuple_form(tmp_path, capsys, masked, column):
    # packed, `torch.full_like(h, p)` is as wide as h and c side by side: each half got its own draws
    # (exit 0), where the tuple form draws like h[0] once and masks both halves with it
    write(tmp_path, {"pyproject.toml": "", "main.py": ZONEOUT.replace("MASKED", masked), "same_units.py": SAME_UNITS})
    assert main(["rewrite", "--check", "--quiet", "--state", "packed", str(tmp_path)]) == 1
    assert (
        f"main.py:12:{column}: G2L100 `{masked}` combines the hidden state with `{'keep' if '*' in masked else 'keep == 0'}`, drawn at "
        "random (`torch.bernoulli(torch.full_like(h, 0.5))`) in the state's shape; in the packed form that shape is h and c "
        "side by side, so h and c would get different draws where the tuple form gives both the same"
    ) in capsys.readouterr().out
    assert main(["rewrite", "--quiet", "--state", "auto", str(tmp_path)]) == 0  # auto falls back to the tuple form
    run_migrated(tmp_path, "import same_units, main\nmain.main()\nassert len(same_units.pairs) == 5 and all(same_units.pairs)")


@pytest.mark.parametrize("form, finding", [
    ("packed", "`h + torch.randn_like(h)` combines the hidden state with `torch.randn_like(h)`, drawn at random"),
])
def test_noise_drawn_in_the_state_shape_inside_the_update_is_refused_packed(tmp_path, capsys, form, finding):
    # the packed form kept it, and gave h and c their own draws all the same (exit 0); the tuple
    # form now draws it per half on purpose (test_completed_refusals9)
    write(tmp_path, {"pyproject.toml": "", "main.py": ZONEOUT.replace("MASKED", "h + torch.randn_like(h)")})
    assert main(["rewrite", "--check", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert finding in capsys.readouterr().out


# ---------------------------------------------------------------- packed: operands whose width was trusted
OPERANDS = """\
    import torch
    import torch.nn as nn
    from helper import weights


    def main():
        net = nn.GRU(5, 8)
        head = nn.Linear(8, 2)
        h = torch.zeros(1, 2, 8)
        h0 = torch.zeros(1, 2, 8)
        MADE
        for t in range(4):
            out, h = net(torch.randn(1, 2, 5), h)
            with torch.no_grad():
                UPDATE
        head(out).sum().backward()
"""
HELPER = """\
    import numpy as np
    import torch


    def weights():
        return torch.as_tensor(np.full(8, 0.5), dtype=torch.float32)
"""


@pytest.mark.parametrize("made, update, finding", [
    ("w = torch.full((8,), 0.5)", "h = h.lerp(h0, w)", "`h.lerp(h0, w)` combines the hidden state with `w`, an allocation of the hidden size `8`"),
    ("w = torch.full((8,), 0.5)", "h = torch.lerp(h, h0, w)", "`torch.lerp(h, h0, w)` combines the hidden state with `w`, an allocation of the hidden size `8`"),
    ("a = torch.full((8,), 0.5)", "h = torch.addcmul(h, a, a, value=0.1)", "`torch.addcmul(h, a, a, value=0.1)` combines the hidden state with `a`, an allocation of the hidden size `8`"),
    ("f = lambda: torch.full((8,), 0.5)", "h = h * f()", "`h * f()` combines the hidden state with `f()`, a call the engine does not follow, so it cannot tell how wide it is"),
    ("w = weights()", "h = h * w", "`h * w` combines the hidden state with `w`, made by `weights()`, a call the engine does not follow, so it cannot tell how wide it is"),
])
def test_an_operand_of_unknown_or_hidden_width_is_refused_packed_and_runs_in_the_tuple_form(tmp_path, capsys, made, update, finding):
    # each exited 0 packed, then the first step failed on a size (16 against 8): the weight of a
    # lerp and the tensors of an addcmul were not checked, and a call not followed was trusted
    write(tmp_path, {"pyproject.toml": "", "helper.py": HELPER, "main.py": OPERANDS.replace("MADE", made).replace("UPDATE", update)})
    assert main(["rewrite", "--check", "--quiet", "--state", "packed", str(tmp_path / "main.py")]) == 1
    assert f"main.py:15:17: G2L100 {finding}; in the packed form the state is h and c side by side, twice as wide" in capsys.readouterr().out
    # a lambda that only computes is called once per half (session 33, test_completed_refusals9)
    assert main(["rewrite", "--quiet", "--state", "auto", str(tmp_path)]) == 0  # auto falls back to the tuple form
    run_migrated(tmp_path, "import main\nmain.main()")
