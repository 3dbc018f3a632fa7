"""Turn the solved flow into edits, one rule per kind of use (the table of docs/rules.md).

Each rule records the step it belongs to and the line it touched; a use no rule covers becomes
a finding instead of an edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Optional

import libcst as cst
import libcst.metadata as meta

from gru2lstm.apply import Plan, index, pair, replace_inside, replace_many
from gru2lstm.boundary import crossings, describe, interface_changes, takes_state
from gru2lstm.findings import Finding
from gru2lstm.names import lstm_name, lstm_prose, partner_name
from gru2lstm.options import Options
from gru2lstm.program import Binding, ProgramFlow, from_where
from gru2lstm.results import InterfaceChange
from gru2lstm.solve import Solution, chain_kind, recurrent_hidden_argument, resolved
from gru2lstm.syntax import is_none, walk
from gru2lstm.values import (
    Value,
    VCallOf,
    VCat,
    VChoice,
    VContainer,
    VCreate,
    VDerived,
    VNone,
    VSlot,
    VTuple,
    child,
    leaf_of,
)
from gru2lstm.vocab import RECURRENT_NAMES, SIZED_SHAPE_METHODS


@dataclass
class ModuleOutcome:
    """What the plan does to one module of the program."""

    steps: dict = field(default_factory=dict)  # step -> set of lines
    findings: list = field(default_factory=list)
    sites: set = field(default_factory=set)  # lines where a state is used
    reached: set = field(default_factory=set)  # files not migrated with it that a finding's flow goes to
    interface: list = field(default_factory=list)  # InterfaceChanges of its functions


@dataclass
class Planned:
    plan: Plan  # one plan for every module: its edits are keyed by original nodes
    modules: dict = field(default_factory=dict)  # module key -> ModuleOutcome


class Planner:
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
        self.handled: set = set()  # ids of value nodes a rule already rewrote
        self.tuple_names = {key: _tuple_spelling(module) for key, module in self.modules.items()}
        self.partners: dict = {}
        self.form = solution.form if options.state == "auto" else options.state

    # ----------------------------------------------------------------- bookkeeping
    def key_of(self, node: cst.CSTNode) -> str:
        """The key of the module an original node belongs to."""
        current = node
        while not isinstance(current, cst.Module):
            current = self.parents[current]
        return self.module_keys[id(current)]

    def module_of(self, node: cst.CSTNode) -> cst.Module:
        return self.modules[self.key_of(node)]

    def outcome(self, node: cst.CSTNode) -> ModuleOutcome:
        return self.result.modules[self.key_of(node)]

    def site(self, node: cst.CSTNode) -> None:
        """A line where a state is used (for the coverage counts)."""
        self.outcome(node).sites.add(self.line(node))

    def positions(self, node: cst.CSTNode):
        """The Positions of the module an original node belongs to."""
        return self.wrappers[self.key_of(node)].positions

    def line(self, node: cst.CSTNode) -> int:
        return self.positions(node)[node].start.line

    def column(self, node: cst.CSTNode) -> int:
        return self.positions(node)[node].start.column

    def step(self, name: str, node: cst.CSTNode) -> None:
        """Record that `name` touched `node` (every line the node spans)."""
        span = self.positions(node)[node]
        self.outcome(node).steps.setdefault(name, set()).update(range(span.start.line, span.end.line + 1))
        self.touch(node)

    def touch(self, node: cst.CSTNode) -> None:
        current = node
        while current is not None:
            if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Module)):
                self.plan.prose_scopes.add(id(current))
            current = self.parents.get(current)

    def find(self, code: str, node: cst.CSTNode, message: str, place: Optional[str] = None, mark: bool = True) -> None:
        """Report at `node`; `place`: the file not migrated with this one that the flow goes to;
        `mark`: with --allow-partial, say so in a comment on that line."""
        finding = Finding(self.line(node), self.column(node) + 1, code, message)
        self.outcome(node).findings.append(finding)
        if place is not None:
            self.outcome(node).reached.add(place)
        if finding.blocks_write and mark:
            self.mark_manual(node, code)

    def mark_manual(self, node: cst.CSTNode, code: str) -> None:
        """With --allow-partial, the statement a finding sits in says so in a comment."""
        current = node
        while current is not None and not isinstance(current, cst.SimpleStatementLine):
            current = self.parents.get(current)
        if current is not None:
            self.plan.manual.setdefault(current, []).append(code)

    def code(self, node: cst.CSTNode) -> str:
        return self.module_of(node).code_for_node(node).strip()

    def edit_expression(self, node: cst.CSTNode, edit) -> None:
        if node in self.plan.expressions:
            previous = self.plan.expressions[node]
            self.plan.expressions[node] = lambda updated, mapping: edit(previous(updated, mapping), mapping)
        else:
            self.plan.expressions[node] = edit

    # ----------------------------------------------------------------- entry
    def run(self) -> Planned:
        if not self.solution.constructors:
            return self.result
        switches = [ctor for ctor, _, target in self.solution.constructors if self.solution.is_module(target)]
        for ctor in switches:
            self.find(
                "G2L102", ctor.node,
                f"`{self.code(ctor.node)}` is held where another module (an LSTM, an RNN, …) is held too: code that "
                "chooses between them handles both already, so the engine leaves it as it is",
                mark=False,
            )
        if switches:
            return self.result  # not even --allow-partial writes into code that handles both
        self.rename_modules()
        self.boundary()
        if self.form == "packed":
            return self.run_packed()
        self.check_partners()
        for binding in self.flow.bindings:
            self.binding(binding)
        for call in self.flow.calls:
            self.call(call)
        self.returns()
        self.unpackings()
        for consumption in self.flow.consumptions:
            self.consumption(consumption.value, consumption.context, consumption.node, consumption.why, consumption.place)
        self.annotations()
        self.docstrings()
        if self.plan.expressions or self.plan.statements:
            self.ensure_tuple_imports()
        return self.result

    # ----------------------------------------------------------------- the edge of the analysis
    def boundary(self) -> None:
        """Callers the walk cannot see are reported; functions with no caller here are listed."""
        for crossing in crossings(self.flow, self.solution, self.parents):
            self.find("G2L101", crossing.node, crossing.message, crossing.place)
        for change in interface_changes(self.flow, self.solution):
            node = change.function.node.name
            self.outcome(node).interface.append(
                InterfaceChange(self.line(node), self.column(node) + 1, change.name, describe(change.carriers), change.called)
            )
            if self.form == "packed" and not change.called and takes_state(change.carriers):
                # The packed state is one tensor of twice the size, made where it is created: by
                # callers here, whose allocation doubles, or elsewhere, where it would not.
                self.find(
                    "G2L101", node,
                    f"packed form: {describe(change.carriers)} of `{change.name}()` "
                    f"{'receive' if len(change.carriers) > 1 else 'receives'} the hidden state from "
                    "callers that were not analysed, which allocate it with the GRU's size; give them too, or use --state tuple",
                )
            elif not change.called and not _private(change.function.node.name.value):
                self.find(
                    "G2L202", node,
                    f"interface change: {describe(change.carriers)} of `{change.name}()` "
                    f"{'become' if len(change.carriers) > 1 else 'becomes'} "
                    f"{'(h, c) packed in one tensor of twice the size' if self.form == 'packed' else '(h, c)'}; "
                    "no caller was found in the files analysed, so callers elsewhere must pass and take it",
                )

    # ----------------------------------------------------------------- 1, 9: modules
    def rename_modules(self) -> None:
        for node, name in self.flow.references:
            new = RECURRENT_NAMES.get(name)
            if new is None:
                continue
            if isinstance(node, cst.Attribute) and node.attr.value in ("GRU", "GRUCell"):
                self.plan.renames[node.attr] = new
            elif isinstance(node, cst.Name) and node.value in ("GRU", "GRUCell"):
                self.plan.renames[node] = new
            else:
                continue
            parent = self.parents.get(node)
            grand = self.parents.get(parent) if parent is not None else None
            if isinstance(grand, cst.Call) and isinstance(grand.func, cst.Name) and grand.func.value == "isinstance":
                self.step("init", node)
            else:
                self.step("module", node)
        for node in self.parents:
            if isinstance(node, cst.ImportAlias) and isinstance(node.name, cst.Name) and node.name.value in ("GRU", "GRUCell"):
                parent = self.parents.get(node)
                if isinstance(parent, cst.ImportFrom) and self.code(parent.module or cst.Name("")) in ("torch.nn", "torch.nn.modules.rnn"):
                    self.plan.renames[node.name] = {"GRU": "LSTM", "GRUCell": "LSTMCell"}[node.name.value]
                    self.step("module", node)
        if self.options.keep_names:
            return
        for slot, node in self.flow.slot_nodes:
            if self.solution.holder_kind(slot) is None:
                continue
            name_node = node.attr if isinstance(node, cst.Attribute) else node
            if not isinstance(name_node, cst.Name):
                continue
            if slot[0] == "def" and self.flow.defs[slot[1]].is_param:
                continue
            new = lstm_name(name_node.value)
            if new is not None:
                self.plan.renames[name_node] = new
                self.step("module", node)

    # ----------------------------------------------------------------- names
    def check_partners(self) -> None:
        bound: dict = {}
        for definition in self.flow.defs.values():
            if definition.function is not None:
                bound.setdefault(definition.function.key, set()).add(definition.name)
        for (function, name), _ in self.solution.split_names.items():
            partner = partner_name(name)
            if partner in bound.get(function, set()):
                node = next(
                    d.node for d in self.flow.defs.values()
                    if d.function is not None and d.function.key == function and d.name == name
                )
                self.find("G2L103", node, f"`{name}` becomes split into `{name}` and `{partner}`, but `{partner}` is already used here")
            self.partners[(function, name)] = partner

    def partner_of(self, slot) -> str:
        return self.partners[self.solution.def_name(slot)]

    # ----------------------------------------------------------------- halves
    def halves(self, value: Value, statement_node: Optional[cst.CSTNode] = None):
        """Edits making the h-half and the c-half of a state expression, or None with a finding."""
        value = resolved(value)
        leaf = leaf_of(value)
        top = value.node
        if isinstance(leaf, VCreate):
            return (lambda updated, mapping: updated), (lambda updated, mapping: updated)
        if isinstance(leaf, VSlot) and leaf.node is not None:
            leaf_node = leaf.node
            if self.solution.is_split(leaf.slot):
                partner = self.partner_of(leaf.slot)
                return (
                    lambda updated, mapping: updated,
                    lambda updated, mapping: replace_inside(updated, mapping(leaf_node), cst.Name(partner)),
                )
            if not _is_pure(leaf_node):
                self.find("G2L100", leaf_node, f"`{self.code(top)}`: the hidden state would be evaluated twice, once per half; give it a name first")
                return None
            return (
                lambda updated, mapping: replace_inside(updated, mapping(leaf_node), index(mapping(leaf_node), 0)),
                lambda updated, mapping: replace_inside(updated, mapping(leaf_node), index(mapping(leaf_node), 1)),
            )
        self.find("G2L100", top, f"`{self.code(top)}`: the engine cannot split this hidden state into h and c")
        return None

    def pair_expression(self, value: Value, step: str) -> None:
        """Replace a state expression by the tuple of its halves, in place."""
        value = resolved(value)
        top = value.node
        if top is None or id(top) in self.handled:
            return
        leaf = leaf_of(value)
        if isinstance(leaf, VSlot) and leaf.node is not None and leaf.node is not top and not self.solution.is_split(leaf.slot) and not _is_pure(leaf.node):
            self.per_half(top, leaf.node, step)
            return
        halves = self.halves(value)
        if halves is None:
            return
        self.handled.add(id(top))
        make_h, make_c = halves
        self.edit_expression(top, lambda updated, mapping: _paren(pair(make_h(updated, mapping), make_c(updated, mapping))))
        self.step(step, top)

    def per_half(self, top: cst.CSTNode, leaf_node: cst.CSTNode, step: str) -> None:
        """`net.init_hidden().unsqueeze(0).expand(b, n, -1)` -> `tuple(half.unsqueeze(0).expand(b, n, -1)
        for half in net.init_hidden())`: the pair is made once, each half goes through the chain."""
        self.handled.add(id(top))
        used = self.code(top)
        name = next(n for n in ("half", "state_half", "half_") if n not in used)

        def edit(updated, mapping):
            pair_node = mapping(leaf_node)
            chain = replace_inside(updated, pair_node, cst.Name(name))
            return cst.Call(cst.Name("tuple"), [cst.Arg(cst.GeneratorExp(chain, cst.CompFor(target=cst.Name(name), iter=pair_node), lpar=[], rpar=[]))])

        self.edit_expression(top, edit)
        self.step(step, top)

    # ----------------------------------------------------------------- bindings
    def binding(self, binding: Binding) -> None:
        solution = self.solution
        value = resolved(binding.value)
        if binding.kind == "join":
            return
        if isinstance(value, (VTuple, VContainer, VChoice)):
            # `self.pending = (obs, h.detach(), a)`: each part is bound to its part of the target.
            for target, item in _parts(binding.target, value):
                self.binding(replace(binding, target=target, value=item))
            return
        if not solution.is_state(binding.target):
            self.feature_read(value)
            return
        if self.is_split_return(binding.target):
            return  # the return grows by the partner: returns() writes it
        if binding.statement is not None:
            self.site(binding.statement)
        target_split = solution.is_split(binding.target)
        statement = binding.statement
        if isinstance(value, VNone):
            self.step("reset", value.node)
            return
        if isinstance(value, VCallOf) and id(value) in solution.forwarded:
            # `h = m(x, h)` with `m = M()` at module level: what its forward() returns.
            value = VSlot(("ret", solution.forwarded[id(value)].key), value.node)
        if isinstance(value, VCallOf):
            kind = solution.recurrent_calls.get(id(value))
            if kind == "GRUCell" and target_split:
                self.split_target(binding)
                self.step("call", value.node)
            elif kind is None:
                holder = f" held by `{self.code(binding.target_node)}`" if binding.target_node is not None else ""
                self.find(
                    "G2L101", value.node,
                    f"the hidden state{holder} comes from `{self.code(value.node)}`{self.unfollowed(value)}",
                    self.flow.origin(value),
                )
            return
        if isinstance(value, VSlot):
            if value.node is None:
                # A part of an unpacked value. A return that grew is extended by unpackings();
                # a pair unpacked whole (`x, hx = inputs`) lands in a split name as `(hx, cx)`.
                if target_split and not solution.is_split(value.slot) and not any(node is binding.target_node for _, node, _ in self.grown_elements):
                    self.split_target(binding)
                return
            source_split = solution.is_split(value.slot)
            if source_split and target_split:
                self.duplicate_line(binding, value)
            elif source_split:
                self.pair_expression(value, "slicing")
            elif target_split:
                self.split_target(binding)
            elif binding.kind == "assign" and binding.target[0] == "attr":
                self.step("update", statement)
            return
        leaf = leaf_of(value)
        if isinstance(leaf, VCat):
            self.batch(binding, value, leaf)
            return
        if isinstance(leaf, (VSlot, VCreate)) and chain_kind(value) != "read":
            if target_split:
                self.duplicate_line(binding, value)
                return
            if isinstance(leaf, VSlot) and not solution.is_state(leaf.slot) and not isinstance(leaf, VCreate):
                self.cannot_follow(binding, value)
                return
            step = self.landing_step(binding, leaf)
            if isinstance(leaf, VCreate) and value is leaf and self.is_whole_value(binding, value):
                self.creation_statement(binding, value)
            else:
                self.pair_expression(value, step)
            return
        if self.constant_into_part(binding, value):
            return
        self.cannot_follow(binding, value)

    def constant_into_part(self, binding: Binding, value: Value) -> bool:
        """`hidden[:, done, :] = 0`: a reset of some rows, written into each half."""
        target, statement = binding.target_node, binding.statement
        if not (
            isinstance(target, cst.Subscript) and isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Assign) and len(statement.body[0].targets) == 1
            and _is_number(statement.body[0].value) and _is_pure(target.value)
        ):
            return False
        base, slot = target.value, binding.target[1] if binding.target[0] == "child" else None
        if slot is None or self.solution.is_container(slot):
            return False  # a list or dict of states: a number is no pair
        split = self.solution.is_split(slot)
        partner = self.partner_of(slot) if split else None

        def half(position):
            def line(updated_statement, mapping):
                old = mapping(base)
                new = (cst.Name(partner) if position else old) if split else index(old, position)
                return replace_inside(updated_statement, old, new)
            return line

        self.plan.statements[statement] = [half(0), half(1)]
        self.step("reset", statement)
        return True

    def is_split_return(self, target) -> bool:
        return (
            target[0] == "child"
            and target[1][0] == "ret"
            and target[2][0] == "pos"
            and (target[1][1], target[2][1]) in self.solution.split_returns
        )

    def cannot_follow(self, binding: Binding, value: Value) -> None:
        node = getattr(value, "node", None) or binding.target_node or binding.statement
        what = self.code(binding.target_node) if binding.target_node is not None else "a hidden state"
        if isinstance(node, cst.Call):
            place = self.flow.outside_calls.get(id(node))
            self.find("G2L101", node, f"`{what}` holds the hidden state returned by `{self.code(node)}`{from_where(place)}", place)
        else:
            self.find("G2L102", node, f"`{what}` holds the hidden state, but here it receives `{self.code(node)}`, which is not one")

    def unfollowed(self, value: Value) -> str:
        """How a finding ends for a call the engine cannot follow: where it comes from, if known."""
        return from_where(self.flow.origin(value))

    def landing_step(self, binding: Binding, leaf: Value) -> str:
        if isinstance(leaf, VCreate):
            return "creation"
        target = binding.target
        if binding.kind in ("append", "store") or (target[0] == "child" and target[2][0] in ("elem", "key")):
            return "storage"
        if target[0] == "attr":
            return "pending"
        return "halfwise"

    def is_whole_value(self, binding: Binding, value: Value) -> bool:
        statement = binding.statement
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return False
        small = statement.body[0]
        if isinstance(small, (cst.Assign, cst.AnnAssign, cst.Return)):
            return small.value is value.node and (not isinstance(small, cst.Assign) or len(small.targets) == 1)
        return False

    def creation_statement(self, binding: Binding, value: VCreate) -> None:
        """`x = torch.zeros(...)` -> `x = (` / both creations / `)` on lines of their own."""
        create = self.code(value.node)
        if "\n" in create:
            self.pair_expression(value, "creation")
            return
        # Continuation lines inside brackets are indented relative to the enclosing block.
        module = self.module_of(value.node)
        inner = module.default_indent
        newline = module.default_newline
        self.handled.add(id(value.node))

        def edit(updated, mapping):
            code = module.code_for_node(updated).strip()
            return cst.parse_expression(f"({newline}{inner}{code},{newline}{inner}{code},{newline})")

        self.edit_expression(value.node, edit)
        self.step("creation", value.node)

    # ----------------------------------------------------------------- split names
    def split_target(self, binding: Binding) -> None:
        """`T = <pair>` where T is split: `T, T_c = <pair>`."""
        node = binding.target_node
        if not isinstance(node, cst.Name):
            self.find("G2L100", node, "a split hidden state must be assigned to a plain name")
            return
        partner = self.partner_of(binding.target)
        parent = self.parents.get(node)
        in_pattern = isinstance(self.parents.get(parent), (cst.Tuple, cst.List))

        def edit(updated, mapping):
            names = pair(updated, cst.Name(partner))
            return _paren(names) if in_pattern else names

        self.edit_expression(node, edit)

    def duplicate_line(self, binding: Binding, value: Value) -> None:
        """`T = f(S)` with S split: keep it, and add `T_c = f(S_c)` on the next line."""
        statement = binding.statement
        target = binding.target_node
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1 or not isinstance(target, cst.Name):
            self.find("G2L100", value.node or statement, "a split hidden state is derived here in a way the engine cannot write twice")
            return
        halves = self.halves(value)
        if halves is None:
            return
        _, make_c = halves
        partner = self.partner_of(binding.target)
        value_node = resolved(value).node

        def edit(updated_statement, mapping):
            line = replace_many(
                updated_statement,
                {mapping(value_node): make_c(mapping(value_node), mapping), mapping(target): cst.Name(partner)},
            )
            return _carry_comment(line)

        self.plan.after.setdefault(statement, []).append(edit)
        step = "slicing" if self.solution.split_names.get(self.solution.def_name(binding.target)) == "batch" else "call"
        self.step(step, statement)

    def batch(self, binding: Binding, value: Value, cat: VCat) -> None:
        """`T = chain(torch.cat(C, ...))` -> `hs, cs = zip(*C)` + a line for each half."""
        statement = binding.statement
        target = binding.target_node
        if not self.solution.is_split(binding.target) or not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            self.batch_in_place(value, cat, "batch")
            return
        hs, cs = self.zip_names(binding)
        container_node = cat.container_node
        value_node = resolved(value).node
        partner = self.partner_of(binding.target)
        self.plan.before.setdefault(statement, []).append(f"{hs}, {cs} = zip(*{self.code(container_node)})")

        def h_line(updated_statement, mapping):
            return replace_inside(updated_statement, mapping(container_node), cst.Name(hs))

        def c_line(updated_statement, mapping):
            line = replace_many(
                updated_statement, {mapping(container_node): cst.Name(cs), mapping(target): cst.Name(partner)}
            )
            return _carry_comment(line)

        self.plan.statements[statement] = [h_line, c_line]
        self.handled.add(id(value_node))
        self.step("batch", statement)

    def batch_in_place(self, value: Value, cat: VCat, step: str) -> None:
        """`torch.cat(C, 1)` where no line can be added -> the pair of a batch of each half:
        `(torch.cat([s[0] for s in C], 1), torch.cat([s[1] for s in C], 1))`."""
        container = cat.container_node
        top = resolved(value).node
        if isinstance(container, (cst.ListComp, cst.GeneratorExp)) and container.for_in.inner_for_in is None:
            def half(position):  # `[h["actor"] for h in buf]` -> `[h["actor"][0] for h in buf]`
                return lambda updated, mapping: replace_inside(updated, mapping(container.elt), index(mapping(container.elt), position))
        elif _is_pure(container):
            def half(position):
                def edit(updated, mapping):
                    elements = cst.ListComp(index(cst.Name("hc"), position), cst.CompFor(target=cst.Name("hc"), iter=mapping(container)))
                    return replace_inside(updated, mapping(container), elements)
                return edit
        else:
            self.find("G2L100", cat.node, f"`{self.code(cat.node)}` batches stored hidden states from an expression the engine would have to evaluate twice; assign it to a local name first")
            return
        if id(top) in self.handled:
            return
        self.handled.add(id(top))
        make_h, make_c = half(0), half(1)
        self.edit_expression(top, lambda updated, mapping: _paren(pair(make_h(updated, mapping), make_c(updated, mapping))))
        self.step(step, top)

    def zip_names(self, binding: Binding) -> tuple:
        function = binding.function.key if binding.function is not None else None
        used = {d.name for d in self.flow.defs.values() if d.function is not None and d.function.key == function}
        hs, cs = "hs", "cs"
        suffix = 1
        while hs in used or cs in used:
            hs, cs = f"hs{suffix}", f"cs{suffix}"
            suffix += 1
        return hs, cs

    # ----------------------------------------------------------------- calls
    def call(self, call: VCallOf) -> None:
        kind = self.solution.recurrent_calls.get(id(call))
        if kind is not None:
            self.site(call.node)
            self.step("call", call.node)
            if self.starred(call):
                return
            hidden = recurrent_hidden_argument(call)
            if hidden is None:
                return
            if kind == "GRU" and self.new_state_dropped(call, hidden):
                return
            value = resolved(hidden)
            leaf = leaf_of(value)
            if isinstance(value, VSlot) and not self.solution.is_split(value.slot):
                return
            if isinstance(leaf, (VSlot, VCreate)):
                self.pair_expression(value, "call")
            elif isinstance(leaf, VCat):
                self.batch_in_place(value, leaf, "call")
            return
        if id(call) in self.solution.forwarded:
            return  # its arguments are bindings of the forward() it runs
        func = resolved(call.func)
        heads = isinstance(func, VSlot) and self.solution.is_module(func.slot)
        for keyword, value, arg in call.args:
            if heads:
                self.feature_read(resolved(value))
            else:
                self.consumption(value, "unknown", arg.value, f"passed to `{self.code(call.node.func)}`{self.unfollowed(call)}", self.flow.origin(call))

    def starred(self, call: VCallOf) -> bool:
        """`core(*args)`: which argument is the hidden state cannot be told. Said."""
        if not any(arg.star for _, _, arg in call.args):
            return False
        self.find("G2L100", call.node, f"`{self.code(call.node)}` passes its arguments with * or **: the engine cannot tell which one is the hidden state; pass them one by one")
        return True

    def new_state_dropped(self, call: VCallOf, hidden: Value) -> bool:
        """`out, _ = self.gru(x, h)` that returns `out` itself beside other values
        (`return self.q(out), out[:, -1]`): the code carries the output between calls as its
        state (for one layer, its last step equals h), which would lose the LSTM's c. Said."""
        if isinstance(leaf_of(resolved(hidden)), (VCreate, VNone)):
            return False  # a fresh state per call carries nothing
        classes = self.solution.classes
        for unpacking in self.flow.unpackings:
            if unpacking.value is not call or unpacking.function is None:
                continue
            elements = {position: (node, slot) for position, node, slot in unpacking.elements}
            dropped = 1 in elements and elements[1][1] is None and isinstance(elements[1][0], cst.Name) and elements[1][0].value == "_"
            output = elements.get(0, (None, None))[1]
            if not dropped or output is None:
                continue
            for info, _, value in self.flow.returns:
                if info is not unpacking.function or not isinstance(value, VTuple):
                    continue
                for item in value.items:
                    leaf = leaf_of(resolved(item))  # through indexing and tensor methods, not a head
                    if isinstance(leaf, VSlot) and leaf.slot in classes.parent and classes.find(leaf.slot) == classes.find(output):
                        self.find(
                            "G2L100", call.node,
                            f"`{self.code(call.node)}` throws its new hidden state away and its output is returned as "
                            "it is: the code seems to carry the output as the state, which would lose the LSTM's c; "
                            "carry the state the call returns",
                        )
                        return True
        return False

    # ----------------------------------------------------------------- returns and unpacking
    def returns(self) -> None:
        for info, node, value in self.flow.returns:
            if not isinstance(value, VTuple):
                continue
            for position, item in enumerate(value.items):
                if (info.key, position) not in self.solution.split_returns:
                    continue
                item = resolved(item)
                partner = self.partner_of(item.slot)
                element_node = item.node
                self.handled.add(id(element_node))
                self.insert_after_element(value.node, element_node, cst.Name(partner))
                self.step("batch", element_node)

    def insert_after_element(self, sequence: cst.CSTNode, element_value: cst.CSTNode, new: cst.BaseExpression) -> None:
        def edit(updated, mapping):
            elements = list(updated.elements)
            target = mapping(element_value)
            for position, element in enumerate(elements):
                if element.value is target:
                    elements[position : position + 1] = _twin_items(element, element.with_changes(value=new))
                    break
            return updated.with_changes(elements=elements)

        self.edit_expression(sequence, edit)

    @cached_property
    def grown_elements(self) -> list:
        """(unpacking, element node, slot) of each element that receives a position of a return
        that grows by a partner (`a, h, b = f()` with h split in f)."""
        found = []
        for unpacking in self.flow.unpackings:
            value = resolved(unpacking.value)
            if isinstance(value, VSlot) and value.slot[0] == "ret":
                found += [
                    (unpacking, node, slot)
                    for position, node, slot in unpacking.elements
                    if (value.slot[1], position) in self.solution.split_returns
                ]
        return found

    def unpackings(self) -> None:
        for unpacking, node, slot in self.grown_elements:
            if slot is None or not isinstance(node, cst.Name) or not self.solution.is_split(slot):
                self.find("G2L104", node, "this unpacking receives a batched hidden state in a form the engine cannot extend")
                continue
            self.insert_after_element(unpacking.target, node, cst.Name(self.partner_of(slot)))
            self.step("batch", node)
        # A call whose return grew but is not unpacked cannot be followed.
        grown = {f for f, _ in self.solution.split_returns}
        unpacked = {id(u.value.node) for u in self.flow.unpackings if isinstance(u.value, VSlot) and u.value.node is not None}
        for binding in self.flow.bindings:
            value = resolved(binding.value)
            if isinstance(value, VSlot) and value.slot[0] == "ret" and value.slot[1] in grown and id(value.node) not in unpacked:
                self.find("G2L104", value.node, f"`{self.code(value.node)}` returns a batched hidden state that grows to two values; unpack it")

    # ----------------------------------------------------------------- consumptions
    def feature_read(self, value: Value) -> None:
        """A state read as features (or for its shape) reads `h` only."""
        value = resolved(value)
        leaf = leaf_of(value)
        if isinstance(leaf, VCat) and isinstance(resolved(leaf.container), VContainer):
            for _, item in resolved(leaf.container).items:  # torch.cat([h[-1], x], -1)
                self.feature_read(item)
            return
        if self.cell_output(leaf):
            # `F.relu(self.cell(x))`: a GRUCell's output is its h; an LSTMCell's is (h, c).
            if id(leaf.node) not in self.handled:
                self.handled.add(id(leaf.node))
                self.edit_expression(leaf.node, lambda updated, mapping: index(updated, 0))
                self.step("features", leaf.node)
            return
        if not isinstance(leaf, VSlot) or leaf.node is None or not self.solution.is_state(leaf.slot):
            return
        if (self.form == "tuple" and self.solution.is_split(leaf.slot)) or id(leaf.node) in self.handled:
            return  # a split name is h already; packed form splits nothing
        if self.form == "packed" and chain_kind(value) == "read":
            return  # sizes of a packed state are the packed layout's; only its h feeds features
        if value is leaf and not isinstance(value, VSlot):
            return
        self.handled.add(id(leaf.node))
        if self.form == "packed":
            self.edit_expression(leaf.node, lambda updated, mapping: index(_method(updated, "chunk", "2, dim=-1"), 0))
        else:
            self.edit_expression(leaf.node, lambda updated, mapping: index(updated, 0))
        self.step("features", leaf.node)

    def consumption(self, value: Value, context: str, node: cst.CSTNode, why: str, place: Optional[str] = None) -> None:
        value = resolved(value)
        if isinstance(value, (VContainer, VTuple)):  # `sum(h.norm() for h in d.values())`: each part is used so
            for part in value.items:
                item = part[1] if isinstance(value, VContainer) else part
                self.consumption(item, context, item.node or node, why, place)
            return
        leaf = leaf_of(value)
        if self.cell_output(leaf):
            if context == "unknown" and recurrent_hidden_argument(leaf) is not None:
                self.find("G2L101", node, f"the new hidden state `{self.code(leaf.node)}` is {why or 'used here'}", place)
            elif context not in ("isnone", "discard"):
                self.feature_read(value)  # a cell used as a plain layer: its output is h
            return
        if isinstance(leaf, VCat):
            if self.form == "packed":
                return  # concatenating packed states along their batch or time dimensions is fine
            if self.solution.elements_are_state(leaf.container) and id(value.node) not in self.handled:
                self.find("G2L100", node, f"`{self.code(node)}` batches stored hidden states outside an assignment")
            return
        if not isinstance(leaf, VSlot):
            return
        if context == "unknown" and chain_kind(value) == "keep" and self.solution.holder_kind(leaf.slot) is not None:
            # What that code does with the module's state (its call returns (h, c) now) is unknown.
            self.find("G2L101", node, f"the recurrent module `{self.code(node)}` is {why or 'used here'}", place)
            return
        if context in ("iterate-key", "iterate-pos"):
            classes = self.solution.classes
            label = context.partition("-")[2]
            states = [self.solution.is_state(part) for (kind, *_), part in classes.parts.get(classes.find(leaf.slot), {}).items() if kind == label]
            if any(states) and not all(states):
                self.find("G2L101", node, f"`{self.code(node)}` holds hidden states beside other values and is {why}; the engine cannot tell them apart", place)
            return
        if not self.solution.is_state(leaf.slot):
            holds = self.holds_states(leaf.slot)
            if holds and context not in ("read", "isnone", "discard", "test", "index"):
                follow = "" if why.endswith(from_where(place)) else "; the engine cannot follow it"
                self.find("G2L101", node, f"`{self.code(node)}` holds hidden states and is {why or 'used here'}{follow}", place)
            return
        if context == "isnone" or (context == "shaped" and self.form == "packed"):
            return  # `zeros_like(hxs)` of a packed state is packed already
        if context in ("read", "index", "shaped") or chain_kind(value) != "keep":
            self.feature_read(value)
            return
        if context == "discard":
            # A dropped state harms nothing; an in-place op on it (`h.detach_()`) acts on each half.
            if self.form == "tuple" and not isinstance(value, VSlot):
                self.pair_expression(value, "halfwise")
            return
        code = "G2L101" if context == "unknown" else "G2L100"
        reason = why or ("tested for truth" if context == "test" else "used here")
        self.find(code, node, f"the hidden state `{self.code(node)}` is {reason}", place)

    def cell_output(self, value: Value) -> bool:
        """Is `value` the result of a GRUCell call, used where it is not bound as a state?"""
        return self.form == "tuple" and isinstance(value, VCallOf) and self.solution.recurrent_calls.get(id(value)) == "GRUCell"

    def holds_states(self, slot) -> bool:
        """Does a part of the slot's value, at any depth, hold a state? (Parts may form cycles:
        `node = node.next`.)"""
        classes = self.solution.classes
        pending, seen = [classes.find(slot)], set()
        while pending:
            root = pending.pop()
            if root in seen:
                continue
            seen.add(root)
            for part in classes.parts.get(root, {}).values():
                if self.solution.is_state(part):
                    return True
                pending.append(classes.find(part))
        return False

    # ----------------------------------------------------------------- annotations
    def annotations(self) -> None:
        for slot, annotation, _ in self.flow.annotations:
            expression = annotation.annotation
            if self.solution.is_state(slot):
                if not self.solution.is_split(slot):
                    self.pair_annotation(expression)
                continue
            element = self.solution.classes.part(slot, "elem")
            if element is not None and self.solution.is_state(element):
                self.element_annotation(expression)
            else:
                self.tuple_annotation(slot, expression)

    def tuple_annotation(self, slot, expression: cst.BaseExpression) -> None:
        """`Tuple[A, Tensor, B]` of a value whose position 1 holds a state (a return, a pending tuple)."""
        inner = _optional_inner(expression)
        subscript = inner if inner is not None else expression
        elements = _tuple_annotation_elements(subscript)
        if elements is None:
            return
        for position, element in enumerate(elements):
            part = self.solution.classes.part(slot, "pos", position)
            if slot[0] == "ret" and (slot[1], position) in self.solution.split_returns:
                self.insert_after_annotation(subscript, element)
            elif part is not None and self.solution.is_state(part):
                self.pair_annotation(element.slice.value)

    def insert_after_annotation(self, expression: cst.Subscript, element: cst.SubscriptElement) -> None:
        def edit(updated, mapping):
            elements = list(updated.slice)
            target = mapping(element)
            for position, item in enumerate(elements):
                if item is target:
                    elements[position : position + 1] = _twin_items(item, item)
                    break
            return updated.with_changes(slice=elements)

        self.edit_expression(expression, edit)
        self.step("annotations", element)

    def element_annotation(self, expression: cst.BaseExpression) -> None:
        """`list[Tensor]` of stored states -> `list[tuple[Tensor, Tensor]]` (dicts: their values)."""
        inner = _optional_inner(expression)
        expression = inner if inner is not None else expression
        if isinstance(expression, cst.Subscript) and expression.slice:
            last = expression.slice[-1].slice
            if isinstance(last, cst.Index):
                self.pair_annotation(last.value)

    def pair_annotation(self, expression: cst.BaseExpression) -> None:
        inner = _optional_inner(expression)
        target = inner if inner is not None else expression
        if id(target) in self.handled:
            return
        self.handled.add(id(target))
        tuple_name = self.tuple_names[self.key_of(target)]

        def edit(updated, mapping):
            element = cst.SubscriptElement(cst.Index(updated), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            return cst.Subscript(cst.Name(tuple_name), [element, cst.SubscriptElement(cst.Index(updated))])

        self.edit_expression(target, edit)
        self.step("annotations", target)

    def ensure_tuple_imports(self) -> None:
        for key, module in self.modules.items():
            if self.tuple_names[key] == "Tuple" and "annotations" in self.result.modules[key].steps:
                self.ensure_tuple_import(module)

    def ensure_tuple_import(self, module: cst.Module) -> None:
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.ImportFrom) and self.code(small.module or cst.Name("")) == "typing" and not isinstance(small.names, cst.ImportStar):
                    names = [a.name.value for a in small.names if isinstance(a.name, cst.Name)]
                    if "Tuple" in names:
                        return
                    def edit(updated, mapping):
                        aliases = list(updated.names)
                        last = aliases[-1]
                        aliases[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                        aliases.append(cst.ImportAlias(cst.Name("Tuple"), comma=last.comma))
                        return updated.with_changes(names=aliases)
                    self.edit_expression(small, edit)
                    self.step("annotations", small)
                    return

    # ----------------------------------------------------------------- packed form
    def run_packed(self) -> Planned:
        """Storage, masks and time indexing stay; allocations double their last size; the
        recurrent call unpacks (h, c) right before the LSTM and packs it right after."""
        self.torch_names = {key: _torch_name(module) for key, module in self.modules.items()}
        for binding in self.flow.bindings:
            if self.solution.is_state(binding.target):
                if binding.statement is not None:
                    self.site(binding.statement)
                self.double_creation(binding.value)
                self.double_reshape(binding.value)
            else:
                self.feature_read(resolved(binding.value))
        for call in self.flow.calls:
            self.packed_call(call)
        for consumption in self.flow.consumptions:
            self.consumption(consumption.value, consumption.context, consumption.node, consumption.why, consumption.place)
        self.docstrings()
        return self.result

    def double_reshape(self, value: Value) -> None:
        """`h.reshape(-1, H)` of a packed state: its last size is 2H now (`-1` stays)."""
        for option in _options(resolved(value)):
            while isinstance(option, VDerived):
                node = option.node
                if (
                    isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                    and node.func.attr.value in SIZED_SHAPE_METHODS and id(node) not in self.handled
                ):
                    self.handled.add(id(node))
                    size = None if any(arg.star for arg in node.args) else _last_size(node)
                    if size is not None and not _is_minus_one(size) and not _reads_a_shape(size):
                        self.edit_expression(size, lambda updated, mapping: _twice(updated))
                        self.step("creation", node)
                option = resolved(option.base)

    def double_creation(self, value: Value) -> None:
        for option in _options(resolved(value)):
            leaf = leaf_of(option)
            if not isinstance(leaf, VCreate) or id(leaf.node) in self.handled:
                continue
            self.handled.add(id(leaf.node))
            if _is_like(leaf.node) or _sized_like_another(leaf.node):
                continue  # zeros_like(hxs), zeros((n, *hxs.shape[1:])): already packed
            size = _last_size(leaf.node)
            if size is None:
                self.find("G2L100", leaf.node, f"`{self.code(leaf.node)}`: the engine cannot find the hidden size to double")
                continue
            self.edit_expression(size, lambda updated, mapping: _twice(updated))
            self.step("creation", leaf.node)

    def packed_call(self, call: VCallOf) -> None:
        kind = self.solution.recurrent_calls.get(id(call))
        if kind is None:
            self.call(call)
            return
        self.site(call.node)
        self.step("call", call.node)
        if self.starred(call):
            return
        hidden = recurrent_hidden_argument(call)
        if hidden is not None and kind == "GRU" and self.new_state_dropped(call, hidden):
            return
        if hidden is not None:
            self.double_creation(hidden)
            self.double_reshape(hidden)
            hidden_node = resolved(hidden).node
            self.edit_expression(hidden_node, lambda updated, mapping: _method(updated, "chunk", "2, dim=-1"))
        torch_name = self.torch_names[self.key_of(call.node)]
        if torch_name is None:
            self.find("G2L100", call.node, "the packed form needs `import torch` in this file to pack (h, c) after the call")
            return
        module = self.module_of(call.node)
        if kind == "GRUCell":
            self.edit_expression(call.node, lambda updated, mapping: cst.parse_expression(
                f"{torch_name}.cat({module.code_for_node(updated)}, dim=-1)"))
            return
        for unpacking in self.flow.unpackings:
            if unpacking.value is call and len(unpacking.elements) > 1:
                target = unpacking.elements[1][1]
                if isinstance(target, cst.Name) and target.value == "_":
                    return  # thrown away: nothing to pack
                statement = unpacking.statement
                if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                    self.find("G2L100", call.node, "the recurrent call's state must be unpacked in a statement of its own")
                    return

                def repack(updated_statement, mapping, target=target):
                    name = module.code_for_node(mapping(target))
                    return cst.parse_statement(f"{name} = {torch_name}.cat({name}, dim=-1)")

                self.plan.after.setdefault(statement, []).append(repack)
                return

    # ----------------------------------------------------------------- prose
    def docstrings(self) -> None:
        scopes = list(self.modules.values()) + [n for n in self.parents if isinstance(n, (cst.ClassDef, cst.FunctionDef))]
        for scope in scopes:
            if id(scope) not in self.plan.prose_scopes:
                continue
            body = scope.body if isinstance(scope, cst.Module) else scope.body.body
            if not body or not isinstance(body[0], cst.SimpleStatementLine):
                continue
            first = body[0].body[0]
            if isinstance(first, cst.Expr) and isinstance(first.value, cst.SimpleString):
                text = first.value.value
                if text != lstm_prose(text):
                    self.plan.docstrings.add(id(first.value))
                    start = self.line(first.value)
                    changed = {start + i for i, line in enumerate(text.splitlines()) if lstm_prose(line) != line}
                    self.outcome(first.value).steps.setdefault("docs", set()).update(changed)
        for node in self.parents:
            if isinstance(node, cst.Comment) and lstm_prose(node.value) != node.value:
                if self.in_touched_scope(node):
                    self.outcome_of_comment(node).steps.setdefault("docs", set()).add(self.line_of_comment(node))

    def in_touched_scope(self, node: cst.CSTNode) -> bool:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Module)):
            current = self.parents.get(current)
        return current is not None and id(current) in self.plan.prose_scopes

    def line_of_comment(self, node: cst.Comment) -> int:
        return self.line(self.positioned(node))

    def outcome_of_comment(self, node: cst.Comment) -> ModuleOutcome:
        return self.outcome(self.positioned(node))

    def positioned(self, node: cst.CSTNode) -> cst.CSTNode:
        """The nearest node that has a position (comments themselves have none)."""
        positions = self.positions(node)
        current = node
        while current not in positions:
            current = self.parents[current]
        return current


def _twin_items(item, twin) -> list:
    """An element and its twin after it, laid out as the sequence lays out its elements."""
    if isinstance(item.comma, cst.Comma):
        return [item, twin]  # the same comma (and line break) after each
    return [item.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), twin]


def _parts(target, value: Value) -> list:
    """(part of the target, value) for each part of a tuple, list/dict literal or choice."""
    if isinstance(value, VTuple):
        return [(child(target, "pos", position), item) for position, item in enumerate(value.items)]
    if isinstance(value, VContainer):
        return [(child(target, *label), item) for label, item in value.items]
    return [(target, option) for option in value.options]


def _options(value: Value) -> list:
    from gru2lstm.values import VChoice

    if isinstance(value, VChoice):
        return [o for option in value.options for o in _options(resolved(option))]
    return [value]


def _last_size(node: cst.Call) -> Optional[cst.BaseExpression]:
    """The expression of the last dimension in a creation call (`torch.zeros(T, N, H)` -> `H`)."""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    sized = [a.value for a in node.args if a.keyword is not None and a.keyword.value in ("size", "shape")]
    candidates = sized or positional
    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "full" and not sized:
        candidates = positional[:1]
    if not candidates:
        return None
    first = candidates[0]
    if isinstance(first, (cst.Tuple, cst.List)) and first.elements:
        return first.elements[-1].value
    if len(candidates) == 1 and not isinstance(first, (cst.Integer, cst.Name, cst.Attribute, cst.BinaryOperation)):
        return None
    return candidates[-1] if not (isinstance(node.func, cst.Attribute) and node.func.attr.value == "full") else None


def _reads_a_shape(node: cst.BaseExpression) -> bool:
    """`x.shape[-1]`, `x.size(-1)`: a size taken from a tensor, packed already if it is a state."""
    # a plain walk: libcst.matchers costs more to import than all of this run's matching
    return any(isinstance(current, cst.Attribute) and current.attr.value in ("shape", "size") for current in walk(node))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float))


def _is_minus_one(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer) and node.expression.value == "1"


def _sized_like_another(node: cst.Call) -> bool:
    """A shape whose last part is `*other.shape[...]` takes the packed size from `other`."""
    shape = node.args[0].value if node.args else None
    return isinstance(shape, (cst.Tuple, cst.List)) and bool(shape.elements) and isinstance(
        shape.elements[-1], cst.StarredElement
    )


def _is_like(node: cst.Call) -> bool:
    func = node.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    return name.endswith("_like")


def _twice(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.BinaryOperation) and not isinstance(node.operator, (cst.Multiply, cst.Power)):
        node = _paren(node)
    return cst.BinaryOperation(cst.Integer("2"), cst.Multiply(), node)


def _method(node: cst.BaseExpression, name: str, arguments: str) -> cst.BaseExpression:
    if not isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not node.lpar:
        node = _paren(node)
    call = cst.parse_expression(f"_.{name}({arguments})")
    return call.with_changes(func=call.func.with_changes(value=node))


def _torch_name(module: cst.Module) -> Optional[str]:
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if cst.Module([]).code_for_node(alias.name) == "torch":
                            return alias.asname.name.value if alias.asname is not None else "torch"
    return None


def _paren(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _carry_comment(line: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """The partner line keeps the trailing comment (it describes the same shape), in LSTM words."""
    comment = line.trailing_whitespace.comment
    if comment is None:
        return line
    return line.with_changes(trailing_whitespace=line.trailing_whitespace.with_changes(comment=comment.with_changes(value=lstm_prose(comment.value))))


def _is_pure(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Name):
        return True
    if isinstance(node, cst.Attribute):
        return _is_pure(node.value)
    if isinstance(node, cst.Subscript):
        return _is_pure(node.value) and all(_is_pure_index(e.slice) for e in node.slice)
    return False


def _is_pure_index(part: cst.BaseSlice) -> bool:
    """An index of names and constants only (`[i]`, `["key"]`, `[-4:]`): safe to evaluate twice."""
    def constant(node):
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            node = node.expression
        return node is None or isinstance(node, (cst.Name, cst.Integer, cst.SimpleString))

    if isinstance(part, cst.Index):
        return constant(part.value)
    return all(constant(bound) for bound in (part.lower, part.upper, part.step))


def _optional_inner(expression: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    if isinstance(expression, cst.Subscript) and len(expression.slice) == 1:
        name = expression.value
        if (isinstance(name, cst.Name) and name.value == "Optional") or (
            isinstance(name, cst.Attribute) and name.attr.value == "Optional"
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


def _tuple_spelling(module: cst.Module) -> str:
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.ImportFrom) and isinstance(small.module, (cst.Name, cst.Attribute)):
                    if cst.Module([]).code_for_node(small.module) == "typing":
                        return "Tuple"
    return "tuple"
