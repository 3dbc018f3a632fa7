"""What an operand that is not a hidden state does to c once the state is (h, c).

A product or a mask (`h * masks`, `h.mul_(0.5)`, `h.masked_fill(done, 0)`) scales or picks both
halves alike. A join that gives its operands one shape (`h + x`, `h.add_(x)`, `h.lerp(x, w)`,
`torch.where(done, x, h)`) with an operand that is no state would put that operand into c as
into h: what c should get is a choice the code does not state, so it is a finding in both forms
(packed, after the width findings, which then do not send the user to the tuple form), unless
the operand is a number, which broadcasts over c as over h, or a tensor made for the state
(`torch.where(done, zeros_like(h), h)`, a reset). The tuple form also writes every operand
once per half: a call that may do more than compute (`h.mul_(thing(3))` of a library,
`self.queue.pop()`, a function of the program that counts its calls) would run twice.
"""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gru2lstm.in_place import flagged
from gru2lstm.masks import are_offsets, is_same_shape_join, zeros_changed_by
from gru2lstm.program import give_source
from gru2lstm.syntax import walk
from gru2lstm.values import Derivation, ReturnSlot, Value, VArith, VCallOf, VCreate, VDerived, VOpaque, VSlot
from gru2lstm.vocab import (
    ADDING_JOINS, ADDING_OPERATORS, COMPUTING_NAMES, GRADIENT_FLAG, IDEMPOTENT_METHODS, IN_PLACE_SUFFIX, MODULE_PARAMETER_METHODS,
    NEXT_BUILTIN, PLAIN_CALL_DECORATORS, RANDOM_DRAWS, SEQUENCE_BUILTINS,
)
from gru2lstm.rules.edits import is_number, is_pure
from gru2lstm.rules.unfollowed import plain_layer


def chooses_for_c(ctx, arith: VArith) -> bool:
    """Does `arith` join a state with an operand that is none and that it would put into c too, a
    choice the code does not state, whatever the form?"""
    other = other_operand(ctx, arith)
    if other is None or not _joins_alike(arith.node):
        return False
    if _made_for_the_state(ctx, other) and not _added_as_it_is(ctx, arith, other):
        return False  # a number, or a tensor made for the state (`torch.where(done, zeros_like(h), h)`): for c as for h
    # computed from the state (`h - h.mean(1, keepdim=True)`): of c for c (tuple form: pairs.read_again)
    return state_read(ctx, other.node, set()) is None


def joined_with_other(ctx, arith: VArith) -> bool:
    """`chooses_for_c`, said."""
    if not chooses_for_c(ctx, arith):
        return False
    other = other_operand(ctx, arith)
    what = "adds" if _adds(arith.node) else "joins"
    ctx.find("G2L100", arith.node, (
        f"`{ctx.code(arith.node)}` {what} `{ctx.code(other.node)}`, which is not a hidden state, to the hidden state"
        f"{_zeros_changed(ctx, arith, other)}; with "
        "(h, c) the engine would do the same to c as to h, which is a choice it cannot make; write it on h alone "
        "(and say what c gets) by hand, or make the operand a state the engine follows"
    ))
    return True


def joins_in(ctx, top: cst.CSTNode) -> bool:
    """`joined_with_other` for each join of a state inside `top`, which is written once per half. Said."""
    return any(joined_with_other(ctx, ctx.arithmetic_by_node[id(node)]) for node in walk(top) if id(node) in ctx.arithmetic_by_node)


def state_read(ctx, node: cst.CSTNode, leaf_ids: set) -> Optional[cst.CSTNode]:
    """The first read of a state in `node`, outside `leaf_ids` and the sizes and features it measures."""
    return next(state_reads(ctx, node, leaf_ids), None)


def state_reads(ctx, node: cst.CSTNode, leaf_ids: set) -> Iterator[cst.CSTNode]:
    """The reads of a state in `node`, outside `leaf_ids` and the sizes and features it measures."""
    if id(node) in leaf_ids or id(node) in ctx.measured_nodes:
        return
    if id(node) in ctx.state_nodes:
        yield node
        return
    for child in node.children:
        yield from state_reads(ctx, child, leaf_ids)


def only_computed_from(ctx, node: cst.CSTNode, top: cst.CSTNode) -> bool:
    """Does every call between `node` and `top` that `node` goes into only compute a tensor
    (`h.mean(-1)`, `h.abs().amax(-1)`), none of them code that may store, count or draw?"""
    while node is not top:
        node = ctx.parents[node]
        if isinstance(node, cst.Call) and _called_name(node) not in COMPUTING_NAMES:
            return False
    return True


def run_twice(ctx, top: cst.CSTNode, *leaf_nodes: cst.CSTNode) -> bool:
    """Would writing `top` once per half run a call twice that may do more than compute a value
    (`h.mul_(thing(3))` with `thing` of a library, or of the program when it stores, counts or draws)? Said."""
    inside_leaf = {id(node) for leaf_node in leaf_nodes for node in walk(leaf_node)}
    leaf_ids = {id(leaf_node) for leaf_node in leaf_nodes}
    for node in walk(top):
        if id(node) in inside_leaf or not _runs_code(ctx, node):
            continue
        carries_the_state = any(id(inner) in leaf_ids for inner in walk(node))
        # an operation on the state (`h.mul_(m)`, `torch.tanh(h)`) is what runs on each half, unless
        # it runs a function of the program that stores or counts (`self.keep2(h)`: twice the count)
        if carries_the_state and not _runs_more_than_computing(ctx, node, frozenset()):
            continue
        if carries_the_state or _unseen(ctx, node):
            place = ctx.flow.outside_calls.get(id(node))  # a function of a given file: the group takes it in and looks
            ctx.find("G2L100", node, (
                f"`{ctx.code(node)}` would run twice, once per half of the hidden state, in `{ctx.code(top)}`, and the "
                "engine cannot tell that it only computes a value; assign it to a name first"
                + (f", or {give_source(place)}" if place is not None else "")
            ), place)
            return True
        if _draws(ctx, node):  # `h * keep(done)` of a `keep` that calls torch.rand
            ctx.find("G2L100", node, (
                f"`{ctx.code(node)}` draws random numbers and would run twice, once per half of the hidden state, in "
                f"`{ctx.code(top)}`, so h and c would get different draws; assign it to a name first"
            ))
            return True
    return False


def _made_for_the_state(ctx, value: Value, seen: frozenset = frozenset()) -> bool:
    """Is `value` a number (`self.eps = 0.1`), which broadcasts over c as over h, or a fresh tensor,
    scaled or masked (`h0 * (1 - m)` of `h0 = torch.zeros(...)`), which the state is reset to? A
    buffer or a parameter the module registers is neither, whatever it was made with."""
    value = ctx.solution.resolved(value)
    while isinstance(value, VArith):  # of a product, the tensor it scales; by a learned tensor, it is learned
        if _learned(ctx, value.left) or _learned(ctx, value.right):
            return False  # `torch.ones_like(h) * self.bias`: a bias of h
        value = ctx.solution.resolved(value.left if not is_number(value.left.node) else value.right)
    if isinstance(value, VDerived) and id(value.node) in ctx.flow.parameters:
        return False  # `nn.Parameter(torch.zeros(8))`: learned, a bias of h, not a tensor the state is reset to
    leaf = ctx.solution.resolutions.leaf_of(value)
    if isinstance(leaf, VSlot) and leaf.slot in ctx.flow.registered:
        return False  # `self.register_buffer("offset", torch.zeros(8))`: the module's, saved and loaded with it, drawn in place
    if isinstance(leaf, VSlot) and leaf.slot not in seen and ctx.values_bound_to.get(leaf.slot):
        return all(_made_for_the_state(ctx, bound, seen | {leaf.slot}) for bound in ctx.values_bound_to[leaf.slot])
    return isinstance(leaf, VCreate) or leaf is not None and leaf.node is not None and is_number(leaf.node)


def _added_as_it_is(ctx, arith: VArith, other: Value) -> bool:
    """`h + self.table[ids]` of `self.table = torch.randn(n, H)`: a place holding only fresh tensors,
    not zeros that stay zeros, added to the state unscaled, is an offset that c may or may not get, not a tensor
    the state is reset to (that one is picked by a mask: `h * m + h0 * (1 - m)`). Zeros added
    (`z = torch.zeros(L, B, H); h = h + z`) leave c as they leave h, unless something changes them
    once made (`self.table.fill_(0.5)`), and a tensor made in place (`h + torch.ones(8)`) is made for the state."""
    leaf = _added_place(ctx, arith, other)
    return leaf is not None and are_offsets(ctx.flow, ctx.solution.resolutions, leaf.slot, _made(ctx, leaf))


def _added_place(ctx, arith: VArith, other: Value) -> Optional[VSlot]:
    """The place `other` is read from, added as it is to the state by `arith` (`self.table` of
    `h + self.table[ids]`), else None."""
    resolved = ctx.solution.resolved(other)
    leaf = ctx.solution.resolutions.leaf_of(resolved)
    return leaf if _adds(arith.node) and not isinstance(resolved, VArith) and isinstance(leaf, VSlot) else None


def _made(ctx, place: VSlot) -> list:
    """What the place is bound to (leaves)."""
    return [ctx.solution.resolutions.leaf_of(ctx.solution.resolved(bound)) for bound in ctx.values_bound_to.get(place.slot, ())]


def _zeros_changed(ctx, arith: VArith, other: Value) -> str:
    """Why a place of zeros added to the state is an offset all the same (`; `self.table` is made of
    zeros, but `self.table.fill_(0.5)` (line 11) changes it, ...`), else ""."""
    place = _added_place(ctx, arith, other)
    changed = None if place is None else zeros_changed_by(ctx.flow, ctx.solution.resolutions, place.slot, _made(ctx, place))
    if changed is None:
        return ""
    how = "makes it a tensor training may change" if isinstance(changed, cst.Call) and flagged(changed, GRADIENT_FLAG) else "may change it"
    return (
        f"; `{ctx.code(place.node)}` is made of zeros, but `{ctx.code(changed)}` (line {ctx.line(changed)}) {how}, so it may "
        "hold offsets the GRU program added to h alone"
    )


def _learned(ctx, value: Value, seen: frozenset = frozenset()) -> bool:
    """Is `value` an `nn.Parameter`, or a name or attribute bound only there (`self.bias`)?"""
    value = ctx.solution.resolved(value)
    if isinstance(value, VDerived) and id(value.node) in ctx.flow.parameters:
        return True
    leaf = ctx.solution.resolutions.leaf_of(value)
    if isinstance(leaf, VSlot) and leaf.slot not in seen and ctx.values_bound_to.get(leaf.slot):
        return any(_learned(ctx, bound, seen | {leaf.slot}) for bound in ctx.values_bound_to[leaf.slot])
    return False


def _runs_code(ctx, node: cst.CSTNode) -> bool:
    """Is `node` a call, or a read that runs a function of the program (a property, `__getitem__`)?"""
    return isinstance(node, cst.Call) or id(node) in ctx.flow.runs


def _unseen(ctx, node: cst.CSTNode, seen: frozenset = frozenset()) -> bool:
    """Does `node` run code that may do more than compute a value (a library's function, a lambda, a
    callable handed in, a container's `pop()`, an in-place method, a function of the program, or
    any override of it, that stores or counts)? A layer only computes, and so does a function of the
    program whose body stores nothing and calls only such code, whatever its name (`gate.mean(d)`)."""
    if ctx.flow.runs.get(id(node)):
        return _runs_more_than_computing(ctx, node, seen)
    if not isinstance(node, cst.Call):
        return False
    if isinstance(node.func, cst.Name) and _only_computing_lambda(ctx, node.func, seen):
        return False  # `keep = lambda d: (1 - d).unsqueeze(-1)` then `h * keep(done)`
    name = _called_name(node)
    if name is not None and name.endswith(IN_PLACE_SUFFIX):
        return True  # `self.seen.add_(1)` changes what it is called on
    if _reads_parameters(node) or isinstance(node.func, cst.Name) and node.func.value in SEQUENCE_BUILTINS:
        return False  # `list(self.ring)`: a copy
    if name in IDEMPOTENT_METHODS:
        return False  # `self.hidden.setdefault(a, h0)`: run again, it finds what it stored
    if name in COMPUTING_NAMES:
        return False
    value = ctx.values_at_nodes.get(id(node))
    if isinstance(value, VCallOf):
        return plain_layer(ctx, value) is None and id(value) not in ctx.solution.forwarded
    return value is None or isinstance(value, VOpaque)  # None: a call the walk took no value of (`self.queue.pop()`)


def _runs_more_than_computing(ctx, node: cst.CSTNode, seen: frozenset) -> bool:
    """Does the walk say `node` runs a function (or an override of it) that is not among the
    program's functions, or that may do more than compute its result?"""
    return any(key not in seen and (key not in ctx.flow.functions or not _only_computes(ctx, ctx.flow.functions[key].node, seen | {key}))
               for key in ctx.flow.runs.get(id(node), ()))


def _reads_parameters(call: cst.Call) -> bool:
    """Is `call` a new iterator over a module's parameters (`self.parameters()`), or the first item
    of one (`next(self.parameters())`, to make a tensor on its device)? Both only read."""
    if isinstance(call.func, cst.Name) and call.func.value == NEXT_BUILTIN and len(call.args) == 1:
        call = call.args[0].value
    return isinstance(call, cst.Call) and not call.args and isinstance(call.func, cst.Attribute) and call.func.attr.value in MODULE_PARAMETER_METHODS


def makes_a_fresh_state(ctx, node: cst.CSTNode) -> bool:
    """Is `node` a call, with names and constants for arguments, of functions of the program that
    each only compute and return a tensor they allocate, drawing nothing (`m.init_hidden(2)` of `return
    w.new_zeros(1, b, n)`, or `.to(device)` of one)? Run once per half, each half is the fresh tensor one run makes, as the
    GRU's h was; any other call would run twice."""
    keys = ctx.flow.runs.get(id(node))
    if not isinstance(node, cst.Call) or not keys or not all(is_pure(arg.value) or is_number(arg.value) for arg in node.args):
        return False
    for key in keys:
        function = ctx.flow.functions.get(key)
        returned = ctx.values_bound_to.get(ReturnSlot.of(key), [])
        if function is None or not returned or not all(_allocated(ctx, value) for value in returned):
            return False
        if not _only_computes(ctx, function.node, frozenset({key})):
            return False
    return not _draws(ctx, node)  # each half its own draw


def _draws(ctx, node: cst.CSTNode) -> bool:
    """Does `node` run a function of the program whose body draws random numbers (`torch.rand`)?"""
    return any(
        _called_name(call) in RANDOM_DRAWS
        for key in ctx.flow.runs.get(id(node), ()) if key in ctx.flow.functions
        for call in walk(ctx.flow.functions[key].node) if isinstance(call, cst.Call)
    )


def _allocated(ctx, value: Value) -> bool:
    """Is `value` a new tensor, or one kept or reshaped from it (`torch.zeros(1, b, n).to(device)`)?"""
    resolutions = ctx.solution.resolutions
    return isinstance(resolutions.leaf_of(value), VCreate) and resolutions.chain_kind(value) != Derivation.READ


def _only_computing_lambda(ctx, name: cst.Name, seen: frozenset) -> bool:
    """Is every value `name` may hold a lambda whose body only computes (every call in it one that
    only computes and draws nothing, no walrus)? A name bound to anything else, or to nothing the walk saw (a
    callable handed in), is not."""
    slots = ctx.slots_at_nodes.get(id(name), set())
    bound = [value for slot in slots for value in ctx.values_bound_to.get(slot, [])]
    if not slots or not bound or len(bound) < len(slots):
        return False
    for value in bound:
        function = value.node
        if not isinstance(function, cst.Lambda) or id(function) in seen or any(isinstance(node, cst.NamedExpr) for node in walk(function.body)):
            return False  # (in `seen`: a lambda that calls itself)
        calls = [node for node in walk(function.body) if isinstance(node, cst.Call)]
        if any(_called_name(node) in RANDOM_DRAWS for node in calls):
            return False  # per half, each its own draw (`lambda: torch.rand(n, 1) < p`)
        if any(_called_name(node) not in COMPUTING_NAMES and _unseen(ctx, node, seen | {id(function)}) for node in calls):
            return False
    return True


def _only_computes(ctx, function: cst.CSTNode, seen: frozenset) -> bool:
    """Does the body of `function` only compute its result: no store into an attribute or an
    element, nor in place into a name that may hold a list or a tensor (`log += [x]` of `log =
    self.log`), no global, nonlocal, yield or del, no decorator that may wrap it in more (`@count_calls`),
    and everything it runs code that only computes?"""
    if any(_decorator_name(decorator) not in PLAIN_CALL_DECORATORS for decorator in getattr(function, "decorators", ())):
        return False
    for node in walk(function.body):
        if isinstance(node, (cst.Global, cst.Nonlocal, cst.Yield, cst.Del)):
            return False
        if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)) and isinstance(node.target, (cst.Attribute, cst.Subscript)):
            return False
        if isinstance(node, cst.AugAssign) and isinstance(node.target, cst.Name) and not _holds_a_number(function, node.target.value):
            return False
        if _runs_code(ctx, node) and _unseen(ctx, node, seen):
            return False
    return True


def _holds_a_number(function: cst.CSTNode, name: str) -> bool:
    """Is `name` bound in `function` only by assignments of numbers (`total = 0`), not a parameter?"""
    values = [
        node.value for node in walk(function.body) if isinstance(node, cst.Assign)
        and any(isinstance(target.target, cst.Name) and target.target.value == name for target in node.targets)
    ]
    return bool(values) and all(is_number(value) for value in values)


def _decorator_name(decorator: cst.Decorator) -> Optional[str]:
    """The last name of a decorator, called or not (`torch.no_grad()` -> `no_grad`)."""
    node = decorator.decorator
    node = node.func if isinstance(node, cst.Call) else node
    return node.attr.value if isinstance(node, cst.Attribute) else getattr(node, "value", None)


def _called_name(call: cst.Call) -> Optional[str]:
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)


def other_operand(ctx, arith: VArith) -> Optional[Value]:
    """The operand that is not the state, of an arithmetic the solver settled as one state's."""
    if not ctx.solution.resolutions.is_settled(arith):
        return None
    left, right = ctx.solution.value_is_state(arith.left), ctx.solution.value_is_state(arith.right)
    if left == right:
        return None
    other = arith.right if left else arith.left
    return other if other.node is not None else None


def _joins_alike(node: cst.CSTNode) -> bool:
    return is_same_shape_join(node) or _operator(node) in ADDING_OPERATORS


def _adds(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Call):
        return _called_name(node) in ADDING_JOINS
    return _operator(node) in ADDING_OPERATORS


def _operator(node: cst.CSTNode) -> Optional[str]:
    return type(node.operator).__name__ if isinstance(node, (cst.BinaryOperation, cst.AugAssign)) else None
