"""The migrated code of a group read as where its values come from, for the output check.

The modules of a group are read together with the stdlib `ast`: the assignments of a local name in
its scope, of an attribute name anywhere (`self.hidden = ...`), the returns of a function or method
by name, the arguments each parameter gets at the group's calls of its function, and the names
that hold an LSTM. lstm_check.py, lstm_pairs.py and lstm_cell.py ask it their questions.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

from gru2lstm.imports import imported_names
from gru2lstm.tree_nodes import nodes_of, walk
from gru2lstm.vocab import (
    CAT_FUNCTIONS, CLASS_OF_OBJECT, CREATION_NAMES, HIDDEN_KEYWORDS, INSTANCE_TEST, KEEP_METHODS, LSTM_NAMES, MODULE_CONTAINERS, SHAPE_METHODS, SPLITTING_METHODS, TENSOR_TEST_FUNCTION, TORCH_NN,
)

CATS = {name.rpartition(".")[2] for name in CAT_FUNCTIONS}  # `cat`, `stack`, ...
CONTAINER_NAMES = {name.rpartition(".")[2] for name in MODULE_CONTAINERS}  # `ModuleList`, `ModuleDict`


@dataclass(frozen=True)
class Mistake:
    """What the output check names: an LSTM given one tensor, a pair used as one tensor, or c
    fed to a head."""

    module: int  # the position of its module among those read together
    line: int
    call: str  # the call, as written
    why: str
    place: str = ""  # the place used as one tensor, as written, for a pair so used

    def key(self) -> tuple:
        """What identifies it across the input and the output (lines move)."""
        return (self.module, self.call, self.why)


class Sources:
    """Where a value of the group comes from: the assignments of a local name in its scope, of an
    attribute name anywhere (`self.hidden = ...`, also a record's field a construction gives), the
    returns of a function, and the arguments each parameter gets at the group's calls of its
    function. A call is bound to the function it surely runs (`_callee`), to a fixed point: an
    instance that reaches a function through a parameter resolves the calls made on it there.

    A class of about 200 lines on purpose: these tables are built together in one pass, and the
    three checks read them."""

    DEPTH = 8

    def __init__(self, trees: list, holders: dict) -> None:
        classes = {node.name: node for tree in trees for node in nodes_of(tree).of(ast.ClassDef)}
        owner = {id(item): cls for cls in classes.values() for item in cls.body}  # method -> its class
        self.scopes = []  # (module position, scope)
        module_functions: dict = {}
        for position, tree in enumerate(trees):
            functions = nodes_of(tree).of(ast.FunctionDef, ast.AsyncFunctionDef)
            self.scopes += [(position, scope) for scope in (tree, *functions)]
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    module_functions.setdefault(node.name, []).append(node)
        module_functions = {name: found[0] for name, found in module_functions.items() if len(found) == 1}
        # each scope's own nodes, walked once (tree_nodes.py), read by every check
        self.nodes = {id(scope): nodes_of(trees[position]).own_nodes(trees[position], scope) for position, scope in self.scopes}
        self.locals: dict = {}  # id(scope) -> local name -> the values assigned to it there
        self.attributes: dict = {}
        self.returns: dict = {}  # function name -> [(returned value, scope)]
        self.callees: dict = {}  # id(call) -> the group's function it surely runs
        self.arguments: dict = {}  # (id(function), parameter) -> [(argument, scope of the call)]
        self.fields: list = []  # (attribute name, value, scope) that constructions of records write
        calls = []  # (call, its scope, the class of that scope's method)
        class_tested: dict = {}  # id(function) -> ids of its returns that run for one class of argument only
        modules = [_imported_modules(tree) for tree in trees]  # per tree: the names its imports bind to a module
        self._modules_of = {}  # id(scope) -> the names of modules its file imports
        for position, scope in self.scopes:  # one pass over each scope's nodes for all the tables
            self._modules_of[id(scope)] = modules[position]
            assigned = self.locals[id(scope)] = {}
            for node in self.nodes[id(scope)]:
                if isinstance(node, ast.Call):
                    calls.append((node, scope, owner.get(id(scope))))
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Attribute):
                            self.attributes.setdefault(target.attr, []).append((node.value, scope))
                        for name, value in _elementwise(target, node.value):
                            assigned.setdefault(name, []).append(value)
                elif isinstance(node, ast.Return) and node.value is not None and not isinstance(scope, ast.Module):
                    if id(scope) not in class_tested:  # once per function (setdefault would walk it again at every return)
                        class_tested[id(scope)] = _returns_of_a_class(scope)
                    if id(node) not in class_tested[id(scope)]:
                        self.returns.setdefault(scope.name, []).append((node.value, scope))
        calls = [(call, scope, cls) for call, scope, cls in calls if holder_name(call.func) not in holders]
        records = {name: fields for tree in trees for name, fields in _records(tree).items()}
        for call, scope, _ in calls:
            fields = records.get(constructed(call.func)) if isinstance(call.func, (ast.Name, ast.Attribute)) else None
            if fields:
                self._fill_fields(fields, call, scope)
        bound = True
        while bound:  # a call bound gives its parameters values, through which another call may resolve
            bound = False
            for call, scope, cls in calls:
                callee = None if id(call) in self.callees else self._callee(call.func, cls, classes, module_functions, scope)
                if callee is not None:
                    self.callees[id(call)] = callee
                    self._bind(callee, call, scope)
                    bound = True

    def returned(self, call: ast.Call) -> list:
        """[(value, scope)] for each return of what `call` runs: its function when that is sure,
        else every function of the group with its name."""
        callee = self.callees.get(id(call))
        if callee is None:
            return self.returns.get(holder_name(call.func), [])
        return [(value, scope) for value, scope in self.returns.get(callee.name, []) if scope is callee]

    def _callee(self, func: ast.expr, cls, classes: dict, module_functions: dict, scope):
        """The group's function a call runs, when it is sure: `rollout(...)` (a module function,
        here or imported), `self.act(...)`, `Policy(...)` (its __init__), `policy.act(...)` and
        `policy(...)` (its forward()) with `policy` only ever an instance of one group class, and
        `helpers.normalize(...)` (a module function of the group, through a module it imports)."""
        if isinstance(func, ast.Name) and func.id in module_functions:
            return module_functions[func.id]
        if (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.attr in module_functions
            and func.value.id in self._modules_of[id(scope)]
        ):
            return module_functions[func.attr]  # `helpers.normalize(h)`, `helpers` a module it imports
        if isinstance(func, ast.Name) and func.id in classes:
            return method_of(classes[func.id], "__init__")
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self" and cls is not None:
            found = method_of(cls, func.attr)
            if found is not None:
                return found
        if isinstance(func, ast.Attribute) and isinstance(func.value, (ast.Name, ast.Attribute)):
            instance = self._class_held(func.value, classes, scope)
            if instance is not None and method_of(instance, func.attr) is not None:
                return method_of(instance, func.attr)
        instance = self._class_held(func, classes, scope) if isinstance(func, (ast.Name, ast.Attribute)) else None
        return method_of(instance, "forward") if instance is not None else None

    def _class_held(self, holder: ast.expr, classes: dict, scope, depth: int = 0):
        """The group class whose instance `holder` surely holds: a construction, or a name, an
        attribute or a parameter (what the group's calls give it) only ever given one."""
        if isinstance(holder, ast.Call):
            return classes.get(_constructed_class(holder))
        if isinstance(holder, ast.Attribute):
            values = self.attributes.get(holder.attr, [])
        elif isinstance(holder, ast.Name):
            values = [(value, scope) for value in self.locals[id(scope)].get(holder.id, [])] or self.arguments.get((id(scope), holder.id), [])
        else:
            return None
        if not values or depth > self.DEPTH:
            return None
        held = [None if value is None else self._class_held(value, classes, where, depth + 1) for value, where in values]
        return held[0] if held[0] is not None and all(cls is held[0] for cls in held) else None

    def _fill_fields(self, fields: list, call: ast.Call, scope) -> None:
        """`Rollout(start=s)` of a record (`_records`) writes its fields, by position and keyword:
        the attribute `start` gets `s`. A field the call does not give gets its default (unknown
        unless a constant)."""
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return
        given = {**dict(zip((name for name, _ in fields), call.args)), **{k.arg: k.value for k in call.keywords}}
        for name, default in fields:
            value = given.get(name, default if isinstance(default, ast.Constant) else None)  # None: unknown (`field(...)`)
            self.fields.append((name, value, scope))
            self.attributes.setdefault(name, []).append((value, scope))

    def _bind(self, function, call: ast.Call, scope) -> None:
        """What each parameter of `function` gets at `call`; every parameter gets an unknown value
        (None) when the call spreads `*args` or `**kwargs`."""
        given = call_arguments(function, call)
        if given is None:
            for name in _positional(function) + [a.arg for a in function.args.kwonlyargs]:
                self.arguments.setdefault((id(function), name), []).append((None, scope))
            return
        for name, value in given:
            self.arguments.setdefault((id(function), name), []).append((value, scope))

    def parameter_values(self, function) -> dict:
        """Parameter name -> every value it gets: the arguments of the group's calls of the
        function and its default ([] for a parameter no known call gives anything)."""
        args = function.args
        named = args.posonlyargs + args.args
        defaults = dict(zip((a.arg for a in named[len(named) - len(args.defaults):]), args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        values = {}
        for arg in named + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a is not None]:
            given = self.arguments.get((id(function), arg.arg), [])
            values[arg.arg] = given + [(defaults[arg.arg], function)] if given and arg.arg in defaults else list(given)
        return values

    def single_tensor(self, node: ast.expr, scope, seen: frozenset = frozenset()):
        """Why `node`, read in `scope`, is surely one tensor (not a pair), or None."""
        if len(seen) > self.DEPTH:
            return None
        if isinstance(node, ast.BinOp):
            return f"`{ast.unparse(node)}` is arithmetic on a tensor"
        if isinstance(node, ast.IfExp):  # either branch may be what is given
            return self.single_tensor(node.body, scope, seen) or self.single_tensor(node.orelse, scope, seen)
        if isinstance(node, ast.Call):
            name = constructed(node.func)
            callee = self.callees.get(id(node))  # a cycle is the same function again (or, unresolved, the same name)
            if callee is None:  # torch's own by its name; a group method may share it (`policy.zeros(n)`)
                if name in SPLITTING_METHODS:
                    return None
                if name in CREATION_NAMES:
                    return f"`{ast.unparse(node)}` makes one tensor"
                if isinstance(node.func, ast.Attribute) and name in KEEP_METHODS | SHAPE_METHODS:
                    return f"`{ast.unparse(node)}` is a tensor method (a tuple has none)"
            return self._first(("call", id(callee) if callee is not None else name), self.returned(node), seen, f"`{name}()` returns")
        if isinstance(node, ast.Name):
            found = self._first(("name", id(scope), node.id), [(v, scope) for v in self.locals[id(scope)].get(node.id, [])], seen, f"`{node.id}` is")
            if found is None:
                found = self._first(("param", id(scope), node.id), self.arguments.get((id(scope), node.id), []), seen, f"`{node.id}` receives")
            return found
        if isinstance(node, ast.Attribute):
            return self._first(("attr", node.attr), self.attributes.get(node.attr, []), seen, f"`.{node.attr}` is")
        return None

    def _first(self, key: tuple, values: list, seen: frozenset, what: str):
        if key in seen:
            return None
        for value, scope in values:
            why = self.single_tensor(value, scope, seen | {key})
            if why is not None:
                return f"{what} one tensor: {why}"
        return None


def _returns_of_a_class(function) -> set:
    """The returns on either side of `if isinstance(p, C):` (or `type(p) == C`) of a parameter p
    (after it too, when its body returns): what they give depends on the argument's class, so it
    says nothing of what a pair gets (`repackage_hidden(h)` gives `h.detach()` for a tensor, a
    tuple item by item for a pair)."""
    params = {a.arg for a in function.args.posonlyargs + function.args.args + function.args.kwonlyargs}
    found = set()
    for node in walk(function):
        for block in (getattr(node, "body", None), getattr(node, "orelse", None)):
            if not isinstance(block, list):
                continue
            for position, statement in enumerate(block):
                if isinstance(statement, ast.If) and _tests_class_of(statement.test, params):
                    after = block[position + 1:] if statement.body and isinstance(statement.body[-1], ast.Return) else []
                    for inner in (*statement.body, *statement.orelse, *after):
                        found |= {id(r) for r in walk(inner) if isinstance(r, ast.Return)}
    return found


def _tests_class_of(test: ast.expr, params: set) -> bool:
    """Is `test` a type test of one of `params` (`isinstance(p, C)`, `type(p) is not C`)?"""
    tested = type_tested(test)
    return isinstance(tested, ast.Name) and tested.id in params


def _records(tree: ast.Module) -> dict:
    """Classes made of their fields -> [(field, its default or None)]: a class without __init__
    whose body annotates fields (a dataclass, a NamedTuple), and `N = namedtuple("N", [...])`."""
    found = {}
    for node in nodes_of(tree).of(ast.ClassDef, ast.Assign):
        if isinstance(node, ast.ClassDef) and method_of(node, "__init__") is None:
            fields = [(item.target.id, item.value) for item in node.body if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)]
            if fields:
                found[node.name] = fields
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and constructed(node.value.func) == "namedtuple" and len(node.value.args) == 2:
            names = node.value.args[1]
            if isinstance(names, ast.Constant) and isinstance(names.value, str):
                fields = names.value.replace(",", " ").split()
            elif isinstance(names, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in names.elts):
                fields = [e.value for e in names.elts]
            else:
                continue
            found.update({target.id: [(field, None) for field in fields] for target in node.targets if isinstance(target, ast.Name)})
    return found


def _constructed_class(value: ast.expr):
    """The name `Policy(...)` or `Policy(...).to(device)` constructs, or None."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in KEEP_METHODS and isinstance(value.func.value, ast.Call):
        value = value.func.value
    return constructed(value.func) if isinstance(value, ast.Call) else None


def call_arguments(function, call: ast.Call):
    """[(parameter, the argument `call` gives it)], or None when the call spreads `*args` or `**kwargs`."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    return [*zip(_positional(function), call.args), *((k.arg, k.value) for k in call.keywords)]


def _positional(function) -> list:
    """The parameters a call's positional arguments fill (not `self` or `cls`)."""
    params = [a.arg for a in function.args.posonlyargs + function.args.args]
    return params[1:] if params and params[0] in ("self", "cls") else params


def method_of(cls: ast.ClassDef, name: str):
    return next((item for item in cls.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name), None)


def lstm_holders(tree: ast.Module, assignments: Optional[list] = None) -> dict:
    """Names and attribute names (`lstm`, `self.core` -> "core") assigned an LSTM or LSTMCell
    (also under an alias: `from torch.nn import LSTM as RNN`) -> "LSTM" or "LSTMCell"; only
    by `assignments` (some of the tree's `ast.Assign` nodes) when they are given."""
    classes = {name: name for name in LSTM_NAMES}
    nodes = nodes_of(tree)
    for node in nodes.of(ast.ImportFrom):
        if (node.module or "").startswith(TORCH_NN):
            classes.update({alias.asname: alias.name for alias in node.names if alias.name in LSTM_NAMES and alias.asname})
    assignments = nodes.of(ast.Assign) if assignments is None else assignments
    wrapped = {  # `ortho(nn.LSTM(...), gain)`: a helper that may give its first argument back
        node.value.func.id for node in assignments
        if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) and node.value.args
        and isinstance(node.value.args[0], ast.Call) and constructed(node.value.args[0].func) in classes
    }
    givers = _giving_back_first(nodes, wrapped) if wrapped else set()
    holders = {}
    for node in assignments:
        value = node.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in givers and value.args:
            value = value.args[0]
        kind = classes.get(constructed(value.func)) if isinstance(value, ast.Call) else None
        if kind is None and isinstance(value, ast.Call) and constructed(value.func) in CONTAINER_NAMES:
            # `nn.ModuleList([nn.LSTMCell(...) ...])`: `self.cells[i](x, s)` calls one of them
            kinds = {classes[constructed(n.func)] for n in walk(value) if isinstance(n, ast.Call) and constructed(n.func) in classes}
            kind = kinds.pop() if len(kinds) == 1 else None
        if kind is not None:
            holders.update({name: kind for name in (holder_name(target) for target in node.targets) if name is not None})
    return holders


def called_holder(func: ast.expr):
    """The name a call's callee is held by: `self.lstm` -> "lstm", and an element of a container
    held by a name, `self.cells[i]` -> "cells"."""
    return holder_name(func.value if isinstance(func, ast.Subscript) else func)


def attributes_held_otherwise(tree: ast.Module) -> dict:
    """id of each method -> the attributes its class sets on `self` and never to an LSTM
    (`self.rnn = RNNLayer(...)`): there `self.rnn(...)` is not the call of an LSTM that another
    class holds under the same name."""
    found = {}
    for cls in nodes_of(tree).of(ast.ClassDef):
        assignments = [node for node in walk(cls) if isinstance(node, ast.Assign)]
        lstm = lstm_holders(tree, assignments)
        own = {
            target.attr for node in assignments for target in node.targets
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"
        }
        for method in cls.body:
            if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[id(method)] = own - set(lstm)
    return found


def instances_held(trees: list) -> list:
    """For each tree, the plain names it gives only instances of the program's own classes (`core
    = Core()`, `core, critic = Core(), Critic()`): there `core(x, h)` runs that class's forward(),
    not the LSTM another class holds under the same name (`self.core`). A class of the program
    that subclasses an LSTM is no such class."""
    classes = {
        node.name for tree in trees for node in nodes_of(tree).of(ast.ClassDef)
        if not any(constructed(base) in LSTM_NAMES for base in node.bases)
    }
    found = []
    for tree in trees:
        given: dict = {}  # name -> does every value given to it make an instance of such a class
        for node in nodes_of(tree).of(ast.Assign):
            for target in node.targets:
                for name, value in _elementwise(target, node.value) or [(n.id, None) for n in ast.walk(target) if isinstance(n, ast.Name)]:
                    instance = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in classes
                    given[name] = given.get(name, True) and instance
        found.append({name for name, instance in given.items() if instance})
    return found


def _giving_back_first(nodes, names: set) -> set:
    """Those of `names` that are the module's functions whose every return is their first parameter, as it is."""
    found = set()
    for function in (node for node in nodes.of(ast.FunctionDef) if node.name in names):
        params = function.args.posonlyargs + function.args.args
        returns = [node for node in walk(function) if isinstance(node, ast.Return)]
        if params and returns and all(isinstance(r.value, ast.Name) and r.value.id == params[0].arg for r in returns):
            found.add(function.name)
    return found


def constructed(func: ast.expr):
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


# The comparisons of `type(x)` with a class or a tuple of them that syntax.type_test reads.
_CLASS_COMPARISONS = (ast.Eq, ast.Is, ast.In, ast.NotEq, ast.IsNot, ast.NotIn)


def type_tested(test: ast.expr) -> Optional[ast.expr]:
    """`x` of a type test `isinstance(x, C)`, `type(x) == C`, `type(x) is not C`, `type(x) in (C, D)`,
    `not isinstance(x, C)`, `torch.is_tensor(x)`, read as syntax.type_test (and summaries, for the last)
    read them in LibCST, else None."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return type_tested(test.operand)
    if isinstance(test, ast.Call) and constructed(test.func) == TENSOR_TEST_FUNCTION.rpartition(".")[2] and len(test.args) == 1 and not test.keywords:
        return None if isinstance(test.args[0], ast.Starred) else test.args[0]  # `torch.is_tensor(x)`, by its name
    if isinstance(test, ast.Compare):
        if len(test.ops) != 1 or not isinstance(test.ops[0], _CLASS_COMPARISONS):
            return None
        if not isinstance(test.ops[0], (ast.In, ast.NotIn)) and isinstance(test.comparators[0], (ast.Tuple, ast.List)):
            return None  # a class is never equal to a tuple
        call, function, count = test.left, CLASS_OF_OBJECT, 1
    else:
        call, function, count = test, INSTANCE_TEST, 2
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == function and len(call.args) == count):
        return None
    return None if call.keywords or any(isinstance(arg, ast.Starred) for arg in call.args) else call.args[0]


def holder_name(node: ast.expr):
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def state_argument(call: ast.Call):
    for keyword in call.keywords:
        if keyword.arg in HIDDEN_KEYWORDS:
            return keyword.value
    return call.args[1] if len(call.args) > 1 and not isinstance(call.args[1], ast.Starred) else None


def _elementwise(target: ast.expr, value: ast.expr) -> list:
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    same = isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) and len(target.elts) == len(value.elts)
    if not same or any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts)):
        return []
    return [pair for element, part in zip(target.elts, value.elts) for pair in _elementwise(element, part)]


def _imported_modules(tree: ast.Module) -> set:
    """The names a module's imports bind to what may be a module: `import helpers`, `import a.b as
    b`, `from pkg import helpers` (a module, or a name the group's functions cannot be an
    attribute of)."""
    return {imported.local for node in tree.body for imported in imported_names(node)}
