"""Code keyed to the GRU's three gates. A GRU stacks the rows of its weights and biases by gate (r,
z, n: `3 * hidden_size` rows); an LSTM stacks four (i, f, g, o), in another order. Code that takes
such a parameter apart — a slice of its rows, `chunk`/`view`/`split` of them, a loop over
`range(3)` of blocks, a replacement made for three gates — means something else for the LSTM (or
fails), and the engine cannot tell which LSTM gate each GRU gate should become: G2L107, and nothing
is written. Whole-parameter code (`nn.init.orthogonal_(self.gru.weight_hh_l0)`, a parameter of one GRU
shared whole with another: `cell.weight_hh = core.weight_hh_l0`) carries over; one shared with a module
that is no GRU (`proj.weight = core.weight_ih_l0`) would get the LSTM's four gates' rows, a G2L107."""

from __future__ import annotations

import libcst as cst

from gru2lstm.children import children
from gru2lstm.syntax import constant_string, int_key
from gru2lstm.vocab import GATE_CODE, GATE_PARAMETER, GATE_SPLITTING_METHODS, MODULE_PARAMETER_METHODS, PARAMETER_DATA_ATTRIBUTES
from gru2lstm.rules.base import Invalid, Rule, Valid


_HOLDING_STATEMENTS = (cst.BaseCompoundStatement, cst.BaseSuite, cst.Else, cst.ExceptHandler, cst.Finally)


class GateWise(Rule):
    uses = ("reference",)
    summary = "a gate-stacked parameter of the GRU taken apart by gate (3 gates; the LSTM has 4, in another order)"
    valid = (
        Valid(
            """
            core = nn.GRU(4, 8)
            nn.init.orthogonal_(core.weight_hh_l0)
            out, _ = core(torch.randn(3, 1, 4))
            """,
            """
            core = nn.LSTM(4, 8)
            nn.init.orthogonal_(core.weight_hh_l0)
            out, _ = core(torch.randn(3, 1, 4))
            """,
        ),
        Valid(
            """
            core = nn.GRU(4, 8)
            cell = nn.GRUCell(4, 8)
            cell.weight_hh = core.weight_hh_l0
            out, _ = core(torch.randn(3, 1, 4))
            h = cell(torch.randn(1, 4))
            """,
            """
            core = nn.LSTM(4, 8)
            cell = nn.LSTMCell(4, 8)
            cell.weight_hh = core.weight_hh_l0
            out, _ = core(torch.randn(3, 1, 4))
            h = cell(torch.randn(1, 4))
            """,
        ),
    )
    invalid = (
        Invalid(
            """
            core = nn.GRU(4, 8)
            proj = nn.Linear(4, 24)
            proj.weight = core.weight_ih_l0
            """,
            "G2L107",
        ),
        Invalid(
            """
            core = nn.GRU(4, 8)
            w_r, w_z, w_n = core.weight_hh_l0.chunk(3, 0)
            """,
            "G2L107",
        ),
        Invalid(
            """
            core = nn.GRU(4, 8)
            for name, p in core.named_parameters():
                if "bias" in name:
                    p.data[8:16].fill_(1.0)
            """,
            "G2L107",
        ),
        Invalid(
            """
            core = nn.GRU(4, 8)
            h = torch.zeros(1, 1, core.weight_hh_l0.shape[0] // 3)
            out, h = core(torch.randn(3, 1, 4), h)
            """,
            "G2L107",
        ),
    )

    def apply(self, ctx, use) -> None:
        params = _gate_parameters(ctx)
        whole = {id(param) for param in params if isinstance(param, cst.Attribute)}
        for param in params:
            for cut in _cuts(ctx, param):
                if isinstance(cut, cst.Assign) and all(id(_without_data(side)) in whole for side in _sides(cut)):
                    continue  # shared whole with another GRU's parameter: both become the LSTM's, stacked alike
                if _counts_rows(ctx, cut):
                    ctx.find("G2L107", cut, (
                        f"`{ctx.code(cut)}` counts the rows of `{ctx.code(param)}`, a parameter of the GRU whose rows are "
                        "stacked by gate (3 * hidden_size for r, z, n); the LSTM stacks 4 gates, so the count (and a size "
                        "taken from it, `// 3`) would change; use the module's `hidden_size` instead, or migrate "
                        "it by hand for the LSTM's gates"
                    ))
                    continue
                if isinstance(cut, cst.Assign) and _without_data(cut.value) is param:
                    ctx.find("G2L107", cut, (
                        f"`{ctx.code(cut)}` gives `{ctx.code(param)}`, a parameter of the GRU whose rows are stacked by "
                        "gate (3 gates: r, z, n), to what is not a parameter of a GRU: as the LSTM's it has 4 gates' rows, "
                        "which the code made for the GRU's would not expect; migrate it by hand for the LSTM's gates"
                    ))
                    continue
                if isinstance(cut, cst.Assign):
                    ctx.find("G2L107", cut, (
                        f"`{ctx.code(cut)}` replaces `{ctx.code(param)}`, a parameter of the GRU whose rows are stacked "
                        "by gate (3 gates: r, z, n), with a value the engine cannot tell is made for the LSTM's 4 gates "
                        "(i, f, g, o); share a whole parameter of another GRU there, or migrate it by hand for the LSTM's gates"
                    ))
                    continue
                ctx.find("G2L107", cut, (
                    f"`{ctx.code(cut)}` takes apart `{ctx.code(param)}`, a parameter of the GRU whose rows are "
                    "stacked by gate (3 gates: r, z, n); the LSTM stacks 4 gates (i, f, g, o) in another order, "
                    "so this code would cut the LSTM's gates elsewhere (or fail); migrate it by hand for the LSTM's gates"
                ))


def _gate_parameters(ctx) -> list:
    """The expressions that are a gate-stacked parameter of the GRU: `core.weight_hh_l0`, or the
    uses of `p` in a loop over `core.named_parameters()` (or over any module's named parameters
    when the loop tells its parameters apart by a gate-stacked name: `"weight_hh" in name`)."""
    classes, holding = ctx.solution.classes, {}  # class root -> does it hold the recurrent module?
    held = []
    for slot, node in ctx.flow.slot_nodes:
        root = classes.find(slot)
        if root not in holding:
            holding[root] = ctx.solution.holder_kind(root) is not None
        if holding[root]:
            held.append(node)
    found = [
        parent for node in held
        if isinstance(parent := ctx.parents.get(node), cst.Attribute) and parent.value is node and GATE_PARAMETER.fullmatch(parent.attr.value)
    ]
    holders = {id(node) for node in held}
    for key, module in ctx.modules.items():
        if ctx.spells(key, GATE_CODE):  # only the files that spell such a loop are walked, statements only
            found += [name for loop in _loops(module) for name in _loop_parameters(loop, holders)]
    return found


def _loops(node: cst.CSTNode):
    """The `for` statements under `node` (statements only: no expression holds one)."""
    for child in children(node):
        if isinstance(child, cst.For):
            yield child
        if isinstance(child, _HOLDING_STATEMENTS):
            yield from _loops(child)


def _loop_parameters(node: cst.For, holders: set) -> list:
    if not isinstance(node.iter, cst.Call) or not isinstance(node.iter.func, cst.Attribute):
        return []
    if node.iter.func.attr.value not in MODULE_PARAMETER_METHODS:
        return []
    if id(node.iter.func.value) not in holders and not _names_gate_parameters(node.body):
        return []
    target = node.target
    if isinstance(target, cst.Tuple) and len(target.elements) == 2:
        target = target.elements[1].value
    if not isinstance(target, cst.Name):
        return []
    return [name for name in _names(node.body) if name.value == target.value]


def _cuts(ctx, param: cst.CSTNode) -> list:
    """The expressions that take `param` apart by rows, also through a name it is assigned to
    (`p = core.weight_hh_l0` then `p[i * H:(i + 1) * H]`, in the same function)."""
    node, parent = param, ctx.parents.get(param)
    while isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value in PARAMETER_DATA_ATTRIBUTES:
        node, parent = parent, ctx.parents.get(parent)  # `.data`: the same rows
    if isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1:
        target = parent.targets[0].target
        if isinstance(target, cst.Name):
            scope = _scope(ctx, parent)
            return [cut for name in _names(scope) if name.value == target.value and name is not target for cut in _cuts(ctx, name)]
    cut = _taken_apart(ctx, node, parent)
    return [cut] if cut is not None else []


def _sides(assign: cst.Assign) -> list:
    """What `assign` assigns and what it assigns to."""
    return [assign.value] + [target.target for target in assign.targets]


def _without_data(node: cst.CSTNode) -> cst.CSTNode:
    """`node` without the attributes that are the same rows (`core.weight_hh_l0.data` is `core.weight_hh_l0`)."""
    while isinstance(node, cst.Attribute) and node.attr.value in PARAMETER_DATA_ATTRIBUTES:
        node = node.value
    return node


def _scope(ctx, node: cst.CSTNode) -> cst.CSTNode:
    while node is not None and not isinstance(node, (cst.FunctionDef, cst.Module)):
        node = ctx.parents.get(node)
    return node


def _counts_rows(ctx, node: cst.CSTNode) -> bool:
    """Is `node` a count of a parameter's rows: `p.shape[0]`, `p.size(0)`, `len(p)`, `p.numel()`?"""
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape":
        return int_key(node) == 0
    if not isinstance(node, cst.Call):
        return False
    if isinstance(node.func, cst.Name):
        return node.func.value == "len"
    name = node.func.attr.value if isinstance(node.func, cst.Attribute) else None
    if name == "numel":
        return True
    return name == "size" and len(node.args) == 1 and isinstance(node.args[0].value, cst.Integer) and node.args[0].value.value == "0"


def _row_count(ctx, node: cst.CSTNode, parent: cst.CSTNode):
    """The expression that counts the rows of `node` (`node.shape[0]`, `node.size(0)`, `len(node)`,
    `node.numel()`), else None."""
    if isinstance(parent, cst.Attribute) and parent.value is node:
        outer = ctx.parents.get(parent)
        if parent.attr.value == "shape" and isinstance(outer, cst.Subscript) and outer.value is parent:
            return outer if _counts_rows(ctx, outer) else None
        if parent.attr.value in ("size", "numel") and isinstance(outer, cst.Call) and outer.func is parent:
            return outer if _counts_rows(ctx, outer) else None
    if isinstance(parent, cst.Arg) and parent.value is node:
        call = ctx.parents.get(parent)
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "len" and len(call.args) == 1:
            return call
    return None


def _taken_apart(ctx, node: cst.CSTNode, parent: cst.CSTNode):
    """The expression that takes `node` apart by rows (a subscript, a splitting method, a torch
    splitting function, or a replacement assigned to it) or counts its rows, else None."""
    counted = _row_count(ctx, node, parent)
    if counted is not None:
        return counted
    if isinstance(parent, cst.Subscript) and parent.value is node:
        return parent
    if isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value in GATE_SPLITTING_METHODS:
        call = ctx.parents.get(parent)
        return call if isinstance(call, cst.Call) else None
    if isinstance(parent, cst.Arg) and parent.value is node:
        call = ctx.parents.get(parent)
        func = call.func if isinstance(call, cst.Call) else None
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
        return call if name in GATE_SPLITTING_METHODS and call.args[0] is parent else None
    if isinstance(parent, cst.AssignTarget) and parent.target is node:
        return ctx.parents.get(parent)
    if isinstance(parent, cst.Assign) and parent.value is node:
        return parent  # shared whole with what it is assigned to
    return None


def _names_gate_parameters(body: cst.CSTNode) -> bool:
    """Does the code compare names with a gate-stacked parameter's (`"weight_hh" in name`)?"""
    return any(GATE_PARAMETER.search(text) for text in _strings(body))


def _strings(node: cst.CSTNode):
    for child in children(node):
        if isinstance(child, cst.SimpleString):
            text = constant_string(child)
            if text:
                yield text
        else:
            yield from _strings(child)


def _names(node: cst.CSTNode):
    for child in children(node):
        if isinstance(child, cst.Name):
            yield child
        yield from _names(child)
