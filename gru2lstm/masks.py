"""Which operand of the recurrent call's hidden argument `hxs * masks` is the state: the one named
like the name the call's new state is assigned to, else the one not named like a mask. The
solver (solve.py) settles it; when neither rule decides, it stays undecided (a finding). Also
which place an operand joined with a state elementwise (`h * m + h0 * (1 - m)`) is read from:
it has the state's shape, so it holds a state too.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.in_place import change_after_made, flagged
from gru2lstm.program import ProgramFlow
from gru2lstm.qualnames import dotted
from gru2lstm.values import Derivation, Resolutions, Slot, Value, VArith, VCallOf, VCreate, VDerived, VSlot
from gru2lstm.vocab import GRADIENT_FLAG, GRU_KIND, MASK_WORDS, SAME_SHAPE_JOINS, ZERO_CREATIONS


def state_result_name(flow: ProgramFlow, call: VCallOf, kind: str) -> Optional[str]:
    """The name the call's new state is assigned to (`hxs` in `x, hxs = self.gru(x, hxs * m)`)."""
    for unpacking in flow.unpackings:
        if unpacking.value is call and kind == GRU_KIND and len(unpacking.elements) > 1:
            node = unpacking.elements[1].node
            return node.attr.value if hasattr(node, "attr") else getattr(node, "value", None)
    return None


def settle_mask(resolutions: Resolutions, value: Value, state_name: Optional[str]) -> None:
    """In the hidden argument `hxs * masks`, which operand is the state? The one named like the
    call's result, else the one not named like a mask; otherwise it stays undecided (a finding)."""
    value = resolutions.resolved(value)
    while isinstance(value, VDerived):
        value = resolutions.resolved(value.base)
    if not isinstance(value, VArith) or resolutions.is_settled(value):
        return
    sides = [value.left, value.right]
    names = [_leaf_name(resolutions.leaf_of(side)) for side in sides]
    chosen = None
    if state_name is not None and names.count(state_name) == 1:
        chosen = sides[names.index(state_name)]
    else:
        maskish = [n is not None and _is_mask_name(n) for n in names]
        if maskish.count(True) == 1 and all(n is not None for n in names):
            chosen = sides[maskish.index(False)]
        else:
            chosen = _only_possible_state(resolutions, sides)
    if chosen is not None:
        resolutions.settle(value, VDerived(chosen, value.node, Derivation.KEEP))
        settle_mask(resolutions, chosen, state_name)


def _only_possible_state(resolutions: Resolutions, sides: list) -> Optional[Value]:
    """The operand that carries the state when the other one cannot (a number, `s * 0.5`, or one
    read only from masks, `s * (1 - dones.float()).unsqueeze(-1)`) and it is read from names that
    are not masks'."""
    names = [_factor_names(resolutions, side) for side in sides]
    masks = [_is_number(resolutions, side) or (bool(found) and all(_is_mask_name(n) for n in found)) for side, found in zip(sides, names)]
    carriers = [bool(found) and not any(_is_mask_name(n) for n in found) for found in names]
    if masks.count(True) == 1 and carriers[masks.index(False)]:
        return sides[masks.index(False)]
    return None


def _is_number(resolutions: Resolutions, value: Value) -> bool:
    return isinstance(getattr(resolutions.leaf_of(value), "node", None), (cst.Integer, cst.Float))


def _is_mask_name(name: str) -> bool:
    return any(w in name.lower() for w in MASK_WORDS)


def joined_place(resolutions: Resolutions, arith: VArith, other: Value) -> Optional[Slot]:
    """The place `other`, joined with a state by `arith` into one of the same shape (`h + h0`,
    `torch.where(done, fresh, h)`, the `h0` of `h * m + h0 * (1 - m)`), is read from; None when
    `arith` may scale the state (a product), `other` is no place's value (a constant, a creation,
    a call), or which factor of a product is the tensor is not told by a mask's name."""
    if not is_same_shape_join(arith.node):
        return None
    while True:
        other = resolutions.resolved(other)
        if isinstance(other, VDerived) and other.kind != Derivation.READ:
            other = other.base
        elif isinstance(other, VArith) and isinstance(other.node, cst.BinaryOperation) and isinstance(other.node.operator, cst.Multiply):
            names = [_factor_names(resolutions, side) for side in (other.left, other.right)]
            maskish = [any(_is_mask_name(n) for n in found) for found in names]
            if maskish.count(True) != 1 or not all(names):
                return None
            other = (other.left, other.right)[maskish.index(False)]
        else:
            return other.slot if isinstance(other, VSlot) else None


def is_added_module_tensor(flow: ProgramFlow, resolutions: Resolutions, arith: VArith, other: Value) -> bool:
    """Is `other`, added to a state by `arith`, a tensor the module owns: a place registered as a
    buffer or a parameter (`h + self.offset` of `self.register_buffer("offset", ...)`), or one that
    holds only learned parameters (`h + self.bias` of `self.bias = nn.Parameter(...)`)? It is an
    offset then, an operand like a number, saved and loaded with the module: a learned initial
    state takes the state's place (passed to the recurrent call, or chosen by a mask or
    `torch.where`), which a sum does not."""
    node = arith.node
    if not (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract))):
        return False
    other = resolutions.resolved(other)
    while isinstance(other, VDerived) and other.kind != Derivation.READ:  # `self.bias.expand_as(h)`
        other = resolutions.resolved(other.base)
    if not isinstance(other, VSlot):
        return False
    if other.slot in flow.registered:
        return True
    made = [binding.value for binding in flow.bindings if binding.target == other.slot]
    if made and all(isinstance(value, VDerived) and id(value.node) in flow.parameters for value in made):
        return True
    # a table of rows made only by creations, not zeros that stay zeros, and added as it is (`h + self.table[ids]` of
    # `self.table = torch.randn(n, H)`): an offset too, never the state (no state is ever put into it)
    return are_offsets(flow, resolutions, other.slot, [resolutions.leaf_of(resolutions.resolved(value)) for value in made])


def are_offsets(flow: ProgramFlow, resolutions: Resolutions, slot: Slot, made: list) -> bool:
    """Are the values the place `slot` is bound to (`made`, leaves) all fresh tensors, not zeros that
    stay zeros? Added to a state, such a place is an offset; zeros that nothing changes once made
    leave c as they leave h."""
    return bool(made) and all(isinstance(one, VCreate) for one in made) and (
        not all(_makes_zeros(one) for one in made) or zeros_changed_by(flow, resolutions, slot, made) is not None
    )


def zeros_changed_by(flow: ProgramFlow, resolutions: Resolutions, slot: Slot, made: list) -> Optional[cst.CSTNode]:
    """Of a place made only of zeros (`made`, leaves), what makes it hold other numbers: a creation
    that training may change (`requires_grad=True`), or code that changes it once made
    (`self.table.fill_(0.5)`, in_place.change_after_made); None when it stays zeros."""
    learned = next((one.node for one in made if _makes_zeros(one) and flagged(one.node, GRADIENT_FLAG)), None)
    return learned if learned is not None else change_after_made(flow, resolutions, slot)


def _makes_zeros(one: Value) -> bool:
    return isinstance(one, VCreate) and isinstance(one.node, cst.Call) and (dotted(one.node.func) or "").rpartition(".")[2] in ZERO_CREATIONS


def _factor_names(resolutions: Resolutions, value: Value) -> list:
    """The names a factor is read from (`["mask"]` of `1 - mask`)."""
    value = resolutions.leaf_of(value)
    if isinstance(value, VArith):
        return _factor_names(resolutions, value.left) + _factor_names(resolutions, value.right)
    name = _leaf_name(value)
    return [] if name is None else [name]


def is_same_shape_join(node) -> bool:
    """Does the operation join two operands of one shape (`h + x`, `h.add_(x)`, `torch.where(m, x, h)`),
    not a product, whose other operand may be a mask?"""
    if isinstance(node, cst.BinaryOperation):
        return isinstance(node.operator, (cst.Add, cst.Subtract))
    if isinstance(node, cst.Call):
        func = node.func
        return (func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)) in SAME_SHAPE_JOINS
    return False


def _leaf_name(leaf: Value) -> Optional[str]:
    node = getattr(leaf, "node", None)
    if node is None:
        return None
    while not isinstance(node, (cst.Name, cst.Attribute)):
        if isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        else:
            return None
    return node.attr.value if isinstance(node, cst.Attribute) else node.value
