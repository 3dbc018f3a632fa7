"""The named checks. Each takes what the harness recorded and returns a CheckResult with its reason.

What each one proves is documented in docs/verify.md; in short:

- interface:   same public methods (names, parameters, defaults); every action valid and every
               loss finite where the original's are; training actually ran; public methods that
               carry the state return (h, c) where the original returns h; the recurrent module
               gets a zero (h, c) exactly where the original's GRU got a zero h.
- shapes:      (h, c) everywhere: at every call of the LSTM, in the live state, in stored entries
               (pairs, packed rows or separate h/c stores, detached), in training minibatches.
- replay:      each training sample's (h, c) equals the (h, c) it was acted with.
- equivalence: original and rewrite with identical non-recurrent weights and twin recurrent
               cores act, lose and update identically.
"""

from __future__ import annotations

import inspect
import time
from typing import Any, Optional

import torch
from torch import nn

from gru2lstm.verify.harness import Trace, loss_is_finite
from gru2lstm.verify.paths import element
from gru2lstm.verify.recorder import GRU_TYPES, LSTM_TYPES, Call, recurrent_modules
from gru2lstm.verify.results import CheckResult

TOLERANCE = 1e-6


# --------------------------------------------------------------------------- helpers
def _zero(t: Optional[torch.Tensor]) -> bool:
    if t is None or t.numel() == 0:
        return True
    return not bool(t.abs().max() > 0)


def _equal(a: Optional[torch.Tensor], b: Optional[torch.Tensor]) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a.shape != b.shape:
        return a.numel() == b.numel() and torch.allclose(a.reshape(-1), b.reshape(-1), rtol=0, atol=TOLERANCE)
    return bool(torch.allclose(a, b, rtol=0, atol=TOLERANCE))


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


def _first_call(calls: list) -> Optional[Call]:
    return calls[0] if calls else None


def _shape(t: Optional[torch.Tensor]) -> str:
    return "None" if t is None else "(" + ", ".join(str(s) for s in t.shape) + ")"


def _expected_state_shape(module: nn.Module, call: Call) -> tuple:
    if isinstance(module, nn.RNNCellBase):
        batched = call.x.dim() == 2
        return (call.x.shape[0], module.hidden_size) if batched else (module.hidden_size,)
    layers = module.num_layers * (2 if module.bidirectional else 1)
    hidden = getattr(module, "proj_size", 0) or module.hidden_size
    if call.x.dim() == 2:
        return (layers, hidden)
    return (layers, call.batch_size(), hidden)


def _expected_c_shape(module: nn.Module, call: Call) -> tuple:
    shape = _expected_state_shape(module, call)
    if isinstance(module, nn.LSTM) and getattr(module, "proj_size", 0):
        return shape[:-1] + (module.hidden_size,)
    return shape


# --------------------------------------------------------------------------- interface
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
                o_zero = _zero(o_h)
                h_zero = _zero(r_h)
                c_zero = _zero(r_c) if r_c is not None else h_zero
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
        return f"a single tensor {_shape(value)}, not a pair (h, c) of {expected} each"
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


# --------------------------------------------------------------------------- shapes
def check_shapes(rewritten_model: Any, original: Trace, rewrite: Trace) -> CheckResult:
    if not rewrite.ok:
        return CheckResult("shapes", False, f"not checked: {rewrite.error}")
    problems: list = []
    details: list = []
    modules = dict(recurrent_modules(rewritten_model))
    kinds = [type(m).__name__ for m in modules.values()]
    grus = [name for name, m in modules.items() if isinstance(m, GRU_TYPES)]
    if grus:
        problems.append(f"still a GRU: {', '.join(grus)}")
    if not any(isinstance(m, LSTM_TYPES) for m in modules.values()):
        problems.append("the rewrite has no nn.LSTM / nn.LSTMCell")
    if len(modules) != len(original.recurrent):
        problems.append(f"{len(modules)} recurrent modules, the original has {len(original.recurrent)}")
    details.append("recurrent modules: " + ", ".join(f"{n} ({k})" for n, k in zip(modules, kinds)))
    if problems:
        return CheckResult("shapes", False, "; ".join(problems), details)

    # every call: the state passed and returned is (h, c) with the module's shape
    acting = [c for calls in rewrite.act_calls for c in calls]
    training = [c for calls in rewrite.train_calls for c in calls if c.grad]
    paired = dict(zip(modules, (name for name, _ in original.recurrent)))  # rewrite name -> original name
    o_training: dict = {}
    for calls in original.train_calls:
        for c in calls:
            if c.grad:
                o_training.setdefault(c.module, []).append(c)
    call_problems = []
    for where, calls in (("acting", acting), ("training", training)):
        for call in calls:
            module = modules.get(call.module)
            if module is None or not isinstance(module, LSTM_TYPES):
                continue
            o_calls = o_training.get(paired.get(call.module), []) if where == "training" else None
            reason = _state_problem(module, call, where, o_calls)
            if reason:
                call_problems.append(reason)
    if call_problems:
        problems.append(f"{len(call_problems)} calls with a malformed state; first: {call_problems[0]}")
    elif acting:
        last = acting[-1]
        details.append(f"acting: (h, c) each {_expected_state_shape(modules[last.module], last)} at all {len(acting)} calls")
        if training:
            t = training[0]
            details.append(f"training: (h, c) each {_expected_state_shape(modules[t.module], t)} along the minibatch, {len(training)} calls")

    # the live state and the stored entries, as the model holds them
    o_probe, r_probe = original.probe, rewrite.probe
    if r_probe is not None and o_probe is not None:
        if r_probe.error and not o_probe.error:
            problems.append(f"probe: {r_probe.error}")
        live_problem, live_text = _holding_problem("live state", o_probe.live, r_probe.live)
        if live_problem:
            problems.append(live_problem)
        elif live_text:
            details.append(live_text)
        # probe.stored holds the state the probed act received: the previous live state, now
        # only in storage (the live holders have moved on to the act's result)
        stored_o, stored_r = o_probe.stored, r_probe.stored
        stored_problem, stored_text = _holding_problem("stored state", stored_o, stored_r)
        if stored_problem:
            problems.append(stored_problem)
        elif stored_text:
            details.append(stored_text)
        # detachment: what is stored from a planted grad-requiring state must not require grad
        if o_probe.planted and r_probe.planted:
            o_attached = [m for m in o_probe.planted_stored if m.requires_grad()]
            r_attached = [m for m in r_probe.planted_stored if m.requires_grad()]
            if r_attached and not o_attached:
                m = r_attached[0]
                problems.append(f"stored state at {m.path} is not detached: {_attached_half(m)} still requires grad (the original's does not)")
            elif r_probe.planted_stored:
                details.append("stored state detached (probed with a live state that requires grad)")
        elif not r_probe.planted and not rewrite.loop:
            why = f" ({r_probe.plant_error})" if r_probe.plant_error else ""
            details.append(f"detachment not probed: the live state could not be replaced{why}")

    if problems:
        return CheckResult("shapes", False, problems[0] if len(problems) == 1 else "; ".join(problems[:3]), details + problems[3:])
    return CheckResult("shapes", True, "(h, c) with the module's shape at every call, in the live state and in storage", details)


def _state_problem(module: nn.Module, call: Call, where: str, original_training: Optional[list]) -> Optional[str]:
    label = f"{where} call #{call.index} of {call.module}{call.at}"
    if call.hx is None:
        if where == "training" and original_training is not None and any(c.hx is not None for c in original_training):
            return f"{label}: no (h, c) given at training time (the original passes its stored state)"
        return None
    if not isinstance(call.hx, tuple) or len(call.hx) != 2:
        return f"{label}: the state is a {type(call.hx).__name__}, not a pair (h, c)"
    h, c = call.hx
    expected_h, expected_c = _expected_state_shape(module, call), _expected_c_shape(module, call)
    if tuple(h.shape) != expected_h or tuple(c.shape) != expected_c:
        return f"{label}: h {_shape(h)}, c {_shape(c)}; expected {expected_h} each"
    if isinstance(call.out, tuple) and len(call.out) == 2:
        oh, oc = call.out
        if tuple(oh.shape) != expected_h or tuple(oc.shape) != expected_c:
            return f"{label}: returned h {_shape(oh)}, c {_shape(oc)}; expected {expected_h} each"
    return None


def _attached_half(match) -> str:
    if isinstance(match.value, tuple):
        names = [n for n, v in zip(("h", "c"), match.value) if isinstance(v, torch.Tensor) and (v.requires_grad or v.grad_fn is not None)]
        return " and ".join(names) or "it"
    return {"h": "h", "c": "c"}.get(match.kind, "it")


def _holding_problem(what: str, original: list, rewrite: list) -> tuple:
    """(problem or None, description) for how the rewrite holds a state the original holds as h."""
    if not original:
        return None, (f"{what}: not held in the model (nor in the original)" if not rewrite else "")
    kinds = {m.kind for m in rewrite}
    paths = ", ".join(m.path + ("" if m.kind in ("pair", "packed") else f" ({m.kind})") for m in rewrite[:3])
    paths += " ..." if len(rewrite) > 3 else ""
    if not rewrite:
        where = ", ".join(m.path for m in original[:2])
        return f"{what}: the rewrite holds it nowhere (the original holds h at {where})", ""
    bad = [m for m in rewrite if m.kind in ("swapped", "pair_hh")]
    if bad:
        m = bad[0]
        text = "halves swapped (c, h)" if m.kind == "swapped" else "h held twice (h, h)"
        return f"{what} at {m.path}: {text}", ""
    has_pair = bool(kinds & {"pair", "packed"})
    has_split = "h" in kinds and "c" in kinds
    if not has_pair and not has_split:
        if "h" in kinds:
            where = next(m.path for m in rewrite if m.kind == "h")
            return f"{what} at {where}: only h is held, c is lost", ""
        where = next(m.path for m in rewrite if m.kind == "c")
        return f"{what} at {where}: only c is held, h is lost", ""
    shapes = ", ".join(" + ".join(str(s) for s in m.shapes()) for m in rewrite[:1])
    form = "packed (..., 2*H), h first" if "packed" in kinds and "pair" not in kinds else "pair (h, c)" if has_pair else "h and c held apart"
    return None, f"{what}: {form} at {paths} [{shapes}]"


# --------------------------------------------------------------------------- replay
def _act_rows(trace: Trace) -> list:
    """[(act index, row, module, first-step input, h, c)] of every acting call."""
    rows = []
    for i, calls in enumerate(trace.act_calls):
        for call in calls:
            for b, (x, h, c) in enumerate(call.rows()):
                rows.append((i, b, call.module, x.reshape(-1), h, c))
    return rows


def _train_rows(trace: Trace) -> list:
    """[(train index, call index, row, module, first-step input, h, c)] of every training call with autograd."""
    rows = []
    for k, calls in enumerate(trace.train_calls):
        for call in calls:
            if not call.grad:
                continue
            for b, (x, h, c) in enumerate(call.rows()):
                rows.append((k, call.index, b, call.module, x.reshape(-1), h, c, call.at))
    return rows


def _match(act_rows: list, train_rows: list) -> list:
    """[(train row, index into act_rows or None)]: the acting row of the same module with the nearest input."""
    by_module: dict = {}
    for j, row in enumerate(act_rows):
        by_module.setdefault((row[2], row[3].numel()), []).append(j)
    keys = {key: torch.stack([act_rows[j][3] for j in js]) for key, js in by_module.items()}
    matched = []
    for row in train_rows:
        x = row[4]
        key = (row[3], x.numel())
        if key not in keys:
            matched.append((row, None))
            continue
        diff = (keys[key] - x.unsqueeze(0)).abs().amax(dim=1)
        best = int(diff.argmin())
        scale = 1e-4 * (1.0 + float(x.abs().max()))
        matched.append((row, by_module[key][best] if float(diff[best]) <= scale else None))
    return matched


def _or_zeros(t: Optional[torch.Tensor], like: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    if t is None and like is not None:
        return torch.zeros_like(like)
    return t


def replay_table(trace: Trace) -> dict:
    act_rows = _act_rows(trace)
    train_rows = _train_rows(trace)
    results = []
    for row, j in _match(act_rows, train_rows):
        if j is None:
            results.append({"matched": False})
            continue
        h_t, c_t = row[5], row[6]
        i, b, module, _, h_a, c_a = act_rows[j]
        h_a, c_a = _or_zeros(h_a, h_t), _or_zeros(c_a, c_t)
        h_t, c_t = _or_zeros(h_t, h_a), _or_zeros(c_t, c_a)
        entry = {"matched": True, "act": i, "row": b, "module": module, "h": _equal(h_t, h_a), "at": row[7]}
        if row[5] is None and act_rows[j][4] is None:
            entry["c"] = True  # no state given at either time: both halves start from zeros
        elif c_t is not None or c_a is not None:
            entry["c"] = _equal(c_t, c_a)
            entry["swapped"] = _equal(h_t, c_a) and _equal(c_t, h_a) and not entry["h"]
            entry["c_zero"] = c_t is not None and _zero(c_t) and not _zero(c_a)
            entry["c_is_h"] = c_t is not None and _equal(c_t, h_a) and not entry["c"]
            neighbours = [r for r in act_rows if r[2] == module and r[1] == b and abs(r[0] - i) == 1]
            entry["c_neighbour"] = not entry["c"] and any(_equal(c_t, n[5]) for n in neighbours if n[5] is not None)
            entry["h_neighbour"] = not entry["h"] and any(_equal(h_t, n[4]) for n in neighbours if n[4] is not None)
        results.append(entry)
    return {"rows": results, "act_rows": len(act_rows)}


def check_replay(original: Trace, rewrite: Trace) -> CheckResult:
    if not rewrite.ok:
        return CheckResult("replay", False, f"not checked: {rewrite.error}")
    o_table, r_table = replay_table(original), replay_table(rewrite)
    o_rows, r_rows = o_table["rows"], r_table["rows"]
    o_matched = [r for r in o_rows if r["matched"]]
    r_matched = [r for r in r_rows if r["matched"]]
    if not o_rows:
        return CheckResult("replay", True, "not applicable: the original never runs its recurrent module with gradients at training time")
    if not o_matched:
        return CheckResult("replay", True, "not applicable: no training input of the original matches an acting input (inputs change between acting and training)")
    if not r_rows:
        return CheckResult("replay", False, "the rewrite never runs its recurrent module with gradients at training time (the original does)")
    o_unmatched = len(o_rows) - len(o_matched)
    r_unmatched = len(r_rows) - len(r_matched)
    details = [f"{len(r_matched)} training samples matched to acting steps by their input ({len(r_rows)} samples, {r_table['act_rows']} acting rows)"]
    if r_unmatched > o_unmatched:
        return CheckResult("replay", False,
                           f"{r_unmatched} of {len(r_rows)} training samples have no acting step with the same input (the original: {o_unmatched})", details)
    o_all = all(r["h"] for r in o_matched)
    if o_all:
        bad = [r for r in r_matched if not (r["h"] and r.get("c", False))]
        if not bad:
            return CheckResult("replay", True,
                               f"all {len(r_matched)} training samples replay the (h, c) they were acted with, both halves exact", details)
        return CheckResult("replay", False, _replay_diagnosis(bad, len(r_matched)), details + _replay_examples(bad))
    # the original does not replay every stored h (e.g. zero-state or burn-in training):
    # then c must be replayed exactly where h is
    bad = [r for r in r_matched if r["h"] != r.get("c", False)]
    replayed = sum(1 for r in o_matched if r["h"])
    details.append(f"the original replays h in {replayed} of {len(o_matched)} samples")
    if not bad:
        return CheckResult("replay", True, f"c is replayed exactly where h is ({sum(1 for r in r_matched if r['h'])} of {len(r_matched)} samples, as in the original)", details)
    return CheckResult("replay", False, _replay_diagnosis(bad, len(r_matched)), details + _replay_examples(bad))


def _replay_diagnosis(bad: list, total: int) -> str:
    """What differs at training time, and the training call of the module where it first does."""
    return _replay_difference(bad, total) + (f" (training call of {bad[0]['module']}{bad[0]['at']})" if bad[0].get("at") else "")


def _replay_difference(bad: list, total: int) -> str:
    n = len(bad)
    if all(r.get("swapped") for r in bad):
        return f"{n}/{total} training samples get h and c swapped"
    h_bad = sum(1 for r in bad if not r["h"])
    c_bad = sum(1 for r in bad if not r.get("c", False))
    parts = []
    if c_bad:
        why = []
        if any(r.get("c_zero") for r in bad):
            why.append(f"zero in {sum(1 for r in bad if r.get('c_zero'))}")
        if any(r.get("c_is_h") for r in bad):
            why.append(f"equal to the acted h in {sum(1 for r in bad if r.get('c_is_h'))}")
        if any(r.get("c_neighbour") for r in bad):
            why.append(f"the c of a neighbouring step in {sum(1 for r in bad if r.get('c_neighbour'))}")
        parts.append(f"{c_bad}/{total} training samples get a c different from the one they were acted with"
                     + (f" ({'; '.join(why)})" if why else ""))
    if h_bad:
        why = f" (the h of a neighbouring step in {sum(1 for r in bad if r.get('h_neighbour'))})" if any(r.get("h_neighbour") for r in bad) else ""
        parts.append(f"{h_bad}/{total} get a different h{why}")
    return "; ".join(parts)


def _replay_examples(bad: list) -> list:
    lines = []
    for r in bad[:3]:
        halves = [name for name in ("h", "c") if not r.get(name, False)]
        lines.append(f"act #{r['act']} (row {r['row']}): {' and '.join(halves)} differ at training time")
    return lines


# --------------------------------------------------------------------------- equivalence
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


def timed(function, *args, **kwargs) -> CheckResult:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    result.seconds = time.perf_counter() - start
    return result
