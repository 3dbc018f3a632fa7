"""`torch.einsum(equation, *operands)` written with a literal equation: the operand it computes
along every dimension but the last, whose last letter is that of the result and of no other
operand (`einsum("lbh,bc->lch", h, mixing)` mixes environments): each column of it is computed
on its own, so a state there stays a state, per half (tuple) or on the whole packed tensor."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.syntax import constant_string


def carried_operand(call: cst.Call) -> Optional[cst.Arg]:
    """The argument of an einsum call that keeps its last dimension as the result's last, acted
    on column by column; None when the equation is not a literal of one such operand."""
    if any(arg.star or arg.keyword is not None for arg in call.args) or not call.args:
        return None
    equation = constant_string(call.args[0].value)
    if equation is None or "." in equation or equation.count("->") != 1:
        return None
    inputs, output = equation.replace(" ", "").split("->")
    subscripts = inputs.split(",")
    operands = call.args[1:]
    if len(subscripts) != len(operands) or not output:
        return None
    last = output[-1]
    holders = [position for position, letters in enumerate(subscripts) if last in letters]
    if len(holders) != 1 or output.count(last) != 1:
        return None
    letters = subscripts[holders[0]]
    if not letters or letters[-1] != last or letters.count(last) != 1:
        return None
    return operands[holders[0]]
