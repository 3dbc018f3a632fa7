"""Follow values through modules: where the recurrent modules are and where their states go.

`collect(modules)` walks every function of the modules migrated together once, with
flow-sensitive local definitions (each assignment of a local name is its own slot, joined at
branches and loops), and records:

- bindings: a slot receives a value (assignments, returns, call arguments, appends, loops);
- consumptions: a value is used by something that is not a binding (a call we cannot follow,
  a module of the heads, a comparison, …);
- unpackings: tuple targets, so a return that grows can grow its callers too;
- annotations of slots, and every place a slot is read or written.

Classes, functions and globals are keyed by their module, and a name imported from another
module of the program resolves to its definition there (ProgramFlow.lookup).

The walk knows nothing about GRUs beyond the qualified names it resolves; deciding which slots
hold a hidden state is the solver's work (solve.py). This module owns the statement walk; the
walk's other concerns are one module each, stacked as the bases of Collector because they share
the walk's state (the environment, the function, the statement, whether it records):

- definitions.py: the definition index of each module, built before any module is walked;
- scopes.py: local definitions, name resolution, and the recording of bindings and consumptions;
- expressions.py: what an expression evaluates to, and where an assignment target puts a value;
- followed_calls.py: calls into the program's own functions, classes and modules;
- calls.py: which kind of call a call is (torch, numpy, builtins, containers, the program);
- syntax.py: questions about syntax without state; program.py: the records the walk makes.
"""

from __future__ import annotations

import libcst as cst

from gru2lstm.calls import CallWalker
from gru2lstm.program import BindingKind, FunctionInfo, FunctionKey, ProgramFlow, Use
from gru2lstm.qualnames import import_bindings, literal_import
from gru2lstm.registries import find_registries
from gru2lstm.sequences import literal_items
from gru2lstm.syntax import child_expressions, makes_dict, pattern_parts, walk
from gru2lstm.values import ELEM, AttrSlot, ChildSlot, DefSlot, LabelKind, ReturnSlot, VArith, VOpaque, VSlot


class Collector(CallWalker):
    """Walks one module of a program statement by statement; what it finds goes into the program's shared flow."""

    def run(self) -> None:
        self.script_names = self.script_names_of_module()
        lambdas = {id(held.held_in): held for held in self.flow.held_lambdas.get(self.key, ())}  # definitions._module_lambda
        for statement in self.module.body:
            if isinstance(statement, cst.ClassDef):
                self._class_body(statement)
            elif isinstance(statement, cst.FunctionDef):
                self._function(self.flow.functions[FunctionKey(None, statement.name.value, self.key)])
            elif id(statement) in lambdas:  # its name is the function's, never a value's
                self._function(lambdas[id(statement)])
            else:
                self._statement(statement)

    def _class_body(self, node: cst.ClassDef) -> None:
        owner = self.class_key(node.name.value)
        for item in node.body.body:
            if isinstance(item, cst.FunctionDef):
                self._function(self.flow.functions[FunctionKey(owner, item.name.value, self.key)])
            elif isinstance(item, cst.SimpleStatementLine):
                for small in item.body:
                    # Class-level field declarations (dataclasses, annotated attributes).
                    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        slot = AttrSlot.of(owner, small.target.value)
                        self.flow.annotations.append((slot, small.annotation, None))
                        self.flow.slot_nodes.append((slot, small.target))
                        if small.value is not None:
                            self.statement = item
                            value = self.expr(small.value)
                            self._bind(slot, value, BindingKind.DEFAULT, item, small.target)
        for held in self.flow.held_lambdas.get(owner, ()):
            self._function(held)

    def _function(self, info: FunctionInfo) -> None:
        outer = (self.function, self.env, self.local_imports, self.declared_globals)
        self.function = info
        self.env = {}
        self.local_imports = {}
        self.declared_globals = frozenset()  # grown by each `global` statement the walk meets
        for name, param in info.params:
            self._new_def(name, param.name, is_param=True)
            slot = DefSlot.of(id(param.name))
            if param.annotation is not None:
                self.flow.annotations.append((slot, param.annotation, None))
                self.def_annotations[id(param.name)] = param.annotation.annotation
            if param.default is not None:
                self.statement = param
                self._bind(slot, self.expr(param.default), BindingKind.DEFAULT, param, param.name)
        star = info.node.params.star_arg
        if isinstance(star, cst.Param):  # `*args`: the tuple each call fills (followed_calls.py)
            self._new_def(star.name.value, star.name, is_param=True)
        keywords = info.node.params.star_kwarg
        if isinstance(keywords, cst.Param):  # `**kw`: the dict each call fills by keyword (followed_calls.py)
            slot = self._new_def(keywords.name.value, keywords.name, is_param=True)
            self.flow.dicts.add(slot)
            self.flow.containers.add(slot)
        if info.node.returns is not None:
            self.flow.annotations.append((ReturnSlot.of(info.key), info.node.returns, None))
        if info.held_in is not None:  # a lambda's body, returned at the statement that stores it
            self.statement = info.held_in
            self._small(info.node.body.body[0].body[0], info.held_in)
        else:
            self._block(info.node.body)
        self.function, self.env, self.local_imports, self.declared_globals = outer

    def _block(self, block) -> None:
        if isinstance(block, cst.SimpleStatementSuite):  # `if h is None: h = zeros(...)`: read as a line is
            for small in block.body:
                self.statement = block
                self._small(small, block)
            return
        body = block.body if isinstance(block, cst.IndentedBlock) else block
        for statement in body:
            self._statement(statement)

    def _statement(self, statement: cst.CSTNode) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self.statement = statement
                self._small(small, statement)
        elif isinstance(statement, cst.If):
            self.statement = statement
            self.consume(self.expr(statement.test), Use.TEST, statement.test)
            before = dict(self.env)
            self._block(statement.body)
            after_body = self.env
            self.env = dict(before)
            if statement.orelse is not None:
                if isinstance(statement.orelse, cst.If):
                    self._statement(statement.orelse)
                else:
                    self._block(statement.orelse.body)
            self.env = self._merge(after_body, self.env)
        elif isinstance(statement, (cst.For, cst.While)):
            self.statement = statement
            if isinstance(statement, cst.For):
                iterable = self._values_iterated(self.expr(statement.iter), statement.iter, LabelKind.POS, "iterated")
            else:
                self.consume(self.expr(statement.test), Use.TEST, statement.test)

            def body() -> None:
                if isinstance(statement, cst.For):
                    self._assign_target(statement.target, self._element(iterable), statement, BindingKind.LOOP)
                self._block(statement.body)

            before = dict(self.env)
            looped = self._quietly(body)
            self.env = self._merge(before, looped)
            body()
            self.env = self._merge(before, self.env)
            if statement.orelse is not None:
                self._block(statement.orelse.body)
        elif isinstance(statement, cst.With):
            self.statement = statement
            for item in statement.items:
                value = self.expr(item.item)
                if item.asname is not None:
                    self._assign_target(item.asname.name, VOpaque(item.item, "a context manager"), statement, BindingKind.ASSIGN)
                else:
                    self.discard(value, item.item)
            self._block(statement.body)
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            before = dict(self.env)
            self._block(statement.body)
            after = self.env
            ends = [after]
            for handler in statement.handlers:
                self.env = self._merge(before, after)
                if handler.name is not None:
                    self._new_def(handler.name.name.value, handler.name.name)
                self._block(handler.body)
                ends.append(self.env)
            if statement.orelse is not None:
                self.env = dict(after)
                self._block(statement.orelse.body)
                ends[0] = self.env
            self.env = self._merge(*ends)
            if statement.finalbody is not None:
                self._block(statement.finalbody.body)
        elif isinstance(statement, cst.FunctionDef):
            # A nested function is not walked: what it reads from around it, and what it calls by
            # those names, is handed to code the engine does not follow (as a lambda's).
            self.hand_over_inside(statement, f"the nested function `{statement.name.value}()`")
            self._new_def(statement.name.value, statement.name)
        elif isinstance(statement, cst.ClassDef):
            self._new_def(statement.name.value, statement.name)
        elif isinstance(statement, cst.Match):
            self._match(statement)
        else:
            # anything newer: walk the expressions we can see, conservatively.
            for node in walk(statement):
                if isinstance(node, cst.Name):
                    self._read_name(node)

    def _match(self, statement: cst.Match) -> None:
        """Each case like a branch of an `if`. A pattern that captures names takes the subject
        apart in ways the walk does not follow: the subject is then handed over, and what the
        names capture is not known."""
        self.statement = statement
        parts = [pattern_parts(case.pattern) for case in statement.cases]
        captures = any(captured for captured, _ in parts)
        self.consume(
            self.expr(statement.subject), Use.OTHER if captures else Use.TEST, statement.subject,
            "taken apart by the patterns of a `match` statement" if captures else "",
        )
        before = dict(self.env)
        ends = [before]  # no case may match
        for case, (captured, compared) in zip(statement.cases, parts):
            self.env = dict(before)
            for value in compared:
                self.consume(self.expr(value), Use.TEST, value)
            for name in captured:
                self._assign_target(name, VOpaque(name, "a name captured by a `match` pattern"), statement, BindingKind.ASSIGN)
            if case.guard is not None:
                self.consume(self.expr(case.guard), Use.TEST, case.guard)
            self._block(case.body)
            ends.append(self.env)
        self.env = self._merge(*ends)

    def _small(self, small: cst.CSTNode, statement: cst.SimpleStatementLine) -> None:
        if isinstance(small, cst.Global):
            # Python wants `global name` before any use of the name in the function: met in order
            self.declared_globals = self.declared_globals | {item.name.value for item in small.names}
        elif isinstance(small, cst.Assign) and self._imports_a_module(small):
            self.env.pop(small.targets[0].target.value, None)  # the name is the module, as after an import
        elif isinstance(small, cst.Assign):
            value = self.expr(small.value)
            for target in small.targets:
                slot = self._assign_target(target.target, value, statement, BindingKind.ASSIGN)
                self.note_list_length(target.target, value)
                if slot is not None and makes_dict(small.value):
                    self.flow.dicts.add(slot)  # `carry = dict(carry)`: a dict, whatever it copies
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                value = self.expr(small.value)
                slot = self._assign_target(small.target, value, statement, BindingKind.ASSIGN)
            else:
                slot = self._target_slot(small.target)
            if slot is not None:
                self.flow.annotations.append((slot, small.annotation, None))
        elif isinstance(small, cst.AugAssign):
            if isinstance(small.operator, cst.AddAssign) and literal_items(small.value) is not None and self.holds_list_literal(small.target):
                # `hidden += [a, b]` on a list literal: its items, at their positions.
                holder = self.expr(small.target)
                self.grow_list(small.target, holder, [self.expr(item) for item in literal_items(small.value)], statement)
                return
            target = self.expr(small.target)
            if isinstance(small.operator, cst.BitOrAssign) and isinstance(target, VSlot) and self.holds_dict(target) and self.is_mapping(small.value):
                self.merge_mapping(target, small.value)  # `carry |= {"hidden": h}` of a dict: `carry.update(...)`
                return
            value = self.expr(small.value)
            if self.recording:  # `h *= m` changes h in place as `h.mul_(m)` does: an arithmetic of the two
                self.flow.arithmetic.append(VArith(target, value, small))
            self.consume(target, Use.AUGASSIGN, small.target, f"updated in place by `{self.code(small)}`")
            self.consume(value, Use.AUGASSIGN, small.value, f"used in `{self.code(small)}`")
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Yield) and self.function is not None:
            # A generator returns the container of what it yields.
            produced = small.value.value
            if produced is not None and not isinstance(produced, cst.From):
                value = self.expr(produced)
                generated = ReturnSlot.of(self.function.key)
                self.flow.containers.add(generated)
                self._bind(ChildSlot.of(generated, ELEM), value, BindingKind.RETURN, statement, None)
        elif isinstance(small, cst.Expr):
            self.discard(self.expr(small.value), small.value)
        elif isinstance(small, cst.Return):
            if self.function is not None and small.value is not None:
                value = self.expr(small.value)
                if self.recording:
                    self.flow.returns.append((self.function, small, value))
                self._bind(ReturnSlot.of(self.function.key), value, BindingKind.RETURN, statement, None)
        elif isinstance(small, cst.Del):
            for node in walk(small.target):
                if isinstance(node, cst.Name):
                    self.env.pop(node.value, None)
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            if self.function is not None:
                # A name the program's import table has (project.py reads imports in functions
                # too) is the program's class or function; the rest are libraries.
                program = self.flow.module_imports[self.key]
                self.local_imports.update({k: v for k, v in import_bindings(small).items() if k not in program})
        elif isinstance(small, (cst.Raise, cst.Assert)):
            for node in child_expressions(small):
                self.consume(self.expr(node), Use.RAISE, node)
        # pass, break, continue, global, nonlocal: nothing flows.


    def _imports_a_module(self, assign: cst.Assign) -> bool:
        """`m = importlib.import_module("pkg.model")` in a function, of a module of the program:
        project.py reads it as `import pkg.model as m` (imports.py), so `m` reads the import table."""
        return literal_import(assign) is not None and assign.targets[0].target.value in self.flow.module_imports[self.key]


def collect(modules: list, unguessed: frozenset = frozenset(), whole_factories: frozenset = frozenset()) -> ProgramFlow:
    """Walk modules migrated together: [(key, cst.Module, parent map, ModuleSource or None)].

    Every module's definitions are indexed before any is walked, so a call in one module of a
    class or function of another is followed like a call inside one module. `unguessed`: the ids
    of attribute nodes whose object is not to be taken for the one class that has the attribute.
    `whole_factories`: ProgramFlow.whole_factories.
    """
    flow = ProgramFlow(unguessed=unguessed, whole_factories=whole_factories)
    collectors = [Collector(flow, key, module, parents, source) for key, module, parents, source in modules]
    for collector in collectors:
        collector.index_definitions()
    for collector in collectors:
        collector.index_uses()
    flow.registries = find_registries(flow, collectors)
    for collector in collectors:
        collector.run()
    return flow
