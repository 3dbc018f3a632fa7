"""The migrated code read with LSTM semantics: the output check that runs before any write.

An LSTM or LSTMCell takes its state as the pair (h, c) (or, in packed form, a tensor split right
before the call with `.chunk(2, ...)`). This reads the output of a migration, with the stdlib
`ast` only, and names every recurrent call whose state argument is surely one tensor: a creation
(`torch.zeros(...)`), arithmetic (`h * mask`), a tensor method (`h.detach()`), or a local name
that some assignment in the same function gives such a value. Names, attributes, subscripts and
calls of the program's own functions may hold a pair; they pass. It adds what lstm_pairs.py finds
(a place that only ever holds a pair used as one tensor) and what lstm_cell.py finds (the cell
half c reaching a head).

The modules of a group are read together (lstm_sources.py), so a state made in one file and given
to an LSTM in another is seen. It is the migration's equivalent of black's equivalence check:
output_check.py compares what it says of the output with what it says of the input, and refuses to
write a group whose output has a mistake the input did not (exit 123).
"""

from __future__ import annotations

import ast

from gru2lstm.lstm_cell import cells_reaching_heads
from gru2lstm.lstm_pairs import pair_places, pairs_used_as_tensors
from gru2lstm.lstm_sources import Mistake, Sources, attributes_held_otherwise, called_holder, instances_held, lstm_holders, state_argument

__all__ = ["Mistake", "lstm_mistakes"]


def lstm_mistakes(modules) -> list:
    """The mistakes of the modules (one tree, or the trees of a group read together, so a state
    made in one file and given to an LSTM in another is seen), in the order of the code: every
    LSTM call whose state argument is surely not a pair, every place that only holds a pair used
    as one tensor, and every head that may be fed c."""
    trees = [modules] if isinstance(modules, ast.Module) else list(modules)
    holders = {name: kind for tree in trees for name, kind in lstm_holders(tree).items()}
    if not holders:
        return []
    sources = Sources(trees, holders)
    held_otherwise = {key: names for tree in trees for key, names in attributes_held_otherwise(tree).items()}
    instances = instances_held(trees)
    mistakes = []
    for module, scope in sources.scopes:
        for call in sources.nodes[id(scope)]:
            if not isinstance(call, ast.Call) or called_holder(call.func) not in holders or _own_other_module(call, scope, held_otherwise):
                continue
            if isinstance(call.func, ast.Name) and call.func.id in instances[module]:
                continue  # `core(x, h)` of `core = Core()`: that class's forward(), whatever it holds
            state = state_argument(call)
            why = None if state is None else sources.single_tensor(state, scope)
            if why is not None:
                mistakes.append(Mistake(module, call.lineno, ast.unparse(call), why))
    pairs = pair_places(sources, holders)
    mistakes += pairs_used_as_tensors(sources, pairs) + cells_reaching_heads(sources, trees, holders, pairs)
    return sorted(mistakes, key=lambda mistake: (mistake.module, mistake.line))  # the first named is the first met


def _own_other_module(call: ast.Call, scope, held_otherwise: dict) -> bool:
    """Is `call` `self.X(...)` in a method whose class sets `self.X` to something not an LSTM?"""
    func = call.func
    return (
        isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self"
        and func.attr in held_otherwise.get(id(scope), ())
    )
