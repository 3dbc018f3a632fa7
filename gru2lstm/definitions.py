"""The definition index: what one module of a program defines and what its names are.

Before any module is walked, every module's classes, functions and namedtuples enter the
program's flow (index_definitions); then, with all of them known, class bases, attribute owners,
GRU references and which attributes hold instances of which class (index_uses). The walk
(flow.Collector) extends this with local names; here a name is resolved at module level.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import Definition, DefinitionKind, FunctionInfo, FunctionKey, Parameter, ProgramFlow, class_key
from gru2lstm.project import ModuleSource
from gru2lstm.qualnames import dotted, library_layer, module_imports, qualify
from gru2lstm.summaries import bound_once
from gru2lstm.syntax import constant_string, constructor_call, free_reads, makes_dict, module_level_names, names_bound_in, walk, wrapped_module
from gru2lstm.values import AttrSlot, GlobalSlot
from gru2lstm.vocab import (
    CLASS_KEEPING_DECORATORS, COPY_SPELLINGS, GRU_NAMES, MODULE_WRAPPERS, NAMEDTUPLE_FUNCTIONS, NON_LIBRARY_ROOTS, TORCHSCRIPT_DECORATORS,
    TYPED_DICT_CLASSES,
)


class ModuleIndex:
    """One module of a program: its imports and top-level names, and its definitions indexed into
    the program's shared flow."""

    def __init__(self, flow: ProgramFlow, key: str, module: cst.Module, parents: dict, source: Optional[ModuleSource] = None) -> None:
        self.flow = flow
        self.key = key
        self.module = module
        self.parents = parents
        flow.modules[key] = module
        flow.module_parents[key] = parents
        program_imports = dict(source.imports) if source is not None else {}
        flow.module_imports[key] = program_imports
        flow.dotted_imports[key] = dict(source.dotted_imports) if source is not None else {}
        self.outside = dict(source.outside) if source is not None else {}  # name -> where it comes from, outside the program
        # Names imported from modules of the program are this program's own, not a library's.
        self.imports = {name: target for name, target in module_imports(module).items() if name not in program_imports}
        flow.library_imports[key] = self.imports
        # `from layers import *` of a module of the program binds its classes and functions here.
        self.module_names = (module_level_names(module) | set(program_imports)) - set(self.imports)
        self.attribute_owners = flow.attribute_owners
        self.instance_class = flow.instance_class  # slot -> key of the program class it holds
        self.wrappers = flow.wrappers  # slots that hold a module wrapper
        self.namedtuples = flow.namedtuples

    _bindings_once: Optional[dict] = None  # name -> value of each name the module binds once (`_module_lambda`)

    def class_key(self, name: str) -> str:
        return class_key(self.key, name)

    def resolve(self, node: cst.CSTNode):
        """What a name or dotted name is in the program (see ProgramFlow.lookup), at module level."""
        if isinstance(node, cst.Name):
            if node.value in self.imports:
                return None
            return self.flow.lookup(self.key, node.value)
        if isinstance(node, cst.Attribute):
            module = self.flow.dotted_imports.get(self.key, {}).get(dotted(node) or "")
            if module is not None:  # `pkg.model` after `import pkg.model` (or `import pkg`, whose `__init__` imports it)
                return Definition(DefinitionKind.MODULE, module.key)
            base = self.resolve(node.value)
            if base is not None and base.kind == DefinitionKind.MODULE:
                return self.flow.lookup(base.key, node.attr.value)
        return None

    def resolve_class(self, node: cst.CSTNode) -> Optional[str]:
        found = self.resolve(node)
        return found.key if found is not None and found.kind == DefinitionKind.CLASS else None

    def _library_class(self, node: cst.CSTNode) -> Optional[str]:
        """The qualified name of a class a library defines (not torch nor the standard library,
        whose classes call no method of a subclass with a state), imported here by `node`."""
        root = dotted(node)
        if root is None or root.partition(".")[0] in self.outside:
            return None  # a file of the project not migrated with this one
        name = qualify(node, self.imports, set())
        return name if name is not None and name.partition(".")[0] not in NON_LIBRARY_ROOTS else None

    def index_definitions(self) -> None:
        """Classes, functions and namedtuples of this module (before any module is walked)."""
        for statement in self.module.body:
            if isinstance(statement, cst.ClassDef):
                owner = self.class_key(statement.name.value)
                self.flow.classes[owner] = statement
                for decoration in statement.decorators:  # `@dataclass(frozen=True)`: the class itself, kept nowhere
                    applied = decoration.decorator.func if isinstance(decoration.decorator, cst.Call) else decoration.decorator
                    if qualify(applied, self.imports, set()) in CLASS_KEEPING_DECORATORS:
                        self.flow.class_keeping_decorators.add(id(decoration.decorator))
                for item in statement.body.body:
                    if isinstance(item, cst.FunctionDef):
                        self._add_function(item, owner)
                    elif isinstance(item, cst.SimpleStatementLine):
                        for small in item.body:
                            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                                self.attribute_owners.setdefault(small.target.value, set()).add(owner)
            elif isinstance(statement, cst.FunctionDef):
                self._add_function(statement, None)
            elif isinstance(statement, cst.SimpleStatementLine):
                self._namedtuple(statement)
                self._module_lambda(statement)

    def index_uses(self) -> None:
        """Bases, attributes, GRU references and which attributes hold instances of which class
        (once every module's definitions are known, so they resolve across modules)."""
        for statement in self.module.body:
            if isinstance(statement, cst.ClassDef):
                bases = [self.resolve_class(base.value) for base in statement.bases if base.keyword is None]
                self.flow.bases[self.class_key(statement.name.value)] = [b for b in bases if b is not None]
                self.flow.library_bases[self.class_key(statement.name.value)] = [
                    name for name in (self._library_class(base.value) for base in statement.bases if base.keyword is None) if name
                ]
                if any(qualify(base.value, self.imports, set()) in TYPED_DICT_CLASSES for base in statement.bases if base.keyword is None):
                    self.flow.typed_dicts.add(self.class_key(statement.name.value))
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:  # `HIDDENS = {}`: a dict before any module is walked, as `self.hiddens = {}` is
                    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name) and makes_dict(small.value):
                        self.flow.dicts.add(GlobalSlot.of(self.key, small.targets[0].target.value))
        methods = {
            id(info.node): info
            for info in self.flow.functions.values()
            if info.self_name is not None and info.module == self.key
        }
        copies = []
        stores: dict = {}  # slot -> every value `self.attr = ...` stores into it in a method
        enclosing: dict = {}  # id(node) -> the method around it (None: none), shared by the nodes below
        for node in self.parents:  # every node once, without another walk of the tree
            kind = type(node)  # children.py: why `type`
            if kind is not cst.Assign and kind is not cst.Attribute and kind is not cst.Name:
                continue
            self._reference(node)
            if kind is cst.Name:
                continue
            info = self._enclosing_method(node, methods, enclosing)
            if info is None:
                continue
            if isinstance(node, cst.Assign) and len(node.targets) == 1:
                target, value = node.targets[0].target, constructor_call(node.value)
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == info.self_name:
                    slot = AttrSlot.of(info.class_name, target.attr.value)
                    stores.setdefault(slot, []).append((node.value, info))
                    if value is not None:
                        copies.append((slot, value, info))
                    if makes_dict(node.value):  # known before any module is walked: a loop over it elsewhere sees keys
                        self.flow.dicts.add(slot)
            elif isinstance(node.value, cst.Name) and node.value.value == info.self_name:
                self.attribute_owners.setdefault(node.attr.value, set()).add(info.class_name)
        # `self.net = Net(...)`, then `self.target = copy.deepcopy(self.net)`: the same class; so is
        # the module a wrapper holds (`self.net = nn.DataParallel(Net())`).
        for _ in range(2):
            for slot, call, info in copies:
                owner = self.resolve_class(call.func)
                wrapped = wrapped_module(call) if qualify(call.func, self.imports, set()) in MODULE_WRAPPERS else None
                if owner is not None:
                    self.instance_class[slot] = owner
                elif wrapped is not None:
                    self.wrappers.add(slot)
                    owner = self._owner_of(wrapped, info)
                elif dotted(call.func) in COPY_SPELLINGS and call.args:
                    owner = self._owner_of(call.args[0].value, info)
                if owner is not None:
                    self.instance_class[slot] = owner
        for slot, stored in stores.items():
            owners = {self._annotated_parameter_class(value, info) for value, info in stored} if slot not in self.instance_class else {None}
            if len(owners) == 1 and None not in owners:
                self.instance_class[slot] = owners.pop()
            if len(stored) == 1 and isinstance(stored[0][0], cst.Lambda):
                self._held_lambda(slot, *stored[0])
            if all(type(value) is cst.Call and library_layer(qualify(value.func, self.imports, set()) or "") for value, _ in stored):
                self.flow.library_layers.add(slot)  # `self.v = nn.Linear(H, 1)`: its calls compute features

    def _held_lambda(self, slot: AttrSlot, function: cst.Lambda, info: FunctionInfo) -> None:
        """`self.blank = lambda n: torch.zeros(1, n, self.gru.hidden_size)`, the attribute's only
        store, read nothing of the method around it but `self` and names of the module: a method
        of the class, its body the value returned (`agent.blank(3)` then runs it). No method of
        the program may have its name, so no call of one is taken for it."""
        outer = names_bound_in(info.node)
        locals_read = list(dict.fromkeys(name.value for name in free_reads(function) if name.value in outer and name.value != info.self_name))
        if locals_read:  # it runs on what the method had there: a finding on its call names them
            self.flow.local_reading_lambdas[slot] = (locals_read, info.key.name)
        if slot.name in self.flow.methods_by_name or locals_read:
            return
        statement = self.parents.get(self.parents.get(function))
        target = statement.body[0].targets[0].target if isinstance(statement, cst.SimpleStatementLine) else None
        if target is None or len(statement.body) != 1:
            return
        node = cst.FunctionDef(
            name=target.attr, params=function.params,
            body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Return(value=function.body)])]),
        )
        held = FunctionInfo(
            key=FunctionKey(slot.owner, slot.name, self.key), node=node, class_name=slot.owner, self_name=info.self_name,
            params=[Parameter(param.name.value, param) for param in function.params.params], held_in=statement,
        )
        self.flow.add_function(held)
        self.flow.held_lambdas.setdefault(slot.owner, []).append(held)

    def _module_lambda(self, statement: cst.SimpleStatementLine) -> None:
        """`policy = lambda o, h: net(o, h)` at the top of the module, the only binding of its name
        anywhere in it and no name it imports or defines otherwise, its parameters plain: a function
        of the module, its body the value returned (`policy(x, h)` then runs it, wherever it is
        called from), as a lambda held in an attribute is a method (`_held_lambda`)."""
        small = statement.body[0] if len(statement.body) == 1 else None
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
            return
        function, target = small.value, small.targets[0].target
        if not isinstance(function, cst.Lambda) or not _plain_parameters(function.params):
            return
        if target.value in self.imports or FunctionKey(None, target.value, self.key) in self.flow.functions or self.class_key(target.value) in self.flow.classes:
            return
        if self._bindings_once is None:
            self._bindings_once = bound_once(list(walk(self.module)), [])
        if self._bindings_once.get(target.value) is not function:
            return
        node = cst.FunctionDef(
            name=target, params=function.params, body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Return(value=function.body)])]),
        )
        held = FunctionInfo(
            key=FunctionKey(None, target.value, self.key), node=node, class_name=None, self_name=None,
            params=[Parameter(param.name.value, param) for param in function.params.params], held_in=statement,
        )
        self.flow.add_function(held)
        self.flow.held_lambdas.setdefault(self.key, []).append(held)

    def _annotated_parameter_class(self, node: cst.BaseExpression, info: FunctionInfo) -> Optional[str]:
        """`self.agent = agent` of a parameter `agent: BaseAgent` the method never rebinds: the
        program class the annotation names, as a call on the parameter itself takes it (an
        instance of it or of a subclass, whose overrides the calls follow too)."""
        if not isinstance(node, cst.Name):
            return None
        param = dict(info.params).get(node.value)
        owner = self.resolve_class(param.annotation.annotation) if param is not None and param.annotation is not None else None
        return owner if owner is not None and node.value not in names_bound_in(info.node.body) else None

    def _owner_of(self, node: cst.BaseExpression, info: FunctionInfo) -> Optional[str]:
        """The program class of what `node` makes or holds, in a method: `Net(...)` or `self.net`."""
        made = constructor_call(node)
        if made is not None:
            return self.resolve_class(made.func)
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == info.self_name:
            return self.instance_class.get(AttrSlot.of(info.class_name, node.attr.value))
        return None

    def _namedtuple(self, statement: cst.SimpleStatementLine) -> None:
        """`Step = namedtuple("Step", ["obs", "hx"])`: a class whose fields are its arguments."""
        for small in statement.body:
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
                continue
            call = small.value
            if not (isinstance(call, cst.Call) and len(call.args) >= 2):
                continue
            if qualify(call.func, self.imports, set()) not in NAMEDTUPLE_FUNCTIONS:
                continue
            names = call.args[1].value
            if isinstance(names, (cst.List, cst.Tuple)):
                fields = [constant_string(e.value) for e in names.elements]
            else:
                text = constant_string(names)
                fields = text.replace(",", " ").split() if text is not None else [None]
            if None in fields:
                continue
            name = self.class_key(small.targets[0].target.value)
            self.namedtuples[name] = fields
            for field_name in fields:
                self.attribute_owners.setdefault(field_name, set()).add(name)

    def _reference(self, node: cst.CSTNode) -> None:
        """Remember every spelling of GRU/GRUCell, with what it resolves to."""
        if isinstance(node, cst.Attribute):
            word = node.attr.value
        elif isinstance(node, cst.Name):
            word = node.value
            if word not in GRU_NAMES and word not in self.imports:
                return  # most names: asked before the parent is looked up
            parent = self.parents.get(node)
            if isinstance(parent, cst.Attribute) and parent.attr is node:
                return
        else:
            return
        if word in GRU_NAMES or (isinstance(node, cst.Name) and word in self.imports):
            name = qualify(node, self.imports, self.module_names)
            if name is not None and name.rsplit(".", 1)[-1] in GRU_NAMES:
                self.flow.references.append((node, name))

    def _enclosing_method(self, node: cst.CSTNode, methods: dict, enclosing: dict) -> Optional[FunctionInfo]:
        """The method of `methods` whose body holds `node` (the nearest function or class around
        it); `enclosing` remembers the answer for every node climbed, so each is climbed once."""
        climbed = []
        current = self.parents.get(node)
        while current is not None and type(current) is not cst.FunctionDef and type(current) is not cst.ClassDef:
            if id(current) in enclosing:
                found = enclosing[id(current)]
                break
            climbed.append(current)
            current = self.parents.get(current)
        else:
            found = methods.get(id(current)) if current is not None else None
        for above in climbed:
            enclosing[id(above)] = found
        return found

    def _add_function(self, node: cst.FunctionDef, class_name: Optional[str]) -> None:
        params = list(node.params.posonly_params) + list(node.params.params)
        decorators = {
            d.decorator.value for d in node.decorators if isinstance(d.decorator, cst.Name)
        }
        self_name = None
        if class_name is not None and "staticmethod" not in decorators and params:
            self_name = params[0].name.value
            params = params[1:]
        params = params + list(node.params.kwonly_params)
        info = FunctionInfo(
            key=FunctionKey(class_name, node.name.value, self.key),
            node=node,
            class_name=class_name,
            self_name=self_name,
            params=[Parameter(p.name.value, p) for p in params],
        )
        self.flow.add_function(info)
        for decorator in node.decorators:
            if qualify(decorator.decorator, self.imports, set()) in TORCHSCRIPT_DECORATORS:
                self.flow.torchscript[info.key] = self.module.code_for_node(decorator.decorator)


def _plain_parameters(params: cst.Parameters) -> bool:
    """Only positional parameters that a call may also give by name (`lambda o, h: ...`)."""
    return not (params.posonly_params or params.kwonly_params or params.star_kwarg is not None or isinstance(params.star_arg, (cst.Param, cst.ParamStar)))
