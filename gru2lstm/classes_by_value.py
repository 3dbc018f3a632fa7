"""A torch.nn class chosen by a name the engine does not follow to a class (`getattr(nn, cfg.rnn_type)(4, 8)`,
`Cell = getattr(nn, "GRU" + "Cell")`, `vars(nn)[cfg.rnn]`, `nn.__dict__["GRUCell"]`): it may be a
GRU, which the engine cannot see, so it would stay one
("left unchanged", exit 0), or a switch between a GRU and an LSTM by configuration, which handles
both already. Where a module made from it is called with a state (a second argument, a hidden
keyword, or its result unpacked as `out, h = ...`), that is one finding (G2L102) at the `getattr`;
one called with its input alone (`getattr(nn, cfg.act)()` of an activation) is none. A module made
with a recurrent module's arguments (`(4, 8)`) and returned (`def make_rnn(name): return getattr(nn,
name)(4, 8)`) is a finding too: its callers, perhaps in a file not looked at, may give it a state. This is for a
group that constructs no GRU by its name; where one does, rules/module_reach.ClassByName reports
such a class (G2L101), as the migration would leave it a GRU beside LSTM code."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gru2lstm import syntax
from gru2lstm.findings import new_finding
from gru2lstm.prefilter import path_may_name_recurrent
from gru2lstm.qualnames import alias_binding, dotted, module_imports, module_path, qualify
from gru2lstm.syntax import constant_string, string_head
from gru2lstm.vocab import (
    ATTRIBUTE_CHAIN_READER, ATTRIBUTE_DICT, ATTRIBUTE_GETTER, ATTRIBUTE_READER, GRU_NAMES, EVALUATING_BUILTINS, EXEC_BUILTIN, HIDDEN_KEYWORDS, LOADED_MODULES, MEMBERS_FUNCTION, MODULE_NAME, NAMED_ATTRIBUTE_BUILTIN,
    NAMESPACE_BUILTINS, NAMESPACE_LISTINGS, NAMESPACE_OF_OBJECT, OWN_OBJECTS, RECURRENT, RECURRENT_ARGUMENTS, RECURRENT_KEYWORDS, REGISTRY_LOOKUP_METHODS, TORCH_RECURRENT_PATHS, TORCH_ROOT,
)


def classes_chosen_by_value(wrapper, parents: dict, returning_elsewhere: frozenset = frozenset()) -> list:
    """The findings of the module `wrapper` wraps (one a `getattr` whose module takes a state).
    `returning_elsewhere`: the names (dotted) by which it calls another file's functions that
    return such a class (`layers.rnn_class`, returning_calls)."""
    imports = torch_names(wrapper.module, parents)
    calls = [node for node in parents if type(node) is cst.Call]  # children.py: why `type`
    keys = [node for node in parents if type(node) is cst.Subscript]
    elsewhere = [call for call in calls if dotted(call.func) in returning_elsewhere]
    findings = []
    for chooser in _choosers(calls, keys, imports, parents) + elsewhere:
        made = list(_constructions(chooser, calls, parents))
        if chooser in elsewhere:  # so an activation's class (`layers.act_class(cfg.act)()`) is none
            made = [one for one in made if made_as_recurrent(one)]
        taking = next((call for one in made for call in _module_calls(one, calls, parents) if _takes_state(call, parents)), None)
        # handed to callers (`def make_rnn(name): return getattr(nn, name)(4, 8)`), perhaps in another file
        returned = next((one for one in made if made_as_recurrent(one) and _returned(one, parents)), None)
        if taking is not None:
            why = f"a module made from it is called with a state (`{syntax.code_of(taking)}`, line {wrapper.positions[taking].start.line})"
        elif returned is not None:
            why = (
                f"the module made from it, `{syntax.code_of(returned)}` (line {wrapper.positions[returned].start.line}), has the "
                "arguments of a recurrent one and is returned to callers that may call it with a state"
            )
        else:
            continue
        position = wrapper.positions[chooser].start
        findings.append(new_finding("G2L102", chosen_message(chooser, chooser in elsewhere, why), position.line, position.column + 1))
    return findings


def chosen_message(chooser: cst.BaseExpression, returned: bool, why: str) -> str:
    """The finding about `chooser`, a `getattr(nn, name)` (or a call of another file's function
    that `returned` one) whose module may be a GRU for `why` (it is called with a state)."""
    picks = "returns a class of torch.nn picked" if returned else "picks a class of torch.nn"
    return (
        f"`{syntax.code_of(chooser)}` {picks} by a name the engine does not follow to a class, and {why}, so a GRU chosen "
        "there would stay a GRU: choose the LSTM where the name is chosen, or write the class out (`nn.GRU(...)`) to migrate it"
    )


def returned_choosers(function: cst.FunctionDef, parents: dict, imports: dict, seen: frozenset = frozenset()) -> list:
    """The `getattr(nn, name)` (or `vars(nn)[key]`) that `function` returns, itself, by a name, or
    by a call of another function of its module that returns one (`return _lookup(name)`; `seen`:
    those functions)."""
    nodes = list(syntax.walk(function.body))
    calls = [node for node in nodes if type(node) is cst.Call]
    keys = [node for node in nodes if type(node) is cst.Subscript]
    found = [chooser for chooser in _choosers(calls, keys, imports, parents) if _returning_function(chooser, parents) is function]
    module = parents.get(function)
    while module is not None and type(module) is not cst.Module:
        module = parents.get(module)
    functions = {node.name.value: node for node in module.body if isinstance(node, cst.FunctionDef)} if module is not None else {}
    for node in nodes:
        name = dotted(node.value.func) if type(node) is cst.Return and type(node.value) is cst.Call else None
        if name in functions and name not in seen and syntax.enclosing_function(parents, node) is function:
            found += returned_choosers(functions[name], parents, imports, seen | {function.name.value})
    return found


def _choosers(calls: list, keys: list, imports: dict, parents: dict) -> list:
    """`getattr(nn, name)` and `vars(nn)[key]` of torch.nn in the module (`parents`: its nodes)."""
    getters = _held_getters(parents, imports)
    return [call for call in calls if _chooses_torch_class(call, imports, getters)] + [key for key in keys if keys_torch_namespace(key, imports)]


def _held_getters(parents: dict, imports: dict) -> dict:
    """The names (dotted) assigned an `operator.attrgetter(name)`, to what each is assigned
    (`pick = attrgetter(cfg.rnn)`, then `pick(nn)` reads the class)."""
    return {
        dotted(node.targets[0].target): node.value for node in parents
        if type(node) is cst.Assign and len(node.targets) == 1 and type(node.value) is cst.Call and len(node.value.args) == 1
        and qualify(node.value.func, imports, set()) == ATTRIBUTE_GETTER
    }


def returning_calls(modules: list, wrappers: dict, parents: dict) -> dict:
    """Per module key, the names (dotted) by which it calls a function of another of `modules`
    that returns a class of torch.nn picked by a name (`layers.rnn_class` after `import layers`, of
    `def rnn_class(name): return getattr(nn, name)`); `modules` are project.ModuleSources."""
    returning = {}
    for module in modules:
        imports = torch_names(wrappers[module.key].module, parents[module.key])
        calls = [node for node in parents[module.key] if type(node) is cst.Call]
        keys = [node for node in parents[module.key] if type(node) is cst.Subscript]
        returning[module.key] = _returning_calls_of(parents[module.key], {
            function.name.value for chooser in _choosers(calls, keys, imports, parents[module.key])
            for function in [_returning_function(chooser, parents[module.key])] if function is not None
        })
    return {
        module.key: frozenset(
            f"{local}.{name}" if member.name is None else local
            for local, member in [*module.imports.items(), *module.dotted_imports.items()] if member.key != module.key
            for name in returning.get(member.key, ()) if member.name in (None, name)
        )
        for module in modules
    }


def _returning_calls_of(parents: dict, names: set) -> set:
    """`names` (of functions of a module), and those of its functions that return a call of one
    (`def rnn_class(name): return _lookup(name)`), in turn."""
    while names:
        more = {
            function.name.value for node in parents
            if type(node) is cst.Return and type(node.value) is cst.Call and dotted(node.value.func) in names
            and (function := syntax.enclosing_function(parents, node)) is not None
        } - names
        if not more:
            break
        names = names | more
    return names


def _returning_function(chooser: cst.BaseExpression, parents: dict) -> Optional[cst.FunctionDef]:
    """The function `chooser` is returned by, itself (`def rnn_class(name): return getattr(nn, name)`)
    or by the local name it is assigned to (`cls = getattr(nn, name); return cls`), else None."""
    function = syntax.enclosing_function(parents, chooser)
    held = _assigned_to(chooser, parents)
    if function is None or not isinstance(parents.get(chooser), cst.Return) and not any(
        type(node) is cst.Return and isinstance(node.value, cst.Name) and node.value.value == held and syntax.enclosing_function(parents, node) is function
        for node in parents
    ):
        return None
    return function


def _is_method(function: cst.FunctionDef, parents: dict) -> bool:
    body = parents.get(function)
    return isinstance(body, cst.IndentedBlock) and isinstance(parents.get(body), cst.ClassDef)


def made_as_recurrent(made: cst.Call) -> bool:
    """Is a module made with the arguments of a recurrent one (`(input_size, hidden_size)`, or
    those keywords), not with fewer (an activation's `()`, a norm's `(dim)`)?"""
    keywords = {arg.keyword.value for arg in made.args if arg.keyword is not None}
    return len(made.args) >= RECURRENT_ARGUMENTS or bool(keywords & RECURRENT_KEYWORDS)


def _returned(made: cst.Call, parents: dict) -> bool:
    """Is `made` returned, itself or by the name it is assigned to (`rnn = ...; return rnn`)?"""
    if isinstance(parents.get(made), cst.Return):
        return True
    held = _assigned_to(made, parents)
    return held is not None and any(type(node) is cst.Return and node.value is not None and dotted(node.value) == held for node in parents)


def reads_torch_class(node: cst.Call, imports: dict) -> bool:
    """`getattr(nn, name)` of torch.nn (or the modules that define its classes), whatever the name."""
    return (
        isinstance(node.func, cst.Name) and node.func.value == NAMED_ATTRIBUTE_BUILTIN and len(node.args) >= 2
        and module_path(node.args[0].value, imports) in TORCH_RECURRENT_PATHS
    )


def picks_by_value(node: cst.BaseExpression, imports: dict, parents: dict) -> bool:
    """`getattr(nn, name)` of a name not written out, or `vars(nn)[key]`, of torch.nn (`parents`:
    the nodes where a getter may be held by a name, _held_getters)."""
    if type(node) is cst.Call:
        return _chooses_torch_class(node, imports, _held_getters(parents, imports) if type(node.func) is cst.Name else None)
    return type(node) is cst.Subscript and keys_torch_namespace(node, imports)


def _chooses_torch_class(node: cst.Call, imports: dict, getters: Optional[dict] = None) -> bool:
    """`getattr(nn, name)` of torch.nn with a name that is no string written out, or the same read
    as `nn.__getattribute__(name)`, `nn.__dict__.get(name)`, `vars(nn).get(name)`,
    `operator.attrgetter(name)(nn)` (or `pick(nn)` of a getter held by a name, `getters`: _held_getters)
    or `eval("nn." + name)` (`exec` too); `getattr(sys.modules[__name__], name)` of a module that
    imports a GRU class; or torch.nn's classes listed (`vars(nn).items()`, `inspect.getmembers(nn)`)."""
    if isinstance(node.func, cst.Attribute) and node.args and constant_string(node.args[0].value) is None:
        method, owner = node.func.attr.value, node.func.value
        if method in REGISTRY_LOOKUP_METHODS:
            return _torch_namespace(owner, imports)
        if method == ATTRIBUTE_READER:
            return module_path(owner, imports) in TORCH_RECURRENT_PATHS
    if isinstance(node.func, cst.Attribute) and node.func.attr.value in NAMESPACE_LISTINGS and not node.args:
        return _torch_namespace(node.func.value, imports)
    if isinstance(node.func, cst.Name) and node.func.value in EVALUATING_BUILTINS and node.args:
        return _text_names_torch_class(node.args[0].value, imports)
    getter = _getter_called(node, imports, getters or {})
    if getter is not None:
        base = module_path(node.args[0].value, imports)
        return base is not None and _text_names_torch_class(getter.args[0].value, imports, base)
    if qualify(node.func, imports, set()) == MEMBERS_FUNCTION and node.args:
        return module_path(node.args[0].value, imports) in TORCH_RECURRENT_PATHS
    if isinstance(node.func, cst.Name) and node.func.value == NAMED_ATTRIBUTE_BUILTIN and len(node.args) >= 2 and _own_namespace(node.args[0].value, imports):
        return _text_names_torch_class(node.args[1].value, imports)
    if _reduces_getattr(node, imports):  # `functools.reduce(getattr, ["nn", name], torch)`
        return chained_reads_of_torch(node, imports) is not None
    # a name written out that is the GRU's all the same (`getattr(nn, "\x47RU")`): the screen sees no construction
    return reads_torch_class(node, imports) and (constant_string(node.args[1].value) is None or constant_string(node.args[1].value) in GRU_NAMES)


def _reduces_getattr(node: cst.Call, imports: dict) -> bool:
    """`functools.reduce(getattr, [...], module)`: the attributes of a written list read in turn."""
    return (
        qualify(node.func, imports, set()) == ATTRIBUTE_CHAIN_READER and len(node.args) == 3 and dotted(node.args[0].value) == NAMED_ATTRIBUTE_BUILTIN
        and isinstance(node.args[1].value, (cst.List, cst.Tuple))
    )


def chained_reads_of_torch(node: cst.BaseExpression, imports: dict) -> Optional[list]:
    """The names (expressions) `functools.reduce(getattr, ["nn", name], torch)` reads in turn, when they
    may give a recurrent class of torch.nn; else None."""
    if type(node) is not cst.Call or not _reduces_getattr(node, imports):
        return None
    names = [element.value for element in node.args[1].value.elements]
    return names if path_may_name_recurrent(module_path(node.args[2].value, imports), [constant_string(name) for name in names]) else None


def torch_names(module: cst.Module, nodes) -> dict:
    """The module's imports (qualnames.module_imports), with the names set to torch or a module of
    torch.nn anywhere in it (`L = torch.nn`, `m = importlib.import_module("torch.nn")` or `m =
    sys.modules["torch.nn"]` in a function) and the recurrent classes a star import of torch.nn binds
    (`from torch.nn import *`, then `globals()[name]`): where a class of torch.nn may be picked by a
    name. `nodes`: the module's. Names set in different functions are not told apart: this reading
    finds where a class is picked; the migration reads imports by module_imports."""
    bound = dict(module_imports(module))
    for node in nodes:
        if type(node) is cst.ImportFrom and isinstance(node.names, cst.ImportStar) and node.module is not None and not node.relative:
            if dotted(node.module) in TORCH_RECURRENT_PATHS:
                bound.update((name, f"{dotted(node.module)}.{name}") for name in GRU_NAMES)
        elif type(node) is cst.Assign and len(node.targets) == 1 and type(node.targets[0].target) is cst.Name:
            path = alias_binding(node, bound).get(node.targets[0].target.value) or module_path(node.value, bound)
            if path == TORCH_ROOT or path in TORCH_RECURRENT_PATHS:
                bound.setdefault(node.targets[0].target.value, path)
    return bound


def getter_of_torch(node: cst.BaseExpression, imports: dict, parents: dict) -> Optional[cst.BaseExpression]:
    """The name (text) read by `node` when it is `operator.attrgetter(name)(nn)` of torch.nn, or
    `pick(nn)` of a getter held by a name (`parents`: the nodes where it may be), else None."""
    getter = _getter_called(node, imports, _held_getters(parents, imports) if type(node.func) is cst.Name else {}) if type(node) is cst.Call else None
    if getter is None or module_path(node.args[0].value, imports) not in TORCH_RECURRENT_PATHS:
        return None
    return getter.args[0].value


def _getter_called(node: cst.Call, imports: dict, getters: dict) -> Optional[cst.Call]:
    """The `operator.attrgetter(name)` that `node` calls with one argument, in place or held by a
    name (`getters`, _held_getters), else None."""
    getter = getters.get(node.func.value, node.func) if type(node.func) is cst.Name else node.func
    if type(getter) is cst.Call and qualify(getter.func, imports, set()) == ATTRIBUTE_GETTER and len(getter.args) == 1 and len(node.args) == 1:
        return getter
    return None


def _text_names_torch_class(text: cst.BaseExpression, imports: dict, base: Optional[str] = None) -> bool:
    """May the string `text`, read as a dotted name (under the module `base`, else under the names the
    module imports), name a recurrent class of torch.nn? Written out, when it names one (`"nn.GRUCell"`,
    not `"nn.Linear"`); else when the text it starts with is a module of torch.nn (`"nn." + name`), or
    it starts with a name not written out (`cfg.rnn`) that can be any of them. Code given to `exec` is
    read after its `=` (`f"Cell = nn.{name}"`)."""
    written = constant_string(text)
    spelled = (string_head(text) if written is None else written).rpartition("=")[2].strip()
    parts = [part for part in (spelled if written is not None else spelled.rpartition(".")[0]).split(".") if part]
    if base is None:
        if not parts:  # `eval(cfg.rnn)`: any name of the module
            return written is None and any(target.partition(".")[0] == TORCH_ROOT for target in imports.values())
        base, parts = imports.get(parts[0]), parts[1:]
    if base is None:
        return False
    path = ".".join([base, *parts])
    if written is not None:
        return path in RECURRENT
    return path in TORCH_RECURRENT_PATHS or not parts and any(known.startswith(f"{path}.") for known in TORCH_RECURRENT_PATHS)


def _own_namespace(owner: cst.BaseExpression, imports: dict) -> bool:
    """Is `owner` the module's own names (`globals()`, `vars()`, `sys.modules[__name__]`) in a module
    that imports a GRU class by its name (`from torch.nn import GRUCell, LSTMCell`)?"""
    own = (
        isinstance(owner, cst.Call) and isinstance(owner.func, cst.Name) and owner.func.value in NAMESPACE_BUILTINS and not owner.args
        or type(owner) is cst.Subscript and qualify(owner.value, imports, set()) == ".".join(LOADED_MODULES)
        and dotted(owner.slice[0].slice.value if isinstance(owner.slice[0].slice, cst.Index) else owner) == MODULE_NAME
    )
    return own and any(target in RECURRENT for target in imports.values())


def keys_torch_namespace(node: cst.Subscript, imports: dict) -> bool:
    """`vars(nn)[key]` or `nn.__dict__[key]` of torch.nn, whatever the key; `globals()[key]` of a
    module that imports a GRU class, where the key may name it."""
    if _own_namespace(node.value, imports):
        return len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) and _text_names_torch_class(node.slice[0].slice.value, imports)
    return _torch_namespace(node.value, imports)


def _torch_namespace(owner: cst.BaseExpression, imports: dict) -> bool:
    """Is `owner` the names of torch.nn as a dict, `vars(nn)` or `nn.__dict__`?"""
    if isinstance(owner, cst.Call) and isinstance(owner.func, cst.Name) and owner.func.value == NAMESPACE_OF_OBJECT and len(owner.args) == 1:
        owner = owner.args[0].value
    elif isinstance(owner, cst.Attribute) and owner.attr.value == ATTRIBUTE_DICT:
        owner = owner.value
    else:
        return False
    return module_path(owner, imports) in TORCH_RECURRENT_PATHS


def _constructions(chooser: cst.BaseExpression, calls: list, parents: dict, seen: frozenset = frozenset()) -> Iterator[cst.Call]:
    """The calls that make a module of the class chosen: of the `getattr` itself, of what carries it
    (`functools.partial(getattr(...), 4)`, `type("Cell", (getattr(...),), {})`, a table of classes,
    `{k: getattr(nn, k) for k in dir(nn)}`), of the name, attribute or class it is held by (`Cell =
    getattr(...)` then `Cell(4, 8)`; `class Cell(getattr(...))`; `TABLE[name](4, 8)`), or of a call of
    the function of the file that returns it (`rnn_class(cfg.rnn)(4, 8)`; `seen`: those functions
    and names)."""
    carrier = _carrier(chooser, parents)
    parent = parents.get(carrier)
    if isinstance(parent, cst.Call) and parent.func is carrier:
        yield parent
    for held in _holders(carrier, parents):
        if held in seen:
            continue
        yield from (call for call in calls if dotted(call.func) == held)
        for read in parents:  # `TABLE[name]`, `TABLE.get(name)`: a class of the table
            if type(read) in (cst.Subscript, cst.Call) and dotted(_table_of(read)) == held:
                yield from _constructions(read, calls, parents, seen | {held})
    function = _returning_function(chooser, parents)  # `def rnn_class(name): return getattr(nn, name)`, then `rnn_class(cfg.rnn)(4, 8)`
    if function is not None and function.name.value not in seen:
        # a method is called on `self` or `cls` (`self.rnn_class(cfg.rnn)(4, 8)`)
        names = {function.name.value} | ({f"{owner}.{function.name.value}" for owner in OWN_OBJECTS} if _is_method(function, parents) else set())
        for call in calls:
            if dotted(call.func) in names:
                yield from _constructions(call, calls, parents, seen | {function.name.value})


def _carrier(node: cst.CSTNode, parents: dict) -> cst.CSTNode:
    """The outermost expression around `node` that holds the class it gives, or a table of them:
    `node` itself, a display or comprehension that holds it, a call given it (`functools.partial`,
    `type`, `dict`), a listing of it (`vars(nn).items()`); a class statement that has it as a base."""
    while True:
        parent = parents.get(node)
        if isinstance(parent, (cst.Arg, cst.Element, cst.DictElement)) and not (isinstance(parent, cst.Arg) and parent.keyword is not None):
            node = parents.get(parent)
            if isinstance(node, cst.ClassDef):
                return node
        elif isinstance(parent, (cst.Tuple, cst.List, cst.Set, cst.Dict, cst.DictComp, cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            node = parent
        elif isinstance(parent, cst.CompFor):  # `for k, v in vars(nn).items()`: the comprehension around
            while isinstance(parent, (cst.CompFor, cst.CompIf)):
                parent = parents.get(parent)
            node = parent
        elif isinstance(parent, cst.Attribute) and parent.attr.value in NAMESPACE_LISTINGS and isinstance(parents.get(parent), cst.Call):
            node = parents[parent]
        else:
            return node


def _holders(carrier: cst.CSTNode, parents: dict) -> list:
    """The names (dotted) that hold what `carrier` gives: the name it is assigned to, a class
    statement's own name, or what code given to `exec` binds (`exec(f"Cell = nn.{name}")`: `Cell`;
    `exec(code, globals(), ns)`: the table `ns`)."""
    if isinstance(carrier, cst.ClassDef):
        return [carrier.name.value]
    held = [_assigned_to(carrier, parents)]
    if type(carrier) is cst.Call and isinstance(carrier.func, cst.Name) and carrier.func.value == EXEC_BUILTIN and carrier.args:
        bound = string_head(carrier.args[0].value).partition("=")
        held += [bound[0].strip() if bound[1] else None, *(dotted(arg.value) for arg in carrier.args[1:])]
    return [name for name in held if name]


def _table_of(read: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`TABLE` of `TABLE[key]` and of `TABLE.get(key)`, else None."""
    if type(read) is cst.Subscript:
        return read.value
    if isinstance(read.func, cst.Attribute) and read.func.attr.value in REGISTRY_LOOKUP_METHODS:
        return read.func.value
    return None


def _module_calls(made: cst.Call, calls: list, parents: dict) -> Iterator[cst.Call]:
    """The calls of the module `made` is assigned to (`self.rnn = Cell(4, 8)` then `self.rnn(x, h)`)."""
    held = _assigned_to(made, parents)
    if held is not None:
        yield from (call for call in calls if dotted(call.func) == held)


def _assigned_to(node: cst.CSTNode, parents: dict) -> Optional[str]:
    """The name or attribute (dotted) `node` is the whole value of, assigned by `=`."""
    parent = parents.get(node)
    if isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1:
        return dotted(parent.targets[0].target)
    return None


def _takes_state(call: cst.Call, parents: dict) -> bool:
    """Is the module given a state (a second positional argument, a hidden keyword), or does its
    result come back as (output, state) (`out, h = self.rnn(x)`)?"""
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    if len(positional) >= 2 or any(arg.keyword is not None and arg.keyword.value in HIDDEN_KEYWORDS for arg in call.args):
        return True
    parent = parents.get(call)
    return isinstance(parent, cst.Assign) and any(isinstance(target.target, (cst.Tuple, cst.List)) for target in parent.targets)
