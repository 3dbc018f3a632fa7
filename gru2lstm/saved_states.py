"""States in files: what `torch.save` / `pickle.dump` write and `torch.load` / `pickle.load` read
back (vocab.SAVERS, vocab.LOADERS), each held by calls.py in a place of its own (a FILE slot).

A load of a state is followed when the analysed code saves a state at the same place (the whole
object, a key, a position): the migrated program writes the pair it reads. Any other load may read
a file of the GRU program or of other code, which holds one tensor; any other save hands the pair
to code the engine cannot see. Both are crossings (G2L101) at the call (docs/rules.md, "States in
files").
"""

from __future__ import annotations

from gru2lstm.boundary import Crossing
from gru2lstm.program import ProgramFlow
from gru2lstm.solve import Solution
from gru2lstm.syntax import code_of
from gru2lstm.values import LabelKind


def file_crossings(flow: ProgramFlow, solution: Solution) -> list:
    """A state read back from a file is followed when the analysed code saves a state at the same
    place in what it writes (the whole object, the same key or position): the migrated program
    then writes the pair it reads. Any other load of a state may read a file written before the
    migration, or by other code, which holds the GRU's one tensor; and a save of a state that
    nothing analysed reads back hands the pair to code the engine cannot see."""
    saved, loaded = _state_places(flow, solution, True), _state_places(flow, solution, False)
    written = {place for places in saved.values() for place in places}
    read = {place for places in loaded.values() for place in places}
    found = []
    for access, places in list(loaded.items()) + list(saved.items()):
        missing = [place for place in places if place not in (read if access.saves else written)]
        if not missing:
            continue
        code, where = code_of(access.node), _file_place(missing[0])
        if access.saves:
            message = (
                f"`{code}` writes the hidden state{where}, and nothing analysed reads it back from there; code "
                "elsewhere that loads it would get (h, c) where it took one tensor; give the code that loads it in the "
                "same run, or save only `h` (the state's first half) if that code must stay as it is"
            )
        else:
            message = (
                f"the hidden state is read back{where} from what `{code}` loads, and nothing analysed saves a hidden "
                "state there; a file written before the migration, or by other code, holds the GRU's one tensor, which "
                "the LSTM cannot take; give the code that saves it in the same run, or start from a fresh state after "
                "loading"
            )
        found.append(Crossing(access.node, message))
    return found


def _state_places(flow: ProgramFlow, solution: Solution, saves: bool) -> dict:
    """FileAccess -> the places in what it writes or reads that hold a state: () for the whole
    object, else the labels down to it (`{"hidden": h}` -> (key "hidden",))."""
    return {
        access: places for access in flow.files if access.saves == saves
        for places in [_places_of_states(solution, access.slot, ())] if places
    }


def _places_of_states(solution: Solution, slot, path: tuple, depth: int = 3) -> set:
    if solution.is_state(slot):
        return {path}
    if depth == 0 or slot not in solution.classes.parent:
        return set()
    parts = solution.classes.parts.get(solution.classes.find(slot), {})
    return {place for label, part in parts.items() for place in _places_of_states(solution, part, path + (label,), depth - 1)}


def _file_place(path: tuple) -> str:
    """(key "hidden",) -> " under the key 'hidden'"; () -> ""."""
    if not path:
        return ""
    label = path[-1]
    if label.kind == LabelKind.KEY:
        return f" under the key {label.key!r}"
    if label.kind == LabelKind.POS:
        return f" at position {label.position}"
    return f" in `.{label.name}`" if label.kind == LabelKind.ATTR else " in an element"
