"""SIGINT and SIGTERM during a run: stop at once, but never in the middle of a write.

While `Interrupts` is entered, either signal raises `Interrupted` in the main thread wherever it
is (migrating, or waiting for workers), except inside `Interrupts.writing()`: there the signal is
held until the block ends, so a write that has started finishes and none starts after it. The
run then stops the workers and says which files were written and which were not; the command
exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell does.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator, Optional

__all__ = ["Interrupted", "Interrupts"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The run stopped on a signal. A BaseException, as KeyboardInterrupt is, so that no
    ``except Exception`` that guards one file takes it for that file's failure."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.results: list = []  # the FileResult of every file finished before the signal
        self.unfinished: list = []  # the paths whose migration had not finished

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def explain(self) -> str:
        """What was and was not written, for stderr."""
        name = signal.Signals(self.signum).name
        written = [result.path for result in self.results if result.written]
        lines = [f"gru2lstm: interrupted by {name}; stopped before starting another write."]
        lines += [f"rewrote {path}" for path in written]
        lines += [f"not rewritten (interrupted): {path}" for path in self.unfinished]
        lines.append(
            f"files rewritten before the interrupt: {len(written)}; not migrated: {len(self.unfinished)}; "
            "every other file is as it was."
        )
        return "\n".join(lines) + "\n"


class Interrupts:
    """Turns SIGINT and SIGTERM into Interrupted while entered; restores the handlers on exit.

    Outside the main thread, where Python cannot set handlers, it does nothing.
    """

    def __init__(self) -> None:
        self._previous: dict = {}
        self._received: Optional[int] = None
        self._holding = False

    def __enter__(self) -> "Interrupts":
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._handle) for signum in SIGNALS}
        return self

    def __exit__(self, kind, error, trace) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous = {}

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold a signal that arrives in the block until the block ends; refuse to start after one."""
        if self._received is not None:
            raise Interrupted(self._received)
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        if self._received is not None:
            raise Interrupted(self._received)

    def _handle(self, signum: int, frame) -> None:
        if self._received is not None:  # already stopping: a second Ctrl-C must not cut the cleanup short
            return
        self._received = signum
        if not self._holding:
            raise Interrupted(signum)
