"""Small syntax helpers the rules share: parentheses, method calls, the twin of a sequence
element, pure operands (safe to evaluate once per half), and how a file spells torch and tuple."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.names import lstm_prose
from gru2lstm.qualnames import module_imports
from gru2lstm.syntax import code_of, walk


def twin_items(item, twin) -> list:
    """An element and its twin after it, laid out as the sequence lays out its elements."""
    if isinstance(item.comma, cst.Comma):
        return [item, twin]  # the same comma (and line break) after each
    return [item.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), twin]


def paren(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def method(node: cst.BaseExpression, name: str, arguments: str) -> cst.BaseExpression:
    if not isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not node.lpar:
        node = paren(node)
    call = cst.parse_expression(f"_.{name}({arguments})")
    return call.with_changes(func=call.func.with_changes(value=node))


def carry_comment(line: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """The partner line keeps the trailing comment (it describes the same shape), in LSTM words."""
    comment = line.trailing_whitespace.comment
    if comment is None:
        return line
    return line.with_changes(trailing_whitespace=line.trailing_whitespace.with_changes(comment=comment.with_changes(value=lstm_prose(comment.value))))


def is_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float))


def is_pure(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Name):
        return True
    if isinstance(node, cst.Attribute):
        return is_pure(node.value)
    if isinstance(node, cst.Subscript):
        return is_pure(node.value) and all(_is_pure_index(e.slice) for e in node.slice)
    return False


_INDEX_ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide, cst.Modulo)


def _is_pure_index(part: cst.BaseSlice) -> bool:
    """An index of names, constants and their arithmetic only (`[i]`, `["key"]`, `[-4:]`,
    `[step + 1]`, `[self.t - 1]`): safe to evaluate twice. A call or a walrus is not."""
    def constant(node):
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            return constant(node.expression)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, _INDEX_ARITHMETIC):
            return constant(node.left) and constant(node.right)
        if isinstance(node, cst.Attribute):
            return constant(node.value)
        return node is None or isinstance(node, (cst.Name, cst.Integer, cst.SimpleString))

    if isinstance(part, cst.Index):
        return constant(part.value)
    return all(constant(bound) for bound in (part.lower, part.upper, part.step))


def torch_name(module: cst.Module) -> Optional[str]:
    """The module's own name for torch: what its module-level imports bind to it (in an `if` or a
    `try` too, or by `torch = importlib.import_module("torch")`); `import torch.nn` binds `torch`."""
    return next((local for local, target in module_imports(module).items() if target == "torch"), None)


def tuple_spelling(module: cst.Module) -> str:
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.ImportFrom) and isinstance(small.module, (cst.Name, cst.Attribute)):
                    if code_of(small.module) == "typing":
                        return "Tuple"
    return "tuple"


def fresh_name(ctx, statement: cst.CSTNode, name: str) -> str:
    """`name`, or `name` with a number after it, that no name of the statement's module spells."""
    module = ctx.module_of(statement)
    taken = {node.value for node in walk(module) if isinstance(node, cst.Name)}
    number = 1
    fresh = name
    while fresh in taken:
        number += 1
        fresh = f"{name}{number}"
    return fresh
