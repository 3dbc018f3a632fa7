"""Classes of slots: a union-find over slots whose classes carry marks (what the solver knows of
them) and parts (their children by label), joined along when classes join (congruence).
"""

from __future__ import annotations

from typing import Optional

from gru2lstm.values import Label, Slot, SlotKind, Word


class Mark(Word):
    """What the solver knows of a class of slots (beside the recurrent kind of a module it holds)."""

    STATE = "state"
    CONTAINER = "container"  # a list or dict
    MODULE = "module"  # a torch module that is not a recurrent one


class Classes:
    """Union-find over slots; a class's parts (children by label) are joined when classes join."""

    def __init__(self) -> None:
        self.parent: dict = {}
        self.parts: dict = {}  # root -> {label: slot}
        self.marks: dict = {}  # root -> set of marks (Mark, or a recurrent kind)

    def find(self, slot: Slot) -> Slot:
        self.add(slot)
        root = slot
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[slot] != root:
            self.parent[slot], slot = root, self.parent[slot]
        return root

    def add(self, slot: Slot) -> None:
        if slot in self.parent:
            return
        self.parent[slot] = slot
        self.parts[slot] = {}
        self.marks[slot] = set()
        if slot.kind == SlotKind.CHILD:
            base, label = slot.base, slot.label
            root = self.find(base)
            existing = self.parts[root].get(label)
            if existing is None:
                self.parts[root][label] = slot
            else:
                self.union(slot, existing)

    def union(self, a: Slot, b: Slot) -> None:
        pending = [(a, b)]
        while pending:
            a, b = pending.pop()
            # Adding a part can itself join classes: add both first, then take their roots.
            self.add(a)
            self.add(b)
            ra, rb = self.find(a), self.find(b)
            if ra == rb:
                continue
            self.parent[rb] = ra
            self.marks[ra] |= self.marks.pop(rb)
            for label, slot in self.parts.pop(rb).items():
                existing = self.parts[ra].get(label)
                if existing is None:
                    self.parts[ra][label] = slot
                else:
                    pending.append((existing, slot))

    def part(self, slot: Slot, label: Label) -> Optional[Slot]:
        """The part of `slot`'s class under `label`."""
        return self.parts[self.find(slot)].get(label)

    def mark(self, slot: Slot, mark: Mark) -> bool:
        """Mark the class of `slot`; True when that is news. Marks follow classes as they join."""
        marks = self.marks[self.find(slot)]
        if mark in marks:
            return False
        marks.add(mark)
        return True

    def has(self, slot: Slot, mark: Mark) -> bool:
        return mark in self.marks[self.find(slot)]
