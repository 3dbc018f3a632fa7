"""Worker processes that only compute: each runs one function on the tasks it is sent and sends
the result back. They never write a file — the parent does every write — so a worker that
outlives the parent for a moment cannot leave anything behind.

Workers die with the parent, whatever kills it: on Linux the kernel sends them SIGKILL when the
parent dies (prctl PR_SET_PDEATHSIG); elsewhere a thread in each worker polls the parent's pid.
They ignore SIGINT: a Ctrl-C in a terminal reaches the whole process group, and only the parent
decides what it means (interrupts.py).

A pool may start with one worker and grow (`grow`): the engine starts one early in a big tree,
before it has imported LibCST itself, so that worker's `prepare` (the import) runs while the
parent goes on screening.

Start method, chosen on purpose rather than left to the platform's default: "fork" on Linux,
where the parent runs no thread when the workers start (and a worker forked after the parent
imported LibCST is ready at once); "spawn" elsewhere (fork is unsafe on macOS and absent on Windows). Not
"forkserver" (Python 3.14's default on Linux): its workers are children of the server, not of
the parent, so they would not see the parent die.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import AbstractSet, Any, Callable, Iterator, Optional

__all__ = ["DIED", "WorkerPool"]

START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_POLL_SECONDS = 0.5
DIED = "the worker process running this task died"  # the result of such a task


@dataclass(eq=False)  # compared by identity: a worker is a key of the busy table
class _Worker:
    process: Any  # multiprocessing.Process
    connection: Any  # the parent's end of the worker's pipe


class WorkerPool:
    """`count` worker processes running `function`; use as a context manager.

    Leaving the block normally stops the workers; leaving it by an exception (an interrupt,
    see interrupts.py) kills them at once, whatever they are computing.
    """

    def __init__(self, function: Callable, count: int, prepare: Optional[Callable] = None):
        """`prepare`: run once by each worker when it starts (picklable: a top-level function)."""
        self._function = function
        self._prepare = prepare
        self._context = multiprocessing.get_context(START_METHOD)
        self._workers = [self._start() for _ in range(count)]

    def grow(self, count: int) -> None:
        """Start workers until there are `count`."""
        while len(self._workers) < count:
            self._workers.append(self._start())

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, kind, error, trace) -> None:
        self.stop(kill=kind is not None)

    def results(self, tasks: dict, skipped: AbstractSet = frozenset()) -> Iterator[tuple]:
        """(key, result) for every task of `tasks` (key -> a tuple of arguments), in the order
        they finish; the result is DIED when the worker running the task died (it is replaced).
        A task whose key is in `skipped` when a worker is free for it is not run (the caller may
        add to it between results: a group another one took in)."""
        waiting = list(reversed(tasks.items()))
        idle = list(self._workers)  # the first started first: it is the one most likely ready (`grow`)
        busy: dict = {}  # _Worker -> key of its task
        while waiting or busy:
            while waiting and idle:
                key, arguments = waiting.pop()
                if key in skipped:
                    continue
                worker = idle.pop(0)
                worker.connection.send(arguments)
                busy[worker] = key
            ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy]))
            for worker in [w for w in busy if w.connection in ready or w.process.sentinel in ready]:
                key = busy.pop(worker)
                try:
                    result = worker.connection.recv()
                except (EOFError, OSError):  # readable because it closed: the worker died
                    result = DIED
                if result is DIED:
                    worker = self._replace(worker)
                idle.append(worker)
                yield key, result

    def stop(self, kill: bool = False) -> None:
        """End every worker: ask them to exit (or kill them), and wait until they have."""
        for worker in self._workers:
            if kill:
                worker.process.kill()
                continue
            try:
                worker.connection.send(None)
            except OSError:  # already gone
                pass
        for worker in self._workers:
            worker.process.join(timeout=None if kill else 1)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
        self._workers = []

    def _start(self) -> _Worker:
        here, there = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(there, self._function, self._prepare, os.getpid()), daemon=True)
        process.start()
        there.close()
        return _Worker(process, here)

    def _replace(self, dead: _Worker) -> _Worker:
        dead.process.join()
        dead.connection.close()
        worker = self._start()
        self._workers[self._workers.index(dead)] = worker
        return worker


def _serve(connection, function: Callable, prepare: Optional[Callable], parent: int) -> None:
    """A worker's life: run `function` on each tuple of arguments received, until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the parent's handler
    _die_with(parent)
    if prepare is not None:
        prepare()
    while True:
        try:
            arguments = connection.recv()
        except EOFError:  # the parent closed the pipe without a word
            return
        if arguments is None:
            return
        connection.send(function(*arguments))


def _die_with(parent: int) -> None:
    if not _kernel_kills_us_with_parent():
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the watch began
        os._exit(1)


def _kernel_kills_us_with_parent() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)
