"""Red team, wave 12 (our own small projects aimed at what session 27 landed: injected classes,
callbacks, augmented assignments, packed masks and dicts of states): what the engine got wrong
there, each case migrated and run, or refused with a finding that names the place."""

from __future__ import annotations

import pytest

from gru2lstm.cli import main
from test_redteam_packed import run_migrated, write  # the harness: write a project, run it with every LSTM watched

# ---------------------------------------------------------------- a name bound to a row of stored states, changed in place
STORED_ROWS = {
    "pyproject.toml": "",
    "main.py": """\
        import torch
        import torch.nn as nn


        def main():
            net = nn.GRU(5, 8)
            head = nn.Linear(8, 2)
            buf = torch.zeros(5, 1, 2, 8)
            with torch.no_grad():
                for t in range(4):
                    h = buf[t]
                    mask = torch.ones(1, 2, 1)
                    if t == 2:
                        mask[:, 0] = 0.0
                    h *= mask
                    out, h_new = net(torch.randn(1, 2, 5), buf[t])
                    buf[t + 1].copy_(h_new)
            return head(out)
    """,
}


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_an_in_place_change_of_a_name_bound_to_a_stored_row_is_refused(tmp_path, capsys, form):
    # `h = buf[t]` shares the buffer's storage, so `h *= mask` reset the state the GRU is given next;
    # the name read h alone after the migration (`h = buf[0][t]`, packed `buf.chunk(2, dim=-1)[0][t]`),
    # so the reset left c as it was: exit 0, and the LSTM got a reset h beside an old c.
    write(tmp_path, STORED_ROWS)
    before = (tmp_path / "main.py").read_text()
    assert main(["rewrite", "--quiet", "--state", form, str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        "main.py:15:13: G2L100 `h *= mask` changes in place `h`, which line 11 binds to a view of the hidden state; "
        "with the LSTM that name reads h alone, so c would not change with it (a reset would keep c); write the "
        "change where the state is held, or on both halves by hand"
    ) in out
    assert (tmp_path / "main.py").read_text() == before


@pytest.mark.parametrize("change", ["buf[t] *= mask", "h = buf[t].clone()\n                    h *= mask"])
def test_the_state_changed_where_it_is_held_or_a_copy_changed_migrates_and_runs(tmp_path, change):
    # the refusal above is kept to names that share the state's storage: the row changed itself is
    # changed on each half, and a copy changed in place is features of h
    files = dict(STORED_ROWS)
    files["main.py"] = files["main.py"].replace("                    h = buf[t]\n", "").replace("h *= mask", change)
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import main; main.main()")


@pytest.mark.parametrize("form", ["tuple", "packed"])
def test_a_stored_row_given_to_a_function_that_changes_it_in_place_is_refused(tmp_path, capsys, form):
    # `reset(buf[t], m)` with `def reset(row, m): row *= m`: the argument became `buf[0][t]`, so the
    # reset reached h alone (exit 0 before)
    files = dict(STORED_ROWS)
    files["main.py"] = (
        files["main.py"]
        .replace("        def main():", "        def reset(row, m):\n            row *= m\n\n\n        def main():")
        .replace("                    h = buf[t]\n", "")
        .replace("h *= mask", "reset(buf[t], mask)")
    )
    write(tmp_path, files)
    assert main(["rewrite", "--check", "--quiet", "--state", form, str(tmp_path)]) == 1
    assert (
        "main.py:6:5: G2L100 `row *= m` changes in place `row`, which the call at line 18 binds to a view of the "
        "hidden state;"
    ) in capsys.readouterr().out


# ---------------------------------------------------------------- stored states iterated by their rows
ROWS_ITERATED = {
    "pyproject.toml": "",
    "main.py": """\
        import torch
        import torch.nn as nn


        def main():
            net = nn.GRU(5, 8)
            buf = torch.zeros(4, 1, 2, 8)
            with torch.no_grad():
                for t in range(3):
                    out, h_new = net(torch.randn(1, 2, 5), buf[t])
                    buf[t + 1].copy_(h_new)
                for row in buf:
                    out, _ = net(torch.randn(1, 2, 5), row)
            return out
    """,
}


def test_a_state_iterated_by_its_rows_is_refused_in_the_tuple_form(tmp_path, capsys):
    # `for row in buf` over the pair (h, c) ran over its two halves: the LSTM got one tensor of
    # every step (exit 0 before, then a crash; `row *= 0.5` scaled two steps of h and of c)
    write(tmp_path, ROWS_ITERATED)
    assert main(["rewrite", "--check", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert (
        "main.py:12:20: G2L100 the hidden state `buf` is iterated by its rows; the LSTM's state is the pair (h, c), "
        "which a loop would run over by its two halves; use its rows by index (`for t in range(len(...))`) "
        "or use --state packed"
    ) in capsys.readouterr().out


def test_a_state_iterated_by_its_rows_migrates_packed_and_runs(tmp_path):
    write(tmp_path, ROWS_ITERATED)
    assert main(["rewrite", "--quiet", "--state", "packed", str(tmp_path)]) == 0
    run_migrated(tmp_path, "import main; main.main()")


def test_a_stored_row_given_to_a_function_of_another_file_is_followed_there_and_refused(tmp_path, capsys):
    # the row given to `util.reset` was read as features (`reset(buf[0][t], m)`, exit 0: the reset
    # reached h alone); the call now takes util.py into the group, where its change is refused
    files = dict(STORED_ROWS)
    files["util.py"] = "def reset(row, m):\n    row *= m\n"
    files["main.py"] = (
        files["main.py"]
        .replace("import torch.nn as nn\n", "import torch.nn as nn\n\n        from util import reset\n")
        .replace("                    h = buf[t]\n", "")
        .replace("h *= mask", "reset(buf[t], mask)")
    )
    write(tmp_path, files)
    assert main(["rewrite", "--quiet", "--state", "tuple", str(tmp_path)]) == 1
    assert "util.py:2:5: G2L100 `row *= m` changes in place `row`, which the call at line" in capsys.readouterr().out
    assert "buf[0]" not in (tmp_path / "main.py").read_text()
