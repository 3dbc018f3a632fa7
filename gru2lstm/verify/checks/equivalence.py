"""The comparison behind the equivalence check: two traces of the original and the rewrite, driven
with twin recurrent cores, took the same actions, reported the same losses (within TOLERANCE),
trained at the same calls and updated every non-recurrent parameter identically. The twin runs
themselves are made by runner.check_equivalence."""

from __future__ import annotations

from typing import Any

import torch

from gru2lstm.verify.checks.common import TOLERANCE
from gru2lstm.verify.harness import Trace


def compare_traces(original: Trace, rewrite: Trace) -> tuple:
    """(problem or None, details) comparing actions, losses and parameter updates."""
    details = []
    n = min(len(original.actions), len(rewrite.actions))
    for i in range(n):
        if original.actions[i] != rewrite.actions[i]:
            return f"act #{i}: the original chose {original.actions[i]!r}, the rewrite {rewrite.actions[i]!r}", details
    if len(original.actions) != len(rewrite.actions):
        return f"{len(rewrite.actions)} actions, the original {len(original.actions)}", details
    details.append(f"{n} identical actions")
    for k, (a, b) in enumerate(zip(original.losses, rewrite.losses)):
        if not _close(a, b):
            return f"train #{k}: loss {b!r}, the original's {a!r}", details
    if original.trained != rewrite.trained:
        return f"training ran at train calls {_where(rewrite.trained)}, the original's at {_where(original.trained)}", details
    details.append(f"{len(original.losses)} identical losses ({sum(original.trained) if not original.loop else len(original.losses)} from trainings)")
    for k, (before, after) in enumerate(zip(original.params, rewrite.params)):
        for name, value in before.items():
            other = after.get(name)
            if other is None:
                return f"parameter {name} missing in the rewrite", details
            if other.shape != value.shape or not torch.allclose(value, other, rtol=TOLERANCE, atol=1e-8):
                diff = float((value - other).abs().max()) if other.shape == value.shape else float("nan")
                return f"after train #{k}, {name} differs from the original's (max |diff| {diff:.3g})", details
    if original.params:
        details.append(f"{len(original.params[0])} non-recurrent parameters updated identically over {len(original.params)} train calls")
    return None, details


def _where(flags: list) -> str:
    return "[" + ", ".join(str(i) for i, f in enumerate(flags) if f) + "]"


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if a != a and b != b:
            return True
        return abs(a - b) <= TOLERANCE * max(1.0, abs(a))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return a == b
