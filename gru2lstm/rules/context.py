"""The bookkeeping every rule shares: where a node is, which step touched which line, findings,
edits of expressions, partner names, and the one choice of form (tuple or packed) the rules read.

The rules themselves live in the other modules of this package; this class holds no rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional

import libcst as cst
import libcst.metadata as meta

from gru2lstm.apply import Plan
from gru2lstm.findings import new_finding
from gru2lstm.options import Options
from gru2lstm.program import ProgramFlow, Use, from_where
from gru2lstm.solve import Solution
from gru2lstm.syntax import is_line
from gru2lstm.values import Derivation, LabelKind, Slot, SlotKind, VSlot
from gru2lstm.rules.edits import torch_name, tuple_spelling
from gru2lstm.rules.packed_dims import state_chains


@dataclass
class ModuleOutcome:
    """What the plan does to one module of the program."""

    steps: dict = field(default_factory=dict)  # step -> set of lines
    findings: list = field(default_factory=list)
    sites: set = field(default_factory=set)  # lines where a state is used
    reached: set = field(default_factory=set)  # files not migrated with it that a finding's flow goes to
    interface: list = field(default_factory=list)  # InterfaceChanges of its functions
    members: list = field(default_factory=list)  # ChangedMembers: attributes that hold or size the state
    uncalled: list = field(default_factory=list)  # UncalledModules: GRUs whose calls are in files not analysed


@dataclass
class Planned:
    plan: Plan  # one plan for every module: its edits are keyed by original nodes
    modules: dict = field(default_factory=dict)  # module key -> ModuleOutcome


class PlanContext:
    """One run of the rules over a program: what they read and where they write."""

    def __init__(self, wrappers: dict, flow: ProgramFlow, solution: Solution, options: Options):
        """`wrappers`: module key -> the ParsedModule of that module, as the flow walked it."""
        self.flow = flow
        self.solution = solution
        self.options = options
        self.wrappers = wrappers  # their positions are computed on the first line asked of each
        self.parents: dict = {}
        for wrapper in wrappers.values():
            self.parents.update(wrapper.resolve(meta.ParentNodeProvider))
        self.modules = {key: wrapper.module for key, wrapper in wrappers.items()}
        self.module_keys = {id(module): key for key, module in self.modules.items()}
        self.result = Planned(Plan(), {key: ModuleOutcome() for key in wrappers})
        self.plan = self.result.plan
        self._rewritten: set = set()  # ids of the nodes a rule already rewrote (see claim)
        self._spelled: dict = {}  # (module key, pattern) -> what spells() said
        self.partners: dict = {}  # (function key, split name) -> partner name
        self.doubled_sizes: set = set()  # the code of each size the packed form doubled (`8`, `hidden_size`)
        # The one choice of form: every rule reads this flag, the registry is chosen by it.
        self.packed = (solution.form if options.state == "auto" else options.state) == "packed"
        self.dispatch = None  # set by the engine: dispatch(kind, use) runs the first rule that handles it

    def spells(self, key: str, pattern: str) -> bool:
        """Does the source of module `key` match the regular expression `pattern`? A cheap test
        before a walk of the whole tree (True when the source is not known)."""
        if (key, pattern) not in self._spelled:
            source = self.wrappers[key].source
            self._spelled[key, pattern] = source is None or re.search(pattern, source) is not None
        return self._spelled[key, pattern]

    # ----------------------------------------------------------------- where a node is
    def key_of(self, node: cst.CSTNode) -> str:
        """The key of the module an original node belongs to."""
        current = node
        while type(current) is not cst.Module:  # children.py: why `type`
            current = self.parents[current]
        return self.module_keys[id(current)]

    def module_of(self, node: cst.CSTNode) -> cst.Module:
        return self.modules[self.key_of(node)]

    def outcome(self, node: cst.CSTNode) -> ModuleOutcome:
        return self.result.modules[self.key_of(node)]

    def positions(self, node: cst.CSTNode):
        """The Positions of the module an original node belongs to."""
        return self.wrappers[self.key_of(node)].positions

    def line(self, node: cst.CSTNode) -> int:
        return self.positions(node)[node].start.line

    def column(self, node: cst.CSTNode) -> int:
        return self.positions(node)[node].start.column

    def positioned(self, node: cst.CSTNode) -> cst.CSTNode:
        """The nearest node that has a position (comments themselves have none)."""
        positions = self.positions(node)
        current = node
        while current not in positions:
            current = self.parents[current]
        return current

    def code(self, node: cst.CSTNode) -> str:
        return self.module_of(node).code_for_node(node).strip()

    def unfollowed(self, value) -> str:
        """How a finding ends for a call the engine cannot follow: where it comes from, if known."""
        return from_where(self.flow.origin(value))

    @cached_property
    def tuple_names(self) -> dict:
        """module key -> how that file spells the tuple type (`Tuple` or `tuple`)."""
        return {key: tuple_spelling(module) for key, module in self.modules.items()}

    @cached_property
    def torch_names(self) -> dict:
        """module key -> that file's own name for torch (None without `import torch`)."""
        return {key: torch_name(module) for key, module in self.modules.items()}

    @cached_property
    def state_nodes(self) -> set:
        """The ids of the names and attributes that read or write a hidden state."""
        return {id(node) for slot, node in self.flow.slot_nodes if self.solution.is_state(slot)}

    @cached_property
    def slots_at_nodes(self) -> dict:
        """id of a name or attribute that reads or writes a place -> the slots it reads or writes."""
        found: dict = {}
        for slot, node in self.flow.slot_nodes:
            found.setdefault(id(node), set()).add(slot)
        return found

    @cached_property
    def arithmetic_by_node(self) -> dict:
        """id of an arithmetic's node (`h + x`, `h.add_(x)`, `h *= m`) -> its VArith."""
        return {id(arith.node): arith for arith in self.flow.arithmetic}

    @cached_property
    def values_at_nodes(self) -> dict:
        """id of an expression read as a value or an operand -> that value."""
        found = {id(use.node): use.value for use in self.flow.consumptions}
        found.update((id(operand.node), operand) for arith in self.flow.arithmetic for operand in (arith.left, arith.right))
        return found

    @cached_property
    def augmented(self) -> dict:
        """id of an augmented assignment (`h *= m`) -> the VArith of its target and value."""
        return {id(arith.node): arith for arith in self.flow.arithmetic if isinstance(arith.node, cst.AugAssign)}

    @cached_property
    def values_bound_to(self) -> dict:
        """slot -> the values bound to it, in the order of the walk."""
        bound: dict = {}
        for binding in self.flow.bindings:
            bound.setdefault(binding.target, []).append(binding.value)
        return bound

    @cached_property
    def values_unpacked_into(self) -> dict:
        """slot -> [(value unpacked, position)] (`out, h = self.gru(x, h)`)."""
        unpacked: dict = {}
        for unpacking in self.flow.unpackings:
            for element in unpacking.elements:
                unpacked.setdefault(element.slot, []).append((unpacking.value, element.position))
        return unpacked

    @cached_property
    def calls_by_result(self) -> dict:
        """The result slot of each call of a value -> that call."""
        return {call.result: call for call in self.flow.calls}

    @cached_property
    def pieces_by_node(self) -> dict:
        """id(node) of `h.unbind(1)` and the like -> its pieces."""
        return {id(pieces.node): pieces for pieces in self.flow.pieces}

    @cached_property
    def state_chains(self):
        """What the values that stay a state are made of (packed form; rules/packed_dims.py)."""
        return state_chains(self)

    @cached_property
    def measured_nodes(self) -> set:
        """The ids of the expressions that read a value's sizes or features (`h.size(1)`,
        `zeros_like(h)`, `h[-1]`, an operand made from sizes: `h.index_select(1, arange(h.size(1)))`):
        of a state, they read `h` (features.py), never the pair."""
        return {
            id(use.node) for use in self.flow.consumptions
            if use.context in (Use.READ, Use.SIZE, Use.INDEX, Use.SHAPED)
            or use.context == Use.OPERAND and self.solution.resolutions.chain_kind(use.value) == Derivation.READ
        }

    # ----------------------------------------------------------------- what was done
    def site(self, node: cst.CSTNode) -> None:
        """A line where a state is used (for the coverage counts)."""
        self.outcome(node).sites.add(self.line(node))

    def step(self, name: str, node: cst.CSTNode) -> None:
        """Record that `name` touched `node` (every line the node spans)."""
        span = self.positions(node)[node]
        self.outcome(node).steps.setdefault(name, set()).update(range(span.start.line, span.end.line + 1))
        self.touch(node)

    def touch(self, node: cst.CSTNode) -> None:
        current = node
        while current is not None:
            if type(current) is cst.FunctionDef or type(current) is cst.ClassDef or type(current) is cst.Module:  # children.py
                self.plan.prose_scopes.add(id(current))
            current = self.parents.get(current)

    def find(self, code: str, node: cst.CSTNode, message: str, place: Optional[str] = None, mark: bool = True, once: bool = False) -> None:
        """Report at `node`; `place`: the file not migrated with this one that the flow goes to;
        `mark`: with --allow-partial, say so in a comment on that line; `once`: not again when the
        same finding is there already (one cause that several uses reach)."""
        finding = new_finding(code, message, self.line(node), self.column(node) + 1)
        if once and finding in self.outcome(node).findings:
            return
        self.outcome(node).findings.append(finding)
        if place is not None:
            self.outcome(node).reached.add(place)
        if finding.blocks_write and mark:
            self.mark_manual(node, code)

    def mark_manual(self, node: cst.CSTNode, code: str) -> None:
        """With --allow-partial, the statement a finding sits in says so in a comment."""
        current = node
        while current is not None and not is_line(current):
            current = self.parents.get(current)
        if current is not None:
            self.plan.manual.setdefault(current, []).append(code)

    def edit_expression(self, node: cst.CSTNode, edit) -> None:
        if node in self.plan.expressions:
            previous = self.plan.expressions[node]
            self.plan.expressions[node] = lambda updated, mapping: edit(previous(updated, mapping), mapping)
        else:
            self.plan.expressions[node] = edit

    def claim(self, node: cst.CSTNode) -> bool:
        """Take `node` for a rewrite: False when a rule took it already. A node that several uses
        reach (a value bound and passed on) is rewritten once, by the first rule that reaches it."""
        if id(node) in self._rewritten:
            return False
        self._rewritten.add(id(node))
        return True

    def is_rewritten(self, node: cst.CSTNode) -> bool:
        return id(node) in self._rewritten

    # ----------------------------------------------------------------- names of split states
    def partner_of(self, slot) -> str:
        return self.partners[self.solution.def_name(slot)]

    def is_split_return(self, target: Slot) -> bool:
        return (
            target.kind == SlotKind.CHILD
            and target.base.kind == SlotKind.RETURN
            and target.label.kind == LabelKind.POS
            and (target.base.function, target.label.position) in self.solution.split_returns
        )

    @cached_property
    def grown_elements(self) -> list:
        """(unpacking, element node, slot) of each element that receives a position of a return
        that grows by a partner (`a, h, b = f()` with h split in f)."""
        found = []
        for unpacking in self.flow.unpackings:
            value = self.solution.resolved(unpacking.value)
            if isinstance(value, VSlot) and value.slot.kind == SlotKind.RETURN:
                found += [
                    (unpacking, node, slot)
                    for position, node, slot in unpacking.elements
                    if (value.slot.function, position) in self.solution.split_returns
                ]
        return found
