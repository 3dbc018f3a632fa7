"""Code compiled by TorchScript: functions marked `@torch.jit.script_method`, `@torch.jit.script`
or `@torch.jit.export`, the forward() of a module handed to `torch.jit.script(...)`, and what those
call (methods, functions of the program, submodules' forward()). TorchScript types every parameter
as written (a `Tensor` unless annotated) and every list or dict by what it is first given, and an
LSTM there takes its state as `Tuple[Tensor, Tensor]`.

- Packed form: the state stays one Tensor, so no type changes; only the split handed to the LSTM
  must be a tuple (`chunk` gives a list): `(E.chunk(2, dim=-1)[0], E.chunk(2, dim=-1)[1])`.
- Tuple form: a parameter that holds the pair and has no annotation gets
  `Tuple[torch.Tensor, torch.Tensor]` (annotated ones are rules/annotations.py's); a list made
  there that gets pairs is made as one (`[]`, `[E] * T`). Any other container of pairs, a list
  mixing pairs with Tensors, and a parameter the engine cannot annotate are findings (G2L100)."""

from __future__ import annotations

from typing import NamedTuple, Optional

import libcst as cst

from gru2lstm.program import BindingKind, DefinitionKind
from gru2lstm.solve import recurrent_hidden_argument
from gru2lstm.syntax import is_none
from gru2lstm.values import AttrSlot, DefSlot, ELEM, LabelKind, PosLabel
from gru2lstm.rules.base import Invalid, Rule, Valid
from gru2lstm.rules.edits import is_pure, twin_items
from gru2lstm.rules.packed_dims import may_be_none


def compiled_functions(ctx) -> dict:
    """function key -> how TorchScript comes to compile it (the decorator, or the compiled
    function that calls it): what is marked, and everything it calls that the program defines."""
    compiled = dict(ctx.flow.torchscript)
    for call in ctx.flow.scripted_unknown[:1]:
        # `torch.jit.script(policy)` of a module the walk cannot identify: any module's forward() may be compiled
        for owner in ctx.flow.classes:
            forward = ctx.flow.forward_of(owner)
            if forward is not None and forward.key not in compiled:
                compiled[forward.key] = f"maybe, by `{call}`, which the engine cannot tie to a class"
    waiting = list(compiled)
    while waiting:
        key = waiting.pop()
        function = ctx.flow.functions[key]
        for callee in _callees(ctx, function):
            if callee.key not in compiled:
                compiled[callee.key] = f"called from `{function.display_name}()`"
                waiting.append(callee.key)
    return compiled


def _callees(ctx, function) -> list:
    """The program's functions a compiled function calls: `self.m(...)` (a method), `self.sub(...)`
    and `self.sub.m(...)` (of a submodule), `f(...)` and `module.f(...)` (functions of the program)."""
    found = []
    for call in _calls_in(function.node):
        callee = _callee(ctx, function, call.func)
        if callee is not None:
            found.append(callee)
    return found


def _callee(ctx, function, func: cst.BaseExpression):
    flow = ctx.flow
    if isinstance(func, cst.Name):
        return _function_named(ctx, flow.lookup(function.module, func.value))
    if not isinstance(func, cst.Attribute):
        return None
    owner = _class_held(ctx, function, func.value)
    method = None if owner is None else flow.method(owner, func.attr.value)
    if method is not None:
        return method
    held = _class_held(ctx, function, func)
    if held is not None:
        return flow.forward_of(held)
    if isinstance(func.value, cst.Name):
        module = flow.lookup(function.module, func.value.value)
        if module is not None and module.kind == DefinitionKind.MODULE:
            return _function_named(ctx, flow.lookup(module.key, func.attr.value))
    return None


def _class_held(ctx, function, node: cst.BaseExpression):
    """The program class of `self` or of `self.sub`, in a method of `function`'s class."""
    if isinstance(node, cst.Name) and node.value == function.self_name:
        return function.class_name
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == function.self_name:
        return ctx.flow.instance_class.get(AttrSlot.of(function.class_name, node.attr.value))
    return None


def _function_named(ctx, definition):
    if definition is None or definition.kind != DefinitionKind.FUNCTION:
        return None
    return ctx.flow.functions.get(definition.key)


def _calls_in(node: cst.CSTNode) -> list:
    calls = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            calls.append(call)

    node.visit(Calls())
    return calls


def _inside(ctx, node: cst.CSTNode, functions: set) -> bool:
    """Is `node` in the body of one of `functions` (ids of FunctionDef nodes)?"""
    current = ctx.parents.get(node)
    while current is not None and not isinstance(current, cst.FunctionDef):
        current = ctx.parents.get(current)
    return current is not None and id(current) in functions


class TorchScriptSplit(Rule):
    step = "call"
    uses = ("compiled",)
    summary = "packed, in a function compiled by TorchScript: the LSTM's state is a tuple of the halves, `(E.chunk(2, dim=-1)[0], E.chunk(2, dim=-1)[1])`"
    valid = (
        Valid(
            """
            class Core(torch.jit.ScriptModule):
                def __init__(self):
                    super().__init__()
                    self.cell = nn.GRUCell(4, 8)

                @torch.jit.script_method
                def forward(self, x, h):
                    return self.cell(x, h)


            def run():
                core = Core()
                h = torch.zeros(1, 8)
                h = core(torch.randn(1, 4), h)
            """,
            """
            class Core(torch.jit.ScriptModule):
                def __init__(self):
                    super().__init__()
                    self.cell = nn.LSTMCell(4, 8)

                @torch.jit.script_method
                def forward(self, x, h):
                    return torch.cat(self.cell(x, (h.chunk(2, dim=-1)[0], h.chunk(2, dim=-1)[1])), dim=-1)


            def run():
                core = Core()
                h = torch.zeros(1, 2 * 8)
                h = core(torch.randn(1, 4), h)
            """,
            state="packed",
        ),
    )

    def apply(self, ctx, use) -> None:
        functions = {id(ctx.flow.functions[key].node) for key in compiled_functions(ctx)}
        if not functions:
            return
        for call in ctx.flow.calls:
            hidden = recurrent_hidden_argument(call) if id(call) in ctx.solution.recurrent_calls else None
            if hidden is None or not _inside(ctx, call.node, functions):
                continue
            node = ctx.solution.resolved(hidden).node
            if node not in ctx.plan.expressions:
                continue  # not split (a finding says why)
            if not is_pure(node) or (may_be_none(ctx, hidden) and not isinstance(node, cst.Name)):
                # read twice; or tested for None, which TorchScript refines on a local name only
                ctx.find(
                    "G2L100", node,
                    f"TorchScript takes the LSTM's state as a tuple, and the packed form splits `{ctx.code(node)}` into its two halves "
                    "by reading it twice (after testing it for None, where it may be None); assign it to a local name first",
                )
                continue
            ctx.edit_expression(node, lambda updated, mapping, module=ctx.module_of(node): _as_tuple(module, updated))


def _as_tuple(module: cst.Module, split: cst.BaseExpression) -> cst.BaseExpression:
    """`E.chunk(2, dim=-1)` -> `(E.chunk(2, dim=-1)[0], E.chunk(2, dim=-1)[1])`; in
    `None if E is None else E.chunk(2, dim=-1)`, its last branch."""
    if isinstance(split, cst.IfExp):
        return split.with_changes(orelse=_as_tuple(module, split.orelse))
    code = module.code_for_node(split)
    return cst.parse_expression(f"({code}[0], {code}[1])")


class TorchScriptSignatures(Rule):
    step = "annotations"
    uses = ("compiled",)
    summary = "a parameter of a function compiled by TorchScript that holds the pair and has no annotation gets `Tuple[torch.Tensor, torch.Tensor]`"
    valid = (
        Valid(
            """
            class Core(torch.jit.ScriptModule):
                def __init__(self):
                    super().__init__()
                    self.cell = nn.GRUCell(4, 8)

                @torch.jit.script_method
                def forward(self, x, h):
                    return self.cell(x, h)


            def run():
                core = Core()
                h = core(torch.randn(1, 4), torch.zeros(1, 8))
            """,
            """
            class Core(torch.jit.ScriptModule):
                def __init__(self):
                    super().__init__()
                    self.cell = nn.LSTMCell(4, 8)

                @torch.jit.script_method
                def forward(self, x, h: tuple[torch.Tensor, torch.Tensor]):
                    return self.cell(x, h)


            def run():
                core = Core()
                h = core(torch.randn(1, 4), (torch.zeros(1, 8), torch.zeros(1, 8)))
            """,
        ),
    )

    def apply(self, ctx, use) -> None:
        for function, param, _ in bare_pair_parameters(ctx, compiled_functions(ctx)):
            torch_name = ctx.torch_names[function.module]
            if torch_name is None or (param.node.default is not None and is_none(param.node.default)):
                continue  # TorchScriptState says why
            element = f"{torch_name}.Tensor"
            annotation = cst.Annotation(cst.parse_expression(f"{ctx.tuple_names[function.module]}[{element}, {element}]"))
            ctx.edit_expression(param.node, lambda updated, mapping, annotation=annotation: _annotated(updated, annotation))
            ctx.step("annotations", param.node)


def bare_pair_parameters(ctx, compiled: dict):
    """(function, parameter, how it is compiled) of each parameter of a compiled function that
    would hold the pair whole and has no annotation (TorchScript would take it as a Tensor)."""
    for key, how in compiled.items():
        function = ctx.flow.functions[key]
        for param in function.params:
            slot = DefSlot.of(id(param.node.name))
            if param.node.annotation is None and ctx.solution.is_state(slot) and not ctx.solution.is_split(slot):
                yield function, param, how


def _annotated(param: cst.Param, annotation: cst.Annotation) -> cst.Param:
    if param.default is None:
        return param.with_changes(annotation=annotation)
    spaced = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(" "), whitespace_after=cst.SimpleWhitespace(" "))
    return param.with_changes(annotation=annotation, equal=spaced)


class TorchScriptState(Rule):
    step = None
    uses = ("compiled",)
    summary = "in a function compiled by TorchScript, a list that holds (h, c), or a parameter holding it that the engine cannot annotate, is a finding"
    invalid = (
        Invalid(
            """
            class Core(torch.jit.ScriptModule):
                def __init__(self):
                    super().__init__()
                    self.cell = nn.GRUCell(4, 8)

                @torch.jit.script_method
                def forward(self, x, h):
                    h = self.cell(x, h)
                    out = [h, torch.relu(x)]
                    return out
            """,
            "G2L100",
        ),
    )

    def apply(self, ctx, use) -> None:
        compiled = compiled_functions(ctx)
        if not compiled:
            return
        for function, param, how in bare_pair_parameters(ctx, compiled):
            if ctx.torch_names[function.module] is None:
                why = "this file has no `import torch` to spell `Tuple[torch.Tensor, torch.Tensor]` with"
            elif param.node.default is not None and is_none(param.node.default):
                why = "its default is None, and the engine does not write the `Optional[...]` TorchScript then needs"
            else:
                continue
            ctx.find(
                "G2L100", param.node,
                f"`{param.name}` of `{function.display_name}()` would hold (h, c) in a function TorchScript compiles ({_how(how)}), "
                f"which needs it annotated `Tuple[Tensor, Tensor]`, and {why}; add the annotation by hand",
            )
        reported = set()
        for binding in ctx.flow.bindings:
            function = binding.function
            if function is None or function.key not in compiled or binding.target in reported:
                continue
            mistyped = _mistyped(ctx, binding)
            if mistyped is None or ctx.is_rewritten(binding.value.node):
                continue
            reported.add(binding.target)
            node = binding.target_node if binding.target_node is not None else binding.statement
            ctx.find(
                "G2L100", node,
                f"`{ctx.code(node)}` {mistyped.what} in `{function.display_name}()`, which TorchScript compiles ({_how(compiled[function.key])}) "
                f"and where a list or dict holds values of one type, the type of what it is first given, which the engine does not write here; "
                f"{mistyped.remedy}, or migrate this function by hand",
            )


class TorchScriptLists(Rule):
    step = "annotations"
    uses = ("compiled",)
    summary = (
        "in a function compiled by TorchScript, a list that gets pairs is made as one: "
        "`[]` -> `torch.jit.annotate(list[tuple[torch.Tensor, torch.Tensor]], [])`, `[E] * T` -> `[(E, E)] * T`"
    )
    valid = (
        Valid(
            """
            class Core(torch.jit.ScriptModule):
                def __init__(self):
                    super().__init__()
                    self.cell = nn.GRUCell(4, 8)

                @torch.jit.script_method
                def forward(self, xs, h):
                    hs = []
                    for x in xs:
                        h = self.cell(x, h)
                        hs.append(h)
                    return torch.stack(hs)
            """,
            """
            class Core(torch.jit.ScriptModule):
                def __init__(self):
                    super().__init__()
                    self.cell = nn.LSTMCell(4, 8)

                @torch.jit.script_method
                def forward(self, xs, h: tuple[torch.Tensor, torch.Tensor]):
                    hs = torch.jit.annotate(list[tuple[torch.Tensor, torch.Tensor]], [])
                    for x in xs:
                        h = self.cell(x, h)
                        hs.append(h)
                    return (torch.stack([hc[0] for hc in hs]), torch.stack([hc[1] for hc in hs]))
            """,
        ),
    )

    def apply(self, ctx, use) -> None:
        compiled = compiled_functions(ctx)
        if not compiled:
            return
        for binding in ctx.flow.bindings:
            function = binding.function
            if function is None or function.key not in compiled or _mistyped(ctx, binding) is not HOLDS_PAIRS:
                continue
            node = binding.value.node
            made = _list_of_pairs(ctx, node, ctx.torch_names[function.module])
            if made is not None and ctx.claim(node):
                ctx.edit_expression(node, made)
                ctx.step("annotations", node)


def _list_of_pairs(ctx, node: cst.CSTNode, torch_name: Optional[str]):
    """The edit that makes `node` a list TorchScript types as a list of pairs, or None: `[]`
    annotated, `[E] * T` with `(E, E)` for its one item (a placeholder until the pairs come)."""
    if torch_name is None:
        return None
    if isinstance(node, cst.List) and not node.elements:
        pair = f"tuple[{torch_name}.Tensor, {torch_name}.Tensor]"
        return lambda updated, mapping: cst.parse_expression(f"{torch_name}.jit.annotate(list[{pair}], [])")
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        if isinstance(node.left, cst.List) and len(node.left.elements) == 1 and not isinstance(node.left.elements[0], cst.StarredElement):
            def twin(updated, mapping):
                item = updated.left.elements[0]
                pair = cst.Tuple(twin_items(cst.Element(item.value), cst.Element(item.value)))
                return updated.with_changes(left=updated.left.with_changes(elements=[item.with_changes(value=pair)]))

            return twin
    return None


class Mistyped(NamedTuple):
    """A container TorchScript would type wrongly for the pair: what it is, and what to do."""

    what: str
    remedy: str


HOLDS_PAIRS = Mistyped("is a list or dict that would get (h, c) as its items", "use `[]` or `[torch.empty(0)] * T` to make it, which the engine types")
MIXES_PAIRS = Mistyped("is a list that would mix (h, c) with Tensors", "keep the pair apart from the Tensors (a tuple types each position apart)")
KEYS_PAIRS = Mistyped("is a dict that would hold (h, c) under a key", "keep the pairs in a list of their own, made as `[]`")


def _mistyped(ctx, binding) -> Optional[Mistyped]:
    """How TorchScript would type the container `binding` makes wrongly for the pair: one that is
    not a state and gets pairs as items (by any key), or a list display that mixes pairs with Tensors."""
    solution = ctx.solution
    if binding.kind != BindingKind.ASSIGN or solution.is_state(binding.target):
        return None  # made elsewhere; a stacked state (rows of pairs), not a container
    element = solution.classes.part(binding.target, ELEM)
    if element is not None and solution.is_state(element):
        return HOLDS_PAIRS
    parts = solution.classes.parts.get(solution.classes.find(binding.target), {})
    if any(label.kind == LabelKind.KEY and solution.is_state(part) for label, part in parts.items()):
        return KEYS_PAIRS
    node = getattr(binding.value, "node", None)
    if not isinstance(node, cst.List):
        return None  # a tuple types each position apart
    items = [solution.classes.part(binding.target, PosLabel.of(position)) for position in range(len(node.elements))]
    if {item is not None and solution.is_state(item) for item in items} == {True, False}:
        return MIXES_PAIRS
    return None


def _how(how: str) -> str:
    """How a function comes to be compiled, as a finding says it: the decorator, or a phrase."""
    return how if " " in how else f"`@{how}`"
