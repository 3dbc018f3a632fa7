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
