"""A torch.nn class chosen by a name the engine does not read (`getattr(nn, cfg.rnn_type)(4, 8)`,
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
from gru2lstm.qualnames import dotted, module_imported_by, module_imports, qualify
from gru2lstm.syntax import constant_string
from gru2lstm.vocab import (
    ATTRIBUTE_DICT, ATTRIBUTE_READER, HIDDEN_KEYWORDS, NAMED_ATTRIBUTE_BUILTIN, NAMESPACE_OF_OBJECT, OWN_OBJECTS, RECURRENT_ARGUMENTS, RECURRENT_KEYWORDS, REGISTRY_LOOKUP_METHODS, TORCH_RECURRENT_PATHS,
)


def classes_chosen_by_value(wrapper, parents: dict, returning_elsewhere: frozenset = frozenset()) -> list:
    """The findings of the module `wrapper` wraps (one a `getattr` whose module takes a state).
    `returning_elsewhere`: the names (dotted) by which it calls another file's functions that
    return such a class (`layers.rnn_class`, returning_calls)."""
    imports = module_imports(wrapper.module)
    calls = [node for node in parents if type(node) is cst.Call]  # children.py: why `type`
    keys = [node for node in parents if type(node) is cst.Subscript]
    elsewhere = [call for call in calls if dotted(call.func) in returning_elsewhere]
    findings = []
    for chooser in _choosers(calls, keys, imports) + elsewhere:
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
        f"`{syntax.code_of(chooser)}` {picks} by a name the engine does not read, and {why}, so a GRU chosen "
        "there would stay a GRU: choose the LSTM where the name is chosen, or write the class out (`nn.GRU(...)`) to migrate it"
    )


def returned_choosers(function: cst.FunctionDef, parents: dict, imports: dict, seen: frozenset = frozenset()) -> list:
    """The `getattr(nn, name)` (or `vars(nn)[key]`) that `function` returns, itself, by a name, or
    by a call of another function of its module that returns one (`return _lookup(name)`; `seen`:
    those functions)."""
    nodes = list(syntax.walk(function.body))
    calls = [node for node in nodes if type(node) is cst.Call]
    keys = [node for node in nodes if type(node) is cst.Subscript]
    found = [chooser for chooser in _choosers(calls, keys, imports) if _returning_function(chooser, parents) is function]
    module = parents.get(function)
    while module is not None and type(module) is not cst.Module:
        module = parents.get(module)
    functions = {node.name.value: node for node in module.body if isinstance(node, cst.FunctionDef)} if module is not None else {}
    for node in nodes:
        name = dotted(node.value.func) if type(node) is cst.Return and type(node.value) is cst.Call else None
        if name in functions and name not in seen and syntax.enclosing_function(parents, node) is function:
            found += returned_choosers(functions[name], parents, imports, seen | {function.name.value})
    return found


def _choosers(calls: list, keys: list, imports: dict) -> list:
    """`getattr(nn, name)` and `vars(nn)[key]` of torch.nn in the module."""
    return [call for call in calls if _chooses_torch_class(call, imports)] + [key for key in keys if keys_torch_namespace(key, imports)]


def returning_calls(modules: list, wrappers: dict, parents: dict) -> dict:
    """Per module key, the names (dotted) by which it calls a function of another of `modules`
    that returns a class of torch.nn picked by a name (`layers.rnn_class` after `import layers`, of
    `def rnn_class(name): return getattr(nn, name)`); `modules` are project.ModuleSources."""
    returning = {}
    for module in modules:
        imports = module_imports(wrappers[module.key].module)
        calls = [node for node in parents[module.key] if type(node) is cst.Call]
        keys = [node for node in parents[module.key] if type(node) is cst.Subscript]
        returning[module.key] = _returning_calls_of(parents[module.key], {
            function.name.value for chooser in _choosers(calls, keys, imports)
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
        and (qualify(node.args[0].value, imports, set()) in TORCH_RECURRENT_PATHS or module_imported_by(node.args[0].value) in TORCH_RECURRENT_PATHS)
    )


def picks_by_value(node: cst.BaseExpression, imports: dict) -> bool:
    """`getattr(nn, name)` of a name not written out, or `vars(nn)[key]`, of torch.nn."""
    return _chooses_torch_class(node, imports) if type(node) is cst.Call else type(node) is cst.Subscript and keys_torch_namespace(node, imports)


def _chooses_torch_class(node: cst.Call, imports: dict) -> bool:
    """`getattr(nn, name)` of torch.nn with a name that is no string written out, or the same read
    as `nn.__getattribute__(name)`, `nn.__dict__.get(name)` or `vars(nn).get(name)`."""
    if isinstance(node.func, cst.Attribute) and node.args and constant_string(node.args[0].value) is None:
        method, owner = node.func.attr.value, node.func.value
        if method in REGISTRY_LOOKUP_METHODS:
            return _torch_namespace(owner, imports)
        if method == ATTRIBUTE_READER:
            return qualify(owner, imports, set()) in TORCH_RECURRENT_PATHS
    return reads_torch_class(node, imports) and constant_string(node.args[1].value) is None


def keys_torch_namespace(node: cst.Subscript, imports: dict) -> bool:
    """`vars(nn)[key]` or `nn.__dict__[key]` of torch.nn, whatever the key."""
    return _torch_namespace(node.value, imports)


def _torch_namespace(owner: cst.BaseExpression, imports: dict) -> bool:
    """Is `owner` the names of torch.nn as a dict, `vars(nn)` or `nn.__dict__`?"""
    if isinstance(owner, cst.Call) and isinstance(owner.func, cst.Name) and owner.func.value == NAMESPACE_OF_OBJECT and len(owner.args) == 1:
        owner = owner.args[0].value
    elif isinstance(owner, cst.Attribute) and owner.attr.value == ATTRIBUTE_DICT:
        owner = owner.value
    else:
        return False
    return qualify(owner, imports, set()) in TORCH_RECURRENT_PATHS


def _constructions(chooser: cst.BaseExpression, calls: list, parents: dict, seen: frozenset = frozenset()) -> Iterator[cst.Call]:
    """The calls that make a module of the class chosen: of the `getattr` itself, of the name or
    attribute it is assigned to (`Cell = getattr(...)` then `Cell(4, 8)`), or of a call of the
    function of the file that returns it (`rnn_class(cfg.rnn)(4, 8)`; `seen`: those functions)."""
    parent = parents.get(chooser)
    if isinstance(parent, cst.Call) and parent.func is chooser:
        yield parent
    held = _assigned_to(chooser, parents)
    if held is not None:
        yield from (call for call in calls if dotted(call.func) == held)
    function = _returning_function(chooser, parents)  # `def rnn_class(name): return getattr(nn, name)`, then `rnn_class(cfg.rnn)(4, 8)`
    if function is not None and function.name.value not in seen:
        # a method is called on `self` or `cls` (`self.rnn_class(cfg.rnn)(4, 8)`)
        names = {function.name.value} | ({f"{owner}.{function.name.value}" for owner in OWN_OBJECTS} if _is_method(function, parents) else set())
        for call in calls:
            if dotted(call.func) in names:
                yield from _constructions(call, calls, parents, seen | {function.name.value})


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
