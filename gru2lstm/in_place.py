"""What a call changes in place, beside a method ending in `_` (the tensor it is called on): the
arguments a torch or numpy function changes (vocab.CHANGED_*: its first when its name ends in `_`
or it is given `inplace=True`, the one given as `out=`), and whose storage a changed view is
(`row` of `row.data.zero_()`, `row[:, 0] = 0`, `row.detach().mul_(m)`)."""

from __future__ import annotations

import libcst as cst

from gru2lstm.vocab import (
    CHANGED_FIRST_ARGUMENT, CHANGED_OUT_ARGUMENT, IN_PLACE_FLAG, IN_PLACE_SUFFIX, KEEP_ATTRIBUTES, TENSOR_LIBRARY_PREFIXES,
    VIEW_METHODS,
)


def changed_arguments(call: cst.Call, qualified: set) -> list:
    """The argument expressions the library function `call` (of the qualified names `qualified`)
    changes in place; empty for a call that changes none, or of no tensor library."""
    if not any(name.startswith(TENSOR_LIBRARY_PREFIXES) for name in qualified):
        return []
    changed = [CHANGED_OUT_ARGUMENT]
    if any(name.endswith(IN_PLACE_SUFFIX) for name in qualified) or _flagged(call):
        changed.append(CHANGED_FIRST_ARGUMENT)
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    found = []
    for position, keywords in changed:
        found += [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value in keywords]
        if position is not None and position < len(positional):
            found.append(positional[position].value)
    return found


def _flagged(call: cst.Call) -> bool:
    """Is the call given the in-place flag (`inplace=True`, or a value that may be true)?"""
    return any(
        arg.keyword is not None and arg.keyword.value == IN_PLACE_FLAG
        and not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
        for arg in call.args
    )


def changed_storage(node: cst.BaseExpression) -> cst.BaseExpression:
    """The expression whose storage an in-place change of `node` changes: `row` of `row[:, 0]`,
    `row.data`, `row.detach()`, `row.view(-1)`."""
    while True:
        if isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Attribute) and node.attr.value in KEEP_ATTRIBUTES:
            node = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in VIEW_METHODS:
            node = node.func.value
        else:
            return node
