"""A progress line for long runs, on a terminal only: pipes and CI logs get nothing.

The per-file verdicts stay in the report at the end, in discovery order (results arrive from the
workers in any order, and tests and users rely on a stable order); meanwhile a terminal shows how
many of the files that may hold a GRU are done, on one line rewritten in place.
"""

from __future__ import annotations

from typing import Callable, Optional, TextIO

__all__ = ["terminal_progress"]

# Fewer files than this finish before a progress line would be read.
MIN_FILES = 8


def terminal_progress(stream: TextIO) -> Optional[Callable]:
    """A `progress(done, total)` callback for engine.run that writes to `stream`, or None when
    `stream` is not a terminal."""
    if not stream.isatty():
        return None

    def progress(done: int, total: int) -> None:
        if total < MIN_FILES:
            return
        # The cursor is left at the start of the line, so whatever stderr says next (the report,
        # or what an interrupt stopped) covers it; the line is erased when every file is done.
        stream.write("\033[K" if done == total else f"\033[Kgru2lstm: {done}/{total} files migrated\r")
        stream.flush()

    return progress
