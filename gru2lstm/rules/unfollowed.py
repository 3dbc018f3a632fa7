"""Findings instead of guesses: a state (or the module, or what holds states) that reaches code the
engine does not follow, a holder of the state that receives something that is not one, and a state
used in a way no rule of the table covers."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.expressions import AFTER_STAR, CONSTANT, SPREAD_FIELDS
from gru2lstm.program import BY_HAND, Binding, BindingKind, Consumption, Use, follow_remedy, from_where
from gru2lstm.syntax import code_of, is_line, kinds_named, literal_strings, makes_dict, type_test_of, variable_key, walk
from gru2lstm.values import ELEM, Derivation, is_element, InstanceSlot, LabelKind, SlotKind, Value, VArith, VCallOf, VCat, VContainer, VCreate, VOpaque, VSlot, VTuple
from gru2lstm.summaries import may_name_the_last
from gru2lstm.qualnames import dotted, module_imports, qualify
from gru2lstm.classes_by_value import chosen_message, picks_by_value, reads_torch_class, returned_choosers, torch_names
from gru2lstm.vocab import (
    CAT_NAMES, CELL_KIND, CLASS_OF_OBJECT, COPY_INTO_METHOD, INSTANCE_TEST, KEEP_ATTRIBUTES, PAIR_CLASS, TENSOR_TEST_FUNCTION, DATA_LOADERS, DATA_PIPELINE_PREFIX, DIM_POSITIONS, ITERATION_BUILTINS, MAP_BUILTIN, OWN_OBJECTS,
    SEQUENCE_BUILTINS,
)
from gru2lstm.rules.base import BindingUse, Invalid, Rule, StateBindingRule
from gru2lstm.rules.module_reach import class_by_name
from gru2lstm.rules.packed_dims import call_touches_last, helper_touches_last, subscript_touches_last
from gru2lstm.rules.packed_ranks import Ranks, rank_after


def unread_class(ctx, call: cst.Call) -> Optional[tuple]:
    """(code, node, message) of the one finding about a module called with a state at `call` that is
    made from a class the engine does not read: another module's (`self.cell2 = type(self.cell)(8,
    8)`), or one of torch.nn picked by a name (`getattr(nn, cfg.rnn)(4, 8)`, `rnn_class(cfg.rnn)(4,
    8)` of a function of the program that returns one), which may be a GRU; else None. Every use of
    the module reaches the same finding, at the place that chooses the class."""
    made = _made(ctx, call.func)
    if made is None:
        return None
    chooser = made.func
    if type(chooser) is cst.Call and isinstance(chooser.func, cst.Name) and chooser.func.value == CLASS_OF_OBJECT:
        return "G2L101", made, (
            f"`{code_of(call.func)}` is made by `{code_of(made)}`, whose class the engine does not read, and is called with a "
            f"state (`{code_of(call)}`, line {ctx.line(call)}); make it from its class written out, or migrate this by hand"
        )
    taking = f"a module made from it is called with a state (`{code_of(call)}`, line {ctx.line(call)})"
    imports = torch_names(ctx.module_of(made), walk(ctx.module_of(made)))
    if picks_by_value(chooser, imports, ctx.parents) or type(chooser) is cst.Call and reads_torch_class(chooser, imports):
        by_name = class_by_name(ctx, chooser, imports)  # the same finding as ClassByName's, reported once
        return ("G2L101", chooser, by_name) if by_name is not None else ("G2L102", chooser, chosen_message(chooser, False, taking))
    function, key = _function_called(ctx, chooser)
    picked = returned_choosers(function, ctx.parents, torch_names(ctx.modules[key], walk(ctx.modules[key]))) if function is not None else []
    if not picked:
        return None
    if key == ctx.key_of(made):  # at the `getattr` in the function, as classes_by_value says when no GRU is made
        return "G2L102", picked[0], chosen_message(picked[0], False, taking)
    return "G2L102", chooser, chosen_message(chooser, True, taking)


def _made(ctx, callee: cst.BaseExpression) -> Optional[cst.Call]:
    """The construction the module `callee` is assigned from when its class is itself computed
    (`type(self.cell)(8, 8)`, `getattr(nn, name)(4, 8)`, `vars(nn)[key](4, 8)`), else None."""
    return next((
        assign.value for binding in ctx.flow.bindings
        if binding.target_node is not None and code_of(binding.target_node) == code_of(callee)
        and isinstance(assign := ctx.parents.get(ctx.parents.get(binding.target_node)), cst.Assign)
        and isinstance(assign.value, cst.Call) and type(assign.value.func) in (cst.Call, cst.Subscript)
    ), None)


def _function_called(ctx, call: cst.BaseExpression) -> tuple:
    """(the module-level function of the program `call` calls, the key of its module): `rnn_class`
    of this file, `layers.rnn_class` after `import layers`, `pick` after `from layers import
    rnn_class as pick`; (None, None) for anything else."""
    name = dotted(call.func) if type(call) is cst.Call else None
    if name is None:
        return None, None
    key = ctx.key_of(call)
    head, _, rest = name.partition(".")
    member = ctx.flow.module_imports.get(key, {}).get(head)
    dotted_module = ctx.flow.dotted_imports.get(key, {}).get(name.rpartition(".")[0])  # `pkg.layers.rnn_class` after `import pkg.layers`
    if dotted_module is not None:
        member, rest = dotted_module, name.rpartition(".")[2]
    if head in OWN_OBJECTS and rest and "." not in rest:  # `self.rnn_class(name)`: a method of the class around
        owner = ctx.parents.get(call)
        while owner is not None and not isinstance(owner, (cst.ClassDef, cst.Module)):
            owner = ctx.parents.get(owner)
        body = owner.body.body if isinstance(owner, cst.ClassDef) else ()
        return next((node for node in body if isinstance(node, cst.FunctionDef) and node.name.value == rest), None), key
    if member is not None and member.name is None and rest and "." not in rest:
        key, name = member.key, rest
    elif member is not None and member.name is not None and not rest:
        key, name = member.key, member.name
    elif rest:
        return None, None
    function = next((node for node in ctx.modules[key].body if isinstance(node, cst.FunctionDef) and node.name.value == name), None)
    return function, key


def _state_returned_beside(ctx, binding: Binding) -> Optional[tuple]:
    """(the name of another function, the value it returns) where `binding` is a position of a
    function's return that the solver joined with the same position of that other function's
    return, which holds a state that no plain layer made (`return h, h` of a GRU core, chosen by
    config beside an MLP core); else None."""
    target = binding.target
    if target.kind != SlotKind.CHILD or target.base.kind != SlotKind.RETURN or target.label.kind != LabelKind.POS:
        return None
    classes = ctx.solution.classes
    if target not in classes.parent:
        return None
    root = classes.find(target)
    for slot in list(classes.parent):
        if slot == target or slot.kind != SlotKind.CHILD or slot.base.kind != SlotKind.RETURN or slot.label != target.label:
            continue
        function = ctx.flow.functions.get(slot.base.function)
        if function is None or classes.find(slot) != root:
            continue
        returned = [ctx.solution.resolved(whole) for whole in ctx.values_bound_to.get(slot.base, ())]
        values = list(ctx.values_bound_to.get(slot, ())) + [
            whole.items[slot.label.position] for whole in returned if isinstance(whole, VTuple) and slot.label.position < len(whole.items)
        ]
        for value in values:
            if value.node is not None and ctx.solution.value_is_state(value) and plain_layer(ctx, value) is None:
                return function.display_name, value.node
    return None


def cannot_follow(ctx, binding: Binding, value: Value) -> None:
    node = getattr(value, "node", None) or binding.target_node or binding.statement
    code = ctx.code(node)
    # The holder is named unless it is the very expression the finding is about.
    holder = ctx.code(binding.target_node) if binding.target_node is not None else None
    holder = None if holder == code else holder
    parameter = _parameter_given(ctx, binding)
    layer = plain_layer(ctx, value)
    both = _two_states(ctx, value)
    if both is not None:
        first, second = (ctx.code(part) for part in both)
        ctx.find("G2L100", node, (
            f"`{code}` combines two hidden states, `{first}` and `{second}`, which the engine does not write once per half; "
            f"{BY_HAND}, for example `tuple(<it, on a and b> for a, b in zip({first}, {second}))`"
        ))
    elif layer is not None and (beside := _state_returned_beside(ctx, binding)) is not None:
        # `return torch.tanh(self.fc(x)), h` beside another core's `return h, h`, both run by one call
        function, returned = beside
        position = binding.target.label.position
        h_alone = "h.chunk(2, dim=-1)[0]" if ctx.packed else "h[0]"
        ctx.find("G2L101", node, (
            f"`{code}`, features of the layer `{ctx.code(layer)}`, is returned in position {position}, where "
            f"`{function}`, run by the same calls, returns the hidden state (`{ctx.code(returned)}`, line {ctx.line(returned)}), "
            f"so the engine would have to give these features a cell state; if the callers read position {position} only as "
            f"features, migrate these returns by hand, the recurrent one returning only h there (`{h_alone}`)"
        ))
    elif layer is not None:
        # `h = F.relu(self.fch(x))` into a decoder's state: features, and no cell state to carry.
        # Given to a parameter (`self.block(self.enc(obs))`, a GTrXL gate's input), the parameter is named.
        subject = (
            f"`{holder}` holds the hidden state, but here it receives" if holder
            else f"{parameter} holds the hidden state, but here it receives" if parameter
            else "the hidden state comes from"
        )
        ctx.find("G2L101", node, (
            f"{subject} `{code}`, features of the layer `{ctx.code(layer)}`, which is not recurrent, so there is no "
            "cell state to carry with it; give it one by hand, for example `(h, torch.zeros_like(h))`, or, where the recurrent "
            "module it reaches only gates two activations and carries nothing across steps (a GTrXL gate), keep that module a GRU by hand"
        ))
    elif isinstance(node, cst.Call):
        place = ctx.flow.outside_calls.get(id(node))
        subject = f"`{holder}` holds the hidden state returned by `{code}`" if holder else f"the hidden state comes from `{code}`"
        ctx.find("G2L101", node, f"{subject}{from_where(place)}; {follow_remedy(place)}", place)
    elif _unpacked_outside_call(ctx, binding) is not None:
        # `action, h = get(ref)` with `get` of a file not migrated with this one: that file, not another name
        call = _unpacked_outside_call(ctx, binding)
        place = ctx.flow.outside_calls[id(call)]
        ctx.find("G2L101", node, (
            f"`{code}` holds the hidden state, but here it receives a part of what `{ctx.code(call)}` returns"
            f"{from_where(place)}; {follow_remedy(place)}"
        ), place)
    elif _on_a_new_state(ctx, value) and holder is not None:
        # `h = self.cell(x, h) * mask` into a name held as `h, c`: the pair is not named before the operation
        ctx.find("G2L100", node, (
            f"`{code}` works on the state `{ctx.code(ctx.solution.resolutions.leaf_of(value).node)}` gives, in the statement that "
            f"calls it, and `{holder}` holds that state as two names here; assign the call to `{holder}` first, then "
            f"work on `{holder}` in a statement of its own"
        ))
    elif isinstance(value, VOpaque) and value.why == AFTER_STAR:
        ctx.find("G2L101", node, (
            f"`{code}` holds the hidden state, but here it receives {AFTER_STAR} in `{ctx.code(binding.statement)}`, so its position in the result is not known "
            "to the engine (which counts positions from the start); unpack each position into a name (`_, _, h = ...`)"
        ))
    elif isinstance(value, VOpaque) and value.why == SPREAD_FIELDS and hasattr(binding.target, "owner"):
        # `Memory(*parts)` of a name: its items reach the fields by position, which the walk does not place
        record = binding.target.owner.rpartition(":")[2]
        ctx.find("G2L101", node, (
            f"`*{code}` sets the fields of `{record}` by position, and its field `{binding.target.name}` holds the hidden state; "
            f"the engine does not follow which item lands there, so it would stay one tensor; pass the fields one by one, "
            f"or by name (`{record}({binding.target.name}=...)`)"
        ))
    elif (iterable := _unfollowed_iterable(binding, value)) is not None:
        # `for obs, h0, y in DataLoader(rows, ...)`: the rows are batched by code the engine does not follow
        why = _COLLATED if _data_pipeline(ctx, iterable) in DATA_LOADERS else f", which the engine cannot follow; {BY_HAND}"
        ctx.find("G2L101", node, f"`{code}` holds the hidden state elsewhere, but here it receives a part of what iterating `{ctx.code(iterable)}` gives{why}")
    elif parameter is not None and isinstance(value, VOpaque) and value.why == CONSTANT:
        # `init(3)` where `def init(self, batch): return torch.eye(batch, H)`: a tensor the function makes
        # from the number by a call the engine reads as derived from it, no creation whose sizes it can pair
        ctx.find("G2L102", node, (
            f"`{code}` is given to {parameter}, which the engine reads as holding the hidden state, because the state is "
            f"made from it by a call that is no creation the engine knows (`torch.zeros`, `torch.full`, ...); make the state "
            f"with such a creation, or {BY_HAND}"
        ))
    elif _undecided_arithmetic(ctx, value):
        subject = f"`{holder}` holds the hidden state, but here it receives" if holder else "the hidden state comes from"
        ctx.find("G2L102", node, (
            f"{subject} `{code}`, and the engine cannot tell which operand carries the state (neither is known as one, and "
            "no name says which is a mask); rename the operand that carries it like the target (`h = h * m`), or the other like a mask (`done_mask`)"
        ))
    elif (display := _display_of(ctx, binding, node)) is not None:
        # `reversed([0, zeros])`: the display's items are each iterated, the state among them
        ctx.find("G2L102", node, (
            f"`{code}` sits in `{ctx.code(display)}` beside a hidden state, and what is iterated from it or read at a position "
            "that is not known may be either; keep the hidden state apart from other values"
        ))
    elif untracked_read(ctx, value, node):
        subject = f"{parameter} holds the hidden state, but here it receives" if parameter else "the hidden state comes from"
        report_untracked(ctx, node, subject)
    else:
        what = getattr(value, "why", "") or "a value"  # `a part of an unknown value` of an unpacking
        received = f"receives `{code}`, which is not one" if holder else f"receives {what}, which is not one as far as the engine can tell"
        ctx.find(
            "G2L102", node,
            f"`{holder or code}` holds the hidden state elsewhere, but here it {received}; use another name for the other value",
        )


def untracked_read(ctx, value: Value, node: cst.CSTNode) -> bool:
    """Is `node` an index whose value the walk tracks to nothing (`st.data["h"][0]`: `.data` taken for
    a tensor's, of an object of the program)?"""
    return ctx.solution.resolutions.leaf_of(value) is None and isinstance(node, cst.Subscript)


def report_untracked(ctx, node: cst.Subscript, subject: str) -> None:
    """The finding on a state `node` read from what the walk does not track; `subject` ends with
    what takes it ("... but here it receives")."""
    read = node
    while isinstance(read, cst.Subscript):
        read = read.value
    tensors = isinstance(read, cst.Attribute) and read.attr.value in KEEP_ATTRIBUTES
    why = f", since `.{read.attr.value}` reads as a tensor's own attribute" if tensors else ""
    keep = "rename that attribute" if tensors else "keep the state in a name or an attribute of its own"
    ctx.find("G2L102", node, (
        f"{subject} `{ctx.code(node)}`, read from `{ctx.code(read)}`, which the engine does not track{why}, so it can neither "
        f"give it a cell state nor tell its size; {keep}, or {BY_HAND}"
    ))


def _display_of(ctx, binding: Binding, node: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """The list or tuple display that `node` is an item of, when the binding puts it in the place
    that holds that display (expressions.held_literal); else None."""
    slot = binding.target
    while slot.kind == SlotKind.CHILD:
        slot = slot.base
    element = ctx.parents.get(node)
    display = ctx.parents.get(element) if isinstance(element, cst.Element) else None
    return display if slot.kind == SlotKind.LITERAL and isinstance(display, (cst.List, cst.Tuple)) else None


def _unfollowed_iterable(binding: Binding, value: Value) -> Optional[cst.BaseExpression]:
    """The iterable of the `for` loop whose target receives `value`, when that is an element (or a
    part of one) the walk could not tell (of a library's iterable); else None."""
    statement = binding.statement
    if isinstance(value, VOpaque) and value.node is None and isinstance(statement, cst.For):
        return statement.iter
    return None


def _unpacked_outside_call(ctx, binding: Binding) -> Optional[cst.Call]:
    """The call whose result `binding` unpacks (`a, h = f(x)`) when its callee comes from a file
    outside the program, else None."""
    statement = binding.statement
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        statement = statement.body[0]
    value = statement.value if isinstance(statement, cst.Assign) and isinstance(statement.targets[0].target, (cst.Tuple, cst.List)) else None
    return value if isinstance(value, cst.Call) and id(value) in ctx.flow.outside_calls else None


def _on_a_new_state(ctx, value: Value) -> bool:
    """Is the value an operation on what a recurrent call gives, right where it is called?"""
    leaf = ctx.solution.resolutions.leaf_of(value)
    return leaf is not value and isinstance(leaf, VCallOf) and id(leaf) in ctx.solution.recurrent_calls


def _undecided_arithmetic(ctx, value: Value) -> bool:
    """Is the value an arithmetic the solver left undecided, no operand known as a state?"""
    leaf = ctx.solution.resolutions.leaf_of(value)
    return isinstance(leaf, VArith) and not ctx.solution.resolutions.is_settled(leaf) and not _state_operands(ctx, leaf)


def _two_states(ctx, value: Value):
    """The nodes of both operands of an arithmetic of two states (`torch.where(done, fresh, h)`), else None."""
    leaf = ctx.solution.resolutions.leaf_of(value)
    if not isinstance(leaf, VArith):
        return None
    states = _state_operands(ctx, leaf)
    return (states[0], states[1]) if len(states) > 1 else None


def _state_operands(ctx, arith: VArith) -> list:
    """The nodes of the operands of an arithmetic that hold a state, also inside arithmetic left
    unsettled because it joins two (a helper's `a * m + b` is the arithmetic of its arguments)."""
    found = []
    for side in (arith.left, arith.right):
        leaf = ctx.solution.resolutions.leaf_of(side)
        if isinstance(leaf, VArith):
            found += _state_operands(ctx, leaf)
        elif ctx.solution.value_is_state(side) and side.node is not None:
            found.append(side.node)
    return found


def _parameter_given(ctx, binding: Binding) -> Optional[str]:
    """"the parameter `x` of `Block.forward()`" for an argument bound to it, else None."""
    if binding.kind != BindingKind.ARG or binding.target.kind != SlotKind.DEF:
        return None
    definition = ctx.flow.defs.get(binding.target.def_id)
    if definition is None or not definition.is_param or definition.function is None:
        return None
    return f"the parameter `{definition.name}` of `{definition.function.display_name}()`"


def plain_layer(ctx, value: Value):
    """The callee node of a value computed by a module that is not recurrent (`self.fch` of
    `F.relu(self.fch(x))`), else None."""
    leaf = ctx.solution.resolutions.leaf_of(value)
    if not isinstance(leaf, VCallOf) or id(leaf) in ctx.solution.forwarded or id(leaf) in ctx.solution.recurrent_calls:
        return None
    func = ctx.solution.resolved(leaf.func)
    if isinstance(func, VSlot) and ctx.solution.is_module(func.slot) and ctx.solution.holder_kind(func.slot) is None:
        return leaf.node.func
    return None


def holds_states(ctx, slot) -> bool:
    """Does a part of the slot's value, at any depth, hold a state? (Parts may form cycles:
    `node = node.next`.)"""
    classes = ctx.solution.classes
    pending, seen = [classes.find(slot)], set()
    while pending:
        root = pending.pop()
        if root in seen:
            continue
        seen.add(root)
        for part in classes.parts.get(root, {}).values():
            if ctx.solution.is_state(part):
                return True
            pending.append(classes.find(part))
    return False


def _slot_leaf(ctx, use: Consumption):
    leaf = ctx.solution.resolutions.leaf_of(use.value)
    return leaf if isinstance(leaf, VSlot) else None


class ForeignValue(StateBindingRule):
    summary = "a holder of the state that receives a value derived from something that is not a state"

    def handles(self, ctx, use: BindingUse) -> bool:
        resolutions = ctx.solution.resolutions
        leaf = resolutions.leaf_of(use.value)
        return (
            isinstance(leaf, VSlot) and not isinstance(leaf, VCreate) and resolutions.chain_kind(use.value) != Derivation.READ
            and not ctx.solution.is_state(leaf.slot)
        )

    def rewrite(self, ctx, use: BindingUse) -> None:
        cannot_follow(ctx, use.binding, use.value)


class OpaqueIntoHolder(Rule):
    uses = ("binding",)
    summary = (
        "a holder whose states are read by key or attribute (`carry[\"h\"]`, `memory.h`) that receives what a call the "
        "engine does not follow returns, where the program does not write those parts first (in the function that receives "
        "it, before any read and not in a branch, a loop or a `try`, or first in a helper of the program it calls on "
        "the holder alone there, `self._zero(carry, n)`; or anywhere when the call makes it empty, "
        "`SimpleNamespace()`); a function of a file not migrated with it, "
        "whatever it holds there, is named (the run then takes that file in); a dataset or a DataLoader of torch "
        "(`loader = DataLoader(ds)`, then `for o, h in loader`) whatever part of it holds states"
    )
    invalid = (
        Invalid(
            """
            from elsewhere import blank

            core = nn.GRUCell(4, 8)

            def run(n):
                carry = blank(n)
                return core(torch.randn(n, 4), carry["h"])
            """,
            "G2L101",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        value = use.value
        target = use.binding.target
        if not (isinstance(value, VOpaque) and isinstance(value.node, cst.Call)) or ctx.solution.is_state(target):
            return False
        if id(value.node) in ctx.flow.outside_calls:  # `blank(n, H)` of util.py: the program's own code made its states
            return holds_states(ctx, target)
        if _data_pipeline(ctx, value.node) is not None:  # `loader = DataLoader(ds)`, then `for o, h in loader`
            return holds_states(ctx, target)
        return (
            bool(_named_states(ctx, target)) and not _filled_beside(ctx, use.binding)
            and not _made_empty_then_filled(ctx, use.binding, value.node) and not _states_handed_in(ctx, value.node)
        )

    def apply(self, ctx, use: BindingUse) -> None:
        # its parts are the states read there: made by that call, they would keep one tensor
        node = use.value.node
        place = ctx.flow.outside_calls.get(id(node))
        holder = ctx.code(use.binding.target_node) if use.binding.target_node is not None else None
        subject = (
            f"`{holder}` holds hidden states, but here it receives what `{ctx.code(node)}` returns" if holder
            else f"`{ctx.code(node)}` returns what holds hidden states where it is read"
        )
        pipeline = _data_pipeline(ctx, node)
        if pipeline is not None:
            ctx.find("G2L101", node, f"{subject}{_COLLATED if pipeline in DATA_LOADERS else _SERVED}")
            return
        ctx.find("G2L101", node, f"{subject}{from_where(place)}, so the states in it would stay one tensor; {follow_remedy(place)}", place)


def _data_pipeline(ctx, node: cst.CSTNode) -> Optional[str]:
    """The name of the dataset or loader of torch (`torch.utils.data.TensorDataset`) that `node`
    calls, which holds or collates the rows it is given, else None."""
    if not isinstance(node, cst.Call):
        return None
    name = qualify(node.func, module_imports(ctx.module_of(node)), set())
    return name if name is not None and name.startswith(DATA_PIPELINE_PREFIX) else None


# why a state a dataset or a DataLoader gives back cannot be followed, and what to do
_COLLATED = (
    ", which collates the rows it is given by code the engine does not follow (each row's state would stay one tensor "
    "there); stack the states of a batch in the program, each half apart, or migrate this by hand"
)
_SERVED = (
    ", which holds the tensors it is given and serves them by code the engine does not follow (each state would stay "
    "one tensor there); keep the states of each half in tensors of their own, or migrate this by hand"
)


def _named_states(ctx, slot) -> set:
    """The parts of the slot's value that are states under a key or an attribute (`carry["h"]`,
    `memory.h`). Elements and positions are left out: a list or a tuple a call returns is filled by
    the program before its states are read (`field(default_factory=list)`, then `.append(h)`), and
    a state under a name is read where the call's value is."""
    classes = ctx.solution.classes
    return {
        classes.find(part) for label, part in classes.parts.get(classes.find(slot), {}).items()
        if label.kind in (LabelKind.KEY, LabelKind.ATTR) and ctx.solution.is_state(part)
    }


def _made_empty_then_filled(ctx, binding: Binding, call: cst.Call) -> bool:
    """Is the holder made empty (`SimpleNamespace()`, `EasyDict({})`: no argument but empty
    displays) and each state it holds by name made into it by the program (`self.mem.h =
    torch.zeros(n, H)`), in whichever function? An empty object holds no state of the library's;
    a write that works on what is there (`carry["h"] = carry["h"].detach()`) does not fill it."""
    if not all(type(arg.value) in (cst.Dict, cst.List, cst.Tuple, cst.Set) and not arg.value.elements for arg in call.args):
        return False
    classes = ctx.solution.classes
    written = {
        classes.find(other.target) for other in ctx.flow.bindings
        if other.kind == BindingKind.ASSIGN and isinstance(other.target_node, (cst.Attribute, cst.Subscript))
        and isinstance(ctx.solution.resolutions.leaf_of(other.value), VCreate)
    }
    return _named_states(ctx, binding.target) <= written


def _states_handed_in(ctx, call: cst.Call) -> bool:
    """Does the call receive a state, or what holds one (`type(stats)(*map(f, stats))`)? Handing
    it over is the finding then (StateHandedOver), not what comes back."""
    inside, pending = set(), [arg.value for arg in call.args]
    while pending:
        node = pending.pop()
        inside.add(id(node))
        pending.extend(node.children)
    for use in ctx.flow.consumptions:
        leaf = ctx.solution.resolutions.leaf_of(use.value) if id(use.node) in inside else None
        if isinstance(leaf, VSlot) and (ctx.solution.is_state(leaf.slot) or holds_states(ctx, leaf.slot)):
            return True
    return False


def _filled_beside(ctx, binding: Binding) -> bool:
    """Are the states the holder holds by name written into it in the function that receives it
    (`record = DotDic({})`, then `record.hidden = torch.zeros(...)`)? The object the call returns
    is then filled by the program, which the walk follows. A write counts when it puts a new tensor
    there before anything reads the holder (_fills_first): not `setdefault` (it keeps the library's)."""
    parts = _named_states(ctx, binding.target)
    classes = ctx.solution.classes
    return all(
        any(
            other.kind == BindingKind.ASSIGN and classes.find(other.target) == part and _made_new(ctx, other.value)
            and (other.function is binding.function and _fills_first(ctx, binding, other) or _filled_by_helper(ctx, binding, other))
            for other in ctx.flow.bindings
        )
        for part in parts
    )


def _filled_by_helper(ctx, binding: Binding, fill: Binding) -> bool:
    """Is `fill` (`carry["hidden"] = torch.zeros(n, H)` in `_zero(self, carry, n)`) made by a
    function of the program that the receiving function calls on the holder (`self._zero(carry,
    n)`, its only callee there) before anything reads it, and that fills the parameter first in its
    own body (as _fills_first judges there)?"""
    if fill.function is None or fill.function is binding.function or binding.target_node is None:
        return False
    for handed in ctx.flow.bindings:
        if not (handed.kind == BindingKind.ARG and handed.function is binding.function and isinstance(handed.statement, cst.Arg)):
            continue
        leaf = ctx.solution.resolutions.leaf_of(handed.value)
        param = ctx.flow.defs.get(handed.target.def_id) if handed.target.kind == SlotKind.DEF else None
        if not (isinstance(leaf, VSlot) and leaf.slot == binding.target and param is not None and param.function is fill.function):
            continue
        callees = {other.target for other in ctx.flow.bindings if other.statement is handed.statement}
        call, _ = _line_of(ctx, handed.statement)
        if len(callees) == 1 and _reached_first(ctx, binding.statement, call, ctx.code(binding.target_node), handed.statement):
            return _reached_first(ctx, None, fill.statement, param.name, fill.value.node, fill.function.node.body)
    return False


def _made_new(ctx, value: Value) -> bool:
    """Is `value` a tensor the program makes: a creation, or what a function of the program returns
    (`self.zeros(n)`)?"""
    leaf = ctx.solution.resolutions.leaf_of(value)
    return isinstance(leaf, VCreate) or isinstance(leaf, VSlot) and leaf.slot.kind == SlotKind.RETURN


def _fills_first(ctx, binding: Binding, fill: Binding) -> bool:
    """Does `fill` surely run after the holder is received and before anything reads it: later in
    the same block (or in a `with` there), not in a branch, a loop or a `try` (`if fresh:`), with
    no read of the holder on the lines between nor in the value written (`carry["h"] = h` after
    `h = core(x, carry["h"])`)? Writes into it between (`record.steps = 0`) are no reads."""
    if binding.statement is None or fill.statement is None or binding.target_node is None or fill.value.node is None:
        return False
    return _reached_first(ctx, binding.statement, fill.statement, ctx.code(binding.target_node), fill.value.node)


def _reached_first(ctx, start, reach, holder: str, allowed, body=None) -> bool:
    """Does the statement of `reach` surely run after `start` (or, when `start` is None, from the
    start of `body`, a function's block, with no `return` or `raise` before it) in the same block
    (or in a `with` there), with no read of `holder` on the lines between nor in `allowed`? An
    `allowed` argument is the holder handed to a call that must be its statement alone
    (`self._zero(carry, n)`): the rest of that statement must not read it."""
    line, block = (None, body) if start is None else _line_of(ctx, start)
    later, later_block = _line_of(ctx, reach)
    while later_block is not block:
        owner = ctx.parents.get(later_block)
        if not isinstance(owner, cst.With):
            return False
        later, later_block = _line_of(ctx, owner)
    first, last = -1 if line is None else block.body.index(line), block.body.index(later)
    between = block.body[first + 1:last]
    if start is None and any(isinstance(node, (cst.Return, cst.Raise)) for statement in between for node in walk(statement)):
        return False
    skipped = set()
    if isinstance(allowed, cst.Arg):
        call = ctx.parents.get(allowed)
        alone = isinstance(later, cst.SimpleStatementLine) and len(later.body) == 1 and isinstance(later.body[0], cst.Expr)
        if not (alone and later.body[0].value is call):
            return False
        skipped, allowed = {id(node) for node in walk(allowed)}, later
    read = [allowed] + [part for statement in between for part in _read_parts(statement)]
    return first < last and not any(
        type(node) in (cst.Name, cst.Attribute) and id(node) not in skipped and ctx.code(node) == holder for part in read for node in walk(part)
    )


def _read_parts(statement: cst.CSTNode) -> list:
    """What a statement reads: the values of its assignments, anything else whole."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return [statement]
    return [small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None else small for small in statement.body]


def _line_of(ctx, node: cst.CSTNode):
    """The statement `node` is part of, and the block that lists it."""
    while not isinstance(ctx.parents.get(node), (cst.IndentedBlock, cst.Module)):
        node = ctx.parents[node]
    return node, ctx.parents[node]


class UnfollowedCallPart(StateBindingRule):
    summary = "a state unpacked from the result of a call the engine does not follow (`obs, h = replay.sample(n)`) is a finding"
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)

            def learn(replay):
                obs, h = replay.sample(4)
                out, h = core(obs, h)
            """,
            "G2L101",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return ctx.solution.is_state(use.binding.target) and _unfollowed_call_of(ctx, use.value) is not None

    def rewrite(self, ctx, use: BindingUse) -> None:
        cannot_follow(ctx, use.binding, _unfollowed_call_of(ctx, use.value))


def _unfollowed_call_of(ctx, value: Value) -> Optional[VCallOf]:
    """The call, neither recurrent nor run by the walk, whose result `value` is a part of (a
    position of `replay.sample(n)` unpacked), else None."""
    if not (isinstance(value, VSlot) and value.node is None):
        return None
    slot = value.slot
    while slot.kind == SlotKind.CHILD:
        slot = slot.base
    if slot.kind != SlotKind.CALL_RESULT:
        return None
    call = ctx.flow.call_of_result(slot)
    solution = ctx.solution
    if call is None or id(call) in solution.recurrent_calls or id(call) in solution.forwarded:
        return None
    return call


def own_part(ctx, use: BindingUse) -> Optional[cst.CSTNode]:
    """The expression by which a holder of a state receives a part of itself (`states = states[0]`)
    or a tuple or list of itself (`states = (states,)`), where the paths of one name meet; else None."""
    classes = ctx.solution.classes
    root = classes.find(use.binding.target)
    if not (ctx.solution.is_state(root) or any(ctx.solution.is_state(part) for part in classes.parts.get(root, {}).values())):
        return None
    value = use.value
    if isinstance(value, VSlot) and value.slot.kind == SlotKind.CHILD and classes.find(value.slot.base) == root:
        return value.node
    items = value.items if isinstance(value, VTuple) else [item for _, item in value.items] if isinstance(value, VContainer) else []
    for item in items:
        item = ctx.solution.resolved(item)
        if isinstance(item, VSlot) and classes.find(item.slot) == root:
            return item.node
    return None


class OwnPart(Rule):
    uses = ("binding",)
    summary = "a name that holds the state on one path and a tuple or list of it on another (rl_games' `states = states[0]`)"
    invalid = (
        Invalid(
            """
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.rnn = nn.GRU(4, 8)

                def forward(self, x, states):
                    if len(states) == 1:
                        states = states[0]
                    out, states = self.rnn(x, states)
                    return out, (states,)

            net = Net()
            states = (torch.zeros(1, 3, 8),)
            for t in range(3):
                out, states = net(torch.randn(1, 3, 4), states)
            """,
            "G2L102",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return use.binding.kind != BindingKind.JOIN and own_part(ctx, use) is not None

    def apply(self, ctx, use: BindingUse) -> None:
        node = own_part(ctx, use)
        holder = ctx.code(use.binding.target_node) if use.binding.target_node is not None else ctx.code(node)
        ctx.find("G2L102", node, (
            f"`{holder}` receives `{ctx.code(use.value.node if use.value.node is not None else node)}` here, so the name holds "
            f"the hidden state on one path and a tuple or list that holds it on another; once the state is (h, c) the "
            f"engine cannot tell the two apart (`len()` and `type()` of each differ); use one name for the tuple and another "
            f"for the state"
        ))


class CannotFollow(StateBindingRule):
    summary = "a holder of the state that receives anything no rule covers"
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            for t in range(5):
                out, h = core(torch.randn(1, 1, 4), h)
                h = 0
            """,
            "G2L102",
            state="tuple",
        ),
    )

    def rewrite(self, ctx, use: BindingUse) -> None:
        cannot_follow(ctx, use.binding, use.value)


class UndecidedArithmetic(StateBindingRule):
    summary = "packed: a holder of the state that receives an arithmetic of which no operand is known as the state"
    invalid = (
        Invalid(
            """
            class Core(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.rnn = nn.GRU(4, 8)

                def forward(self, x, s):
                    out, s2 = self.rnn(x.unsqueeze(0), s.unsqueeze(0))
                    return out.squeeze(0), s2.squeeze(0)

            core = Core()
            s = torch.zeros(3, 8)
            for t in range(4):
                y, new_s = core(torch.randn(3, 4), s)
                s = new_s * torch.rand(3, 1)
            """,
            "G2L102",
            state="packed",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        # The tuple form reports it (CannotFollow); left as it is, the packed form would read the
        # operand that carries the state as features, which takes h and drops c.
        return ctx.solution.is_state(use.binding.target) and _undecided_arithmetic(ctx, use.value)

    def rewrite(self, ctx, use: BindingUse) -> None:
        cannot_follow(ctx, use.binding, use.value)


class ModuleHandedOver(Rule):
    uses = ("consumption",)
    summary = "the recurrent module passed to code not followed (its call returns (h, c) now)"

    def handles(self, ctx, use: Consumption) -> bool:
        leaf = _slot_leaf(ctx, use)
        return (
            leaf is not None and use.context == Use.UNKNOWN and ctx.solution.resolutions.chain_kind(use.value) == Derivation.KEEP
            and ctx.solution.holder_kind(leaf.slot) is not None
        )

    def apply(self, ctx, use: Consumption) -> None:
        ctx.find("G2L101", use.node, f"the recurrent module `{ctx.code(use.node)}` is {use.why or 'used here'}; {follow_remedy(use.place, use.inside)}", use.place)


class StateIterated(Rule):
    uses = ("consumption",)
    summary = "tuple form: a state iterated by its rows (`for row in buf`) is a finding: the pair (h, c) would be iterated by its halves"
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            buf = torch.zeros(3, 1, 2, 8)
            for t in range(2):
                out, h = core(torch.randn(1, 2, 4), buf[t])
                buf[t + 1].copy_(h)
            for row in buf:
                row *= 0.5
            """,
            "G2L100",
            state="tuple",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        leaf = _slot_leaf(ctx, use)
        if leaf is None or use.context != Use.ITERATE_POS or not ctx.solution.value_is_state(use.value):
            return False
        if _builtin_call(ctx, use.node, ITERATION_BUILTINS) is not None:
            return False  # `tuple(hs)`: StateZipped's
        classes = ctx.solution.classes  # a tuple holding the state (`for s in (h,)`) is iterated by its items
        return not any(label.kind == LabelKind.POS for label in classes.parts.get(classes.find(leaf.slot), {}))

    def apply(self, ctx, use: Consumption) -> None:
        ctx.find("G2L100", use.node, (
            f"the hidden state `{ctx.code(use.node)}` is {use.why} by its rows; the LSTM's state is the pair (h, c), "
            f"which a loop would run over by its two halves; use its rows by index (`for t in range(len(...))`) "
            "or use --state packed"
        ), use.place)


class StateZipped(Rule):
    uses = ("iteration",)
    summary = (
        "tuple form: a state taken apart by its rows by `zip`, `enumerate` or another iterating builtin "
        "(`zip(h, dones)`) is a finding, as `for row in h` is"
    )
    invalid = (
        Invalid(
            """
            cell = nn.GRUCell(4, 8)
            h = torch.zeros(3, 8)
            for t in range(2):
                rows = [row * (1 - d) for row, d in zip(h, torch.rand(3) < 0.5)]
                h = cell(torch.randn(3, 4), torch.stack(rows))
            """,
            "G2L100",
            state="tuple",
        ),
    )

    def apply(self, ctx, use) -> None:
        classes = ctx.solution.classes
        # a tensor is made there (`torch.zeros(n, H)`, a cell's result): not a list of per-layer states (`zip(self.cells, state)`)
        made = {classes.find(b.target) for b in ctx.flow.bindings if _makes_tensor(ctx, ctx.solution.resolved(b.value))}
        for value in ctx.flow.iterated_elements:
            # an argument of an iterating builtin: a loop's or a comprehension's own iterable, and map's, are StateIterated's
            call = None if value.node is None else _builtin_call(ctx, value.node, ITERATION_BUILTINS)
            # a copy (`torch.stack(tuple(hs), 0)`) lists the rows of whatever state it is given
            if call is None or classes.find(value.slot) not in made and call.func.value not in SEQUENCE_BUILTINS:
                continue
            if not _rows_of_state(ctx, value.slot):
                continue
            ctx.find("G2L100", value.node, (
                f"the hidden state `{ctx.code(value.node)}` is taken apart by its rows here; the LSTM's state is the pair "
                "(h, c), which would be taken apart by its two halves; use its rows by index (`for i in range(len(...))`) "
                "or use --state packed"
            ))


def _kind_test(ctx, node: cst.CSTNode):
    """(the test, the pair kinds it names, the tensor classes it names) where `node` is tested for
    being a tuple or a list (`isinstance(h, tuple)`, `isinstance(h, (tuple, list))`, `type(h) is
    not tuple`: syntax.type_test) or a tensor (`isinstance(h, torch.Tensor)`; `torch.is_tensor(h)`,
    whose call stands for the class), else None."""
    tested = ctx.parents.get(ctx.parents.get(node))  # `torch.is_tensor(h)`, read only (calls.py), wherever its answer goes
    if isinstance(tested, cst.Call) and len(tested.args) == 1 and tested.args[0].value is node and (
        qualify(tested.func, module_imports(ctx.module_of(tested)), set()) == TENSOR_TEST_FUNCTION
    ):
        return tested, [], [tested]
    tested = type_test_of(node, ctx.parents.get)
    kinds, tensors = kinds_named(tested.named) if tested is not None else ([], [])
    return (tested.test, kinds, tensors) if kinds or tensors else None


class KindTested(Rule):
    uses = ("consumption",)
    summary = (
        "a state tested for being a tuple or a list (`isinstance(h, tuple)`): packed, the test is kept (the state stays "
        "one tensor); tuple form, a finding: the code already handles (h, c), and the test would turn true (for a list, it "
        "stays false and the tensor's branch gets the pair). Tested for "
        "being a tensor (`isinstance(h, torch.Tensor)`, also where it may be None): packed, kept; tuple form, it tests "
        "for the pair (`isinstance(h, tuple)`)"
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 2, 8)
            for t in range(3):
                h = tuple(s.detach() for s in h) if isinstance(h, tuple) else h.detach()
                out, h = core(torch.randn(1, 2, 4), h)
            """,
            "G2L100",
            state="tuple",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return use.context == Use.READ and ctx.solution.value_is_state(use.value) and _kind_test(ctx, use.node) is not None

    def apply(self, ctx, use: Consumption) -> None:
        if ctx.packed:
            return  # one tensor, as the GRU's state was: the test keeps its answer
        test, kinds, tensors = _kind_test(ctx, use.node)
        if not kinds:
            _tests_for_the_pair(ctx, use, test, tensors)
            return
        named = f"`{ctx.code(test)}` tests whether the hidden state `{ctx.code(use.node)}` is {' or '.join(f'a {kind}' for kind in kinds)}"
        if PAIR_CLASS not in kinds:  # `isinstance(h, list)`: false for the pair as for the tensor
            ctx.find("G2L100", test, (
                f"{named}; in the tuple form the LSTM's (h, c) is a {PAIR_CLASS}, so the test stays false and the code written for "
                f"one tensor runs on the pair, which the engine does not rewrite or check; let the test take a {PAIR_CLASS} too "
                "if that branch handles the pair, use --state packed (the state stays one tensor), or migrate this code by hand"
            ))
            return
        ctx.find("G2L100", test, (
            f"{named}, so this code already handles an LSTM's (h, c); in the tuple form the test would turn true and run the code "
            "written for the pair, which the engine does not rewrite or check; keep only the GRU's branch, "
            "use --state packed (the state stays one tensor and the test false), or migrate this code by hand"
        ))


def _tests_for_the_pair(ctx, use: Consumption, test: cst.CSTNode, tensors: list) -> None:
    """`isinstance(h, torch.Tensor)` -> `isinstance(h, tuple)`: the pair is a tuple where the GRU's
    state was a tensor, and a state not made yet (None) is neither (`h[0]` there would raise)."""
    leaf = ctx.solution.resolutions.leaf_of(ctx.solution.resolved(use.value))
    if isinstance(leaf, VSlot) and ctx.solution.is_split(leaf.slot):
        return  # a split name is h, a tensor still
    for named in tensors:
        if isinstance(named, cst.Call) and ctx.claim(named):  # `torch.is_tensor(h)`
            ctx.edit_expression(named, lambda updated, mapping: updated.with_changes(
                func=cst.Name(INSTANCE_TEST), args=[updated.args[0].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), cst.Arg(cst.Name(PAIR_CLASS))],
            ))
        elif ctx.claim(named):
            ctx.edit_expression(named, lambda updated, mapping: cst.Name(PAIR_CLASS))
    ctx.step("features", test)


def _state_beside(ctx, binding: Binding) -> Optional[cst.BaseExpression]:
    """Another target of a chained assignment (`x = hs[i] = ...`) that holds a state, for a target
    that holds none, else None."""
    line = binding.statement.body[0] if is_line(binding.statement) else None  # also after a colon (`if c: x = hs[i] = ...`)
    if not (isinstance(line, cst.Assign) and len(line.targets) > 1) or binding.kind != BindingKind.ASSIGN:
        return None
    return next((
        other.target_node for other in ctx.flow.bindings
        if other.statement is binding.statement and other is not binding and other.target_node is not None and ctx.solution.is_state(other.target)
    ), None)


class ChainedFeatures(StateBindingRule):
    summary = (
        "a chained assignment that gives a state to one target to keep and to another to read as features "
        "(`x = hs[i] = cell(x, hs[i]) * 0.9`) is a finding: the two need different values, (h, c) and h"
    )
    invalid = (
        Invalid(
            """
            cells = nn.ModuleList([nn.GRUCell(4, 4), nn.GRUCell(4, 4)])
            hs = [torch.zeros(2, 4), torch.zeros(2, 4)]
            x = torch.randn(2, 4)
            for i, cell in enumerate(cells):
                x = hs[i] = cell(x, hs[i]) * 0.9
            """,
            "G2L100",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        return (
            use.binding.target_node is not None and not ctx.solution.is_state(use.binding.target)
            and ctx.solution.value_is_state(use.value) and _state_beside(ctx, use.binding) is not None
        )

    def rewrite(self, ctx, use: BindingUse) -> None:
        name, held = ctx.code(use.binding.target_node), ctx.code(_state_beside(ctx, use.binding))
        value = ctx.code(use.binding.statement.body[0].value)
        ctx.find("G2L100", use.binding.target_node, (
            f"`{name}` and `{held}` are given one value, `{value}`, where `{held}` keeps it as the hidden state and "
            f"`{name}` reads it as features: an LSTM's state is (h, c) and its features h, which one expression "
            f"cannot give both; keep the state first (`{held} = {value}`), then read it (`{name} = {held}`)"
        ))


def _makes_tensor(ctx, value: Value) -> bool:
    """Does `value` make a tensor: an allocation or a GRU cell's result?"""
    return isinstance(value, VCreate) or (isinstance(value, VCallOf) and ctx.solution.recurrent_calls.get(id(value)) == CELL_KIND)


def _builtin_call(ctx, node: cst.CSTNode, names) -> Optional[cst.Call]:
    """The call of a builtin named in `names` (`zip`, `enumerate`, `sorted`, ...) that `node` is an argument of."""
    arg = ctx.parents.get(node)
    call = ctx.parents.get(arg)
    if isinstance(arg, cst.Arg) and isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in names:
        return call
    return None


def _rows_of_state(ctx, slot) -> bool:
    """Is `slot` a state tensor (not a container of states, nor a tuple holding one by position)?"""
    classes = ctx.solution.classes
    if not ctx.solution.is_state(slot) or ctx.solution.is_container(slot):
        return False
    return not any(label.kind == LabelKind.POS for label in classes.parts.get(classes.find(slot), {}))


class MixedIteration(Rule):
    uses = ("consumption",)
    summary = "iterating over something that holds states beside other values"

    def handles(self, ctx, use: Consumption) -> bool:
        return _slot_leaf(ctx, use) is not None and use.context in (Use.ITERATE_KEY, Use.ITERATE_POS)

    def apply(self, ctx, use: Consumption) -> None:
        classes = ctx.solution.classes
        label = LabelKind.KEY if use.context == Use.ITERATE_KEY else LabelKind.POS
        parts = classes.parts.get(classes.find(_slot_leaf(ctx, use).slot), {})
        states = {part_label: _is_or_lists_states(ctx, part, label) for part_label, part in parts.items() if part_label.kind == label}
        iterated_as_state = ELEM in parts and ctx.solution.is_state(parts[ELEM])  # each item is taken as a state there
        if iterated_as_state and states and not any(states.values()):
            where = ", ".join(_part_name(ctx, use, part_label) for part_label in states)
            ctx.find("G2L101", use.node, (
                f"`{ctx.code(use.node)}` is {use.why} and each of its items taken as a hidden state, but its items "
                f"({where}) are not known as states; keep the hidden states in a container of their own"
            ), use.place)
        elif (any(states.values()) or iterated_as_state) and not all(states.values()) and not (
            _kept_item_by_item(ctx, use) and not iterated_as_state  # no code takes the items for states as one (a stack)
        ):
            where = ", ".join(_part_name(ctx, use, part_label) for part_label, state in states.items() if state)
            # the other values named by key only: a record's other fields are no subject of a finding (issue 13, item 4)
            others = ", ".join(_part_name(ctx, use, part_label) for part_label, state in states.items() if not state and part_label.kind == LabelKind.KEY)
            by_part = "key by key" if label == LabelKind.KEY else "item by item"
            if label == LabelKind.POS and not isinstance(use.node, (cst.Tuple, cst.List)):
                # a tuple copied or zipped (`list(agent.act(x, h))`): its names are the way to keep its items apart
                names = ", ".join(chr(ord("a") + position) for position in range(len(states)))
                by_part += f" (unpack it: `{names} = {ctx.code(use.node)}`)"
            ctx.find("G2L101", use.node, (
                f"`{ctx.code(use.node)}` holds hidden states ({where}) beside other values and is {use.why}, so the "
                f"engine cannot tell them apart: with (h, c) there, one expression cannot be written for the state and for "
                f"the other values{f' ({others})' if others else ''} alike; write the expression out {by_part}, or keep the hidden states in a "
                "container of their own"
            ), use.place)


def _kept_item_by_item(ctx, use: Consumption) -> bool:
    """Packed form: is `use` the iterable of a comprehension that keeps each item as it is, in its
    position (`[t.detach() for t in ts]`)? Each item is one tensor there, the state as well, so the
    one expression acts on h and c alike."""
    return ctx.packed and id(use.node) in ctx.flow.mapped_iterables


class DictTakenForSequence(Rule):
    uses = ("iteration",)
    summary = (
        "a dict iterated where the walk could not tell it is one, its keys given a name: they were taken for its "
        "values (a key only compared, `set(d) == names`, is no finding)"
    )
    invalid = (
        Invalid(
            """
            class Team(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.cell = nn.GRUCell(4, 8)

                def initial(self, n):
                    return {name: torch.zeros(n, 8) for name in ("a", "b")}

                def forward(self, obs, states):
                    new = {}
                    for name in states:
                        new[name] = self.cell(obs, states[name])
                    return new

            team = Team()
            states = team(torch.randn(3, 4), team.initial(3))
            """,
            "G2L101",
        ),
    )

    def apply(self, ctx, use) -> None:
        classes = ctx.solution.classes
        resolved = ctx.solution.resolved
        dicts = {classes.find(b.target) for b in ctx.flow.bindings if isinstance(resolved(b.value), VContainer) and makes_dict(resolved(b.value).node)}
        dicts |= {classes.find(slot) for slot in ctx.flow.dicts}
        for value in ctx.flow.iterated_elements:
            root = classes.find(value.slot)
            element = classes.part(root, ELEM)
            if value.node is None or root not in dicts or element is None or not ctx.solution.is_state(element):
                continue
            if _elements_named(ctx, value.node):  # a key that has no name is never used as a state
                ctx.find("G2L101", value.node, (
                    f"`{ctx.code(value.node)}` is iterated, and it holds a dict of hidden states made elsewhere: iterating "
                    "it gives its keys, but the engine cannot tell here that it is a dict and would take each item for a "
                    f"hidden state; use `{ctx.code(value.node)}.keys()` (or `.items()`) there"
                ))


def _elements_named(ctx, node: cst.CSTNode) -> bool:
    """Are the elements of iterated `node` given names, directly or through iterating builtins
    (`sorted(set(d))`): a loop's or a comprehension's target, a lambda's parameter (`map`), or the
    list they make, assigned or returned? Compared as a whole (`set(snap) == {...}`), no key is a name."""
    while node is not None:
        parent = ctx.parents.get(node)
        if isinstance(parent, (cst.For, cst.CompFor)):
            return parent.iter is node
        if isinstance(parent, (cst.Assign, cst.AnnAssign, cst.Return)):
            return parent.value is node
        if _builtin_call(ctx, node, {MAP_BUILTIN}) is not None:
            return True
        node = _builtin_call(ctx, node, ITERATION_BUILTINS)
    return False


class KeyNotWrittenOut(Rule):
    uses = ("keys read by name",)
    summary = (
        "a dict written by a key not written out (`d[k] = E` in a loop) and read by keys written out, some giving "
        "the hidden state and others not: which value written is the state is not known"
    )
    invalid = (
        Invalid(
            """
            cell = nn.GRUCell(4, 8)
            bufs = {}
            for k in ("h", "mask"):
                bufs[k] = torch.zeros(3, 8)
            h = bufs["h"]
            for t in range(3):
                h = cell(torch.randn(3, 4), h) * bufs["mask"]
            """,
            "G2L101",
        ),
    )

    def apply(self, ctx, use) -> None:
        classes = ctx.solution.classes
        reads = {}  # class of a key read by name -> its first read
        for slot, node in ctx.flow.slot_nodes:
            if slot.kind == SlotKind.CHILD and slot.label.kind == LabelKind.KEY and isinstance(node, cst.Subscript):
                reads.setdefault(classes.find(slot), node)
        for key in ctx.solution.keys_beside_others:
            read = reads.get(classes.find(key))
            element = classes.find(ctx.solution.keys_of_elements[key])
            base = classes.find(key.base)
            written = [b for b in ctx.flow.bindings if classes.find(b.target) in (element, base)]
            if not any(_writes_a_new_tensor(ctx, b.value) for b in written):
                continue  # values read from another holder by the same key (`mb[k] = buffers[k].flip(0)`) keep its keys
            writes = [  # `d[k] = E`, else what made the dict (`dict.fromkeys(keys, E)`)
                small for b in sorted(written, key=lambda b: classes.find(b.target) != element)
                if isinstance(b.statement, cst.SimpleStatementLine)
                for small in b.statement.body if isinstance(small, (cst.Assign, cst.AnnAssign))
            ]
            others = sorted({
                other.label.key for other, part in ctx.solution.keys_of_elements.items()
                if classes.find(part) == element and not ctx.solution.is_state(other)
            })
            if read is None or not writes:
                continue
            ctx.find("G2L101", read, (
                f"`{ctx.code(read)}` holds the hidden state, but `{ctx.code(read.value)}` gets its values where their keys are "
                f"not written out (`{ctx.code(writes[0])}`, line {ctx.line(writes[0])}) and its {', '.join(f'key `{k!r}`' for k in others)} "
                f"{'gives' if len(others) == 1 else 'give'} another value, so the engine cannot tell which value written there "
                f"is the hidden state; write the key out (`{ctx.code(read.value)}[{ctx.code(read.slice[0].slice)}] = ...`), "
                "or keep the hidden state in a name of its own"
            ))


def _writes_a_new_tensor(ctx, value: Value) -> bool:
    """Is `value` (or an item of the dict it makes: `{k: fresh(3, 8) for k in keys}`) anything but a
    value read from another holder (`buffers[k].flip(0)`, `torch.stack([buffers[k]])`, whose keys the
    walk follows): a new tensor,
    or one the engine cannot tell?"""
    value = ctx.solution.resolved(value)
    items = [item for _, item in value.items] if isinstance(value, VContainer) else [value]
    return any(not isinstance(ctx.solution.resolutions.leaf_of(ctx.solution.resolved(item)), (VSlot, VCat)) for item in items)


class MixedKeyedRead(Rule):
    uses = ("consumption",)
    summary = "a dict that holds states beside other values (tuple form: or only states), read with a name as its key"
    invalid = (
        Invalid(
            """
            core = nn.GRUCell(4, 8)
            steps = []
            state = {"h": torch.zeros(1, 8), "x": torch.zeros(1, 4)}
            for t in range(3):
                state = {"h": core(state["x"], state["h"]), "x": torch.randn(1, 4)}
                steps.append(state)
            stacked = {k: torch.stack([s[k] for s in steps]) for k in state}
            """,
            "G2L101",
            state="tuple",
        ),
        Invalid(
            """
            core = nn.GRU(4, 8)
            state = {"h": torch.zeros(1, 3, 8)}
            for t in range(3):
                _, h = core(torch.randn(2, 3, 4), state["h"])
                state = {"h": h}
                for key in state:
                    state[key][:, t] = 0
            """,
            "G2L101",
            state="tuple",  # the packed form keeps it one tensor per key
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return use.context == Use.INDEX and id(use.node) in ctx.solution.keyed_reads

    def apply(self, ctx, use: Consumption) -> None:
        if not _reports_named_keys(ctx, use):
            self.report_mixed(ctx, use, "so the engine cannot tell them apart")

    def report_mixed(self, ctx, use: Consumption, because: str) -> None:
        classes = ctx.solution.classes
        parts = classes.parts.get(classes.find(ctx.solution.keyed_reads[id(use.node)]), {})
        read_from_elements = {classes.find(key) for key in ctx.solution.keys_of_elements}
        # a list of states read by a name (`memory[key].clear()`) is used as a list, not read; a
        # key only read from the dict's elements (solve.py) is what a read by any key gives
        states = {
            label: ctx.solution.is_state(part) for label, part in parts.items()
            if label.kind == LabelKind.KEY and classes.find(part) not in read_from_elements
        }
        keys = _literal_keys(ctx, use.node)
        if keys is not None:  # `for k in ("obs", "act")`: the keys read are known
            states = {label: state for label, state in states.items() if label.key in keys}
        where = ", ".join(f"key `{label.key!r}`" for label, state in states.items() if state)
        if any(states.values()) and not all(states.values()):
            ctx.find("G2L101", use.node, (
                f"`{ctx.code(use.node.value)}` holds hidden states ({where}) beside other values and is read with "
                f"`{ctx.code(use.node.slice[0].slice.value)}` as its key, {because}; keep the "
                "hidden states in a container of their own"
            ), use.place)
        elif states and all(states.values()) and not ctx.packed:
            # Only states: the value read is one of them, but the walk does not tie a read by any
            # key to the values, so what is done to it (`state[key][:, ids] = 0`) would still act
            # on one tensor where the pair is (Tianshou's reset of a dict state).
            ctx.find("G2L101", use.node, (
                f"`{ctx.code(use.node.value)}` holds hidden states ({where}) and is read with "
                f"`{ctx.code(use.node.slice[0].slice.value)}` as its key, which the engine does not follow to them, "
                "so what is done to the value read would still act on one tensor where (h, c) is; use a constant key "
                "for each (`state[\"h\"]`), or use --state packed"
            ), use.place)


class KeyedWrite(Rule):
    uses = ("binding",)
    summary = (
        "a dict that holds states under constant keys, written with a name as its key (`hiddens[k] = torch.zeros(1, n, H)` "
        "in a loop over its keys): the walk does not tie what is written to those states"
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            hiddens = {"a": torch.zeros(1, 3, 8), "b": torch.zeros(1, 3, 8)}
            for t in range(4):
                _, hiddens["a"] = core(torch.randn(1, 3, 4), hiddens["a"])
                _, hiddens["b"] = core(torch.randn(1, 3, 4), hiddens["b"])
                for k in hiddens:
                    hiddens[k] = torch.zeros(1, 3, 8)
            """,
            "G2L101",
        ),
    )

    def handles(self, ctx, use: BindingUse) -> bool:
        node, target = use.binding.target_node, use.binding.target
        if not (isinstance(node, cst.Subscript) and variable_key(node) and is_element(target)):
            return False
        # a value the walk took for a state is written as one (`hiddens[k] = net.init_hidden(1)`);
        # values written beside others read by name are KeyNotWrittenOut's, said where the state is read
        classes = ctx.solution.classes
        beside_others = {classes.find(ctx.solution.keys_of_elements[key]) for key in ctx.solution.keys_beside_others}
        if ctx.solution.is_state(target) or classes.find(target) in beside_others or not _named_states(ctx, target.base):
            return False
        # a new tensor written (`hiddens[k] = torch.zeros(1, n, H)`, a reset); a value read from
        # another holder by the same key (`mb[k] = buffers[k].flip(0)`) is followed with its keys
        return _writes_a_new_tensor(ctx, use.binding.value)

    def apply(self, ctx, use: BindingUse) -> None:
        node, classes = use.binding.target_node, ctx.solution.classes
        holder = ctx.code(node.value)
        keys = [
            label.key for label, part in classes.parts.get(classes.find(use.binding.target.base), {}).items()
            if label.kind == LabelKind.KEY and ctx.solution.is_state(part)
        ]
        ctx.find("G2L101", node, (
            f"`{ctx.code(node)}` writes into `{holder}`, which holds hidden states under constant keys "
            f"({', '.join(f'`{key!r}`' for key in keys)}), with `{ctx.code(node.slice[0].slice.value)}` as its key; the engine "
            "does not follow a write by any key to those states, so the value written would stay one tensor where (h, c) is; "
            f"write each state under its constant key (`{holder}[{keys[0]!r}] = ...`), or migrate this by hand"
        ))


class PackedKeyedRead(MixedKeyedRead):
    summary = (
        "packed: a dict of states and other values read with a name as its key, where what is done to the value read names "
        "a dimension that may be the last, or where a value is written into the value read (`d[k][t] = v`)"
    )
    invalid = (
        Invalid(
            """
            class Storage:
                def __init__(self):
                    self.store = {"obs": torch.zeros(5, 3, 4), "h": torch.zeros(5, 3, 8)}

                def add(self, t, **items):
                    for k, v in items.items():
                        self.store[k][t] = v

            core = nn.GRU(4, 8)
            st = Storage()
            h = torch.zeros(1, 3, 8)
            for t in range(5):
                st.add(t, obs=torch.randn(3, 4), h=h[0])
                _, h = core(st.store["obs"][t][None], h)
            _, h = core(st.store["obs"], st.store["h"][0][None])
            """,
            "G2L101",
            state="packed",
        ),
        Invalid(
            """
            core = nn.GRU(4, 8)
            buffers = {"obs": torch.zeros(5, 1, 3, 4), "h": torch.zeros(5, 1, 3, 8)}
            h = torch.zeros(1, 3, 8)
            for t in range(5):
                buffers["h"][t] = h
                _, h = core(buffers["obs"][t], h)
            mb = {}
            for key in buffers:
                mb[key] = buffers[key].flip(-1)
            _, h = core(mb["obs"][0], mb["h"][0])
            """,
            "G2L101",
            state="packed",
        ),
    )

    def apply(self, ctx, use: Consumption) -> None:
        # The packed state is one tensor like the others (`torch.stack([p[k] for p in posts], 0)`
        # keeps it whole); what is done to the value read is not followed to the state, so a
        # dimension that may be its last one there would mix h and c unseen.
        if _reports_named_keys(ctx, use):
            return
        if _names_a_last_dimension(ctx, use.node, _state_ranks(ctx, use.node)):
            self.report_mixed(ctx, use, (
                "and what is done to the value read here names a dimension that may be the last one, where the packed "
                "form holds h and c side by side"
            ))
        elif (write := _write_through(ctx, use.node)) is not None:
            # `self.data[k][self.t] = v` of `add(**items)`: under a state's key, what is written must be
            # the whole packed state, but the engine does not tie `v` to a key (the caller's `h=h[0]`
            # was read as h alone: exit 0, a crash)
            self.report_mixed(ctx, use, (
                f"and `{ctx.code(write)}` writes into the value read here, which the engine cannot tell is the "
                "whole packed state where the key is a state's"
            ))


def _write_through(ctx, node: cst.BaseExpression) -> Optional[cst.CSTNode]:
    """The statement or call that writes into `node` (`d[k][t] = v`, `d[k] += v`, `d[k][t].copy_(v)`),
    through rows of it; else None."""
    while True:
        parent = ctx.parents.get(node)
        if isinstance(parent, cst.Subscript) and parent.value is node:
            node = parent
        elif isinstance(parent, cst.AssignTarget):
            return ctx.parents.get(parent)
        elif isinstance(parent, cst.AugAssign) and parent.target is node:
            return parent
        elif isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value == COPY_INTO_METHOD:
            call = ctx.parents.get(parent)
            return call if isinstance(call, cst.Call) and call.func is parent else None
        else:
            return None


def _reports_named_keys(ctx, use: Consumption) -> bool:
    """A read by any key made each value of the dict a state (solve.py), but the code also reads
    some by their key (`mem["alive"]`, a mask beside `mem[role]`): whether a key not written out
    reaches those is not known, so taking them for states may double a mask (packed: exit 0, a
    crash) and not taking them leaves a state one tensor. Reported (G2L101) if so."""
    classes = ctx.solution.classes
    parts = classes.parts.get(classes.find(ctx.solution.keyed_reads[id(use.node)]), {})
    guessed = {classes.find(part) for part in ctx.solution.states_by_any_key}
    named = {classes.find(slot) for slot in ctx.solution.flow.named_key_reads}
    keys = [label.key for label, part in parts.items() if label.kind == LabelKind.KEY and classes.find(part) in guessed & named]
    if not keys:
        return False
    ctx.find("G2L101", use.node, (
        f"`{ctx.code(use.node.value)}` is read with `{ctx.code(use.node.slice[0].slice.value)}` as its key, so each value "
        f"it holds is taken as a hidden state, but {', '.join(f'key `{key!r}`' for key in keys)} "
        f"{'is' if len(keys) == 1 else 'are'} also read by name elsewhere, and the engine cannot tell whether "
        f"{'it holds one' if len(keys) == 1 else 'they hold states'}; keep the hidden states in a container of their own"
    ), use.place)
    return True


def _state_ranks(ctx, node: cst.Subscript) -> Optional[frozenset]:
    """The ranks of the states a read by a name as key may give (None: one is not known)."""
    parts = ctx.solution.classes.parts.get(ctx.solution.classes.find(ctx.solution.keyed_reads[id(node)]), {})
    ranks = Ranks(ctx)
    found = [ranks.of(VSlot(part, None)) for label, part in parts.items() if label.kind == LabelKind.KEY and ctx.solution.is_state(part)]
    return None if not found or None in found else frozenset().union(*found)


def _names_a_last_dimension(ctx, node: cst.BaseExpression, ranks: Optional[frozenset]) -> bool:
    """Does what is done to `node`, a state of one of the ranks `ranks` (None: not known), (its
    methods, the call it is passed to, through a list or a comprehension) act along its last
    dimension, or pass it to a helper whose way back does (summaries.py)?"""
    while True:
        parent = ctx.parents.get(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            call = ctx.parents.get(parent)
            if not (isinstance(call, cst.Call) and call.func is parent):
                return False
            if call_touches_last(call, True, ranks):
                return True
            ranks = None if ranks is None else rank_after(call, ranks)
            node = call
        elif isinstance(parent, cst.Subscript) and parent.value is node:
            if subscript_touches_last(parent, ranks):  # `p[k][..., -4:]`: a cut of h and c side by side
                return True
            ranks = None if ranks is None else rank_after(parent, ranks)
            node = parent
        elif isinstance(parent, (cst.Element, cst.List, cst.Tuple, cst.ListComp, cst.GeneratorExp, cst.CompFor)):
            node, ranks = parent, None
        elif isinstance(parent, cst.Arg):
            call = ctx.parents.get(parent)
            if not isinstance(call, cst.Call) or parent.keyword is not None:
                return False
            name = code_of(call.func).rpartition(".")[2]
            helpers = [through for key, through in ctx.flow.pass_through.items() if key.name == name and through is not None]
            return any(helper_touches_last(through, ranks) for through in helpers) or (
                name in CAT_NAMES | set(DIM_POSITIONS) and call.args[0] is parent and may_name_the_last(call, method_form=False)
            )
        else:
            return False


def _literal_keys(ctx, node: cst.Subscript):
    """The keys a name used as the key of `node` takes, when it is the target of a loop or
    comprehension over a literal of strings (`for k in ("obs", "act")`); else None."""
    key = node.slice[0].slice.value
    parent = ctx.parents.get(node)
    while parent is not None:
        loop = parent.for_in if isinstance(parent, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)) else parent
        if isinstance(loop, (cst.CompFor, cst.For)) and isinstance(loop.target, cst.Name) and loop.target.value == key.value:
            return literal_strings(loop.iter)
        parent = ctx.parents.get(parent)
    return None


def _is_or_lists_states(ctx, part, label: LabelKind) -> bool:
    """Is an iterated part a state, or (a dict's value, tuple form) a list of states
    (`columns["state_in"]`)? Each value then is a list of pairs, which one expression for all
    values (`torch.stack(v)`) cannot handle; packed, the list holds tensors like the others. A
    tuple of lists is left out: it is iterated to clear or reset each list (`for buf in (obs_buf,
    hidden_buf): buf.clear()`)."""
    element = ctx.solution.classes.part(part, ELEM)
    listed = label == LabelKind.KEY and not ctx.packed and element is not None
    return ctx.solution.is_state(part) or listed and ctx.solution.is_state(element)


def _part_name(ctx, use: Consumption, label) -> str:
    """How a part of an iterated value is called: a dict's key, a record's field, a tuple's item."""
    if label.kind == LabelKind.KEY:
        return f"key `{label.key!r}`"
    root = ctx.solution.classes.find(_slot_leaf(ctx, use).slot)
    for owner, fields in ctx.flow.namedtuples.items():
        instance = InstanceSlot.of(owner)
        if label.position < len(fields) and instance in ctx.solution.classes.parent and ctx.solution.classes.find(instance) == root:
            return f"field `{fields[label.position]}`"
    return f"item {label.position}"


class HolderHandedOver(Rule):
    uses = ("consumption",)
    summary = "something that holds states, used where the engine cannot follow it"

    def handles(self, ctx, use: Consumption) -> bool:
        leaf = _slot_leaf(ctx, use)
        return leaf is not None and not ctx.solution.is_state(leaf.slot)

    def apply(self, ctx, use: Consumption) -> None:
        if holds_states(ctx, _slot_leaf(ctx, use).slot) and use.context not in (Use.READ, Use.SIZE, Use.OPERAND, Use.ISNONE, Use.DISCARD, Use.TEST, Use.INDEX, Use.METHOD):
            # a reason that says already that the engine does not follow it is not said twice
            said = use.why.endswith(from_where(use.place)) or use.place is None and "the engine does not follow" in use.why
            follow = "" if said else from_where(use.place)
            remedy = follow_remedy(use.place, use.inside) if use.context == Use.UNKNOWN else BY_HAND
            ctx.find("G2L101", use.node, f"`{ctx.code(use.node)}` holds hidden states and is {use.why or 'used here'}{follow}; {remedy}", use.place)


class StateHandedOver(Rule):
    uses = ("consumption",)
    summary = "a state used in a way the table does not list (an unknown function, a truth test, …)"
    invalid = (
        Invalid(
            """
            import json

            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            out, h = core(torch.randn(1, 1, 4), h)
            json.dumps(h)
            """,
            "G2L101",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return _slot_leaf(ctx, use) is not None

    def apply(self, ctx, use: Consumption) -> None:
        unknown = use.context == Use.UNKNOWN
        reason = use.why or ("tested for truth" if use.context == Use.TEST else "used here")
        remedy = follow_remedy(use.place, use.inside) if unknown else BY_HAND
        call = ctx.parents.get(ctx.parents.get(use.node))  # `self.cell2(h, h)` of the argument `h`
        unread = unread_class(ctx, call) if unknown and use.place is None and isinstance(call, cst.Call) else None
        if unread is not None:
            code, node, message = unread
            ctx.find(code, node, message, once=True)
        else:
            ctx.find("G2L101" if unknown else "G2L100", use.node, f"the hidden state `{ctx.code(use.node)}` is {reason}; {remedy}", use.place)
