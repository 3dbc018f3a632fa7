"""The interface check: the rewrite keeps the original's public methods and signatures, acts
validly and trains with finite losses where the original does, returns (h, c) from the public
methods that carry the state where the original returns h, and gives its recurrent module a zero
(h, c) exactly where the original's GRU got a zero h. (Not to be confused with verify/interface.py,
which is how the harness drives a model.)"""

from __future__ import annotations

import inspect
from typing import Any, Optional

import torch
from torch import nn

from gru2lstm.verify.checks.common import shape_text
from gru2lstm.verify.harness import Trace, loss_is_finite
from gru2lstm.verify.paths import element
from gru2lstm.verify.recorder import all_zero
from gru2lstm.verify.results import CheckResult


def _public_methods(cls: Any) -> dict:
    """{name: signature} of public callables the class adds over nn.Module (or overrides)."""
    methods = {}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        value = inspect.getattr_static(cls, name, None)
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if not callable(value) or isinstance(value, type):
            continue
        base = inspect.getattr_static(nn.Module, name, None)
        if base is not None and base is value:
            continue
        try:
            methods[name] = inspect.signature(value)
        except (TypeError, ValueError):
            methods[name] = None
    return methods


def _describe_signature(sig: Optional[inspect.Signature]) -> str:
    if sig is None:
        return "(?)"
    parts = []
    for p in sig.parameters.values():
        text = p.name
        if p.kind is p.VAR_POSITIONAL:
            text = "*" + text
        elif p.kind is p.VAR_KEYWORD:
            text = "**" + text
        if p.default is not p.empty:
            text += f"={p.default!r}"
        parts.append(text)
    return "(" + ", ".join(parts) + ")"


def _same_signature(a: Optional[inspect.Signature], b: Optional[inspect.Signature]) -> bool:
    if a is None or b is None:
        return a is None and b is None
    pa, pb = list(a.parameters.values()), list(b.parameters.values())
    if len(pa) != len(pb):
        return False
    for x, y in zip(pa, pb):
        if x.name != y.name or x.kind != y.kind:
            return False
        if (x.default is x.empty) != (y.default is y.empty):
            return False
        if x.default is not x.empty and repr(x.default) != repr(y.default):
            return False
    return True

def check_interface(original_cls: Any, rewritten_cls: Any, original: Trace, rewrite: Trace) -> CheckResult:
    details: list = []
    problems: list = []

    # public methods and signatures (annotations may change; names, kinds and defaults may not)
    before, after = _public_methods(original_cls), _public_methods(rewritten_cls)
    missing = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    if missing:
        problems.append(f"public methods missing in the rewrite: {', '.join(missing)}")
    if added:
        problems.append(f"public methods added by the rewrite: {', '.join(added)}")
    for name in sorted(set(before) & set(after)):
        if not _same_signature(before[name], after[name]):
            problems.append(f"{name}{_describe_signature(after[name])} differs from the original's {name}{_describe_signature(before[name])}")

    if not rewrite.ok:
        problems.append(rewrite.error)
        return CheckResult("interface", False, problems[0] if len(problems) == 1 else "; ".join(problems), details)

    # actions
    if len(rewrite.actions) != len(original.actions):
        problems.append(f"{len(rewrite.actions)} actions taken, the original took {len(original.actions)}")
    bad_actions, shared_actions = [], 0
    for i, action in enumerate(rewrite.actions):
        original_action = original.actions[i] if i < len(original.actions) else None
        reason = _invalid_action(action, original_action, rewrite.action_space)
        if reason and original_action is not None and _invalid_action(original_action, None, original.action_space):
            shared_actions += 1  # the original's action is invalid too: not the rewrite's failure
        elif reason:
            bad_actions.append(f"act #{i}: {reason}")
    if bad_actions:
        problems.append(f"{len(bad_actions)} invalid actions (first: {bad_actions[0]})")
    details.append(f"{len(rewrite.actions) - shared_actions} actions valid" + (f" in [0, {rewrite.action_space})" if rewrite.action_space else "")
                   + (f"; {shared_actions} invalid as the original's" if shared_actions else ""))

    # losses: a non-finite loss is the rewrite's failure only where the original's is finite
    bad_losses, shared_losses = [], 0
    for i, loss in enumerate(rewrite.losses):
        if loss_is_finite(loss):
            continue
        if i < len(original.losses) and not loss_is_finite(original.losses[i]):
            shared_losses += 1
        else:
            bad_losses.append((i, loss))
    if bad_losses:
        i, loss = bad_losses[0]
        theirs = f" (the original's: {original.losses[i]!r})" if i < len(original.losses) else ""
        problems.append(f"train #{i} returned a non-finite loss {loss!r}{theirs}")
    if shared_losses:
        details.append(f"{shared_losses} non-finite losses, as the original's at the same train calls")
    trained = sum(rewrite.trained)
    if rewrite.loop and trained:
        trained = max(1, len(rewrite.losses))  # a loop driver returns one loss per training
    if trained == 0:
        problems.append("training never ran the recurrent module with gradients")
    else:
        shown = [l for l, t in zip(rewrite.losses, rewrite.trained) if t] if not rewrite.loop else rewrite.losses
        details.append(f"{trained} of {len(rewrite.trained)} train calls trained; losses: "
                       + ", ".join(f"{l:.4g}" if isinstance(l, float) else repr(l) for l in shown[:8]) + (" ..." if len(shown) > 8 else ""))

    # public methods that take or return the state, called without and with one
    path_problems, path_details = _path_problems(original, rewrite)
    problems.extend(path_problems)
    details.extend(path_details)

    # resets: a zero (h, c) exactly where the original got a zero h, call by call, row by row
    reset_problems, resets_seen = _reset_problems(original, rewrite, problems)
    if reset_problems:
        problems.append(f"{len(reset_problems)} acting rows with a wrongly reset state; first: {reset_problems[0]}")
    else:
        details.append(f"(h, c) zero at exactly the {resets_seen} acting rows where the original's h is zero (resets, episode ends)")

    if problems:
        return CheckResult("interface", False, problems[0] if len(problems) == 1 else "; ".join(problems[:3]), details + problems[3:])
    signatures = len(set(before) & set(after))
    losses = "losses as the original's" if shared_losses else "finite loss"
    return CheckResult(
        "interface", True,
        f"{signatures} public methods with the original's signatures; {len(rewrite.actions) - shared_actions} valid actions; "
        f"{trained} trainings with {losses}; resets clear (h, c)",
        details,
    )


def _reset_problems(original: Trace, rewrite: Trace, problems: list) -> tuple:
    found, seen = [], 0
    n = min(len(original.act_calls), len(rewrite.act_calls))
    if len(original.act_calls) != len(rewrite.act_calls):
        problems.append(f"{len(rewrite.act_calls)} acting calls of the recurrent module, the original made {len(original.act_calls)}")
    for i in range(n):
        o_calls, r_calls = original.act_calls[i], rewrite.act_calls[i]
        if len(o_calls) != len(r_calls):
            problems.append(f"act #{i} called the recurrent modules {len(r_calls)} times, the original {len(o_calls)} times")
            continue
        event = rewrite.after_reset[i] if i < len(rewrite.after_reset) else None
        what = {"epoch": "after the epoch reset", "episode": "after an episode end"}.get(event, "mid-episode")
        if rewrite.loop:
            what = "acting call"
        for o_call, r_call in zip(o_calls, r_calls):
            o_rows, r_rows = o_call.rows(), r_call.rows()
            if len(o_rows) != len(r_rows):
                continue
            for b, ((_, o_h, _), (_, r_h, r_c)) in enumerate(zip(o_rows, r_rows)):
                o_zero = all_zero(o_h)
                h_zero = all_zero(r_h)
                c_zero = all_zero(r_c) if r_c is not None else h_zero
                where = f"act #{i} ({what}, {r_call.module}" + (f", row {b})" if len(r_rows) > 1 else ")") + r_call.at
                if o_zero:
                    seen += 1
                    if not h_zero or not c_zero:
                        half = "h and c" if not h_zero and not c_zero else ("h" if not h_zero else "c")
                        found.append(f"{where}: the original's state is zero but the rewrite's {half} is not (not reset)")
                elif h_zero or (c_zero and event is None):
                    # (right after a reset, a zero c beside a learned non-zero initial h is allowed)
                    half = "h and c" if h_zero and c_zero else ("h" if h_zero else "c")
                    found.append(f"{where}: the rewrite's {half} is zero where the original's state is not (state lost)")
    return found, seen


def _path_problems(original: Trace, rewrite: Trace) -> tuple:
    """(problems, details) for the public methods that take or return the state (see paths.py),
    judged against the same calls of the original: where the original's call raises, it is not judged."""
    problems, details = [], []
    mine = {(p.method, p.with_state): p for p in rewrite.paths}
    for theirs in original.paths:
        call = mine.get((theirs.method, theirs.with_state))
        if theirs.error is not None:
            details.append(f"{theirs.label} not judged: the original's raises {theirs.error}")
            continue
        if call is None:
            first = mine.get((theirs.method, False))
            why = f"raised {first.error}" if first is not None and first.error else "returned no state"
            problems.append(f"{theirs.label}: not called on the rewrite, whose {first.label if first else theirs.method} {why}")
            continue
        if call.error is not None:
            problems.append(f"{call.label} raised {call.error} (the original's does not)")
            continue
        if theirs.position is None:
            continue  # the original's call returns no state: nothing to judge
        problem = _pair_problem(element(call, theirs.position), element(theirs, theirs.position))
        where = f"{call.label} returns" + (f" at [{theirs.position[0]}]" if theirs.position else "")
        if problem:
            problems.append(f"{where} {problem}")
        else:
            details.append(f"{where} (h, c) with the module's shape, as the original returns h")
    return problems, details


def _pair_problem(value: Any, h: Any) -> Optional[str]:
    """Why `value` is not the LSTM form of the GRU state `h`: a pair of h's shape, or packed (…, 2·H)."""
    if not isinstance(h, torch.Tensor):
        return None  # the original returns a pair itself (an LSTM already): nothing migrated here
    expected = tuple(h.shape)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, torch.Tensor) for v in value):
        shapes = tuple(tuple(v.shape) for v in value)
        return None if shapes == (expected, expected) else f"a pair of {shapes[0]} and {shapes[1]}; expected {expected} each"
    if isinstance(value, torch.Tensor):
        if tuple(value.shape) == expected[:-1] + (2 * expected[-1],):
            return None  # packed: (h, c) along the last dimension
        return f"a single tensor {shape_text(value)}, not a pair (h, c) of {expected} each"
    return f"{type(value).__name__}, not a pair (h, c) of {expected} each"


def _invalid_action(action: Any, original: Any, action_space: Optional[int]) -> Optional[str]:
    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    if original is not None and type(action) is not type(original):
        return f"{action!r} is a {type(action).__name__}, the original's actions are {type(original).__name__}"
    if isinstance(action, tuple):
        if original is not None and isinstance(original, tuple) and len(action) != len(original):
            return f"{action!r} has {len(action)} elements, the original's {len(original)}"
        values = action
    else:
        values = (action,)
    for v in values:
        if isinstance(v, float) and v != v:
            return "NaN action"
        if action_space is not None:
            if not is_int(v):
                return f"{v!r} is not an integer action"
            if not 0 <= v < action_space:
                return f"{v} is outside [0, {action_space})"
    return None
