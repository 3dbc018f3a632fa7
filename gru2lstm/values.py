"""What an expression evaluates to, as far as the hidden state is concerned.

The flow analysis (flow.py) turns every expression it meets into one of these small values;
the planner (plan.py) turns them back into rewrites. A `Slot` names a place that can hold a
value: a local definition, a `self.` attribute, a global, a function's return, or a part of
another slot (an element, a dict key, a tuple position, an attribute of an object).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst

# ("def", id)                  one definition of a local name (flow-sensitive)
# ("attr", class, name)        `self.name` in the methods of `class`
# ("global", name)             a module-level name
# ("ret", function)            what a function returns
# ("callres", id)              the result of one call of a value (e.g. the recurrent module)
# ("child", slot, label)       label: ("pos", i) | ("key", k) | ("elem",) | ("attr", name)
Slot = tuple


def child(slot: Slot, *label: object) -> Slot:
    return ("child", slot, label)


@dataclass(eq=False)
class VSlot:
    """The value held by a slot, read at `node` (None for a synthetic read, e.g. unpacking)."""

    slot: Slot
    node: Optional[cst.BaseExpression]


@dataclass(eq=False)
class VCreate:
    """A fresh tensor: torch.zeros(...), x.new_zeros(...), np.zeros(...), …"""

    node: cst.BaseExpression


@dataclass(eq=False)
class VDerived:
    """A tensor computed from `base` by a method, an index or arithmetic.

    kind: "keep" (detach/cpu/to/clone/masking: the result is the same state),
          "shape" (index/squeeze/view/…: a state when it flows into one, else features),
          "read" (.shape/.size()/.device/zeros_like(…): never a state).
    """

    base: "Value"
    node: cst.BaseExpression
    kind: str


@dataclass(eq=False)
class VIndex:
    """`base[index]`: an element of a container, a tuple position, or a tensor slice.

    Which one is only known once containers are known; `resolved` is set by the solver.
    """

    base: "Value"
    node: cst.Subscript
    position: Optional[int]
    resolved: Optional["Value"] = None


@dataclass(eq=False)
class VArith:
    """Arithmetic of two operands; a state times a mask is still a state (decided by the solver)."""

    left: "Value"
    right: "Value"
    node: cst.BaseExpression
    resolved: Optional["Value"] = None


@dataclass(eq=False)
class VCat:
    """torch.cat / torch.stack of `container`'s elements (or of a literal list)."""

    container: "Value"
    node: cst.Call
    container_node: cst.BaseExpression


@dataclass(eq=False)
class VTuple:
    items: list
    node: Optional[cst.BaseExpression]


@dataclass(eq=False)
class VChoice:
    """`a if c else b`, `a or b`: either value."""

    options: list
    node: cst.BaseExpression


@dataclass(eq=False)
class VCallOf:
    """A call of a value that is not a known function (a module attribute, a parameter, …)."""

    func: "Value"
    node: cst.Call
    args: list  # [(keyword or None, Value, cst.Arg)]
    result: Slot  # ("callres", id)


@dataclass(eq=False)
class VCtor:
    """A constructor call with a resolved qualified name, e.g. torch.nn.GRU(...)."""

    qualname: str
    node: cst.Call


@dataclass(eq=False)
class VZip:
    """`zip(*rows)`: the columns of a container of tuples."""

    rows: "Value"
    node: cst.Call


@dataclass(eq=False)
class VNone:
    node: cst.BaseExpression


@dataclass(eq=False)
class VContainer:
    """A list/dict literal or constructor: what it holds goes to the target's elements."""

    node: cst.BaseExpression
    items: list = field(default_factory=list)  # [(label, Value)]


@dataclass(eq=False)
class VOpaque:
    """Anything else. `why` says what it was, for findings."""

    node: Optional[cst.BaseExpression]
    why: str = ""


Value = Union[
    VSlot, VCreate, VDerived, VIndex, VArith, VCat, VTuple, VChoice, VCallOf, VCtor, VNone, VContainer, VOpaque, VZip
]


def leaf_of(value: Value) -> Value:
    """The value a chain of derivations starts from (resolving container indexing)."""
    while True:
        if isinstance(value, (VIndex, VArith)) and value.resolved is not None:
            value = value.resolved
        elif isinstance(value, VDerived):
            value = value.base
        else:
            return value


def part_at(value: Value, position: int, length: int) -> Value:
    """The part of `value` that lands in position `position` of a tuple target."""
    if isinstance(value, VTuple) and len(value.items) == length:
        return value.items[position]
    if isinstance(value, VSlot):
        return VSlot(child(value.slot, "pos", position), None)
    if isinstance(value, VCallOf):
        return VSlot(child(value.result, "pos", position), None)
    if isinstance(value, VChoice):  # `s, x = (zeros, x) if done else (s2, x)`: either side's part
        return VChoice([part_at(option, position, length) for option in value.options], value.node)
    return VOpaque(None, "a part of an unknown value")


def element_of(value: Value) -> Value:
    """What one element of an iterated `value` is."""
    if isinstance(value, VSlot):
        return VSlot(child(value.slot, "elem"), None)
    if isinstance(value, VContainer):
        elements = [item for label, item in value.items if label == ("elem",)]
        if len(elements) == 1:
            return elements[0]
    return VOpaque(None, "an element of an unknown iterable")
