"""Packed form: a state reshaped so that its last dimension is merged with another.

The packed state keeps h and c side by side along its last dimension. `h.permute(1, 0, 2).reshape(B, -1)`
of an (L, B, 2H) state gives rows `[h_0 c_0 h_1 c_1]`: stored and reshaped back, that is still the
state; read as features, its first half is layer 0's h and c, not the h of every layer. This module
finds the reshape that made such a value, for the features rule to report it.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.rules.packed_dims import moved_from
from gru2lstm.rules.packed_ranks import Ranks, integer, name_of, sizes_written
from gru2lstm.values import Value, VDerived, VIndex
from gru2lstm.vocab import FLATTEN_DIMS, FLATTEN_METHOD, RESHAPE_METHODS, STATE_RANKS


def merging_reshape(ctx, value: Value) -> Optional[cst.Call]:
    """The reshape that made what `value` holds (through the names that carry it) and merges the
    state's last dimension with another, else None. The reshape nearest to the value decides: one
    further back may have been undone (`rows.view(B, L, H)` of rows stored as `h.reshape(N, -1)`)."""
    ranks = Ranks(ctx)
    for source in moved_from(ctx, value):
        current = source
        while isinstance(current, (VDerived, VIndex)):
            node = current.node
            if isinstance(node, cst.Call) and name_of(node) in RESHAPE_METHODS | {FLATTEN_METHOD}:
                if _merges_last(node, ranks.of(current.base)):
                    return node
                break
            current = ctx.solution.resolved(current.base)
    return None


def _merges_last(node: cst.Call, known: Optional[frozenset]) -> bool:
    """Does the reshape `node` of a tensor of these ranks (None: not known, any a state has) merge
    its last dimension with the one before?"""
    ranks = known or frozenset(STATE_RANKS.values())
    if name_of(node) == FLATTEN_METHOD:
        dims = _flatten_dims(node)
        if dims is None:
            return True
        start, end = dims
        return any(_last(end, rank) and start % rank < rank - 1 for rank in ranks)
    sizes = sizes_written(node)
    if not sizes:
        return True
    # the last size written as the last dimension's own (`h.size(-1)`, `self.hidden`) keeps it whole
    return any(len(sizes) < rank for rank in ranks) and _merged_size(sizes[-1])


def _merged_size(size: cst.BaseExpression) -> bool:
    """Is the last size of a reshape one that takes in other dimensions: `-1`, or a product (`L * H`)?"""
    return integer(size) == -1 or (isinstance(size, cst.BinaryOperation) and isinstance(size.operator, cst.Multiply))


def _flatten_dims(node: cst.Call) -> Optional[tuple]:
    """(start_dim, end_dim) of `t.flatten(...)`, defaults (0, -1); None where one is not an integer."""
    dims = [0, -1]
    positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
    named = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
    for name, position in FLATTEN_DIMS.items():
        given = named.get(name, positional[position] if position < len(positional) else None)
        if given is not None:
            dims[position] = integer(given)
    return None if None in dims else tuple(dims)


def _last(dim: int, rank: int) -> bool:
    return dim % rank == rank - 1
