"""A migration leaves no reference cycle that holds its trees: they are freed by reference counting
as soon as the migration returns, not when the cyclic collector next walks every object (which,
after a big module, costs a tenth of the run: gc_pause.py)."""

from __future__ import annotations

import gc

import libcst as cst

from conftest import FIXTURES
from gru2lstm.migrate import migrate_source


def test_no_tree_is_left_to_the_cyclic_collector():
    source = (FIXTURES / "dual_head_ppo" / "input.py").read_text()
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        migration = migrate_source(source)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, cst.CSTNode) or type(o).__module__.startswith("gru2lstm")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    assert migration.changed
    assert left == [], f"{len(left)} objects of the migration were only reachable through cycles, e.g. {type(left[0]).__name__}"
