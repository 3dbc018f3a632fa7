"""Names that hold a class or function of the program and are only called: a lookup kept in a
local (`agent_cls = REGISTRY[args.agent]` … `agent_cls(shape, **vars(args))`), a class given by
name (`cls = RNNAgent`) or by another such name (`make = policy_cls`), a parameter every caller
gives one (`Trainer(policy, RolloutBuffer)` … `self.buffer = buffer_cls(T, N, H)`; `def
build(cls, *a, **kw): return cls(*a, **kw)` called as `build(RNNAgent, ...)`; a callback,
`Runner(policy).run(step_fn, 5)` … `step_fn(policy, obs, h)`), and an attribute of `self` stored
once (`self.policy_cls = policy_cls` … `self.policy_cls(5)` in another method).

A call through such a name is a call of each class or function it may hold, as a call through a
registry lookup is (registries.py makes one union of both); what is handed to it is no crossing
(boundary.py). A name is held so only when everything it may hold is known:

- it is a local of a function of the program or a parameter of a plain function, of a class's
  `__init__`, or of a method no other class of the program defines (none decorated), bound once
  (`name = E`) or by its callers only;
- every other mention of it in that function is a call of it (`name(...)`), an `is None` test, or
  an argument given to a parameter, or the value of a name or `self.` attribute (`make = name`),
  that is itself such a name; never inside a nested function or lambda, never stored, returned
  or rebound;
- an attribute: every mention of its name in the program is `self.name(...)` or the one
  `self.name = E` in a method of its class, besides a default `name = E` in the body of that class
  itself (no string, other class body or other object names it, and no attribute is written by a
  computed name, `setattr(o, k, v)`, `__dict__`);
- what it is bound to is a class or function of the program by name, a lookup of a registry that
  registries.py follows (`R[k]`, `R.get(k)`, `R.get(k, D)`), or another such name;
- for a parameter: every mention of its function (or class) in the program is a call that gives
  it one of those explicitly (or leaves it to a default that is one; a default other than None is
  one of its sources whether or not a call found leaves it; a default of None left by a call is
  none when the parameter is called or handed on only under `if name is not None:`), never a `*` or `**`
  argument that may hold it, and the function is never used as a value; a method's every
  mention by its name is such a call on an object known to be of its class before the walk
  (`Runner(...).run(...)`, `runner.run(...)` of a name bound once to `Runner(...)`,
  `self.run(...)`, `self.runner.run(...)`), and no string spells it.

Anything else leaves the name an unknown value, as before: the classes handed to it stay
crossings (G2L101) and the calls through it are not followed.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from gru2lstm.program import Definition, DefinitionKind, FunctionInfo, ProgramFlow, class_key
from gru2lstm.summaries import bound_once
from gru2lstm.syntax import attribute_root, constant_string, is_none, names_bound_in, walk
from gru2lstm.values import AttrSlot
from gru2lstm.vocab import ATTRIBUTE_WRITERS, REGISTRY_LOOKUP_METHODS

_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
_BUILTINS = frozenset(dir(builtins))  # `print`, `len`: called names that hold no class of the program


@dataclass
class HeldName:
    """A local name or parameter of one function that may hold only classes or functions of the program."""

    function: FunctionInfo
    name: str
    parameter: Optional[cst.Param] = None  # when it is one
    owner: Optional[str] = None  # the class, when it is an attribute (`self.policy_cls`: `name` spells it)
    sources: list = field(default_factory=list)  # [(expression, its module, the function it is read in or None)] bound to it
    calls: list = field(default_factory=list)  # the `name` nodes called (`name(...)`)
    handed: list = field(default_factory=list)  # the mentions that give it on: an argument to a function of the program, `alias = name`
    members: list = field(default_factory=list)  # [Definition] it may hold, once settled
    held: bool = True  # everything it may hold is known
    defaulted: bool = False  # an attribute given a default in its class's body (`policy_cls = Policy`)
    none_guarded: bool = False  # a parameter defaulting to None that is called or handed on only under `if name is not None:`


def candidate_names(flow: ProgramFlow, modules: list) -> list:
    """The names of the program's functions that are called, or given to a parameter that is
    one, and whose every mention in their function is known (the first condition of the module
    docstring); their sources are what is assigned to them, or what the callers of a parameter
    give it (`_bind_callers`)."""
    mentions = [_Mentions(index) for index in modules]
    found = _called_names(flow, mentions) + _called_attributes(flow, mentions)
    frontier = found
    infos = {id(info.node): info for info in flow.functions.values()}
    mentions_of = {module.index.key: module for module in mentions}
    while frontier:
        _bind_callers(flow, mentions, frontier)
        _bind_attributes(flow, mentions, frontier)
        known = {(id(held.function.node), held.name) for held in found}
        handed = {
            (id(scope), expression.value): scope
            for held in frontier for expression, _, scope in held.sources
            if isinstance(expression, cst.Name) and scope is not None and id(scope) in infos
        }
        attributes = {_attribute_of(held) for held in found if held.owner is not None}
        read = [
            (info, expression.attr.value) for held in frontier for expression, _, scope in held.sources
            for info in [_self_attribute(flow, infos.get(id(scope)), expression)] if info is not None
        ]
        frontier = []
        for (scope_id, name), scope in handed.items():
            info = infos[scope_id]
            held = _held_name(info, name, mentions_of[info.module]) if (scope_id, name) not in known else None
            if held is not None:
                frontier.append(held)
        for info, name in read:
            if (info.class_name, name) not in attributes:
                attributes.add((info.class_name, name))
                frontier.append(HeldName(info, f"{info.self_name}.{name}", owner=info.class_name))
        found = found + frontier
    return found


class _Mentions:
    """One module's names, attributes and strings by the word each spells (a name, an attribute's
    name, a string's value), with their parents, and the names and `x.name` attributes it calls:
    one walk of the module's nodes serves every round of the search."""

    def __init__(self, index) -> None:
        self.index = index
        self.words: dict = {}  # word -> [(position, node, parent)] in the parent map's order
        self.called_names: list = []  # `name(...)`
        self.called_attributes: list = []  # `x.name(...)`, x a name
        self.scopes: dict = {}  # id(node) -> the scope around it (`scope_of`)
        self.bound: dict = {}  # id(function) -> the names it binds (`_binds`)
        for position, (node, parent) in enumerate(index.parents.items()):
            kind = type(node)  # children.py: why `type`
            if kind is cst.Name:
                word = node.value
                if type(parent) is cst.Call and parent.func is node:
                    self.called_names.append(node)
            elif kind is cst.Attribute:
                word = node.attr.value
                if type(parent) is cst.Call and parent.func is node and type(node.value) is cst.Name:
                    self.called_attributes.append(node)
            elif kind is cst.SimpleString:
                word = constant_string(node)
            else:
                continue
            if word is not None:
                self.words.setdefault(word, []).append((position, node, parent))

    def scope_of(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The function, lambda, class or module around `node`; every node climbed to it is
        remembered, so each is climbed once however many of its names are asked about."""
        climbed, current = [], self.index.parents.get(node)
        while current is not None and id(current) not in self.scopes and not isinstance(current, _SCOPES + (cst.Module,)):
            climbed.append(current)
            current = self.index.parents.get(current)
        scope = self.scopes[id(current)] if current is not None and id(current) in self.scopes else current
        for between in climbed:
            self.scopes[id(between)] = scope
        return scope

    def spelling(self, words) -> list:
        """(node, parent) of each mention that spells one of `words`, in the parent map's order."""
        found = sorted((mention for word in words for mention in self.words.get(word, ())), key=lambda mention: mention[0])
        return [(node, parent) for _, node, parent in found]


def _called_names(flow: ProgramFlow, mentions: list) -> list:
    """The names called in the program's functions that may hold classes (`_held_name`)."""
    found = []
    for module in mentions:
        index = module.index
        infos = {id(info.node): info for info in flow.functions.values() if info.module == index.key}
        parameters = {param.name for info in infos.values() for param in info.params}
        outside = index.module_names | set(index.imports) | _BUILTINS
        called = {}  # (id(function node), name) -> function node
        for node in module.called_names:
            if node.value in parameters or node.value not in outside:  # not a global's or a builtin's call
                function = module.scope_of(node)
                if isinstance(function, cst.FunctionDef):
                    called[(id(function), node.value)] = function
        for (function_id, name), function in called.items():
            info = infos.get(function_id)
            if info is None:
                continue
            if name not in {param.name for param in info.params} and (name in index.module_names or name in index.imports or name in _BUILTINS):
                continue  # a global or a builtin, unless the function binds it (then it stays unknown)
            held = _held_name(info, name, module)  # None for a name the function does not bind once (a closure's)
            if held is not None:
                found.append(held)
    return found


def _called_attributes(flow: ProgramFlow, mentions: list) -> list:
    """`self.policy_cls(...)` in a method of a class, where no class of the program has a method
    or property of that name: one candidate per class and attribute (`_bind_attributes`)."""
    found = {}  # (class, attribute) -> HeldName
    for module in mentions:
        index = module.index
        infos = {id(info.node): info for info in flow.functions.values() if info.module == index.key and info.self_name is not None}
        for node in module.called_attributes:
            info = _self_attribute(flow, infos.get(id(module.scope_of(node))), node)
            name = node.attr.value
            if info is not None and (info.class_name, name) not in found:
                found[(info.class_name, name)] = HeldName(info, f"{info.self_name}.{name}", owner=info.class_name)
    return list(found.values())


def _attribute_of(held: HeldName) -> tuple:
    """(class, attribute name) of a name that is an attribute of `self`."""
    return held.owner, held.name.rpartition(".")[2]


def _self_attribute(flow: ProgramFlow, info: Optional[FunctionInfo], expression: cst.CSTNode) -> Optional[FunctionInfo]:
    """`info`, when `expression` read in its method is an attribute of its `self` that no class
    of the program has a method or property of (`make = self.policy_cls`): a candidate in turn."""
    if info is None or info.self_name is None or not isinstance(expression, cst.Attribute) or not isinstance(expression.value, cst.Name):
        return None
    name = expression.attr.value
    if expression.value.value != info.self_name or name in flow.methods_by_name or name in flow.property_names:
        return None
    return info


def _bind_attributes(flow: ProgramFlow, mentions: list, names: list) -> None:
    """The source and the calls of each attribute among `names`: every mention of its name in the
    program must be `self.name(...)` or the one `self.name = E`, in a method of its class; a
    string spelling it, a binding in a class body (a default, a subclass's), an attribute written
    by a computed name anywhere (`setattr(o, k, v)`, `__dict__`), or any other use leaves it unknown."""
    by_name = {_attribute_of(held)[1]: held for held in names if held.owner is not None}
    if not by_name:
        return
    infos = {id(info.node): info for info in flow.functions.values()}
    for module in mentions:
        index = module.index
        for node, parent in module.spelling(set(by_name) | ATTRIBUTE_WRITERS):
            if isinstance(node, cst.SimpleString) and constant_string(node) in by_name:
                by_name[constant_string(node)].held = False
            if _writes_by_computed_name(node, parent):
                for held in by_name.values():
                    held.held = False
            if isinstance(node, cst.Name) and node.value in by_name and isinstance(module.scope_of(node), cst.ClassDef):
                held = by_name[node.value]
                default = _class_default(module, node, parent, held.owner)
                if default is not None:  # `policy_cls = Policy` in the body of its own class: what it holds until stored
                    held.sources.append((default, index.key, None))
                    held.defaulted = True
                else:
                    held.held = False  # in another class's body (a subclass's), or not a plain assignment
            if not (isinstance(node, cst.Attribute) and node.attr.value in by_name):
                continue
            held = by_name[node.attr.value]
            function = module.scope_of(node)
            info = infos.get(id(function))
            if info is None or info.class_name != held.owner or not (isinstance(node.value, cst.Name) and node.value.value == info.self_name):
                held.held = False  # read on another object, or in a method of another class
            elif isinstance(parent, cst.Call) and parent.func is node:
                held.calls.append(node)
            elif isinstance(parent, cst.AssignTarget) and isinstance(index.parents.get(parent), cst.Assign) and len(index.parents[parent].targets) == 1:
                held.sources.append((index.parents[parent].value, index.key, function))
            elif isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
                held.handed.append(node)  # `make = self.policy_cls`: held when that name is
            else:
                held.held = False
    for held in by_name.values():
        if not held.sources or len(held.sources) - held.defaulted > 1:
            held.held = False  # stored twice, or never (a value given from outside)


def _class_default(module: _Mentions, node: cst.Name, parent: cst.CSTNode, owner: Optional[str]) -> Optional[cst.BaseExpression]:
    """The value of `name = E`, alone on its line in the body of the class `owner` itself, when
    `node` is its target; else None."""
    body = module.scope_of(node)
    assign = module.index.parents.get(parent)
    if not (isinstance(parent, cst.AssignTarget) and parent.target is node and isinstance(assign, cst.Assign) and len(assign.targets) == 1):
        return None
    if not isinstance(body, cst.ClassDef) or class_key(module.index.key, body.name.value) != owner:
        return None
    return assign.value


def _held_name(info: FunctionInfo, name: str, module: _Mentions) -> Optional[HeldName]:
    """`name` of `info`'s function, when each of its mentions there is one the module docstring allows."""
    index = module.index
    function = info.node
    parameter = next((param.node for param in info.params if param.name == name), None)
    if parameter is not None and (function.decorators or not _callers_known(info, index.flow)):
        return None  # its callers could not all be known
    held = HeldName(info, name, parameter)
    for node in walk(function):
        if not isinstance(node, cst.Name) or node.value != name:
            continue
        parent = index.parents.get(node)
        if _spelled(node, parent):
            continue
        if isinstance(parent, cst.Param):
            if parent is not parameter:
                return None  # a parameter of something nested, or `*name`
            continue
        if module.scope_of(node) is not function:
            return None
        if not _known_mention(held, node, parent, index.parents, index.key):
            return None
    if parameter is None and len(held.sources) != 1:
        return None  # bound by something else too (a loop, `global`, a tuple target), or never
    if parameter is not None and held.sources:
        return None  # a parameter rebound
    if parameter is not None and parameter.default is not None and is_none(parameter.default):
        held.none_guarded = all(_under_not_none_test(mention, name, index.parents, function) for mention in held.calls + held.handed)
    return held


def _under_not_none_test(node: cst.CSTNode, name: str, parents: dict, function: cst.FunctionDef) -> bool:
    """Is `node` in the body of an `if name is not None:` of `function` (None never reaches it)?"""
    child, current = node, parents.get(node)
    while current is not None and current is not function:
        if isinstance(current, cst.If) and child is current.body:
            test = current.test
            if (
                isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and test.left.value == name
                and len(test.comparisons) == 1 and isinstance(test.comparisons[0].operator, cst.IsNot)
                and is_none(test.comparisons[0].comparator)
            ):
                return True
        child, current = current, parents.get(current)
    return False


def _callers_known(info: FunctionInfo, flow: ProgramFlow) -> bool:
    """Can every call of the function be found by its name: a plain function, a class's `__init__`
    (calls of the class), or a method that no other class of the program defines (`x.run(...)`)?"""
    name = info.node.name.value
    if info.class_name is None or name == "__init__":
        return True
    return not name.startswith("__") and len(flow.methods_by_name.get(name, ())) == 1


def _spelled(node: cst.Name, parent: cst.CSTNode) -> bool:
    """Is the name no variable: `.attr`, `keyword=`, a definition's name?"""
    return (
        isinstance(parent, cst.Attribute) and parent.attr is node
        or isinstance(parent, cst.Arg) and parent.keyword is node
        or isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is node
    )


def _known_mention(held: HeldName, node: cst.Name, parent: cst.CSTNode, parents: dict, module: str) -> bool:
    if isinstance(parent, cst.Call) and parent.func is node:
        held.calls.append(node)
        return True
    if isinstance(parent, cst.AssignTarget):
        assign = parents.get(parent)
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            held.sources.append((assign.value, module, held.function.node))
            return True
        return False
    if isinstance(parent, cst.Comparison) and parent.left is node:
        return all(isinstance(t.operator, (cst.Is, cst.IsNot)) and is_none(t.comparator) for t in parent.comparisons)
    if isinstance(parent, cst.Arg) and parent.value is node and not parent.star:
        call = parents.get(parent)
        if isinstance(call, cst.Call) and parent in call.args:
            held.handed.append(node)
            return True
    if isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1 and _is_held_place(held, parent.targets[0].target):
        held.handed.append(node)  # `make = policy_cls`, `self.policy_cls = policy_cls`: held in turn when only called
        return True
    return False


def _writes_by_computed_name(node: cst.CSTNode, parent: cst.CSTNode) -> bool:
    """`setattr(o, k, v)` with `k` not written out, or `o.__dict__`: any attribute may be written there."""
    if isinstance(node, cst.Attribute):
        return node.attr.value in ATTRIBUTE_WRITERS
    if not isinstance(node, cst.Name) or node.value not in ATTRIBUTE_WRITERS or _spelled(node, parent):
        return False
    named = isinstance(parent, cst.Call) and parent.func is node and len(parent.args) == 3 and constant_string(parent.args[1].value) is not None
    return not named  # a name written out is judged as a string spelling the attribute


def _is_held_place(held: HeldName, target: cst.BaseExpression) -> bool:
    """A target that may hold a class in turn: a name, or an attribute of the method's `self`."""
    self_name = held.function.self_name
    return isinstance(target, cst.Name) or (
        isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and self_name is not None and target.value.value == self_name
    )


def _bind_callers(flow: ProgramFlow, mentions: list, names: list) -> None:
    """The sources of each parameter among `names`: what each call of its function gives it.
    `mentions`: each module's `_Mentions`."""
    by_definition = {}  # Definition of a function or class -> [HeldName of its parameters]
    by_method = {}  # name of a method other than __init__ -> [HeldName of its parameters]
    for held in names:
        if held.parameter is None:
            continue
        default = held.parameter.default
        if default is not None and not is_none(default):
            # what a call may leave to it, whether or not one of the calls found does (an entry point's)
            held.sources.append((default, held.function.module, None))
        info = held.function
        if info.class_name is not None and info.node.name.value != "__init__":
            by_method.setdefault(info.node.name.value, []).append(held)
            continue
        definition = (
            Definition(DefinitionKind.FUNCTION, info.key) if info.class_name is None
            else Definition(DefinitionKind.CLASS, info.class_name)
        )
        by_definition.setdefault(definition, []).append(held)
    if not by_definition and not by_method:
        return
    spelled = {definition.key.name if definition.kind == DefinitionKind.FUNCTION else definition.key.rpartition(":")[2] for definition in by_definition}
    for module in mentions:
        index = module.index
        # the names that may be a definition here: its own, and what imports it under another
        names = spelled | {alias for alias in flow.module_imports.get(index.key, {}) if flow.lookup(index.key, alias) in by_definition}
        for node, parent in module.spelling(names | set(by_method)):
            if isinstance(node, cst.SimpleString) and constant_string(node) in by_method:
                for held in by_method[constant_string(node)]:
                    held.held = False  # `getattr(runner, "run")`: a call not seen by its name
            if isinstance(node, cst.Attribute) and node.attr.value in by_method:
                for held in by_method[node.attr.value]:  # `Runner(policy).run(step_fn, 5)`, `self.run(...)`
                    called = isinstance(parent, cst.Call) and parent.func is node
                    owner = _receiver_class(flow, module, node.value) if called else None
                    if owner is not None and flow.method(owner, node.attr.value) is held.function:
                        _given(held, parent, index.key, module.scope_of(node))
                    else:
                        held.held = False  # `cb = runner.run`, or on an object not known to be one
            mention = node.value if isinstance(node, cst.Name) else node.attr.value if isinstance(node, cst.Attribute) else None
            if mention not in names or isinstance(parent, cst.Attribute) and parent.attr is node:
                continue
            if isinstance(parent, (cst.ImportAlias, cst.AsName)) or isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is node:
                continue  # the import or the definition itself
            found = _resolved(module, node, parent)
            for held in by_definition.get(found, ()) if found is not None else ():
                if isinstance(parent, cst.Call) and parent.func is node:
                    _given(held, parent, index.key, module.scope_of(node))
                else:
                    held.held = False  # used as a value: called where the walk cannot see


def _receiver_class(flow: ProgramFlow, module: _Mentions, node: cst.BaseExpression) -> Optional[str]:
    """The program class of the object a method is called on, when known before the walk: one
    made there (`Runner(policy).run`) or kept in a name bound once to one, `self` in a method, or
    `self.runner` that holds one."""
    made = node.func if isinstance(node, cst.Call) else None
    if made is not None:
        found = module.index.resolve(made)
        return found.key if found is not None and found.kind == DefinitionKind.CLASS else None
    function = module.scope_of(node)
    info = next((info for info in flow.functions.values() if info.node is function), None) if isinstance(function, cst.FunctionDef) else None
    if isinstance(node, cst.Name) and (info is None or node.value != info.self_name):
        # `runner = Runner(agent)` … `runner.run(step_fn)`: a name bound once, to an object made there
        params = [param.name for param in info.params] if info is not None else []
        value = bound_once(list(walk(function)), params).get(node.value) if node.value not in params else None
        return _receiver_class(flow, module, value) if isinstance(value, cst.Call) else None
    if info is None or info.self_name is None:
        return None
    if isinstance(node, cst.Name) and node.value == info.self_name:
        return info.class_name
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == info.self_name:
        return flow.instance_class.get(AttrSlot.of(info.class_name, node.attr.value))
    return None


def _resolved(module: _Mentions, node: cst.CSTNode, parent: cst.CSTNode) -> Optional[Definition]:
    """What a mention of a name is at the top of its module, unless a function around it binds
    that name itself (then it is another value)."""
    if isinstance(parent, cst.Attribute) and parent.value is node and isinstance(node, cst.Name):
        return None  # `mod` of `mod.f`: the whole attribute is resolved
    found = module.index.resolve(node)
    if found is None or found.kind == DefinitionKind.MODULE:
        return None
    root = attribute_root(node)
    scope = module.scope_of(node)
    while isinstance(scope, (cst.FunctionDef, cst.Lambda)):
        if isinstance(scope, cst.FunctionDef) and isinstance(root, cst.Name) and _binds(module.bound, scope, root.value):
            return None
        scope = module.scope_of(scope)
    return found


def _given(held: HeldName, call: cst.Call, module: str, scope: Optional[cst.CSTNode]) -> None:
    """What `call` gives `held`'s parameter: an argument named or at its position, else its default."""
    function = held.function
    keyword_only = {id(param) for param in function.node.params.kwonly_params}
    positionals = [param.node for param in function.params if id(param.node) not in keyword_only]
    position = positionals.index(held.parameter) if held.parameter in positionals else None  # None: keyword-only
    positional = 0
    for arg in call.args:
        if arg.star == "*":
            if position is not None and positional <= position:
                held.held = False  # it may be in there
                return
            continue
        if arg.star == "**":
            continue
        if (arg.keyword is not None and arg.keyword.value == held.name) or (arg.keyword is None and positional == position):
            held.sources.append((arg.value, module, scope if isinstance(scope, cst.FunctionDef) else None))
            return
        if arg.keyword is None:
            positional += 1
    if any(arg.star == "**" for arg in call.args) or held.parameter.default is None:
        held.held = False  # it may be in there, or the GRU program could not have run this call
        return
    if is_none(held.parameter.default) and not held.none_guarded:
        held.sources.append((held.parameter.default, held.function.module, None))  # no class: the name is not held


def settle(modules: list, names: list, registry_of) -> list:
    """The names that hold classes, with their members; `registry_of(node)`: the members of a
    followed registry that a lookup node reads, or None. Names whose sources are not all known
    are dropped, and so, in turn, are the names that read or receive them."""
    index_of = {index.key: index for index in modules}
    by_place = {(id(held.function.node), held.name): held for held in names}
    by_place.update((id(node), held) for held in names if held.owner is not None for node in held.handed)  # `make = self.policy_cls`
    bound: dict = {}  # id(function) -> the names it binds, read once for every round
    receivers = {}  # id(argument) -> the HeldName parameter it is given to
    for held in names:
        for expression, _, _ in held.sources:
            receivers[id(expression)] = held
    changed = True
    while changed:
        changed = False
        for held in names:
            if not held.held:
                continue
            members = []
            for expression, module, scope in held.sources:
                found = _source_members(expression, index_of[module], scope, by_place, registry_of, bound)
                if found is None:
                    held.held = False
                    break
                members.extend(found)
            if held.held and not all(id(node) in receivers and receivers[id(node)].held for node in held.handed):
                held.held = False  # given to something that is no such name
            if not held.held:
                changed = True
                continue
            members = list(dict.fromkeys(members))
            if members != held.members:
                held.members = members
                changed = True
    return [held for held in names if held.held and held.members]


def _binds(bound: dict, function: cst.CSTNode, name: str) -> bool:
    """Does `function` bind `name` anywhere inside it? `bound`: id(function) -> the names it binds,
    filled as asked (a big function's mentions would each walk it again)."""
    if id(function) not in bound:
        bound[id(function)] = names_bound_in(function)
    return name in bound[id(function)]


def _source_members(expression: cst.CSTNode, index, scope, by_place: dict, registry_of, bound: dict) -> Optional[list]:
    """The classes and functions an expression bound to a held name may be; None when not known.
    `by_place`: the names by (function, name), and the attributes of `self` by each read of them
    that a name holds in turn; `bound`: the names each function binds, filled as they are needed."""
    if isinstance(expression, cst.Name) and scope is not None and _binds(bound, scope, expression.value):
        other = by_place.get((id(scope), expression.value))
        return other.members if other is not None and other.held else None
    if isinstance(expression, cst.Attribute) and id(expression) in by_place:
        other = by_place[id(expression)]
        return other.members if other.held else None
    members = registry_of(expression)
    if members is not None:
        return members
    if isinstance(expression, (cst.Name, cst.Attribute)):
        found = index.resolve(expression)
        if found is not None and found.kind != DefinitionKind.MODULE:
            return [found]
    return None


def lookup_nodes(names: list) -> set:
    """The ids of the registry lookups bound to candidate names (`cls = R[k]`, `cls = R.get(k)`):
    registries.py takes them as known mentions while the names may hold classes."""
    found = set()
    for held in names:
        for expression, _, _ in held.sources:
            if isinstance(expression, cst.Subscript):
                found.add(id(expression))
            elif isinstance(expression, cst.Call) and isinstance(expression.func, cst.Attribute) and expression.func.attr.value in REGISTRY_LOOKUP_METHODS:
                found.add(id(expression))
    return found
