"""The replay check: each training sample's (h, c) equals the (h, c) it was acted with (R2D2's
stored state), found by matching every training row to the acting row of the same module with the
same input; replay_table is that matching, and the diagnosis says which half differs and how."""

from __future__ import annotations

from typing import Optional

import torch

from gru2lstm.verify.checks.common import TOLERANCE
from gru2lstm.verify.harness import Trace
from gru2lstm.verify.recorder import all_zero
from gru2lstm.verify.results import CheckResult


def _equal(a: Optional[torch.Tensor], b: Optional[torch.Tensor]) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a.shape != b.shape:
        return a.numel() == b.numel() and torch.allclose(a.reshape(-1), b.reshape(-1), rtol=0, atol=TOLERANCE)
    return bool(torch.allclose(a, b, rtol=0, atol=TOLERANCE))

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
            entry["c_zero"] = c_t is not None and all_zero(c_t) and not all_zero(c_a)
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
