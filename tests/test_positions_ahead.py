"""positions.positions_ahead (by ahead.computed_ahead): a forked child's spans are the ones computed in this process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

import gru2lstm.positions as positions
from gru2lstm import ahead

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "dual_head_ppo" / "input.py"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the child is forked on Linux only")
def test_a_child_computes_the_same_positions(monkeypatch):
    monkeypatch.setattr(positions, "AHEAD_STATEMENTS", 0)
    monkeypatch.setattr(ahead, "spare_core", lambda: True)
    module = cst.parse_module(FIXTURE.read_text())
    computed = positions.positions_ahead(module)
    assert computed().spans == positions.Positions(module).spans
    unasked = positions.positions_ahead(module)  # never asked: its child is stopped and reaped
    del unasked


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the child is forked on Linux only")
def test_a_child_never_asked_is_reaped_while_another_holds_its_pipe():
    # The second child inherits the first's read end; the first's spans fill the pipe. Reaping the
    # first (never asked) waited for ever for a child blocked on its write (`rewrite -j 1` hung).
    program = (
        "import libcst as cst, gru2lstm.positions as positions\nfrom gru2lstm import ahead\n"
        "positions.AHEAD_STATEMENTS = 0\n"
        "ahead.spare_core = lambda: True\n"
        f"module = cst.parse_module(open({str(FIXTURE)!r}).read())\n"
        "first = positions.positions_ahead(module)\n"
        "second = positions.positions_ahead(module)\n"
        "del first\n"
        "print(second().spans == positions.Positions(module).spans)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, "True\n"), done.stderr


def test_a_small_module_is_computed_here():
    module = cst.parse_module(FIXTURE.read_text())
    assert positions._statements(module) < positions.AHEAD_STATEMENTS
    assert positions.positions_ahead(module)().spans == positions.Positions(module).spans
