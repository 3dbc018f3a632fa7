"""Expression evaluation: what an expression is, as far as the hidden state is concerned (a value
of values.py), and where an assignment target puts a value (a slot).

Names, attributes, subscripts, literals, comprehensions and operators are evaluated here; calls
are evaluated by calls.CallWalker (`_call`), the class the walk is made of (flow.Collector)
inherits both.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.program import Binding, BindingKind, DefinitionKind, UnpackedElement, Unpacking, Use, from_where
from gru2lstm.qualnames import dotted
from gru2lstm.scopes import Scope
from gru2lstm.syntax import attribute_root, constant_string, free_reads, int_key, is_none, is_slice, makes_dict, rows_holder, slice_bounds, slice_expression, string_key, walk
from gru2lstm.values import (
    ELEM,
    AttrLabel,
    AttrSlot,
    ChildSlot,
    DefSlot,
    Derivation,
    GlobalSlot,
    InstanceSlot,
    KeyLabel,
    LabelKind,
    NodeSlot,
    PosLabel,
    ReturnSlot,
    Slot,
    SlotKind,
    Value,
    VArith,
    VCallOf,
    VChoice,
    VCat,
    VContainer,
    VCreate,
    VDerived,
    VIndex,
    VNone,
    VOpaque,
    VSlot,
    VTuple,
    VZip,
    element_of,
    part_at,
)
from gru2lstm.vocab import (
    ITEM_READER, ITEM_WRITER, ITERATOR, KEEP_ATTRIBUTES, READ_ATTRIBUTES, RECURRENT, TRANSPOSING_ATTRIBUTES, WRAPPED_MODULE_ATTRIBUTE,
)

# What an element after a starred target receives when its position cannot be counted.
AFTER_STAR = "a value unpacked after a starred target"
# What each field of a record receives from a spread whose items cannot be placed (`Memory(*parts)`).
SPREAD_FIELDS = "an item of a spread the engine does not follow"
CONSTANT = "a constant"  # a literal: what a library call of it makes (`np.random.randn(2, 4)`) is derived from it


def after_star(value: Value, position: int, length: int, node: cst.BaseExpression) -> Value:
    """The part of `value` that lands in an element after a starred target (`h` of `*_, h = v`):
    an item of a literal tuple, counted from its end; of anything else, a value not followed."""
    if isinstance(value, VTuple) and len(value.items) >= length - 1:
        return value.items[position - length]
    return VOpaque(node, AFTER_STAR)


def _starred_rest(value: Value, position: int, length: int, node: cst.BaseExpression) -> Value:
    """What a starred target receives: of a call's result unpacked with the starred target last
    (`out, *rest = self.gru(x, h)`), a list of what follows the elements before it, each an item of
    the result where it lands (`rest[0]`: the state); of anything else, a value not followed."""
    if isinstance(value, VCallOf) and position == length - 1:
        return VContainer(node, [(ELEM, part_at(value, position, length))])
    return VOpaque(node, "a starred target")


class ExpressionWalker(Scope):
    """Evaluates expressions and assignment targets; what they read and bind is recorded."""

    def expr(self, node: cst.BaseExpression) -> Value:
        """What `node` is as far as the hidden state is concerned; what it reads and binds is recorded."""
        if isinstance(node, cst.Name):
            return self._read_name(node)
        if isinstance(node, cst.Attribute):
            if self._external(node):
                place = self.outside_place(node)
                if place is not None and self.recording:  # `store.STATES` of a file not migrated with this one
                    self.flow.outside_calls[id(node)] = place
                return VOpaque(node, "a module")
            base = self.expr(node.value)
            name = node.attr.value
            own = isinstance(base, VOpaque) and base.why == "self"  # `self.data` is an attribute
            if name == WRAPPED_MODULE_ATTRIBUTE and self.holds_wrapper(node.value):
                return VSlot(base.slot, node) if isinstance(base, VSlot) else base  # the wrapped module
            if name in READ_ATTRIBUTES and not own:
                return VDerived(base, node, Derivation.READ)
            if name in KEEP_ATTRIBUTES | TRANSPOSING_ATTRIBUTES and not own:
                return VDerived(base, node, Derivation.KEEP)
            read = self._property_read(node, base) if name in self.flow.property_names else None
            if read is not None:
                return read
            return self._slot_read(node.value, name, node, base)
        if isinstance(node, cst.Subscript):
            base = self.expr(node.value)
            read = self._item_read(node)
            if read is not None:
                return read
            key = string_key(node)
            if key is not None:
                base = self._materialize(base, node.value)
            if key is not None and base is not None:
                slot = ChildSlot.of(base.slot, KeyLabel.of(key))
                if self.recording:
                    self.flow.slot_nodes.append((slot, node))
                    self.flow.named_key_reads.append(slot)
                return VSlot(slot, node)
            for bound in slice_bounds(node):  # `x[:, :self.core(h)[1]]`: a bound is code the walk follows too
                self.consume(self.expr(bound), Use.INDEX, node)
            if is_slice(node) and isinstance(node.value, (cst.List, cst.Tuple)) and isinstance(base, (VContainer, VTuple)):
                # `[0, zeros][::-1]`: which item lands at which position is not known, so each is an element
                items = base.items if isinstance(base, VTuple) else [item for _, item in base.items]
                return VContainer(node, [(ELEM, item) for item in items])
            value = VIndex(base, node, int_key(node))
            if self.recording:
                self.flow.indexes.append(value)
            return value
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, (cst.Tuple, cst.List)):
            items = [self.expr(e.value) for e in node.elements]
            spread = next((i for i, e in enumerate(node.elements) if isinstance(e, cst.StarredElement)), len(items))
            if isinstance(node, cst.Tuple) and spread < len(items) - 1:
                # `(*extras, out, h)`: the items after what is spread have no position known here
                for element, item in zip(node.elements[spread + 1:], items[spread + 1:]):
                    self.consume(item, Use.OTHER, element.value, f"put after `*{self.code(node.elements[spread].value)}` in `{self.code(node)}`, so that its position is not known")
                return VOpaque(node, f"`{self.code(node)}`")
            if isinstance(node, cst.List):
                return VContainer(node, [(ELEM, item) for item in items])
            return VTuple(items, node)
        if isinstance(node, cst.Dict):
            items, spread = [], []
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    key = constant_string(element.key)
                    value = self.expr(element.value)
                    if key is None:
                        self.consume(self.expr(element.key), Use.OTHER, element.key)
                    items.append((KeyLabel.of(key) if key is not None else ELEM, value))
                else:
                    spread.append(self.expr(element.value))  # `{**carry, "hidden": h}`: a copy of `carry`, as `dict(carry)` is
            return VChoice([*spread, VContainer(node, items)], node) if spread else VContainer(node, items)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)) and node.for_in.inner_for_in is None:
            # `[s.hidden for s in steps]`: a list whose elements are what the element expression is.
            comprehension = node.for_in
            iterated = self.expr(comprehension.iter)
            iterable = self._values_iterated(iterated, comprehension.iter, LabelKind.POS, "iterated")
            outer = dict(self.env)
            self.comprehensions += 1
            self._assign_target(comprehension.target, self._element(iterable), self.statement, BindingKind.LOOP)
            for condition in comprehension.ifs:
                self.consume(self.expr(condition.test), Use.TEST, condition.test)
            if isinstance(node, cst.DictComp):
                self.consume(self.expr(node.key), Use.READ, node.key)
            element = self.expr(node.value if isinstance(node, cst.DictComp) else node.elt)
            if isinstance(element, VChoice) and not isinstance(node, cst.DictComp):
                # `[m if m is not None else torch.zeros(...) for m in mems]`: each option is held in
                # one place, so a creation among them becomes a state where the others are one
                element = self._materialize(element, node.elt)
            if isinstance(node, cst.DictComp) and self.recording:
                self._note_mirrored_keys(node, iterated, element)
            self.env = outer
            self.comprehensions -= 1
            return VContainer(node, [(ELEM, element)], iterable)
        if isinstance(node, cst.IfExp):
            self.consume(self.expr(node.test), Use.TEST, node.test)
            return VChoice([self.expr(node.body), self.expr(node.orelse)], node)
        if isinstance(node, cst.BooleanOperation):
            return VChoice([self.expr(node.left), self.expr(node.right)], node)
        if isinstance(node, cst.BinaryOperation):
            left, right = self.expr(node.left), self.expr(node.right)
            repeated = _repeated_list(node, left, right)
            if repeated is not None:  # `[h0] * n`: a list of the literal's elements, n times
                self.consume(right if repeated is left else left, Use.READ, node)
                return VContainer(node, repeated.items)
            if isinstance(node.operator, cst.BitOr) and (self.holds_dict(left) or self.holds_dict(right)):
                return VChoice([left, right], node)  # `carry | {"hidden": h}`: a copy of both, as `{**carry, **new}` is
            value = VArith(left, right, node)
            if self.recording:
                self.flow.arithmetic.append(value)
            return value
        if isinstance(node, cst.UnaryOperation):
            operand = self.expr(node.expression)
            if isinstance(operand, VOpaque) and operand.why == CONSTANT:
                return VOpaque(node, CONSTANT)  # `-1`, a literal as `1` is (`h.shape[-1]` indexes by no value)
            return VDerived(operand, node, Derivation.SHAPE)
        if isinstance(node, cst.Comparison):
            none_test = all(
                isinstance(t.operator, (cst.Is, cst.IsNot)) and is_none(t.comparator) for t in node.comparisons
            )
            left = self.expr(node.left)
            self.consume(left, Use.ISNONE if none_test else Use.READ, node.left)
            for target in node.comparisons:
                self.consume(self.expr(target.comparator), Use.READ, target.comparator)
            return VOpaque(node, "a comparison")
        if isinstance(node, cst.ConcatenatedString):  # `"a" f"{h.norm()}"`: its f-string parts are walked
            self.expr(node.left)
            self.expr(node.right)
            return VOpaque(node, CONSTANT)
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
            return VOpaque(node, CONSTANT)
        if isinstance(node, cst.FormattedString):  # f"{h.norm():.3f}": each expression is formatted, like print(h)
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):  # read only (vocab.FORMATTING_BUILTINS)
                    self.consume(self.expr(part.expression), Use.READ, part.expression, "formatted into a string")
            return VOpaque(node, "an f-string")
        if isinstance(node, cst.NamedExpr) and isinstance(node.target, cst.Name) and self._qualified(node.value) & set(RECURRENT):
            # `(cell := nn.GRUCell(4, 8))`: the module held by a name, as `cell = nn.GRUCell(4, 8)` holds it
            value = self.expr(node.value)
            self._assign_target(node.target, value, self.statement, BindingKind.ASSIGN)
            return value
        # Lambdas, nested comprehensions, await, …: what is read inside is handed over, but for a
        # lambda held as a method (definitions._held_lambda), whose body is walked as that method's.
        if not (isinstance(node, cst.Lambda) and self._walked_as_method(node)):
            self.hand_over_inside(node, f"`{self.code(node)}`")
        return VOpaque(node, f"`{self.code(node)}`")

    def _walked_as_method(self, node: cst.Lambda) -> bool:
        return any(held.node.body.body[0].body[0].value is node.body for helds in self.flow.held_lambdas.values() for held in helds)

    def hand_over_inside(self, node: cst.CSTNode, where: str) -> None:
        """Code the walk does not follow (a lambda, a nested function): what it calls from around
        it is handed over (hand_over_callees), and what it reads from around it is consumed as
        "other": each of `names` (the Names read there), and each attribute chain from one
        (`self.h` of `lambda: Memory(self.h, t)`; the mentions of `self.gru.hidden_size` are
        recorded, so a renamed module is renamed there too)."""
        names = free_reads(node)
        free = {id(name) for name in names}
        called = self.hand_over_callees(node, free, where)
        why = f"used inside {where}"
        chains = set()  # the ids of the chains read here and of their links
        for inner in walk(node):
            if id(inner) in chains or not isinstance(inner, cst.Attribute) or dotted(inner) is None or id(attribute_root(inner)) not in free:
                continue
            links, link = [], inner
            while isinstance(link, cst.Attribute):
                links.append(link)
                chains.add(id(link))
                link = link.value
            if id(inner) not in called:
                self.consume(self.expr(inner), Use.OTHER, inner, why)
            for prefix in links[1:]:  # what the chain passes through (`self.h` of `self.h.norm`), read again without recording
                read = []
                self._quietly(lambda: read.append(self.expr(prefix)))
                self.consume(read[0], Use.OTHER, prefix, why)
        for name in names:
            if id(name) not in called:
                self.consume(self._read_name(name), Use.OTHER, name, why)

    def _note_mirrored_keys(self, node: cst.DictComp, iterable: Value, element: Value) -> None:
        """`{k: torch.stack([s[k] for s in steps], 1) for k in steps[0]}`, `{k: v.detach() for k, v
        in state.items()}`: the dict made has the keys of the dict read by the key (`s[k]`) or
        iterated (`state.items()`), each value kept from the value under that key there, so a
        constant key read from it (`post["deter"]`) is a state when that key is one there (solve.py).
        What is done to the values is judged where they are read (rules/unfollowed.py, packed_values.py)."""
        loop = node.for_in
        names = [e.value for e in loop.target.elements] if isinstance(loop.target, cst.Tuple) else [loop.target]
        key = names[0]
        if not (isinstance(key, cst.Name) and isinstance(node.key, cst.Name) and node.key.value == key.value):
            return
        for read in _kept_reads(element):
            if isinstance(read, VIndex) and isinstance(read.base, VSlot) and len(read.node.slice) == 1:
                index = slice_expression(read.node.slice[0])
                if isinstance(index, cst.Name) and index.value == key.value:
                    self.flow.mirrored_keys[id(node)] = [read.base.slot]
            elif isinstance(read, VSlot) and len(names) == 2 and isinstance(names[1], cst.Name) and read.slot == DefSlot.of(id(names[1])):
                viewed = _items_viewed(iterable)
                if viewed is not None:
                    self.flow.mirrored_keys[id(node)] = [viewed]

    def hand_over_callees(self, node: cst.CSTNode, free: set, where: str) -> set:
        """What code the walk does not follow (a lambda, a nested function) calls by a name from
        around it (`model.cell` of `lambda c, x: model.cell(x, c)`) is handed over: a recurrent
        module called there would still be given one tensor (rules/unfollowed.ModuleHandedOver).
        Gives the ids of the names and chains called that way (`step(...)`, `self.pi(...)`), which
        are walked once."""
        called = set()
        for inner in walk(node):
            if isinstance(inner, cst.Call):
                root = attribute_root(inner.func)
                if id(root) in free:
                    callee = self.expr(inner.func)
                    if isinstance(callee, VSlot):  # a place that may hold a module, not a method of a value (`h.zero_`)
                        self.consume(callee, Use.UNKNOWN, inner.func, f"called inside {where}{from_where(None)}", inside=where)
                    called.add(id(inner.func))
        return called

    def holds_wrapper(self, node: cst.CSTNode) -> bool:
        """Does `node` hold a module wrapper (vocab.MODULE_WRAPPERS): a name every definition of
        which is one, a module-level name, or an attribute of self?"""
        info = self.function
        if isinstance(node, cst.Name) and node.value in self.env:
            defs = self.env[node.value]
            return bool(defs) and all(DefSlot.of(d) in self.wrappers for d in defs)
        if isinstance(node, cst.Name) and node.value in self.module_names:
            return GlobalSlot.of(self.key, node.value) in self.wrappers
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and info is not None and node.value.value == info.self_name:
            return AttrSlot.of(info.class_name, node.attr.value) in self.wrappers
        return False

    def _slot_read(self, owner: cst.BaseExpression, name: str, node: cst.BaseExpression, base: Value) -> Value:
        """The attribute `name` of the object `owner` (whose value is `base`), read at `node`."""
        slot = self._attribute_slot(owner, name, node, base)
        if slot is None:
            self.consume(base, Use.OTHER, owner, f"read through its attribute `.{name}`")
            return VOpaque(node, f"`{self.code(node)}`")
        return VSlot(slot, node)

    def named_attribute(self, node: cst.Call) -> Optional[Value]:
        """`getattr(self, "gru")`: the attribute its name writes out, read at the call; with a
        default (`getattr(self, "hidden", None)`), that attribute or the default. None for a name
        computed or not an attribute of a value of the program, a property or an attribute that is
        not a place (`.data`): what it gives is then unknown."""
        args = node.args
        if len(args) not in (2, 3) or any(arg.keyword is not None or arg.star for arg in args):
            return None
        owner, name = args[0].value, constant_string(args[1].value)
        if not (name and name.isidentifier()) or name in self.flow.property_names | READ_ATTRIBUTES | KEEP_ATTRIBUTES:
            return None
        if not isinstance(owner, (cst.Name, cst.Attribute)) or self._external(owner):
            return None
        if name == WRAPPED_MODULE_ATTRIBUTE and self.holds_wrapper(owner):
            return None
        read = self._slot_read(owner, name, node, self.expr(owner))
        return read if len(args) == 2 else VChoice([read, self.expr(args[2].value)], node)

    def looked_up_object(self, owner: cst.BaseExpression) -> Value:
        """The object of `getattr(owner, name)` with a name not written out: `self` in a method is
        an instance of its class (a value the walk otherwise leaves opaque), so that taking an
        attribute of it by name can be judged (rules/module_reach.py)."""
        info = self.function
        if info is not None and info.class_name is not None and isinstance(owner, cst.Name) and owner.value == info.self_name:
            return VSlot(InstanceSlot.of(info.class_name), owner)
        return self.expr(owner)

    def _attribute_slot(self, owner: cst.BaseExpression, name: str, node: cst.BaseExpression, base: Value) -> Optional[Slot]:
        """The place of attribute `name` of `owner` (its value `base`), read or written at `node`."""
        info = self.function
        if (
            info is not None
            and info.self_name is not None
            and isinstance(owner, cst.Name)
            and owner.value == info.self_name
        ):
            slot = AttrSlot.of(info.class_name, name)
        elif (module := self._program_module(owner)) is not None and self.flow.lookup(module, name) is None:
            # `shared.HIDDEN` after `import shared`: that module's global, as `from shared import HIDDEN` reads it
            slot = GlobalSlot.of(module, name)
        else:
            slot = self._field_slot(name, base, owner)
            if slot is None:
                return None
        if self.recording:
            self.flow.slot_nodes.append((slot, node))
        return slot

    def outside_place(self, node: cst.BaseExpression) -> Optional[str]:
        """The file outside the program (of the project, not migrated with this one) that the name
        at the root of `node` comes from (`store` of `store.STATES[key]`), else None."""
        root = node
        while isinstance(root, (cst.Attribute, cst.Call, cst.Subscript)):
            root = root.func if isinstance(root, cst.Call) else root.value
        return self.outside.get(root.value) if isinstance(root, cst.Name) and root.value not in self.env else None

    def _program_module(self, owner: cst.BaseExpression) -> Optional[str]:
        """The key of the program's module that `owner` names (`shared` after `import shared`), else None."""
        if not isinstance(owner, cst.Name) or owner.value in self.env or owner.value not in self.module_names:
            return None
        found = self.flow.lookup(self.key, owner.value)
        return found.key if found is not None and found.kind == DefinitionKind.MODULE else None

    def _property_read(self, node: cst.Attribute, base: Value) -> Optional[Value]:
        """`agent.hidden` of `@property def hidden(self)` of the object's class: the getter runs, and
        its return is read. Of an object the walk cannot tie to a class, recorded (accessors.py)."""
        getter = self._method_of_object(node.value, node.attr.value)
        if getter is None or not getter.is_property:
            if self.recording and self._instance_of(node.value) is None:
                self.flow.property_access.append((node.attr.value, node, base, False))
            return None
        if self.recording:  # a subclass's property may run instead (rules/joined_operands.py asks what runs)
            for override in self.flow.overrides(getter.class_name, getter.key.name):
                self.flow.ran(node, override.key)
        return self._result_of(getter, node)

    def _item_read(self, node: cst.Subscript) -> Optional[Value]:
        """`buffer[i]` of an object whose class of the program defines __getitem__: it runs, and its
        return is read (the index is only read). None for anything else (accessors.py reports an
        index of such an object that the walk could not tie to its class)."""
        reader = self._method_of_object(node.value, ITEM_READER)
        if reader is None:
            return None
        for bound in slice_bounds(node):
            self.consume(self.expr(bound), Use.READ, node)
        return self._result_of(reader, node)

    def held_literal(self, value: Value, node: cst.CSTNode) -> Value:
        """A tuple, list or dict display iterated, held in a place of its own (its items joined
        there); any other value as it is."""
        if not (isinstance(value, (VTuple, VContainer)) and value.items):
            return value
        held = VSlot(NodeSlot.of(SlotKind.LITERAL, id(node)), node)
        if _is_dict_display(value):
            self.flow.dicts.add(held.slot)
        if self.recording:
            self.flow.bindings.append(Binding(held.slot, value, BindingKind.JOIN, self.statement, None, self.function))
        return held

    def viewed_literal(self, value: Value, node: cst.CSTNode) -> Value:
        """A tuple or list display handed to an iterating builtin (`zip((self.a, self.b), hs)`):
        held as `held_literal` does, its items seen as one element (solve.py joins their marks)."""
        if _is_dict_display(value):
            return value  # iterated, a dict gives its keys
        held = self.held_literal(value, node)
        if held is not value and self.recording:
            self.flow.value_views.append((held.slot, LabelKind.POS))
        return held

    def _own_iterator(self, node: cst.CSTNode) -> Optional[Value]:
        """What iterating `node` goes over, when its class of the program defines __iter__: that
        method's return. None for anything else."""
        method = self._method_of_object(node, ITERATOR)
        return None if method is None else self._result_of(method, node)

    def _method_of_object(self, node: cst.CSTNode, name: str):
        """The method `name` of the program class of the object `node` holds, when that class is
        known (`_instance_of`) and has one; else None."""
        owner = self._instance_of(node)
        return self.flow.method(owner, name) if owner is not None else None

    def _result_of(self, method, node: cst.CSTNode) -> Value:
        """What `method` gives where an attribute read, an index or a loop at `node` runs it."""
        if self.recording:
            self.flow.ran(node, method.key)
        return VSlot(ReturnSlot.of(method.key), node)

    def _field_slot(self, name: str, base: Value, base_node: cst.CSTNode) -> Optional[Slot]:
        """The place of attribute `name` of the object `base` (not `self`), written `base_node`."""
        if (
            len(self.attribute_owners.get(name, ())) == 1 and not isinstance(base, VNone) and name not in self.flow.methods_by_name
            and not self.outside and not self._names_a_key(base_node, name)
            and id(self.parents.get(base_node)) not in self.flow.unguessed
        ):
            # `agent.model.gru`: the only class that has this attribute owns it. Not a method
            # (`self.act(...)` inside one class, `act` defined in others too): the joined classes
            # tell which classes' method a call of `policy.act` runs (joined_calls.called_methods).
            # Not where a class of a file not analysed may be used: it may have that attribute too
            # (`env.hidden` of a wrapper class, `self.hidden = 6` of the policy). Not a registry's
            # key (`args.agent` of `R.get(args.agent)`), which names a member. Not where a first
            # solution showed the object is a library's value (guessed_owners.misguessed).
            (owner,) = self.attribute_owners[name]
            if self.recording and isinstance(self.parents.get(base_node), cst.Attribute):
                self.flow.guessed_attributes.append((self.parents[base_node], base, owner, name))  # guessed_owners.py checks it
            return AttrSlot.of(owner, name)
        owner = self._instance_of(base_node) if not isinstance(base, VNone) else None
        if owner is not None and owner in self.attribute_owners.get(name, ()):
            return AttrSlot.of(owner, name)  # `state.manager` of `state: HierState`, where a module has a `manager` too
        base = self._materialize(base, base_node)
        return None if base is None else ChildSlot.of(base.slot, AttrLabel.of(name))

    def _names_a_key(self, owner: cst.CSTNode, name: str) -> bool:
        """Is `owner.name` what this function looks up a followed registry by (registries.py)?"""
        return self.function is not None and self.flow.registries.names_a_key(self.function.node, f"{self.code(owner)}.{name}")

    def _materialize(self, value: Value, node: cst.CSTNode) -> Optional[VSlot]:
        """A slot standing for a value that has parts (`seqs[i]` in `seqs[i].hidden`)."""
        if isinstance(value, VSlot):
            return value
        if isinstance(value, VCallOf):
            return VSlot(value.result, node)
        if isinstance(value, (VIndex, VChoice)):
            slot = NodeSlot.of(SlotKind.EXPR, id(node))
            self._bind(slot, value, BindingKind.ASSIGN, self.statement, None)
            return VSlot(slot, node)
        return None

    def _target_slot(self, target: cst.BaseExpression) -> Optional[Slot]:
        if isinstance(target, cst.Name):
            return self._new_def(target.value, target)
        if isinstance(target, cst.Attribute):
            base = self.expr(target.value)
            getter = self._method_of_object(target.value, target.attr.value)
            stored = self.flow.setter_store(getter) if getter is not None and getter.is_property else None
            if stored is not None:  # a setter that only stores its value: the write is one of that attribute
                return AttrSlot.of(getter.class_name, stored)
            if self.recording and target.attr.value in self.flow.property_names:
                # a setter runs: what it is given is not followed
                setter = self._method_of_object(target.value, target.attr.value)
                if self._instance_of(target.value) is None or setter is not None and setter.is_property:
                    self.flow.property_access.append((target.attr.value, target, base, True))
            if target.attr.value in KEEP_ATTRIBUTES and not (isinstance(base, VOpaque) and base.why == "self"):
                # `self.h.data = V` swaps the tensor's storage: no part of it, and not split per half
                # (read as a field of the state, packed wrote h's chunk over the pair, exit 0)
                self.consume(base, Use.OTHER, target.value, f"replaced whole by `{self.code(target)} = ...`, which the rewrite does not split per half")
                return None
            return self._attribute_slot(target.value, target.attr.value, target, base)
        if isinstance(target, cst.Subscript):
            base = self.expr(target.value)
            if isinstance(base, VIndex):  # `buffers[i][...] = h`: rows of an element
                base = self._materialize(base, target.value)
            if rows_holder(target) is not target.value and isinstance(base, VDerived) and isinstance(base.base, VSlot):
                base = base.base  # `self.h.data[:, done] = 0`: rows of `self.h`
            key = string_key(target)
            if isinstance(base, VSlot):
                if key is not None:
                    slot = ChildSlot.of(base.slot, KeyLabel.of(key))
                else:
                    slot = ChildSlot.of(base.slot, ELEM)
                    for bound in slice_bounds(target):
                        self.consume(self.expr(bound), Use.INDEX, target)
                if self.recording:
                    self.flow.slot_nodes.append((slot, target))
                return slot
            # `h.view(-1)[0] = 0`: rows written through a view of the tensor, which the rewrite would
            # not split per half; said of the tensor viewed (the view alone would be read as features, h)
            viewed = base
            while isinstance(viewed, VDerived) and viewed.kind != Derivation.READ:
                viewed = viewed.base
            self.consume(viewed, Use.OTHER, target.value, f"written into by `{self.code(target)} = ...`, a view the rewrite does not split per half")
            return None
        return None

    def _assign_target(self, target: cst.BaseExpression, value: Value, statement, kind: BindingKind) -> Optional[Slot]:
        if isinstance(target, (cst.Tuple, cst.List)):
            if isinstance(value, VIndex):  # `a, h = self._pending[i]`: positions of an element
                value = self._materialize(value, value.node)
            if isinstance(value, VContainer) and isinstance(value.node, cst.List) and len(value.items) == len(target.elements) and not any(
                isinstance(element, cst.StarredElement) for element in (*value.node.elements, *target.elements)
            ):
                value = VTuple([item for _, item in value.items], value.node)  # `[ha, hc] = [hs[0], hs[1]]`: item by item
            elements = []
            starred = False
            for position, element in enumerate(target.elements):
                node = element.value
                if isinstance(element, cst.StarredElement):
                    self._assign_target(node, _starred_rest(value, position, len(target.elements), node), statement, kind)
                    elements.append(UnpackedElement(position, node, None))
                    starred = True
                    continue
                if starred:
                    # `*_, h = f()`: h is a position counted from the end of a length known here only for a literal.
                    slot = self._assign_target(node, after_star(value, position, len(target.elements), node), statement, kind)
                    elements.append(UnpackedElement(position - len(target.elements), node, slot))
                    continue
                part = part_at(value, position, len(target.elements))
                rows = _zipped_rows(value)
                if rows is not None:
                    # `a, b = zip(*rows)`, `zip(*rows[-k:])`: `a` holds the first part of every row.
                    column = ChildSlot.of(NodeSlot.of(SlotKind.ZIP, id(value.node)), PosLabel.of(position))
                    self.flow.containers.add(column)
                    self._bind(ChildSlot.of(column, ELEM), VSlot(ChildSlot.of(ChildSlot.of(rows, ELEM), PosLabel.of(position)), None), BindingKind.ASSIGN, statement, None)
                    part = VSlot(column, None)
                    if value.joined_by is not None:  # `map(torch.stack, zip(*rows))`: the column joined
                        part = VCat(part, value.node, value.node.args[1].value)
                slot = self._assign_target(node, part, statement, kind)
                elements.append(UnpackedElement(position, node, slot))
            if self.recording:
                self.flow.unpackings.append(Unpacking(target, value, elements, statement, self.function))
            return None
        if isinstance(target, cst.Name) and target.value == "_":
            self.discard(value, target)  # `_, v, _ = model(x, h)`: thrown away, never one place
            return None
        writer = self._method_of_object(target.value, ITEM_WRITER) if isinstance(target, cst.Subscript) else None
        if writer is not None:  # `buffer[i] = h` runs __setitem__, which is not followed
            self.consume(self.expr(target.value), Use.READ, target.value)
            for bound in slice_bounds(target):
                self.consume(self.expr(bound), Use.READ, target)
            where = getattr(value, "node", None) or target
            self.consume(value, Use.UNKNOWN, where, f"stored by `{self.code(target)} = ...` through `{writer.display_name}()`")
            return None
        slot = self._target_slot(target)
        if slot is not None and slot.kind == SlotKind.CHILD:
            self._foreign_store(slot, target, value)
        if slot is not None:
            self._bind(slot, value, kind, statement, target)
            if self.is_new_dict(value):
                self.flow.dicts.add(slot)
        elif self.outside_place(target) is not None:  # `store.STATES[key] = h`: kept by code not analysed
            place = self.outside_place(target)
            self.consume(value, Use.UNKNOWN, target, f"stored into `{self.code(target)}`{from_where(place)}", place)
        else:
            self.consume(value, Use.OTHER, target, f"assigned to `{self.code(target)}`")
        return slot

    def _foreign_store(self, slot: Slot, target: cst.BaseExpression, value: Value) -> None:
        """A value stored into an object that code the engine does not analyse may also read and
        write: `buf.h[t] = h` with `buf` made by a class of a file not migrated with this one, or
        `env.hidden = h` on an object of no known class where such classes are imported (a
        wrapper's `reset()` may set `env.hidden` itself). A state stored so is a crossing."""
        place = self.flow.origin(VSlot(slot, target))
        if place is None:
            if not (self.outside and isinstance(slot.label, AttrLabel)):
                return
            files = set(self.outside.values())
            place = files.pop() if len(files) == 1 else None
        where = getattr(value, "node", None) or target
        self.consume(value, Use.UNKNOWN, where, f"stored into the object `{self.code(target.value)}`{from_where(place)}", place)

    def holds_dict(self, value: Value) -> bool:
        """Is `value` a dict: a display or a constructor of one, or a place bound to one?"""
        return self.is_new_dict(value) or (isinstance(value, VSlot) and value.slot in self.flow.dicts)

    def is_new_dict(self, value: Value) -> bool:
        """Is `value` a new dict: a display, `dict(...)`, or a call of a TypedDict class of the
        program (`Carry(hidden=h)`, and `Carry(carry)`, a copy of `carry`; followed_calls._typed_dict)?"""
        if _is_dict_display(value):
            return True
        made = value.node if isinstance(value, (VContainer, VChoice)) else None
        owner = self.resolve_class(made.func) if isinstance(made, cst.Call) else None
        return owner is not None and self.flow.is_typed_dict(owner)

    def _element(self, value: Value) -> Value:
        """What one element of an iterated `value` is; of a dict, a key, which is no state."""
        if self.holds_dict(value):
            return VOpaque(None, "a key of a dict")
        if isinstance(value, VSlot) and self.recording:
            self.flow.iterated_elements.append(value)  # a dict after all gives its keys (rules/unfollowed.DictTakenForSequence)
        rows = _zipped_rows(value)
        if rows is not None:
            return self._zipped_column(value, rows)
        return element_of(value)

    def _zipped_column(self, value: VZip, rows: Slot) -> Value:
        """`for ts in zip(*rows)` (TorchBeast's `torch.cat(ts, dim=1) for ts in zip(*states)`): each
        column is a list of the items of every row at one position, so its element is any item of a
        row, as a loop over a row's items sees them (a row that mixes states with other values is reported)."""
        row = ChildSlot.of(rows, ELEM)
        column = ChildSlot.of(NodeSlot.of(SlotKind.ZIP, id(value.node)), ELEM)
        if self.recording:
            self.flow.value_views.append((row, LabelKind.POS))
            self.consume(VSlot(row, None), Use.ITERATE_POS, value.node, "taken apart by `zip(*...)`")
            self.flow.containers.add(column)
            self._bind(ChildSlot.of(column, ELEM), VSlot(ChildSlot.of(row, ELEM), None), BindingKind.ASSIGN, self.statement, None)
        return VSlot(column, None)

    def _values_iterated(self, value: Value, node: cst.CSTNode, label: LabelKind, why: str) -> Value:
        """A loop over a dict's values (label KEY) or a tuple's items (POS) sees them all as
        one element; the solver makes that element a state when they are states, and the planner
        reports a mix. A literal (`for t in (out, h)`) is held in a place of its own for that. An
        object whose class of the program defines __iter__ gives what that returns (its container,
        or a generator's yields)."""
        iterator = self._own_iterator(node)
        if iterator is not None:
            return iterator
        if isinstance(value, VSlot) and self.recording:
            self.flow.iterations.append((value, node))
        value = self.held_literal(value, node)
        if isinstance(value, VSlot) and self.recording:
            self.flow.value_views.append((value.slot, label))
            self.consume(value, Use.iterating(label), node, why)
        return value


def _kept_reads(element: Value) -> list:
    """What a comprehension's element may keep: through keeping methods, tensor indexing that is no
    read by the loop's key, a stack or concatenation of a one-element comprehension, and either
    factor of a product (`v * mask` keeps v's shape; which factor is the value is told by the loop's names)."""
    while True:
        if isinstance(element, VDerived) and element.kind == Derivation.KEEP:
            element = element.base
        elif isinstance(element, VIndex) and _read_by_rows(element.node):
            element = element.base
        elif isinstance(element, VCat) and isinstance(element.container, VContainer) and len(element.container.items) == 1:
            element = element.container.items[0][1]
        elif isinstance(element, VArith) and isinstance(element.node, cst.BinaryOperation) and isinstance(element.node.operator, cst.Multiply):
            return _kept_reads(element.left) + _kept_reads(element.right)
        elif isinstance(element, VChoice):  # `v if v is not None else torch.zeros(...)`: either is kept
            return [read for option in element.options for read in _kept_reads(option)]
        else:
            return [element]


def _read_by_rows(node: cst.Subscript) -> bool:
    """`v[:, -1]`: an index made only of numbers and slices (a tensor's rows), not a key."""
    return all(isinstance(e.slice, cst.Slice) or isinstance(e.slice.value, (cst.Integer, cst.UnaryOperation)) for e in node.slice)


def _items_viewed(iterable: Value) -> Optional[Slot]:
    """The dict whose `.items()` a comprehension iterates (the container `.items()` gives), or None."""
    if not (isinstance(iterable, VContainer) and isinstance(iterable.node, cst.Call) and len(iterable.items) == 1):
        return None
    func = iterable.node.func
    pair = iterable.items[0][1]
    if not (isinstance(func, cst.Attribute) and func.attr.value == "items" and isinstance(pair, VTuple) and len(pair.items) == 2):
        return None
    value = pair.items[1]
    return value.slot.base if isinstance(value, VSlot) and value.slot.kind == SlotKind.CHILD else None


def _zipped_rows(value: Value) -> Optional[Slot]:
    """The place of the rows `zip(*rows)` takes apart, also through a slice (`zip(*states[1:])`);
    None for anything else."""
    if not isinstance(value, VZip):
        return None
    rows = value.rows.base if isinstance(value.rows, VIndex) and is_slice(value.rows.node) else value.rows
    return rows.slot if isinstance(rows, VSlot) else None


def _is_dict_display(value: Value) -> bool:
    """`{k: v ...}`, `{k: v for ...}`, `dict(...)`, `defaultdict(...)`: iterated, a dict gives its keys."""
    return isinstance(value, VContainer) and makes_dict(value.node)


def _repeated_list(node: cst.BinaryOperation, left: Value, right: Value) -> Optional[VContainer]:
    """The value of the list literal of `[x] * n` or `n * [x]`, else None. Placeholders made there
    (`[torch.empty(0)] * T`, written over later) keep their reading as an arithmetic, which
    TorchScript's typed list of pairs rewrites whole (rules/torchscript.py)."""
    if not isinstance(node.operator, cst.Multiply):
        return None
    lists = [value for side, value in ((node.left, left), (node.right, right)) if isinstance(side, cst.List)]
    if len(lists) != 1 or any(isinstance(item, VCreate) for _, item in lists[0].items):
        return None
    return lists[0]
