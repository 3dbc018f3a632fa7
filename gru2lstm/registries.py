"""Registries: module-level dicts and lists of the program's own classes and functions, looked up
later and called (`REGISTRY["rnn"] = RNNAgent` … `REGISTRY[args.agent](shape, args)`).

A registry is followed when it is looked up and called somewhere in the analysed code, and every
store into it is known: it is a literal at the top of its module
(`R = {}`, `R = {"rnn": RNNAgent}`, `R = [A, B]`, or a comprehension over a literal that stores
each element as it is, `R = {cls.__name__: cls for cls in [A, B]}`), and every other mention of it in the program is
a store of a class or function of the program (`R["rnn"] = RNNAgent`, `R.append(A)`), a lookup
called right away (`R[name](...)`, `R.get(name)(...)`, `R.get(name, Default)(...)`, the default a
member too), a key test (`name in R`, `R.keys()`) or an import. A call through a lookup of a
followed registry makes an instance of (or calls) each of its members; the walk follows them all
(calls.py), and the stores are then no crossing (boundary.py).

A registry filled by a decorator is followed the same way: the store `R[name] = cls` is in a
function that gives back its parameter `cls` (`def deco(cls): R[name] = cls; return cls`), at
the top of its module or returned by one (`def register(name): ... return deco`); its members are
the classes and functions decorated with it (`@deco`, `@register("rnn")`), as long as every other
mention of it in the program is its definition or an import.

A lookup kept in a name that is only called (`cls = R[name]` … `cls(...)`, held_classes.py) is a
lookup too: the calls through the name make the registry's members, and a name that turns out to
hold something else leaves the registry unfollowed. An attribute of `self` given what such a
call makes, also through a builder of the program (`self.agent = build(cls, 4)`), holds an
instance of each member before the walk. The attribute a function looks a followed registry up
by (`args.agent` of `R.get(args.agent)`) holds a key there (`Registries.keys`), not the
attribute of that name of the one class of the program that has one.

Anything else — the registry passed out, merged with `**`, mutated by code that cannot be read,
assigned again, a lookup kept in a name used otherwise, an attribute spelled like it —
leaves it unfollowed, and the classes stored into it stay crossings (G2L101) at their places.
A literal whose classes all come from files not migrated with it (`REGISTRY = {"episode":
EpisodeRunner}` in a package's `__init__`) is such a registry: a call through a lookup of it names
the file, so the group is migrated again with it (engine.py) and the registry followed there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst

from gru2lstm.children import children
from gru2lstm.held_classes import HeldName, candidate_names, lookup_nodes, settle
from gru2lstm.qualnames import dotted
from gru2lstm.program import Definition, DefinitionKind, FunctionInfo, ProgramFlow
from gru2lstm.syntax import code_of, constructor_call, enclosing_function, names_bound_in, slice_expression, walk
from gru2lstm.values import AttrSlot, GlobalSlot
from gru2lstm.vocab import REGISTRY_KEY_METHODS, REGISTRY_LOOKUP_METHODS, REGISTRY_STORE_METHODS


@dataclass
class Registry:
    """One module-level dict or list of the program's classes or functions."""

    slot: GlobalSlot
    members: list = field(default_factory=list)  # [Definition] of what is stored into it, in order
    stores: list = field(default_factory=list)  # the expressions stored (literal elements, `R[k] = X`)
    lookups: list = field(default_factory=list)  # the `R[k]` subscripts that are called right away
    kept_lookups: list = field(default_factory=list)  # the lookups kept in a name that is only called (held_classes.py)
    definition: Optional[cst.Assign] = None  # `R = {...}` at the top of its module
    followed: bool = True  # every store into it is known
    places: list = field(default_factory=list)  # files not migrated with it that stored names come from
    decorators: list = field(default_factory=list)  # Decorators that store what they decorate into it


@dataclass
class Registries:
    """Every registry of the program, and what the walk needs of the followed ones."""

    by_slot: dict = field(default_factory=dict)  # GlobalSlot -> Registry
    # id(`R[k]` subscript, or a name that holds classes) -> the followed Registry, or the HeldName
    lookups: dict = field(default_factory=dict)
    followed_stores: set = field(default_factory=set)  # ids of expressions stored into a followed registry
    instances: dict = field(default_factory=dict)  # slot -> class keys it may hold (made through a lookup)
    places: dict = field(default_factory=dict)  # id(stored expression or class decorator) -> a file not migrated with it that it involves
    # id(function node) -> the attributes of a parameter it looks up a followed registry by
    # (`args.agent` of `R.get(args.agent)`): each names a member, it holds no object of the program
    keys: dict = field(default_factory=dict)

    def names_a_key(self, function: cst.FunctionDef, spelling: Optional[str]) -> bool:
        """Is `spelling` (`args.agent`) read in `function` as the key of a followed lookup?"""
        return spelling in self.keys.get(id(function), ())

    def lookup(self, node: cst.CSTNode) -> Optional[Union[Registry, HeldName]]:
        """The followed registry `R` of a call's callee `R[k]`, or the name that holds classes
        called (`agent_cls`), or None."""
        return self.lookups.get(id(node))

    def classes_made(self, registry: Union[Registry, HeldName]) -> tuple:
        """The classes a call through a lookup makes an instance of; () when a function is stored
        too (what it returns is not an instance the walk knows)."""
        if any(member.kind != DefinitionKind.CLASS for member in registry.members):
            return ()
        return tuple(dict.fromkeys(member.key for member in registry.members))


def find_registries(flow: ProgramFlow, modules: list) -> Registries:
    """The registries of the program, once every module's definitions are indexed. `modules`: the
    definitions.ModuleIndex of each module (its key, parent map, and names from outside)."""
    found = Registries()
    stores = _Stores(flow, {module.key: module.outside for module in modules})
    held = candidate_names(flow, modules)
    stores.kept = lookup_nodes(held)
    for index in modules:
        _outside_holders(stores, index, found)
    for index in modules:
        for statement in index.module.body:
            registry = _literal_registry(stores, index.key, statement)
            if registry is not None:
                if registry.slot in found.by_slot:
                    found.by_slot[registry.slot].followed = False  # assigned twice
                else:
                    found.by_slot[registry.slot] = registry
    for index in modules if found.by_slot else ():
        _classify_mentions(stores, index.key, index.parents, found.by_slot)
    if any(registry.decorators for registry in found.by_slot.values()):
        for index in modules:
            _decorated(stores, index, found.by_slot)
    names = _settled_names(modules, held, found.by_slot)
    for registry in found.by_slot.values():
        if registry.followed and registry.members and (registry.lookups or registry.kept_lookups):
            found.followed_stores.update(id(node) for node in registry.stores)
            found.lookups.update((id(node), registry) for node in registry.lookups)
        elif registry.places:  # the wider attempt, with that file, may follow it (engine.py)
            kept = {id(node) for node in registry.kept_lookups}
            calls = [call for name in held if any(id(source) in kept for source, _, _ in name.sources) for call in name.calls]
            found.places.update((id(node), registry.places[0]) for node in registry.stores + registry.lookups + calls)
    for name in names:
        found.followed_stores.update(id(source) for source, _, _ in name.sources)
        found.lookups.update((id(call), name) for call in name.calls)
    followed = [registry for registry in found.by_slot.values() if registry.followed and registry.members]
    kept = {id(source) for name in names for source, _, _ in name.sources}
    _key_spellings(modules, [node for registry in followed for node in registry.lookups + registry.kept_lookups if id(node) in found.lookups or id(node) in kept], found)
    _attribute_instances(flow, found)
    return found


def _key_spellings(modules: list, lookups: list, found: Registries) -> None:
    """The attributes that a function looks up a followed registry by (`args.agent`,
    `self.args.agent`). The lookup finds a member only by a key the registry was filled with, so
    what the spelling reads there is a key, no object of the program, however its attribute is
    named (`args.agent` beside `self.agent`); only where the function neither rebinds the
    parameter it starts from nor writes the attribute or one it is read through, but with a
    parameter it never rebinds (`self.args = args`: what is read through both is the same)."""
    for index in modules:
        for lookup in (lookup for lookup in lookups if lookup in index.parents):
            key = lookup.args[0].value if isinstance(lookup, cst.Call) else slice_expression(lookup.slice[0]) if len(lookup.slice) == 1 else None
            spelling = dotted(key) if isinstance(key, cst.Attribute) else None
            function = enclosing_function(index.parents, lookup)
            if spelling is None or function is None:
                continue
            root = spelling.partition(".")[0]
            parameters = {param.name.value for param in walk(function.params) if isinstance(param, cst.Param)}
            rebound = names_bound_in(function.body)
            written = any(
                isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)) and f"{spelling}.".startswith(f"{code_of(node.target)}.")
                and not _copies_a_parameter(index.parents.get(node), parameters - rebound)
                for node in walk(function.body)
            )
            if root in parameters and root not in rebound and not written:
                found.keys.setdefault(id(function), set()).add(spelling)


def _copies_a_parameter(statement: Optional[cst.CSTNode], parameters: set) -> bool:
    """Is `statement` `self.args = args`, of one target, with `args` a parameter the function
    never rebinds: what is read through the attribute is then what is read through the parameter."""
    return (
        isinstance(statement, cst.Assign) and len(statement.targets) == 1
        and isinstance(statement.value, cst.Name) and statement.value.value in parameters
    )


def _settled_names(modules: list, held: list, registries: dict) -> list:
    """The names that hold classes (held_classes.settle); a registry whose lookup is kept in a
    name that turns out not to, is not followed, and the names that read it in turn not held."""
    while True:
        by_lookup = {id(node): registry for registry in registries.values() for node in registry.kept_lookups}

        def members(node: cst.CSTNode) -> Optional[list]:
            registry = by_lookup.get(id(node))
            return registry.members if registry is not None and registry.followed and registry.members else None

        names = settle(modules, held, members)
        lost = {id(source) for name in held if not name.held for source, _, _ in name.sources}
        dropped = [registry for registry in registries.values() if registry.followed and any(id(node) in lost for node in registry.kept_lookups)]
        if not dropped:
            return names
        for registry in dropped:
            registry.followed = False


@dataclass
class _Stores:
    """What a stored expression is: a member of the program, or a name from a file outside it."""

    flow: ProgramFlow
    outside: dict  # module key -> {name: file}
    kept: set = field(default_factory=set)  # ids of the lookups bound to names that may hold classes (held_classes.py)

    def add(self, module: str, registry: Registry, stored: Optional[cst.CSTNode]) -> None:
        member = _member(self.flow, module, stored) if stored is not None else None
        if member is None:
            registry.followed = False
            place = self.outside.get(module, {}).get(stored.value) if isinstance(stored, cst.Name) else None
            if place is not None:
                registry.places.append(place)
            return
        registry.members.append(member)
        registry.stores.append(stored)


def _literal_registry(stores: _Stores, key: str, statement: cst.CSTNode) -> Optional[Registry]:
    """`R = {...}` / `R = [...]` at the top of a module, when every element is a member."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
        return None
    literal = _comprehended(small.value) or small.value
    if not isinstance(literal, (cst.Dict, cst.List, cst.Tuple)):
        return None
    registry = Registry(GlobalSlot.of(key, small.targets[0].target.value), definition=small)
    for element in literal.elements:
        stored = element.value if isinstance(element, (cst.DictElement, cst.Element)) else None
        stores.add(key, registry, stored)
    # `CONFIG = {"lr": 3e-4}` holds none of the program's classes: no registry; one of classes
    # from files not migrated with it is one, unfollowed, so that a call through it names them
    return registry if registry.members or registry.places or not literal.elements else None


def _comprehended(value: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """The literal list or tuple a registry built by a comprehension holds the elements of
    (`{cls.__name__: cls for cls in [A, B]}`: A and B, whatever the keys), else None. Only a single
    `for` over a literal whose element is stored as it is; a filter (`if`) keeps a part of them."""
    if isinstance(value, cst.DictComp):
        stored = value.value
    elif isinstance(value, (cst.ListComp, cst.SetComp)):
        stored = value.elt
    else:
        return None
    loop = value.for_in
    if loop.inner_for_in is not None or loop.asynchronous is not None or not isinstance(loop.target, cst.Name):
        return None
    if not (isinstance(stored, cst.Name) and stored.value == loop.target.value and isinstance(loop.iter, (cst.List, cst.Tuple))):
        return None
    return loop.iter


def _member(flow: ProgramFlow, module: str, node: cst.CSTNode) -> Optional[Definition]:
    """The class or function of the program a name or `module.Name` is, or None."""
    if isinstance(node, cst.Name):
        found = flow.lookup(module, node.value)
    elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        base = flow.lookup(module, node.value.value)
        found = flow.lookup(base.key, node.attr.value) if base is not None and base.kind == DefinitionKind.MODULE else None
    else:
        return None
    return found if found is not None and found.kind != DefinitionKind.MODULE else None


def _classify_mentions(stores: _Stores, key: str, parents: dict, registries: dict) -> None:
    """Every mention of a registry in one module (`parents`: its parent map, every node once): a
    known store, a called lookup, a key read, or something that makes it unfollowed."""
    names = {slot.name: slot for slot in registries if slot.module == key}
    for name, member in stores.flow.module_imports.get(key, {}).items():
        slot = GlobalSlot.of(member.key, member.name) if member.name else None
        if slot in registries:
            names[name] = slot
    spelled = {slot.name for slot in registries}
    for node, parent in parents.items():
        if isinstance(node, cst.Attribute) and node.attr.value in spelled and not isinstance(parent, cst.ImportFrom):
            for slot in registries:  # `agents.REGISTRY`: a path the walk does not resolve here
                if slot.name == node.attr.value:
                    registries[slot].followed = False
        if not isinstance(node, cst.Name) or node.value not in names:
            continue
        registry = registries[names[node.value]]
        grandparent = parents.get(parent)
        above = parents.get(grandparent)
        decorator = _storing_decorator(parents, node, (parent, grandparent, above))
        if decorator is not None:
            registry.decorators.append(Decorator(key, *decorator))
        elif not _known_mention(stores, key, registry, node, (parent, grandparent, above)):
            registry.followed = False


def _known_mention(stores: _Stores, key: str, registry: Registry, node: cst.Name, ancestors: tuple) -> bool:
    """Is this mention of the registry one the walk follows (a store of a member is recorded)?"""
    parent, grandparent, above = ancestors
    if isinstance(parent, (cst.ImportAlias, cst.AsName)) or (isinstance(parent, cst.Attribute) and parent.attr is node):
        return True  # the import itself; `x.R` is judged as an attribute
    if isinstance(parent, cst.AssignTarget) and grandparent is registry.definition:
        return True  # the definition
    if isinstance(parent, cst.ComparisonTarget) and isinstance(parent.operator, (cst.In, cst.NotIn)):
        return True
    if isinstance(parent, cst.Subscript) and parent.value is node:
        if id(parent) in stores.kept:
            registry.kept_lookups.append(parent)  # `cls = R[name]`, `cls` only called
            return True
        if isinstance(grandparent, cst.AssignTarget) and isinstance(above, cst.Assign) and len(above.targets) == 1:
            stores.add(key, registry, above.value)  # `R["rnn"] = RNNAgent`
            return True
        if isinstance(grandparent, cst.Call) and grandparent.func is parent:
            registry.lookups.append(parent)
            return True
        return False
    if isinstance(parent, cst.Attribute) and parent.value is node:
        if parent.attr.value in REGISTRY_KEY_METHODS:
            return True
        kept = id(grandparent) in stores.kept and _plain_lookup(grandparent)
        if parent.attr.value in REGISTRY_LOOKUP_METHODS and (kept or _called_lookup(grandparent, above)):
            (registry.kept_lookups if kept else registry.lookups).append(grandparent)  # `cls = R.get(name)`, `R.get(name)(...)`
            if len(grandparent.args) == 2:
                stores.add(key, registry, grandparent.args[1].value)  # `R.get(name, Default)`: Default may be made too
            return True
        if parent.attr.value in REGISTRY_STORE_METHODS and isinstance(grandparent, cst.Call) and len(grandparent.args) == 1:
            stores.add(key, registry, grandparent.args[0].value)
            return True
    return False


def _called_lookup(call: Optional[cst.CSTNode], above: Optional[cst.CSTNode]) -> bool:
    """Is `call` a `R.get(name)` or `R.get(name, Default)` that is called right away?"""
    return _plain_lookup(call) and isinstance(above, cst.Call) and above.func is call


def _plain_lookup(call: Optional[cst.CSTNode]) -> bool:
    """Is `call` a `R.get(name)` or `R.get(name, Default)`, no keyword, nothing spread?"""
    return isinstance(call, cst.Call) and 1 <= len(call.args) <= 2 and not any(arg.star or arg.keyword for arg in call.args)


def registry_name(lookup: cst.CSTNode) -> Optional[cst.BaseExpression]:
    """The registry `R` of a lookup the walk calls through: `R[name]` or `R.get(name, ...)`; None
    for a name or attribute that holds classes (held_classes.py)."""
    if isinstance(lookup, (cst.Name, cst.Attribute)):
        return None
    return lookup.func.value if isinstance(lookup, cst.Call) else lookup.value


@dataclass(frozen=True)
class Decorator:
    """A function of a module that stores what it decorates into a registry: applied as `@name`,
    or, when `factory`, as `@name(...)` (it returns the function that stores)."""

    module: str
    name: str
    factory: bool


def _storing_decorator(parents: dict, node: cst.Name, ancestors: tuple) -> Optional[tuple]:
    """(name, factory) of the decorator whose `R[key] = cls` this mention of `R` is, or None."""
    parent, grandparent, above = ancestors
    if not (isinstance(parent, cst.Subscript) and parent.value is node and isinstance(grandparent, cst.AssignTarget)):
        return None
    if not (isinstance(above, cst.Assign) and len(above.targets) == 1 and isinstance(above.value, cst.Name)):
        return None
    inner = enclosing_function(parents, above)
    if inner is None or not _gives_back(inner, above.value.value):
        return None
    outer = enclosing_function(parents, inner)
    if outer is None:
        return (inner.name.value, False) if isinstance(parents.get(inner), cst.Module) else None
    returned = [ret.value for ret in _returns(outer)]
    if isinstance(parents.get(outer), cst.Module) and returned and all(isinstance(v, cst.Name) and v.value == inner.name.value for v in returned):
        return outer.name.value, True
    return None


def _returns(function: cst.FunctionDef) -> list:
    """The `return` statements of `function` itself (not of the functions inside it)."""
    found, stack = [], list(children(function.body))
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Return):
            found.append(current)
        elif not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(children(current))
    return found


def _gives_back(function: cst.FunctionDef, name: str) -> bool:
    """Is `name` the function's only positional parameter, and what every return of it gives back?"""
    params = function.params
    returned = _returns(function)
    return (
        len(params.params) == 1 and params.params[0].name.value == name and not params.posonly_params
        and returned != [] and all(isinstance(ret.value, cst.Name) and ret.value.value == name for ret in returned)
    )


def _decorated(stores: _Stores, index, registries: dict) -> None:
    """The classes and functions at the top of a module decorated with a registry's decorator are
    its members; any other mention of the decorator leaves the registry unfollowed."""
    flow, key = stores.flow, index.key
    by_decorator = {decorator: registry for registry in registries.values() for decorator in registry.decorators}
    applied = set()  # ids of the names that apply a decorator
    for statement in index.module.body:
        if not isinstance(statement, (cst.ClassDef, cst.FunctionDef)):
            continue
        for decoration in statement.decorators:
            expression = decoration.decorator
            factory = isinstance(expression, cst.Call)
            name = expression.func if factory else expression
            decorator = _decorator_of(flow, key, name, factory)
            registry = by_decorator.get(decorator)
            if registry is not None:
                applied.add(id(name))
                stores.add(key, registry, statement.name)
    named = {(decorator.module, decorator.name): registry for decorator, registry in by_decorator.items()}
    for node, parent in index.parents.items():
        if not isinstance(node, cst.Name) or id(node) in applied or isinstance(parent, (cst.ImportAlias, cst.AsName, cst.FunctionDef)):
            continue
        found = flow.lookup(key, node.value)
        target = found.key if found is not None and found.kind == DefinitionKind.FUNCTION else None
        registry = named.get((target.module, target.name)) if target is not None and target.owner is None else None
        if registry is not None:
            registry.followed = False  # `register("x")(Other)`, the decorator passed on: stores not known


def _outside_holders(stores: _Stores, index, found: Registries) -> None:
    """Where a class or function of the module goes into a registry of a file not migrated with it
    (`AGENTS["rnn"] = Policy` after `from registry import AGENTS`; `@register("rnn")` after `from
    registry import register`): boundary.py names that file."""
    outside = stores.outside.get(index.key, {})
    for statement in index.module.body if outside else ():
        for decoration in statement.decorators if isinstance(statement, cst.ClassDef) else ():
            expression = decoration.decorator
            name = expression.func if isinstance(expression, cst.Call) else expression
            if isinstance(name, cst.Name) and name.value in outside:
                found.places[id(expression)] = outside[name.value]
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        holder, stored = _module_store(small)
        if isinstance(holder, cst.Name) and holder.value in outside:
            found.places[id(stored)] = outside[holder.value]


def _module_store(small: Optional[cst.CSTNode]) -> tuple:
    """(R, X) of `R[k] = X` or `R.append(X)`; (None, None) for anything else."""
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Subscript):
        return small.targets[0].target.value, small.value
    call = small.value if isinstance(small, cst.Expr) else None
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value in REGISTRY_STORE_METHODS and len(call.args) == 1:
        return call.func.value, call.args[0].value
    return None, None


def _decorator_of(flow: ProgramFlow, module: str, name: cst.CSTNode, factory: bool) -> Optional[Decorator]:
    if not isinstance(name, cst.Name):
        return None
    found = flow.lookup(module, name.value)
    if found is None or found.kind != DefinitionKind.FUNCTION or found.key.owner is not None:
        return None
    return Decorator(found.key.module, found.key.name, factory)


def _attribute_instances(flow: ProgramFlow, found: Registries) -> None:
    """`self.agent = R[name](...)` in a method: the attribute holds an instance of each class of R
    (known before the walk, as index_uses knows `self.agent = Agent(...)`)."""
    if not found.lookups:
        return
    for info in flow.functions.values():
        if info.self_name is not None:
            _method_instances(info, found, flow)


def _classes_made_by(flow: ProgramFlow, found: Registries, info: FunctionInfo, call: cst.Call) -> tuple:
    """The classes a call makes an instance of through lookups: `R[name](...)`, `cls(...)` of a
    name that holds classes, or a builder of the program every return of which is such a call
    (`build(agent_cls, 4)` of `def build(cls, *a, **kw): return cls(*a, **kw)`); () when not known."""
    registry = found.lookup(call.func)
    if registry is not None:
        return found.classes_made(registry)
    if not isinstance(call.func, cst.Name) or call.func.value in names_bound_in(info.node):
        return ()
    builder = flow.lookup(info.module, call.func.value)
    if builder is None or builder.kind != DefinitionKind.FUNCTION:
        return ()
    returned = [constructor_call(ret.value) if ret.value is not None else None for ret in _returns(flow.functions[builder.key].node)]
    if not returned or None in returned:
        return ()
    lookups = [found.lookup(made.func) for made in returned]
    made = [found.classes_made(lookup) for lookup in lookups if lookup is not None]
    return () if len(made) < len(returned) or () in made else tuple(dict.fromkeys(key for classes in made for key in classes))


def _method_instances(info: FunctionInfo, found: Registries, flow: ProgramFlow) -> None:
    for node in walk(info.node.body):
        if not (isinstance(node, cst.Assign) and len(node.targets) == 1):
            continue
        target, call = node.targets[0].target, constructor_call(node.value)
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == info.self_name):
            continue
        classes = _classes_made_by(flow, found, info, call) if call is not None else ()
        if not classes:
            continue
        slot = AttrSlot.of(info.class_name, target.attr.value)
        found.instances[slot] = classes
        if len(classes) == 1:
            flow.instance_class[slot] = classes[0]
