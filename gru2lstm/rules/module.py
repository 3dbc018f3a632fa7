"""Rules 1, 1b and 9: the recurrent module itself. `nn.GRU`/`GRUCell` (and their import) become
`nn.LSTM`/`LSTMCell`, `isinstance` tests follow, and names with a `gru` word that hold the module
are renamed (not parameters; not with --keep-names)."""

from __future__ import annotations

import libcst as cst

from gru2lstm.names import lstm_name
from gru2lstm.qualnames import module_imports, qualify
from gru2lstm.syntax import constant_string, walk
from gru2lstm.values import SlotKind
from gru2lstm.vocab import ALREADY_LSTM, GRU_NAMES, LSTM_FOR_GRU, RECURRENT_NAMES, TORCH_RECURRENT_PATHS, TYPE_TESTS
from gru2lstm.rules.base import Invalid, Rule, Valid


def _is_isinstance_argument(ctx, node: cst.CSTNode) -> bool:
    parent = ctx.parents.get(node)
    grand = ctx.parents.get(parent) if parent is not None else None
    return isinstance(grand, cst.Call) and isinstance(grand.func, cst.Name) and grand.func.value == "isinstance"


def _names_in_strings(ctx) -> set:
    """The names a string of the program spells as a parameter path (`"gru"`, `"gru.bias_hh_l0"`,
    `"encoder.gru."`): renaming an attribute would change its parameters' names, which such code
    compares (`name.startswith("gru.")` over `named_parameters()`), so it keeps its name."""
    found = set()
    for node in ctx.parents:  # `type() is`: an isinstance of a LibCST class costs ten times more (children.py)
        text = constant_string(node) if type(node) is cst.SimpleString else None
        if text and " " not in text:
            found.update(part for part in text.split(".") if part)
    return found


AS_BASE = "a base class here"


def held_as_value(parents: dict, node: cst.CSTNode):
    """How the GRU class is used other than constructed, tested or annotated (`class Core(nn.GRU)`,
    `RNN = nn.GRU`, `make(nn.GRU)`), else None."""
    parent = parents.get(node)
    if isinstance(parent, cst.Call) and parent.func is node or isinstance(parent, (cst.Annotation, cst.Comparison, cst.ComparisonTarget, cst.ImportAlias)):
        return None
    if isinstance(parent, cst.DictElement) and parent.key is node:
        return None  # a mapping's key names the class (`{nn.GRU: QGRU}`), as a type test does
    if isinstance(parent, cst.AssignTarget):
        return None  # the name bound (`Cell` of `Cell = nn.GRUCell`): the class assigned to it is the use
    while isinstance(parent, (cst.Element, cst.Tuple)):  # `isinstance(m, (nn.GRU, nn.GRUCell))`
        parent = parents.get(parent)
    call = parents.get(parent) if isinstance(parent, cst.Arg) else None
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in TYPE_TESTS:
        return None
    parent = parents.get(node)
    if isinstance(parent, cst.Arg) and isinstance(parents.get(parent), cst.ClassDef):
        return AS_BASE
    if isinstance(parent, (cst.Assign, cst.AnnAssign)):
        return "assigned here"
    return "used as a value here"


# Where the GRU class sits beside other classes it may be chosen from.
_CHOICE_NODES = (cst.Element, cst.DictElement, cst.Tuple, cst.List, cst.Set, cst.Dict, cst.IfExp)


def lstm_class_beside(parents: dict, module: cst.Module, node: cst.CSTNode):
    """The LSTM class of torch.nn held in the display or choice that holds the GRU class `node`
    (`{"lstm": nn.LSTM, "gru": nn.GRU}`, `nn.LSTM if lstm else nn.GRU`): code that chooses
    between them by configuration, and so handles the LSTM already; else None."""
    holder = None
    parent = parents.get(node)
    while isinstance(parent, _CHOICE_NODES):
        holder, parent = parent, parents.get(parent)
    if holder is None:
        return None
    imports = module_imports(module)
    return next((
        other for other in walk(holder)
        if type(other) in (cst.Name, cst.Attribute) and qualify(other, imports, set()) in ALREADY_LSTM
    ), None)


def chosen_class_message(code: str, other: str) -> str:
    return (
        f"the class `{code}` is held beside `{other}`, so the code chooses between a GRU and an LSTM already and "
        "handles both; the engine leaves it as it is: choose the LSTM where the choice is made"
    )


def held_class_message(code: str, held: str) -> str:
    return (
        f"the class `{code}` is {held}, so the modules made from it are not followed: each would become an LSTM, "
        "whose state is (h, c), while the code around it still passes and takes one tensor; use `nn.GRU(...)` by its "
        "name where the module is made, or migrate this by hand"
    )


class RecurrentModule(Rule):
    step = "module"
    uses = ("reference",)
    summary = "`nn.GRU`/`GRUCell`, their import and `isinstance` tests become LSTM; holders named `gru` are renamed"
    valid = (
        Valid(
            """
            class M(nn.Module):
                def __init__(self):
                    self.gru = nn.GRU(8, 16, num_layers=2)

                def forward(self, x, h):
                    return self.gru(x, h)
            """,
            """
            class M(nn.Module):
                def __init__(self):
                    self.lstm = nn.LSTM(8, 16, num_layers=2)

                def forward(self, x, h):
                    return self.lstm(x, h)
            """,
        ),
        Valid(
            """
            from torch.nn import GRUCell as Cell

            cell = Cell(4, 8)
            ok = isinstance(cell, nn.GRUCell)
            y = torch.relu(cell(torch.randn(2, 4)))
            """,
            """
            from torch.nn import LSTMCell as Cell

            cell = Cell(4, 8)
            ok = isinstance(cell, nn.LSTMCell)
            y = torch.relu(cell(torch.randn(2, 4))[0])
            """,
        ),
    )
    invalid = (
        Invalid(
            """
            class M(nn.Module):
                def __init__(self, lstm):
                    self.core = nn.LSTM(4, 8) if lstm else nn.GRU(4, 8)
            """,
            "G2L102",
        ),
    )

    def apply(self, ctx, use) -> None:
        for node, name in ctx.flow.references:
            new = RECURRENT_NAMES.get(name)
            if new is None:
                continue
            if isinstance(node, cst.Attribute) and node.attr.value in GRU_NAMES:
                ctx.plan.renames[node.attr] = new
            elif isinstance(node, cst.Name) and node.value in GRU_NAMES:
                ctx.plan.renames[node] = new
            else:
                continue
            ctx.step("init" if _is_isinstance_argument(ctx, node) else "module", node)
            held = held_as_value(ctx.parents, node)
            if held is not None:
                ctx.find("G2L101", node, held_class_message(ctx.code(node), held))
        for node in ctx.parents:
            if type(node) is cst.ImportAlias and isinstance(node.name, cst.Name) and node.name.value in GRU_NAMES:  # children.py: why `type`
                parent = ctx.parents.get(node)
                if isinstance(parent, cst.ImportFrom) and ctx.code(parent.module or cst.Name("")) in TORCH_RECURRENT_PATHS:
                    ctx.plan.renames[node.name] = LSTM_FOR_GRU[node.name.value]
                    ctx.step("module", node)
        if ctx.options.keep_names:
            return
        spelled = _names_in_strings(ctx)
        for slot, node in ctx.flow.slot_nodes:
            if ctx.solution.holder_kind(slot) is None:
                continue
            name_node = node.attr if isinstance(node, cst.Attribute) else node
            if not isinstance(name_node, cst.Name):
                continue
            if slot.kind == SlotKind.DEF and ctx.flow.defs[slot.def_id].is_param:
                continue
            new = lstm_name(name_node.value)
            if new is not None and name_node.value not in spelled:
                ctx.plan.renames[name_node] = new
                ctx.step("module", node)
