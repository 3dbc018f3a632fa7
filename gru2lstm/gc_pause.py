"""The cyclic garbage collector paused for a stretch of work that makes many objects and few cycles.

Each collection walks every object that survived the last one. The `ast` and LibCST trees a run
builds hold no cycles (their memory goes back by reference counting), and what its imports
define lives as long as the process, yet each collection walked them all again: the prefilter
of a few hundred files was about three times slower, a group's migration and output check about
a tenth, the CLI's imports, discovery and callers-elsewhere walk noticeably. The collector is
paused per stretch, never for a whole run: a process that migrates one group after another must
still reclaim whatever cycles each leaves behind. A migration itself leaves none that hold its
trees (tests/test_no_cycles.py): they are freed by reference counting when it returns, so the
collection that follows a pause has little to walk.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
