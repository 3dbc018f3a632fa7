"""What a rule is: the step it reports, the kinds of use it handles, its examples in Fixit's
manner (valid: source and the output it must give; invalid: source and the finding it must
give), and `handles`/`apply`. Also the one use that needs preparing: a binding with its value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst

from gru2lstm.program import Binding, Consumption, Use
from gru2lstm.values import ReturnSlot, Value, VArith, VCallOf, VDerived, VSlot
from gru2lstm.vocab import IN_PLACE_METHODS


@dataclass(frozen=True)
class Valid:
    """`before` (after `import torch` / `from torch import nn`) is rewritten to `after`."""

    before: str
    after: str
    state: str = "auto"


@dataclass(frozen=True)
class Invalid:
    """`before` is left alone with the finding `code`."""

    before: str
    code: str
    state: str = "auto"


@dataclass
class BindingUse:
    """A binding and the value the rules read: resolved, and for a state bound from a call of a
    module's forward(), what that forward() returns."""

    binding: Binding
    value: Value

    @staticmethod
    def of(ctx, binding: Binding) -> "BindingUse":
        solution = ctx.solution
        value = solution.resolved(binding.value)
        if isinstance(value, VCallOf) and id(value) in solution.forwarded and solution.is_state(binding.target):
            # `h = m(x, h)` with `m = M()` at module level: what its forward() returns.
            value = VSlot(ReturnSlot.of(solution.forwarded[id(value)].key), value.node)
        return BindingUse(binding, value)


class Rule:
    """One row (or a few rows) of docs/rules.md. Per-use kinds (binding, call, consumption) go to
    the first rule of the registry that `handles` them; program-wide kinds run every rule."""

    step: Optional[str] = None  # the step of docs/rules.md it reports
    uses: tuple = ()  # the kinds of use it handles
    summary: str = ""
    valid: tuple = ()
    invalid: tuple = ()

    def handles(self, ctx, use) -> bool:
        return True

    def apply(self, ctx, use) -> None:
        raise NotImplementedError


class StateBindingRule(Rule):
    """A rule for a binding whose target holds a state: the line counts as a site first."""

    uses = ("binding",)

    def apply(self, ctx, use: BindingUse) -> None:
        if use.binding.statement is not None:
            ctx.site(use.binding.statement)
        self.rewrite(ctx, use)

    def rewrite(self, ctx, use: BindingUse) -> None:
        raise NotImplementedError


def takes_a_state(ctx, use: Consumption) -> bool:
    """Does the consumption take a value whose chain starts at a place that holds a state?"""
    leaf = ctx.solution.resolutions.leaf_of(use.value)
    return isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot)


def in_place_call(ctx, value: Value) -> Optional[cst.Call]:
    """The first in-place call (`h.mul_(m)`, `h.squeeze_(0)`, `F.relu(h, inplace=True)`) in a chain
    of derivations and joins (followed into the state's side)."""
    value = ctx.solution.resolved(value)
    while isinstance(value, (VDerived, VArith)):
        node = value.node
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in IN_PLACE_METHODS:
            return node
        if isinstance(value, VDerived) and isinstance(node, cst.Call) and _changes_its_first(ctx, node):
            return node
        if isinstance(value, VDerived):
            value = ctx.solution.resolved(value.base)
        else:
            value = ctx.solution.resolved(value.left if ctx.solution.value_is_state(value.left) else value.right)
    return None


def _changes_its_first(ctx, call: cst.Call) -> bool:
    """Does a library call change in place the tensor it computes from, its first argument?"""
    first = next((arg.value for arg in call.args if arg.keyword is None and not arg.star), None)
    return any(arg is first for arg in ctx.flow.changed_arguments.get(id(call), ()))


def consume(ctx, value: Value, context: Use, node, why: str = "", place: Optional[str] = None, inside: str = "") -> None:
    """Hand a use of a value in an expression to the consumption rules."""
    ctx.dispatch("consumption", Consumption(ctx.solution.resolved(value), context, node, why, place, inside))
