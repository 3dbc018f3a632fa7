"""Running a migrated one-file program in the test process: its source is executed and its
`run(steps)` called with a fixed seed (the tests that check a migration by what it computes)."""

from __future__ import annotations

import torch


def state_after(source: str, steps: int = 3):
    """What `run(steps)` of the program `source` returns."""
    namespace: dict = {}
    exec(compile(source, "<migrated>", "exec"), namespace)
    torch.manual_seed(0)
    return namespace["run"](steps)
