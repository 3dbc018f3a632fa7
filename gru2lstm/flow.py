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
hold a hidden state is the solver's work (solve.py). The records it makes are in program.py,
each module's definitions are indexed by definitions.py before the walk, and the questions about
syntax it asks without state are in syntax.py. Collector is still one large class: statements and
expressions share the walk's state (the local environment, the function, the statement, whether
it records), and splitting them apart is left for its own change.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.definitions import ModuleIndex
from gru2lstm.program import (
    Binding,
    Consumption,
    Def,
    FunctionInfo,
    ProgramFlow,
    Unpacking,
    from_where,
)
from gru2lstm.project import ModuleSource
from gru2lstm.qualnames import LOCAL, dotted, import_bindings, qualify
from gru2lstm.syntax import (
    child_expressions,
    constant_string,
    int_key,
    is_bound_inside,
    is_none,
    pass_through_parameter,
    slice_expression,
    string_key,
    walk,
)
from gru2lstm.values import (
    Slot,
    Value,
    VArith,
    VCallOf,
    VCat,
    VChoice,
    VContainer,
    VCreate,
    VCtor,
    VDerived,
    VIndex,
    VNone,
    VOpaque,
    VSlot,
    VTuple,
    VZip,
    child,
    element_of,
    part_at,
)
from gru2lstm.vocab import (
    CAT_FUNCTIONS,
    CONTAINER_ADD_METHODS,
    CONTAINER_FUNCTIONS,
    CONTAINER_METHODS,
    COPY_FUNCTIONS,
    COPY_INTO_METHOD,
    CREATE_FUNCTIONS,
    CREATE_LIKE_FUNCTIONS,
    CREATE_METHODS,
    ELEMENT_CONTAINER_METHODS,
    INSPECTING_BUILTINS,
    ITERATION_BUILTINS,
    KEEP_ATTRIBUTES,
    KEEP_FUNCTIONS,
    KEEP_METHODS,
    KEYED_CONTAINER_METHODS,
    MODULE_CONTAINERS,
    PRINTING_BUILTINS,
    READ_ATTRIBUTES,
    READ_METHODS,
    REPLACE_FUNCTIONS,
    REPLACE_METHOD,
    SAMPLING_FUNCTIONS,
    SAMPLING_METHODS,
    SHAPE_METHODS,
    TENSOR_LIBRARY_PREFIXES,
    TORCH_MODULE_PREFIX,
    VIEW_CONTAINER_METHODS,
    WHERE_FUNCTIONS,
)


class Collector(ModuleIndex):
    """Walks one module of a program; what it finds goes into the program's shared flow."""

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

    def resolve(self, node: cst.CSTNode):
        """What a name or dotted name is in the program, unless a local shadows its first name."""
        root = node
        while isinstance(root, cst.Attribute):
            root = root.value
        if isinstance(root, cst.Name) and (self._is_local(root.value) or root.value in self.local_imports):
            return None
        return super().resolve(node)

    def _is_local(self, name: str) -> bool:
        """A name of a local value: a definition in the current function, or its self."""
        return name in self.env or (self.function is not None and name == self.function.self_name)

    def _is_local_chain(self, node: cst.Attribute) -> bool:
        """`self.x.y` or `h.device`: an attribute chain rooted in a local value, not a module path."""
        root = node
        while isinstance(root, cst.Attribute):
            root = root.value
        return not isinstance(root, cst.Name) or self._is_local(root.value)

    # ----------------------------------------------------------------- walk
    def run(self) -> None:
        for statement in self.module.body:
            if isinstance(statement, cst.ClassDef):
                self._class_body(statement)
            elif isinstance(statement, cst.FunctionDef):
                self._function(self.flow.functions[(None, statement.name.value, self.key)])
            else:
                self._statement(statement)

    def _class_body(self, node: cst.ClassDef) -> None:
        owner = self.class_key(node.name.value)
        for item in node.body.body:
            if isinstance(item, cst.FunctionDef):
                self._function(self.flow.functions[(owner, item.name.value, self.key)])
            elif isinstance(item, cst.SimpleStatementLine):
                for small in item.body:
                    # Class-level field declarations (dataclasses, annotated attributes).
                    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        slot = ("attr", owner, small.target.value)
                        self.flow.annotations.append((slot, small.annotation, None))
                        self.flow.slot_nodes.append((slot, small.target))
                        if small.value is not None:
                            self.statement = item
                            value = self.expr(small.value)
                            self._bind(slot, value, "default", item, small.target)

    def _function(self, info: FunctionInfo) -> None:
        outer = (self.function, self.env, self.local_imports)
        self.function = info
        self.env = {}
        self.local_imports = {}
        for name, param in info.params:
            self._new_def(name, param.name, is_param=True)
            slot = ("def", id(param.name))
            if param.annotation is not None:
                self.flow.annotations.append((slot, param.annotation, None))
                self.def_annotations[id(param.name)] = param.annotation.annotation
            if param.default is not None:
                self.statement = param
                self._bind(slot, self.expr(param.default), "default", param, param.name)
        if info.node.returns is not None:
            self.flow.annotations.append((("ret", info.key), info.node.returns, None))
        self._block(info.node.body)
        self.function, self.env, self.local_imports = outer

    def _new_def(self, name: str, node: cst.CSTNode, is_param: bool = False) -> Slot:
        if self.function is None and not self.comprehensions:
            slot = ("global", self.key, name)
            if self.recording:
                self.flow.slot_nodes.append((slot, node))  # renamed with its reads
            return slot
        self.flow.defs[id(node)] = Def(name, self.function, node, is_param)
        self.env[name] = frozenset({id(node)})
        slot = ("def", id(node))
        if self.recording:
            self.flow.slot_nodes.append((slot, node))
        return slot

    def _block(self, block) -> None:
        body = block.body if isinstance(block, (cst.IndentedBlock, cst.SimpleStatementSuite)) else block
        for statement in body:
            self._statement(statement)

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

    def _statement(self, statement: cst.CSTNode) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self.statement = statement
                self._small(small, statement)
        elif isinstance(statement, cst.If):
            self.statement = statement
            self.consume(self.expr(statement.test), "test", statement.test)
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
                iterable = self._values_iterated(self.expr(statement.iter), statement.iter, "pos", "iterated")
            else:
                self.consume(self.expr(statement.test), "test", statement.test)

            def body() -> None:
                if isinstance(statement, cst.For):
                    self._assign_target(statement.target, element_of(iterable), statement, "loop")
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
                    self._assign_target(item.asname.name, VOpaque(item.item, "a context manager"), statement, "assign")
                else:
                    self.consume(value, "discard", item.item)
            self._block(statement.body)
        elif isinstance(statement, cst.Try):
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
            # A nested function: its locals are its own; its free names are not followed.
            self._new_def(statement.name.value, statement.name)
        elif isinstance(statement, cst.ClassDef):
            self._new_def(statement.name.value, statement.name)
        else:
            # match statements and anything newer: walk the expressions we can see, conservatively.
            for node in walk(statement):
                if isinstance(node, cst.Name):
                    self._read_name(node)

    def _small(self, small: cst.CSTNode, statement: cst.SimpleStatementLine) -> None:
        if isinstance(small, cst.Assign):
            value = self.expr(small.value)
            for target in small.targets:
                self._assign_target(target.target, value, statement, "assign")
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                value = self.expr(small.value)
                slot = self._assign_target(small.target, value, statement, "assign")
            else:
                slot = self._target_slot(small.target)
            if slot is not None:
                self.flow.annotations.append((slot, small.annotation, None))
        elif isinstance(small, cst.AugAssign):
            target = self.expr(small.target)
            value = self.expr(small.value)
            self.consume(target, "augassign", small.target, f"`{self.code(small)}` updates it in place")
            self.consume(value, "augassign", small.value, f"`{self.code(small)}`")
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Yield) and self.function is not None:
            # A generator returns the container of what it yields.
            produced = small.value.value
            if produced is not None and not isinstance(produced, cst.From):
                value = self.expr(produced)
                generated = ("ret", self.function.key)
                self.flow.containers.add(generated)
                self._bind(child(generated, "elem"), value, "return", statement, None)
        elif isinstance(small, cst.Expr):
            self.consume(self.expr(small.value), "discard", small.value)
        elif isinstance(small, cst.Return):
            if self.function is not None and small.value is not None:
                value = self.expr(small.value)
                if self.recording:
                    self.flow.returns.append((self.function, small, value))
                self._bind(("ret", self.function.key), value, "return", statement, None)
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
                self.consume(self.expr(node), "raise", node)
        # pass, break, continue, global, nonlocal: nothing flows.

    # ----------------------------------------------------------------- targets
    def _target_slot(self, target: cst.BaseExpression) -> Optional[Slot]:
        if isinstance(target, cst.Name):
            return self._new_def(target.value, target)
        if isinstance(target, cst.Attribute):
            return self._attribute_slot(target, self.expr(target.value))
        if isinstance(target, cst.Subscript):
            base = self.expr(target.value)
            key = string_key(target)
            if isinstance(base, VSlot):
                if key is not None:
                    slot = child(base.slot, "key", key)
                else:
                    slot = child(base.slot, "elem")
                    for element in target.slice:
                        self.consume(self.expr(slice_expression(element)), "index", target)
                if self.recording:
                    self.flow.slot_nodes.append((slot, target))
                return slot
            return None
        return None

    def _assign_target(self, target: cst.BaseExpression, value: Value, statement, kind: str) -> Optional[Slot]:
        if isinstance(target, (cst.Tuple, cst.List)):
            if isinstance(value, VIndex):  # `a, h = self._pending[i]`: positions of an element
                value = self._materialize(value, value.node)
            elements = []
            for position, element in enumerate(target.elements):
                node = element.value
                if isinstance(element, cst.StarredElement):
                    self._assign_target(node, VOpaque(node, "a starred target"), statement, kind)
                    elements.append((position, node, None))
                    continue
                part = part_at(value, position, len(target.elements))
                if isinstance(value, VZip) and isinstance(value.rows, VSlot):
                    # `a, b = zip(*rows)`: `a` holds the first part of every row.
                    column = child(("zip", id(value.node)), "pos", position)
                    self.flow.containers.add(column)
                    self._bind(child(column, "elem"), VSlot(child(child(value.rows.slot, "elem"), "pos", position), None), "assign", statement, None)
                    part = VSlot(column, None)
                slot = self._assign_target(node, part, statement, kind)
                elements.append((position, node, slot))
            if self.recording:
                self.flow.unpackings.append(Unpacking(target, value, elements, statement, self.function))
            return None
        if isinstance(target, cst.Name) and target.value == "_":
            self.consume(value, "discard", target)  # `_, v, _ = model(x, h)`: thrown away, never one place
            return None
        slot = self._target_slot(target)
        if slot is not None:
            self._bind(slot, value, kind, statement, target)
        else:
            self.consume(value, "other", target, f"assigned to `{self.code(target)}`")
        return slot

    def _bind(self, slot: Slot, value: Value, kind: str, statement, target_node) -> None:
        if slot[0] == "def" and isinstance(value, VOpaque):
            self.opaque_defs.add(slot[1])
        if isinstance(value, VOpaque) and value.node is not None and id(value.node) in self.flow.outside_calls:
            self.flow.outside_values[slot] = self.flow.outside_calls[id(value.node)]
        if slot[0] == "def" and isinstance(value, VSlot) and value.slot[0] == "instance":
            self.instance_class[slot] = value.slot[1]  # `storage = RolloutStorage(...)`
        if self.recording:
            self.flow.bindings.append(Binding(slot, value, kind, statement, target_node, self.function))

    def consume(self, value: Value, context: str, node: cst.CSTNode, why: str = "", place: Optional[str] = None) -> None:
        if self.recording and not isinstance(value, (VOpaque, VNone)):
            self.flow.consumptions.append(Consumption(value, context, node, why, place))

    # ----------------------------------------------------------------- expressions
    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()

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

    def _read_name(self, node: cst.Name) -> Value:
        name = node.value
        if self.function is not None and self.function.self_name == name and name not in self.env:
            return VOpaque(node, "self")
        if name in self.env:
            defs = self.env[name]
            slots = sorted(defs)
            slot = ("def", slots[0])
            value = VSlot(slot, node)
            if self.recording:
                for other in slots:
                    self.flow.slot_nodes.append((("def", other), node))
                if len(slots) > 1:
                    # Joined definitions hold the same kind of value: tie them together.
                    for other in slots[1:]:
                        self.flow.bindings.append(
                            Binding(("def", other), VSlot(slot, None), "join", self.statement, None, self.function)
                        )
            return value
        if name in ("None",):
            return VNone(node)
        if name in self.module_names:
            member = self.flow.module_imports[self.key].get(name)
            # A name imported from another module of the program is that module's global.
            slot = ("global", member.key, member.name) if member is not None and member.name else ("global", self.key, name)
            value = VSlot(slot, node)
            if self.recording:
                self.flow.slot_nodes.append((slot, node))
            return value
        return VOpaque(node, f"`{name}`")

    def _attribute_slot(self, node: cst.Attribute, base: Value) -> Optional[Slot]:
        name = node.attr.value
        info = self.function
        if (
            info is not None
            and info.self_name is not None
            and isinstance(node.value, cst.Name)
            and node.value.value == info.self_name
        ):
            slot = ("attr", info.class_name, name)
        elif len(self.attribute_owners.get(name, ())) == 1 and not isinstance(base, VNone):
            # `agent.model.gru`: the only class that has this attribute owns it.
            (owner,) = self.attribute_owners[name]
            slot = ("attr", owner, name)
        else:
            base = self._materialize(base, node.value)
            if base is None:
                return None
            slot = child(base.slot, "attr", name)
        if self.recording:
            self.flow.slot_nodes.append((slot, node))
        return slot

    def _materialize(self, value: Value, node: cst.CSTNode) -> Optional[VSlot]:
        """A slot standing for a value that has parts (`seqs[i]` in `seqs[i].hidden`)."""
        if isinstance(value, VSlot):
            return value
        if isinstance(value, VCallOf):
            return VSlot(value.result, node)
        if isinstance(value, VIndex):
            slot = ("expr", id(node))
            self._bind(slot, value, "assign", self.statement, None)
            return VSlot(slot, node)
        return None

    def expr(self, node: cst.BaseExpression) -> Value:
        """What `node` is as far as the hidden state is concerned; what it reads and binds is recorded."""
        if isinstance(node, cst.Name):
            return self._read_name(node)
        if isinstance(node, cst.Attribute):
            if self._external(node):
                return VOpaque(node, "a module")
            base = self.expr(node.value)
            name = node.attr.value
            own = isinstance(base, VOpaque) and base.why == "self"  # `self.data` is an attribute
            if name in READ_ATTRIBUTES and not own:
                return VDerived(base, node, "read")
            if name in KEEP_ATTRIBUTES and not own:
                return VDerived(base, node, "keep")
            slot = self._attribute_slot(node, base)
            if slot is None:
                self.consume(base, "other", node.value, f"its attribute `.{name}` is read")
                return VOpaque(node, f"`{self.code(node)}`")
            return VSlot(slot, node)
        if isinstance(node, cst.Subscript):
            base = self.expr(node.value)
            key = string_key(node)
            if key is not None:
                base = self._materialize(base, node.value)
            if key is not None and base is not None:
                slot = child(base.slot, "key", key)
                if self.recording:
                    self.flow.slot_nodes.append((slot, node))
                return VSlot(slot, node)
            for element in node.slice:
                self.consume(self.expr(slice_expression(element)), "index", node)
            value = VIndex(base, node, int_key(node))
            if self.recording:
                self.flow.indexes.append(value)
            return value
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, (cst.Tuple, cst.List)):
            items = [self.expr(e.value) for e in node.elements]
            if isinstance(node, cst.List):
                return VContainer(node, [(("elem",), item) for item in items])
            return VTuple(items, node)
        if isinstance(node, cst.Dict):
            items = []
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    key = constant_string(element.key)
                    value = self.expr(element.value)
                    if key is None:
                        self.consume(self.expr(element.key), "other", element.key)
                    items.append((("key", key) if key is not None else ("elem",), value))
                else:
                    self.consume(self.expr(element.value), "other", element.value)
            return VContainer(node, items)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)) and node.for_in.inner_for_in is None:
            # `[s.hidden for s in steps]`: a list whose elements are what the element expression is.
            comprehension = node.for_in
            iterable = self._values_iterated(self.expr(comprehension.iter), comprehension.iter, "pos", "iterated")
            outer = dict(self.env)
            self.comprehensions += 1
            self._assign_target(comprehension.target, element_of(iterable), self.statement, "loop")
            for condition in comprehension.ifs:
                self.consume(self.expr(condition.test), "test", condition.test)
            if isinstance(node, cst.DictComp):
                self.consume(self.expr(node.key), "read", node.key)
            element = self.expr(node.value if isinstance(node, cst.DictComp) else node.elt)
            self.env = outer
            self.comprehensions -= 1
            return VContainer(node, [(("elem",), element)])
        if isinstance(node, cst.IfExp):
            self.consume(self.expr(node.test), "test", node.test)
            return VChoice([self.expr(node.body), self.expr(node.orelse)], node)
        if isinstance(node, cst.BooleanOperation):
            return VChoice([self.expr(node.left), self.expr(node.right)], node)
        if isinstance(node, cst.BinaryOperation):
            value = VArith(self.expr(node.left), self.expr(node.right), node)
            if self.recording:
                self.flow.arithmetic.append(value)
            return value
        if isinstance(node, cst.UnaryOperation):
            return VDerived(self.expr(node.expression), node, "shape")
        if isinstance(node, cst.Comparison):
            none_test = all(
                isinstance(t.operator, (cst.Is, cst.IsNot)) and is_none(t.comparator) for t in node.comparisons
            )
            left = self.expr(node.left)
            self.consume(left, "isnone" if none_test else "read", node.left)
            for target in node.comparisons:
                self.consume(self.expr(target.comparator), "read", target.comparator)
            return VOpaque(node, "a comparison")
        if isinstance(node, cst.ConcatenatedString):  # `"a" f"{h.norm()}"`: its f-string parts are walked
            self.expr(node.left)
            self.expr(node.right)
            return VOpaque(node, "a constant")
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
            return VOpaque(node, "a constant")
        if isinstance(node, cst.FormattedString):  # f"{h.norm():.3f}": each expression is formatted, like print(h)
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    self.consume(self.expr(part.expression), "unknown", part.expression, "formatted into a string")
            return VOpaque(node, "an f-string")
        # Lambdas, nested comprehensions, await, …: every name read inside is consumed as "other".
        for inner in walk(node):
            if isinstance(inner, cst.Name) and not is_bound_inside(inner, node):
                self.consume(self._read_name(inner), "other", inner, f"used inside `{self.code(node)}`")
        return VOpaque(node, f"`{self.code(node)}`")

    def _call(self, node: cst.Call) -> Value:
        qualified = self._qualified(node) | self._qualified(node.func)
        func = node.func
        args = node.args
        if qualified & CREATE_FUNCTIONS:
            for arg in args:
                self.consume(self.expr(arg.value), "read", arg.value)
            return VCreate(node)
        if qualified & CREATE_LIKE_FUNCTIONS:
            for arg in args:
                self.consume(self.expr(arg.value), "shaped", arg.value)
            return VCreate(node)
        if qualified & CAT_FUNCTIONS and args:
            container = self.expr(args[0].value)
            for arg in args[1:]:
                self.consume(self.expr(arg.value), "read", arg.value)
            return VCat(container, node, args[0].value)
        if qualified & REPLACE_FUNCTIONS and args and args[0].keyword is None:
            owner = self._instance_of(args[0].value)
            if owner is not None and all(a.keyword is not None for a in args[1:]):
                return self._replaced(owner, self.expr(args[0].value), args[1:])
        if qualified & COPY_FUNCTIONS and len(args) == 1:
            return self.expr(args[0].value)  # `target_net = copy.deepcopy(q_net)`: the same kind of value
        if qualified & KEEP_FUNCTIONS and args:
            base = self.expr(args[0].value)
            for arg in args[1:]:
                self.consume(self.expr(arg.value), "read", arg.value)
            return VDerived(base, node, "keep")
        target = self.resolve(func)  # a function or class of the program, by name or module path
        if target is not None and target[0] == "function":
            return self._call_function(self.flow.functions[target[1]], node)
        if target is not None and target[0] == "class":
            return self._instantiate(target[1], node)
        if isinstance(func, cst.Attribute) and not self._external(func):
            method = func.attr.value
            base = self.expr(func.value)
            place = self.flow.origin(base)
            if place is not None:  # `self.rollouts.insert(...)` on an object of a file not migrated with this one
                return self._unknown_call(node, f"`{self.code(func)}`", place)
            if method in CREATE_METHODS and args and self._method_target(func) is None:
                self.consume(base, "shaped", func.value)
                for arg in args:
                    self.consume(self.expr(arg.value), "read", arg.value)
                return VCreate(node)
            if method in KEEP_METHODS | SHAPE_METHODS | READ_METHODS:
                for arg in args:
                    self.consume(self.expr(arg.value), "read", arg.value)
                kind = "keep" if method in KEEP_METHODS else "shape" if method in SHAPE_METHODS else "read"
                return VDerived(base, node, kind)
            callee = self._method_target(func)
            if callee is not None:
                return self._call_function(callee, node)
            owner = self._instance_of(func.value) if method == REPLACE_METHOD else None
            if owner is not None and all(a.keyword is not None for a in args):
                return self._replaced(owner, base, args)
            if method in SAMPLING_METHODS and args:
                self.consume(base, "read", func.value)
                return self._sampling(node, method != "choice")
            if method in CONTAINER_ADD_METHODS and isinstance(base, VSlot) and len(args) == 1:
                self.flow.containers.add(base.slot)
                value = self.expr(args[0].value)
                self._bind(child(base.slot, "elem"), value, "append", self.statement, None)
                return VOpaque(node, "None")
            if method in CONTAINER_METHODS and isinstance(base, VSlot):
                self.flow.containers.add(base.slot)
                key = constant_string(args[0].value) if method in KEYED_CONTAINER_METHODS and args else None
                element = VSlot(child(base.slot, *(("key", key) if key is not None else ("elem",))), None)
                default = None
                for position, arg in enumerate(args):
                    if position == 1 and method in KEYED_CONTAINER_METHODS and arg.keyword is None:
                        # `d.get(k, h0)` may return the default; `d.setdefault(k, h0)` stores it
                        default = self.expr(arg.value)
                        if method == "setdefault":
                            self._bind(element.slot, default, "store", self.statement, None)
                    else:
                        self.consume(self.expr(arg.value), "other", arg.value, f"passed to `.{method}()`")
                if method in ELEMENT_CONTAINER_METHODS:
                    return element if default is None else VChoice([element, default], node)
                if method in VIEW_CONTAINER_METHODS:
                    # Iterating a dict sees its `elem` values; values under constant keys
                    # (`{"deter": h, "stoch": z}`) are not told apart, which the planner reports.
                    self._values_iterated(base, func.value, "key", f"iterated by `.{method}()`")
                    element = VSlot(child(base.slot, "elem"), None)
                    if method == "items":
                        element = VTuple([VOpaque(None, "a key"), element], None)
                    return VContainer(node, [(("elem",), element)])
                return VOpaque(node, f"`.{method}()`")
            if method == COPY_INTO_METHOD and len(args) == 1:
                # In-place write into preallocated storage: the storage's elements receive it.
                value = self.expr(args[0].value)
                if isinstance(base, VIndex) and isinstance(base.base, VSlot):
                    self._bind(child(base.base.slot, "elem"), value, "store", self.statement, func.value)
                else:
                    self.consume(value, "other", args[0].value, "copied in place into something unknown")
                return VOpaque(node, COPY_INTO_METHOD)
            # A call of an attribute value: a module (`self.gru(x, h)`), a stored callable, …
            func_value = self._attribute_slot(func, base)
            if func_value is not None:
                return self._call_value(VSlot(func_value, func), node)
            return self._unknown_call(node, f"`{self.code(func)}`")
        if isinstance(func, cst.Name) and func.value not in self.env and func.value not in self.module_names:
            if func.value == "zip" and len(args) == 1 and args[0].star == "*":
                rows = self.expr(args[0].value)
                if isinstance(rows, VContainer) and rows.items:
                    # `zip(*random.sample(self.items, n))`: the sampled rows, held in a place of their own
                    held = VSlot(("literal", id(args[0].value)), args[0].value)
                    if self.recording:
                        self.flow.bindings.append(Binding(held.slot, rows, "join", self.statement, None, self.function))
                    rows = held
                return VZip(rows, node)
            if func.value in ITERATION_BUILTINS and args and not any(a.star for a in args):
                return self._iteration(func.value, node)
        if qualified & SAMPLING_FUNCTIONS and args:
            return self._sampling(node, "choice" not in sorted(qualified)[0])
        if isinstance(func, cst.Name):
            if func.value in INSPECTING_BUILTINS | PRINTING_BUILTINS:
                context_name = "read" if func.value in INSPECTING_BUILTINS else "unknown"
                for arg in args:
                    self.consume(self.expr(arg.value), context_name, arg.value, f"passed to `{func.value}()`")
                return VOpaque(node, f"`{func.value}()`")
            if qualified & CONTAINER_FUNCTIONS or func.value in ("list", "dict"):
                items = []
                for arg in args:
                    if arg.keyword is not None and not arg.star and func.value == "dict":
                        # `dict(deter=h0, ...)` is the literal `{"deter": h0, ...}`
                        items.append((("key", arg.keyword.value), self.expr(arg.value)))
                    else:
                        self.consume(self.expr(arg.value), "container", arg.value, f"passed to `{func.value}()`")
                return VContainer(node, items)

            if func.value == "zip" or func.value == "tuple":
                for arg in args:
                    self.consume(self.expr(arg.value), "other", arg.value, f"passed to `{func.value}()`")
                return VOpaque(node, f"`{func.value}()`")
        if qualified & MODULE_CONTAINERS and len(args) == 1:
            return self.expr(args[0].value)  # a ModuleDict holds its modules as the dict does
        if any(q.startswith(TORCH_MODULE_PREFIX) and q[len(TORCH_MODULE_PREFIX):][:1].isupper() for q in qualified):
            for arg in args:
                self.consume(self.expr(arg.value), "read", arg.value)
            return VCtor(sorted(qualified)[0], node)
        if qualified & WHERE_FUNCTIONS and len(args) == 3 and not any(a.keyword or a.star for a in args):
            # `torch.where(done[:, None], torch.zeros_like(h), h)` is a masked state, like `h * mask`
            self.consume(self.expr(args[0].value), "read", args[0].value)
            value = VArith(self.expr(args[1].value), self.expr(args[2].value), node)
            if self.recording:
                self.flow.arithmetic.append(value)
            return value
        if any(q.startswith(TENSOR_LIBRARY_PREFIXES) for q in qualified):
            # torch.sigmoid(h), np.split(h, n): computed from the first argument; whether that is
            # a state or features is decided by where the result flows, as for h.view(...).
            positional = [arg for arg in args if arg.keyword is None and not arg.star]
            first = self.expr(positional[0].value) if positional else None
            for arg in args:
                if not positional or arg is not positional[0]:
                    self.consume(self.expr(arg.value), "read", arg.value, f"passed to `{self.code(func)}`")
            if first is None:
                return VOpaque(node, f"`{self.code(func)}(...)`")
            return VDerived(first, node, "shape")
        owner = self._instance_of(func) if isinstance(func, cst.Name) else None
        forward = None if owner is None else self.flow.forward_of(owner)
        if forward is not None:
            return self._call_function(forward, node)  # `self(x, h)` inside a module runs its forward()
        func_value = self.expr(func)
        if isinstance(func_value, VSlot):
            return self._call_value(func_value, node)
        return self._unknown_call(node, f"`{self.code(func)}`")

    def _instantiate(self, owner: str, node: cst.Call) -> Value:
        """`Policy(...)`: its __init__ receives the arguments (a dataclass or namedtuple: its fields)."""
        if self.recording:
            self.flow.instantiated.setdefault(owner, []).append(node)
        if owner in self.namedtuples:
            self._call_fields(owner, node, self.namedtuples[owner])
        else:
            init = self.flow.method(owner, "__init__")
            if init is not None:
                self._call_function(init, node)
            else:
                self._call_fields(owner, node)
        return VSlot(("instance", owner), node)

    def _instance_of(self, node: cst.CSTNode) -> Optional[str]:
        """The program class of the object `node` holds, when it is known (self, an attribute or a
        name assigned an instance, a parameter annotated with the class)."""
        info = self.function
        if isinstance(node, cst.Name) and info is not None and node.value == info.self_name and node.value not in self.env:
            return info.class_name
        if isinstance(node, cst.Name) and node.value in self.env:
            owners = set()
            for def_id in self.env[node.value]:
                owner = self.instance_class.get(("def", def_id))
                annotation = self.def_annotations.get(def_id)
                if owner is None and annotation is not None:
                    owner = self.resolve_class(annotation)
                owners.add(owner)
            return owners.pop() if len(owners) == 1 else None
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and info is not None and node.value.value == info.self_name:
            return self.instance_class.get(("attr", info.class_name, node.attr.value))
        return None

    def _sampling(self, node: cst.Call, many: bool) -> Value:
        """random.sample(C, k) is a list of C's elements; random.choice(C) one of them."""
        population = self.expr(node.args[0].value)
        for arg in node.args[1:]:
            self.consume(self.expr(arg.value), "read", arg.value)
        element = element_of(population)
        return VContainer(node, [(("elem",), element)]) if many else element

    def _iteration(self, name: str, node: cst.Call) -> Value:
        """reversed/sorted/list/tuple/iter keep the elements; enumerate and zip pair them up."""
        values = [self.expr(arg.value) for arg in node.args]
        for value, arg in zip(values, node.args):
            if not isinstance(value, (VSlot, VContainer)):  # `tuple(h.shape)`: its elements are only read
                self.consume(value, "read", arg.value)
        if name in ("enumerate", "zip"):
            parts = [VOpaque(node, "an index")] if name == "enumerate" else []
            parts += [element_of(value) for value in (values[:1] if name == "enumerate" else values)]
            return VContainer(node, [(("elem",), VTuple(parts, None))])
        return VContainer(node, [(("elem",), element_of(values[0]))])

    def _method_target(self, func: cst.Attribute) -> Optional[FunctionInfo]:
        name = func.attr.value
        info = self.function
        if info is not None and info.self_name is not None and isinstance(func.value, cst.Name) and func.value.value == info.self_name:
            return self.flow.method(info.class_name, name)
        # `self.net.init_hidden(...)`, `storage.insert(...)`: the class of the instance held there.
        owner = self._instance_of(func.value)
        if owner is not None and self.flow.method(owner, name) is not None:
            return self.flow.method(owner, name)
        # `Buffer.compute(...)`: a static method called through its class.
        owner = self.resolve_class(func.value)
        if owner is not None:
            target = self.flow.method(owner, name)
            if target is not None and target.self_name is None:
                return target
        # `storage.insert(...)`: the only class of the program with that method owns the call.
        owners = [key for key, found in self.flow.functions.items() if found.class_name is not None and key[1] == name]
        if len(owners) == 1 and not name.startswith("__") and not self._foreign(func.value):
            return self.flow.functions[owners[0]]
        return None

    def _call_function(self, callee: FunctionInfo, node: cst.Call) -> Value:
        if self.recording:
            self.flow.called.add(callee.key)
        through = self._passed_through(callee, node)
        if through is not None:
            return through
        params = callee.params
        by_name = dict(params)
        position = 0
        for arg in node.args:
            value = self.expr(arg.value)
            if arg.star:
                self.consume(value, "other", arg.value, "passed with * or **")
                if self.recording:
                    self.flow.star_calls.append((node, callee))
                continue
            if arg.keyword is not None:
                param = by_name.get(arg.keyword.value)
            else:
                param = params[position][1] if position < len(params) else None
                position += 1
            if param is None:
                self.consume(value, "unknown", arg.value, f"passed to `{callee.node.name.value}()` beyond its parameters")
                continue
            self._bind(("def", id(param.name)), value, "arg", arg, arg.value)
        return VSlot(("ret", callee.key), node)

    def _passed_through(self, callee: FunctionInfo, node: cst.Call) -> Optional[Value]:
        """`check(h).float()`, `ortho(nn.GRU(...))`: a helper that only looks at a parameter and
        gives it back is that argument, at each call apart. Binding its parameter would join
        everything it is ever called with (states, observations, masks; a GRU and a Linear)."""
        if callee.key not in self.flow.pass_through:
            self.flow.pass_through[callee.key] = pass_through_parameter(callee)
        through = self.flow.pass_through[callee.key]
        if through is None or any(arg.star for arg in node.args):
            return None
        name, kind = through
        position = [param_name for param_name, _ in callee.params].index(name)
        chosen = None
        for index, arg in enumerate(node.args):
            given = arg.keyword.value if arg.keyword is not None else (callee.params[index][0] if index < len(callee.params) else None)
            value = self.expr(arg.value)
            if given == name:
                chosen = value
            else:
                self.consume(value, "read", arg.value)
        if chosen is None:  # left to its default
            return None if len(node.args) <= position else VOpaque(node, f"`{self.code(node)}`")
        return VDerived(chosen, node, kind)

    def _values_iterated(self, value: Value, node: cst.CSTNode, label: str, why: str) -> Value:
        """A loop over a dict's values (label "key") or a tuple's items ("pos") sees them all as
        one element; the solver makes that element a state when they are states, and the planner
        reports a mix. A literal (`for t in (out, h)`) is held in a place of its own for that."""
        if isinstance(value, (VTuple, VContainer)) and value.items:
            held = VSlot(("literal", id(node)), node)
            if self.recording:
                self.flow.bindings.append(Binding(held.slot, value, "join", self.statement, None, self.function))
            value = held
        if isinstance(value, VSlot) and self.recording:
            self.flow.value_views.append((value.slot, label))
            self.consume(value, f"iterate-{label}", node, why)
        return value

    def _replaced(self, owner: str, base: Value, args) -> Value:
        """`dataclasses.replace(state, belief=b)`, `step._replace(hidden=h)`: an object of the same
        class whose named fields receive the arguments."""
        for arg in args:
            self._bind(("attr", owner, arg.keyword.value), self.expr(arg.value), "field", arg, arg.value)
        return base

    def _call_fields(self, class_name: str, node: cst.Call, fields: Optional[list] = None) -> None:
        """A class without __init__ (a dataclass, a namedtuple): arguments set its fields."""
        if fields is None:
            fields = [
                small.target.value
                for item in self.flow.classes[class_name].body.body
                if isinstance(item, cst.SimpleStatementLine)
                for small in item.body
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name)
            ]
        for position, arg in enumerate(node.args):
            value = self.expr(arg.value)
            name = arg.keyword.value if arg.keyword is not None else (fields[position] if position < len(fields) else None)
            if name is None or arg.star:
                self.consume(value, "unknown", arg.value, f"passed to `{class_name.rpartition(':')[2]}()`")
                continue
            self._bind(("attr", class_name, name), value, "field", arg, arg.value)

    def _call_value(self, func: VSlot, node: cst.Call) -> Value:
        # Calling an instance of a module class of the program runs its forward().
        owner = self.instance_class.get(func.slot)
        forward = None if owner is None else self.flow.forward_of(owner)
        if forward is not None:
            return self._call_function(forward, node)
        args = []
        for arg in node.args:
            value = self.expr(arg.value)
            args.append((arg.keyword.value if arg.keyword is not None else None, value, arg))
        call = VCallOf(func, node, args, ("callres", id(node)))
        if self.recording:
            self.flow.calls.append(call)
        return call

    def _unknown_call(self, node: cst.Call, name: str, place: Optional[str] = None) -> Value:
        root = node.func
        while isinstance(root, (cst.Attribute, cst.Call, cst.Subscript)):
            root = root.func if isinstance(root, cst.Call) else root.value
        if place is None and isinstance(root, cst.Name) and root.value not in self.env:
            place = self.outside.get(root.value)
        if place is not None:
            self.flow.outside_calls[id(node)] = place
        where = from_where(place)
        for arg in node.args:
            self.consume(self.expr(arg.value), "unknown", arg.value, f"passed to {name}{where}", place)
        return VOpaque(node, f"{name}(...)")


def collect(modules: list) -> ProgramFlow:
    """Walk modules migrated together: [(key, cst.Module, parent map, ModuleSource or None)].

    Every module's definitions are indexed before any is walked, so a call in one module of a
    class or function of another is followed like a call inside one module.
    """
    flow = ProgramFlow()
    collectors = [Collector(flow, key, module, parents, source) for key, module, parents, source in modules]
    for collector in collectors:
        collector.index_definitions()
    for collector in collectors:
        collector.index_uses()
    for collector in collectors:
        collector.run()
    return flow
