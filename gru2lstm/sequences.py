"""Which list literals keep one slot per position, and which are sequences with one element slot.

`hidden = [belief, mean]; return hidden` whose caller unpacks `belief, mean = model(...)` is a
record: joining its items would make `mean` a hidden state because `belief` is one. A literal
list keeps a part per position (as a tuple does) until it is used as a sequence: given an
element (append, a comprehension or a loop over it), indexed by a variable, a slice or from the
end, iterated, reordered in place (`.reverse()`, `.insert(0, x)`), or batched by torch.cat / torch.stack. Then its positions join its element.

The columns of rows (`cols = tuple(zip(*rows))`) are kept apart the same way: `cols[3]` is the
column whose elements are the position-3 parts of the rows, not one of the rows.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import ProgramFlow
from gru2lstm.slot_classes import Classes
from gru2lstm.syntax import makes_dict
from gru2lstm.values import ELEM, ChildSlot, LabelKind, PosLabel, Resolutions, Slot, VCat, VContainer, VSlot, are_pieces, mapped_slot
from gru2lstm.vocab import REORDERING_BUILTINS, SEQUENCE_BUILTINS


def literal_items(node: cst.CSTNode) -> Optional[list]:
    """The item expressions of `[a, b]` written out with no starred item (each has a known
    position); None for anything else."""
    if not isinstance(node, cst.List) or any(isinstance(element, cst.StarredElement) for element in node.elements):
        return None
    return [element.value for element in node.elements]


def is_literal_list(value: VContainer) -> bool:
    """A list value written out as `[a, b]` (literal_items)."""
    return literal_items(value.node) is not None


def positions_unknown(value: VContainer) -> bool:
    """A list made by code whose positions say nothing of what it was made from: a comprehension
    that does not map a tuple item by item, a display sliced (`[0, zeros][::-1]`), `reversed()` or
    `sorted()`, also inside `list()`/`tuple()`; not the pieces of one tensor (`h.chunk(2)`), nor a
    dict. `list(self.core(x, h))` keeps the positions of what it is given."""
    node = value.node
    if makes_dict(node) or mapped_slot(value) is not None or are_pieces(value):
        return False
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in SEQUENCE_BUILTINS and node.args:
        node = node.args[0].value
    if isinstance(node, cst.Call):
        return isinstance(node.func, cst.Name) and node.func.value in REORDERING_BUILTINS
    return True


def container_items(value: VContainer) -> list:
    """(label, item) for each item of a list/dict literal or constructor: a literal list's items
    under their positions, the others under their own labels."""
    if is_literal_list(value):
        return [(PosLabel.of(position), item) for position, (_, item) in enumerate(value.items)]
    return list(value.items)


def used_as_sequences(flow: ProgramFlow, classes: Classes, resolutions: Resolutions) -> set:
    """The roots of the classes that some code uses as a sequence (not only by constant index)."""
    found = {classes.find(view) for view, _ in flow.value_views} | {classes.find(slot) for slot in flow.reordered}
    for index in flow.indexes:
        base = resolutions.resolved(index.base)
        if isinstance(base, VSlot) and (index.position is None or index.position < 0):
            found.add(classes.find(base.slot))
    for value in [binding.value for binding in flow.bindings] + [use.value for use in flow.consumptions]:
        leaf = resolutions.leaf_of(value)
        container = resolutions.resolved(leaf.container) if isinstance(leaf, VCat) else None
        if isinstance(container, VSlot):
            found.add(classes.find(container.slot))
    return found


def join_sequences(flow: ProgramFlow, classes: Classes, resolutions: Resolutions, literals: list) -> None:
    """Join the positions of each literal list used as a sequence into its element (a list made by
    code has its element from the start: its positions always join)."""
    sequences = used_as_sequences(flow, classes, resolutions)
    for target in literals:
        root = classes.find(target)
        if root not in sequences and classes.part(root, ELEM) is None:
            continue
        for label, part in list(classes.parts[root].items()):
            if label.kind == LabelKind.POS:
                classes.union(ChildSlot.of(classes.find(root), ELEM), part)


def element_label(classes: Classes, container: Slot, position) -> object:
    """The label a constant index of a container reads: its position while the container is a
    literal list kept positional (no element part), else its element."""
    if position is not None and position >= 0 and classes.part(container, ELEM) is None:
        if classes.part(container, PosLabel.of(position)) is not None:
            return PosLabel.of(position)
    return ELEM


def zip_columns(flow: ProgramFlow, classes: Classes, zips: list) -> list:
    """The columns read by a constant index of columns of rows (`zips`: [(target slot, rows slot)]
    for `target = zip(*rows)`): position i of the target is a container whose element is the
    position-i part of every row. Returns the columns, containers for the solver to mark."""
    rows_of = {classes.find(target): rows for target, rows in zips}
    columns = []
    for index in flow.indexes:
        if not isinstance(index.base, VSlot) or index.position is None or index.position < 0:
            continue
        rows = rows_of.get(classes.find(index.base.slot))
        if rows is not None:
            column = ChildSlot.of(index.base.slot, PosLabel.of(index.position))
            classes.union(ChildSlot.of(column, ELEM), ChildSlot.of(ChildSlot.of(rows, ELEM), PosLabel.of(index.position)))
            columns.append(column)
    return columns
