"""Function summaries per call site: which parameter a helper gives back, and how.

A helper that only looks at a parameter and gives it back (`check(x)`, `ortho(layer, gain)`) is,
at each call, the argument that call passes (followed_calls.py): the values of different call
sites (a state, observations, masks; a GRU and a Linear) never meet in its parameter or its
return, and a state passed to it is migrated at the call, half by half. A helper that gives back
arithmetic of its parameters (`blend(a, b, m)` returning `a * m + b * (1 - m)`) is, at each
call, that arithmetic of the arguments the call passes, as if it were written there.

The summary is read from the helper's own body, without walking it:

- every `return` gives back one and the same parameter, or one and the same arithmetic of
  parameters and number literals (each operand given back as below, none reshaped): as it is, through local
  names that only ever hold it (`output = ...; return output`, `x = x.float()`), converted (`.float()`,
  `torch.from_numpy(x)`), reshaped (`.view(...)`, `np.concatenate(x)`), either side of
  `a if c else b`, or through a call of another such helper of the program (at most MAX_DEPTH
  helpers deep);
- everywhere else it is only looked at: an attribute read (`layer.weight`), an inspecting builtin
  (`isinstance`, `type`, `hasattr`, …), a library test (`torch.is_tensor(x)`), a comparison
  (`x is None`).

Anything else — the parameter stored, appended to, written into, passed to other code, captured
by a closure — leaves the helper without a summary: its parameters are bound as any function's
are, and what its calls pass is joined there (one summary for all calls, as before).

A parameter a helper only reads as features (FeatureParameter: `def value(self, feat): return
self.v(torch.relu(feat))`, `def project(layer, t): return torch.tanh(layer(t))`) is, at each
call, its argument read there: a state passed to it gives its h (`self.value(h[0])`), the helper
stays as it is, and the observations passed to it elsewhere are not taken for states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import libcst as cst

from gru2lstm.children import children
from gru2lstm.program import DefinitionKind, FunctionInfo, ProgramFlow
from gru2lstm.qualnames import qualify
from gru2lstm.syntax import TypeTest, is_docstring, kinds_named, type_test, type_test_of, walk
from gru2lstm.values import AttrSlot, ChildSlot, Derivation, VContainer, VCreate, VOpaque
from gru2lstm.vocab import (
    ALONG_LAST_BY_DEFAULT, CHANGED_OUT_ARGUMENT, CREATE_FUNCTIONS, COMPUTED_FEATURE_FUNCTIONS, CONVERTING_NAMES, DIM_KEYWORDS, DIM_POSITIONS, FILL_NAMES,
    FEATURE_FUNCTION_MODULES, IN_PLACE_FLAG, IN_PLACE_METHODS, KEEP_ATTRIBUTES, KEEP_FUNCTIONS, KEEP_METHODS, LOOKING_BUILTINS, LOOKING_LIBRARY_FUNCTIONS,
    NUMPY_JOINING_NAMES, PAIR_CLASS, PERMUTE_METHOD, READ_ATTRIBUTES, READ_METHODS, SHAPE_METHODS, TENSOR_TEST_FUNCTION, WRITING_METHODS,
)

# How many helpers deep a summary follows a helper calling a helper; deeper, it gives up (the
# helper is then bound as any function), so a chain of helpers costs at most this many reads.
MAX_DEPTH = 3


@dataclass(frozen=True)
class DimOp:
    """A method on the way back that names a dimension that is the last one for some rank
    (`t.flip(-1)`, `t.transpose(0, 1)`), and `chain`: the calls from the parameter to what it acts
    on (None in a chain: a call whose rank effect is not read, as another helper's; the whole
    chain None: not one path). The rank of what it acts on is then the argument's at each call
    followed through the chain (rules/packed_helpers.py)."""

    node: cst.Call
    chain: Optional[tuple]


@dataclass(frozen=True)
class PassThrough:
    """A helper gives back its `parameters` (one, or several joined by arithmetic), kept
    (Derivation.KEEP) or reshaped (Derivation.SHAPE); `dim_ops`: the methods on the way back that
    name a dimension that may be the last one, which a packed state must not go through where the
    argument's rank makes it the last one."""

    parameters: tuple
    kind: Derivation
    dim_ops: tuple = ()
    identity: bool = False  # the parameter comes back as it came, through names only (`def get(ref): return ref`)
    # the calls from the one parameter to what is given back (`h.masked_fill(m, 0)`), by which the
    # result's rank is the argument's followed through them; None where not one path (DimOp.chain)
    chain: Optional[tuple] = None

    @property
    def along_any(self) -> bool:
        """Does the way back name a dimension that is the last one for some rank?"""
        return bool(self.dim_ops)


@dataclass(frozen=True)
class FeatureParameter:
    """A parameter a helper only reads as features: each use of it is looked at (`t.shape`,
    `t.size(0)`, `t is None`) or computed on (`torch.relu(t)`, `t.float()`, `t * 2`) into the one
    argument of a torch.nn layer: one of the class (`self.v(...)`, qualnames.library_layer), or
    one the helper is given (`layer(t)`): `layers` names those parameters, which each call must
    fill with a layer."""

    name: str
    layers: frozenset


def feature_parameters(info: FunctionInfo, flow: ProgramFlow) -> dict:
    """name -> FeatureParameter of `info`, cached in the flow; none for a function a call may run
    beside another (an override, a registry's member): such a call binds the parameters of each,
    and the helper must read its argument one way at every call."""
    if info.key not in flow.feature_parameters:
        flow.feature_parameters[info.key] = _FeatureReads(info, flow).parameters() if _run_alone(info, flow) else {}
    return flow.feature_parameters[info.key]


def body_of(info: FunctionInfo, flow: ProgramFlow) -> list:
    """The nodes of a function's body in source order, walked once for both summaries."""
    body = flow.function_bodies.get(info.key)
    if body is None:
        body = flow.function_bodies[info.key] = list(walk(info.node.body))
    return body


def _run_alone(info: FunctionInfo, flow: ProgramFlow) -> bool:
    """Does every followed call of `info` run it alone (followed_calls._call_function's `alone`)?"""
    if not info.params or info.held_in is not None:
        return False
    registries = flow.registries
    held = [] if registries is None else list(registries.by_slot.values()) + list(registries.lookups.values())
    members = {member.key for registry in held for member in getattr(registry, "members", ())}
    owner = info.class_name
    if owner is None:
        return info.key not in members
    name = info.key.name
    inherited = any(flow.method(base, name) is not None for base in flow.bases.get(owner, ()))
    return owner not in members and not inherited and not flow.overrides(owner, name)


class _FeatureReads:
    """One reading of a function's body for the parameters it only reads as features."""

    def __init__(self, info: FunctionInfo, flow: ProgramFlow) -> None:
        self.info = info
        self.flow = flow
        self.body = body_of(info, flow)
        self.names = {name for name, _ in info.params}
        self.parents = flow.module_parents[info.module]  # held lambdas, not in the tree, have no feature parameters
        self.uses: dict = {}  # name -> its Name nodes in the body
        self.assigned: dict = {}  # name -> how many `name = value` bind it
        self.bound_otherwise: set = set()  # names bound by a loop, `with`, `+=`, `:=`, ...

    def parameters(self) -> dict:
        uses, assigned = self.uses, self.assigned
        rebound: set = set()
        for node in self.body:  # one pass: the names' uses, the names bound again, closures
            kind = type(node)  # children.py: why `type`
            if kind is cst.Name:
                uses.setdefault(node.value, []).append(node)
            elif kind is cst.AssignTarget or kind is cst.AnnAssign:
                for name in _target_names(node.target):
                    rebound.add(name)
                    assigned[name] = assigned.get(name, 0) + (kind is cst.AssignTarget)
            elif kind in _CLOSURES:
                return {}  # a closure could keep it
            else:
                bound = _names_bound_otherwise(node)
                rebound.update(bound)
                self.bound_otherwise.update(bound)
        found = {}
        for name, _ in self.info.params:  # *args and **kwargs are no parameters here (definitions.py)
            if name in rebound or name not in uses:
                continue
            layers = self._layers_fed(name, uses[name], rebound)
            if layers is not None:
                found[name] = FeatureParameter(name, layers)
        return found

    def _layers_fed(self, name: str, uses: list, rebound: set) -> Optional[frozenset]:
        """The parameters that hold the layers `name` is fed into, or None when a use of it does more than read it."""
        layers: frozenset = frozenset()
        for use in uses:
            parent = self.parents.get(use)
            if type(parent) is cst.Attribute and parent.attr is use or type(parent) is cst.Arg and parent.keyword is use:
                continue  # `other.t`, `f(t=...)`: a name, not the parameter
            fed = self._fed(use, name, rebound)
            if fed is None:
                return None
            layers |= fed
        return layers

    def _fed(self, node: cst.BaseExpression, name: str, rebound: set) -> Optional[frozenset]:
        """Follow one use up through what computes from it: frozenset() where it is looked at or
        reaches a layer of the class, {q} where it reaches `q(...)` of a parameter `q`, None else."""
        while True:
            parent = self.parents.get(node)
            kind = type(parent)
            if kind is cst.Attribute and parent.value is node:
                call = self.parents.get(parent)
                if type(call) is not cst.Call or call.func is not parent:
                    return frozenset() if parent.attr.value in READ_ATTRIBUTES else None  # `t.shape`; `t.data` is t
                method = parent.attr.value
                if method in READ_METHODS:
                    return frozenset()  # `t.size(0)`, `t.mean()`: numbers read from it
                if method not in KEEP_METHODS | SHAPE_METHODS or method in IN_PLACE_METHODS:
                    return None
                node = call
            elif kind is cst.Subscript and parent.value is node or kind is cst.BinaryOperation or kind is cst.UnaryOperation:
                node = parent
            elif kind is cst.Comparison or kind is cst.ComparisonTarget:
                return frozenset()
            elif kind is cst.Assign and parent.value is node:
                return self._through_local(parent, name, rebound)
            elif kind is cst.Arg and parent.value is node and not parent.star:
                call = self.parents.get(parent)
                if parent.keyword is None and len(call.args) == 1:
                    layer = self._layer(call.func, name, rebound)
                    if layer is not None:
                        return layer
                if self._looking(call.func):
                    return frozenset()
                if call.args[0] is not parent or not self._computes(call):
                    return None
                node = call
            else:
                return None

    def _through_local(self, assign: cst.Assign, name: str, rebound: set) -> Optional[frozenset]:
        """`x = torch.relu(t)`, then `self.v(x)`: what is computed from the parameter, held by a
        local name bound only there, is followed to that name's uses."""
        if len(assign.targets) != 1 or type(assign.targets[0].target) is not cst.Name:
            return None
        local = assign.targets[0].target
        held = local.value
        if held in self.names or self.assigned.get(held) != 1 or held in self.bound_otherwise:
            return None
        return self._layers_fed(name, [use for use in self.uses.get(held, ()) if use is not local], rebound)

    def _layer(self, func: cst.BaseExpression, name: str, rebound: set) -> Optional[frozenset]:
        if type(func) is cst.Name and func.value in self.names and func.value != name and func.value not in rebound:
            return frozenset({func.value})  # `layer(t)`: each call must hand a layer to `layer`
        if type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value == self.info.self_name:
            if AttrSlot.of(self.info.class_name, func.attr.value) in self.flow.library_layers:
                return frozenset()  # `self.v(...)` of `self.v = nn.Linear(H, 1)`
        return None

    @staticmethod
    def _looking(func: cst.BaseExpression) -> bool:
        if type(func) is cst.Name:
            return func.value in LOOKING_BUILTINS
        return type(func) is cst.Attribute and func.attr.value in LOOKING_LIBRARY_FUNCTIONS  # `torch.is_tensor(t)`

    def _computes(self, call: cst.Call) -> bool:
        """`torch.relu(t)`, `F.dropout(t, 0.1)`: a torch function computing new features, not in place."""
        if any(arg.keyword is not None and arg.keyword.value in (IN_PLACE_FLAG, *CHANGED_OUT_ARGUMENT[1]) for arg in call.args):
            return False
        module, _, last = (qualify(call.func, self.flow.library_imports[self.info.module], set()) or "").rpartition(".")
        return module in FEATURE_FUNCTION_MODULES and last in COMPUTED_FEATURE_FUNCTIONS


def pass_through(info: FunctionInfo, flow: ProgramFlow) -> Optional[PassThrough]:
    """The summary of `info`, cached in the flow; None when it does more than give a parameter back."""
    if info.key not in flow.pass_through:
        if _maps_each_tensor(info, flow):
            flow.pass_through[info.key] = PassThrough((info.params[0].name,), Derivation.KEEP, identity=True)
        else:
            flow.pass_through[info.key] = _HelperBody(info, flow, 0, frozenset()).summary()
    return flow.pass_through[info.key]


@dataclass(frozen=True)
class FreshFactory:
    """A function that makes a new tensor at each call (`def fresh(n, dim): return torch.zeros(n,
    dim)`): each call is a creation made there (followed_calls.py), so the call that makes the
    state is paired or widened at the call, and a call that makes a mask or a buffer stays as it is."""

    last: Optional[str]  # the parameter that gives the last size (the one a packed state doubles at the call); None: a number in its body
    shape: bool = False  # `last` is its creation's one size, which a call may give as a whole shape (`fresh(shape)`)


def fresh_factory(info: FunctionInfo, flow: ProgramFlow, depth: int = 0) -> Optional[FreshFactory]:
    """Is `info` a factory of a fresh tensor: its body one `return` of a creation of torch or numpy
    whose sizes are its parameters or numbers (`torch.zeros(n, dim)`, `np.zeros((n, dim))`), kept
    by methods and conversions (`.to(device)`, `.requires_grad_()`, `torch.from_numpy(...)`), or a
    call of another such factory of the program (`return fresh(n, dim)`)?"""
    statements = [s for s in info.node.body.body if not is_docstring(s)] if isinstance(info.node.body, cst.IndentedBlock) else []
    line = statements[0].body[0] if len(statements) == 1 and isinstance(statements[0], cst.SimpleStatementLine) and len(statements[0].body) == 1 else None
    made = line.value if isinstance(line, cst.Return) else None
    if info.variadic or depth > MAX_DEPTH:
        return None
    names = [param.name for param in info.params]
    imports = flow.library_imports[info.module]
    while isinstance(made, cst.Call) and not any(arg.star for arg in made.args):
        called = qualify(made.func, imports, set()) or ""
        if isinstance(made.func, cst.Attribute) and made.func.attr.value in KEEP_METHODS and not called:
            made = made.func.value  # `torch.zeros(n, dim).to(device)`
        elif called in KEEP_FUNCTIONS and made.args:
            made = made.args[0].value  # `torch.from_numpy(np.zeros((n, dim)))`
        elif called in CREATE_FUNCTIONS and called.rpartition(".")[2] not in FILL_NAMES:
            sizes = [arg.value for arg in made.args if arg.keyword is None]
            if len(sizes) == 1 and isinstance(sizes[0], (cst.Tuple, cst.List)):  # `np.zeros((n, dim))`
                sizes = [element.value if isinstance(element, cst.Element) else None for element in sizes[0].elements]
            return _factory_of_sizes(sizes, names)
        elif isinstance(made.func, cst.Name):
            return _through_factory(info, made, flow, depth, names)
        else:
            return None
    return None


def _factory_of_sizes(sizes: list, names: list) -> Optional[FreshFactory]:
    """The factory whose creation takes these sizes, each a parameter, a number or arithmetic of
    them (`np.zeros(n * dim)`: its last size is then not one argument of the call)."""
    if not sizes or not all(_of_parameters(size, names) for size in sizes):
        return None
    return FreshFactory(sizes[-1].value if isinstance(sizes[-1], cst.Name) else None, len(sizes) == 1)


def _of_parameters(size: Optional[cst.BaseExpression], names: list) -> bool:
    if isinstance(size, cst.BinaryOperation):
        return _of_parameters(size.left, names) and _of_parameters(size.right, names)
    return isinstance(size, cst.Integer) or isinstance(size, cst.Name) and size.value in names


def _through_factory(info: FunctionInfo, made: cst.Call, flow: ProgramFlow, depth: int, names: list) -> Optional[FreshFactory]:
    """`return fresh(n, dim)` of another factory of the program: the parameter of this one that its
    call gives the last size by."""
    found = flow.lookup(info.module, made.func.value)
    if found is None or found.kind != DefinitionKind.FUNCTION or found.key == info.key:
        return None
    inner = fresh_factory(flow.functions[found.key], flow, depth + 1)
    if inner is None or inner.last is None:
        return inner
    callee = flow.functions[found.key]
    taken_by = callee.parameters_of([arg.keyword.value if arg.keyword is not None else None for arg in made.args])
    given = [arg.value for arg, param in zip(made.args, taken_by) if param is not None and param.name.value == inner.last]
    if not given:
        return FreshFactory(None)  # left to its default: a number in the body, as far as a call can tell
    found = _factory_of_sizes(given, names)
    return found if found is None or not inner.shape else FreshFactory(found.last, True)


def whole_factories(flow: ProgramFlow, solution) -> frozenset:
    """The factories of a fresh tensor whose calls, each made at the call, all make a state: the
    factory itself then makes the state (walked again so: migrate.py), as a function every caller
    of which takes the pair; one also called for a mask or a buffer stays as it is, and its calls
    that do not write their sizes out are left unfollowed (followed_calls.py)."""
    made = [  # (the place a value goes, the value): a binding's, and each item of a container it binds
        pair for binding in flow.bindings for value in [solution.resolved(binding.value)]
        for pair in [(binding.target, value)] + (
            [(ChildSlot.of(binding.target, label), item) for label, item in value.items] if isinstance(value, VContainer) else []
        )
    ]
    states = solution.fed_creations | {
        id(leaf.node) for target, value in made if solution.is_state(target)  # `{a: policy.blank() for a in ids}` too
        for leaf in [solution.resolutions.leaf_of(solution.resolved(value))] if isinstance(leaf, (VCreate, VOpaque))
    }
    return frozenset(key for key, calls in flow.fresh_calls.items() if calls <= states)


def _maps_each_tensor(info: FunctionInfo, flow: ProgramFlow) -> bool:
    """The word-language-model helper, ready for pairs as it is: a tensor is given back kept, a
    tuple is given back item by item through the helper itself, so it takes `(h, c)` as it took h
    and gives back what it was given (its call is the argument, and its body is left alone):

        def repackage_hidden(h):
            if isinstance(h, torch.Tensor):  # `type(h) == Variable`, `torch.is_tensor(h)`; `isinstance(h, tuple)`, `type(h) is not Tensor`, the branches swapped
                return h.detach()
            else:
                return tuple(repackage_hidden(v) for v in h)
    """
    statements = [s for s in info.node.body.body if not is_docstring(s)] if isinstance(info.node.body, cst.IndentedBlock) else []
    if len(info.params) != 1 or info.variadic or not statements:
        return False
    test = statements[0]
    if not isinstance(test, cst.If) or test.orelse is not None and not isinstance(test.orelse, cst.Else):
        return False
    otherwise = test.orelse.body.body if test.orelse is not None else statements[1:]
    if len(statements) != (1 if test.orelse is not None else 2):
        return False
    parameter = info.params[0].name
    tested = type_test(test.test) or _tensor_test(test.test, flow.library_imports[info.module])
    if tested is None or not _is_name(tested.tested, parameter):
        return False
    kinds, tensors = kinds_named(tested.named) if tested.named is not None else ([], [tested.test])
    if bool(kinds) == bool(tensors) or kinds and PAIR_CLASS not in kinds:
        return False  # `isinstance(h, list)` is false for (h, c): the pair would take the tensor's branch
    tensor, items = _returned(test.body.body), _returned(otherwise)
    if bool(kinds) != tested.negated:  # the test is true for the pair: `isinstance(h, tuple)`, `type(h) is not Tensor`
        tensor, items = items, tensor
    return tensor is not None and _kept(tensor, parameter) and items is not None and _each_item_through(items, parameter, info.key.name)


def _tensor_test(test: cst.BaseExpression, imports) -> Optional[TypeTest]:
    """`torch.is_tensor(h)` (or `not` it) read as the type test `isinstance(h, torch.Tensor)` is; its
    `named` is None (the call stands for the class)."""
    negated = isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
    call = test.expression if negated else test
    if not (isinstance(call, cst.Call) and len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star):
        return None
    if qualify(call.func, imports, set()) != TENSOR_TEST_FUNCTION:
        return None
    return TypeTest(test, call.args[0].value, None, negated)


def _returned(block) -> Optional[cst.BaseExpression]:
    """What a block of one `return E` gives back."""
    if len(block) != 1 or not isinstance(block[0], cst.SimpleStatementLine) or len(block[0].body) != 1:
        return None
    line = block[0].body[0]
    return line.value if isinstance(line, cst.Return) else None


def _kept(node: cst.BaseExpression, parameter: str) -> bool:
    """The parameter through methods that keep a tensor as it is (`h.detach()`, `h.data`) and
    tensor classes wrapped around it (`Variable(h.data)`, old PyTorch's)."""
    while not _is_name(node, parameter):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in KEEP_METHODS:
            node = node.func.value
        elif isinstance(node, cst.Call) and len(node.args) == 1 and not node.args[0].keyword and not node.args[0].star and kinds_named(node.func)[1]:
            node = node.args[0].value
        elif isinstance(node, cst.Attribute) and node.attr.value in KEEP_ATTRIBUTES:
            node = node.value
        else:
            return False
    return True


def _each_item_through(node: cst.BaseExpression, parameter: str, helper: str) -> bool:
    """`tuple(helper(v) for v in p)` (or of a list comprehension)."""
    if not (isinstance(node, cst.Call) and _called(node, PAIR_CLASS) and len(node.args) == 1 and not node.args[0].star):
        return False
    each = node.args[0].value
    if not isinstance(each, (cst.GeneratorExp, cst.ListComp)) or each.for_in.inner_for_in is not None or each.for_in.ifs:
        return False
    item = each.for_in.target
    return (
        isinstance(item, cst.Name) and _is_name(each.for_in.iter, parameter) and isinstance(each.elt, cst.Call)
        and _called(each.elt, helper) and _only_argument(each.elt, item.value)
    )


def _called(call: cst.Call, name: str) -> bool:
    return _is_name(call.func, name)


def _only_argument(call: cst.Call, name: str) -> bool:
    return len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star and _is_name(call.args[0].value, name)


def _is_name(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


class _HelperBody:
    """One reading of a helper's body for its summary (`depth` helpers below the first one asked)."""

    def __init__(self, info: FunctionInfo, flow: ProgramFlow, depth: int, seen: frozenset) -> None:
        self.info = info
        self.flow = flow
        self.depth = depth
        self.seen = seen | {info.key}
        self.params = [name for name, _ in info.params]
        self.origin: dict = {name: name for name in self.params}  # name -> the parameter it holds, or None
        self.kinds: set = set()  # the derivations met on the way back
        self.dim_ops: list = []  # [DimOp] on the way back
        self.single: dict = {}  # local name -> the one value it is ever bound to
        self.path: set = set()  # ids of the Name nodes a given-back value goes through
        self.changed = False  # the way back converts, reshapes, computes or calls another helper
        self.parents: dict = {}  # id(node) -> its parent, in the body

    def summary(self) -> Optional[PassThrough]:
        body = body_of(self.info, self.flow)
        if any(type(node) in _CLOSURES for node in body):  # children.py: why `type`
            return None  # a closure could keep it
        self._follow_locals(body)
        self.single = bound_once(body, self.params)
        # The way back, read once more with the names settled: its reads are the allowed ones.
        self.kinds, self.path, self.dim_ops, self.changed = set(), set(), [], False
        for target, value in _simple_assignments(body):
            if self.origin.get(target.value) is not None:
                self._given_back(value)
        returned = {self._combined(node.value) if node.value is not None else None for node in body if type(node) is cst.Return}
        if len(returned) != 1 or None in returned or not next(iter(returned)):
            return None
        parameters = returned.pop()
        holders = {name for name, held in self.origin.items() if held in parameters}
        self.parents = {id(child): parent for parent in body for child in children(parent)}
        reads = [node for node in body if type(node) is cst.Name and node.value in holders]
        if not all(self._only_looked_at(node) for node in reads):
            return None
        ordered = tuple(name for name in self.params if name in parameters)
        if Derivation.SHAPE in self.kinds and len(ordered) > 1:
            return None  # which operand is reshaped is not kept: the call would read as unreshaped
        kind = Derivation.SHAPE if Derivation.SHAPE in self.kinds else Derivation.KEEP
        returns = [node.value for node in body if type(node) is cst.Return]
        chain = self._chain_to(returns[0], frozenset()) if len(ordered) == 1 and len(returns) == 1 else None
        # a helper that tests the kind of what it is given (`if isinstance(h, torch.Tensor): h = h.detach()`)
        # is never the identity: given the pair whole it would skip its work; it runs on each half
        identity = len(ordered) == 1 and not self.changed and not any(self._kind_tested(node) for node in reads)
        return PassThrough(ordered, kind, tuple(dict.fromkeys(self.dim_ops)), identity, chain)

    def _follow_locals(self, body: list) -> None:
        """Which local names hold nothing but a parameter. Twice over the body, so that a loop
        assigning a name something else after it was read is seen; a name once assigned something
        else never holds only the parameter again."""
        for node in body:
            for name in _names_bound_otherwise(node):
                self.origin[name] = None
        for _ in range(2):
            for node in body:
                kind = type(node)
                if kind is cst.Assign:
                    for target in node.targets:
                        self._assign(target.target, node.value)
                elif kind is cst.AnnAssign and node.value is not None:
                    self._assign(node.target, node.value)

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        held = self._given_back(value) if isinstance(target, cst.Name) else None
        for name in _target_names(target):
            if name in self.origin and self.origin[name] is None:
                continue
            is_other_parameter = name in self.params and held != name
            self.origin[name] = None if held is None or is_other_parameter else held

    def _combined(self, node: cst.BaseExpression) -> Optional[frozenset]:
        """The parameters an arithmetic of given-back parameters and number literals joins
        (`a * m + b * (1 - m)`: a, m, b); None when an operand is anything else."""
        kind = type(node)
        if kind is cst.BinaryOperation or kind is cst.UnaryOperation:
            self.changed = True
        if kind is cst.BinaryOperation:
            left, right = self._combined(node.left), self._combined(node.right)
            return None if left is None or right is None else left | right
        if kind is cst.UnaryOperation:
            return self._combined(node.expression)
        if kind is cst.Integer or kind is cst.Float:
            return frozenset()
        held = self._given_back(node)
        return None if held is None else frozenset({held})

    def _given_back(self, node: cst.BaseExpression) -> Optional[str]:
        """The parameter an expression is, through local names, conversions, reshapes and other
        helpers (noted in `kinds` and `path`); None when it is anything else."""
        if isinstance(node, cst.Name):
            held = self.origin.get(node.value)
            if held is not None:
                self.path.add(id(node))
            return held
        if isinstance(node, cst.IfExp):
            body, other = self._given_back(node.body), self._given_back(node.orelse)
            return body if body is not None and body == other else None
        if not isinstance(node, cst.Call):
            return None
        self.changed = True  # converted, reshaped or given back by another helper: not as it came
        func = node.func
        if node.args and not node.args[0].star and node.args[0].keyword is None and isinstance(func, cst.Attribute):
            last = func.attr.value  # the first argument converted: `torch.as_tensor(x, device=d)`
            if last in CONVERTING_NAMES:
                return self._given_back(node.args[0].value)  # torch.from_numpy(x), np.asarray(x)
            if len(node.args) == 1 and last in NUMPY_JOINING_NAMES:
                self.kinds.add(Derivation.SHAPE)  # np.concatenate(x) of one array joins its leading axes
                return self._given_back(node.args[0].value)
        if isinstance(func, cst.Attribute) and func.attr.value in KEEP_METHODS | SHAPE_METHODS:
            if func.attr.value in SHAPE_METHODS:
                self.kinds.add(Derivation.SHAPE)
                if may_name_the_last(node):
                    self.dim_ops.append(DimOp(node, self._chain_to(func.value, frozenset())))
            return self._given_back(func.value)  # x.float(), x.to(device), x.view(...)
        return self._through_helper(node)

    def _through_helper(self, node: cst.Call) -> Optional[str]:
        """`to_tensor(x).float()` where `to_tensor` is itself a helper of the program giving back a
        parameter: the argument passed there."""
        func = node.func
        if not isinstance(func, cst.Name) or func.value in self.origin or self.depth + 1 > MAX_DEPTH:
            return None
        found = self.flow.lookup(self.info.module, func.value)
        if found is None or found.kind != DefinitionKind.FUNCTION or found.key in self.seen or any(arg.star for arg in node.args):
            return None
        callee = self.flow.functions[found.key]
        inner = _HelperBody(callee, self.flow, self.depth + 1, self.seen).summary()
        if inner is None or len(inner.parameters) != 1:
            return None
        names = [name for name, _ in callee.params]
        for index, arg in enumerate(node.args):
            given = arg.keyword.value if arg.keyword is not None else (names[index] if index < len(names) else None)
            if given == inner.parameters[0]:
                self.kinds.add(inner.kind)
                before = self._chain_to(arg.value, frozenset())
                self.dim_ops += [
                    DimOp(op.node, None if before is None or op.chain is None else before + op.chain) for op in inner.dim_ops
                ]
                return self._given_back(arg.value)
        return None

    def _chain_to(self, node: cst.BaseExpression, visiting: frozenset) -> Optional[tuple]:
        """The calls from a parameter to `node` on the way back (see DimOp), None when the names
        on the way may hold one value or another (a name bound twice, a parameter rebound)."""
        if isinstance(node, cst.Name):
            if node.value in self.params:
                return () if node.value not in self.single and node.value not in visiting else None
            value = self.single.get(node.value)
            return None if value is None or node.value in visiting else self._chain_to(value, visiting | {node.value})
        if isinstance(node, cst.IfExp):
            body = self._chain_to(node.body, visiting)
            return body if body == () and self._chain_to(node.orelse, visiting) == () else None
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            return None  # another helper: its rank effect is not read
        last = node.func.attr.value
        first = node.args[0] if node.args and not node.args[0].star and node.args[0].keyword is None else None
        if first is not None and (last in CONVERTING_NAMES or len(node.args) == 1 and last in NUMPY_JOINING_NAMES):
            before = self._chain_to(first.value, visiting)  # as _given_back reads it: `torch.as_tensor(x)`
        elif last in KEEP_METHODS | SHAPE_METHODS:
            before = self._chain_to(node.func.value, visiting)
        else:
            return None
        return None if before is None else before + (node,)

    def _only_looked_at(self, name: cst.Name) -> bool:
        """Is this occurrence of a name that holds the parameter on the way back, or only a look at it?"""
        if id(name) in self.path:
            return True
        parent = self.parents.get(id(name))
        if isinstance(parent, cst.Attribute):
            if parent.attr is name:
                return True  # `other.x`: an attribute's name, not the local
            call = self.parents.get(id(parent))
            written = isinstance(call, cst.Call) and call.func is parent and parent.attr.value in WRITING_METHODS
            return not written  # `layer.weight`, `x.shape`: looked at; `x.append(y)`, `x.copy_(y)`: written into
        if isinstance(parent, cst.Arg):
            if parent.keyword is name:
                return True  # `f(x=...)`: a keyword's name
            call = self.parents.get(id(parent))
            func = call.func if isinstance(call, cst.Call) else None
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
                return func.attr.value in LOOKING_LIBRARY_FUNCTIONS  # `torch.is_tensor(x)`
            return isinstance(func, cst.Name) and func.value in LOOKING_BUILTINS
        if isinstance(parent, (cst.AssignTarget, cst.Param)) or isinstance(parent, cst.AnnAssign) and parent.target is name:
            return True  # the name being (re)defined: what it holds is settled by _follow_locals
        return isinstance(parent, (cst.Comparison, cst.ComparisonTarget))  # `x is None`, `type(x) == T`


    def _kind_tested(self, name: cst.Name) -> bool:
        """Is this read of the parameter tested by `isinstance(x, torch.Tensor)`, `type(x) is
        tuple`: a test whose answer changes once a state is (h, c)?"""
        tested = type_test_of(name, lambda node: self.parents.get(id(node)))
        return tested is not None and any(kinds_named(tested.named))


def may_name_the_last(node: cst.Call, method_form: bool = True) -> bool:
    """Does a call (`t.flip(-1)`, `t.transpose(0, 1)`, `t.permute(1, 0, 2)`; `torch.flip(t, [-1])`
    when not `method_form`) name a dimension that is the last one for some rank? Only 0 never is:
    a state has a layer or batch dimension first (rules/packed_dims.py judges the same with the
    rank known)."""
    func = node.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    positional = [arg.value for arg in node.args if arg.keyword is None][0 if method_form else 1:]
    if name == PERMUTE_METHOD:
        return True  # any order may move the last dimension of one rank or another
    dims = [positional[i] for i in DIM_POSITIONS.get(name, ()) if i < len(positional)]
    dims += [arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value in DIM_KEYWORDS]
    if not dims:
        return name in ALONG_LAST_BY_DEFAULT or (name in DIM_POSITIONS and any(arg.star for arg in node.args))
    return any(not (isinstance(dim, cst.Integer) and dim.value == "0") for dim in dims)


def _simple_assignments(body: list) -> list:
    """(name, value) of each `name = value` and `name: T = value` of the body."""
    found = []
    for node in body:
        kind = type(node)  # children.py: why `type`
        if kind is cst.Assign:
            found += [(target.target, node.value) for target in node.targets if isinstance(target.target, cst.Name)]
        elif kind is cst.AnnAssign and node.value is not None and isinstance(node.target, cst.Name):
            found.append((node.target, node.value))
    return found


def bound_once(body: list, params: list) -> dict:
    """name -> value of each name the body binds once, by `name = value`, and never otherwise
    (a parameter bound here is in it too: it then holds one value or another)."""
    counts: dict = {}
    for target, value in _simple_assignments(body):
        counts.setdefault(target.value, []).append(value)
    for node in body:
        for name in _names_bound_otherwise(node):
            counts.setdefault(name, []).extend((None, None))
    return {name: values[0] for name, values in counts.items() if len(values) == 1 or name in params}


def _target_names(target: cst.BaseExpression) -> list:
    """The names an assignment target binds (`a`, `a, (b, *c)`); an attribute or subscript binds none."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return []


def _names_bound_otherwise(node: cst.CSTNode) -> list:
    """The names `node` binds other than by `name = value`: loop targets, `with … as`, `+=`, `:=`,
    `except … as`, `del`, and names declared global or nonlocal."""
    kind = type(node)  # called on every node of a body: children.py says why `type`
    if kind in _BINDING_TARGETS:
        return _target_names(node.target)
    if kind is cst.AsName:
        return _target_names(node.name)
    if kind is cst.Global or kind is cst.Nonlocal:
        return [item.name.value for item in node.names]
    return []


_CLOSURES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})
_BINDING_TARGETS = frozenset({cst.For, cst.CompFor, cst.AugAssign, cst.NamedExpr, cst.Del})
