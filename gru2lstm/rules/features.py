"""Features: a state read as features (`h[-1]`, `h.squeeze(0)` read by a head, a head's argument)
reads `h` only (`h[0][-1]`; packed: `h.chunk(2, dim=-1)[0][-1]`); a GRUCell used as a plain
layer reads `[0]` of the LSTMCell's pair; sizes and `is None` tests read nothing to change."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import libcst as cst
import libcst.metadata as meta

from gru2lstm.apply import index
from gru2lstm.in_place import changed_storage
from gru2lstm.program import BindingKind, Consumption, Use, follow_remedy
from gru2lstm.solve import recurrent_hidden_argument
from gru2lstm.syntax import compared_parts, slice_expression, walk
from gru2lstm.values import DefSlot, Derivation, SlotKind, Value, VArith, VCallOf, VCat, VContainer, VDerived, VSlot
from gru2lstm.vocab import (
    CELL_KIND, COPYING_METHODS, GRADIENT_ATTRIBUTE, IN_PLACE_SUFFIX, NUMEL_METHOD, SEQUENCE_BUILTINS, SHAPE_ATTRIBUTE, SIZE_METHOD,
    SIZE_READS,
)
from gru2lstm.rules.base import BindingUse, Invalid, Rule, StateBindingRule, Valid, consume, takes_a_state
from gru2lstm.rules.call import checked_call
from gru2lstm.rules.edits import method
from gru2lstm.rules.packed import options, packed_size_read, returned_places, sizes_to_the_last, unpacked_last_size
from gru2lstm.rules.packed_dims import number_moved_in
from gru2lstm.rules.packed_merge import merging_reshape
from gru2lstm.rules.packed_ranks import Ranks, integer


def plain_cell_call(ctx, call: VCallOf) -> bool:
    """Is `call` a GRUCell used as a plain layer: no state passed in, and its result (a state by
    kind) held nowhere, only read?"""
    if ctx.solution.recurrent_calls.get(id(call)) != CELL_KIND or recurrent_hidden_argument(call) is not None:
        return False
    classes = ctx.solution.classes
    root = classes.find(call.result)
    return all(slot == call.result or classes.find(slot) != root for slot in list(classes.parent))


def cell_output(ctx, value: Value) -> bool:
    """Is `value` the result of a GRUCell call, used where it is not bound as a state?"""
    return not ctx.packed and isinstance(value, VCallOf) and ctx.solution.recurrent_calls.get(id(value)) == CELL_KIND


def _reads_sizes(ctx, value: Value) -> bool:
    """Is every read in the chain of `value` a size (`h.size(0)`, `h.shape[-1]`), not a value
    computed from the state's numbers (`h.sum(0)`, `h.norm()`)?"""
    value = ctx.solution.resolved(value)
    while isinstance(value, VDerived):
        if value.kind == Derivation.READ:
            node = value.node.func if isinstance(value.node, cst.Call) else value.node
            if not isinstance(node, cst.Attribute) or node.attr.value not in SIZE_READS:
                return False
        value = ctx.solution.resolved(value.base)
    return True


def _last_size_read(ctx, value: Value) -> Optional[cst.BaseExpression]:
    """The read of the last size in the chain of `value` (`h.shape[-1]`, `h.size(-1)`; `h.shape[2]`,
    `h.size(2)` of a state of rank 3), or of the sizes up to the last compared with others
    (`h.shape == (1, B, H)`, `h.size()[1:] != (B, H)`), if any."""
    value = ctx.solution.resolved(value)
    compared = _compared_shape(ctx, value.node)
    while isinstance(value, VDerived):
        node = value.node
        if node is compared:
            return node
        dimension = _dimension_read(node)
        if dimension is not None and _is_the_last(ctx, dimension, ctx.solution.resolved(value.base)) or _counts_elements(node):
            return node
        value = ctx.solution.resolved(value.base)
    return None


def _counts_elements(node: cst.BaseExpression) -> bool:
    """Is `node` a count of a tensor's elements (`h.numel()`), a product of its sizes, the last among them?"""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == NUMEL_METHOD and not node.args


def _dimension_read(node: cst.BaseExpression) -> Optional[int]:
    """The dimension whose size `node` reads (`x.shape[d]`, `x.size(d)`), if it is written as an integer."""
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.value, cst.Attribute):
        if node.value.attr.value == SHAPE_ATTRIBUTE and isinstance(node.slice[0].slice, cst.Index):
            return integer(slice_expression(node.slice[0]))
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == SIZE_METHOD:
        return integer(node.args[0].value) if len(node.args) == 1 else None
    return None


def _is_the_last(ctx, dimension: int, read: Value) -> bool:
    """Is `dimension` the last of `read`, the tensor whose size is read: -1, or counted from the
    front where every rank it may have says so (`h.size(2)` of what an nn.GRU gives)?"""
    if isinstance(read, VDerived) and isinstance(read.node, cst.Attribute) and read.node.attr.value == SHAPE_ATTRIBUTE:
        read = ctx.solution.resolved(read.base)  # `h.shape[2]`: of `h`
    if dimension < 0:
        return dimension == -1
    ranks = Ranks(ctx).of(read)
    return ranks is not None and all(dimension == rank - 1 for rank in ranks)


def _compared_shape(ctx, node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`node` when it reads a state's sizes up to the last (`_sizes_to_the_last`) and they are
    compared for (in)equality, as they are or as a sequence (`h.shape == (1, B, H)`,
    `tuple(h.shape) != shape`): the last size is among the sizes compared."""
    if not sizes_to_the_last(node):
        return None
    compared = node
    parent = ctx.parents.get(node)
    if isinstance(parent, cst.Arg) and isinstance(ctx.parents.get(parent), cst.Call):
        call = ctx.parents[parent]
        if isinstance(call.func, cst.Name) and call.func.value in SEQUENCE_BUILTINS and len(call.args) == 1:
            compared, parent = call, ctx.parents.get(call)
    if not isinstance(parent, cst.Comparison) or not any(part is compared for part in compared_parts(parent)):
        return None
    return node if all(isinstance(target.operator, (cst.Equal, cst.NotEqual)) for target in parent.comparisons) else None


def _tensor_sized(node: cst.BaseExpression) -> cst.BaseExpression:
    """The tensor whose sizes `node` reads (`h` of `h.shape[1:]`, `h.size()`)."""
    if isinstance(node, cst.Subscript):
        node = node.value
    if isinstance(node, cst.Call):
        node = node.func
    return node.value


def _held_in(ctx, size: cst.BaseExpression) -> Optional[cst.Name]:
    """The local name `size` is held in (`size = h.size(-1)`), if it is bound to one alone."""
    parent = ctx.parents.get(size)
    if isinstance(parent, cst.Assign) and parent.value is size and len(parent.targets) == 1:
        target = parent.targets[0].target
    elif isinstance(parent, cst.AnnAssign) and parent.value is size:
        target = parent.target
    else:
        return None
    return target if isinstance(target, cst.Name) else None


def _reads_of(ctx, name: cst.Name) -> list:
    """The names that read what `name` is bound to, by Python's scopes (LibCST's, resolved for a
    module only when a size is held there; the flow does not record a name read in a slice)."""
    scope = ctx.wrappers[ctx.key_of(name)].resolve(meta.ScopeProvider).get(name)
    if scope is None:
        return []
    return [access.node for assignment in scope.assignments[name] if assignment.node is name for access in assignment.references]


def _kept(ctx, size: cst.BaseExpression) -> bool:
    """Is `size` kept for later (bound to a name or an attribute, returned; alone or in a tuple:
    `return v, size`), not used where it is?"""
    return _keeper(ctx, size) is not None


def _keeper(ctx, size: cst.BaseExpression):
    """The statement that keeps `size` (see `_kept`) and its position in the tuple kept (None: alone)."""
    node, parent, position = size, ctx.parents.get(size), None
    if isinstance(parent, cst.Element) and isinstance(ctx.parents.get(parent), cst.Tuple):
        position = ctx.parents[parent].elements.index(parent)
    while isinstance(parent, (cst.Element, cst.Tuple)):
        node, parent = parent, ctx.parents.get(parent)
    if isinstance(parent, (cst.Assign, cst.AnnAssign, cst.Return)) and parent.value is node:
        return parent, position
    return None


def _returned_uses(ctx, returning: cst.Return, position: Optional[int]) -> list:
    """Where callers use what `returning` returns (at `position` of the tuple returned): the reads
    of the names they bind it to (`h, size = self.core(obs, h)`, `size = out[1]`) and where they
    use it at once (`10 - self.core(obs, h)[1]`)."""
    wanted = {place for _, place in returned_places(ctx, position, ctx.parents.get(returning))}

    def is_returned(value: Value) -> bool:
        value = ctx.solution.resolved(value)
        return isinstance(value, VSlot) and ctx.solution.classes.find(value.slot) in wanted

    read = [use.value for use in ctx.flow.consumptions] + [operand for arith in ctx.flow.arithmetic for operand in (arith.left, arith.right)]
    uses = [value.node for value in read if is_returned(value)]
    for binding in ctx.flow.bindings:
        if binding.kind == BindingKind.ASSIGN and isinstance(binding.target_node, cst.Name) and is_returned(binding.value):
            uses.extend(_reads_of(ctx, binding.target_node))
    return uses


def _no_state_use(ctx, size: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """Where the last size `size` is used for something that is no state (`to - h.shape[-1]`, or
    `to - size` after `size = h.size(-1)` or `h, size = self.core(obs, h)` of a function returning
    it), if it is. A size kept any other way (returned to no name, bound to an attribute, handed on
    to another name) keeps the packed layout's size, as a size read from any tensor does: it
    usually sizes a new state."""
    held = _held_in(ctx, size)
    keeper = _keeper(ctx, size)
    if held is not None:
        uses = _reads_of(ctx, held)
    elif keeper is not None and isinstance(keeper[0], cst.Return):
        uses = _returned_uses(ctx, *keeper)
    else:
        return None if keeper is not None or _sizes_a_state(ctx, size) else size
    return next((use for use in uses if not _kept(ctx, use) and not _sizes_a_state(ctx, use)), None)


def _line_in(ctx, node: cst.CSTNode, seen_from: cst.CSTNode) -> str:
    """`line N` of `node`, with its file's name where it is not the file of `seen_from`."""
    if ctx.key_of(node) == ctx.key_of(seen_from):
        return f"line {ctx.line(node)}"
    return f"line {ctx.line(node)} of {Path(ctx.key_of(node)).name}"


def _sizes_a_state(ctx, size: cst.BaseExpression) -> bool:
    """Is `size` given to a call that makes a state (`torch.zeros(n, h.shape[-1])`, `h.view(-1,
    h.size(-1))`)? There the packed width is the one wanted."""
    parent = ctx.parents.get(size)
    while parent is not None and not isinstance(parent, (cst.Call, cst.BaseStatement)):
        parent = ctx.parents.get(parent)
    if not isinstance(parent, cst.Call):
        return False
    made = ctx.values_at_nodes.get(id(parent))
    if made is not None and ctx.solution.value_is_state(made):
        return True
    for binding in ctx.flow.bindings:  # `h = torch.zeros(n, h.shape[-1])`, also through a return
        if ctx.solution.is_state(binding.target):
            for value in options(ctx, ctx.solution.resolved(binding.value)):  # also `zeros(n, size) if t else h`
                while isinstance(value, VDerived) and value.node is not parent:
                    value = ctx.solution.resolved(value.base)
                if getattr(value, "node", None) is parent:
                    return True
    return False


def _last_size_found(ctx, last: cst.BaseExpression, use: cst.BaseExpression) -> None:
    """Report `last`, a read of the packed state's last size, used at `use` for what is no state."""
    if _dimension_read(last) is None and not _counts_elements(last) and use is last:  # `h.shape == (1, B, H)`
        ctx.find(
            "G2L100", last,
            f"`{ctx.code(last)}` reads the sizes of the packed state, the last of which is twice the hidden size now, "
            "and they are compared here with sizes that took the hidden size; compare the sizes of h alone "
            f"(`{ctx.code(_tensor_sized(last))}.chunk(2, dim=-1)[0].shape`), or use --state tuple",
        )
        return
    if use is last:
        where = "it is used here"
    elif isinstance(use, cst.Name):
        where = f"`{ctx.code(use)}`, which holds it, is used at {_line_in(ctx, use, last)}"
    else:
        where = f"it is used as `{ctx.code(use)}` at {_line_in(ctx, use, last)}"
    if _dimension_read(last) is not None:
        what = "the last size of the packed state, which is twice the hidden size now"
    elif _counts_elements(last):
        what = "the number of elements of the packed state, twice the GRU state's now"
    else:
        what = "the sizes of the packed state, the last of which is twice the hidden size now"
    ctx.find(
        "G2L100", last,
        f"`{ctx.code(last)}` reads {what}, "
        f"and {where} for something that is no state, which took the hidden size; read the hidden "
        "size from the module (`hidden_size`), or use --state tuple",
    )


def _packed_last_size_found(ctx, value: Value) -> None:
    """Packed: report the read of the state's last size in the chain of `value` (sizes only), used for what is no state."""
    last = _last_size_read(ctx, value)
    use = _no_state_use(ctx, last) if last is not None else None
    if use is not None and ctx.claim(last):
        _last_size_found(ctx, last, use)


def packed_sizes_in(ctx, top: cst.CSTNode) -> None:
    """Packed: report each read of a state's last size inside `top`, an operand computed with the
    state (`h / h.size(-1) ** 0.5`), used for what is no state: read from [h|c], it is twice what
    the GRU code computed with."""
    for node in walk(top):
        value = ctx.values_at_nodes.get(id(node))
        if value is None or ctx.solution.resolutions.chain_kind(value) != Derivation.READ or not _reads_sizes(ctx, value):
            continue
        leaf = ctx.solution.resolutions.leaf_of(value)
        if isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot):
            _packed_last_size_found(ctx, value)


def _unpacked_last_size_found(ctx, binding) -> bool:
    """Packed: report the last size of a state unpacked into a name (`L, B, H = h.shape`) and used
    for what is no state (`x[:, :H]`); True when `binding` binds such a name."""
    sizes = unpacked_last_size(ctx, binding)
    if sizes is None:
        return False
    uses = _reads_of(ctx, binding.target_node)
    use = next((use for use in uses if not _kept(ctx, use) and not _sizes_a_state(ctx, use)), None)
    if use is not None and ctx.claim(sizes):
        _last_size_found(ctx, sizes, use)
    return True


def _gradient_read(ctx, value: Value) -> Optional[cst.Attribute]:
    """The read of the gradient (`h.grad`) in the chain of `value`, if any."""
    value = ctx.solution.resolved(value)
    while isinstance(value, VDerived):
        if isinstance(value.node, cst.Attribute) and value.node.attr.value == GRADIENT_ATTRIBUTE:
            return value.node
        value = ctx.solution.resolved(value.base)
    return None


def gradient_found(ctx, value: Value) -> bool:
    """Report a gradient read of a state (`h.grad`): the LSTM's state has one gradient per half,
    and `h.chunk(2, dim=-1)[0].grad` of a packed one, a view, has none (None: a crash, exit 0)."""
    read = _gradient_read(ctx, value)
    leaf = ctx.solution.resolutions.leaf_of(value)
    if read is None or not (isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot)):
        return False  # `param.grad` of `model.parameters()`, bound where a state's features are looked for
    if ctx.claim(read):
        ctx.find(
            "G2L100", read,
            f"`{ctx.code(read)}` reads the gradient of the hidden state; the LSTM's state is the pair (h, c), each half "
            "with its own gradient (packed: side by side in one), so the engine cannot tell which one this code wants; "
            "use the gradient of h by hand (`h[0].grad` of the pair, `h.grad.chunk(2, dim=-1)[0]` of the packed state)",
        )
    return True


def feature_read(ctx, value: Value) -> None:
    """A state read as features (or for its shape) reads `h` only."""
    if gradient_found(ctx, value):
        return
    value = ctx.solution.resolved(value)
    leaf = ctx.solution.resolutions.leaf_of(value)
    if isinstance(leaf, VCat) and _stored_batch(ctx, leaf):
        _stored_batch_read(ctx, leaf)
        return
    if isinstance(leaf, VCat) and isinstance(ctx.solution.resolved(leaf.container), VContainer):
        for _, item in ctx.solution.resolved(leaf.container).items:  # torch.cat([h[-1], x], -1)
            feature_read(ctx, item)
        return
    if isinstance(leaf, VArith):  # `h.norm() + 1`: an operation on what is read, neither side a state
        feature_read(ctx, leaf.left)
        feature_read(ctx, leaf.right)
        return
    if cell_output(ctx, leaf):
        # `F.relu(self.cell(x))`: a GRUCell's output is its h; an LSTMCell's is (h, c).
        if ctx.claim(leaf.node):
            ctx.edit_expression(leaf.node, lambda updated, mapping: index(updated, 0))
            ctx.step("features", leaf.node)
        return
    if not isinstance(leaf, VSlot) or leaf.node is None or not ctx.solution.is_state(leaf.slot):
        return
    if (not ctx.packed and ctx.solution.is_split(leaf.slot)) or ctx.is_rewritten(leaf.node):
        return  # a split name is h already; packed form splits nothing
    if ctx.packed and ctx.solution.resolutions.chain_kind(value) == Derivation.READ and _reads_sizes(ctx, value):
        # sizes of a packed state are the packed layout's; only its h feeds features (`h.sum(0)` too)
        _packed_last_size_found(ctx, value)
        return
    size = packed_size_read(ctx, value) if ctx.packed else None
    if size is not None:
        if ctx.claim(size):
            ctx.find(
                "G2L100", size,
                f"`{ctx.code(size)}` was read from the packed state, so it is twice the hidden size, and `h` read as "
                "features here takes the hidden size; use a size that is not read from the state, or use --state tuple",
            )
        return
    if value is leaf and not isinstance(value, VSlot):
        return
    merged = merging_reshape(ctx, leaf) if ctx.packed else None
    if merged is not None:
        if ctx.claim(leaf.node):
            ctx.find(
                "G2L100", leaf.node,
                f"`{ctx.code(leaf.node)}` is read as features here, and it was made by `{ctx.code(merged)}`, which merges "
                "the last dimension of the packed state, where h and c sit side by side, with another: its first half "
                "would hold c too; read the features from the state before it is reshaped, or use --state tuple",
            )
        return
    number = number_moved_in(ctx, leaf) if ctx.packed else None
    if number is not None:
        if ctx.claim(leaf.node):
            ctx.find(
                "G2L100", leaf.node,
                f"`{ctx.code(leaf.node)}` is read as features here, and it may hold the number `{ctx.code(number.node)}` "
                f"(line {ctx.line(number.node)}), which shares its place with the hidden state, so the packed form would cut "
                "it as a state (`.chunk(2, dim=-1)[0]`); keep the hidden state apart from other values, or use --state tuple",
            )
        return
    ctx.claim(leaf.node)
    if ctx.packed:
        ctx.edit_expression(leaf.node, lambda updated, mapping: index(method(updated, "chunk", "2, dim=-1"), 0))
    else:
        ctx.edit_expression(leaf.node, lambda updated, mapping: index(updated, 0))
    ctx.step("features", leaf.node)


def _stored_batch_read(ctx, cat: VCat) -> None:
    """`torch.stack(list(self.recent)).mean(0)`: a batch of the states a list keeps, read as
    features, reads the h of each (`[pair[0] for pair in ...]`); packed, the h half of the batch,
    when it is joined along the first dimension (along another, it may be the packed one)."""
    if not ctx.claim(cat.node):
        return
    if ctx.packed and not _along_first(cat.node):
        ctx.find(
            "G2L100", cat.node,
            f"`{ctx.code(cat.node)}` joins stored hidden states along a dimension that may be the last, where the packed "
            "form keeps h and c side by side, and is read as features; join them along dimension 0, or use --state tuple",
        )
        return
    if ctx.packed:
        ctx.edit_expression(cat.node, lambda updated, mapping: index(method(updated, "chunk", "2, dim=-1"), 0))
    else:
        batched = cat.node.args[0].value
        ctx.edit_expression(batched, lambda updated, mapping: cst.ListComp(
            index(cst.Name("pair"), 0), cst.CompFor(target=cst.Name("pair"), iter=updated)
        ))
    ctx.step("features", cat.node)


def _stored_batch(ctx, cat: VCat) -> bool:
    """Does `cat` join the states a list keeps (`torch.stack(hist)`, `torch.stack(list(hist))`),
    rather than states written out (`torch.cat([h_a, h_b], -1)`)?"""
    container = ctx.solution.resolved(cat.container)
    if isinstance(container, VContainer):  # `list(hist)`, `hist[-k:]`: the elements iterated
        return bool(container.items) and all(
            isinstance(item, VSlot) and item.node is None and ctx.solution.is_state(item.slot) for _, item in container.items
        )
    return isinstance(container, VSlot) and ctx.solution.is_container(container.slot) and ctx.solution.elements_are_state(container)


def _along_first(call: cst.Call) -> bool:
    """Is `torch.stack(xs)` / `torch.cat(xs, dim=0)` joined along dimension 0 (the default)?"""
    rest = call.args[1:]
    return not rest or (
        len(rest) == 1 and (rest[0].keyword is None or rest[0].keyword.value == "dim") and isinstance(rest[0].value, cst.Integer) and rest[0].value.value == "0"
    )


def reads_a_state(ctx, value: Value) -> bool:
    """Is an operand of arithmetic that holds no state (`h.norm() + 1`) read from a state?"""
    leaf = ctx.solution.resolutions.leaf_of(value)
    if isinstance(leaf, VArith):
        return reads_a_state(ctx, leaf.left) or reads_a_state(ctx, leaf.right)
    return isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot)


class FeatureBinding(Rule):
    step = "features"
    uses = ("binding",)
    summary = (
        "a value bound where no state is held, made from a state, reads `h` only; a name bound to a view of "
        "a state (`h = buf[t]`) and changed in place (`h *= mask`, `h.zero_()`, `h.data.zero_()`, "
        "`nn.init.zeros_(h)`, `torch.mul(x, m, out=h)`, `F.relu(h, inplace=True)`) is a finding: c would not change"
    )
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(8, 16)
                    self.head = nn.Linear(16, 2)

                def forward(self, x, h):
                    out, h = self.core(x, h)
                    last = h[-1]
                    return self.head(last), h
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.core = nn.LSTM(8, 16)
                    self.head = nn.Linear(16, 2)

                def forward(self, x, h):
                    out, h = self.core(x, h)
                    last = h[0][-1]
                    return self.head(last), h
            """,
        ),
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            buf = torch.zeros(3, 1, 2, 8)
            for t in range(2):
                h = buf[t]
                h *= 0.5
                out, new = core(torch.randn(1, 2, 4), buf[t])
                buf[t + 1].copy_(new)
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return not ctx.solution.is_state(use.binding.target)

    def apply(self, ctx, use: BindingUse) -> None:
        changed = _aliased_change(ctx, use)
        if changed is not None:
            # the name shares the state's storage: reading h alone, its change would leave c as it was
            name, change = changed
            binder = "the call at line" if use.binding.kind == BindingKind.ARG else "line"
            ctx.find(
                "G2L100", change,
                f"`{ctx.code(change)}` changes in place `{name}`, which {binder} "
                f"{ctx.line(use.binding.statement)} binds to a view of the hidden state; with the LSTM that name reads "
                "h alone, so c would not change with it (a reset would keep c); write the change where the state is held, "
                "or on both halves by hand",
            )
            return
        written = _rows_of_rows_written(ctx, use.binding)
        if written is not None:
            target = use.binding.target_node
            ctx.find(
                "G2L100", target,
                f"`{ctx.code(target)}` writes into `{ctx.code(written)}`, which holds the hidden state, through a second "
                "subscript, which the engine would write into h alone, so c would keep its old values there (a reset would "
                "keep c); index the rows in one subscript (`hs[t, :, i] = 0`), or write both halves by hand",
            )
            return
        sizes = _sizes_unpacked(ctx, use.binding)
        if sizes is not None:  # `L, B, H = h.shape`: the name's value is a part the walk does not tell
            if not (ctx.packed and _unpacked_last_size_found(ctx, use.binding)):
                feature_read(ctx, sizes)
            return
        feature_read(ctx, use.value)


def _rows_of_rows_written(ctx, binding) -> Optional[cst.BaseExpression]:
    """The rows of a state that `binding` writes into through another subscript (`hs[t + 1]` of
    `hs[t + 1][:, i] = 0`, `hs` holding the state), else None."""
    target, slot = binding.target_node, binding.target
    if not isinstance(target, cst.Subscript) or not isinstance(target.value, cst.Subscript) or slot.kind != SlotKind.CHILD:
        return None
    for value in ctx.values_bound_to.get(slot.base, ()):  # what `hs[t + 1]` reads
        leaf = ctx.solution.resolutions.leaf_of(ctx.solution.resolved(value))
        if isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot) and not ctx.solution.is_container(leaf.slot):
            return target.value
    return None


def _sizes_unpacked(ctx, binding) -> Optional[Value]:
    """The sizes of a state (`h.shape`, `h[-1].size()`) unpacked into names, one of them bound by
    `binding`, else None."""
    for unpacking in ctx.flow.unpackings:
        if unpacking.statement is binding.statement and any(element.node is binding.target_node for element in unpacking.elements):
            value = ctx.solution.resolved(unpacking.value)
            leaf = ctx.solution.resolutions.leaf_of(value)
            if isinstance(value, VDerived) and _reads_sizes(ctx, value) and isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot):
                return unpacking.value
    return None


def _aliased_change(ctx, use: BindingUse):
    """The name bound to a view of a state (`h = buf[t]`, no copy between; a parameter given one)
    and its first in-place change (`h *= m`, `h[i] = 0`, `h.zero_()`) where it is bound, else None."""
    if not _view_of_state(ctx, use.value):
        return None
    target, scope = use.binding.target_node, None
    if use.binding.kind == BindingKind.ARG:  # a parameter, changed in its function
        target, scope = _parameter(ctx, use.binding.target)
    elif isinstance(target, (cst.Name, cst.Attribute)):
        # an attribute may be changed by any method of its class
        scope = _enclosing(ctx, use.binding.statement, (cst.ClassDef,) if isinstance(target, cst.Attribute) else (cst.FunctionDef,))
    if scope is None:
        return None
    name = ctx.code(target)
    for changed, change in _in_place_changes(ctx, scope):
        if ctx.code(changed_storage(changed)) == name:
            return name, change
    return None


def _view_of_state(ctx, value: Value) -> bool:
    """Is `value` a state, or a chain on one that keeps its storage (indexing, `.view`, `.detach()`)?"""
    if not ctx.solution.value_is_state(value):
        return False
    value = ctx.solution.resolved(value)
    while isinstance(value, VDerived):
        node = value.node
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in COPYING_METHODS:
            return False
        value = ctx.solution.resolved(value.base)
    return True


def _parameter(ctx, slot):
    """The name of the parameter a DefSlot defines, and its function (None, None if none does)."""
    for info in ctx.flow.functions.values():
        for param in info.params:
            if DefSlot.of(id(param.node.name)) == slot:
                return param.node.name, info.node
    return None, None


def _enclosing(ctx, node, kinds):
    """The nearest node of `kinds` above `node`, else its module."""
    while node is not None and not isinstance(node, (cst.Module, *kinds)):
        node = ctx.parents.get(node)
    return node


def _in_place_changes(ctx, scope):
    """What is changed in place under `scope`, and by what (pairs): targets of augmented assignments
    and of assignments to an item, objects of methods ending in `_` (torch's in-place ones), and the
    arguments a library function changes (`nn.init.zeros_(row)`, `torch.mul(h, m, out=row)`)."""
    found = []

    class Changes(cst.CSTVisitor):
        def visit_AugAssign(self, node):
            found.append((node.target, node))

        def visit_Assign(self, node):
            found.extend((target.target, node) for target in node.targets if isinstance(target.target, cst.Subscript))

        def visit_Call(self, node):
            if isinstance(node.func, cst.Attribute) and node.func.attr.value.endswith(IN_PLACE_SUFFIX):
                found.append((node.func.value, node))
            found.extend((changed, node) for changed in ctx.flow.changed_arguments.get(id(node), ()))

    scope.visit(Changes())
    return found


class FeaturesKept(StateBindingRule):
    summary = "a holder of the state that receives features of a state (`F.relu(h)`, a method the engine does not know) is a finding"
    invalid = (
        Invalid(
            """
            import torch.nn.functional as F

            core = nn.GRU(4, 8)
            h = torch.zeros(1, 2, 8)
            for step in range(3):
                out, h = core(torch.ones(1, 2, 4), h)
                h = F.relu(h)
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return ctx.solution.is_state(use.binding.target) and _features_read(ctx, use.value) is not None

    def rewrite(self, ctx, use: BindingUse) -> None:
        # an activation of c is no state the LSTM would carry (lstm_cell.py checks that c reaches none)
        read = _features_read(ctx, use.value)
        leaf = ctx.solution.resolutions.leaf_of(use.value)
        target = use.binding.target_node
        kept = f"`{ctx.code(target)}` keeps the result as the hidden state" if target is not None else "the result is kept as the hidden state"
        ctx.find(
            "G2L100", read.node,
            f"`{ctx.code(read.node)}` makes features from the hidden state `{ctx.code(leaf.node)}` (an activation, a softmax, "
            f"or a method the engine does not know), and {kept}; the LSTM's state is the pair (h, c), and the engine "
            "cannot tell what c should become; write both halves by hand",
        )


def _features_read(ctx, value: Value):
    """The read of features (a READ derivation) in the chain of a value made from a state, else None."""
    resolutions = ctx.solution.resolutions
    leaf = resolutions.leaf_of(value)
    if not isinstance(leaf, VSlot) or leaf.node is None or not ctx.solution.is_state(leaf.slot):
        return None
    value = resolutions.resolved(value)
    while isinstance(value, VDerived):
        if value.kind == Derivation.READ:
            return value if value.node is not None else None
        value = resolutions.resolved(value.base)
    return None


class CallArguments(Rule):
    step = "features"
    uses = ("call",)
    summary = "a state passed to a head reads `h` only; passed to code not followed, it is consumed there"

    def apply(self, ctx, call: VCallOf) -> None:
        if id(call) in ctx.solution.forwarded:
            return  # its arguments are bindings of the forward() it runs
        func = ctx.solution.resolved(call.func)
        heads = isinstance(func, VSlot) and ctx.solution.is_module(func.slot)
        for keyword, value, arg in call.args:
            if heads:
                feature_read(ctx, ctx.solution.resolved(value))
            else:
                consume(ctx, value, Use.UNKNOWN, arg.value, f"passed to `{ctx.code(call.node.func)}`{ctx.unfollowed(call)}", ctx.flow.origin(call))


class CellOutput(Rule):
    step = "features"
    uses = ("consumption",)
    summary = "a GRUCell used as a plain layer (`F.relu(self.cell(x))`) reads `[0]`: an LSTMCell returns (h, c)"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell = nn.GRUCell(4, 8)

                def forward(self, x):
                    return torch.relu(self.cell(x))
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.cell = nn.LSTMCell(4, 8)

                def forward(self, x):
                    return torch.relu(self.cell(x)[0])
            """,
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return cell_output(ctx, ctx.solution.resolutions.leaf_of(use.value))

    def apply(self, ctx, use: Consumption) -> None:
        leaf = ctx.solution.resolutions.leaf_of(use.value)
        if use.context == Use.UNKNOWN and recurrent_hidden_argument(leaf) is not None:
            ctx.find("G2L101", use.node, f"the new hidden state `{ctx.code(leaf.node)}` is {use.why or 'used here'}; {follow_remedy(use.place)}", use.place)
        elif use.context not in (Use.ISNONE, Use.DISCARD):
            feature_read(ctx, use.value)  # a cell used as a plain layer: its output is h


class PlainCellCall(Rule):
    step = "call"
    uses = ("call",)
    summary = "a GRUCell used as a plain layer (no state in, its result held nowhere) reads `[0]` wherever the result goes"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.pre = nn.GRUCell(4, 8)
                    self.core = nn.GRU(8, 8)

                def forward(self, x, h):
                    out, h = self.core(torch.relu(self.pre(x)).unsqueeze(0), h)
                    return out, h

            m = M()
            h = torch.zeros(1, 2, 8)
            for t in range(3):
                y, h = m(torch.randn(2, 4), h)
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.pre = nn.LSTMCell(4, 8)
                    self.core = nn.LSTM(8, 8)

                def forward(self, x, h):
                    out, h = self.core(torch.relu(self.pre(x)[0]).unsqueeze(0), h.chunk(2, dim=-1))
                    h = torch.cat(h, dim=-1)
                    return out, h

            m = M()
            h = torch.zeros(1, 2, 2 * 8)
            for t in range(3):
                y, h = m(torch.randn(2, 4), h)
            """,
            state="packed",
        ),
    )

    def handles(self, ctx, call: VCallOf) -> bool:
        return plain_cell_call(ctx, call)

    def apply(self, ctx, call: VCallOf) -> None:
        # Read here, not where it is consumed: the input of a recurrent call is no consumption.
        if checked_call(ctx, call)[0] and ctx.claim(call.node):
            ctx.edit_expression(call.node, lambda updated, mapping: index(updated, 0))
            ctx.step("features", call.node)


class StateGradient(Rule):
    uses = ("consumption",)
    summary = "the gradient of a state read (`h.grad`, `h.grad is None`) is a finding: each half of the LSTM's state has its own"
    invalid = (
        Invalid(
            """
            core = nn.GRU(3, 5)
            h = torch.zeros(1, 2, 5, requires_grad=True)
            out, h1 = core(torch.randn(4, 2, 3), h)
            out.sum().backward()
            assert h.grad is not None
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return takes_a_state(ctx, use) and _gradient_read(ctx, use.value) is not None

    def apply(self, ctx, use: Consumption) -> None:
        gradient_found(ctx, use.value)


class NoneTest(Rule):
    uses = ("consumption",)
    summary = "`h is None` reads nothing that changes"

    def handles(self, ctx, use: Consumption) -> bool:
        return use.context == Use.ISNONE and takes_a_state(ctx, use)

    def apply(self, ctx, use: Consumption) -> None:
        pass


class StateAsSize(Rule):
    uses = ("consumption",)
    summary = "a state given as a size (`torch.zeros(1, n, x)`, `nn.Linear(x, 2)`) is a finding: a number was taken for the state"
    invalid = (
        Invalid(
            """
            class Agent(nn.Module):
                def __init__(self, cfg):
                    super().__init__()
                    self.gru = nn.GRU(4, cfg.hidden)
                    self.hidden = torch.zeros(1, 1, cfg.hidden)

                def step(self, x):
                    out, self.hidden = self.gru(x, self.hidden)
                    return out
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        # a size read of the state (`h.size(0)`) is a number; the state itself never is one
        return use.context == Use.SIZE and takes_a_state(ctx, use) and ctx.solution.resolutions.chain_kind(use.value) != Derivation.READ

    def apply(self, ctx, use: Consumption) -> None:
        # `cfg.hidden` of an object of no known class was taken for `self.hidden` of the one class
        # of the program that has a `hidden` (expressions._field_slot): a guess by name that failed
        ctx.find("G2L100", use.node, (
            f"`{ctx.code(use.node)}` is given to {use.why} as a size, yet the engine found that it holds the hidden "
            "state (an attribute of an object whose class it does not know is tied by its name alone to the one "
            "class that has it); rename the attribute that holds the state, or migrate this use by hand"
        ))


class FeatureConsumption(Rule):
    step = "features"
    uses = ("consumption",)
    summary = "a state read, indexed or reshaped into something that is not a state reads `h` only"

    def handles(self, ctx, use: Consumption) -> bool:
        if isinstance(ctx.solution.resolutions.leaf_of(use.value), VArith):
            return reads_a_state(ctx, use.value)  # `print(h.norm() + 1)`
        if use.context == Use.UNKNOWN and use.place is not None:
            return False  # a row given to code of a file not migrated with it may be changed there (`row *= m`): follow it
        if use.context == Use.WRITTEN:
            return False  # `out=buf[t]` is written, not read: the state is changed there
        return takes_a_state(ctx, use) and (
            use.context in (Use.READ, Use.SIZE, Use.OPERAND, Use.INDEX, Use.SHAPED) or ctx.solution.resolutions.chain_kind(use.value) != Derivation.KEEP
        )

    def apply(self, ctx, use: Consumption) -> None:
        feature_read(ctx, use.value)
