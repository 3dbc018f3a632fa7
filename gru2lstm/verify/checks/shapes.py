"""The shapes check: the rewrite has an LSTM where the original had a GRU, and its state is (h, c)
of the module's shape at every acting and training call, in the live state and in the stored
entries (a pair, packed, or h and c side by side; detached)."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from gru2lstm.verify.checks.common import shape_text
from gru2lstm.verify.harness import Trace
from gru2lstm.verify.recorder import GRU_TYPES, LSTM_TYPES, Call, recurrent_modules
from gru2lstm.verify.results import CheckResult


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
        return f"{label}: h {shape_text(h)}, c {shape_text(c)}; expected {expected_h} each"
    if isinstance(call.out, tuple) and len(call.out) == 2:
        oh, oc = call.out
        if tuple(oh.shape) != expected_h or tuple(oc.shape) != expected_c:
            return f"{label}: returned h {shape_text(oh)}, c {shape_text(oc)}; expected {expected_h} each"
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
