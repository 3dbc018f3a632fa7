"""What the packed form needs (`--state packed`): storage, masks and time indexing stay;
allocations and reshapes of a state double their last size; the recurrent call unpacks (h, c)
right before the LSTM (`E.chunk(2, dim=-1)`) and packs it right after (`torch.cat(hxs, dim=-1)`)."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.expressions import CONSTANT, SPREAD_FIELDS
from gru2lstm.program import BY_HAND, BindingKind, Consumption, Use
from gru2lstm.apply import index
from gru2lstm.results import ChangedMember
from gru2lstm.solve import spread_state
from gru2lstm.syntax import code_of, is_docstring, is_line, rows_holder, walk
from gru2lstm.values import (
    Derivation, LabelKind, PosLabel, ReturnSlot, SlotKind, Value, VCallOf, VCat, VChoice, VContainer, VCreate, VCtor, VDerived, VIndex, VOpaque, VSlot, VTuple,
)
from gru2lstm.vocab import CELL_KIND, LIKE_SUFFIX, PARAMETER_CLASSES, SHAPE_ATTRIBUTE, SIZE_METHOD, SIZED_SHAPE_METHODS
from gru2lstm.rules.base import BindingUse, Invalid, Rule, StateBindingRule, Valid, takes_a_state
from gru2lstm.rules.call import checked_call
from gru2lstm.rules.edits import fresh_name, is_pure, method, paren
from gru2lstm.rules.kept import rows_of_a_state
from gru2lstm.rules.packed_dims import may_be_none, moves_the_last
from gru2lstm.rules.packed_ranks import Ranks
from gru2lstm.rules.unfollowed import cannot_follow, report_untracked, untracked_read


def options(ctx, value: Value) -> list:
    """The values `value` may be (`a if c else b`: both)."""
    if isinstance(value, VChoice):
        return [o for option in value.options for o in options(ctx, ctx.solution.resolved(option))]
    return [value]


def last_size(node: cst.Call) -> Optional[cst.BaseExpression]:
    """The expression of the last dimension in a creation call (`torch.zeros(T, N, H)` -> `H`)."""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    sized = [a.value for a in node.args if a.keyword is not None and a.keyword.value in ("size", "shape")]
    candidates = sized or positional
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "full" and not sized:
        candidates = positional[:1]
    if not candidates:
        return None
    first = candidates[0]
    if isinstance(first, (cst.Tuple, cst.List)) and first.elements:
        return first.elements[-1].value
    if len(candidates) == 1 and not isinstance(first, (cst.Integer, cst.Name, cst.Attribute, cst.BinaryOperation)):
        return None
    return candidates[-1]


def created_size(ctx, node: cst.Call) -> Optional[cst.BaseExpression]:
    """The last size of a creation: of a call of a factory of the program that makes a fresh
    tensor, the argument that gives it (None when the call does not: followed_calls.py)."""
    return ctx.flow.fresh_sizes[id(node)] if id(node) in ctx.flow.fresh_sizes else last_size(node)


def _reads_a_shape(node: cst.BaseExpression) -> bool:
    """`x.shape[-1]`, `x.size(-1)`: a size taken from a tensor, packed already if it is a state."""
    # a plain walk: libcst.matchers costs more to import than all of this run's matching
    # `self.size` is a number the code keeps: only `.shape` and a call of `.size(...)` read a tensor
    return any(
        (isinstance(current, cst.Attribute) and current.attr.value == "shape")
        or (isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute) and current.func.attr.value == "size")
        for current in walk(node)
    )


def _is_minus_one(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer) and node.expression.value == "1"


def _spread_last(node: cst.Call) -> Optional[cst.BaseExpression]:
    """`S` of a creation whose last sizes are spread from it, `zeros((n, *S))` or `zeros(n, *S)`, else None."""
    shape = node.args[0].value if node.args else None
    if isinstance(shape, (cst.Tuple, cst.List)) and shape.elements and isinstance(shape.elements[-1], cst.StarredElement):
        return shape.elements[-1].value
    positional = [arg for arg in node.args if arg.keyword is None]
    return positional[-1].value if positional and positional[-1].star == "*" else None


def _shape_read_whole(node: cst.Call) -> Optional[cst.BaseExpression]:
    """The one shape argument of a creation that reads a tensor's shape and is no literal list of
    sizes (`zeros((T,) + h.shape)`, `zeros(h.size())`), or None."""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    if len(positional) != 1 or isinstance(positional[0], (cst.Tuple, cst.List)) or _is_like(node):
        return None
    return positional[0] if _reads_a_shape(positional[0]) else None


def _shape_sources(node: cst.BaseExpression) -> list:
    """The tensors whose shape `node` reads (`h` of `(T,) + h.shape` or `h.size()`)."""
    return [
        current.value if isinstance(current, cst.Attribute) else current.func.value
        for current in walk(node)
        if (isinstance(current, cst.Attribute) and current.attr.value == "shape")
        or (isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute) and current.func.attr.value == "size")
    ]


def _holds_a_state(ctx, node: cst.BaseExpression) -> bool:
    """Is the name or attribute `node` a hidden state wherever it is read here?"""
    slots = ctx.flow.slots_at(node)
    return bool(slots) and all(ctx.solution.is_state(slot) for slot in slots)


def _known_not_a_state(ctx, node: cst.BaseExpression) -> bool:
    """Is the value the walk took of `node` one it knows, and no hidden state?"""
    value = ctx.values_at_nodes.get(id(node))
    return value is not None and not isinstance(value, VOpaque) and not ctx.solution.value_is_state(value)


def _is_like(node: cst.Call) -> bool:
    func = node.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    return name.endswith(LIKE_SUFFIX)


def _twice(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.BinaryOperation) and not isinstance(node.operator, (cst.Multiply, cst.Power)):
        node = paren(node)
    return cst.BinaryOperation(cst.Integer("2"), cst.Multiply(), node)


def _twice_the_last(shape: cst.BaseExpression) -> cst.BaseExpression:
    """A shape held by a name or attribute, its last size doubled: `(*shape[:-1], 2 * shape[-1])`."""
    code = cst.Module([]).code_for_node(shape)
    return cst.parse_expression(f"(*{code}[:-1], 2 * {code}[-1])")


def _read_from_a_state(ctx, size: cst.BaseExpression) -> Optional[bool]:
    """Is the name `size` given what is read from a state (`H = h.size(1)`, packed already: True),
    never (False), or sometimes (None)?"""
    if not isinstance(size, cst.Name):
        return False
    slots = set(ctx.flow.slots_at(size))
    kinds = set()
    for binding in ctx.flow.bindings:
        if binding.target in slots and unpacked_last_size(ctx, binding) is not None:
            kinds.add(True)  # `L, B, H = h.shape`: `H` is the packed layout's
        elif binding.target in slots:
            for value in _through_returns(ctx, ctx.solution.resolved(binding.value)):
                leaf = ctx.solution.resolutions.leaf_of(value)
                from_state = isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot)
                kinds.add(from_state and ctx.solution.resolutions.chain_kind(value) == Derivation.READ)
    return kinds.pop() if len(kinds) == 1 else (None if kinds else False)


def sizes_to_the_last(node: cst.BaseExpression) -> bool:
    """Does `node` read a tensor's sizes up to its last (`x.shape`, `x.size()`, `x.shape[1:]`)?"""
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice):
        if node.slice[0].slice.upper is not None:
            return False
        node = node.value
    if isinstance(node, cst.Call) and not node.args:
        return isinstance(node.func, cst.Attribute) and node.func.attr.value == SIZE_METHOD
    return isinstance(node, cst.Attribute) and node.attr.value == SHAPE_ATTRIBUTE


def unpacked_last_size(ctx, binding) -> Optional[cst.BaseExpression]:
    """`h.shape` of `L, B, H = h.shape` (a state's sizes up to the last, unpacked) when `binding`
    binds the last name, `H`; else None."""
    for unpacking in ctx.flow.unpackings:
        if unpacking.statement is not binding.statement or not unpacking.target.elements:
            continue
        last = unpacking.target.elements[-1]
        if isinstance(last, cst.StarredElement) or last.value is not binding.target_node:
            continue
        value = ctx.solution.resolved(unpacking.value)
        leaf = ctx.solution.resolutions.leaf_of(value)
        if isinstance(value, VDerived) and sizes_to_the_last(value.node) and isinstance(leaf, VSlot) and ctx.solution.is_state(leaf.slot):
            return value.node
    return None


def _through_returns(ctx, value: Value) -> list:
    """What a position of a function's returned tuple is bound to (`return h, h.size(-1)` for
    `h, size = self.core(obs, h)` or `size = out[1]`), else `value` itself."""
    slot = value.slot if isinstance(value, VSlot) else None
    if slot is None or slot.kind != SlotKind.CHILD or slot.label.kind != LabelKind.POS:
        return [value]
    position, wanted = slot.label.position, ctx.solution.classes.find(slot)
    returned = [ctx.solution.resolved(binding.value) for binding, place in returned_places(ctx, position) if place == wanted]
    if not returned or not all(isinstance(tuple_, VTuple) and len(tuple_.items) > position for tuple_ in returned):
        return [value]
    return [ctx.solution.resolved(tuple_.items[position]) for tuple_ in returned]


def returned_places(ctx, position: Optional[int], statement: Optional[cst.CSTNode] = None) -> list:
    """(return binding, the class of the place its callers take position `position` of the tuple it
    returns from; None: the whole value) for each return of the program, or each at `statement`:
    what links a returned item to the names callers bind it to, either way."""
    classes, places = ctx.solution.classes, []
    for binding in ctx.flow.bindings:
        if binding.kind == BindingKind.RETURN and (statement is None or binding.statement is statement):
            part = binding.target if position is None else classes.part(binding.target, PosLabel.of(position))
            if part is not None:
                places.append((binding, classes.find(part)))
    return places


def packed_size_read(ctx, value: Value) -> Optional[cst.BaseExpression]:
    """The last size of a reshape in the chain of `value` that was read from a packed state
    (`H` in `beliefs.view(-1, H)` after `H = belief.size(1)`): 2H where the features take H."""
    while isinstance(value, VDerived):
        node = value.node
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in SIZED_SHAPE_METHODS:
            size = None if any(arg.star for arg in node.args) else last_size(node)
            if size is not None and _read_from_a_state(ctx, size) is not False:
                return size
        value = ctx.solution.resolved(value.base)
    return None


def _doubled(ctx, size: cst.BaseExpression) -> None:
    """Double a size. One read from an attribute (`policy.recurrent_hidden_state_size`), here or as
    the argument of the parameter it is, is a member that files not migrated with this one may
    allocate a state with too (project.py looks for them)."""
    ctx.edit_expression(size, lambda updated, mapping: _twice(updated))
    ctx.doubled_sizes.add(ctx.code(size))
    for attribute in _size_attributes(ctx, size):
        ctx.outcome(attribute).members.append(
            ChangedMember(ctx.line(attribute), ctx.column(attribute) + 1, "", attribute.attr.value, sizes=True)
        )


def _size_attributes(ctx, size: cst.BaseExpression) -> list:
    """`X.attr` the size is, or that followed calls pass to the parameter it is."""
    if isinstance(size, cst.Attribute):
        return [size]
    slot = next(iter(ctx.flow.slots_at(size)), None) if isinstance(size, cst.Name) else None
    return [
        binding.target_node for binding in ctx.flow.bindings
        if slot is not None and binding.target == slot and binding.kind == BindingKind.ARG and isinstance(binding.target_node, cst.Attribute)
    ]


def _double_reshape(ctx, value: Value) -> None:
    """`h.reshape(-1, H)` of a packed state: its last size is 2H now (`-1` stays), unless H was
    read from the packed state itself (`H = h.size(1)`)."""
    for option in options(ctx, ctx.solution.resolved(value)):
        while isinstance(option, VDerived):
            node = option.node
            if (
                isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                and node.func.attr.value in SIZED_SHAPE_METHODS and ctx.claim(node)
            ):
                size = None if any(arg.star for arg in node.args) else last_size(node)
                packed = _read_from_a_state(ctx, size) if size is not None else False
                if packed is None:
                    _packed_on_some_paths(ctx, size, node)
                elif size is not None and not packed and not _is_minus_one(size) and not _reads_a_shape(size):
                    _doubled(ctx, size)
                    ctx.step("creation", node)
            option = ctx.solution.resolved(option.base)


def _packed_on_some_paths(ctx, size: cst.BaseExpression, node: cst.Call) -> None:
    ctx.find(
        "G2L100", size,
        f"`{ctx.code(size)}` in `{ctx.code(node)}` is the packed size (read from the state) on some paths and "
        "the hidden size on others, so the engine cannot tell whether to double it; give it one meaning, or use --state tuple",
    )


def _joined_with_other(ctx, cat: cst.Call, item: Value) -> None:
    """`torch.cat([h, x * s], 1)` into a state: `x * s` is as wide as h, and no new tensor whose
    size the engine can double, so it would not line up with the packed state."""
    node = getattr(item, "node", None) or cat
    ctx.find("G2L100", node, (
        f"`{ctx.code(cat)}` joins the hidden state with `{ctx.code(node)}`, which is neither a state nor a new tensor, "
        "so the engine cannot make it as wide as the packed state (h and c side by side); make it a new tensor "
        f"(`torch.zeros(...)`), or {BY_HAND}"
    ))


def _double_creation(ctx, value: Value) -> None:
    for option in options(ctx, ctx.solution.resolved(value)):
        leaf = ctx.solution.resolutions.leaf_of(option)
        container = ctx.solution.resolved(leaf.container) if isinstance(leaf, VCat) else None
        if isinstance(container, VContainer):
            # `torch.cat([h, torch.zeros(1, k, H)], 1)`: a creation joined into a state is rows of
            # it (a join along the last dimension is a finding: packed_dims)
            for _, item in container.items:
                if isinstance(ctx.solution.resolutions.leaf_of(item), VCreate):
                    _double_creation(ctx, item)
                elif not ctx.solution.value_is_state(item):
                    _joined_with_other(ctx, leaf.node, item)
            continue
        if not isinstance(leaf, VCreate) or not ctx.claim(leaf.node):
            continue
        if isinstance(option, (VDerived, VIndex)) and moves_the_last(ctx, option, Ranks(ctx), moving_only=True):
            # `torch.zeros(H, B).permute(1, 0)`: the size written last is not the state's last one
            ctx.find("G2L100", leaf.node, (
                f"`{ctx.code(option.node)}` moves the dimensions of the new tensor `{ctx.code(leaf.node)}` before it becomes "
                "the hidden state, so the size written last, which the engine doubles, is not the state's last one; make the "
                "state in its own order (`torch.zeros(B, H)`), or use --state tuple"
            ))
            continue
        made_by_factory = id(leaf.node) in ctx.flow.fresh_sizes  # `fresh(3, 8)`: its arguments are no shape written out
        if not made_by_factory and _is_like(leaf.node) and leaf.node.args and _known_not_a_state(ctx, leaf.node.args[0].value):
            # `np.zeros_like(self.template)` of a template as wide as h: the stored packed state would not fit
            ctx.find("G2L100", leaf.node, f"`{ctx.code(leaf.node)}` takes its shape from `{ctx.code(leaf.node.args[0].value)}`, which is not the hidden state, so the engine cannot double its hidden size; allocate it with its sizes, or use --state tuple")
            continue
        if not made_by_factory and _is_like(leaf.node):
            continue  # zeros_like(hxs): already packed
        spread = None if made_by_factory else _spread_last(leaf.node)
        if spread is not None:
            # zeros((n, *hxs.shape[1:])), zeros(T, *h.shape[1:]): the packed size, already (doubling
            # the size written last, T, made twice the rows: rt35 b05)
            if not (_reads_a_shape(spread) and all(_holds_a_state(ctx, tensor) for tensor in _shape_sources(spread))):
                ctx.find("G2L100", leaf.node, f"`{ctx.code(leaf.node)}` takes its last sizes from `*{ctx.code(spread)}`, which is not the shape of the hidden state, so the engine cannot double its hidden size; give the sizes one by one, or use --state tuple")
            continue
        whole = None if made_by_factory else _shape_read_whole(leaf.node)
        if whole is not None:
            if not all(_holds_a_state(ctx, tensor) for tensor in _shape_sources(whole)):
                ctx.find("G2L100", leaf.node, f"`{ctx.code(leaf.node)}` takes its whole shape from a tensor that is not the hidden state, so the engine cannot double its hidden size; give the sizes one by one, or use --state tuple")
            continue  # zeros((T,) + h.shape): the packed state's shape, doubled already
        size = created_size(ctx, leaf.node)
        if size is None and made_by_factory:
            ctx.find("G2L100", leaf.node, (
                f"`{ctx.code(leaf.node)}` makes the hidden state, but no argument of this call gives its last size alone (the "
                f"size is written or computed inside `{ctx.code(leaf.node.func)}()`, left to a default, spread, or held in a shape), and "
                f"`{ctx.code(leaf.node.func)}()` also makes tensors that are not states, so the engine cannot double the hidden "
                "size at the call; give the hidden size as an argument of its own (`fresh(n, hidden)` making "
                "`torch.zeros(n, hidden)`), or use --state tuple"
            ))
            continue
        if size is None:
            ctx.find("G2L100", leaf.node, f"the engine cannot find the hidden size to double in `{ctx.code(leaf.node)}`; give the size as the last argument, or use --state tuple")
            continue
        read_from = [_holds_a_state(ctx, tensor) for tensor in _shape_sources(size)]
        if read_from and all(read_from):
            continue  # zeros((T, s.size(0), N, s.size(2))) of a state s: its size is the packed one already
        if any(read_from):
            ctx.find("G2L100", size, f"`{ctx.code(size)}` in `{ctx.code(leaf.node)}` reads the size of the hidden state and of another tensor, so the engine cannot tell whether to double it; give the hidden size by its name, or use --state tuple")
            continue
        packed = _read_from_a_state(ctx, size)
        if packed is None:
            _packed_on_some_paths(ctx, size, leaf.node)
            continue
        if packed:
            continue  # zeros(n, H) after `H = h.size(-1)` of a state: the packed size already
        if isinstance(size, (cst.Name, cst.Attribute)) and Ranks(ctx).shape_held(leaf.node) is not None:
            # `np.zeros(shape)` with `shape = (T, L, N, H)`: `2 * shape` would repeat the tuple
            ctx.edit_expression(size, lambda updated, mapping: _twice_the_last(updated))
            ctx.step("creation", leaf.node)
            continue
        _doubled(ctx, size)
        ctx.step("creation", leaf.node)


def double_sizes(ctx, value: Value) -> None:
    """Allocations of a packed state, and its reshapes, take twice the hidden size."""
    _double_creation(ctx, value)
    _double_reshape(ctx, value)


def _split_for_the_call(ctx, hidden: Value, node: cst.BaseExpression) -> None:
    """`E.chunk(2, dim=-1)` as the LSTM's state; `None if E is None else E.chunk(2, dim=-1)` when
    E may be None (the LSTM makes a zero state of None, as the GRU did, and None has no chunk)."""
    if not may_be_none(ctx, hidden):
        ctx.edit_expression(node, lambda updated, mapping: method(updated, "chunk", "2, dim=-1"))
        return
    if not is_pure(node):
        ctx.find(
            "G2L100", node,
            f"`{ctx.code(node)}` may be None here, and the packed form splits it with `.chunk`; "
            "assign it to a name first, or use --state tuple",
        )
        return
    module = ctx.module_of(node)

    def guarded(updated, mapping):
        code = module.code_for_node(updated)
        return cst.parse_expression(f"None if {code} is None else {module.code_for_node(method(updated, 'chunk', '2, dim=-1'))}")

    ctx.edit_expression(node, guarded)


def _imports(statement: cst.CSTNode) -> bool:
    """A top-level import line, but `from __future__ import ...` (which must come first)."""
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Import) or isinstance(small, cst.ImportFrom) and not _from_future(small)
        for small in statement.body
    )


def _from_future(small: cst.BaseSmallStatement) -> bool:
    return isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative and (
        code_of(small.module) == "__future__"
    )


def _first_after_prelude(module: cst.Module) -> Optional[cst.BaseStatement]:
    """The first statement after the module's docstring and its `from __future__` imports, which
    must stay first: where a file whose imports all sit in functions or a `try` gains `import torch`."""
    body = list(module.body)
    if body and is_docstring(body[0]):
        body = body[1:]
    while body and isinstance(body[0], cst.SimpleStatementLine) and all(_from_future(small) for small in body[0].body):
        body = body[1:]
    return body[0] if body else None


def _imports_torch(statement: cst.CSTNode) -> bool:
    """`import torch.nn as nn`, `from torch import nn`: a top-level import of torch's."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Import) and any(
            code_of(alias.name).split(".")[0] == "torch" for alias in small.names
        ):
            return True
        if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
            if code_of(small.module).split(".")[0] == "torch":
                return True
    return False


def _torch_for(ctx, node: cst.CSTNode) -> Optional[str]:
    """The file's own name for torch, to pack (h, c) with. A file that reaches torch only as
    `import torch.nn as nn` gains `import torch` right above that import (once), as a file
    that spells `Tuple` gains it in its typing import; a file with no torch import gains it
    above its first import (a runner handed the agent, `out, h = agent.gru(x, agent.hidden)`), or
    when its imports all sit in functions or a `try`, above its first statement after the docstring
    and `from __future__` imports; None for a file that spells `torch` otherwise."""
    key = ctx.key_of(node)
    if ctx.torch_names[key] is not None:
        return ctx.torch_names[key]
    module = ctx.modules[key]
    first = next((statement for statement in module.body if _imports_torch(statement)), None)
    if first is None and not any(isinstance(name, cst.Name) and name.value == "torch" for name in walk(module)):
        first = next((statement for statement in module.body if _imports(statement)), None) or _first_after_prelude(module)
    if first is None:
        return None
    if "import torch" not in ctx.plan.before.get(first, []):
        ctx.plan.before.setdefault(first, []).append("import torch")
        ctx.step("call", first)
    return "torch"


class PackedAllocation(StateBindingRule):
    step = "creation"
    summary = "packed: an allocation or reshape of a state doubles its last size"
    valid = (
        Valid(
            """
            class Storage:
                def __init__(self, steps, n, size):
                    self.hxs = torch.zeros(steps + 1, n, size)


            class Policy(nn.Module):
                def __init__(self):
                    self.gru = nn.GRU(4, 8)

                def forward(self, x, hxs):
                    x, hxs = self.gru(x.unsqueeze(0), hxs.unsqueeze(0))
                    return x.squeeze(0), hxs.squeeze(0)


            storage = Storage(5, 2, 8)
            policy = Policy()
            for step in range(5):
                x, h = policy(torch.randn(2, 4), storage.hxs[step])
                storage.hxs[step + 1].copy_(h)
            """,
            """
            class Storage:
                def __init__(self, steps, n, size):
                    self.hxs = torch.zeros(steps + 1, n, 2 * size)


            class Policy(nn.Module):
                def __init__(self):
                    self.lstm = nn.LSTM(4, 8)

                def forward(self, x, hxs):
                    x, hxs = self.lstm(x.unsqueeze(0), hxs.unsqueeze(0).chunk(2, dim=-1))
                    hxs = torch.cat(hxs, dim=-1)
                    return x.squeeze(0), hxs.squeeze(0)


            storage = Storage(5, 2, 8)
            policy = Policy()
            for step in range(5):
                x, h = policy(torch.randn(2, 4), storage.hxs[step])
                storage.hxs[step + 1].copy_(h)
            """,
            state="packed",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return ctx.solution.is_state(use.binding.target)

    def rewrite(self, ctx, use: BindingUse) -> None:
        double_sizes(ctx, use.binding.value)


class PackedUnfollowed(StateBindingRule):
    summary = (
        "packed: a state made by code the engine cannot follow (`encoder(x).squeeze(0)` of another file, a library's "
        "`ray.get(ref)`), or read from what it does not track (`st.data[\"h\"]`, taken for a tensor's `.data`), is a finding: "
        "it has the GRU's size"
    )
    invalid = (
        Invalid(
            """
            class Storage:
                def __init__(self):
                    self.data = {"h": torch.zeros(5, 3, 8)}

                def add(self, t, h):
                    self.data["h"][t] = h

            class Net(nn.Module):
                def __init__(self):
                    self.gru = nn.GRU(4, 8)

                def forward(self, x, h):
                    return self.gru(x, h)

            net = Net()
            st = Storage()
            h = torch.zeros(1, 3, 8)
            for t in range(5):
                st.add(t, h[0])
                _, h = net(torch.randn(1, 3, 4), h)
            _, h = net(torch.randn(1, 3, 4), st.data["h"][0][None])
            """,
            "G2L102",
            state="packed",
        ),
        Invalid(
            """
            class M(nn.Module):
                def __init__(self, encoder):
                    self.encoder = encoder
                    self.cell = nn.GRUCell(4, 8)

                def forward(self, x, seq):
                    h = self.encoder(seq).squeeze(0)
                    return self.cell(x, h)
            """,
            "G2L101",
            state="packed",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        leaf = ctx.solution.resolutions.leaf_of(use.value)
        if not ctx.solution.is_state(use.binding.target):
            return False
        if leaf is None:
            # read from what the walk does not track (`st.data["h"][0]`, `.data` taken for the
            # tensor's): nothing to double is seen, and the tuple form reports it (CannotFollow)
            return True
        if isinstance(leaf, VCallOf):
            # a call only the joined classes tie to a method (`self.agent.init_hidden()` of an agent made
            # by a builder) whose return is no state: what it allocates was not doubled
            callee = ctx.solution.forwarded.get(id(leaf))
            return id(leaf) not in ctx.solution.recurrent_calls and (callee is None or not ctx.solution.is_state(ReturnSlot.of(callee.key)))
        if isinstance(leaf, VCtor):
            return leaf.qualname in PARAMETER_CLASSES  # `nn.Parameter(*args)`: the GRU's size, not seen to double
        # a value of code in a file not migrated with this one (its GRU's state, made elsewhere), of
        # a library's function (`ray.get(ref)`): made with the GRU's size, or an
        # element of what the engine cannot read (`list(torch.split(h, 1, dim=1))`)
        # or a tensor a library call makes from numbers (`np.random.randn(2, 4)`: derived from its first
        # argument), whose sizes the engine does not read (a number bound alone is no tensor to double),
        # also where the number is given to a parameter the call reads (`torch.eye(batch, H)` of `init(3)`)
        return isinstance(leaf, VOpaque) and (
            leaf.node is None or isinstance(leaf.node, cst.Call) or id(leaf.node) in ctx.flow.outside_calls or leaf.why == SPREAD_FIELDS
            or leaf.why == CONSTANT and (ctx.solution.resolved(use.value) is not leaf or use.binding.kind == BindingKind.ARG)
        )

    def rewrite(self, ctx, use: BindingUse) -> None:
        cannot_follow(ctx, use.binding, use.value)


class PackedKept(Rule):
    uses = ("consumption",)
    summary = "packed: concatenations, size reads (`zeros_like(hxs)`) and dropped results of a state stay as they are"

    def handles(self, ctx, use: Consumption) -> bool:
        if isinstance(ctx.solution.resolutions.leaf_of(use.value), VCat):
            return True  # concatenating packed states along their batch or time dimensions is fine
        return takes_a_state(ctx, use) and (
            use.context == Use.SHAPED and _shapes_a_state(ctx, use.node)
            or use.context == Use.DISCARD and ctx.solution.resolutions.chain_kind(use.value) == Derivation.KEEP
        )

    def apply(self, ctx, use: Consumption) -> None:
        pass  # `zeros_like(hxs)` of a packed state is packed already


def _shapes_a_state(ctx, node: cst.CSTNode) -> bool:
    """Does the state at `node` give its shape to a new state? An argument (`zeros_like(h)`,
    `x.expand_as(h)`) does so only where the call's result stays a state; read as features, the
    result must be as wide as h (the features rule gives it h's half, as the tuple form gives `h[0]`).
    Else (`h.new_zeros(...)`) the state gives its dtype and device only."""
    argument = ctx.parents.get(node)
    call = ctx.parents.get(argument) if isinstance(argument, cst.Arg) else None
    return not isinstance(call, cst.Call) or id(call) in ctx.state_chains.operations


def _only_output_taken(ctx, node: cst.Call) -> bool:
    """`self.gru(x, h)[0]`: the new state is thrown away, nothing to pack."""
    parent = ctx.parents.get(node)
    return (
        isinstance(parent, cst.Subscript) and parent.value is node and len(parent.slice) == 1
        and isinstance(parent.slice[0].slice, cst.Index) and isinstance(parent.slice[0].slice.value, cst.Integer)
        and parent.slice[0].slice.value.value == "0"
    )


def _returned_alone(ctx, node: cst.Call) -> Optional[cst.SimpleStatementLine]:
    """The line of `return self.gru(x, h)`, alone on it (or after the colon of a `def`), else None."""
    parent = ctx.parents.get(node)
    line = ctx.parents.get(parent)
    if isinstance(parent, cst.Return) and parent.value is node and is_line(line) and len(line.body) == 1:
        return line
    return None


def _repacked_return(ctx, line: cst.SimpleStatementLine, torch_name: str) -> None:
    """`return self.gru(x, h)` -> `output, hxs = self.gru(x, h...)` and `return output, torch.cat(hxs, dim=-1)`."""
    output, hxs = fresh_name(ctx, line, "output"), fresh_name(ctx, line, "hxs")

    def unpacked(updated, mapping):
        targets = [cst.AssignTarget(cst.Tuple([cst.Element(cst.Name(output)), cst.Element(cst.Name(hxs))], lpar=[], rpar=[]))]
        return updated.with_changes(body=[cst.Assign(targets, updated.body[0].value)])

    def repacked(updated, mapping):
        return cst.parse_statement(f"return {output}, {torch_name}.cat({hxs}, dim=-1)")

    ctx.plan.statements[line] = [unpacked, repacked]
    ctx.step("call", line)


def _held_as_a_state(ctx, call: VCallOf) -> bool:
    """Does what the call gives (through tensor methods) go where a state is held?"""
    resolutions = ctx.solution.resolutions
    return any(
        resolutions.leaf_of(ctx.solution.resolved(binding.value)) is call and ctx.solution.is_state(binding.target)
        for binding in ctx.flow.bindings
    )


def _holder_name(target: cst.BaseExpression) -> str:
    """The name a pair landing in `target` is named after: `hidden` of `self.hidden`, `hs` of `hs[i]`."""
    holder = rows_holder(target) if isinstance(target, cst.Subscript) else target
    if isinstance(holder, cst.Attribute):
        return holder.attr.value
    return holder.value if isinstance(holder, cst.Name) else "state"


class PackedCall(Rule):
    step = "call"
    uses = ("call",)
    summary = (
        "packed: `E.chunk(2, dim=-1)` into the recurrent call, `torch.cat(hxs, dim=-1)` after it; where a buffer or a row of "
        "a tensor takes the state (`out, hs[i] = gru(out, hs[i])`), through a name of its own (`hs[i] = torch.cat(hs_pair, dim=-1)`)"
    )

    def handles(self, ctx, call: VCallOf) -> bool:
        return id(call) in ctx.solution.recurrent_calls

    def apply(self, ctx, call: VCallOf) -> None:
        kind = ctx.solution.recurrent_calls[id(call)]
        proceed, hidden = checked_call(ctx, call)
        if not proceed:
            return
        if hidden is not None and untracked_read(ctx, ctx.solution.resolved(hidden), hidden.node):
            # `core(x, st.data["h"][0])`: whether it was allocated twice as wide is not known
            report_untracked(ctx, hidden.node, f"`{ctx.code(call.node)}` takes the hidden state, but here it receives")
            return
        if hidden is not None:
            double_sizes(ctx, hidden)
            if spread_state(call):  # `core(x, *core_state)`: each item of the tuple is split (it has one, or none)
                ctx.edit_expression(call.args[1][2].value, lambda updated, mapping: cst.parse_expression(
                    f"(state.chunk(2, dim=-1) for state in {ctx.module_of(call.node).code_for_node(updated)})"))
            else:
                _split_for_the_call(ctx, hidden, ctx.solution.resolved(hidden).node)
        elif kind == CELL_KIND and not _held_as_a_state(ctx, call):
            # `F.relu(self.cell(x))`: a plain gated layer, read as features: h of (h, c), nothing to pack
            ctx.edit_expression(call.node, lambda updated, mapping: index(updated, 0))
            ctx.step("features", call.node)
            return
        torch_name = _torch_for(ctx, call.node)
        if torch_name is None:
            ctx.find("G2L100", call.node, f"the packed form needs `import torch` in this file to pack (h, c) after `{ctx.code(call.node)}`; add the import, or use --state tuple")
            return
        module = ctx.module_of(call.node)
        if kind == CELL_KIND:
            ctx.edit_expression(call.node, lambda updated, mapping: cst.parse_expression(
                f"{torch_name}.cat({module.code_for_node(updated)}, dim=-1)"))
            return
        for unpacking in ctx.flow.unpackings:
            if unpacking.value is call and len(unpacking.elements) > 1:
                target = unpacking.elements[1].node
                if isinstance(target, cst.Name) and target.value == "_":
                    return  # thrown away: nothing to pack
                if isinstance(unpacking.target.elements[1], cst.StarredElement):
                    # `out, *rest = self.gru(x, h)`: the pair lands in a list, where no `torch.cat` packs it
                    ctx.find(
                        "G2L100", call.node,
                        f"the packed form needs the state of `{ctx.code(call.node)}` unpacked into a name of its own, and here it "
                        f"lands in the list of the starred target `*{ctx.code(target)}`; unpack it as `out, h = ...`, or use --state tuple",
                    )
                    return
                statement = unpacking.statement
                if not is_line(statement) or len(statement.body) != 1:
                    ctx.find(
                        "G2L100", call.node,
                        f"the packed form needs the state of `{ctx.code(call.node)}` unpacked in a statement of its own; "
                        "split the statement, or use --state tuple",
                    )
                    return

                held = module.code_for_node(target)
                if unpacking.elements[1].slot in ctx.flow.registered or rows_of_a_state(ctx, target, unpacking.elements[1].slot) is not None:
                    # a buffer, or rows of a tensor (`out, hs[i] = ...`), takes no tuple, even for a
                    # moment: the pair lands in a name, packed into them
                    pair = fresh_name(ctx, statement, f"{_holder_name(target)}_pair")
                    ctx.edit_expression(target, lambda updated, mapping, pair=pair: cst.Name(pair))
                else:
                    pair = None

                def repack(updated_statement, mapping, target=target, held=held, pair=pair):
                    name = module.code_for_node(mapping(target)) if pair is None else held
                    return cst.parse_statement(f"{name} = {torch_name}.cat({pair or name}, dim=-1)")

                ctx.plan.after.setdefault(statement, []).append(repack)
                return
        returned = _returned_alone(ctx, call.node)
        if returned is not None:
            _repacked_return(ctx, returned, torch_name)
        elif not _only_output_taken(ctx, call.node):
            # `out = self.gru(x, h)`: the new (h, c) would flow on as a tuple where one packed tensor is expected
            ctx.find(
                "G2L100", call.node,
                f"the packed form needs the state of `{ctx.code(call.node)}` unpacked into a name (`out, h = ...`) to pack (h, c) again; "
                "unpack it first, or use --state tuple",
            )
