"""Which given files spell which module names: the grouping's first, cheap test, for many at once.

project.py keeps, as an importer of a module, only a file whose bytes hold the module's last
name (an import spells it). Searched file by file, that is a search of every file for every
module of the frontier: with hundreds of GRU files, ≈ 90,000 searches before the first group can
start. Here every file is scanned once: its identifier runs (maximal runs of letters, digits,
`_` and non-ASCII bytes), each distinct run cut into the pieces as long as a wanted name. A name
made only of such bytes occurs in a file exactly when it occurs inside one of its runs, so the
answer is the substring search's; any other name is searched as before.
"""

from __future__ import annotations

import re

_RUN = re.compile(rb"[A-Za-z0-9_\x80-\xff]+")
_LONG_RUN = 256  # longer runs (a data blob) are searched for each name instead of cut in pieces


class Spellings:
    """For a set of names: the files (by key) whose bytes contain each."""

    def __init__(self, files: list, names: set) -> None:
        """`files`: project.py's _File entries (their `key` and `contents()`)."""
        self.indexed = {name for name in names if _RUN.fullmatch(name)}
        lengths = sorted({len(name) for name in self.indexed})
        self.holders: dict = {}  # name -> keys of the files that contain it
        in_run: dict = {}  # distinct run -> the indexed names inside it
        for entry in files:
            found: set = set()
            for run in set(_RUN.findall(entry.contents() or b"")):
                if run not in in_run:
                    in_run[run] = self._inside(run, lengths)
                found |= in_run[run]
            for name in found:
                self.holders.setdefault(name, set()).add(entry.key)

    def _inside(self, run: bytes, lengths: list) -> set:
        if len(run) > _LONG_RUN:
            return {name for name in self.indexed if name in run}
        pieces = {run[start : start + length] for length in lengths for start in range(len(run) - length + 1)}
        return pieces & self.indexed

    def spells(self, entry, name: bytes) -> bool:
        """Does the file's content contain `name`?"""
        if name in self.indexed:
            return entry.key in self.holders.get(name, ())
        return name in (entry.contents() or b"")
