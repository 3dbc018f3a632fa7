"""Work computed ahead by a forked child while this process goes on with other work: the child
shares everything the parent held when it forked (a tree, and so every node's `id`; a list of
paths), and sends its result back by a pipe, marshalled. Used for a big module's positions
(positions.py) and for half of a big tree's screening (engine.py). Anything wrong with the child
(it could not start, died, sent nothing): the caller computes the work itself, as without one.

Only where a core is spare: on Linux (fork), with more than one core, and not in a worker of a
pool, which keeps the cores busy already.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import signal
import sys
import weakref
from typing import Any, Callable, Optional

__all__ = ["computed_ahead", "spare_core"]


def spare_core() -> bool:
    return sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1 and multiprocessing.parent_process() is None


def computed_ahead(compute: Callable[[], Any]) -> Optional[Callable[[], Optional[Any]]]:
    """A function that gives what `compute()` returns (something `marshal` can send: plain
    numbers, strings, tuples, lists, dicts), computed from now on by a forked child; it gives None
    when the child failed. None when no child could start."""
    try:
        reader, writer = os.pipe()
        child = os.fork()
    except OSError:
        return None
    if child == 0:  # the child: compute, send, and leave without any of the parent's cleanup
        status = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the parent's to handle
            os.close(reader)
            with os.fdopen(writer, "wb") as parent:
                parent.write(marshal.dumps(compute()))
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    return _Child(child, reader).result


class _Child:
    """A child computing a result: read once, reaped once (also when nobody asks: the read end is
    closed when the caller drops it, or at exit, so the child stops)."""

    def __init__(self, pid: int, reader: int) -> None:
        self.pid, self.reader = pid, reader
        self._finalizer = weakref.finalize(self, _reap, pid, reader)

    def result(self) -> Optional[Any]:
        self._finalizer.detach()
        with os.fdopen(self.reader, "rb") as child:
            data = child.read()
        _, status = os.waitpid(self.pid, 0)
        try:
            return marshal.loads(data) if status == 0 and data else None
        except (EOFError, ValueError, TypeError):
            return None


def _reap(pid: int, reader: int) -> None:
    # Killed rather than left to fail on the closed pipe: a child forked later holds a copy of this
    # read end, so a child whose result fills the pipe would wait to write for ever, and we for it.
    os.close(reader)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
