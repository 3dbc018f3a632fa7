"""The recurrent module reached other than by a call the engine follows: handed to a library
function or another module that calls it (`checkpoint(self.gru, x, h)`, `nn.Sequential(enc,
nn.GRU(4, 8))`, `functools.partial(self.gru, x)`), or given a hook that sees its state. The LSTM
that replaces it takes and gives (h, c) where the GRU took and gave one tensor, and the engine
cannot rewrite code it does not see: G2L101 at the place, and nothing is written. Also the one
warning about the module's parameters: a `load_state_dict` of parameters read from a file, into a
module that holds the GRU, may read a checkpoint the GRU program saved, which the LSTM cannot load
(G2L203, written all the same). And a module class of torch.nn taken by its name
(`getattr(nn, "GRU")`, `getattr(torch.nn, cfg.cell)(4, 8)`): the module made from it may be a GRU
the engine cannot see, G2L101 there."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.boundary import state_carriers
from gru2lstm.classes_by_value import chained_reads_of_torch, getter_of_torch, keys_torch_namespace, made_as_recurrent, reads_torch_class, torch_names
from gru2lstm.program import Consumption, Use
from gru2lstm.syntax import constant_string, walk
from gru2lstm.values import AttrSlot, InstanceSlot, SlotKind, VCtor, VSlot
from gru2lstm.vocab import (
    CHECKPOINT_REENTRANT_KEYWORD, CLASS_BY_NAME_TEXT, GRU_NAMES, HOOK_METHODS, LOADING_STATE_METHOD, NAMED_ATTRIBUTE_BUILTIN, RECURRENT,
    SAVED_STATE_METHOD,
)
from gru2lstm.rules.base import Invalid, Rule


def recurrent_module(ctx, use: Consumption) -> bool:
    """Is the consumed value the recurrent module: a slot that holds it, or its construction?"""
    leaf = ctx.solution.resolutions.leaf_of(use.value)
    if isinstance(leaf, VCtor):
        return leaf.qualname in RECURRENT
    return isinstance(leaf, VSlot) and ctx.solution.holder_kind(leaf.slot) is not None


class ModuleHandedToCaller(Rule):
    uses = ("consumption",)
    summary = "the recurrent module handed to a library function or a module that calls it"
    invalid = (
        Invalid(
            """
            import torch.utils.checkpoint

            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, 8)
            for t in range(3):
                out, h = torch.utils.checkpoint.checkpoint(core, torch.randn(1, 1, 4), h)
            """,
            "G2L101",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return use.context == Use.HANDED  # anything else handed over is only read (calls.py)

    def apply(self, ctx, use: Consumption) -> None:
        if recurrent_module(ctx, use) and id(use.node) in ctx.flow.reentrant_checkpoints:
            keyword = f"`{CHECKPOINT_REENTRANT_KEYWORD}=False`"
            checkpoint = ctx.parents.get(ctx.parents.get(use.node))
            spread = next((arg.value for arg in checkpoint.args if arg.star == "**"), None) if isinstance(checkpoint, cst.Call) else None
            run = f"without {keyword} here" if spread is None else (
                f"here whose keywords come from `**{ctx.code(spread)}`, which the engine reads only as a dict written out in the "
                "function and only spread there (`kw = dict(use_reentrant=False)`), so it may be reentrant"
            )
            ctx.find("G2L101", use.node, (
                f"the recurrent module `{ctx.code(use.node)}` is run by a checkpoint {run}; a "
                "reentrant checkpoint would give back the LSTM's new `(h, c)` without gradients (it tracks the "
                f"tensors it returns, not those inside a returned tuple); pass {keyword} to the checkpoint, which "
                "the engine then follows as a call of the module, or migrate this by hand"
            ), use.place)
        elif recurrent_module(ctx, use):
            ctx.find("G2L101", use.node, (
                f"the recurrent module `{ctx.code(use.node)}` is {use.why}, which may call it with the state as one "
                "tensor and read its result as `(output, h)`; the LSTM takes and gives `(h, c)`, and the engine does "
                "not follow the call there; use the module directly (`out, h = module(x, h)`), or migrate this by hand"
            ), use.place)


class ModuleHook(Rule):
    uses = ("consumption",)
    summary = "a hook registered on the recurrent module (it sees the state as the GRU gives it)"
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            seen = []
            core.register_forward_hook(lambda m, inputs, output: seen.append(output[1]))
            h = torch.zeros(1, 1, 8)
            out, h = core(torch.randn(1, 1, 4), h)
            """,
            "G2L101",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return use.context == Use.METHOD and _method(ctx, use) in HOOK_METHODS and recurrent_module(ctx, use)

    def apply(self, ctx, use: Consumption) -> None:
        ctx.find("G2L101", use.node, (
            f"`.{_method(ctx, use)}()` on the recurrent module `{ctx.code(use.node)}` hands its inputs or outputs to a "
            "hook the engine does not follow; the LSTM's state there is `(h, c)` where the GRU's was one tensor, so "
            "the hook would get a pair; migrate the hook by hand (its state argument is `(h, c)`)"
        ), use.place)


class AttributeByName(Rule):
    uses = ("consumption",)
    summary = "an attribute of an object that holds the recurrent module taken by a name the engine cannot read (`getattr(self, f\"gru_{i}\")`)"
    invalid = (
        Invalid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.gru_0 = nn.GRUCell(4, 8)

                def forward(self, x, h, i):
                    return getattr(self, f"gru_{i}")(x, h)
            """,
            "G2L101",
        ),
    )

    def handles(self, ctx, use: Consumption) -> bool:
        return (
            use.context == Use.UNKNOWN and _looked_up_by_name(ctx, use) is not None and _holds_the_recurrent_module(ctx, use)
            and not _of_a_changed_class(ctx, use)
        )

    def apply(self, ctx, use: Consumption) -> None:
        call = _looked_up_by_name(ctx, use)
        held = sorted(slot.name for slot in ctx.values_bound_to if isinstance(slot, AttrSlot) and ctx.solution.holder_kind(slot) is not None)
        ctx.find("G2L101", call, (
            f"`{ctx.code(call)}` takes an attribute of `{ctx.code(use.node)}`, which holds the recurrent module, by a name "
            "the engine cannot read, so a call of the module through it would still pass one tensor where the LSTM takes "
            f"(h, c), and a renamed attribute would not be found; use the module by its name (`{ctx.code(use.node)}.{held[0] if held else 'name'}`), "
            "or migrate this by hand"
        ), use.place)


def _of_a_changed_class(ctx, use: Consumption) -> bool:
    """Is the consumed object an instance of a class whose contract changes? Handed to `getattr()`,
    boundary.py reports it already (an instance that goes where the walk does not follow)."""
    leaf = ctx.solution.resolutions.leaf_of(use.value)
    if not isinstance(leaf, VSlot):
        return False
    classes = ctx.solution.classes
    changed = {ctx.flow.functions[key].class_name for key in state_carriers(ctx.flow, ctx.solution)} - {None}
    return any(classes.find(InstanceSlot.of(owner)) == classes.find(leaf.slot) for owner in changed)


def _looked_up_by_name(ctx, use: Consumption) -> Optional[cst.Call]:
    """The `getattr(obj, name)` whose object `use` consumes, when `name` is not written out."""
    arg = ctx.parents.get(use.node)
    call = ctx.parents.get(arg) if isinstance(arg, cst.Arg) else None
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == NAMED_ATTRIBUTE_BUILTIN):
        return None
    if len(call.args) < 2 or call.args[0] is not arg or constant_string(call.args[1].value) is not None:
        return None
    return call


def _method(ctx, use: Consumption) -> str:
    parent = ctx.parents.get(use.node)
    return parent.attr.value if isinstance(parent, cst.Attribute) and parent.value is use.node else ""


class OldCheckpoint(Rule):
    uses = ("consumption", "call")
    summary = "parameters loaded from a file into a module that holds the GRU: a checkpoint the GRU program saved does not load into the LSTM"

    def handles(self, ctx, use) -> bool:
        call = _loading_call(ctx, use)
        # `target.load_state_dict(net.state_dict())`: parameters of the program itself
        return call is not None and bool(call.args) and not _calls_method(call.args[0].value, SAVED_STATE_METHOD)

    def apply(self, ctx, use) -> None:
        call = _loading_call(ctx, use)
        ctx.find("G2L203", call, (
            f"`{ctx.code(call)}` loads parameters that come from elsewhere; a checkpoint saved while the module "
            "was a GRU will not load into the LSTM (4 gates where the GRU had 3, and parameter names that follow "
            "the renamed attribute); keep the code, and train again or convert old checkpoints by hand"
        ))


def _loading_call(ctx, use) -> Optional[cst.Call]:
    """The `load_state_dict(...)` call of a module that holds the recurrent module: `net.load_state_dict`
    (a method consumption of `net`), or `self.load_state_dict` in such a module's class (a call of its own)."""
    if isinstance(use, Consumption):
        if use.context != Use.METHOD or _method(ctx, use) != LOADING_STATE_METHOD or not _holds_the_recurrent_module(ctx, use):
            return None
        call = ctx.parents.get(ctx.parents.get(use.node))
        return call if isinstance(call, cst.Call) else None
    func = ctx.solution.resolved(use.func)
    own = isinstance(func, VSlot) and isinstance(func.slot, AttrSlot) and func.slot.name == LOADING_STATE_METHOD
    return use.node if own and func.slot.owner in _recurrent_owners(ctx) else None


def _holds_the_recurrent_module(ctx, use: Consumption) -> bool:
    """Is the consumed value the recurrent module, or an instance of a class that holds it (through
    its attributes, at any depth)? Not an optimiser, nor a module without one."""
    if recurrent_module(ctx, use):
        return True
    leaf = ctx.solution.resolutions.leaf_of(use.value)
    if not isinstance(leaf, VSlot):
        return False
    owners = _recurrent_owners(ctx)
    if leaf.slot.kind == SlotKind.DEF:  # `self.load_state_dict(...)` in a method of such a class
        definition = ctx.flow.defs.get(leaf.slot.def_id)
        function = definition.function if definition is not None else None
        if function is not None and definition.name == function.self_name and function.class_name in owners:
            return True
    classes = ctx.solution.classes
    root = classes.find(leaf.slot)
    return any(classes.find(InstanceSlot.of(owner)) == root for owner in owners)


def _recurrent_owners(ctx) -> set:
    """The classes whose attributes hold the recurrent module, or an instance of such a class."""
    attributes = [slot for slot in ctx.values_bound_to if isinstance(slot, AttrSlot)]
    owners = {slot.owner for slot in attributes if ctx.solution.holder_kind(slot) is not None}
    classes = ctx.solution.classes
    grown = True
    while grown:
        instances = {classes.find(InstanceSlot.of(owner)) for owner in owners}
        more = {slot.owner for slot in attributes if slot.owner not in owners and classes.find(slot) in instances}
        grown = bool(more)
        owners |= more
    return owners


def _calls_method(node: cst.CSTNode, method: str) -> bool:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == method:
        return True
    return any(_calls_method(child, method) for child in node.children)


class ClassByName(Rule):
    uses = ("interface",)
    summary = (
        "a module class of torch.nn taken by its name (`getattr(nn, \"GRU\")`, `getattr(nn, cfg.cell)(4, 8)`, `vars(nn)[cfg.cell]`): "
        "a GRU the engine cannot follow"
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            other = getattr(nn, "GRU")(4, 8)
            h = torch.zeros(1, 1, 8)
            out, h = core(torch.randn(1, 1, 4), h)
            """,
            "G2L101",
        ),
        Invalid(
            """
            CELL = "GRU"
            core = nn.GRU(4, 8)
            other = getattr(nn, CELL)(4, 8)
            h = torch.zeros(1, 1, 8)
            out, h = core(torch.randn(1, 1, 4), h)
            """,
            "G2L101",
        ),
        Invalid(
            """
            CELL = "GRU"
            core = nn.GRU(4, 8)
            other = vars(nn)[CELL](4, 8)
            h = torch.zeros(1, 1, 8)
            out, h = core(torch.randn(1, 1, 4), h)
            """,
            "G2L101",
        ),
    )

    def apply(self, ctx, use) -> None:
        for key, module in ctx.flow.modules.items():
            if not ctx.spells(key, CLASS_BY_NAME_TEXT):
                continue
            nodes = list(walk(module))
            imports = torch_names(module, nodes)
            for node in nodes:
                message = class_by_name(ctx, node, imports) if type(node) in (cst.Call, cst.Subscript) else None
                if message is not None:
                    ctx.find("G2L101", node, message, once=True)


def class_by_name(ctx, node: cst.BaseExpression, imports: dict) -> Optional[str]:
    """The finding (G2L101) about `node` when it is a class of torch.nn taken by a name that may give
    the GRU (ClassByName), else None."""
    why = _gru_by_name(ctx, node, imports)
    if why is None:
        return None
    return (
        f"`{ctx.code(node)}` takes a module class of torch.nn by {why}, so the engine does not follow the "
        "module made from it: it would stay a GRU, whose state is one tensor, beside code that now passes "
        "and takes (h, c); use the class by its name where the module is made (`nn.GRU(...)`), or migrate this by hand"
    )


def _gru_by_name(ctx, call: cst.BaseExpression, imports: dict) -> Optional[str]:
    """How `getattr(<torch.nn>, name)` or `vars(<torch.nn>)[name]` may give the GRU class (its name
    written out, or a name the engine cannot read with a module made from it as a recurrent one
    is), else None."""
    if type(call) is cst.Call and reads_torch_class(call, imports):
        key = call.args[1].value
    elif type(call) is cst.Subscript and keys_torch_namespace(call, imports) and len(call.slice) == 1 and isinstance(call.slice[0].slice, cst.Index):
        key = call.slice[0].slice.value
    elif (read := getter_of_torch(call, imports, ctx.parents)) is not None:  # `attrgetter(name)(nn)`, `pick(nn)`
        key = read
    elif (reads := chained_reads_of_torch(call, imports)) is not None:  # `functools.reduce(getattr, ["nn", name], torch)`
        key = next((read for read in reads if constant_string(read) is None), reads[-1])
    else:
        return None
    name = constant_string(key)
    if name is not None:
        return f"its name `{name}`" if name in GRU_NAMES else None
    made = ctx.parents.get(call)  # `getattr(nn, cfg.cell)(4, 8)`
    if not (isinstance(made, cst.Call) and made.func is call):
        return None
    if made_as_recurrent(made):
        return f"a name it does not read (`{ctx.code(key)}`)"
    return None
