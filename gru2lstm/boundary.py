"""Where the hidden state crosses the edge of the code the engine analysed.

A function whose parameter or return holds the hidden state changes its contract when the state
becomes (h, c): every caller must pass and receive the pair. The walk rewrites the callers it
follows; this module finds the ways a caller can exist that the walk did not follow, and reports
each one (G2L101) instead of trusting that none exists:

- an instance of a class with such a method goes where the engine does not follow it (passed to a
  function it cannot see, used inside a lambda, handed to a container it cannot read back);
- the class or the function itself is used as a value (a registry `REGISTRY["rnn"] = RNNAgent`
  that registries.py cannot follow, a factory argument), so the objects made from it and the
  calls through it are not followed (the stores into a registry it follows are no crossing);
- such a function is called with `*args` or `**kwargs`, which the engine cannot bind to the
  parameter that holds the state (also a call of an object that only the joined classes show to
  be an instance of such a class, `agent.model(*inputs)`, which solve.py does not bind);
- instances of such a module are made, but none of their calls could be followed;
- a method or attribute read through a wrapper's delegating `__getattr__` that the walk did not
  tie to the wrapped object's class (delegation.py).

Functions that take or return the state are the *interface changes* of the migration: listed in
the results; those with no caller in the analysed code are said (a warning), and the engine
refuses when a file of the project that was not given imports them (engine.py).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from gru2lstm.delegation import unfollowed_delegations, wrapped_owners
from gru2lstm.duck_calls import changed_callees, changed_methods, dotted_names, looks_recurrent
from gru2lstm.findings import uncalled_module_message
from gru2lstm.joined_calls import JoinedInstances, called_methods, instances_by_root, is_attribute
from gru2lstm.program import FunctionInfo, ProgramFlow, Use, class_key, follow_remedy, from_where
from gru2lstm.qualnames import dotted
from gru2lstm.solve import Solution
from gru2lstm.syntax import code_of, walk
from gru2lstm.values import AttrSlot, DefSlot, GlobalSlot, InstanceSlot, LabelKind, ReturnSlot, SlotKind, VCallOf, VChoice, VCreate, VSlot
from gru2lstm.vocab import LOADERS, OWN_ACCESS_HOOKS

# Consumptions that hand a value to code the walk does not follow.
ESCAPING_CONTEXTS = {Use.UNKNOWN, Use.OTHER, Use.CONTAINER}
# How a parameter that holds the state inside a container is listed among a function's carriers.
INSIDE = "(a hidden state inside it)"
# Builtins that only inspect a class they are given.
CLASS_INSPECTORS = {"isinstance", "issubclass", "super", "type"}


@dataclass(frozen=True)
class Crossing:
    """A place where the hidden state may cross to or from code the engine does not follow."""

    node: cst.CSTNode
    message: str
    place: Optional[str] = None  # the file, not migrated with this one, it goes to
    # A GRU none of whose calls was analysed: the name other files import its holder by (its class,
    # or itself at module level), so that the project's files that do can be named (project.py)
    imported_as: Optional[str] = None


@dataclass(frozen=True)
class ChangedFunction:
    """A function whose parameters or return become (h, c): its contract changes."""

    function: FunctionInfo
    carriers: tuple  # ("parameter `h`", "return value", ...)
    called: bool  # some call of it in the analysed code was followed (and migrated with it)

    @property
    def name(self) -> str:
        return self.function.display_name

    @property
    def parameters(self) -> tuple:
        """The names of its parameters that take the state."""
        return parameter_names(self.carriers)

    @property
    def positions(self) -> tuple:
        """Their positions among the positional parameters (after `self`)."""
        return parameter_positions(self.function, self.parameters)


def state_carriers(flow: ProgramFlow, solution: Solution) -> dict:
    """FunctionInfo key -> what of it holds the hidden state: its parameters, its return value."""
    carriers = {}
    for key, info in flow.functions.items():
        found = []
        for name, param in info.params:
            slot = DefSlot.of(id(param.name))
            if solution.is_state(slot):
                found.append(f"parameter `{name}`")
            elif _holds_state(solution, slot, attributes=True):  # `inputs["rnn"][0]`, `batch.hidden`
                found.append(f"parameter `{name}` {INSIDE}")
        if _returns_state(solution, ReturnSlot.of(key)):
            found.append("return value")
        elif _holds_state(solution, ReturnSlot.of(key), attributes=True):  # `return {"h": self.h}`, `return Memory(self.h, t)`
            found.append(f"return value {INSIDE}")
        if found:
            carriers[key] = tuple(found)
    return carriers


def state_attributes(flow: ProgramFlow, solution: Solution) -> list:
    """(AttrSlot, the first node that mentions it) for each attribute of a class of the program that
    holds the hidden state, or holds it inside (`self.memory["h"]`, `self.memory.h`): code in a file that was not
    migrated with it and reads it would still take one tensor (project.py looks for such code)."""
    return _first_mentions(flow, lambda slot: (
        slot.kind == SlotKind.ATTR and slot.owner in flow.classes and not slot.name.startswith("__")
        and (solution.is_state(slot) or _holds_state(solution, slot, attributes=True))
    ))


def state_globals(flow: ProgramFlow, solution: Solution) -> list:
    """(GlobalSlot, the first node that mentions it) for each module-level name of the program that
    holds the hidden state, or holds it inside (`HIDDEN[env_id] = h`): a file not migrated with it
    that reads it (`agent.hidden` after `import agent`) would still take one tensor."""
    return _first_mentions(
        flow, lambda slot: slot.kind == SlotKind.GLOBAL and (solution.is_state(slot) or _holds_state(solution, slot, attributes=True))
    )


def module_attributes(flow: ProgramFlow, solution: Solution) -> list:
    """(AttrSlot or GlobalSlot, the first node that mentions it) for each attribute of a class of the
    program, or module-level name, that holds the recurrent module: code in a file not migrated with
    it that reads it (`agent.gru(x, agent.hidden)` of a runner handed the agent, `core.rnn(x, h)` after
    `import core`) would still call it with one tensor, or miss it renamed."""
    return _first_mentions(flow, lambda slot: (
        (slot.kind == SlotKind.ATTR and slot.owner in flow.classes or slot.kind == SlotKind.GLOBAL)
        and solution.holder_kind(slot) is not None
    ))


def _first_mentions(flow: ProgramFlow, wanted) -> list:
    """(slot, the first node that mentions it) for each slot of `flow.slot_nodes` that is `wanted`."""
    return [(slot, node) for slot, node in flow.first_mention().items() if wanted(slot)]


def crossings(flow: ProgramFlow, solution: Solution, parents: dict) -> list:
    """Every place where a caller of a state-carrying function can hide from the walk."""
    carriers = state_carriers(flow, solution)
    owners = {}  # class key -> "`Policy.forward()` now takes or returns (h, c) (the parameter `h`)"
    for key, found in carriers.items():
        info = flow.functions[key]
        if info.class_name is not None and info.class_name not in owners:
            owners[info.class_name] = f"`{_short(info.class_name)}.{info.node.name.value}()` {_changes(found)}"
    for wrapper, (attribute, inner) in wrapped_owners(flow, solution.classes, sorted(owners)).items():
        # calls through the wrapper (`trainer.fit(agent)`: `agent.act(x, h)` there) reach the policy's methods
        owners.setdefault(wrapper, f"`{_short(wrapper)}` hands what it lacks to `self.{attribute}` (its `__getattr__`), and {owners[inner]}")
    return (
        _escaping_instances(flow, solution, owners)
        + _escaping_selves(flow, owners)
        + _escaping_methods(flow, solution, carriers)
        + _used_as_values(flow, carriers, owners, parents)
        + _modules_as_values(flow, carriers, parents)
        + _never_called(flow, carriers, owners)
        + _starred_calls(flow, carriers)
        + _unbound_module_calls(flow, solution, carriers)
        + _unknown_object_calls(flow, solution, carriers, parents)
        + _delegated_reads(flow, solution, carriers)
        + _module_holders_to_files(flow, solution, owners)
        + _uncalled_modules(flow, solution)
        + _own_attribute_access(flow, solution)
    )


def _own_attribute_access(flow: ProgramFlow, solution: Solution) -> list:
    """An attribute holding the state in a class of the program that defines its own `__setattr__`
    or `__getattribute__` (or whose base or subclass in the program does): that method runs on
    every write or read of it, and the engine does not follow what it does with the value."""
    found = []
    for slot, node in state_attributes(flow, solution):
        hooks = [
            method for name in OWN_ACCESS_HOOKS
            for method in [flow.method(slot.owner, name), *flow.overrides(slot.owner, name)] if method is not None
        ]
        if hooks:
            kinds = {method.node.name.value for method in hooks}
            found.append(Crossing(
                node,
                f"`{code_of(node)}` holds the hidden state, and "
                f"{' and '.join(f'`{method.display_name}()`' for method in hooks)} "
                f"{'runs' if len(hooks) == 1 else 'run'} on every "
                f"{'read and write' if len(kinds) > 1 else 'write' if '__setattr__' in kinds else 'read'} "
                "of it; the engine does not follow what that does with (h, c); "
                "keep the state in an attribute it leaves as it is given, or migrate this class by hand",
            ))
    return found


def _escaping(flow: ProgramFlow):
    """(consumption, where it goes unless its reason says so) for each value handed to code the walk
    does not follow."""
    for consumption in flow.consumptions:
        if consumption.context in ESCAPING_CONTEXTS:
            yield consumption, "" if consumption.why.endswith(from_where(consumption.place)) else from_where(consumption.place)


def _escaping_instances(flow: ProgramFlow, solution: Solution, owners: dict) -> list:
    """An instance handed to code the walk does not follow (an unknown function, a lambda)."""
    classes = solution.classes
    instances = {owner: InstanceSlot.of(owner) for owner in owners}
    roots = {classes.find(slot): owner for owner, slot in instances.items() if slot in classes.parent}
    found = []
    for consumption, where in _escaping(flow):
        owner = next((
            roots[classes.find(leaf.slot)] for leaf in _leaves(solution, consumption.value)
            if isinstance(leaf, VSlot) and leaf.slot in classes.parent and classes.find(leaf.slot) in roots
        ), None)
        if owner is None:
            continue
        found.append(Crossing(
            consumption.node, _instance_escapes(f"`{_short(owner)}`", f"{consumption.why or 'used here'}{where}", owners[owner], consumption.place),
            consumption.place,
        ))
    return found


def _instance_escapes(instance: str, why: str, change: str, place) -> str:
    return (
        f"an instance of {instance} is {why}; {change}, so the calls made through it there would still pass and take one "
        f"tensor; {follow_remedy(place)}"
    )


def _module_holders_to_files(flow: ProgramFlow, solution: Solution, owners: dict) -> list:
    """An instance of a class that keeps the recurrent module in an attribute, handed to a function
    of a project file not migrated with it (`rollout(agent, 4)` of runner.py): the code there may
    call the module through it (`agent.gru(x, agent.hidden)`), with one tensor, by its old name."""
    holders = {
        owner: f"its attribute `{name}` holds the recurrent module, which becomes an LSTM"
        for name, classes in flow.attribute_owners.items() for owner in classes
        if owner not in owners and solution.holder_kind(AttrSlot.of(owner, name)) is not None
    }
    return [crossing for crossing in _escaping_instances(flow, solution, holders) if crossing.place is not None]


def _escaping_selves(flow: ProgramFlow, owners: dict) -> list:
    """`self` handed to code the walk does not follow (`rollout(self, h)` of a file not migrated
    with this one), in a class whose contract changes."""
    return [
        Crossing(node, _instance_escapes(f"`{_short(owner)}` (`self`)", why, owners[owner], place), place)
        for node, owner, why, place in flow.self_escapes
        if owner in owners
    ]


def _escaping_methods(flow: ProgramFlow, solution: Solution, carriers: dict) -> list:
    """A bound method whose contract changes handed to code the walk does not follow
    (`functools.partial(policy.forward, deterministic=True)`, a callback): what calls it there
    would still pass and take one tensor."""
    instances = instances_by_root(solution)
    found = []
    for consumption, where in _escaping(flow):
        changed = next((
            method for leaf in _leaves(solution, consumption.value)
            if isinstance(leaf, VSlot) and is_attribute(leaf.slot)
            for method in called_methods(solution, instances, leaf.slot) if method.key in carriers
        ), None)
        if changed is None:
            continue
        found.append(Crossing(
            consumption.node,
            f"the method `{code_of(consumption.node)}` is {consumption.why or 'used here'}{where}, and "
            f"`{changed.display_name}()` {_changes(carriers[changed.key])}, so the calls made through it there would "
            f"still pass and take one tensor; {follow_remedy(consumption.place)}",
            consumption.place,
        ))
    return found


def _delegated_reads(flow: ProgramFlow, solution: Solution, carriers: dict) -> list:
    """A read through a one-line delegating `__getattr__` that the walk did not follow (delegation.py)."""
    carrying = {flow.functions[key].node.name.value for key in carriers} | {slot.name for slot, _ in state_attributes(flow, solution)}
    return [Crossing(node, message) for node, message in unfollowed_delegations(flow, solution.classes, carrying)]


def _leaves(solution: Solution, value) -> list:
    """What `value` may be at its end: each option of a choice (`REGISTRY[name](...)` of a registry
    of several classes is an instance of any of them)."""
    resolved = solution.resolved(value)
    if isinstance(resolved, VChoice):
        return [leaf for option in resolved.options for leaf in _leaves(solution, option)]
    return [solution.resolutions.leaf_of(value)]


def _used_as_values(flow: ProgramFlow, carriers: dict, owners: dict, parents: dict) -> list:
    """The class or function itself used as a value: a registry, a callback, a factory."""
    values = {}  # global slot of a class or function -> what changes in it
    for key, found in carriers.items():
        info = flow.functions[key]
        if info.class_name is not None:
            module, _, name = info.class_name.rpartition(":")
            values[GlobalSlot.of(module, name)] = owners[info.class_name]
        else:
            values[GlobalSlot.of(info.module, info.node.name.value)] = f"`{info.node.name.value}()` {_changes(found)}"
    made = {id(call) for calls in flow.instantiated.values() for call in calls}
    places = flow.registries.places
    return _decorated_classes(flow, owners) + [
        Crossing(
            node,
            f"`{slot.name}` is used as a value here (a registry, a factory, a callback)"
            f"{f' that involves {places[id(node)]}, a file not migrated with this one' if id(node) in places else ''}, "
            f"and {values[slot]}; the engine cannot follow what is made or called through it; "
            f"{follow_remedy(places[id(node)]) if id(node) in places else 'migrate those calls by hand so that they pass and take (h, c)'}",
            places.get(id(node)),
        )
        for slot, node in flow.slot_nodes
        # a store into a registry whose lookups the walk follows (registries.py) is no crossing
        if slot in values and id(node) not in flow.registries.followed_stores
        and (not _inspected_only(node, parents, made) or _method_taken(flow, slot, node, parents))
    ]


def _method_taken(flow: ProgramFlow, slot, node: cst.CSTNode, parents: dict) -> bool:
    """`fwd = Policy.forward`: a method taking self read from its class and not called there
    (`Policy.forward(self, x, h)` is a call the walk follows)."""
    read = parents.get(node)
    if not isinstance(read, cst.Attribute) or read.value is not node:
        return False
    call = parents.get(read)
    method = flow.method(class_key(slot.module, slot.name), read.attr.value)
    return method is not None and method.self_name is not None and not (isinstance(call, cst.Call) and call.func is read)


def _modules_as_values(flow: ProgramFlow, carriers: dict, parents: dict) -> list:
    """`getattr(model, name)`, `load(model)`: a module of the program whose classes or functions
    change their contract, used as a value; what is taken from it is not followed."""
    changed = {flow.functions[key].module for key in carriers}
    imported = {
        (module, name) for module, names in flow.module_imports.items()
        for name, member in names.items() if member.name is None and member.key in changed
    }
    if not imported:
        return []
    found = []
    for module in {module for module, _ in imported}:
        for node in walk(flow.modules[module]):
            parent = parents.get(node)
            if not isinstance(node, cst.Name) or (module, node.value) not in imported or isinstance(parent, (cst.ImportAlias, cst.AsName)):
                continue
            if isinstance(parent, (cst.Attribute, cst.AssignTarget)):
                continue  # `model.Policy`: a member the walk follows; `x.model`: another name; the binding itself
            found.append(Crossing(
                node,
                f"the module `{node.value}` is used as a value here, and functions of it now take or return (h, c); "
                "the engine cannot follow what is taken from it this way (`getattr`); use its classes by name, or migrate those calls by hand",
            ))
    return found


def _decorated_classes(flow: ProgramFlow, owners: dict) -> list:
    """`@register("rnn") class Policy`: the class is handed to its decorator, a registry the
    engine does not follow unless registries.py follows it (its stores are no crossing then)."""
    found = []
    for owner, change in owners.items():
        node = flow.classes.get(owner)
        decorators = [d.decorator for d in node.decorators if id(d.decorator) not in flow.class_keeping_decorators] if node is not None else []
        if not decorators or id(node.name) in flow.registries.followed_stores:
            continue
        decorator = decorators[0]
        # the decorator's file, or one whose names the registry holds too (the wider attempt takes it)
        place = flow.registries.places.get(id(decorator)) or flow.registries.places.get(id(node.name))
        found.append(Crossing(
            decorator,
            f"`{_short(owner)}` is handed to a decorator here that may keep it in a registry{from_where(place) if place else ''}; {change}, "
            "and the engine cannot follow what is made or called through that registry; "
            f"{follow_remedy(place) if place else 'give the files that look it up in the same run, or migrate those calls by hand'}",
            place,
        ))
    return found


def _never_called(flow: ProgramFlow, carriers: dict, owners: dict) -> list:
    """Instances made here, none of whose calls was followed: called through something lost."""
    found = []
    for owner in sorted(flow.instantiated):
        forward = flow.forward_of(owner)
        changed = carriers.get(forward.key) if forward is not None else None
        if changed is not None and takes_state(changed) and forward.key not in flow.called:
            found.append(Crossing(
                forward.node.name,
                f"instances of `{_short(owner)}` are made in the files analysed, but no call of them could be "
                f"followed; {owners[owner]}, and their callers would still pass one tensor; give the files that call them in the same run",
            ))
    return found


def _uncalled_modules(flow: ProgramFlow, solution: Solution) -> list:
    """A GRU made here none of whose calls the walk saw (`self.gru` of a model called only by files
    not given, `agent.gru(x, agent.hidden)` of runner.py): its callers would pass one tensor. A
    call through a place the GRU's kind was copied to (`for cell in (self.a, self.b)`) may run any
    GRU of that kind, so those count as called; a GRU handed to code the walk does not follow (a
    lambda, `nn.Sequential`) is reported there."""
    classes = solution.classes
    made = {classes.find(target) for _, _, target in solution.constructors}
    called, through_copies = set(), set()
    for use in flow.consumptions:
        value = solution.resolved(use.value) if use.context in (Use.UNKNOWN, Use.HANDED) else None
        if isinstance(value, VSlot):
            called.add(classes.find(value.slot))
    for call in flow.calls:
        kind = solution.recurrent_calls.get(id(call))
        func = solution.resolved(call.func) if kind is not None else None
        if isinstance(func, VSlot):
            root = classes.find(func.slot)
            called.add(root)
            if root not in made:
                through_copies.add(kind)
    return [
        Crossing(ctor.node, uncalled_module_message(code_of(ctor.node)), imported_as=_imported_as(flow, target))
        for ctor, kind, target in solution.constructors
        if classes.find(target) not in called and kind not in through_copies
    ]


def _imported_as(flow: ProgramFlow, target) -> Optional[str]:
    """The name another file imports to reach a GRU held at `target`: its class, or the module-level name."""
    if target.kind == SlotKind.ATTR and target.owner in flow.classes:
        return target.owner.rpartition(":")[2]
    if target.kind == SlotKind.GLOBAL:
        return target.name
    made = flow.defs.get(target.def_id) if target.kind == SlotKind.DEF else None
    return made.name if made is not None and made.function is None and not made.is_param else None  # a script's name


def _starred_calls(flow: ProgramFlow, carriers: dict) -> list:
    """`f(*args)` of a function whose parameter holds the state: which argument it is, unknown."""
    return [
        Crossing(
            call,
            f"`{callee.node.name.value}()` is called with * or ** arguments, and {describe(carriers[callee.key])} "
            f"{'become' if len(carriers[callee.key]) > 1 else 'becomes'} (h, c); the engine cannot tell which argument "
            "is the hidden state; pass the arguments one by one",
        )
        for call, callee in flow.star_calls
        if callee.key in carriers and takes_state(carriers[callee.key])
    ]


def _unbound_module_calls(flow: ProgramFlow, solution: Solution, carriers: dict) -> list:
    """`agent.model(**inputs)`, `agent.learn(*batch)`: a call of an object the joined classes show
    to be an instance of a program class, running a forward() or method that takes the state,
    whose arguments solve.py could not bind (* arguments, a keyword it does not take, several
    classes that could be called)."""
    classes = solution.classes
    instances = instances_by_root(solution)
    found = []
    for call in flow.calls:
        func = solution.resolved(call.func)
        if id(call) in solution.forwarded or not isinstance(func, VSlot) or func.slot not in classes.parent:
            continue
        for callee in called_methods(solution, instances, func.slot):
            if not takes_state(carriers.get(callee.key, ())):
                continue
            name = f"{_short(callee.class_name)}.{callee.node.name.value}()"
            found.append(Crossing(
                call.node,
                f"this call runs `{name}`, which {_changes(carriers[callee.key])}, but the engine cannot bind its "
                "arguments to the parameters (* or ** arguments, a keyword it does not take, or several classes it may "
                "run), so it cannot tell which one is the hidden state; pass the arguments one by one, by name or position",
            ))
    return found


def _unknown_object_calls(flow: ProgramFlow, solution: Solution, carriers: dict, parents: dict) -> list:
    """`out, h = net(x, h)` in `def collect(net, ...)` that nothing analysed calls with a known
    module: a call, shaped like a recurrent loop, of an object that came in from outside and may be
    a module whose forward() (or method) takes the state (duck_calls.py)."""
    changed = changed_methods(
        (info.node.name.value, info.display_name, names, parameter_positions(info, names))
        for key, found in carriers.items() for info, names in [(flow.functions[key], parameter_names(found))]
        if info.class_name is not None and takes_state(found)
    )
    if not changed:
        return []
    instances = instances_by_root(solution)
    from_parameters = _attributes_from_parameters(flow, solution, parents)
    made = None  # the slots bound to a tensor made there, found at the first call that needs them
    found = []
    for call in flow.calls:
        func = solution.resolved(call.func)
        if id(call) in solution.forwarded or id(call) in solution.recurrent_calls or not isinstance(func, VSlot):
            continue
        if not _from_outside(flow, func.slot, from_parameters, parents) or _identified(solution, instances, func.slot):
            continue
        method = call.node.func.attr.value if isinstance(call.node.func, cst.Attribute) and func.slot.kind != SlotKind.ATTR else None
        callees = changed_callees(changed, method)
        if not callees:
            continue
        statement = parents.get(call.node)
        assigned = isinstance(statement, (cst.Assign, cst.AnnAssign)) and statement.value is call.node
        targets = {name for target in _assigned(statement) for name in dotted_names(_ast_of(target))} if assigned else set()
        positional = [value for keyword, value, arg in call.args if keyword is None and not arg.star]
        if made is None:
            made = {binding.target for binding in flow.bindings if isinstance(solution.resolutions.leaf_of(binding.value), VCreate)}
        marked = {position for position, value in enumerate(positional) if _made_or_state(solution, value, made)}
        if looks_recurrent(_ast_of(call.node), targets, marked, callees):
            names = " or ".join(f"`{name}()`" for name in dict.fromkeys(change.display for change in callees))
            code = code_of(call.node)
            found.append(Crossing(
                call.node,
                f"`{code}` calls {_callee(call.node.func, method)}, an object from outside that nothing analysed "
                "identifies, passing what looks like a hidden state (it takes back what it passes, or passes a new tensor "
                "or a state where a changed parameter goes); if it is the module of "
                f"{names}, which now takes or returns (h, c), this code would still pass and take one tensor; pass it the "
                "module from code given in the same run, or migrate this call by hand",
            ))
    return found


def _callee(func: cst.BaseExpression, method: Optional[str]) -> str:
    """`net` for `net(...)`; "`act()` of `agent`" for `agent.act(...)`."""
    if method is None:
        return f"`{code_of(func)}`"
    return f"`{method}()` of `{code_of(func.value)}`"


def _from_outside(flow: ProgramFlow, slot, from_parameters: set, parents: dict) -> bool:
    """Does the object in `slot` come in from outside: a parameter (or a part of one), an
    attribute set from a parameter, or what a loader gives back (`policy = torch.load(path)`)?"""
    while slot.kind == SlotKind.CHILD:
        slot = slot.base
    if slot.kind == SlotKind.ATTR:
        return slot in from_parameters
    definition = flow.defs.get(slot.def_id) if slot.kind == SlotKind.DEF else None
    return definition is not None and (definition.is_param or _loaded(definition.node, parents))


def _loaded(name: cst.CSTNode, parents: dict) -> bool:
    """Is `name` bound by `name = torch.load(...)` (or an element of its tuple target)?"""
    node = parents.get(name)
    while isinstance(node, (cst.Element, cst.Tuple, cst.List, cst.AssignTarget)):
        node = parents.get(node)
    return isinstance(node, cst.Assign) and isinstance(node.value, cst.Call) and dotted(node.value.func) in LOADERS


def _attributes_from_parameters(flow: ProgramFlow, solution: Solution, parents: dict) -> set:
    """The attributes bound from a parameter (`self.policy_cls = policy_cls`), and those bound to
    what calling one makes, directly or through a local (`make = self.policy_cls; self.policy =
    make(5)`): a class handed in makes an object nothing analysed identifies either."""
    found = set()
    aliases = {}  # a local that is no parameter -> the values bound to it (`make = self.policy_cls`)
    for binding in flow.bindings:
        if binding.target.kind == SlotKind.DEF:
            aliases.setdefault(binding.target, []).append(binding.value)
    grown = True
    while grown:
        grown = False
        for binding in flow.bindings:
            if binding.target.kind != SlotKind.ATTR or binding.target in found:
                continue
            value = solution.resolved(binding.value)
            if isinstance(value, VCallOf):
                value = solution.resolved(value.func)
                if isinstance(value, VSlot) and not _from_outside(flow, value.slot, found, parents):
                    value = next((
                        alias for alias in map(solution.resolved, aliases.get(value.slot, ()))
                        if isinstance(alias, VSlot) and _from_outside(flow, alias.slot, found, parents)
                    ), value)
            if isinstance(value, VSlot) and _from_outside(flow, value.slot, found, parents):
                found.add(binding.target)
                grown = True
    return found


def _identified(solution: Solution, instances: JoinedInstances, slot) -> bool:
    """Is what `slot` holds known: a module, a recurrent module, or an instance of a program class?"""
    return solution.is_module(slot) or solution.holder_kind(slot) is not None or bool(called_methods(solution, instances, slot))


def _assigned(statement) -> list:
    return [target.target for target in statement.targets] if isinstance(statement, cst.Assign) else [statement.target]


def _ast_of(node: cst.CSTNode) -> ast.AST:
    """The `ast` of a target or call, for the shape tests duck_calls.py makes on files read with
    `ast` alone (a parse of one expression, for the few calls of an unknown object)."""
    return ast.parse(f"({code_of(node)})", mode="eval").body


def _made_or_state(solution: Solution, value, made: set) -> bool:
    """Is an argument a tensor made here (`torch.zeros(...)`, or a name bound to one: `made`) or a
    hidden state?"""
    leaf = solution.resolutions.leaf_of(value)
    return isinstance(leaf, VCreate) or (isinstance(leaf, VSlot) and leaf.slot in made) or solution.value_is_state(value)


def parameter_positions(info: FunctionInfo, names: tuple) -> tuple:
    """The positions, among those a call passes after `self`, of the parameters named `names`."""
    params = info.node.params
    positional = [param.name.value for param in params.posonly_params + params.params]
    if info.self_name is not None:
        positional = positional[1:]
    return tuple(position for position, name in enumerate(positional) if name in names)


def _changes(carriers: tuple) -> str:
    return f"now takes or returns (h, c) ({describe(carriers)})"


def holds_state_inside(carriers: tuple) -> bool:
    """Does a parameter hold the state inside a container (`inputs["rnn"][0]`)? Where (h, c) sits
    there is then a layout its callers must give (project.py refuses it when none is found)."""
    return any(carrier.startswith("parameter") and carrier.endswith(INSIDE) for carrier in carriers)


def returns_inside_only(carriers: tuple) -> bool:
    """Is the state only returned, inside a container (`return {"h": self.h}`)?"""
    return carriers == (f"return value {INSIDE}",)


def takes_state(carriers: tuple) -> bool:
    """Does a parameter (not only the return) carry the state?"""
    return any(carrier.startswith("parameter") for carrier in carriers)


def interface_changes(flow: ProgramFlow, solution: Solution) -> list:
    """Every function whose contract changes, and whether the analysed code calls it."""
    changes = []
    for key, found in state_carriers(flow, solution).items():
        info = flow.functions[key]
        called = key in flow.called or (
            # A module's instances made here are called through their forward(): followed, or
            # reported as crossings.
            info.class_name is not None and info.node.name.value in ("forward", "__call__") and info.class_name in flow.instantiated
        )
        changes.append(ChangedFunction(info, found, called))
    return changes


def parameter_names(carriers: tuple) -> tuple:
    """("parameter `h`", "parameter `inputs` (a hidden state inside it)", "return value") -> ("h", "inputs")."""
    return tuple(carrier.split("`")[1] for carrier in carriers if carrier.startswith("parameter "))


def describe(carriers: tuple) -> str:
    """("parameter `obs`", "parameter `h`", "return value") -> "the parameters `obs` and `h` and
    the return value"."""
    params = [carrier.partition(" ")[2] for carrier in carriers if carrier.startswith("parameter ")]
    parts = [f"the parameter {params[0]}"] if len(params) == 1 else (
        [f"the parameters {', '.join(params[:-1])} and {params[-1]}"] if params else []
    )
    parts += [f"the {carrier}" for carrier in carriers if not carrier.startswith("parameter ")]
    return " and ".join(parts)


def _holds_state(solution: Solution, slot, depth: int = 2, attributes: bool = False) -> bool:
    """Does an element, key or position of the value in `slot` (at most `depth` deep) hold a state?
    With `attributes`, so does an attribute (`carry.hidden` of a parameter)."""
    if depth == 0 or slot not in solution.classes.parent:
        return False
    kinds = (LabelKind.ELEM, LabelKind.KEY, LabelKind.POS, LabelKind.ATTR) if attributes else (LabelKind.ELEM, LabelKind.KEY, LabelKind.POS)
    parts = solution.classes.parts.get(solution.classes.find(slot), {})
    return any(
        label.kind in kinds and (solution.is_state(part) or _holds_state(solution, part, depth - 1, attributes))
        for label, part in parts.items()
    )


def _returns_state(solution: Solution, slot) -> bool:
    if solution.is_state(slot):
        return True
    if slot not in solution.classes.parent:
        return False
    parts = solution.classes.parts.get(solution.classes.find(slot), {})
    return any(label.kind == LabelKind.POS and solution.is_state(part) for label, part in parts.items())


def _inspected_only(node: cst.CSTNode, parents: dict, made: set) -> bool:
    """`isinstance(x, Policy)`, `super(Policy, self)`, `Policy(...)`, `Policy.method(...)`, or
    the definition itself: uses the walk follows or that make nothing."""
    parent = parents.get(node)
    if isinstance(parent, (cst.ImportAlias, cst.AsName)):
        return True  # `from model import Policy` inside a function: a name, not a use
    if isinstance(parent, cst.Arg):
        call = parents.get(parent)
        return isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value in CLASS_INSPECTORS
    if isinstance(parent, cst.Call) and parent.func is node:
        return id(parent) in made  # `Policy(...)` the walk followed (not one inside a lambda)
    if isinstance(parent, cst.Attribute) and parent.value is node:
        return True  # `Buffer.compute(...)`, `Policy.SIZE`: a static method the walk follows, or a constant
    return isinstance(parent, (cst.ClassDef, cst.FunctionDef)) or isinstance(node, (cst.ClassDef, cst.FunctionDef))


def _short(class_key: str) -> str:
    return class_key.rpartition(":")[2]
