"""Packed form: a dict that holds states beside other values, rebuilt key by key from its
`.items()` with each value treated alike (Dreamer's `{k: v[:, -1].detach() for k, v in
post.items()}`). The packed state is one tensor like the other values, so a chain that keeps each
value's last dimension whole (detach, clone, a device move, indexing along the other dimensions,
a product by a factor whose width is followed and is not the hidden size: `v * mask` of
`mask = (1 - is_first).unsqueeze(-1)`) is right for all of them as written; the dict made has the same keys (solve.py follows them), so
the state under its key stays a state there. Anything else done to the values is reported
(MixedIteration), as the tuple form reports it.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import Consumption, Use
from gru2lstm.syntax import walk
from gru2lstm.values import LabelKind, VSlot
from gru2lstm.vocab import KEEP_METHODS
from gru2lstm.rules.base import Invalid, Rule, Valid
from gru2lstm.rules.packed_dims import subscript_touches_last
from gru2lstm.rules.packed_ranks import Ranks, rank_after
from gru2lstm.rules.packed_width import OperandWidths


class PackedUniformValues(Rule):
    uses = ("consumption",)
    summary = "packed: a dict of states and other values rebuilt by key from its `.items()`, each value kept whole along its last dimension"
    valid = (
        Valid(
            """
            core = nn.GRUCell(4, 8)
            state = {"deter": torch.zeros(3, 8), "stoch": torch.zeros(3, 4)}
            for t in range(3):
                state = {"deter": core(state["stoch"], state["deter"]), "stoch": torch.randn(3, 4)}
                state = {k: v.detach() for k, v in state.items()}
            """,
            """
            core = nn.LSTMCell(4, 8)
            state = {"deter": torch.zeros(3, 2 * 8), "stoch": torch.zeros(3, 4)}
            for t in range(3):
                state = {"deter": torch.cat(core(state["stoch"], state["deter"].chunk(2, dim=-1)), dim=-1), "stoch": torch.randn(3, 4)}
                state = {k: v.detach() for k, v in state.items()}
            """,
            state="packed",
        ),
    )
    invalid = (
        Invalid(
            """
            core = nn.GRUCell(4, 8)
            state = {"deter": torch.zeros(3, 8), "stoch": torch.zeros(3, 4)}
            for t in range(3):
                state = {"deter": core(state["stoch"], state["deter"]), "stoch": torch.randn(3, 4)}
                state = {k: v[..., :4] for k, v in state.items()}
            """,
            "G2L101",
            state="packed",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        if use.context != Use.ITERATE_KEY:
            return False
        value = _rebuilt_value(ctx, use.node)
        return value is not None and _kept_whole(ctx, value, _state_ranks(ctx, use))

    def apply(self, ctx, use: Consumption) -> None:
        pass  # kept as written: each value, the packed state too, is one tensor treated alike


def _rebuilt_value(ctx, node: cst.CSTNode) -> Optional[cst.Name]:
    """`v` in the value of `{k: E for k, v in node.items()}`, when E mentions it once and no other
    name of the loop; else None."""
    attribute = ctx.parents.get(node)
    call = ctx.parents.get(attribute)
    loop = ctx.parents.get(call)
    made = ctx.parents.get(loop)
    if not (
        isinstance(attribute, cst.Attribute) and attribute.value is node and attribute.attr.value == "items"
        and isinstance(call, cst.Call) and call.func is attribute and not call.args
        and isinstance(loop, cst.CompFor) and loop.iter is call and not loop.ifs and loop.inner_for_in is None
        and isinstance(made, cst.DictComp) and made.for_in is loop and id(made) in ctx.flow.mirrored_keys
    ):
        return None  # the dict made must keep the keys (solve.py), or its state would be no state
    target = loop.target
    if not (isinstance(target, cst.Tuple) and len(target.elements) == 2 and all(isinstance(e.value, cst.Name) for e in target.elements)):
        return None
    key, value = (element.value.value for element in target.elements)
    if not (isinstance(made.key, cst.Name) and made.key.value == key):
        return None
    spelled = {id(inner.attr) for inner in walk(made.value) if isinstance(inner, cst.Attribute)}
    mentions = [inner for inner in walk(made.value) if isinstance(inner, cst.Name) and inner.value in (key, value) and id(inner) not in spelled]
    if len(mentions) != 1 or mentions[0].value != value:
        return None
    return mentions[0]


def _state_ranks(ctx, use: Consumption) -> Optional[frozenset]:
    """The ranks the states among the dict's values may have (None: one is not known)."""
    classes = ctx.solution.classes
    leaf = ctx.solution.resolutions.leaf_of(use.value)
    if not isinstance(leaf, VSlot):
        return None
    ranks = Ranks(ctx)
    found = [
        ranks.of(VSlot(part, None)) for label, part in classes.parts.get(classes.find(leaf.slot), {}).items()
        if label.kind == LabelKind.KEY and ctx.solution.is_state(part)
    ]
    return None if not found or None in found else frozenset().union(*found)


def _kept_whole(ctx, node: cst.Name, ranks: Optional[frozenset]) -> bool:
    """Is the value expression a chain on `node` of methods that keep a tensor's values
    (vocab.KEEP_METHODS) and of indexing that leaves the last dimension whole?"""
    while True:
        parent = ctx.parents.get(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            call = ctx.parents.get(parent)
            if not (isinstance(call, cst.Call) and call.func is parent and parent.attr.value in KEEP_METHODS):
                return False
            node = call
        elif isinstance(parent, cst.Subscript) and parent.value is node:
            if subscript_touches_last(parent, ranks):
                return False
            ranks = None if ranks is None else rank_after(parent, ranks)
            node = parent
        elif isinstance(parent, cst.BinaryOperation) and isinstance(parent.operator, cst.Multiply):
            if not _scales_alike(ctx, parent.right if parent.left is node else parent.left):
                return False
            node = parent
        else:
            return isinstance(parent, cst.DictComp) and parent.value is node


def _scales_alike(ctx, factor: cst.BaseExpression) -> bool:
    """Does `factor` scale every value of the dict alike, the packed state as a whole (`v * mask`
    of `mask = (1 - done).unsqueeze(-1)`): its width followed to its end (packed_width.py) and not
    as wide as h, nor drawn in the state's shape? What cannot be followed is not trusted here."""
    value = ctx.values_at_nodes.get(id(factor))
    if value is None:
        return False  # not walked as a value: its width cannot be told
    width = OperandWidths(ctx).of(value)
    return width.wide is None and not width.unknown and width.drawn_per_half is None and width.unfollowed is None
