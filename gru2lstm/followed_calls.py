"""Calls the walk follows into the program: a function or method of the program (its parameters
receive the arguments), a class of the program (its __init__ or its fields), an instance of a
module class (its forward()), and calls it cannot follow (their arguments are consumed, with the
file outside the program they come from when that is known).
"""

from __future__ import annotations

from typing import Optional, Union

import libcst as cst

from gru2lstm.expressions import SPREAD_FIELDS, ExpressionWalker
from gru2lstm.program import BindingKind, DefinitionKind, FunctionInfo, Use, from_where
from gru2lstm.registries import Registry, registry_name
from gru2lstm.qualnames import library_layer
from gru2lstm.summaries import FeatureParameter, FreshFactory, feature_parameters, fresh_factory, pass_through
from gru2lstm.syntax import constant_string, walk
from gru2lstm.values import (
    AttrSlot,
    CallResultSlot,
    ChildSlot,
    DefSlot,
    InstanceSlot,
    KeyLabel,
    ReturnSlot,
    SlotKind,
    Value,
    VArith,
    VCallOf,
    VChoice,
    VContainer,
    VCreate,
    VCtor,
    VDerived,
    VIndex,
    VOpaque,
    VSlot,
    VTuple,
    VZip,
    mapped_slot,
    PosLabel,
    part_at,
)
from gru2lstm.vocab import STARTED_ARGS, STARTED_KWARGS, STARTED_TARGET, SUPER, WRAPPED_MODULE_ATTRIBUTE


class FollowedCalls(ExpressionWalker):
    """Binds the arguments of calls of the program's own functions, classes and instances."""

    def _instance_of(self, node: cst.CSTNode) -> Optional[str]:
        """The program class of the object `node` holds, when it is known (self, an attribute or a
        name assigned an instance, a parameter annotated with the class), or that a wrapper holds."""
        if isinstance(node, cst.Attribute) and node.attr.value == WRAPPED_MODULE_ATTRIBUTE and self.holds_wrapper(node.value):
            node = node.value  # `net.module`: what `net` wraps
        info = self.function
        if isinstance(node, cst.Name) and info is not None and node.value == info.self_name and node.value not in self.env:
            return info.class_name
        if isinstance(node, cst.Name) and node.value in self.env:
            owners = set()
            for def_id in self.env[node.value]:
                owner = self.instance_class.get(DefSlot.of(def_id))
                annotation = self.def_annotations.get(def_id)
                if owner is None and annotation is not None:
                    owner = self.resolve_class(annotation)
                owners.add(owner)
            return owners.pop() if len(owners) == 1 else None
        if isinstance(node, cst.Attribute):  # `self.net`, `net.sampler`, `self.net.sampler`: the class held there
            owner = self._instance_of(node.value)
            return self.instance_class.get(AttrSlot.of(owner, node.attr.value)) if owner is not None else None
        return None

    def _instances_of(self, node: cst.CSTNode) -> tuple:
        """The classes of the program the object `node` holds may be of, when it was made through
        a registry lookup (`self.agent = REGISTRY[name](...)`); () when not."""
        instances = self.flow.registries.instances
        info = self.function
        if isinstance(node, cst.Name) and node.value in self.env:
            owners = {instances.get(DefSlot.of(def_id), ()) for def_id in self.env[node.value]}
            return owners.pop() if len(owners) == 1 else ()
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and info is not None and node.value.value == info.self_name:
            return instances.get(AttrSlot.of(info.class_name, node.attr.value), ())
        return ()

    def _registry_called(self, func: cst.CSTNode) -> Optional[Registry]:
        """The followed registry `R` of a callee `R[name]`, unless a local shadows `R`."""
        registry = self.flow.registries.lookup(func)
        if registry is None or (isinstance(registry_name(func), cst.Name) and self._is_local(registry_name(func).value)):
            return None
        return registry

    def _registry_call(self, registry: Registry, node: cst.Call) -> Value:
        """`REGISTRY[name](...)`: a call of any class or function stored into the registry (a union)."""
        self.expr(node.func)  # the registry is read, the key consumed
        made = []
        members = list(dict.fromkeys(registry.members))
        for member in members:
            if member.kind == DefinitionKind.CLASS:
                made.append(self._instantiate(member.key, node))
            else:
                made.append(self._call_function(self.flow.functions[member.key], node, alone=len(members) == 1))
        return made[0] if len(made) == 1 else VChoice(made, node)

    def _union_call(self, owners: tuple, method: str, node: cst.Call) -> Optional[Value]:
        """A method called on an object of several possible classes (a registry lookup): each
        class's method is followed; None when one of them has no such method."""
        if len(owners) < 2:
            return None
        methods = [self.flow.method(owner, method) for owner in owners]
        if None in methods:
            return None
        return VChoice([self._call_function(target, node, alone=False) for target in methods], node)

    def _dispatched_call(self, owner: Optional[str], method: str, node: cst.Call) -> Optional[Value]:
        """`self.forward_rnn(...)` in a method of a class that the program subclasses, `agent(x, h)`
        of `agent: BaseAgent`: any subclass's override may run as well as the method the class
        itself resolves to (a union); None when no subclass overrides it."""
        overrides = self.flow.overrides(owner, method) if owner is not None else ()
        if not overrides:
            return None
        own = self.flow.method(owner, method)
        targets = ([own] if own is not None else []) + overrides
        return VChoice([self._call_function(target, node, alone=False) for target in targets], node)

    def _method_target(self, func: cst.Attribute) -> Optional[FunctionInfo]:
        name = func.attr.value
        info = self.function
        if info is not None and info.self_name is not None and isinstance(func.value, cst.Name) and func.value.value == info.self_name:
            return self.flow.method(info.class_name, name)
        if info is not None and info.class_name is not None and _is_super(func.value):
            # `super().forward(x, h)`: the method of the first base of the program that has it
            return next((m for m in (self.flow.method(base, name) for base in self.flow.bases.get(info.class_name, ())) if m), None)
        # `self.net.init_hidden(...)`, `storage.insert(...)`: the class of the instance held there.
        owner = self._instance_of(func.value)
        if owner is not None and self.flow.method(owner, name) is not None:
            return self.flow.method(owner, name)
        # `Buffer.compute(...)`, `Buffer.make(n)`: a static method or a classmethod called through
        # its class (a method taking self so is followed by _method_call: its first argument is self).
        owner = self.resolve_class(func.value)
        if owner is not None:
            target = self.flow.method(owner, name)
            if target is not None:
                return target if target.self_name is None or target.takes_class else None
        # `storage.insert(...)`: the only class of the program with that method owns the call, unless
        # a first solution showed the object is a library's value (guessed_owners.misguessed).
        owners = self.flow.methods_by_name.get(name, ())
        if len(owners) == 1 and not name.startswith("__") and not self._foreign(func.value) and id(func) not in self.flow.unguessed:
            if self.recording:
                self.flow.guessed_methods[id(func)] = (func, owners[0])
            return self.flow.functions[owners[0]]
        return None

    def _own_method_unidentified(self, node: cst.Call, func: cst.Attribute) -> None:
        """`type(self).__mro__[1].forward(self, x, h)`: `self` handed to a method of its class or a
        base's, reached through what the walk cannot identify, so not followed: any of them may run
        there (boundary.py reports it where one's contract changes)."""
        info = self.function
        if not self.recording or info is None or info.self_name is None or self.resolve_class(func.value) is not None:
            return
        if not any(isinstance(arg.value, cst.Name) and arg.value.value == info.self_name for arg in node.args):
            return
        if self._method_target(func) is not None or self._instance_of(func.value) is not None:
            return  # `self.step(self, x)`, `other.forward(self)`: followed
        owner = info.class_name
        found = {method.class_name for method in (self.flow.method(cls, func.attr.value) for cls in [owner, *self.flow.ancestors(owner)]) if method}
        why = f"passed to `{self.code(func)}`, a `{func.attr.value}()` of a class the engine cannot identify"
        self.flow.self_escapes.extend((node, cls, why, None) for cls in sorted(found))

    def _method_through_class(self, func: cst.Attribute) -> Optional[FunctionInfo]:
        """The method taking self that `Base.forward` names (called as `Base.forward(self, x, h)`)."""
        owner = self.resolve_class(func.value)
        target = self.flow.method(owner, func.attr.value) if owner is not None else None
        return target if target is not None and target.self_name is not None and not target.takes_class else None

    def _instantiate(self, owner: str, node: cst.Call) -> Value:
        """`Policy(...)`: its __init__ receives the arguments (a dataclass or namedtuple: its fields)."""
        if self.recording:
            self.flow.instantiated.setdefault(owner, []).append(node)
        if self.flow.is_typed_dict(owner):
            return self._typed_dict(owner, node)
        if owner in self.namedtuples:
            self._call_fields(owner, node, self.namedtuples[owner])
        else:
            init = self.flow.method(owner, "__init__")
            if init is not None:
                self._call_function(init, node)
            else:
                self._call_fields(owner, node)
        return VSlot(InstanceSlot.of(owner), node)

    def _typed_dict(self, owner: str, node: cst.Call) -> Value:
        """`CarryState(hidden=h, steps=0)` of a TypedDict is the dict `{"hidden": h, "steps": 0}`;
        `CarryState(carry, steps=0)` and `CarryState(**carry)` are also a copy of `carry`, as `dict(carry)` is."""
        items, copied = [], []
        for arg in node.args:
            value = self.expr(arg.value)
            if arg.keyword is not None:
                # the key holds its field, as a dataclass's instances hold theirs: what every call puts
                # there, and the declaration's annotation (`hidden: torch.Tensor`) follows it
                field_slot = AttrSlot.of(self.flow.field_owner(owner, arg.keyword.value) or owner, arg.keyword.value)
                self._bind(field_slot, value, BindingKind.FIELD, arg, arg.value)
                items.append((KeyLabel.of(arg.keyword.value), VSlot(field_slot, arg.value)))
            else:
                copied.append(value)
        return VChoice([*copied, VContainer(node, items)], node) if copied else VContainer(node, items)

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
        if len(node.args) == 1 and node.args[0].star == "*":
            value = self.expr(node.args[0].value)
            if (
                isinstance(value, VTuple) and len(value.items) == len(fields) or isinstance(value, VContainer) and mapped_slot(value)
                or self._star_parameter(value) or isinstance(value, VSlot) and self._spread_list_literal(node.args[0].value, len(fields))
            ):
                # `Stats(*[f(t) for t in stats])`, `Memory(*parts)` of `parts = [zeros, 0]`: each field receives the item at its position
                for position, name in enumerate(fields):
                    self._bind(AttrSlot.of(class_name, name), part_at(value, position, len(fields)), BindingKind.FIELD, node.args[0], node.args[0].value)
                return
            self.consume(value, Use.UNKNOWN, node.args[0].value, f"passed to `{class_name.rpartition(':')[2]}()`")
            if not isinstance(value, VZip):  # `Step(*zip(*steps))`: columns of the same class's fields
                self._fields_spread(class_name, fields, node.args[0], set())
            return
        spread = None  # the first `*E`: the positions from there on are not known
        for position, arg in enumerate(node.args):
            value = self.expr(arg.value)
            spread = spread or (arg if arg.star == "*" else None)
            name = arg.keyword.value if arg.keyword is not None else (fields[position] if spread is None and position < len(fields) else None)
            if name is None or arg.star:
                self.consume(value, Use.UNKNOWN, arg.value, f"passed to `{class_name.rpartition(':')[2]}()`")
                continue
            self._bind(AttrSlot.of(class_name, name), value, BindingKind.FIELD, arg, arg.value)
        if spread is not None:
            self._fields_spread(class_name, fields[node.args.index(spread):], spread, {arg.keyword.value for arg in node.args if arg.keyword is not None})

    def _spread_list_literal(self, node: cst.BaseExpression, length: int) -> bool:
        """Is `node` of `Memory(*parts)` a name of the function bound once, to a list literal of
        `length` items, and read nowhere else (no `parts.reverse()`, no swap, no branch that binds it
        again): its items then land in the fields in the order written?"""
        if self.function is None or self.list_length(node) != length:
            return False
        mentions = [inner for inner in walk(self.function.node) if isinstance(inner, cst.Name) and inner.value == node.value]
        return len(mentions) == 2

    def _fields_spread(self, class_name: str, fields: list, spread: cst.Arg, named: set) -> None:
        """The fields `*E` may set by position (`Memory(*parts)`, `parts` a name) receive a part the
        walk cannot place: one that holds a state is then a finding, not left without its creation."""
        for name in fields:
            if name not in named:
                self._bind(AttrSlot.of(class_name, name), VOpaque(spread.value, SPREAD_FIELDS), BindingKind.FIELD, spread, spread.value)

    def _replaced(self, base_node: cst.CSTNode, base: Value, args) -> Optional[Value]:
        """`dataclasses.replace(state, belief=b)`, `step._replace(hidden=h)`: an object of the same
        class whose named fields receive the arguments. Of an object whose class the walk does not
        know here (a parameter, a record carried round a loop), the fields are its attributes, as
        `state.hidden = h` would write them (the copy and the original are one place: more states,
        never fewer). None when the fields have no place (the call is then no replace known here)."""
        owner = self._instance_of(base_node)
        slots = [
            AttrSlot.of(owner, arg.keyword.value) if owner is not None else self._field_slot(arg.keyword.value, base, base_node)
            for arg in args
        ]
        if None in slots:
            return None
        for slot, arg in zip(slots, args):
            self._bind(slot, self.expr(arg.value), BindingKind.FIELD, arg, arg.value)
        return base

    def _call_function(self, callee: FunctionInfo, node: cst.Call, alone: bool = True, self_given: bool = False) -> Value:
        """`alone`: the call runs this function only. A call of one of several (a callback, a
        registry's member, an override) binds its parameters even where this one gives its argument
        back: written once per half for one (`decay(h)`) while another takes the pair
        (`random_reset(h)`, drawing its mask once), the call would hand it one half.
        `self_given`: a method called through its class (`Base.forward(self, x, h)`), whose first
        argument is self."""
        if self.recording:
            self.flow.ran(node, callee.key)
        through = self._passed_through(callee, node) if alone and not self_given else None
        if through is not None:
            return through
        factory = fresh_factory(callee, self.flow) if alone and not self_given and callee.key not in self.flow.whole_factories else None
        if factory is not None:  # `fresh(n, H)`: a creation at each call apart
            for arg in node.args:
                self.consume(self.expr(arg.value), Use.READ, arg.value)
            if self.recording:
                self.flow.fresh_calls.setdefault(callee.key, set()).add(id(node))
                self.flow.fresh_sizes[id(node)] = self._last_size_given(callee, node, factory)
            return VCreate(node)
        params = callee.params
        by_name = dict(params)
        position = 0
        star, keywords = callee.node.params.star_arg, callee.node.params.star_kwarg
        extra = 0  # the positional arguments past the parameters, which `*args` takes in order
        spread = _spread_argument(callee, node) if not self_given else None
        starred = None  # a `*E` argument already met: the positions after it are not known
        features = feature_parameters(callee, self.flow)
        given, read_here = {}, []
        if self_given:
            self.expr(node.args[0].value)
        for arg in node.args[1:] if self_given else node.args:
            value = self._own_instance(self.expr(arg.value), arg.value)
            if arg is spread and self._spreadable(value):
                # `agent.update(*batch())`: the remaining parameters, none with a default, take its
                # items in order (else the GRU program would not have run); its length must stay
                # (solve.py keeps a spread return from growing by a partner).
                count = len(params) - position
                for offset in range(count):
                    part = part_at(value, offset, count)
                    name = params[position + offset].name
                    if name in features:  # never bound, so that every call reads it alike: a state here is a finding
                        self.consume(part, Use.OTHER, arg.value, (
                            f"spread over the parameter `{name}` of `{callee.node.name.value}()`, which only reads it as features"
                        ))
                        continue
                    self._bind(DefSlot.of(id(params[position + offset].node.name)), part, BindingKind.ARG, arg, arg.value)
                if self.recording and isinstance(value, VSlot):
                    self.flow.spread.append(value.slot)
                continue
            if arg.star:
                self.consume(value, Use.OTHER, arg.value, "passed with * or **")
                if self.recording:
                    self.flow.star_calls.append((node, callee))
                starred = starred or (arg if arg.star == "*" else None)
                continue
            if starred is not None and arg.keyword is None:
                self.consume(value, Use.OTHER, arg.value, (
                    f"passed to `{callee.node.name.value}()` after `*{self.code(starred.value)}`, so which parameter takes it "
                    "is not known to the engine (which counts positions from the start)"
                ))
                continue
            if arg.keyword is not None:
                param = by_name.get(arg.keyword.value)
            else:
                param = params[position].node if position < len(params) else None
                position += 1
            if param is None and arg.keyword is None and isinstance(star, cst.Param):
                # `def push(self, *args)`: the tuple `args` holds it at its position among the extras
                self._bind(ChildSlot.of(DefSlot.of(id(star.name)), PosLabel.of(extra)), value, BindingKind.ARG, arg, arg.value)
                extra += 1
                continue
            if param is None and arg.keyword is not None and isinstance(keywords, cst.Param):
                # `def call(net, **kw)`: the dict `kw` holds it under its keyword
                self._bind(ChildSlot.of(DefSlot.of(id(keywords.name)), KeyLabel.of(arg.keyword.value)), value, BindingKind.ARG, arg, arg.value)
                continue
            if param is None:
                self.consume(value, Use.UNKNOWN, arg.value, f"passed to `{callee.node.name.value}()` beyond its parameters")
                continue
            given[param.name.value] = (value, arg.value)
            if param.name.value in features:
                read_here.append((features[param.name.value], value, arg.value))
                continue
            self._bind(DefSlot.of(id(param.name)), value, BindingKind.ARG, arg, arg.value)
        for read, value, expression in read_here:
            self._read_as_features(callee, read, value, expression, given)
        return VSlot(ReturnSlot.of(callee.key), node)

    def _read_as_features(self, callee: FunctionInfo, read: FeatureParameter, value: Value, expression, given: dict) -> None:
        """`self.value(h)`, `project(self.msg, h)` of a helper that only reads that parameter as
        features: read here (h alone), the helper unchanged, so that a state and the observations
        passed to it at another call never meet in its parameter (summaries.FeatureParameter)."""
        unknown = sorted(layer for layer in read.layers if not self._holds_layer(*given.get(layer, (None, None))))
        if not unknown:
            self.consume(value, Use.READ, expression)
            return
        layer = given.get(unknown[0], (None, None))[1]
        self.consume(value, Use.OTHER, expression, (
            f"passed to `{callee.node.name.value}()`, which feeds it to its parameter `{unknown[0]}`, "
            + (f"given `{self.code(layer)}` here, which the engine cannot tell is a torch.nn layer" if layer is not None else "not given here")
        ))

    def _holds_layer(self, value: Optional[Value], expression: Optional[cst.BaseExpression]) -> bool:
        """Is `value` a layer that computes features: a torch.nn one (`self.msg` of `nn.Linear(8, 2)`),
        or a module of the program whose forward() only reads its one input as features?"""
        if isinstance(value, VSlot) and value.slot in self.flow.library_layers:
            return True
        if isinstance(value, VCtor):
            return library_layer(value.qualname)
        owner = self._instance_of(expression) if expression is not None else None
        forward = self.flow.forward_of(owner) if owner is not None else None
        if forward is None or len(forward.params) != 1 or forward.variadic:
            return False
        read = feature_parameters(forward, self.flow).get(forward.params[0].name)
        return read is not None and not read.layers

    def _own_instance(self, value: Value, node: cst.BaseExpression) -> Value:
        """`self` handed to a function of the program (`run_episode(self, steps)`) is an instance of
        the method's class, so calls of it there run its forward(); when a subclass in the program
        may be what `self` is, it stays unknown (a finding where it is called)."""
        owner = self.function.class_name if self.function is not None else None
        if not (isinstance(value, VOpaque) and value.why == "self") or owner is None:
            return value
        if any(owner in bases for bases in self.flow.bases.values()):
            return value
        return VSlot(InstanceSlot.of(owner), node)

    def _star_parameter(self, value: Value) -> bool:
        """Is `value` the `*args` of the function it is read in (each call binds its positions)?"""
        if not isinstance(value, VSlot) or value.slot.kind != SlotKind.DEF:
            return False
        definition = self.flow.defs.get(value.slot.def_id)
        return definition is not None and definition.is_param and _is_star_arg(definition)

    def _spreadable(self, value: Value) -> bool:
        """Is `value` what the walk sees whole (a literal tuple, a result of the program's own
        function, a local name)? Not a parameter: its callers' `*args` are not followed."""
        if isinstance(value, VTuple):
            return True
        if not isinstance(value, VSlot):
            return False
        if value.slot.kind == SlotKind.RETURN:
            return True
        definition = self.flow.defs.get(value.slot.def_id) if value.slot.kind == SlotKind.DEF else None
        return definition is not None and not definition.is_param

    def _started(self, node: cst.Call) -> Optional[Value]:
        """`threading.Thread(target=run_actor, args=(net, q))`, `mp.Process(...)`: the thread runs
        `run_actor(net, q)`, so its parameters receive the arguments as that call's would. None
        when the target is not a function of the program or the arguments are not written out
        (then the call is one the engine cannot follow, and a state among them is reported)."""
        given = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
        target, positional, named = given.get(STARTED_TARGET), given.get(STARTED_ARGS), given.get(STARTED_KWARGS)
        callee = None
        if isinstance(target, cst.Attribute):
            callee = self._method_target(target)
        elif target is not None:
            found = self.resolve(target)
            callee = self.flow.functions[found.key] if found is not None and found.kind == DefinitionKind.FUNCTION else None
        if callee is None or any(arg.keyword is None for arg in node.args):
            return None
        if positional is not None and not isinstance(positional, (cst.Tuple, cst.List)):
            return None
        if named is not None and not (isinstance(named, cst.Dict) and all(isinstance(e, cst.DictElement) and constant_string(e.key) for e in named.elements)):
            return None
        elements = [] if positional is None else positional.elements
        if any(isinstance(e, cst.StarredElement) for e in elements) or len(elements) > len(callee.params):
            return None
        by_name = dict(callee.params)
        pairs = [(param.node, element.value) for param, element in zip(callee.params, elements)]
        pairs += [(by_name.get(constant_string(e.key)), e.value) for e in ([] if named is None else named.elements)]
        if any(param is None for param, _ in pairs):
            return None
        if self.recording:
            self.flow.ran(node, callee.key)
        features = feature_parameters(callee, self.flow)
        values = [(param, self.expr(value), value) for param, value in pairs]
        given = {param.name.value: (value, expression) for param, value, expression in values}
        for param, value, expression in values:
            if param.name.value in features:
                self._read_as_features(callee, features[param.name.value], value, expression, given)
            else:
                self._bind(DefSlot.of(id(param.name)), value, BindingKind.ARG, expression, expression)
        return VOpaque(node, f"`{self.code(node.func)}(...)`")

    @staticmethod
    def _last_size_given(callee: FunctionInfo, node: cst.Call, factory: FreshFactory) -> Optional[cst.BaseExpression]:
        """The argument of a factory's call (summaries.fresh_factory) that gives the last size of
        what it makes (`H` of `fresh(B, H)`, of `fresh(dim=H, n=B)`, the last item of `fresh((B, H))`),
        or None: the size is not at the call (a number in the factory, a default, `fresh(*shape)`)."""
        if factory.last is None or any(arg.star for arg in node.args):
            return None
        taken_by = callee.parameters_of([arg.keyword.value if arg.keyword is not None else None for arg in node.args])
        given = next((arg.value for arg, param in zip(node.args, taken_by) if param is not None and param.name.value == factory.last), None)
        if isinstance(given, (cst.Tuple, cst.List)):
            return given.elements[-1].value if given.elements and isinstance(given.elements[-1], cst.Element) else None
        if factory.shape and not isinstance(given, cst.Integer):
            return None  # `fresh(shape)`: a whole shape, maybe, whose last size is not written here
        return given

    def _passed_through(self, callee: FunctionInfo, node: cst.Call) -> Optional[Value]:
        """`check(h).float()`, `ortho(nn.GRU(...))`: a helper that only looks at a parameter and
        gives it back is that argument, at each call apart; `blend(h, fresh, m)` giving back
        arithmetic of its parameters is that arithmetic of the arguments. Binding its parameters
        would join everything it is ever called with (states, observations, masks; a GRU and a
        Linear)."""
        through = pass_through(callee, self.flow)
        if through is None or any(arg.star for arg in node.args):
            return None
        names = [param.name for param in callee.params]
        given = [arg.keyword.value if arg.keyword is not None else (names[index] if index < len(names) else None) for index, arg in enumerate(node.args)]
        passed = [name for name in through.parameters if name in given]  # the others left to their defaults
        if not passed and len(node.args) <= max(names.index(name) for name in through.parameters):
            return None  # bound as any function's, before its arguments are read
        chosen = {}
        for name, arg in zip(given, node.args):
            value = self.expr(arg.value)
            if name in through.parameters:
                chosen[name] = value
            else:
                self.consume(value, Use.READ, arg.value)
        if not passed:
            return VOpaque(node, f"`{self.code(node)}`")
        operands = [chosen[name] for name in passed]
        if through.identity and len(operands) == 1:
            return operands[0]  # `get(ref)` returning `ref`: whatever it is, a pair or a list of states, unpacked or not
        if len(operands) == 1:
            value = VDerived(operands[0], node, through.kind)
            if through.chain is not None and self.recording:
                self.flow.helper_chains[id(node)] = through.chain  # `reset_done(h, d)`: the rank of h, followed (packed_ranks.py)
            if through.dim_ops and self.recording:
                # `to_env_major(h)` through `t.flip(-1)` inside: packed, it would mix h and c where
                # the result stays a state, as the same written here would (judged with the rank
                # of the argument: rules/packed_helpers.py)
                self.flow.helper_dims.append((value, through))
            return value
        joined = operands[0]
        for operand in operands[1:]:
            joined = VArith(joined, operand, node)  # settled by the solver as any `a * b` written here
            if self.recording:
                self.flow.arithmetic.append(joined)
        return joined

    def _call_value(self, func: Union[VSlot, VIndex], node: cst.Call, handed: Optional[list] = None) -> Value:
        # Calling an instance of a module class of the program runs its forward(); what an index
        # calls is known once the solver has settled it (joined_calls.py). `handed`: the arguments
        # the value is called with where they are not the call's own (`checkpoint(gru, x, h)`).
        if isinstance(func, VSlot):
            owner = self.instance_class.get(func.slot)
            forward = None if owner is None else self.flow.forward_of(owner)
            if forward is not None:
                return self._call_function(forward, node)
            union = self._union_call(self.flow.registries.instances.get(func.slot, ()), "forward", node)
            if union is not None:
                return union
        args = []
        for arg in node.args if handed is None else handed:
            value = self.expr(arg.value)
            if isinstance(value, VChoice):
                # `self.gru(x, h if h is not None else torch.zeros(...))`: held in a place of its own,
                # as when it is named first, so that a state there makes each option one
                value = self._materialize(value, arg.value)
            args.append((arg.keyword.value if arg.keyword is not None else None, value, arg))
        call = VCallOf(func, node, args, CallResultSlot.of(id(node)))
        if self.recording:
            self.flow.calls.append(call)
        return call

    def _unknown_call(self, node: cst.Call, name: str, place: Optional[str] = None) -> Value:
        if place is None:
            place = self.outside_place(node.func)
        if place is None:  # `R[name](...)` of a registry whose members come from such a file
            place = self.flow.registries.places.get(id(node.func))
        if place is not None:
            self.flow.outside_calls[id(node)] = place
        where = from_where(place)
        for arg in node.args:
            value = self.expr(arg.value)
            self.consume(value, Use.UNKNOWN, arg.value, f"passed to {name}{where}", place)
            if place is not None and self.recording and isinstance(value, VOpaque) and value.why == "self" and self.function.class_name is not None:
                # a function of a project file not migrated with this one, which may call what it is handed
                self.flow.self_escapes.append((arg.value, self.function.class_name, f"passed to {name}{where}", place))
        return VOpaque(node, f"{name}(...)")


def _spread_argument(callee: FunctionInfo, node: cst.Call) -> Optional[cst.Arg]:
    """The one `*E` argument of a call whose items are known to be the parameters after the
    positional arguments before it: the last argument, no keyword, no other star, and the callee
    takes exactly those (no *args, no defaults from there on). None otherwise."""
    if not node.args or node.args[-1].star != "*" or callee.variadic:
        return None
    before = node.args[:-1]
    if any(arg.star or arg.keyword is not None for arg in before) or len(before) > len(callee.params):
        return None
    remaining = callee.params[len(before):]
    if not remaining or any(param.node.default is not None for param in remaining):
        return None
    return node.args[-1]


def _is_star_arg(definition) -> bool:
    """Is the parameter `definition` its function's `*args`?"""
    star = definition.function.node.params.star_arg if definition.function is not None else None
    return isinstance(star, cst.Param) and star.name is definition.node


def _is_super(node: cst.BaseExpression) -> bool:
    """`super()` or `super(Class, self)`."""
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == SUPER
