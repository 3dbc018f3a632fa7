"""Writing a state as its two halves, shared by the rules: the halves of an expression, the pair
in place, a chain run once per half over a pair made once, a split target `T, T_c = …`, and the partner line of a split
name derived from another."""

from __future__ import annotations

import libcst as cst

from gru2lstm.apply import index, pair, replace_inside, replace_many
from gru2lstm.program import BY_HAND, Binding
from gru2lstm.syntax import walk
from gru2lstm.values import Derivation, Value, VArith, VCreate, VDerived, VSlot
from gru2lstm.vocab import LIKE_SUFFIX, RANDOM_DRAWS
from gru2lstm.rules.edits import carry_comment, is_pure, paren
from gru2lstm.rules.joined_operands import joins_in, makes_a_fresh_state, only_computed_from, run_twice, state_read, state_reads
from gru2lstm.rules.packed_dims import may_be_none


def halves(ctx, value: Value):
    """Edits making the h-half and the c-half of a state expression, or None with a finding. Every
    state the expression carries (one, or two joined elementwise: `torch.where(done, fresh, h)`,
    `h * m + h0 * (1 - m)`) becomes its half: `h[0]` and `h[1]`, or of a split name, itself and its partner."""
    value = ctx.solution.resolved(value)
    top = value.node
    leaves = carried_states(ctx, value)
    if leaves is None:
        ctx.find("G2L100", top, f"the engine cannot split the hidden state in `{ctx.code(top)}` into h and c; assign it to a name first, or {BY_HAND}")
        return None
    again = read_again_of(ctx, top, leaves)
    leaves = leaves + again
    nodes = [leaf.node for leaf in leaves]
    for leaf in leaves:
        if ctx.solution.is_split(leaf.slot) and may_be_none(ctx, leaf):
            # `h = None` before `h = cell(x, h)`: `(h, c)` would be (None, c unbound)
            none_in_split(ctx, leaf.node, ctx.code(leaf.node), leaf.slot)
            return None
        if not ctx.solution.is_split(leaf.slot) and not is_pure(leaf.node) and not makes_a_fresh_state(ctx, leaf.node):
            where = "" if leaf.node is top else f" in `{ctx.code(top)}`"
            ctx.find("G2L100", leaf.node, f"the hidden state `{ctx.code(leaf.node)}`{where} would be evaluated twice, once per half; assign it to a name first")
            return None
    # A split name's partner line is written whole (slicing.py), as it always was.
    if any(not ctx.solution.is_split(leaf.slot) for leaf in leaves) and changed_per_half(ctx, top, *nodes):
        return None
    if not leaves and read_again(ctx, top):  # made anew from a state's numbers: `torch.addcmul(zeros_like(h), h, m)`
        return None

    for leaf in again:
        ctx.claim(leaf.node)  # its half, not the h the features rule would give it
    # (node, partner name of a split one): the edits hold no context, which would make a cycle (gc_pause.py)
    reads = [(leaf.node, ctx.partner_of(leaf.slot) if ctx.solution.is_split(leaf.slot) else None) for leaf in leaves]

    def half(position: int):
        def edit(updated, mapping):
            replacements = {}
            for node, partner in reads:
                old = mapping(node)
                if partner is not None:
                    replacements[old] = cst.Name(partner) if position else old
                else:
                    replacements[old] = index(old, position)
            return replace_many(updated, replacements)
        return edit

    return half(0), half(1)


def carried_states(ctx, value: Value):
    """The reads of a state (VSlots with a node) that `value` carries into its result: through
    per-tensor chains, and both operands of an arithmetic of two states (which the solver leaves
    unsettled); [] for a creation. None when a state comes from anything else."""
    value = ctx.solution.resolved(value)
    if isinstance(value, VCreate):
        return []
    if isinstance(value, VDerived) and value.kind != Derivation.READ:
        return carried_states(ctx, value.base)
    if isinstance(value, VSlot) and value.node is not None:
        return [value]
    if isinstance(value, VArith) and ctx.solution.value_is_state(value.left) and ctx.solution.value_is_state(value.right):
        left, right = carried_states(ctx, value.left), carried_states(ctx, value.right)
        return None if left is None or right is None else left + right
    return None


def read_again_of(ctx, top: cst.CSTNode, leaves: list) -> list:
    """The reads in `top`, beside `leaves`, of a state that `top` carries (`h.mean(-1)` of `h -
    h.mean(-1, keepdim=True)`): each becomes the same half as the state it reads, so each half is
    computed from itself alone, when the calls it goes into only compute. Sizes read to make a tensor
    of the state's shape (`zeros_like(h)`) are left to the features rule; a read of another state,
    one handed to code that may store or count (`h * self.scaled(h)`), or one another rule rewrote
    already (as features: h, where c would need c) stays a finding (read_again)."""
    carried = {leaf.slot for leaf in leaves}
    found = []
    for node in state_reads(ctx, top, {id(leaf.node) for leaf in leaves}):
        slots = ctx.slots_at_nodes.get(id(node), set())
        if slots and slots <= carried and not ctx.is_rewritten(node) and only_computed_from(ctx, node, top):
            found.append(VSlot(next(iter(slots)), node))
    return found


def changed_per_half(ctx, top: cst.CSTNode, *leaf_nodes: cst.CSTNode) -> bool:
    """Would writing `top` once per half around `leaf_nodes` do other than the GRU code did for h
    (draw twice, join c with what is no state, run a call twice, or read h into c)? Said."""
    return drawn_twice(ctx, top, *leaf_nodes) or joins_in(ctx, top) or run_twice(ctx, top, *leaf_nodes) or read_again(ctx, top, *leaf_nodes)


def drawn_twice(ctx, top: cst.CSTNode, *leaf_nodes: cst.CSTNode) -> bool:
    """Would writing `top` once per half draw random numbers twice (`torch.where(torch.rand(n) <
    p, z, h)`: each half its own mask)? Said."""
    inside_leaf = {id(node) for leaf_node in leaf_nodes for node in walk(leaf_node)}
    for node in walk(top):
        if id(node) in inside_leaf or not isinstance(node, cst.Call):
            continue
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
        if name in RANDOM_DRAWS and not _noise_of_its_shape(ctx, node, name, leaf_nodes):
            if any(id(leaf_node) in {id(inner) for inner in walk(node)} for leaf_node in leaf_nodes):  # `F.dropout(h, p)`
                why = "draws random numbers for the hidden state, and on (h, c) it would run once per half, each with its own draw"
                remedy = "write it on each half by hand, choosing whether h and c share one draw"
            else:
                why = f"draws random numbers, and `{ctx.code(top)}` runs once per half of the hidden state, so h and c would get different draws"
                remedy = "assign it to a name first"
            ctx.find("G2L100", node, f"`{ctx.code(node)}` {why}; {remedy}")
            return True
    return False


def _noise_of_its_shape(ctx, call: cst.Call, name: str, leaf_nodes) -> bool:
    """Is `call` a draw made like a state written per half (`torch.randn_like(h)` in `h + 0.01 *
    torch.randn_like(h)`)? Each half then gets noise of its own, of the law the GRU's h got: what
    one draw over [h|c] gives the packed form's halves, and no choice between h and c is made."""
    if not name.endswith(LIKE_SUFFIX) or not call.args or call.args[0].keyword is not None:
        return False
    carried = set().union(*(ctx.slots_at_nodes.get(id(node), set()) for node in leaf_nodes)) if leaf_nodes else set()
    slots = ctx.slots_at_nodes.get(id(call.args[0].value), set())
    return bool(slots) and slots <= carried


def read_again(ctx, top: cst.CSTNode, *leaf_nodes: cst.CSTNode) -> bool:
    """Does `top`, written once per half around `leaf_nodes`, read a hidden state elsewhere too
    (`h / (h.norm() + 1)`, an operand: `torch.addcmul(zeros_like(h), h, m)`)? Only `leaf_nodes`
    would become halves; sizes and features read from a state (`zeros_like(h)`, `h.size(1)`) take
    `h` and are no trouble. Said."""
    again = state_read(ctx, top, {id(node) for node in leaf_nodes})
    if again is None:
        return False
    if leaf_nodes:
        carried = ", ".join(f"`{ctx.code(node)}`" for node in leaf_nodes)
        why = (f"reads the hidden state in {carried} and again in `{ctx.code(again)}`, and the engine writes such an "
               "expression once per half of (h, c) around the first reads only")
    else:
        why = (f"is a new state computed from the hidden state `{ctx.code(again)}`, and the engine would write it once "
               "per half of (h, c) with h in both")
    ctx.find("G2L100", again, f"`{ctx.code(top)}` {why}; compute it on each half by hand")
    return True


def pair_expression(ctx, value: Value, step: str) -> None:
    """Replace a state expression by the tuple of its halves, in place."""
    value = ctx.solution.resolved(value)
    top = value.node
    if top is None or ctx.is_rewritten(top):
        return
    leaf_node = made_once(ctx, value)
    if leaf_node is not None and leaf_node is not top:
        if not changed_per_half(ctx, top, leaf_node):
            per_half(ctx, top, leaf_node, step)
        return
    if isinstance(value, VSlot) and ctx.solution.is_split(value.slot) and isinstance(top, cst.Name) and may_be_none(ctx, value):
        # `h = c = None` before the first step: the pair is None until then, as the GRU's h was
        partner = ctx.partner_of(value.slot)
        ctx.claim(top)
        ctx.edit_expression(top, lambda updated, mapping: paren(cst.parse_expression(f"None if {updated.value} is None else ({updated.value}, {partner})")))
        ctx.step(step, top)
        return
    made = halves(ctx, value)
    if made is None:
        return
    ctx.claim(top)
    make_h, make_c = made
    ctx.edit_expression(top, lambda updated, mapping: paren(pair(make_h(updated, mapping), make_c(updated, mapping))))
    ctx.step(step, top)


def unpacked_if_none(ctx, value: VSlot, binding: Binding) -> None:
    """A pair that may be None moved into a split name (`h, c = h0` with `h0=None`): `h, c = (None,
    None) if h0 is None else h0`, both names unset as after `h = None`."""
    node = value.node
    if node is None or not may_be_none(ctx, value):
        return
    if not is_pure(node):
        none_in_split(ctx, node, ctx.code(binding.target_node), binding.target)
        return
    module = ctx.module_of(node)
    ctx.edit_expression(node, lambda updated, mapping: paren(cst.parse_expression(
        f"(None, None) if {module.code_for_node(updated)} is None else {module.code_for_node(updated)}"
    )))


def none_partner_line(ctx, binding: Binding) -> None:
    """`T = None` with T split: `T_c = None` on the next line, so both names start unset."""
    statement, target = binding.statement, binding.target_node
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1 or not isinstance(target, cst.Name):
        none_in_split(ctx, target or statement, ctx.code(target or statement), binding.target)
        return
    partner = ctx.partner_of(binding.target)
    ctx.plan.after.setdefault(statement, []).append(
        lambda updated, mapping: carry_comment(replace_many(updated, {mapping(target): cst.Name(partner)}))
    )


def per_half(ctx, top: cst.CSTNode, leaf_node: cst.CSTNode, step: str) -> None:
    """`net.init_hidden().unsqueeze(0).expand(b, n, -1)` -> `tuple(half.unsqueeze(0).expand(b, n, -1)
    for half in net.init_hidden())`: the pair is made once, each half goes through the chain."""
    ctx.claim(top)
    ctx.edit_expression(top, chain_per_half(ctx, top, leaf_node))
    ctx.step(step, top)


def made_once(ctx, value: Value):
    """The node of the state inside `value` when it must be made once and not once per half (a
    call, `net.init_hidden(k)`, of a state that is not held as two names), else None."""
    leaf = ctx.solution.resolutions.leaf_of(ctx.solution.resolved(value))
    if isinstance(leaf, VSlot) and leaf.node is not None and not ctx.solution.is_split(leaf.slot) and not is_pure(leaf.node):
        return leaf.node
    return None


def chain_per_half(ctx, top: cst.CSTNode, leaf_node: cst.CSTNode):
    """An edit of `top` making `tuple(<top with half for the pair> for half in <the pair>)`, or the
    pair itself when `top` is it: the pair made once."""
    if top is leaf_node:
        return lambda updated, mapping: updated
    used = ctx.code(top)
    name = next(n for n in ("half", "state_half", "half_") if n not in used)

    def edit(updated, mapping):
        pair_node = mapping(leaf_node)
        chain = replace_inside(updated, pair_node, cst.Name(name))
        return cst.Call(cst.Name("tuple"), [cst.Arg(cst.GeneratorExp(chain, cst.CompFor(target=cst.Name(name), iter=pair_node), lpar=[], rpar=[]))])

    return edit


def none_in_split(ctx, node: cst.CSTNode, name: str, slot) -> None:
    """The finding for None where a state is held as two names (`h, c = None` cannot unpack)."""
    ctx.find("G2L100", node, (
        f"`{name}` may be None here, and the tuple form holds this state as two names, `{name}` and "
        f"`{ctx.partner_of(slot)}`, which None cannot start; start it as a state (`torch.zeros(...)`), or {BY_HAND}"
    ))


def split_target(ctx, binding: Binding) -> None:
    """`T = <pair>` where T is split: `T, T_c = <pair>`."""
    node = binding.target_node
    if not isinstance(node, cst.Name):
        ctx.find("G2L100", node, f"`{ctx.code(node)}` receives a hidden state held as two names, which only a plain name can be; assign it to a plain name first")
        return
    partner = ctx.partner_of(binding.target)
    element = in_pattern(ctx, node)

    def edit(updated, mapping):
        names = pair(updated, cst.Name(partner))
        return paren(names) if element else names

    ctx.edit_expression(node, edit)
    ctx.step("call", node)


def duplicate_line(ctx, binding: Binding, value: Value) -> None:
    """`T = f(S)` with S split: keep it, and add `T_c = f(S_c)` on the next line. T unpacked beside
    other targets (`ha, hc = hxs[0], hxs[1]`) becomes `(T, T_c)` and its value the pair of its halves
    in place: a line per half would repeat the other targets too."""
    statement = binding.statement
    target = binding.target_node
    if isinstance(target, cst.Name) and element_with_its_value(ctx, statement, target, ctx.solution.resolved(value).node):
        pair_expression(ctx, value, "slicing")
        split_target(ctx, binding)
        return
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1 or not sole_target(statement.body[0], target):
        if id(ctx.solution.resolved(value).node) in ctx.pieces_by_node:
            return  # a cut unpacked into split names (`a, b = h.chunk(2, 1)`): pieces.py says so
        ctx.find(
            "G2L100", value.node or statement,
            f"`{ctx.code(value.node or statement)}` derives a hidden state held as two names in a statement the engine cannot "
            "write once per half; assign it to a plain name in a statement of its own", once=True,
        )
        return
    made = halves(ctx, value)
    if made is None:
        return
    make_h, make_c = made
    partner = ctx.partner_of(binding.target)
    value_node = ctx.solution.resolved(value).node
    if any(not ctx.solution.is_split(leaf.slot) for leaf in carried_states(ctx, value)):
        # of a pair (`hk = h.repeat(k, 1)` with h a tuple), the kept line takes its h-half
        def kept(updated_statement, mapping):
            return replace_many(updated_statement, {mapping(value_node): make_h(mapping(value_node), mapping)})
        ctx.plan.statements[statement] = [kept]

    def edit(updated_statement, mapping):
        line = replace_many(
            updated_statement,
            {mapping(value_node): make_c(mapping(value_node), mapping), mapping(target): cst.Name(partner)},
        )
        return carry_comment(line)

    ctx.plan.after.setdefault(statement, []).append(edit)
    step = "slicing" if ctx.solution.split_names.get(ctx.solution.def_name(binding.target)) == "batch" else "call"
    ctx.step(step, statement)


def sole_target(line: cst.BaseSmallStatement, target: cst.CSTNode) -> bool:
    """Is `target` all that `line` assigns (`T = ...`, `T: X = ...`)? A line written again for the
    c-half would assign any other target too."""
    if isinstance(line, cst.Assign):
        return isinstance(target, cst.Name) and len(line.targets) == 1 and line.targets[0].target is target
    return isinstance(line, cst.AnnAssign) and line.target is target and isinstance(target, cst.Name)


def in_pattern(ctx, target: cst.CSTNode) -> bool:
    """Is `target` an element of a tuple or list pattern (`ha, hc = ...`)?"""
    return isinstance(ctx.parents.get(ctx.parents.get(target)), (cst.Tuple, cst.List))


def element_with_its_value(ctx, statement: cst.CSTNode, target: cst.CSTNode, value_node) -> bool:
    """Is `target` unpacked from a tuple of values, each its own (`ha, hc = hxs[0], hxs[1]`,
    `xs[t], hs[t] = x, h`), with `value_node` inside its own element?"""
    pattern = ctx.parents.get(ctx.parents.get(target))
    line = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
    if value_node is None or not in_pattern(ctx, target) or not isinstance(line, cst.Assign):
        return False
    values = line.value
    if len(line.targets) != 1 or line.targets[0].target is not pattern or not isinstance(values, (cst.Tuple, cst.List)):
        return False
    if len(values.elements) != len(pattern.elements) or any(isinstance(e, cst.StarredElement) for e in (*values.elements, *pattern.elements)):
        return False
    place = [element.value for element in pattern.elements].index(target)
    return any(node is value_node for node in walk(values.elements[place].value))
