"""What an expression evaluates to, as far as the hidden state is concerned.

The flow analysis (flow.py) turns every expression it meets into one of these small values;
the rules (rules/, walked by plan.py) turn them back into rewrites. A `Slot` names a place that
can hold a value: a local definition, a `self.` attribute, a global, a function's return, or a
part of another slot (an element, a dict key, a tuple position, an attribute of an object); each
kind of slot and label is a named tuple. What an index or an arithmetic turns out to be is the
solver's finding, kept in its side table (Resolutions), never written into the values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple, Optional, Union

import libcst as cst

from gru2lstm.syntax import is_slice


class Word(str, Enum):
    """An enum whose members are their words: equal to, hashed, printed and formatted as the plain
    string, so that code comparing with the word (or building a slot from it) still agrees."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


# ------------------------------------------------------------------ slots
class SlotKind(Word):
    DEF = "def"
    ATTR = "attr"
    GLOBAL = "global"
    RETURN = "ret"
    CALL_RESULT = "callres"
    INSTANCE = "instance"
    CHILD = "child"
    EXPR = "expr"
    LITERAL = "literal"
    ZIP = "zip"
    FILE = "file"


class LabelKind(Word):
    POS = "pos"
    KEY = "key"
    ELEM = "elem"
    ATTR = "attr"


# A slot or label is a named tuple whose first field is its kind: it equals (and hashes as) the
# plain tuple of its fields, so that code still spelling `("def", id)` finds the same slot.
class PosLabel(NamedTuple):
    """A position of a tuple."""

    kind: LabelKind
    position: int

    @classmethod
    def of(cls, position: int) -> "PosLabel":
        return cls(LabelKind.POS, position)


class KeyLabel(NamedTuple):
    """The value under a constant key of a dict."""

    kind: LabelKind
    key: str

    @classmethod
    def of(cls, key: str) -> "KeyLabel":
        return cls(LabelKind.KEY, key)


class ElemLabel(NamedTuple):
    """Any element of a list, dict or tensor."""

    kind: LabelKind


class AttrLabel(NamedTuple):
    """An attribute of an object whose class is not known."""

    kind: LabelKind
    name: str

    @classmethod
    def of(cls, name: str) -> "AttrLabel":
        return cls(LabelKind.ATTR, name)


ELEM = ElemLabel(LabelKind.ELEM)
Label = Union[PosLabel, KeyLabel, ElemLabel, AttrLabel]


class DefSlot(NamedTuple):
    """One definition of a local name (flow-sensitive), by the id of the node that defines it."""

    kind: SlotKind
    def_id: int

    @classmethod
    def of(cls, def_id: int) -> "DefSlot":
        return cls(SlotKind.DEF, def_id)


class AttrSlot(NamedTuple):
    """`self.name` in the methods of a class (by its class key)."""

    kind: SlotKind
    owner: str
    name: str

    @classmethod
    def of(cls, owner: str, name: str) -> "AttrSlot":
        return cls(SlotKind.ATTR, owner, name)


class GlobalSlot(NamedTuple):
    """A module-level name."""

    kind: SlotKind
    module: str
    name: str

    @classmethod
    def of(cls, module: str, name: str) -> "GlobalSlot":
        return cls(SlotKind.GLOBAL, module, name)


class ReturnSlot(NamedTuple):
    """What a function returns (by its key)."""

    kind: SlotKind
    function: tuple

    @classmethod
    def of(cls, function: tuple) -> "ReturnSlot":
        return cls(SlotKind.RETURN, function)


class CallResultSlot(NamedTuple):
    """The result of one call of a value (e.g. the recurrent module), by the call node's id."""

    kind: SlotKind
    call_id: int

    @classmethod
    def of(cls, call_id: int) -> "CallResultSlot":
        return cls(SlotKind.CALL_RESULT, call_id)


class InstanceSlot(NamedTuple):
    """Any instance of a class of the program (by its class key)."""

    kind: SlotKind
    owner: str

    @classmethod
    def of(cls, owner: str) -> "InstanceSlot":
        return cls(SlotKind.INSTANCE, owner)


class NodeSlot(NamedTuple):
    """A place of its own for the value of one node: an indexed base (EXPR), a literal iterated
    (LITERAL), the columns of `zip(*rows)` (ZIP), what a save writes or a load reads back (FILE)."""

    kind: SlotKind
    node_id: int

    @classmethod
    def of(cls, kind: SlotKind, node_id: int) -> "NodeSlot":
        return cls(kind, node_id)


class ChildSlot(NamedTuple):
    """A part of another slot: an element, a dict key, a tuple position, an attribute."""

    kind: SlotKind
    base: "Slot"
    label: Label

    @classmethod
    def of(cls, base: "Slot", label: Label) -> "ChildSlot":
        return cls(SlotKind.CHILD, base, label)


Slot = Union[DefSlot, AttrSlot, GlobalSlot, ReturnSlot, CallResultSlot, InstanceSlot, NodeSlot, ChildSlot]


def is_element(slot: Slot) -> bool:
    """Is the slot an element of a list or tensor (what `append` and `[i] =` write)?"""
    return slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.ELEM


class Derivation(Word):
    """How a derived value relates to its base, weakest first."""

    KEEP = "keep"  # detach/cpu/to/clone/masking: the result is the same state
    SHAPE = "shape"  # index/squeeze/view/…: a state when it flows into one, else features
    READ = "read"  # .shape/.size()/.device/zeros_like(…): never a state


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
    """A tensor computed from `base` by a method, an index or arithmetic (kind: see Derivation)."""

    base: "Value"
    node: cst.BaseExpression
    kind: Derivation


@dataclass(eq=False)
class VIndex:
    """`base[index]`: an element of a container, a tuple position, or a tensor slice.

    Which one is only known once containers are known: the solver says it (Resolutions).
    """

    base: "Value"
    node: cst.Subscript
    position: Optional[int]


@dataclass(eq=False)
class VArith:
    """Arithmetic of two operands; a state times a mask is still a state (decided by the solver)."""

    left: "Value"
    right: "Value"
    node: cst.BaseExpression


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
    result: CallResultSlot


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
    joined_by: Optional[cst.BaseExpression] = None  # `torch.stack` of `map(torch.stack, zip(*rows))` unpacked: each column joined


@dataclass(eq=False)
class VNone:
    node: cst.BaseExpression


@dataclass(eq=False)
class VContainer:
    """A list/dict literal or constructor: what it holds goes to the target's elements."""

    node: cst.BaseExpression
    items: list = field(default_factory=list)  # [(Label, Value)]
    iterated: Optional["Value"] = None  # what a comprehension iterates (see mapped_slot)


@dataclass(eq=False)
class VOpaque:
    """Anything else. `why` says what it was, for findings."""

    node: Optional[cst.BaseExpression]
    why: str = ""


Value = Union[
    VSlot, VCreate, VDerived, VIndex, VArith, VCat, VTuple, VChoice, VCallOf, VCtor, VNone, VContainer, VOpaque, VZip
]


class Resolutions:
    """The solver's side table: what an index (VIndex) or an arithmetic (VArith) turned out to be,
    by the value's identity. The walk's values are never written to."""

    def __init__(self) -> None:
        self._found: dict = {}  # id(value) -> (value, what it is); the value is kept so its id stays its own

    def settle(self, value: Union[VIndex, VArith], found: Value) -> None:
        self._found[id(value)] = (value, found)

    def unsettle(self, value: VArith) -> None:
        self._found.pop(id(value), None)

    def is_settled(self, value: Value) -> bool:
        return id(value) in self._found

    def resolved(self, value: Value) -> Value:
        """What `value` is, through the indexing and arithmetic the solver settled."""
        while isinstance(value, (VIndex, VArith)) and id(value) in self._found:
            value = self._found[id(value)][1]
        return value

    def leaf_of(self, value: Value) -> Value:
        """The value a chain of derivations starts from (resolving container indexing)."""
        while True:
            value = self.resolved(value)
            if not isinstance(value, VDerived):
                return value
            value = value.base

    def chain_kind(self, value: Value) -> Derivation:
        """The strongest derivation between a value and its leaf: keep < shape < read."""
        kind = Derivation.KEEP
        value = self.resolved(value)
        while isinstance(value, VDerived):
            if value.kind == Derivation.READ:
                return Derivation.READ
            if value.kind == Derivation.SHAPE:
                kind = Derivation.SHAPE
            value = self.resolved(value.base)
        return kind


def part_at(value: Value, position: int, length: int) -> Value:
    """The part of `value` that lands in position `position` of a tuple target."""
    if isinstance(value, VTuple) and len(value.items) == length:
        return value.items[position]
    if isinstance(value, VSlot):
        return VSlot(ChildSlot.of(value.slot, PosLabel.of(position)), None)
    if isinstance(value, VCallOf):
        return VSlot(ChildSlot.of(value.result, PosLabel.of(position)), None)
    if isinstance(value, VChoice):  # `s, x = (zeros, x) if done else (s2, x)`: either side's part
        return VChoice([part_at(option, position, length) for option in value.options], value.node)
    if isinstance(value, VContainer) and are_pieces(value):
        return value.items[0][1]  # `a, b = h.chunk(2, dim=1)`: each a piece of `h` (calls.py, rules/pieces.py)
    mapped = mapped_slot(value) if isinstance(value, VContainer) else None
    if mapped is not None:  # `mean, std, h = [f(x) for x in batch]`: h is batch's third item, through f
        return _rebased(value.items[0][1], ChildSlot.of(mapped, PosLabel.of(position)))
    return VOpaque(None, "a part of an unknown value")


def are_pieces(value: "VContainer") -> bool:
    """`h.chunk(2, dim=1)`: pieces of one tensor, each position its own piece."""
    return len(value.items) == 1 and getattr(value.items[0][1], "node", None) is value.node


def _rebased(element: Value, item: Slot) -> Value:
    """A comprehension's element (the loop variable, read at its node, through kept derivations)
    with the slot `item` for the loop variable: the derivations stay, so a rule can rewrite them."""
    if isinstance(element, VDerived):
        return VDerived(_rebased(element.base, item), element.node, element.kind)
    return VSlot(item, element.node)


def mapped_slot(value: VContainer) -> Optional[Slot]:
    """The slot a comprehension maps item by item, keeping each (`[f(x) for x in batch]` with `f` a
    helper that gives `x` back, `[x.detach() for x in batch]`): its positions are that slot's
    positions, each item apart. None for any other container."""
    node = value.node
    if not isinstance(value.iterated, VSlot) or not isinstance(node, (cst.ListComp, cst.GeneratorExp)):
        return None
    loop = node.for_in
    if loop.ifs or loop.inner_for_in is not None or not isinstance(loop.target, cst.Name) or len(value.items) != 1:
        return None
    element = value.items[0][1]
    while isinstance(element, VDerived) and element.kind == Derivation.KEEP:
        element = element.base
    if isinstance(element, VSlot) and element.slot == DefSlot.of(id(loop.target)):
        return value.iterated.slot
    return None


def element_of(value: Value) -> Value:
    """What one element of an iterated `value` is."""
    if isinstance(value, VSlot):
        return VSlot(ChildSlot.of(value.slot, ELEM), None)
    if isinstance(value, VIndex) and is_slice(value.node):
        return element_of(value.base)  # `agents[1:]` holds what `agents` holds
    if isinstance(value, VContainer):
        elements = [item for label, item in value.items if label == ELEM]
        if len(elements) == 1:
            return elements[0]
    return VOpaque(None, "an element of an unknown iterable")
