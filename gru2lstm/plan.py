"""Turn the solved flow into edits: build the context the rules share and walk the uses of the
program through the registry of rules (gru2lstm/rules/) chosen by the form of the state.

Each rule records the step it belongs to and the line it touched; a use no rule covers becomes
a finding instead of an edit.
"""

from __future__ import annotations

from gru2lstm.options import Options
from gru2lstm.program import ProgramFlow
from gru2lstm.solve import Solution
from gru2lstm.values import AttrSlot
from gru2lstm.rules import WALK, registry
from gru2lstm.rules.base import BindingUse, consume
from gru2lstm.rules.context import PlanContext, Planned
from gru2lstm.rules.module import chosen_class_message, held_as_value, lstm_class_beside
from gru2lstm.vocab import RECURRENT_NAMES


class Planner:
    """One program's uses, each given to the first rule of the registry (of the chosen form) that handles it."""

    def __init__(self, wrappers: dict, flow: ProgramFlow, solution: Solution, options: Options):
        """`wrappers`: module key -> the ParsedModule of that module, as the flow walked it."""
        self.context = PlanContext(wrappers, flow, solution, options)
        self.rules = registry(self.context.packed)
        self.context.dispatch = self.dispatch

    def dispatch(self, kind: str, use) -> None:
        """Give one use to the first rule of the registry that handles it."""
        for rule in self.rules:
            if kind in rule.uses and rule.handles(self.context, use):
                rule.apply(self.context, use)
                return

    def run(self) -> Planned:
        try:
            return self._run()
        finally:
            # `context.dispatch` is this planner's bound method: a cycle that would keep the whole
            # program alive until the cyclic collector walks it (gc_pause.py); broken here.
            self.context.dispatch = None

    def _run(self) -> Planned:
        ctx = self.context
        if not ctx.solution.constructors:
            return ctx.result
        switches = [(ctor, target) for ctor, _, target in ctx.solution.constructors if ctx.solution.is_module(target)]
        for ctor, target in switches:
            ctx.find("G2L102", ctor.node, held_with_message(ctx, ctor, ctx.solution.modules_held_with(target), target), mark=False)
        chosen = _classes_chosen(ctx)
        for node, other in chosen:
            ctx.find("G2L102", node, chosen_class_message(ctx.code(node), ctx.code(other)), mark=False)
        if switches or chosen:
            return ctx.result  # not even --allow-partial writes into code that handles both
        flow = ctx.flow
        for kind in WALK:
            if kind == "binding":
                for binding in flow.bindings:
                    self.dispatch(kind, BindingUse.of(ctx, binding))
            elif kind == "call":
                for call in flow.calls:
                    self.dispatch(kind, call)
            elif kind == "consumption":
                for consumption in flow.consumptions:
                    consume(ctx, consumption.value, consumption.context, consumption.node, consumption.why, consumption.place, consumption.inside)
            else:
                for rule in self.rules:
                    if kind in rule.uses:
                        rule.apply(ctx, None)
        return ctx.result


def _classes_chosen(ctx: PlanContext) -> list:
    """(the GRU class, the other recurrent class) held side by side as values, to choose from
    (`RNNs = {"lstm": nn.LSTM, "gru": nn.GRU}`)."""
    found = []
    for node, name in ctx.flow.references:
        if name in RECURRENT_NAMES and node in ctx.parents and held_as_value(ctx.parents, node) is not None:
            other = lstm_class_beside(ctx.parents, ctx.module_of(node), node)
            if other is not None:
                found.append((node, other))
    return found


def held_with_message(ctx: PlanContext, ctor, others: list, target) -> str:
    """G2L102 for a GRU held where another module is (solve.HeldModule): it names that module, and
    says why by what it is (another recurrent module: a choice the code makes; anything else: a join).
    An attribute of one class joined with the same attribute of others (subclasses of one base whose
    method calls `self.core(x, h)`) names those classes."""
    other = next((held for held in others if not held.recurrent), others[0])
    kind = f"`{ctx.code(other.node.func)}`"
    made = f"`{ctx.code(other.node)}`, line {ctx.line(other.node)}"
    classes = _classes_sharing(ctx, target) if not other.recurrent else []
    if classes:
        owner, name = target.owner.rpartition(":")[2], target.name
        shared = " and ".join(f"`{cls}`" for cls in classes)
        return (
            f"`{ctx.code(ctor.node)}` is held in `self.{name}` of `{owner}`, which is joined with `self.{name}` of {shared}, "
            f"where a {kind} is held too ({made}): the classes share the code that calls `self.{name}`, so the engine cannot tell the GRU's calls "
            f"from the {kind}'s and leaves both as they are; give the GRU an attribute of its own in `{owner}` "
            "(and the call of it there)"
        )
    held = f"`{ctx.code(ctor.node)}` is held where a {kind} is held too ({made})"
    if other.recurrent:
        return (
            f"{held}: code that chooses between them handles both already, so the engine leaves it as it is; "
            "choose the LSTM where the choice is made"
        )
    return (
        f"{held}, so the engine cannot tell the GRU's calls from the {kind}'s and leaves both as they are; "
        "keep the GRU in a place of its own (a helper that stores every module it is given joins them)"
    )


def _classes_sharing(ctx: PlanContext, target) -> list:
    """The other classes whose attribute of the name of `target` (`self.core` of a class) is joined
    with it, by their short names; [] where `target` is no attribute."""
    if not isinstance(target, AttrSlot):
        return []
    classes = ctx.solution.classes
    root = classes.find(target)
    owners = {
        slot.owner for slot in classes.parent
        if isinstance(slot, AttrSlot) and slot.name == target.name and slot.owner != target.owner and classes.find(slot) == root
    }
    return sorted(owner.rpartition(":")[2] for owner in owners)
