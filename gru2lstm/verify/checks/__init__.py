"""The named checks. Each takes what the harness recorded and returns a CheckResult with its reason.

This package re-exports the checks the runner calls; each check lives in its own module, and
what they share (the tolerance, shape text, timing) in common.py. What each one
proves is documented in docs/verify.md; in short:

- interface:   same public methods (names, parameters, defaults); every action valid and every
               loss finite where the original's are; training actually ran; public methods that
               carry the state return (h, c) where the original returns h; the recurrent module
               gets a zero (h, c) exactly where the original's GRU got a zero h.
- shapes:      (h, c) everywhere: at every call of the LSTM, in the live state, in stored entries
               (pairs, packed rows or separate h/c stores, detached), in training minibatches.
- replay:      each training sample's (h, c) equals the (h, c) it was acted with.
- equivalence: original and rewrite with identical non-recurrent weights and twin recurrent
               cores act, lose and update identically (compare_traces; the twin runs are in runner.py).
"""

from __future__ import annotations

from gru2lstm.verify.checks.common import TOLERANCE, timed
from gru2lstm.verify.checks.equivalence import compare_traces
from gru2lstm.verify.checks.interface import check_interface
from gru2lstm.verify.checks.replay import check_replay, replay_table
from gru2lstm.verify.checks.shapes import check_shapes

__all__ = [
    "TOLERANCE",
    "check_interface",
    "check_replay",
    "check_shapes",
    "compare_traces",
    "replay_table",
    "timed",
]
