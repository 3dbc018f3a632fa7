"""What the checks share: the tolerance of tensor comparisons, how a tensor's shape is written in a
reason, and timing a check. (The zero test of a state half, all_zero, is recorder.py's: the
harness uses it too.)"""

from __future__ import annotations

import time
from typing import Optional

import torch

from gru2lstm.verify.results import CheckResult

TOLERANCE = 1e-6


def shape_text(t: Optional[torch.Tensor]) -> str:
    return "None" if t is None else "(" + ", ".join(str(s) for s in t.shape) + ")"


def timed(function, *args, **kwargs) -> CheckResult:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    result.seconds = time.perf_counter() - start
    return result
