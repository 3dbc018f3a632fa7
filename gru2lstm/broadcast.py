"""The arguments of an elementwise library call that broadcast over the tensor it computes from,
beside the operands it joins (vocab.BROADCAST_ARGUMENTS): the weight of `h.lerp(h0, w)`, the
tensors of `torch.addcmul(h, a, b)`. The packed form checks their width (rules/packed_arithmetic.py)."""

from __future__ import annotations

import libcst as cst

from gru2lstm.vocab import BROADCAST_ARGUMENTS, TENSOR_LIBRARY_PREFIXES


def broadcast_arguments(call: cst.Call, qualified: set) -> list:
    """The argument expressions of `call` (of the qualified names `qualified`: a torch function,
    else a method of a tensor) that broadcast over the tensor it computes from."""
    if not isinstance(call.func, cst.Attribute) or call.func.attr.value not in BROADCAST_ARGUMENTS:
        return []
    positions, keywords = BROADCAST_ARGUMENTS[call.func.attr.value]
    after = 1 if any(name.startswith(TENSOR_LIBRARY_PREFIXES) for name in qualified) else 0  # a function's first is the tensor
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    found = [positional[after + position].value for position in positions if after + position < len(positional)]
    return found + [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value in keywords]
