"""Call evaluation: which kind of call a call is — a torch or numpy function or tensor method
(vocab.py), a builtin, a container method, or a call of the program (followed_calls.py) — and
what value it gives. (Over 500 lines, and CallWalker over 300: one short method per kind of call,
which the dispatch in `_call` reads in order; split apart, that order would be spread over files.)
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.compiled_calls import CompiledCalls
from gru2lstm.broadcast import broadcast_arguments
from gru2lstm.delegation import is_delegating_call
from gru2lstm.einsum import carried_operand
from gru2lstm.in_place import changed_arguments
from gru2lstm.program import Binding, BindingKind, DefinitionKind, FileAccess, Use
from gru2lstm.qualnames import dotted, torch_module_class
from gru2lstm.sequences import literal_items
from gru2lstm.syntax import constant_string, is_default_factory, is_slice, mapped_lambda, plain_lambda, walk, wrapped_module, zipped_pairs
from gru2lstm.values import (
    ELEM,
    AttrSlot,
    ChildSlot,
    Derivation,
    KeyLabel,
    LabelKind,
    NodeSlot,
    ReturnSlot,
    Slot,
    SlotKind,
    Value,
    VArith,
    VCat,
    VChoice,
    VContainer,
    VCreate,
    VCtor,
    VNone,
    VDerived,
    VIndex,
    VOpaque,
    VSlot,
    VTuple,
    VZip,
    element_of,
)
from gru2lstm.vocab import (
    ALONG_HIDDEN_FUNCTIONS,
    ATTRIBUTE_BUILTINS,
    CALLING_FUNCTIONS,
    CHECKPOINT_FUNCTION,
    CHECKPOINT_KEYWORDS,
    CHECKPOINT_REENTRANT_KEYWORD,
    NAMED_ATTRIBUTE_BUILTIN,
    CALLING_METHODS,
    CAT_FUNCTIONS,
    CHANGED_OUT_ARGUMENT,
    FEATURE_FUNCTIONS,
    LOSS_FUNCTIONS,
    CONTAINER_ADD_METHODS,
    LIST_APPEND_METHOD,
    MAP_BUILTIN,
    NONE_FOR_A_MISSING_KEY,
    NUMPY_COPIES,
    NUMPY_SAVERS,
    MODULE_SELF_METHODS,
    LIST_EXTEND_METHOD,
    LIST_INSERT_METHOD,
    CONTAINER_FUNCTIONS,
    ITERABLE_CONTAINERS,
    SEQUENCE_OF_ITERABLE,
    CONTAINER_METHODS,
    COPY_FUNCTIONS,
    COPY_INTO_METHOD,
    CREATE_FUNCTIONS,
    CREATE_LIKE_FUNCTIONS,
    CREATE_METHODS,
    DATA_LOADERS,
    DATA_PIPELINE_PREFIX,
    EINSUM_FUNCTIONS,
    DICT_BUILTIN,
    DICT_FROM_KEYS,
    DICT_FUNCTION_NAMES,
    DICT_UPDATE_METHOD,
    ELEMENT_CONTAINER_METHODS,
    FIELD_DEFAULT,
    FIELD_FACTORY,
    FIELD_FUNCTIONS,
    FILE_ACCESS,
    FORMATTING_BUILTINS,
    FORMATTING_FUNCTIONS,
    INSPECTING_BUILTINS,
    ITERATION_BUILTINS,
    JOINING_FUNCTIONS,
    JOINING_METHODS,
    KEEP_FUNCTIONS,
    KEEP_METHODS,
    KEYED_CONTAINER_METHODS,
    MODULE_CONTAINERS,
    MODULE_WRAPPERS,
    PARAMETER_CLASSES,
    PARAMETER_DATA_KEYWORD,
    READ_METHODS,
    REPLACE_FUNCTIONS,
    POSITIONED_POP_METHOD,
    REORDERING_METHODS,
    REPLACE_METHOD,
    ROWS_BUILTINS,
    SAMPLING_FUNCTIONS,
    SAMPLING_METHODS,
    SAVERS,
    SHAPE_METHODS,
    SHAPE_OF_ARGUMENT_METHODS,
    SPLITTING_FUNCTIONS,
    SPLITTING_METHODS,
    STARTING_CLASSES,
    TENSOR_LIBRARY_PREFIXES,
    SCRIPTING_FUNCTIONS,
    SET_BY_NAME_METHODS,
    SEQUENCE_BUILTINS,
    TENSOR_TEST_FUNCTION,
    TRACING_FUNCTIONS,
    VIEW_CONTAINER_METHODS,
)


class CallWalker(CompiledCalls):
    """Evaluates calls by what they call."""

    def _call(self, node: cst.Call) -> Value:
        """A library function first, then the program's own functions and classes, then methods,
        builtins, torch and numpy functions, and last a call of a value (a module, a callable)."""
        qualified = self._qualified(node) | self._qualified(node.func)
        func = node.func
        if self.recording:
            changed = changed_arguments(node, qualified)
            if changed:
                self.flow.changed_arguments[id(node)] = changed
            self.flow.broadcast_arguments += [(argument, node) for argument in broadcast_arguments(node, qualified)]
        value = self._library_call(node, qualified)
        if value is not None:
            return value
        target = self.resolve(func)  # a function or class of the program, by name or module path
        if target is not None and target.kind == DefinitionKind.FUNCTION:
            return self._call_function(self.flow.functions[target.key], node)
        if target is not None and target.kind == DefinitionKind.CLASS:
            return self._instantiate(target.key, node)
        registry = self._registry_called(func)
        if registry is not None:
            return self._registry_call(registry, node)
        if isinstance(func, cst.Attribute) and func.attr.value == DICT_FROM_KEYS and self._dict_class(func.value):
            return self._from_keys(node)
        if isinstance(func, cst.Attribute) and not self._external(func):
            return self._method_call(node, func)
        value = self._builtin_call(node, qualified)
        if value is None:
            value = self._tensor_call(node, qualified)
        if value is not None:
            return value
        owner = self._instance_of(func) if isinstance(func, cst.Name) else None
        forward = None if owner is None else self.flow.forward_of(owner)
        if forward is not None:  # `self(x, h)` inside a module runs its forward(), or a subclass's
            return self._dispatched_call(owner, forward.key.name, node) or self._call_function(forward, node)
        func_value = self.expr(func)
        indexed = isinstance(func_value, VIndex) and isinstance(func_value.base, VSlot) and id(func) not in self.flow.registries.places
        if isinstance(func_value, VSlot) or indexed:
            # `self.cells[i](x, h)`: the solver says what the index of a place of the program is (an
            # element of a module container runs as that module); of anything else (`REGISTRY[kind](agent)`
            # imported from a file not migrated with this one, or a registry of classes from such files),
            # the call is unknown code, which names that file
            return self._call_value(func_value, node)
        return self._unknown_call(node, f"`{self.code(func)}`")

    def _library_call(self, node: cst.Call, qualified: set) -> Optional[Value]:
        """Creation, concatenation, conversion and copies (torch, numpy, copy, dataclasses)."""
        args = node.args
        if TENSOR_TEST_FUNCTION in qualified and len(args) == 1:  # `torch.is_tensor(h)` only reads, as isinstance does
            self.consume(self.expr(args[0].value), Use.READ, args[0].value, f"passed to `{self.code(node.func)}()`")
            return VOpaque(node, f"`{self.code(node.func)}()`")
        if qualified & CREATE_FUNCTIONS:
            for arg in args:
                self.consume(self.expr(arg.value), Use.SIZE, arg.value, f"`{self.code(node.func)}(...)`")
            return VCreate(node)
        if qualified & CREATE_LIKE_FUNCTIONS:
            for arg in args:
                self.consume(self.expr(arg.value), Use.SHAPED, arg.value)
            return VCreate(node)
        if qualified & CAT_FUNCTIONS and args:
            container = self.expr(args[0].value)
            if isinstance(container, VTuple):  # `torch.cat((zeros, h), 1)`: a sequence of tensors, as a list literal is
                container = VContainer(args[0].value, [(ELEM, item) for item in container.items])
            for arg in args[1:]:
                self.consume(self.expr(arg.value), Use.READ, arg.value)
            return VCat(container, node, args[0].value)
        if qualified & REPLACE_FUNCTIONS and args and args[0].keyword is None and all(a.keyword is not None for a in args[1:]):
            replaced = self._replaced(args[0].value, self.expr(args[0].value), args[1:])
            if replaced is not None:
                return replaced
        if qualified & FIELD_FUNCTIONS:
            return self._field_default(node)
        if qualified & FILE_ACCESS and args:
            return self._file_access(node, bool(qualified & SAVERS))
        if qualified & STARTING_CLASSES:
            started = self._started(node)
            if started is not None:
                return started
        if qualified & COPY_FUNCTIONS and len(args) == 1:
            return self.expr(args[0].value)  # `target_net = copy.deepcopy(q_net)`: the same kind of value
        if qualified & FORMATTING_FUNCTIONS:  # `logging.info("%s", runner)`
            for arg in args:
                self.consume(self.expr(arg.value), Use.READ, arg.value, f"passed to `{self.code(node.func)}()`")
            return VOpaque(node, f"`{self.code(node.func)}()`")
        if qualified & KEEP_FUNCTIONS and args:
            base = self.expr(args[0].value)
            for arg in args[1:]:
                self.consume(self.expr(arg.value), Use.READ, arg.value)
            return VDerived(base, node, Derivation.KEEP)
        return None

    def _field_default(self, node: cst.Call) -> Value:
        """`field(default=E)` and `field(default_factory=F)` of a dataclass: each instance's field
        starts as E, or as what F gives (`_factory_made`); the other arguments are only read. A
        factory the walk cannot run makes the call one it cannot follow."""
        given = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
        starts = []
        if FIELD_FACTORY in given:
            made = self._factory_made(given[FIELD_FACTORY])
            if made is None:
                return self._unknown_call(node, f"`{self.code(node.func)}`")
            starts.append(made)
        for arg in node.args:
            keyword = arg.keyword.value if arg.keyword is not None else None
            if keyword == FIELD_DEFAULT:
                starts.append(self.expr(arg.value))
            elif keyword != FIELD_FACTORY:
                self.consume(self.expr(arg.value), Use.READ, arg.value)
        return starts[0] if len(starts) == 1 else VOpaque(node, f"`{self.code(node.func)}()`")

    def _factory_made(self, factory: cst.BaseExpression) -> Optional[Value]:
        """What a factory called with nothing gives: E of `lambda: E` (read where the factory is
        given), the return of a function of the program that takes no argument; None otherwise."""
        function = plain_lambda(factory)
        if function is not None:
            return self.expr(function.body)
        target = self.resolve(factory)
        callee = self.flow.functions[target.key] if target is not None and target.kind == DefinitionKind.FUNCTION else None
        if callee is None or not callee.takes([]):
            return None
        if self.recording:
            self.flow.ran(factory, callee.key)
        return VSlot(ReturnSlot.of(callee.key), factory)

    def _file_access(self, node: cst.Call, saves: bool) -> Value:
        """`torch.save(obj, path)` writes `obj` into a place of its own, and `torch.load(path)` reads
        one; whether each load is one of the program's own saves is decided after the solve
        (boundary.py), since a file written before the migration holds the GRU's state."""
        slot = NodeSlot.of(SlotKind.FILE, id(node))
        rest = node.args[1:] if saves else node.args
        if saves:
            self._bind(slot, self.expr(node.args[0].value), BindingKind.ASSIGN, self.statement, None)
        for arg in rest:
            self.consume(self.expr(arg.value), Use.READ, arg.value)
        if self.recording:
            self.flow.files.append(FileAccess(node, slot, saves))
        return VOpaque(node, f"`{self.code(node.func)}(...)`") if saves else VSlot(slot, node)

    def _method_call(self, node: cst.Call, func: cst.Attribute) -> Value:
        """`base.method(...)`: a tensor method, a method of the program, a container method, or a call
        of the attribute's value (a module, a stored callable)."""
        args = node.args
        method = func.attr.value
        base = self.expr(func.value)
        place = self.flow.origin(base)
        if place is not None:  # `self.rollouts.insert(...)` on an object of a file not migrated with this one
            return self._unknown_call(node, f"`{self.code(func)}`", place)
        through_class = self._method_through_class(func)
        if through_class is not None and args and not args[0].star and args[0].keyword is None:
            return self._call_function(through_class, node, self_given=True)  # `Base.forward(self, x, h)`
        self._own_method_unidentified(node, func)
        if method in CREATE_METHODS and args and self._method_target(func) is None:
            self.consume(base, Use.SHAPED, func.value)
            for arg in args:
                self.consume(self.expr(arg.value), Use.READ, arg.value)
            return VCreate(node)
        # `self.norm(h)` calls a module the object holds: a module has no tensor methods but the keeping ones
        own = isinstance(base, VOpaque) and base.why == "self" and method not in KEEP_METHODS
        registered = self._registered(node, method) if own else None
        if registered is not None:
            return registered
        # `planner.repeat(h, k)` of a program class that defines `repeat`: its method, not the tensor's
        owner = self._instance_of(func.value)
        program_method = owner is not None and self.flow.method(owner, method) is not None
        if method in KEEP_METHODS | SHAPE_METHODS | READ_METHODS and not own and not program_method:
            for arg in args:
                use = Use.SHAPED if method in SHAPE_OF_ARGUMENT_METHODS else Use.OPERAND if method in SHAPE_METHODS else Use.READ
                self.consume(self.expr(arg.value), use, arg.value)
            kind = Derivation.KEEP if method in KEEP_METHODS else Derivation.SHAPE if method in SHAPE_METHODS else Derivation.READ
            return VDerived(base, node, kind)
        added = self._list_items_added(method, args) if self.holds_list_literal(func.value) else None
        if added is not None:  # onto a list literal (not a method of the program): at their positions (scopes.py)
            self.grow_list(func.value, base, [self.expr(item) for item in added], self.statement)
            return VOpaque(node, "None")
        if method in CALLING_METHODS and isinstance(base, VSlot) and not self._own_method(func):
            # `self.gru.forward(x, h)` is the call `self.gru(x, h)` (not a forward() found by its name alone)
            return self._call_value(base, node)
        dispatched = self._dispatched_call(owner, method, node)
        if dispatched is not None:
            return dispatched
        callee = self._method_target(func)
        if callee is not None:
            return self._call_function(callee, node)
        union = self._union_call(self._instances_of(func.value), method, node)
        if union is not None:
            return union
        if method in SPLITTING_METHODS and not any(a.star for a in args):
            return self._pieces(node, base, args)  # `h.unbind(1)`: a list of pieces of `h`
        if method == COPY_INTO_METHOD and len(args) == 1 and isinstance(base, VIndex) and isinstance(base.base, VSlot):
            # In-place write into preallocated storage: the storage's elements receive it.
            self._bind(ChildSlot.of(base.base.slot, ELEM), self.expr(args[0].value), BindingKind.STORE, self.statement, func.value)
            return VOpaque(node, COPY_INTO_METHOD)
        joins = method in JOINING_METHODS and (method != COPY_INTO_METHOD or _kept_place(base))  # `self.h.data.copy_(h)`: a join
        if joins and not any(a.star for a in args) and not self._result_dropped(node, method):
            value = self._joined(node, base, (None, JOINING_METHODS[method]))  # `h.lerp(h_old, w)`: the base and one argument
            if value is not None and method == COPY_INTO_METHOD:
                self._copied_onto(func, base, value.right, args[0].value)
            if value is not None:
                return value
        if method in MODULE_SELF_METHODS:  # `Policy().eval()`, not a method of the program: the module
            for arg in args:
                self.consume(self.expr(arg.value), Use.READ, arg.value)
            return VDerived(base, node, Derivation.KEEP)
        replaced = self._replaced(func.value, base, args) if method == REPLACE_METHOD and all(a.keyword is not None for a in args) else None
        if replaced is not None:
            return replaced
        if method in SAMPLING_METHODS and args and self._foreign(func.value):
            # `rng.sample(items, k)` of a random generator (`rng: random.Random`); `replay.sample(n)`
            # of an object that may be the program's is no sampling of its argument
            self.consume(base, Use.READ, func.value)
            return self._sampling(node, method != "choice")
        holder = self._appended_to(base) if method == LIST_EXTEND_METHOD and len(args) == 1 and not args[0].star and args[0].keyword is None else None
        if holder is not None:
            self._extended(holder, args[0].value)
            return VOpaque(node, "None")
        holder = self._appended_to(base) if method in CONTAINER_ADD_METHODS and len(args) == 1 else None
        if holder is not None:
            self.flow.containers.add(holder)
            value = self.expr(args[0].value)
            self._bind(ChildSlot.of(holder, ELEM), value, BindingKind.APPEND, self.statement, None)
            return VOpaque(node, "None")
        if method == DICT_UPDATE_METHOD and isinstance(base, VSlot):
            updated = self._dict_update(node, func, base)
            if updated is not None:
                return updated
            # what it stores is not followed: a dict of states updated so is reported (rules/unfollowed.py)
            self.consume(base, Use.CONTAINER, func.value, (
                f"updated by `{self.code(func)}()`, whose values are followed only into a dict made in the program, "
                "from a dict, keywords or `zip(keys, values)`"
            ))
        reorders = method in REORDERING_METHODS or method == POSITIONED_POP_METHOD and bool(args)
        if reorders and isinstance(base, VSlot) and self.recording:
            self.flow.reordered.append(base.slot)  # a literal list's positions are then unknown (sequences.py)
        if method in CONTAINER_METHODS and isinstance(base, VSlot):
            return self._container_method(node, func, base)
        if method == COPY_INTO_METHOD and len(args) == 1:
            self.consume(self.expr(args[0].value), Use.OTHER, args[0].value, "copied in place into something unknown")
            return VOpaque(node, COPY_INTO_METHOD)
        # A method no table lists, on what may be a state (`h.pow(2)`): reported, never left on a
        # pair nor run on h alone (on anything else, an instance or a module, it is no concern).
        self.consume(base, Use.METHOD, func.value, f"used with `.{method}()`, which the engine does not know")
        # A call of an attribute value: a module (`self.gru(x, h)`), a stored callable, …
        func_value = self._attribute_slot(func.value, func.attr.value, func, base)
        if func_value is not None:
            return self._call_value(VSlot(func_value, func), node)
        return self._unknown_call(node, f"`{self.code(func)}`")

    def _copied_onto(self, func: cst.Attribute, base: Value, source: Value, source_node: cst.BaseExpression) -> None:
        """`self.h.data.copy_(other.h)`: the two places hold one kind of value (a state when either
        is one), as an assignment ties them. A state is replaced only by another, or by a creation
        made per half; anything else (a layer's output, an unknown call's result) is reported."""
        copied = _kept_leaf(source)
        if isinstance(copied, VSlot):
            self._bind(copied.slot, _kept_leaf(base), BindingKind.JOIN, self.statement, None)
        elif not isinstance(_kept_leaf(source, Derivation.SHAPE), VCreate):
            self.consume(base, Use.METHOD, func.value, (
                f"overwritten in place by `.{func.attr.value}()` with `{self.code(source_node)}`, which the engine knows neither as "
                "a hidden state nor as a new tensor, so it cannot tell what would become c"
            ))

    def _dict_update(self, node: cst.Call, func: cst.Attribute, base: VSlot) -> Optional[Value]:
        """`d.update(zip(keys, values))`, and of a dict `d`: `d.update({"a": h})`, `d.update(a=h)`,
        `d.update(other)` of another dict. Each value is stored as `d[k] = v` stores it (a literal's
        items and the keywords under their keys, a zip's values as elements); another dict becomes
        one place with `d`, as a copy of it is. None (nothing evaluated) when an argument is anything
        else (a list of pairs, `**kwargs`): the call is then one the engine cannot follow."""
        args = node.args
        if zipped_pairs(args):
            self.flow.containers.add(base.slot)
            value = self._zipped_value(args[0].value, f"`{self.code(func)}`")
            self._bind(ChildSlot.of(base.slot, ELEM), value, BindingKind.STORE, self.statement, None)
            return VOpaque(node, "None")
        if not self.holds_dict(base) or any(arg.star or arg.keyword is None and not self.is_mapping(arg.value) for arg in args):
            return None
        self.flow.containers.add(base.slot)
        keywords = []
        for arg in args:
            if arg.keyword is not None:
                keywords.append((KeyLabel.of(arg.keyword.value), self.expr(arg.value)))
            else:
                self.merge_mapping(base, arg.value)
        if keywords:
            self._bind(base.slot, VContainer(node, keywords), BindingKind.STORE, self.statement, None)
        return VOpaque(node, "None")

    def merge_mapping(self, base: VSlot, mapping: cst.BaseExpression) -> None:
        """The items of the dict `mapping` stored into the dict `base` (`d.update(m)`, `d |= m`):
        a display's under their keys, another dict's as one place with `d`."""
        self.flow.containers.add(base.slot)
        value = self.expr(mapping)
        self._bind(base.slot, value, BindingKind.STORE if isinstance(value, VContainer) else BindingKind.JOIN, self.statement, None)

    def is_mapping(self, node: cst.BaseExpression) -> bool:
        """Is `node` a dict: a display or comprehension of one, a call of a dict's constructor, or a
        name or attribute bound to one (read without recording, to decide before the call is walked)?"""
        if isinstance(node, (cst.Dict, cst.DictComp)):
            return True
        if isinstance(node, cst.Call):
            return (dotted(node.func) or "").rpartition(".")[2] in DICT_FUNCTION_NAMES
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return False
        read = []
        self._quietly(lambda: read.append(self.expr(node)))
        return isinstance(read[0], VSlot) and self.holds_dict(read[0])

    def _extended(self, holder: Slot, iterable: cst.BaseExpression) -> None:
        """`kept.extend(E)` of E made where it is written (`h.unbind(0)`, a comprehension, a
        display): E is held in a place of its own, so that what makes its elements is written as
        any container's (rules/parts.py), and its elements are `kept`'s. Any other E (a name,
        which may be a tensor iterated by rows) is handed over as before: a state there is a finding."""
        self.flow.containers.add(holder)
        value = self.expr(iterable)
        if not isinstance(value, (VContainer, VTuple)):
            self.consume(value, Use.OTHER, iterable, f"passed to `.{LIST_EXTEND_METHOD}()`")
            return
        held = NodeSlot.of(SlotKind.LITERAL, id(iterable))
        self._bind(held, value, BindingKind.STORE, self.statement, None)
        self._bind(ChildSlot.of(holder, ELEM), VSlot(ChildSlot.of(held, ELEM), None), BindingKind.JOIN, self.statement, None)

    def _dict_class(self, node: cst.BaseExpression) -> bool:
        """`dict`, `OrderedDict`, `collections.defaultdict`: a dict class, not a name of the program."""
        if isinstance(node, cst.Name) and (node.value in self.env or node.value in self.module_names):
            return False
        return (dotted(node) or "").rpartition(".")[2] in DICT_FUNCTION_NAMES and (
            isinstance(node, cst.Name) and node.value == "dict" or bool(self._qualified(node) & CONTAINER_FUNCTIONS)
        )

    def _from_keys(self, node: cst.Call) -> Value:
        """`dict.fromkeys(names, h0)`: a dict whose every value is `h0` (None when not given)."""
        args = node.args
        if not 1 <= len(args) <= 2 or any(arg.star or arg.keyword for arg in args):
            return self._unknown_call(node, f"`{self.code(node.func)}`")
        self.consume(self.expr(args[0].value), Use.READ, args[0].value)
        value = self.expr(args[1].value) if len(args) == 2 else VNone(node)
        return VContainer(node, [(ELEM, value)])

    def _registered(self, node: cst.Call, method: str) -> Optional[Value]:
        """`self.register_buffer("h", E)` by a name written out (torch.nn.Module's, no method of the
        program): to what reads `self.h` after it, `self.h = E` (rules/by_name.py judges the form)."""
        positional = [arg for arg in node.args if arg.keyword is None]
        name = constant_string(positional[0].value) if len(positional) == 2 and not any(arg.star for arg in node.args) else None
        if method not in SET_BY_NAME_METHODS or name is None or self._method_target(node.func) is not None:
            return None
        slot = AttrSlot.of(self.function.class_name, name)
        self._bind(slot, self.expr(positional[1].value), BindingKind.ASSIGN, self.statement, None)
        if self.recording:
            self.flow.registered.add(slot)
        for arg in node.args[2:]:
            self.consume(self.expr(arg.value), Use.READ, arg.value)
        return VOpaque(node, "None")

    def _module_run(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """What a function handed to be called runs as a module: `self.gru` of `self.gru.forward`
        (as the call `self.gru.forward(x, h)` is `self.gru(x, h)`), else the expression itself."""
        if isinstance(node, cst.Attribute) and node.attr.value in CALLING_METHODS and not self._own_method(node):
            return node.value
        return node

    def _own_method(self, func: cst.Attribute) -> bool:
        """`self.method`: a method of the class whose method is being walked."""
        info = self.function
        return info is not None and info.self_name is not None and isinstance(func.value, cst.Name) and func.value.value == info.self_name

    def _appended_to(self, base: Value) -> Optional[Slot]:
        """The container `.append(x)` adds to: `q` itself, or an element of `episodes` for
        `episodes[-1].append(x)` (a tensor has no append: `episodes` holds lists)."""
        if isinstance(base, VSlot):
            return base.slot
        if isinstance(base, VIndex) and isinstance(base.base, VSlot):
            self.flow.containers.add(base.base.slot)
            return ChildSlot.of(base.base.slot, ELEM)
        return None

    def _result_dropped(self, node: cst.Call, method: str) -> bool:
        """A call of a method that gives a new value (not `add_`) as a statement of its own: on a
        tensor it would do nothing, so `buffer.add(obs, h)` is a method of an object, not a join."""
        if method.endswith("_") or not isinstance(self.statement, cst.SimpleStatementLine):
            return False
        return any(isinstance(small, cst.Expr) and small.value is node for small in self.statement.body)

    @staticmethod
    def _list_items_added(method: str, args) -> Optional[list]:
        """The expressions `.append(x)` or `.extend([x, y])` add to a list, in order; None for any other call."""
        if len(args) != 1 or args[0].keyword is not None or args[0].star:
            return None
        if method == LIST_APPEND_METHOD:
            return [args[0].value]
        return literal_items(args[0].value) if method == LIST_EXTEND_METHOD else None

    def _container_method(self, node: cst.Call, func: cst.Attribute, base: VSlot) -> Value:
        """`d.get(k, h0)`, `q.pop()`, `d.items()`, …: `base` is a list or dict; what the method gives
        back is one of its elements, a view of them, or nothing that flows."""
        args = node.args
        method = func.attr.value
        self.flow.containers.add(base.slot)
        key = constant_string(args[0].value) if method in KEYED_CONTAINER_METHODS and args else None
        element = VSlot(ChildSlot.of(base.slot, KeyLabel.of(key) if key is not None else ELEM), None)
        default = None
        for position, arg in enumerate(args):
            if position == 1 and method in KEYED_CONTAINER_METHODS and arg.keyword is None:
                # `d.get(k, h0)` may return the default; `d.setdefault(k, h0)` stores it
                default = self.expr(arg.value)
                if method == "setdefault":
                    self._bind(element.slot, default, BindingKind.STORE, self.statement, None)
            elif position == 1 and method == LIST_INSERT_METHOD and arg.keyword is None and not arg.star:
                self._bind(element.slot, self.expr(arg.value), BindingKind.APPEND, self.statement, None)  # as `.append(x)` adds it
            elif position == 0 and method in KEYED_CONTAINER_METHODS | {LIST_INSERT_METHOD} and arg.keyword is None and not arg.star:
                self.consume(self.expr(arg.value), Use.INDEX, arg.value)  # a key or position, read as `d[k]` reads it
            else:
                self.consume(self.expr(arg.value), Use.OTHER, arg.value, f"passed to `.{method}()`")
        if method == NONE_FOR_A_MISSING_KEY and len(args) == 1 and args[0].keyword is None and not args[0].star:
            default = VNone(node)  # `d.get(k)`: the state held under k, or None (a queue's `get()` takes no key)
        if method in ELEMENT_CONTAINER_METHODS:
            return element if default is None else VChoice([element, default], node)
        if method in VIEW_CONTAINER_METHODS:
            # Iterating a dict sees its `elem` values; values under constant keys
            # (`{"deter": h, "stoch": z}`) are not told apart, which the planner reports.
            self._values_iterated(base, func.value, LabelKind.KEY, f"iterated by `.{method}()`")
            element = VSlot(ChildSlot.of(base.slot, ELEM), None)
            if method == "items":
                element = VTuple([VOpaque(None, "a key"), element], None)
            return VContainer(node, [(ELEM, element)])
        return VOpaque(node, f"`.{method}()`")

    def _builtin_call(self, node: cst.Call, qualified: set) -> Optional[Value]:
        """zip, the iteration builtins, sampling, the inspecting builtins and container constructors."""
        func = node.func
        args = node.args
        if isinstance(func, cst.Name) and func.value not in self.env and func.value not in self.module_names:
            if func.value == "zip" and len(args) == 1 and args[0].star == "*":
                rows = self.expr(args[0].value)
                if isinstance(rows, VContainer) and rows.items:
                    # `zip(*random.sample(self.items, n))`: the sampled rows, held in a place of their own
                    held = VSlot(NodeSlot.of(SlotKind.LITERAL, id(args[0].value)), args[0].value)
                    if self.recording:
                        self.flow.bindings.append(Binding(held.slot, rows, BindingKind.JOIN, self.statement, None, self.function))
                    rows = held
                return VZip(rows, node)
            if func.value in ITERATION_BUILTINS and args and not any(a.star for a in args):
                return self._iteration(func.value, node)
            if func.value == MAP_BUILTIN and mapped_lambda(node) is not None:
                return self._mapped(node)
            if func.value == MAP_BUILTIN and self._joined_columns(node):
                zipped = self.expr(args[1].value)  # `zip(*rows)`, made above
                return VZip(zipped.rows, node, args[0].value) if isinstance(zipped, VZip) else zipped
        if qualified & SAMPLING_FUNCTIONS and args:
            return self._sampling(node, "choice" not in sorted(qualified)[0])
        if isinstance(func, cst.Name):
            if is_delegating_call(self.function, node):  # `getattr(self._policy, name)`: followed where read (delegation.py)
                self.consume(self.expr(args[0].value), Use.READ, args[0].value)
                return VOpaque(node, f"`{self.code(node)}`")
            named = self.named_attribute(node) if func.value == NAMED_ATTRIBUTE_BUILTIN else None
            if named is not None:
                return named
            if func.value in INSPECTING_BUILTINS | ATTRIBUTE_BUILTINS | FORMATTING_BUILTINS:
                context_name = Use.UNKNOWN if func.value in ATTRIBUTE_BUILTINS else Use.READ
                for arg in args:
                    # `getattr(self, name)` by a name not written out: its object is judged (rules/module_reach.py)
                    looked_up = func.value == NAMED_ATTRIBUTE_BUILTIN and arg is args[0] and len(args) > 1 and constant_string(args[1].value) is None
                    value = self.looked_up_object(arg.value) if looked_up else self.expr(arg.value)
                    by_name = f" to read the attribute named by `{self.code(args[1].value)}`" if looked_up else ""
                    self.consume(value, context_name, arg.value, f"passed to `{func.value}()`{by_name}")
                return VOpaque(node, f"`{func.value}()`")
            if func.value == "zip" or func.value == "tuple":
                for arg in args:
                    self.consume(self.expr(arg.value), Use.OTHER, arg.value, f"passed to `{func.value}()`")
                return VOpaque(node, f"`{func.value}()`")
        if qualified & ITERABLE_CONTAINERS and args and args[0].keyword is None and not args[0].star:
            for arg in args[1:]:  # `maxlen=n`
                self.consume(self.expr(arg.value), Use.READ, arg.value)
            return self._iteration(SEQUENCE_OF_ITERABLE, node, args[:1])  # `deque(states, maxlen=n)` holds them as `list(states)` does
        if qualified & CONTAINER_FUNCTIONS or isinstance(func, cst.Name) and func.value in ("list", "dict"):
            spelled = self.code(func)  # `dict`, `deque`, `queue.Queue`
            if spelled == "dict" and _copied_mapping(args[:1]) and all(arg.keyword is not None and not arg.star for arg in args[1:]):
                copied = self.expr(args[0].value)  # `dict(self.states[0])`: a copy holds what the dict holds
                if len(args) == 1:
                    return copied
                # `dict(info, h=h)`: a copy with keys written out, as `{**info, "h": h}` is (expressions.py)
                written = [(KeyLabel.of(arg.keyword.value), self.expr(arg.value)) for arg in args[1:]]
                return VChoice([copied, VContainer(node, written)], node)
            items = []
            for arg in args:
                made = self._factory_made(arg.value) if is_default_factory(spelled, arg, args) else None
                if made is not None:
                    items.append((ELEM, made))
                elif spelled == "dict" and zipped_pairs(args):
                    items.append((ELEM, self._zipped_value(arg.value, "`dict()`")))
                elif arg.keyword is not None and not arg.star and spelled == "dict":
                    # `dict(deter=h0, ...)` is the literal `{"deter": h0, ...}`
                    items.append((KeyLabel.of(arg.keyword.value), self.expr(arg.value)))
                else:
                    self.consume(self.expr(arg.value), Use.CONTAINER, arg.value, f"passed to `{spelled}()`")
            return VContainer(node, items)
        return None

    def _zipped_value(self, zipped: cst.Call, receiver: str) -> Value:
        """`dict(zip(keys, values))`, `d.update(zip(keys, values))`: each element of `values` is an
        element of the dict (`receiver` names what takes them, for the finding where it is not)."""
        row = element_of(self.expr(zipped))
        if isinstance(row, VTuple) and len(row.items) == 2:
            return row.items[1]
        self.consume(row, Use.CONTAINER, zipped, f"passed to {receiver}")
        return VOpaque(zipped, receiver)

    def _wrapper(self, node: cst.Call, wrapped: cst.BaseExpression) -> Value:
        """`nn.DataParallel(net)`: the module it wraps (`wrapped`), read at the call; where it is held
        is marked (scopes.py), so that its `.module` is the module too (expressions.py)."""
        value = self.expr(wrapped)
        for arg in node.args:
            if arg.value is not wrapped:
                self.consume(self.expr(arg.value), Use.READ, arg.value)
        self.flow.wrapper_calls.add(id(node))
        return VSlot(value.slot, node) if isinstance(value, VSlot) else value

    def _parameter(self, node: cst.Call) -> Optional[Value]:
        """`nn.Parameter(torch.zeros(1, 1, H))` is the tensor it wraps, kept (a learned initial state);
        None when that tensor is not written out (`nn.Parameter(*args)`)."""
        data = next((arg for arg in node.args if arg.keyword is None or arg.keyword.value == PARAMETER_DATA_KEYWORD), None)
        if data is None or data.star:
            return None
        for arg in node.args:
            if arg is not data:
                self.consume(self.expr(arg.value), Use.READ, arg.value)
        self.flow.parameters.add(id(node))
        return VDerived(self.expr(data.value), node, Derivation.KEEP)

    def _tensor_call(self, node: cst.Call, qualified: set) -> Optional[Value]:
        """Module containers and constructors of torch.nn, `where`, and any other torch or numpy function."""
        func = node.func
        args = node.args
        if qualified & DATA_LOADERS:
            return self._unknown_call(node, f"`{self.code(func)}`")
        if any(q.startswith(DATA_PIPELINE_PREFIX) for q in qualified):
            # a dataset holds what it is given and serves it back (`ds[i]`, iterated, through a loader);
            # a view or a copy of a state (`h0.squeeze(0)`, `h.detach()`) is held as the state is
            for arg in args:
                why = f"held by `{self.code(func)}()`, which serves it back by code the engine does not follow to where it is read"
                self.consume(self.expr(arg.value), Use.OTHER, arg.value, why)
                receiver = _first_receiver(arg.value)
                if receiver is not arg.value:
                    self.consume(self.expr(receiver), Use.OTHER, receiver, why)
            return VOpaque(node, f"`{self.code(func)}(...)`")
        if qualified & MODULE_CONTAINERS and len(args) == 1:
            return self.expr(args[0].value)  # a ModuleDict holds its modules as the dict does
        wrapped = wrapped_module(node) if qualified & MODULE_WRAPPERS else None
        if wrapped is not None:
            return self._wrapper(node, wrapped)
        if qualified & PARAMETER_CLASSES:
            learned = self._parameter(node)
            if learned is not None:
                return learned
        if any(torch_module_class(q) for q in qualified):
            for arg in args:
                value = self.expr(arg.value)
                self.consume(value, Use.SIZE, arg.value, f"`{self.code(func)}(...)`")
                # a module handed to another (`nn.Sequential(enc, nn.GRU(4, 8))`) is called by it
                self.consume(value, Use.HANDED, arg.value, f"handed to `{self.code(func)}()`")
            return VCtor(sorted(qualified)[0], node)
        if CHECKPOINT_FUNCTION in qualified:
            checkpointed = self._checkpointed(node)
            if checkpointed is not None:
                return checkpointed
        positional = [arg for arg in args if arg.keyword is None]
        if qualified & SPLITTING_FUNCTIONS and positional and not any(a.star for a in args):
            return self._pieces(node, self.expr(positional[0].value), [arg for arg in args if arg is not positional[0]])
        joined = next((JOINING_FUNCTIONS[q] for q in sorted(qualified) if q in JOINING_FUNCTIONS), None)
        if joined is not None and not any(a.star for a in args):
            # `torch.where(done[:, None], torch.zeros_like(h), h)` is a masked state, like `h * mask`
            value = self._joined(node, None, joined)
            if value is not None:
                return value
        if qualified & TRACING_FUNCTIONS and args and args[0].keyword is None:
            return self._traced(node)
        if qualified & SCRIPTING_FUNCTIONS and len(args) == 1 and args[0].keyword is None and not args[0].star:
            return self._scripted(node)
        if qualified & NUMPY_COPIES:
            # the source too: read as a state or as features, one half would be copied alone
            for position, arg in enumerate(args):
                what = "written over by" if position == 0 else "copied over another tensor by"
                why = f"{what} `{self.code(func)}()`, which the engine does not write half by half"
                self.consume(self.expr(arg.value), Use.WRITTEN, arg.value, why)
            return VOpaque(node, f"`{self.code(func)}(...)`")
        if qualified & NUMPY_SAVERS:
            for arg in args:
                why = f"written to a file by `{self.code(func)}()`, whose arrays the engine does not follow to where the file is loaded"
                self.consume(self.expr(arg.value), Use.OTHER, arg.value, why)
            return VOpaque(node, f"`{self.code(func)}(...)`")
        carried = carried_operand(node) if qualified & EINSUM_FUNCTIONS else None
        if carried is not None:  # `einsum("lbh,bc->lch", h, mixing)`: computed from h column by column
            for arg in args:
                if arg is not carried:
                    self._library_argument(node, arg, Use.OPERAND, f"passed to `{self.code(func)}`")
            return VDerived(self.expr(carried.value), node, Derivation.SHAPE)
        if any(q.startswith(TENSOR_LIBRARY_PREFIXES) for q in qualified):
            # torch.sigmoid(h), np.split(h, n): computed from the first argument; whether that is
            # a state or features is decided by where the result flows, as for h.view(...).
            positional = [arg for arg in args if arg.keyword is None and not arg.star]
            first = self.expr(positional[0].value) if positional else None
            run = self._module_run(positional[0].value) if positional else None
            if positional:  # it may call what it is handed: `checkpoint(self.gru, x, h)` (rules/module_reach.py)
                handed = first if run is positional[0].value else self.expr(run)
                self.consume(handed, Use.HANDED, run, f"handed to `{self.code(func)}()`")
            if positional and CHECKPOINT_FUNCTION in qualified:
                self.flow.reentrant_checkpoints.add(id(run))  # else it is followed (_checkpointed)
            if positional and qualified & CALLING_FUNCTIONS:
                # `checkpoint(net, x, h)` runs `net(x, h)`, which the walk does not bind: an instance whose forward() changes is a finding
                self.consume(first, Use.OTHER, positional[0].value, f"called by `{self.code(func)}()` with the arguments after it")
            for arg in args:
                if not positional or arg is not positional[0]:
                    self._library_argument(node, arg, Use.OPERAND, f"passed to `{self.code(func)}`")
            if first is None:
                return VOpaque(node, f"`{self.code(func)}(...)`")
            names = {q.rpartition(".")[2] for q in qualified}
            # an activation or a softmax of a state makes features, never a state (as lstm_cell.py
            # checks), unless it changes the state in place (`F.relu(h, inplace=True)`): a change of each half;
            # a loss is read from what it measures (`F.mse_loss(s_h, t_h)`), and so is a number over a whole tensor (`torch.mean(h)`)
            whole = names & READ_METHODS and len(args) == 1 and args[0] is positional[0]
            reads = names & LOSS_FUNCTIONS or whole or names & FEATURE_FUNCTIONS and not any(arg is positional[0].value for arg in changed_arguments(node, qualified))
            value = VDerived(first, node, Derivation.READ if reads else Derivation.SHAPE)
            if self.recording and names & ALONG_HIDDEN_FUNCTIONS:
                self.flow.along_hidden.append(value)
            return value
        return None

    def _checkpointed(self, node: cst.Call) -> Optional[Value]:
        """`checkpoint(self.gru, x, h, use_reentrant=False)` is the call `self.gru(x, h)`: it hands
        over the arguments after the module and returns what the module returns, pairs included; of
        a module class of the program, its forward() with the module as self. None where a subclass
        may override that forward(), or the checkpoint is reentrant, which drops the gradients of a
        returned pair (rules/module_reach.py). Its keywords may come from `**kw` of a dict written
        out in the function (`kw = dict(use_reentrant=False)`)."""
        args = node.args
        spread = [arg for arg in args if arg.star == "**"]
        keywords = {arg.keyword.value: arg.value for arg in args if arg.keyword is not None}
        for arg in spread:
            written = self._keywords_written_out(arg.value)
            if written is None or not set(written) <= CHECKPOINT_KEYWORDS:
                return None  # what `**kw` gives the checkpoint, or hands on to the module, is not known
            keywords.update(written)
        reentrant = keywords.get(CHECKPOINT_REENTRANT_KEYWORD)
        if not args or args[0].keyword is not None or args[0].star or not (isinstance(reentrant, cst.Name) and reentrant.value == "False"):
            return None
        module = self.expr(self._module_run(args[0].value))
        if not isinstance(module, VSlot) or module.slot in self.flow.registries.instances:
            return None
        owner = self.instance_class.get(module.slot)
        forward = None if owner is None else self.flow.forward_of(owner)
        if owner is not None:
            # `checkpoint(self.block, x, h, use_reentrant=False)`: its forward(), the module its self
            return None if forward is None or self.flow.overrides(owner, "forward") else self._call_function(forward, node, self_given=True)
        own = [arg for arg in args[1:] if arg.keyword is not None and arg.keyword.value in CHECKPOINT_KEYWORDS or arg in spread]
        for arg in own:
            self.consume(self.expr(arg.value), Use.READ, arg.value)
        return self._call_value(module, node, [arg for arg in args[1:] if arg not in own])

    def _keywords_written_out(self, spread: cst.BaseExpression) -> Optional[dict]:
        """The keywords `**kw` gives where `kw` is a name of the function (or module) assigned once a
        dict written out (`dict(use_reentrant=False)`, `{"use_reentrant": False}`) and otherwise
        only spread; else None."""
        scope = self.function.node if self.function is not None else self.module
        if not isinstance(spread, cst.Name):
            return None
        nodes = list(walk(scope))
        mentions = {id(node) for node in nodes if isinstance(node, cst.Name) and node.value == spread.value}
        assigns = [node for node in nodes if isinstance(node, cst.Assign) and any(id(target.target) in mentions for target in node.targets)]
        spreads = [node for node in nodes if isinstance(node, cst.Arg) and node.star == "**" and id(node.value) in mentions]
        if len(assigns) != 1 or len(assigns[0].targets) != 1 or len(mentions) != 1 + len(spreads):
            return None
        made = assigns[0].value
        if isinstance(made, cst.Call) and dotted(made.func) == DICT_BUILTIN and all(arg.keyword is not None for arg in made.args):
            return {arg.keyword.value: arg.value for arg in made.args}
        if isinstance(made, cst.Dict) and all(isinstance(element, cst.DictElement) and constant_string(element.key) is not None for element in made.elements):
            return {constant_string(element.key): element.value for element in made.elements}
        return None

    def _library_argument(self, node: cst.Call, arg: cst.Arg, use: Use, why: str = "") -> None:
        """An argument of a torch or numpy function that is not an operand it computes from: read
        (as `use`), or written over when given as `out=` (`torch.mul(h, m, out=h)`), which on a
        state the engine does not split into the halves (a finding)."""
        value = self.expr(arg.value)
        if arg.keyword is not None and arg.keyword.value in CHANGED_OUT_ARGUMENT[1]:
            why = (
                f"given as `{arg.keyword.value}=` to `{self.code(node.func)}()`, which writes its result over it; "
                "the engine does not write each half's result into its own half"
            )
            use = Use.WRITTEN
        self.consume(value, use, arg.value, why)

    def _pieces(self, node: cst.Call, base: Value, args) -> Value:
        """`h.unbind(1)`, `h.split(1, dim=1)`, `torch.chunk(h, n, dim=1)`: a list whose elements
        are pieces of `base`, each a state when it is (rules/pieces.py says along which dimension)."""
        for arg in args:
            self.consume(self.expr(arg.value), Use.READ, arg.value)
        value = VContainer(node, [(ELEM, VDerived(base, node, Derivation.KEEP))])
        if self.recording:
            self.flow.pieces.append(value)
        return value

    def _joined(self, node: cst.Call, base: Optional[Value], operands: tuple) -> Optional[Value]:
        """An elementwise join of two operands (vocab.JOINING_*), by their positions among the
        positional arguments (None: the method's `base`), the other arguments only read; None
        (nothing evaluated) when the call does not give both operands by position."""
        positional = [arg for arg in node.args if arg.keyword is None]
        if any(position is not None and position >= len(positional) for position in operands):
            return None
        chosen = {id(positional[position]): position for position in operands if position is not None}
        sides = {None: base}
        for arg in node.args:  # in the order they are written
            if id(arg) in chosen:
                sides[chosen[id(arg)]] = self.expr(arg.value)
            else:
                self._library_argument(node, arg, Use.READ)
        value = VArith(sides[operands[0]], sides[operands[1]], node)
        if self.recording:
            self.flow.arithmetic.append(value)
        return value

    def _sampling(self, node: cst.Call, many: bool) -> Value:
        """random.sample(C, k) is a list of C's elements; random.choice(C) one of them."""
        population = self.expr(node.args[0].value)
        for arg in node.args[1:]:
            self.consume(self.expr(arg.value), Use.READ, arg.value)
        element = element_of(population)
        return VContainer(node, [(ELEM, element)]) if many else element

    def _joined_columns(self, node: cst.Call) -> bool:
        """`a, b, h = map(torch.stack, zip(*rows))`: torch's or numpy's stack or cat mapped over the
        columns of rows, unpacked where it is made (each target one column stacked along a new
        first dimension, or joined along the first, which keeps each item's last one whole)."""
        args = node.args
        if len(args) != 2 or any(arg.star or arg.keyword is not None for arg in args):
            return False
        if not self._qualified(args[0].value) & CAT_FUNCTIONS:
            return False
        zipped = args[1].value
        if not (isinstance(zipped, cst.Call) and isinstance(zipped.func, cst.Name) and zipped.func.value == "zip" and len(zipped.args) == 1 and zipped.args[0].star == "*"):
            return False
        assign = self.parents.get(node)
        return isinstance(assign, cst.Assign) and assign.value is node and len(assign.targets) == 1 and isinstance(assign.targets[0].target, (cst.Tuple, cst.List))

    def _mapped(self, node: cst.Call) -> Value:
        """`map(lambda x: E, xs)` is `(E for x in xs)`, and `map(lambda a, b: E, xs, ys)` zips:
        each parameter of the lambda is an element of its iterable, as a comprehension's target."""
        iterables = node.args[1:]
        elements = [
            self._element(self._values_iterated(self.expr(arg.value), arg.value, LabelKind.POS, f"iterated by `{MAP_BUILTIN}()`"))
            for arg in iterables
        ]
        function = mapped_lambda(node)
        outer = dict(self.env)
        self.comprehensions += 1
        for param, element in zip(function.params.params, elements):
            self._assign_target(param.name, element, self.statement, BindingKind.LOOP)
        result = self.expr(function.body)
        self.env = outer
        self.comprehensions -= 1
        return VContainer(node, [(ELEM, result)])

    def _iteration(self, name: str, node: cst.Call, args=None) -> Value:
        """reversed/sorted/list/tuple/iter keep the elements of `args` (the call's own by default);
        enumerate and zip pair them up."""
        args = node.args if args is None else args
        values = [self.expr(arg.value) for arg in args]
        values = [self._own_iterator(arg.value) or value for value, arg in zip(values, args)]
        if name in ROWS_BUILTINS:
            values = [self._rows(value, arg.value) for value, arg in zip(values, args)]
        # `zip((self.a, self.b), (ha, hb))`, `reversed([0, zeros])`: each literal's items are its elements
        viewed = [
            self.viewed_literal(value, arg.value) if name == "zip" or isinstance(arg.value, (cst.List, cst.Tuple)) else value
            for value, arg in zip(values, args)
        ]
        for held, value, arg in zip(viewed, values, args):
            if held is not value and name != "zip" and self.recording:
                # a tuple's items stay apart: a state among other values is reported (rules/unfollowed.MixedIteration)
                self.consume(held, Use.ITERATE_POS, arg.value, f"iterated by `{name}()`")
            elif isinstance(value, VSlot):
                # `list(agent.act(x, h))`, `zip(f(x), f(y))` take a tuple's items one by one, where which
                # item is the state is not followed: a mix is reported (rules/unfollowed.MixedIteration)
                self.consume(value, Use.ITERATE_POS, arg.value, f"iterated by `{name}()`")
        values = viewed
        for value, arg in zip(values, args):
            if not isinstance(value, (VSlot, VContainer)):  # `tuple(h.shape)`: its elements are only read
                self.consume(value, Use.READ, arg.value)
        if name in SEQUENCE_BUILTINS and isinstance(values[0], VZip):
            return values[0]  # `tuple(zip(*rows))` holds the columns, as `zip(*rows)` does
        if name in ("enumerate", "zip"):
            parts = [VOpaque(node, "an index")] if name == "enumerate" else []
            parts += [self._element(value) for value in (values[:1] if name == "enumerate" else values)]
            return VContainer(node, [(ELEM, VTuple(parts, None))])
        return VContainer(node, [(ELEM, self._element(values[0]))])


    def _rows(self, value: Value, node: cst.BaseExpression) -> Value:
        """A tensor computed where it is zipped or enumerated (`zip(h.squeeze(0), done)`, `zip(h[0],
        done)`) is cut into its rows there, as by `.unbind(0)` (rules/pieces.py); anything else as it is."""
        if (isinstance(value, VDerived) or isinstance(value, VIndex) and not is_slice(node)) and value.node is node:
            return self._pieces(node, value, [])
        return value


def _copied_mapping(args) -> bool:
    """`dict(d)` of a dict held in a name, an attribute or an element, alone (`dict(pairs)` of a
    literal list of pairs or `dict(zip(...))` build something else)."""
    return (
        len(args) == 1 and args[0].keyword is None and not args[0].star
        and isinstance(args[0].value, (cst.Name, cst.Attribute, cst.Subscript))
    )


def _kept_place(value: Value) -> bool:
    """Is `value` a place's value itself, or the same tensor (`self.h.data`, `h.detach()`): a copy
    into it changes that place, as `h.add_(x)` does."""
    return isinstance(_kept_leaf(value), VSlot)


def _kept_leaf(value: Value, through: Derivation = Derivation.KEEP) -> Value:
    """What `value` is the same tensor as, through `.data`, `.detach()` and the like (and, through
    SHAPE, what it is a reshaped copy of)."""
    kinds = (Derivation.KEEP, through)
    while isinstance(value, VDerived) and value.kind in kinds:
        value = value.base
    return value


def _first_receiver(node: cst.BaseExpression) -> cst.BaseExpression:
    """What a chain of method calls and subscripts starts from: `h0` of `h0.squeeze(0).cpu()` and of
    `h[:, idx]`."""
    while True:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        elif isinstance(node, cst.Subscript):
            node = node.value
        else:
            return node
