"""Annotations: the annotation `A` of anything that holds a pair becomes `Tuple[A, A]` inside
whatever wraps it (`Optional[...]`, `NotRequired[...]`, `... | None`); a container of pairs gets `list[Tuple[A, A]]`;
a return that grows repeats the element of the batched state; `Tuple` joins the typing import."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.syntax import is_none
from gru2lstm.values import ELEM, PosLabel, SlotKind
from gru2lstm.vocab import ANNOTATION_WRAPPERS
from gru2lstm.rules.base import Rule, Valid
from gru2lstm.rules.edits import twin_items


def _optional_inner(expression: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    if isinstance(expression, cst.Subscript) and len(expression.slice) == 1:
        name = expression.value
        if (isinstance(name, cst.Name) and name.value in ANNOTATION_WRAPPERS) or (
            isinstance(name, cst.Attribute) and name.attr.value in ANNOTATION_WRAPPERS
        ):
            return expression.slice[0].slice.value
    if isinstance(expression, cst.Subscript) and len(expression.slice) == 2:
        name = expression.value
        if isinstance(name, (cst.Name, cst.Attribute)) and (name.value if isinstance(name, cst.Name) else name.attr.value) == "Union":
            values = [e.slice.value for e in expression.slice]
            others = [v for v in values if not is_none(v)]
            if len(others) == 1:
                return others[0]
    if isinstance(expression, cst.BinaryOperation) and isinstance(expression.operator, cst.BitOr):
        for side, other in ((expression.left, expression.right), (expression.right, expression.left)):
            if is_none(other):
                return side
    return None


def _tuple_annotation_elements(expression: cst.BaseExpression):
    if isinstance(expression, cst.Subscript):
        name = expression.value
        value = name.value if isinstance(name, cst.Name) else name.attr.value if isinstance(name, cst.Attribute) else None
        if value in ("Tuple", "tuple"):
            return list(expression.slice)
    return None


def _pair_annotation(ctx, expression: cst.BaseExpression) -> None:
    inner = _optional_inner(expression)
    target = inner if inner is not None else expression
    if not ctx.claim(target):
        return
    tuple_name = ctx.tuple_names[ctx.key_of(target)]

    def edit(updated, mapping):
        element = cst.SubscriptElement(cst.Index(updated), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return cst.Subscript(cst.Name(tuple_name), [element, cst.SubscriptElement(cst.Index(updated))])

    ctx.edit_expression(target, edit)
    ctx.step("annotations", target)


def _element_annotation(ctx, expression: cst.BaseExpression) -> None:
    """`list[Tensor]` of stored states -> `list[tuple[Tensor, Tensor]]` (dicts: their values)."""
    inner = _optional_inner(expression)
    expression = inner if inner is not None else expression
    if isinstance(expression, cst.Subscript) and expression.slice:
        last = expression.slice[-1].slice
        if isinstance(last, cst.Index):
            _pair_annotation(ctx, last.value)


def _insert_after_annotation(ctx, expression: cst.Subscript, element: cst.SubscriptElement) -> None:
    def edit(updated, mapping):
        elements = list(updated.slice)
        target = mapping(element)
        for position, item in enumerate(elements):
            if item is target:
                elements[position : position + 1] = twin_items(item, item)
                break
        return updated.with_changes(slice=elements)

    ctx.edit_expression(expression, edit)
    ctx.step("annotations", element)


def _tuple_annotation(ctx, slot, expression: cst.BaseExpression) -> None:
    """`Tuple[A, Tensor, B]` of a value whose position 1 holds a state (a return, a pending tuple)."""
    inner = _optional_inner(expression)
    subscript = inner if inner is not None else expression
    elements = _tuple_annotation_elements(subscript)
    if elements is None:
        return
    for position, element in enumerate(elements):
        part = ctx.solution.classes.part(slot, PosLabel.of(position))
        if slot.kind == SlotKind.RETURN and (slot.function, position) in ctx.solution.split_returns:
            _insert_after_annotation(ctx, subscript, element)
        elif part is not None and ctx.solution.is_state(part):
            _pair_annotation(ctx, element.slice.value)


class Annotations(Rule):
    step = "annotations"
    uses = ("annotation",)
    summary = "the annotation `A` of what holds a pair becomes `Tuple[A, A]`; of a container of pairs, `list[Tuple[A, A]]`"
    valid = (
        Valid(
            """
            from typing import Optional


            class M(nn.Module):
                def __init__(self):
                    self.core = nn.GRU(4, 8)
                    self.hidden: Optional[torch.Tensor] = None

                def act(self, x):
                    out, self.hidden = self.core(x, self.hidden)
                    return out
            """,
            """
            from typing import Optional, Tuple


            class M(nn.Module):
                def __init__(self):
                    self.core = nn.LSTM(4, 8)
                    self.hidden: Optional[Tuple[torch.Tensor, torch.Tensor]] = None

                def act(self, x):
                    out, self.hidden = self.core(x, self.hidden)
                    return out
            """,
        ),
    )

    def apply(self, ctx, use) -> None:
        for slot, annotation, _ in ctx.flow.annotations:
            expression = annotation.annotation
            if ctx.solution.is_state(slot):
                if not ctx.solution.is_split(slot):
                    _pair_annotation(ctx, expression)
                continue
            element = ctx.solution.classes.part(slot, ELEM)
            if element is not None and ctx.solution.is_state(element):
                _element_annotation(ctx, expression)
            else:
                _tuple_annotation(ctx, slot, expression)


def _ensure_tuple_import(ctx, module: cst.Module) -> None:
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and ctx.code(small.module or cst.Name("")) == "typing" and not isinstance(small.names, cst.ImportStar):
                names = [a.name.value for a in small.names if isinstance(a.name, cst.Name)]
                if "Tuple" in names:
                    return

                def edit(updated, mapping):
                    aliases = list(updated.names)
                    last = aliases[-1]
                    aliases[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                    aliases.append(cst.ImportAlias(cst.Name("Tuple"), comma=last.comma))
                    return updated.with_changes(names=aliases)

                ctx.edit_expression(small, edit)
                ctx.step("annotations", small)
                return


class TupleImport(Rule):
    step = "annotations"
    uses = ("import",)
    summary = "a file that spells `Tuple` from typing imports it when an annotation needs it"

    def apply(self, ctx, use) -> None:
        if not (ctx.plan.expressions or ctx.plan.statements):
            return
        for key, module in ctx.modules.items():
            if ctx.tuple_names[key] == "Tuple" and "annotations" in ctx.result.modules[key].steps:
                _ensure_tuple_import(ctx, module)
