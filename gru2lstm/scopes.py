"""The walk's scope: which definitions each local name has at this point of the walk, what a
dotted name resolves to (a local value, the program's class or function, a library), and the
recording of bindings and consumptions into the program's flow.

Local names are flow-sensitive: each assignment is its own definition (a DefSlot),
and the environment maps a name to the set of definitions that may reach here (joined at
branches and loops; `_quietly` runs a walk for its effect on the environment only).
So are the module-level names of a script that only its top-level statements use
(`script_names`): `rows = []` … `rows = tuple(zip(*rows))` are two values there. A module-level
name that a function, a class, a lambda or another module of the program sees stays one
GlobalSlot, holding every value it is ever given.

The environment also knows how long a list a local name holds is, when the name was given a list
literal (`hidden = [belief, mean]`): `hidden += [std]`, `.extend([std])` and `.append(std)` then
put `std` at its position, so a caller that unpacks the list keeps each item apart (sequences.py).
The length is kept under a ListLength key beside the name's definitions, so branches and loops
merge it the same way: a name that may hold lists of two lengths, or something else, has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst

from gru2lstm.definitions import ModuleIndex
from gru2lstm.program import Binding, BindingKind, Consumption, Def, FunctionInfo, ProgramFlow, Use
from gru2lstm.project import ModuleSource
from gru2lstm.qualnames import LOCAL, dotted, qualify
from gru2lstm.sequences import is_literal_list
from gru2lstm.syntax import attribute_root
from gru2lstm.values import ELEM, ChildSlot, DefSlot, GlobalSlot, PosLabel, Slot, SlotKind, Value, VChoice, VContainer, VNone, VOpaque, VSlot, VTuple


@dataclass(frozen=True)
class ListLength:
    """The environment's key for the lengths of the list literal a name holds (None: not one)."""

    name: str


class Scope(ModuleIndex):
    """The state a walk of one module carries: the function, its environment, the statement."""

    def __init__(self, flow: ProgramFlow, key: str, module: cst.Module, parents: dict, source: Optional[ModuleSource] = None) -> None:
        super().__init__(flow, key, module, parents, source)
        self.local_imports: dict = {}  # name -> target, for imports inside the current function
        self.recording = True
        self.function: Optional[FunctionInfo] = None
        self.env: dict = {}  # local name -> frozenset of def ids
        self.comprehensions = 0  # depth of comprehensions being walked: their names are local even at module level
        self.statement: Optional[cst.CSTNode] = None
        self.def_annotations = flow.def_annotations
        self.opaque_defs: set = set()  # def ids assigned a value from outside the program
        self.script_names: frozenset = frozenset()  # module-level names read flow-sensitively (set by the walk)
        self.declared_globals: frozenset = frozenset()  # the names the current function declares `global`

    def script_names_of_module(self) -> frozenset:
        """The names assigned at module level that only module-level statements use: no function,
        class or lambda mentions them, no other module of the program imports them (or the
        module itself), and they are not the module's classes, functions, imports or followed registries."""
        assigned = self.module_names - set(self.flow.module_imports[self.key])
        shared = set()
        for module, imports in self.flow.module_imports.items():
            for member in imports.values():
                if module != self.key and member.key == self.key:
                    if member.name is None:
                        return frozenset()  # `import main`: any name may be read as `main.name`
                    shared.add(member.name)
        # a followed registry is one value, looked up where its lookups are called (calls.py)
        shared.update(slot.name for slot, registry in self.flow.registries.by_slot.items() if slot.module == self.key and registry.followed)
        for node in self.parents:
            kind = type(node)  # children.py: why `type`
            if kind is cst.FunctionDef or kind is cst.ClassDef:
                shared.add(node.name.value)
            elif kind is cst.Name and node.value in assigned and node.value not in shared and self._in_nested_scope(node):
                shared.add(node.value)
        return frozenset(assigned - shared)

    def _in_nested_scope(self, node: cst.CSTNode) -> bool:
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return True
            current = self.parents.get(current)
        return False

    def resolve(self, node: cst.CSTNode):
        """What a name or dotted name is in the program, unless a local shadows its first name."""
        root = attribute_root(node)
        if isinstance(root, cst.Name) and (self._is_local(root.value) or root.value in self.local_imports):
            return None
        return super().resolve(node)

    def _is_local(self, name: str) -> bool:
        """A name of a local value: a definition in the current function, or its self."""
        return name in self.env or (self.function is not None and name == self.function.self_name)

    def _is_local_chain(self, node: cst.Attribute) -> bool:
        """`self.x.y` or `h.device`: an attribute chain rooted in a local value, not a module path."""
        root = attribute_root(node)
        return not isinstance(root, cst.Name) or self._is_local(root.value)

    def _new_def(self, name: str, node: cst.CSTNode, is_param: bool = False) -> Slot:
        at_top = self.function is None and name not in self.script_names
        if not self.comprehensions and (at_top or name in self.declared_globals):  # `global hidden` in a function
            slot = GlobalSlot.of(self.key, name)
            if self.recording:
                self.flow.slot_nodes.append((slot, node))  # renamed with its reads
            return slot
        self.flow.defs[id(node)] = Def(name, self.function, node, is_param)
        self.flow.def_order.setdefault(id(node), len(self.flow.def_order))
        self.env[name] = frozenset({id(node)})
        self.env[ListLength(name)] = frozenset({None})  # until note_list_length knows better
        slot = DefSlot.of(id(node))
        if self.recording:
            self.flow.slot_nodes.append((slot, node))
        return slot

    def note_list_length(self, target: cst.CSTNode, value: Value) -> None:
        """After `name = value` (or `a, b = [], []`): a name holds a list of known length when its
        value is a literal list."""
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, VTuple) and len(value.items) == len(target.elements):
            for element, item in zip(target.elements, value.items):
                if not isinstance(element, cst.StarredElement):
                    self.note_list_length(element.value, item)
        elif isinstance(target, cst.Name) and target.value in self.env and isinstance(value, VContainer) and is_literal_list(value):
            self.env[ListLength(target.value)] = frozenset({len(value.items)})

    def list_length(self, node: cst.CSTNode) -> Optional[int]:
        """The length of the list literal the name holds, when it is the same on every path here."""
        lengths = self.env.get(ListLength(node.value), frozenset({None})) if isinstance(node, cst.Name) else frozenset({None})
        return next(iter(lengths)) if len(lengths) == 1 else None

    def holds_list_literal(self, node: cst.CSTNode) -> bool:
        """Does the name hold a list literal on every path here (so items added to it have places)?"""
        return isinstance(node, cst.Name) and None not in self.env.get(ListLength(node.value), frozenset({None}))

    def grow_list(self, node: cst.Name, holder: VSlot, items: list, statement) -> None:
        """`name += [a, b]`, `name.extend([a, b])`, `name.append(a)` on a name that holds a list
        literal (holds_list_literal), read as `holder`: the items go to their positions when the
        list's length is the same on every path, else they are its elements (a sequence)."""
        key = ListLength(node.value)
        lengths = self.env[key]
        if len(lengths) == 1:
            (length,) = lengths
            labels = [PosLabel.of(length + offset) for offset in range(len(items))]
            self.env[key] = frozenset({length + len(items)})
        else:
            labels = [ELEM] * len(items)
        for label, item in zip(labels, items):
            self._bind(ChildSlot.of(holder.slot, label), item, BindingKind.APPEND, statement, None)

    def _merge(self, *envs: dict) -> dict:
        merged: dict = {}
        for env in envs:
            for name, defs in env.items():
                merged[name] = merged.get(name, frozenset()) | defs
        return merged

    def _quietly(self, run) -> dict:
        """Run a walk for its effect on the environment only (the first pass over a loop)."""
        saved_env, saved_recording = dict(self.env), self.recording
        self.recording = False
        run()
        after = self.env
        self.env, self.recording = saved_env, saved_recording
        return after

    def _read_name(self, node: cst.Name) -> Value:
        name = node.value
        if self.function is not None and self.function.self_name == name and name not in self.env:
            return VOpaque(node, "self")
        if name in self.env:
            defs = self.env[name]
            slots = sorted(defs, key=self.flow.def_order.__getitem__)
            slot = DefSlot.of(slots[0])
            value = VSlot(slot, node)
            if self.recording:
                for other in slots:
                    self.flow.slot_nodes.append((DefSlot.of(other), node))
                if len(slots) > 1:
                    # Joined definitions hold the same kind of value: tie them together.
                    for other in slots[1:]:
                        self.flow.bindings.append(
                            Binding(DefSlot.of(other), VSlot(slot, None), BindingKind.JOIN, self.statement, None, self.function)
                        )
            return value
        if name in ("None",):
            return VNone(node)
        if name in self.module_names or name in self.declared_globals:
            member = self.flow.module_imports[self.key].get(name)
            # A name imported from another module of the program is that module's global.
            slot = GlobalSlot.of(member.key, member.name) if member is not None and member.name else GlobalSlot.of(self.key, name)
            value = VSlot(slot, node)
            if self.recording:
                self.flow.slot_nodes.append((slot, node))
            return value
        return VOpaque(node, f"`{name}`")

    def _qualified(self, node: cst.CSTNode) -> set:
        """{qualified name} of a dotted expression (or of a call's callee), unless a local shadows it."""
        if isinstance(node, cst.Call):
            node = node.func
        name = dotted(node)
        if name is None:
            return set()
        root = name.split(".")[0]
        if root in self.local_imports:
            target = self.local_imports[root]
            return {target + name[len(root):]}
        if root in self.env or (self.function is not None and root == self.function.self_name):
            return set()
        qualified = qualify(node, self.imports, self.module_names)
        return {qualified} if qualified is not None else set()

    def _external(self, node: cst.Attribute) -> bool:
        """A dotted path into an imported module (`torch.nn.GRU`), not into a value of this file."""
        return any(not q.startswith(LOCAL) for q in self._qualified(node)) and not self._is_local_chain(node)

    def _foreign(self, node: cst.CSTNode) -> bool:
        """A name known to hold something from outside the program: annotated with an outside
        type (`rng: random.Random`), or only ever assigned what a library returned
        (`dist = Categorical(logits=logits)`)."""
        if not isinstance(node, cst.Name) or node.value not in self.env:
            return False
        if self.env[node.value] <= self.opaque_defs:
            return True
        for def_id in self.env[node.value]:
            annotation = self.def_annotations.get(def_id)
            if annotation is not None:
                name = qualify(annotation, self.imports, self.module_names)
                if name is not None and not name.startswith(LOCAL):
                    return True
        return False

    def _bind(self, slot: Slot, value: Value, kind: BindingKind, statement, target_node) -> None:
        if slot.kind == SlotKind.DEF and isinstance(value, VOpaque):
            self.opaque_defs.add(slot.def_id)
        if isinstance(value, VOpaque) and value.node is not None and id(value.node) in self.flow.outside_calls:
            self.flow.outside_values[slot] = self.flow.outside_calls[id(value.node)]
        if isinstance(value, VSlot) and id(value.node) in self.flow.wrapper_calls:
            self.wrappers.add(slot)  # `net = nn.DataParallel(Policy())`
        if slot.kind == SlotKind.DEF and isinstance(value, VSlot) and value.slot.kind == SlotKind.INSTANCE:
            self.instance_class[slot] = value.slot.owner  # `storage = RolloutStorage(...)`
        if slot.kind == SlotKind.DEF and isinstance(value, VChoice) and isinstance(value.node, cst.Call) and self.flow.registries.lookup(value.node.func):
            # `agent = REGISTRY[name](...)` of a registry of several classes: an instance of any
            owners = tuple(option.slot.owner for option in value.options if isinstance(option, VSlot) and option.slot.kind == SlotKind.INSTANCE)
            if len(owners) == len(value.options):
                self.flow.registries.instances[slot] = owners
        if self.recording:
            self.flow.bindings.append(Binding(slot, value, kind, statement, target_node, self.function))

    def consume(self, value: Value, context: Use, node: cst.CSTNode, why: str = "", place: Optional[str] = None, inside: str = "") -> None:
        if self.recording and not isinstance(value, (VOpaque, VNone)):
            self.flow.consumptions.append(Consumption(value, context, node, why, place, inside))

    def discard(self, value: Value, node: cst.CSTNode) -> None:
        """A value thrown away (an expression statement, `_ = ...`). Each option of a choice is
        thrown away on its own, so an in-place op there acts on each half (`h.fill_(0) if t == 2
        else None`); an operand of `and`/`or` before the last is tested for truth first."""
        if not isinstance(value, VChoice) or not isinstance(value.node, (cst.IfExp, cst.BooleanOperation)):
            self.consume(value, Use.DISCARD, node)
            return
        tested = len(value.options) - 1 if isinstance(value.node, cst.BooleanOperation) else 0
        for position, option in enumerate(value.options):
            where = getattr(option, "node", None) or node
            if position < tested:
                self.consume(option, Use.TEST, where)
            else:
                self.discard(option, where)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()
