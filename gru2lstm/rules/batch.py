"""Rules 6 and 6b, batch preparation: `T = torch.cat(C, ...)` of stored pairs becomes
`hs, cs = zip(*C)` and a line for each half (`T`, `T_c`); where no line can be added, the pair of
a batch of each half in place (a list written out joins each state's half and a fresh tensor as
it is: `torch.cat([h[0], torch.zeros(1, 1, H)], 1)`; a copy `list(ring)` is read as `ring`); written
once per half, a batch that draws is a finding. A return of a split `T` grows by `T_c`, and so does
every caller's unpacking of it."""

from __future__ import annotations

import libcst as cst

from gru2lstm.apply import index, pair, replace_inside, replace_many
from gru2lstm.program import BY_HAND, Binding, Consumption
from gru2lstm.values import ELEM, ChildSlot, NodeSlot, PosLabel, SlotKind, Value, VCat, VContainer, VCreate, VDerived, VIndex, VSlot, VTuple, VZip
from gru2lstm.rules.base import BindingUse, Invalid, Rule, StateBindingRule, Valid
from gru2lstm.rules.edits import carry_comment, fresh_name, is_pure, paren, twin_items
from gru2lstm.rules.joined_operands import run_twice, state_reads
from gru2lstm.rules.pairs import drawn_twice, element_with_its_value, halves, pair_expression, sole_target, split_target
from gru2lstm.rules.pieces import joined_pieces
from gru2lstm.syntax import mapped_lambda
from gru2lstm.vocab import MAP_BUILTIN, SEQUENCE_BUILTINS, STACK_NAME


def element_made(node: cst.BaseExpression):
    """The expression that makes each element of a batch's container: E of a one-level
    comprehension (`[E for p in ps]`, `(E for p in ps)`) or of `map(lambda p: E, ps)` (what the
    walk follows as one), also handed whole to `tuple()` or `list()`, and of `[E] * n`; None for
    any other container."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in SEQUENCE_BUILTINS and len(node.args) == 1:
        node = node.args[0].value
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        listed = [side for side in (node.left, node.right) if isinstance(side, cst.List)]
        return listed[0].elements[0].value if len(listed) == 1 and len(listed[0].elements) == 1 else None
    if isinstance(node, (cst.ListComp, cst.GeneratorExp)) and node.for_in.inner_for_in is None:
        return node.elt
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == MAP_BUILTIN and mapped_lambda(node) is not None:
        return mapped_lambda(node).body
    return None


def _uncopied(node: cst.BaseExpression) -> cst.BaseExpression:
    """P of a copy `list(P)` or `tuple(P)` (`torch.stack(list(self.ring))` of a deque), which reads
    P as P does; else the node itself."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in SEQUENCE_BUILTINS:
        if len(node.args) == 1 and not node.args[0].star and node.args[0].keyword is None:
            return node.args[0].value
    return node


def rows_of_preallocated(ctx, cat: VCat):
    """The node of `S` in `np.concatenate(S[step])` or `np.concatenate(S)`, when S is a
    preallocated state (one tensor or array written by rows, not a list of pairs): the rows of each
    half are batched, so `S` becomes `S[0]` and `S[1]`. None otherwise."""
    whole = not isinstance(cat.container, VIndex)
    base = ctx.solution.resolved(cat.container if whole else cat.container.base)
    if not isinstance(base, VSlot) or base.node is None or ctx.solution.is_container(base.slot) or not ctx.solution.is_state(base.slot):
        return None
    if whole and not _allocated(ctx, base.slot):
        return None  # joined whole, a place that holds a tuple of states on some path (`batch.hidden` of `Step(*zip(*rows))`)
    return base.node


def _allocated(ctx, slot) -> bool:
    """Is the place written by an allocation somewhere (`self.rnn_states = np.zeros(...)`), so that it
    holds one array, the pair of two in the tuple form?"""
    return any(binding.target == slot and isinstance(ctx.solution.resolved(binding.value), VCreate) for binding in ctx.flow.bindings)


def batch_in_place(ctx, value: Value, cat: VCat, step: str) -> None:
    """`torch.cat(C, 1)` where no line can be added -> the pair of a batch of each half:
    `(torch.cat([s[0] for s in C], 1), torch.cat([s[1] for s in C], 1))`; rows of a preallocated
    state `S` are batched from each half: `(np.concatenate(S[0][t]), np.concatenate(S[1][t]))`."""
    if _joins_each_column(ctx, cat):
        return
    container = cat.container_node
    top = ctx.solution.resolved(value).node
    if drawn_twice(ctx, top) or run_twice(ctx, top, *state_reads(ctx, top, set())):
        return  # written once per half: h and c would get different draws (`zip(h[0], torch.rand(n) < p)`), a call would run twice
    rows = rows_of_preallocated(ctx, cat)
    per_half = container_halves(ctx, cat)
    if per_half is None:
        per_half = literal_halves(ctx, cat)
    if per_half is False:
        return
    if per_half is not None:
        half = per_half.__getitem__
    elif rows is not None and is_pure(rows):
        def half(position):
            return lambda updated, mapping: replace_inside(updated, mapping(rows), index(mapping(rows), position))
    elif element_made(container) is not None:
        element = element_made(container)

        def half(position):  # `[h["actor"] for h in buf]` -> `[h["actor"][0] for h in buf]`
            return lambda updated, mapping: replace_inside(updated, mapping(element), index(mapping(element), position))
    elif is_pure(_uncopied(container)):
        elements_paired(ctx, cat)

        def half(position):
            def edit(updated, mapping):
                elements = cst.ListComp(index(cst.Name("hc"), position), cst.CompFor(target=cst.Name("hc"), iter=mapping(_uncopied(container))))
                return replace_inside(updated, mapping(container), elements)
            return edit
    else:
        ctx.find("G2L100", cat.node, f"`{ctx.code(cat.node)}` batches stored hidden states from an expression the engine would have to evaluate twice; assign it to a local name first")
        return
    if not ctx.claim(top):
        return
    make_h, make_c = half(0), half(1)
    ctx.edit_expression(top, lambda updated, mapping: paren(pair(make_h(updated, mapping), make_c(updated, mapping))))
    ctx.step(step, top)


def container_halves(ctx, cat: VCat):
    """Edits of the batch expression making each half's batch where its container computes on the
    pairs: a cut of a state (`torch.stack(h.unbind(1), 1)` -> `h[0].unbind(1)` in the h half), or a
    comprehension whose element is a chain on a pair (`[p.squeeze(1) for p in new]` ->
    `[p[0].squeeze(1) for p in new]`). None for any other container; False after a finding."""
    made, inner = joined_pieces(ctx, cat.container), cat.container_node
    if made is None and element_made(inner) is not None:
        resolved = ctx.solution.resolved(cat.container)
        element = resolved.items[0][1] if isinstance(resolved, VContainer) and len(resolved.items) == 1 else None
        if not isinstance(ctx.solution.resolved(element), VDerived):
            return None
        made, inner = halves(ctx, element), element_made(inner)
        if made is None:
            return False
    if made is None:
        return None
    return tuple(
        (lambda make: lambda updated, mapping: replace_inside(updated, mapping(inner), make(mapping(inner), mapping)))(make)
        for make in made
    )


def literal_halves(ctx, cat: VCat):
    """Edits making each half's batch of a list or tuple written out of states and fresh tensors
    (`torch.cat([h, torch.zeros(1, 1, H)], 1)`: a new environment's row): each state becomes its half, and
    a creation stays itself in each half, the fresh rows c starts from as h does. None for any other
    container; False after a finding."""
    inner, container = cat.container_node, ctx.solution.resolved(cat.container)
    if not isinstance(inner, (cst.List, cst.Tuple)) or not isinstance(container, VContainer) or len(container.items) != len(inner.elements):
        return None
    if any(isinstance(element, cst.StarredElement) for element in inner.elements):
        return None
    items = [(element.value, ctx.solution.resolved(item)) for element, (_, item) in zip(inner.elements, container.items)]
    other = next((node for node, item in items if not isinstance(item, VCreate) and not ctx.solution.value_is_state(item)), None)
    if other is not None:
        ctx.find("G2L100", other, (
            f"`{ctx.code(cat.node)}` joins the hidden state with `{ctx.code(other)}`, which is neither a state nor a new "
            f"tensor, so the engine cannot tell what the cell state c should get in its place; make it a new tensor "
            f"(`torch.zeros(...)`), or {BY_HAND}"
        ))
        return False
    made = []
    for node, item in items:
        if isinstance(item, VCreate):
            ctx.claim(item.node)  # itself in each half, not a pair
            continue
        edits = halves(ctx, item)
        if edits is None:
            return False
        made.append((node, edits))
    return tuple(
        (lambda position: lambda updated, mapping: replace_many(
            updated, {mapping(node): edits[position](mapping(node), mapping) for node, edits in made}
        ))(position)
        for position in (0, 1)
    )


def elements_paired(ctx, cat: VCat) -> None:
    """Each element that the batch's container computes where it is written (`[kept[0].clone(),
    kept[1]]`, `reversed([s.clone() for s in kept])`) written as the pair of its halves: nothing
    else writes it, and `zip(*C)` or `hc[0] for hc in C` takes pairs."""
    container = ctx.solution.resolved(cat.container)
    if not isinstance(container, VContainer):
        return
    for _, item in container.items:
        item = ctx.solution.resolved(item)
        if isinstance(item, VDerived) and item.node is not None and ctx.solution.value_is_state(item):
            pair_expression(ctx, item, "batch")


def _zip_names(ctx, binding: Binding) -> tuple:
    function = binding.function.key if binding.function is not None else None
    used = {d.name for d in ctx.flow.defs.values() if d.function is not None and d.function.key == function}
    hs, cs = "hs", "cs"
    suffix = 1
    while hs in used or cs in used:
        hs, cs = f"hs{suffix}", f"cs{suffix}"
        suffix += 1
    return hs, cs


def _joins_each_column(ctx, cat: VCat) -> bool:
    """`a, h = map(torch.stack, zip(*rows))` (each column stacked or joined, calls.py): one function
    for every column, which cannot take the halves of a pair apart; the columns of states are
    joined per half instead (`_columns_per_half`), or, where that cannot be written, a finding
    (G2L100). True when the batch is such a map."""
    func = cat.node.func
    if not (isinstance(func, cst.Name) and func.value == MAP_BUILTIN):
        return False
    if not ctx.claim(cat.node):
        return True  # done once, for the first column of states
    unpacking = next((u for u in ctx.flow.unpackings if isinstance(u.value, VZip) and u.value.node is cat.node), None)
    if unpacking is not None and _columns_per_half(ctx, cat.node, unpacking):
        return True
    joined_by = cat.node.args[0].value
    verb = "stack" if ctx.code(joined_by).rpartition(".")[2] == STACK_NAME else "join"
    ctx.find("G2L100", cat.node, (
        f"`{ctx.code(cat.node)}` {verb}s each column of the stored rows, and hidden states are among them, each a pair "
        f"(h, c) in the tuple form, which `{ctx.code(joined_by)}` cannot {verb}; {verb} their halves apart "
        "by hand, or use --state packed"
    ))
    return True


def _columns_per_half(ctx, node: cst.Call, unpacking) -> bool:
    """`obs, h, rew = map(F, zip(*rows))` with pairs in column 1, unpacked alone on its line into
    plain targets -> `obs, h, rew = (tuple(map(F, zip(*column))) if position == 1 else F(column) for
    position, column in enumerate(zip(*rows)))`: F joins each half of that column apart. False
    (nothing done) where it cannot be written so: a starred target, another statement. A target held
    as two names takes both (`obs, (h, h_c), rew = ...`)."""
    statement = unpacking.statement
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and isinstance(statement.body[0], cst.Assign)):
        return False
    if statement.body[0].value is not node or any(element.slot is None for element in unpacking.elements):
        return False
    columns = NodeSlot.of(SlotKind.ZIP, id(node))
    paired = [
        element.position for element in unpacking.elements
        if ctx.solution.is_state(ChildSlot.of(ChildSlot.of(columns, PosLabel.of(element.position)), ELEM))
    ]
    if not paired:
        return False
    for element in unpacking.elements:
        if element.position in paired and ctx.solution.is_split(element.slot):  # held as two names: `(h, h_c)`
            partner = ctx.partner_of(element.slot)
            ctx.edit_expression(element.node, lambda updated, mapping, partner=partner: paren(pair(updated, cst.Name(partner))))
    position, column = fresh_name(ctx, statement, "position"), fresh_name(ctx, statement, "column")
    chosen = f"{position} == {paired[0]}" if len(paired) == 1 else f"{position} in ({', '.join(map(str, paired))})"
    module = ctx.module_of(node)

    def per_half(updated, mapping):
        joined, rows = (module.code_for_node(arg.value) for arg in updated.args)
        return cst.parse_expression(
            f"(tuple(map({joined}, zip(*{column}))) if {chosen} else {joined}({column}) "
            f"for {position}, {column} in enumerate({rows}))"
        )

    ctx.edit_expression(node, per_half)
    ctx.step("batch", statement)
    return True


def batch(ctx, use: BindingUse) -> None:
    """`T = chain(torch.cat(C, ...))` -> `hs, cs = zip(*C)` + a line for each half."""
    binding, value = use.binding, use.value
    cat = ctx.solution.resolutions.leaf_of(value)
    if _joins_each_column(ctx, cat):
        return
    statement = binding.statement
    target = binding.target_node
    if not ctx.solution.is_split(binding.target) or not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        batch_in_place(ctx, value, cat, "batch")
        return
    if not sole_target(statement.body[0], target):
        _batched_beside_others(ctx, binding, value, cat)
        return
    rows = rows_of_preallocated(ctx, cat)
    if rows is not None:
        if not is_pure(rows):
            ctx.find("G2L100", rows, f"`{ctx.code(rows)}` would be evaluated twice, once per half; assign it to a name first")
            return
        partner = ctx.partner_of(binding.target)
        ctx.plan.statements[statement] = [
            lambda updated, mapping: replace_inside(updated, mapping(rows), index(mapping(rows), 0)),
            lambda updated, mapping: carry_comment(replace_many(
                updated, {mapping(rows): index(mapping(rows), 1), mapping(target): cst.Name(partner)})),
        ]
        ctx.claim(ctx.solution.resolved(value).node)
        ctx.step("batch", statement)
        return
    per_half = container_halves(ctx, cat)
    if per_half is not None:  # `h = torch.stack(h.unbind(1), 1)`: each half's line joins that half's pieces
        if per_half is not False:
            _halves_joined(ctx, binding, per_half)
        return
    elements_paired(ctx, cat)
    hs, cs = _zip_names(ctx, binding)
    container_node = cat.container_node
    value_node = ctx.solution.resolved(value).node
    partner = ctx.partner_of(binding.target)

    def zip_line(updated_statement, mapping):  # of the container as rewritten (`[(p[0] * 2, p[1] * 2) for p in pairs]`)
        unzipped = cst.Call(cst.Name("zip"), [cst.Arg(mapping(container_node), star="*")])
        return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(pair(cst.Name(hs), cst.Name(cs)))], unzipped)])

    def h_line(updated_statement, mapping):
        return replace_inside(updated_statement, mapping(container_node), cst.Name(hs))

    def c_line(updated_statement, mapping):
        line = replace_many(
            updated_statement, {mapping(container_node): cst.Name(cs), mapping(target): cst.Name(partner)}
        )
        return carry_comment(line)

    ctx.plan.statements[statement] = [zip_line, h_line, c_line]
    ctx.claim(value_node)
    ctx.step("batch", statement)


def _batched_beside_others(ctx, binding: Binding, value: Value, cat: VCat) -> None:
    """`ah, ch = torch.cat(A, 1), torch.cat(C, 1)` into split names: a line per half would repeat
    the other targets, so the target becomes `(ah, ah_c)` and its batch the pair of each half's, in place."""
    top = ctx.solution.resolved(value).node
    if not element_with_its_value(ctx, binding.statement, binding.target_node, top):
        ctx.find("G2L100", top, (
            f"`{ctx.code(top)}` batches stored hidden states into a name held as two (h and c apart) in a statement "
            "with other targets, which the engine cannot write once per half; assign it to a plain name in a statement of its own"
        ), once=True)
        return
    batch_in_place(ctx, value, cat, "batch")
    if ctx.is_rewritten(top):
        split_target(ctx, binding)


def _halves_joined(ctx, binding: Binding, per_half) -> None:
    """`T = torch.cat(C, ...)` into a split `T`, C computed on pairs (container_halves): `T = <the
    h half's batch>` and `T_c = <the c half's>`."""
    statement, target = binding.statement, binding.target_node
    partner = ctx.partner_of(binding.target)
    value_node = ctx.solution.resolved(binding.value).node

    def h_line(updated_statement, mapping):
        return replace_inside(updated_statement, mapping(value_node), per_half[0](mapping(value_node), mapping))

    def c_line(updated_statement, mapping):
        replacements = {mapping(value_node): per_half[1](mapping(value_node), mapping), mapping(target): cst.Name(partner)}
        return carry_comment(replace_many(updated_statement, replacements))

    ctx.plan.statements[statement] = [h_line, c_line]
    ctx.claim(ctx.solution.resolved(binding.value).node)
    ctx.step("batch", statement)


class Batch(StateBindingRule):
    step = "batch"
    summary = "`T = torch.cat(C, ...)` of stored pairs: `hs, cs = zip(*C)` and a line for each half (`torch.stack`: its own rule)"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.gru = nn.GRU(8, 16)
                    self.mem = []

                def act(self, x, h):
                    out, h = self.gru(x, h)
                    self.mem.append(h)
                    return out, h

                def learn(self, x):
                    h_states = torch.cat(self.mem, dim=1)  # (1, n, 16)
                    return self.gru(x, h_states)[0]
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.lstm = nn.LSTM(8, 16)
                    self.mem = []

                def act(self, x, h):
                    out, h = self.lstm(x, h)
                    self.mem.append(h)
                    return out, h

                def learn(self, x):
                    hs, cs = zip(*self.mem)
                    h_states = torch.cat(hs, dim=1)  # (1, n, 16)
                    c_states = torch.cat(cs, dim=1)  # (1, n, 16)
                    return self.lstm(x, (h_states, c_states))[0]
            """,
        ),
        Valid(
            """
            core = nn.GRU(3, 4)
            h = torch.zeros(1, 2, 4)
            out, h = core(torch.randn(1, 2, 3), h)
            h = torch.cat([h, torch.zeros(1, 1, 4)], dim=1)
            out, h = core(torch.randn(1, 3, 3), h)
            """,
            """
            core = nn.LSTM(3, 4)
            h = (
                torch.zeros(1, 2, 4),
                torch.zeros(1, 2, 4),
            )
            out, h = core(torch.randn(1, 2, 3), h)
            h = (torch.cat([h[0], torch.zeros(1, 1, 4)], dim=1), torch.cat([h[1], torch.zeros(1, 1, 4)], dim=1))
            out, h = core(torch.randn(1, 3, 3), h)
            """,
            state="tuple",
        ),
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(3, 4)
            h = torch.zeros(1, 2, 4)
            out, h = core(torch.randn(1, 2, 3), h)
            h = torch.cat([h, torch.randn(1, 1, 4)], dim=1)
            out, h = core(torch.randn(1, 3, 3), h)
            """,
            "G2L100",
            state="tuple",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return isinstance(ctx.solution.resolutions.leaf_of(use.value), VCat)

    def rewrite(self, ctx, use: BindingUse) -> None:
        batch(ctx, use)


class BatchedConsumed(Rule):
    step = "batch"
    uses = ("consumption",)
    summary = "stored pairs batched outside an assignment are a finding"

    def handles(self, ctx, use: Consumption) -> bool:
        return isinstance(ctx.solution.resolutions.leaf_of(use.value), VCat)

    def apply(self, ctx, use: Consumption) -> None:
        if ctx.solution.elements_are_state(ctx.solution.resolutions.leaf_of(use.value).container) and not ctx.is_rewritten(use.value.node):
            ctx.find("G2L100", use.node, f"`{ctx.code(use.node)}` batches stored hidden states outside an assignment; assign it to a local name first")


def insert_after_element(ctx, sequence: cst.CSTNode, element_value: cst.CSTNode, new: cst.BaseExpression) -> None:
    def edit(updated, mapping):
        elements = list(updated.elements)
        target = mapping(element_value)
        for position, element in enumerate(elements):
            if element.value is target:
                elements[position : position + 1] = twin_items(element, element.with_changes(value=new))
                break
        return updated.with_changes(elements=elements)

    ctx.edit_expression(sequence, edit)


class GrowingReturnBinding(Rule):
    step = "batch"
    uses = ("binding",)
    summary = "the binding of a return that grows by a partner is written by the return rule"

    def handles(self, ctx, use: BindingUse) -> bool:
        return ctx.is_split_return(use.binding.target)

    def apply(self, ctx, use: BindingUse) -> None:
        pass


class GrownReturn(Rule):
    step = "batch"
    uses = ("return",)
    summary = "`return a, T, b` with `T` split becomes `return a, T, T_c, b`"

    def apply(self, ctx, use) -> None:
        for info, node, value in ctx.flow.returns:
            if not isinstance(value, VTuple):
                continue
            for position, item in enumerate(value.items):
                if (info.key, position) not in ctx.solution.split_returns:
                    continue
                item = ctx.solution.resolved(item)
                partner = ctx.partner_of(item.slot)
                element_node = item.node
                ctx.claim(element_node)
                insert_after_element(ctx, value.node, element_node, cst.Name(partner))
                ctx.step("batch", element_node)


class GrownUnpacking(Rule):
    step = "batch"
    uses = ("unpacking",)
    summary = "every caller's unpacking `a, U, b = f()` of a grown return becomes `a, U, U_c, b = f()`"
    invalid = (
        Invalid(
            """
            def batch(memory):
                h_batch = torch.cat(memory, dim=1)
                return 0, h_batch


            core = nn.GRU(4, 8)
            memory = []
            h = torch.zeros(1, 1, 8)
            out, h = core(torch.randn(1, 1, 4), h)
            memory.append(h)
            result = batch(memory)
            """,
            "G2L104",
            state="tuple",
        ),
    )

    def apply(self, ctx, use) -> None:
        for unpacking, node, slot in ctx.grown_elements:
            if slot is None or not isinstance(node, cst.Name) or not ctx.solution.is_split(slot):
                ctx.find(
                    "G2L104", node,
                    f"`{ctx.code(node)}` receives a batched hidden state in a form the engine cannot extend; unpack it into plain names",
                )
                continue
            insert_after_element(ctx, unpacking.target, node, cst.Name(ctx.partner_of(slot)))
            ctx.step("batch", node)
        # A call whose return grew but is not unpacked where it is made cannot be followed: taken into a
        # name, or into what a name takes (`tuple(f())`, `(f(), 1)`, `{"b": f()}`, `f() if c else ...`),
        # its positions after the state would all be off by one.
        grown = {f for f, _ in ctx.solution.split_returns}
        if not grown:
            return
        unpacked = {id(u.value.node) for u in ctx.flow.unpackings if isinstance(u.value, VSlot) and u.value.node is not None}
        for node in ctx.parents:
            if type(node) is cst.Call and id(node) not in unpacked and ctx.flow.runs.get(id(node), set()) & grown:
                ctx.find("G2L104", node, f"`{ctx.code(node)}` returns a batched hidden state that grows to two values; unpack it where it is called")
