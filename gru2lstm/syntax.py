"""Questions about LibCST syntax that need no analysis state: walking a tree, constant keys and
strings, the names a module binds at its top level. Pure functions of the nodes they are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import libcst as cst

from gru2lstm.children import children
from gru2lstm.qualnames import dotted, import_bindings
from gru2lstm.vocab import (
    CLASS_OF_OBJECT, DEFAULT_FACTORY_DICT, DICT_FUNCTION_NAMES, INSTANCE_TEST, KEEP_ATTRIBUTES, KEEP_METHODS, MODULE_SELF_METHODS, PAIR_KINDS, STRING_FORMAT_METHOD,
    TENSOR_CLASS_NAMES, WRAPPED_MODULE_ATTRIBUTE,
)


def walk(node: cst.CSTNode):
    """`node` and every node under it, in source order (a plain stack: no visitor machinery)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def attribute_root(node: cst.CSTNode) -> cst.CSTNode:
    """What an attribute chain starts from: `nn` of `nn.modules.GRU`, `self` of `self.core.gru`; any
    other node itself."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return node


_EMPTY_MODULE = cst.Module([])  # default formatting, for printing a node found in any module


def enclosing_function(parents: dict, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
    """The function whose own code `node` is, else None (code of a class body or of the module)."""
    current = parents.get(node)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Module)):
        current = parents.get(current)
    return current if isinstance(current, cst.FunctionDef) else None


def makes_dict(node: cst.CSTNode) -> bool:
    """`{k: v ...}`, `{k: v for ...}`, `dict(...)`, `defaultdict(...)`: iterated, a dict gives its keys."""
    if isinstance(node, cst.Call):
        name = dotted(node.func)
        return name is not None and name.rpartition(".")[2] in DICT_FUNCTION_NAMES
    return isinstance(node, (cst.Dict, cst.DictComp))


def code_of(node: cst.CSTNode) -> str:
    """The source of `node` alone, as LibCST prints it."""
    return _EMPTY_MODULE.code_for_node(node)


def child_expressions(small: cst.CSTNode):
    return [c for c in children(small) if isinstance(c, cst.BaseExpression)]


def is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def kinds_named(named: Optional[cst.BaseExpression]) -> tuple:
    """(the pair kinds, the tensor classes) a type test names, whose answer for a state changes
    once it is (h, c): `tuple` of `isinstance(h, tuple)`, both of `(tuple, list)`, `torch.Tensor`."""
    names = [element.value for element in named.elements] if isinstance(named, cst.Tuple) else [named]
    kinds = [name.value for name in names if isinstance(name, cst.Name) and name.value in PAIR_KINDS]
    tensors = [name for name in names if name is not None and (dotted(name) or "").rpartition(".")[2] in TENSOR_CLASS_NAMES]
    return kinds, tensors


@dataclass(frozen=True)
class TypeTest:
    """A test of the class of one expression: `isinstance(x, C)` (C one class or a tuple of them),
    `type(x) == C`, `type(x) is C`, `type(x) in (C, D)`, and the negations of the comparisons."""

    test: cst.BaseExpression  # what gives the answer: the call of isinstance, the comparison, or the `not` of one
    tested: cst.BaseExpression  # x
    named: Optional[cst.BaseExpression]  # C, or the tuple of classes (kinds_named reads it); None for `torch.is_tensor(x)`
    negated: bool  # `type(x) != C`, `is not`, `not in`, `not isinstance(x, C)`: true when x is not of C


# The operators that compare the class of `type(x)` with a class (`==`, `is`) or a tuple of them
# (`in`), each with whether it answers "not of it"; `<` and the rest order classes, which raises.
_CLASS_OPERATORS = {cst.Equal: False, cst.Is: False, cst.In: False, cst.NotEqual: True, cst.IsNot: True, cst.NotIn: True}


def type_test(node: Optional[cst.CSTNode]) -> Optional[TypeTest]:
    """The type test `node` is, else None (`isinstance(h, tuple)`, `type(h) is not torch.Tensor`,
    `not isinstance(h, tuple)`)."""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        inner = type_test(node.expression)
        return TypeTest(node, inner.tested, inner.named, not inner.negated) if inner is not None else None
    if isinstance(node, cst.Call):
        tested = _plain_arguments(node, INSTANCE_TEST, 2)
        return TypeTest(node, tested[0], tested[1], False) if tested else None
    if not (isinstance(node, cst.Comparison) and len(node.comparisons) == 1):
        return None
    compared = node.comparisons[0]
    negated = _CLASS_OPERATORS.get(type(compared.operator))
    tested = _plain_arguments(node.left, CLASS_OF_OBJECT, 1) if isinstance(node.left, cst.Call) else None
    if negated is None or not tested:
        return None
    if not isinstance(compared.operator, (cst.In, cst.NotIn)) and isinstance(compared.comparator, (cst.Tuple, cst.List)):
        return None  # a class is never equal to a tuple: `type(h) == (tuple, list)` is always false
    return TypeTest(node, tested[0], compared.comparator, negated)


def type_test_of(node: cst.CSTNode, parent_of: Callable) -> Optional[TypeTest]:
    """The type test of `node` itself (`h` of `isinstance(h, tuple)`, of `type(h) is tuple`), found
    through `parent_of`, which gives a node's parent; else None."""
    argument = parent_of(node)
    call = parent_of(argument) if isinstance(argument, cst.Arg) else None
    if not isinstance(call, cst.Call):
        return None
    found = type_test(call) or type_test(parent_of(call))
    return found if found is not None and found.tested is node else None


def _plain_arguments(call: cst.Call, function: str, count: int) -> list:
    """The `count` positional arguments of a call of the builtin `function`, else []."""
    if not (isinstance(call.func, cst.Name) and call.func.value == function and len(call.args) == count):
        return []
    return [] if any(arg.keyword is not None or arg.star for arg in call.args) else [arg.value for arg in call.args]


def rows_holder(target: cst.Subscript) -> cst.BaseExpression:
    """`S` of a write into rows `S[...] = V`, and of `S.data[...] = V` (the same storage, written
    without autograd: each half's `.data` is written, rules/kept.py)."""
    base = target.value
    return base.value if isinstance(base, cst.Attribute) and base.attr.value in KEEP_ATTRIBUTES else base


def is_none(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def constant_string(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def string_head(node: cst.BaseExpression) -> str:
    """The text a string expression is known to start with: all of a literal, the literal text before
    the first part computed (`"nn." + name`, `f"torch.nn.{name}"`, `"nn.{}".format(name)`), else ""."""
    while isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        node = node.left
    if isinstance(node, cst.FormattedString):
        return node.parts[0].value if node.parts and isinstance(node.parts[0], cst.FormattedStringText) else ""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == STRING_FORMAT_METHOD:
        return (constant_string(node.func.value) or "").partition("{")[0]
    return constant_string(node) or ""


def literal_strings(node: cst.BaseExpression) -> Optional[set]:
    """The strings of a literal tuple, list or set of them (`("obs", "act")`); else None."""
    if not isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return None
    strings = [constant_string(element.value) for element in node.elements]
    return None if None in strings else set(strings)


def is_line(statement: cst.CSTNode) -> bool:
    """Is `statement` a line of small statements, on its own or after a colon (`if done: h = h * 0`)?
    Lines written for one after a colon go in an indented block of their own (apply.py)."""
    return isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite))


def compared_parts(node: cst.Comparison) -> tuple:
    """What a comparison compares, from left to right (`a < b <= c`: a, b, c)."""
    return (node.left, *(target.comparator for target in node.comparisons))


def slice_expression(element: cst.SubscriptElement) -> cst.BaseExpression:
    return element.slice.value if isinstance(element.slice, cst.Index) else cst.Name("None")


def slice_bounds(node: cst.Subscript) -> list:
    """The expressions a subscript evaluates: each index, and each bound of a slice (`a[i, j:k]`)."""
    found = []
    for element in node.slice:
        part = element.slice
        found += [part.value] if isinstance(part, cst.Index) else [b for b in (part.lower, part.upper, part.step) if b is not None]
    return found


def string_key(node: cst.Subscript) -> Optional[str]:
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return constant_string(node.slice[0].slice.value)
    return None


def variable_key(node: cst.Subscript) -> bool:
    """Is `node` indexed by one name (`p[k]`), a key that may be any key of a dict?"""
    return len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) and isinstance(node.slice[0].slice.value, cst.Name)


def is_slice(node: cst.Subscript) -> bool:
    """`a[i:j]`: one slice, which of a list is a list of its elements."""
    return len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice)


def int_key(node: cst.Subscript) -> Optional[int]:
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        value = node.slice[0].slice.value
        if isinstance(value, cst.Integer):
            return int(value.value)
    return None


def constructor_call(node: cst.BaseExpression) -> Optional[cst.Call]:
    """`Net(...)` in `Net(...).to(device).eval()`: module methods like .to() return the module itself."""
    while (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in KEEP_METHODS | MODULE_SELF_METHODS
    ):
        node = node.func.value
    return node if isinstance(node, cst.Call) else None

def module_level_names(module: cst.Module) -> set:
    """Names the module binds at its top level (classes, functions, assignments, imports), also
    inside top-level `if`/`for`/`while`/`with`/`try` blocks such as `if __name__ == "__main__":`."""
    names = set()
    pending = list(module.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            names.add(statement.name.value)
        elif isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in statement.body:
                targets = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets = [small.target]
                for target in targets:
                    names.update(n.value for n in walk(target) if isinstance(n, cst.Name))
                names.update(import_bindings(small))
                names.update(_walrus_names(small))
        elif isinstance(statement, cst.BaseCompoundStatement):
            names.update(name for part in children(statement) if isinstance(part, cst.BaseExpression) for name in _walrus_names(part))
            if isinstance(statement, cst.For):
                names.update(n.value for n in walk(statement.target) if isinstance(n, cst.Name))
            if isinstance(statement, cst.With):
                for item in statement.items:
                    if item.asname is not None:
                        names.update(n.value for n in walk(item.asname.name) if isinstance(n, cst.Name))
            pending.extend(block_statements(statement))
    return names


def _walrus_names(node: cst.CSTNode) -> set:
    """The names an assignment expression in `node` binds (`cell` of `if (cell := make()) is not None:`)."""
    return {n.target.value for n in walk(node) if isinstance(n, cst.NamedExpr) and isinstance(n.target, cst.Name)}


def block_statements(node: cst.CSTNode) -> list:
    """The statements directly inside a compound statement's blocks (if/elif/else, try/except, …)."""
    statements = []
    for part in children(node):
        if isinstance(part, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            statements.extend(part.body if isinstance(part, cst.IndentedBlock) else [part])
        elif not isinstance(part, cst.BaseExpression):
            statements.extend(block_statements(part))
    return statements


def names_bound_in(function: cst.FunctionDef) -> set:
    """The names a function binds anywhere inside it (its parameters, and the names it assigns,
    loops over, imports or defines, in nested code too)."""
    bound = set()
    for node in walk(function):
        if node is not function:
            bound |= _names_bound_by(node)
    return bound


def _names_bound_by(node: cst.CSTNode) -> set:
    """The names one node binds in the scope it is in (a parameter, an assignment's or loop's
    target, a definition, an import)."""
    if isinstance(node, cst.Param):
        return {node.name.value}
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        return {node.name.value}
    if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.CompFor, cst.NamedExpr)):
        return _target_names(node.target)
    if isinstance(node, cst.AsName):
        return _target_names(node.name)
    if isinstance(node, cst.ImportAlias) and node.asname is None:
        return {code_of(node.name).split(".")[0]}
    return set()


_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


def free_reads(scope: cst.CSTNode) -> list:
    """The Name nodes under `scope` (a nested function, a lambda, a comprehension, any expression)
    that read a name from around it, in source order, by Python's scoping: a name bound in the
    scope it is read in (a function's parameters and locals, a lambda's parameters, a
    comprehension's targets) is not one, wherever else it is bound; nor are attribute names,
    keywords, parameters and definitions."""
    bound, spelled, reads = set(), set(), []
    stack = [scope]
    while stack:
        node = stack.pop()
        if node is not scope and isinstance(node, _SCOPES):
            reads.extend(free_reads(node))  # what it reads from around it, unless this scope binds it (below)
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                bound.add(node.name.value)
            continue
        if node is not scope:  # a function's or a class's own name is bound around it
            bound |= _names_bound_by(node)
        if isinstance(node, cst.Name):
            reads.append(node)
        elif isinstance(node, cst.Attribute):
            spelled.add(id(node.attr))
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            spelled.add(id(node.keyword))
        elif isinstance(node, (cst.Param, cst.FunctionDef, cst.ClassDef)):
            spelled.add(id(node.name))
        elif isinstance(node, (cst.ImportAlias, cst.ImportFrom)):
            spelled |= {id(inner) for inner in walk(node)}
        stack.extend(reversed(children(node)))
    return [name for name in reads if id(name) not in spelled and name.value not in bound]


def _target_names(target: cst.BaseExpression) -> set:
    """The names an assignment target binds (`a, (b, *c)`), not the objects it stores into (`x.a`, `d[k]`)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return set().union(*(_target_names(element.value) for element in target.elements))
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


def mapped_lambda(node: cst.Call) -> Optional[cst.Lambda]:
    """The lambda of `map(lambda x: E, xs)` (or `map(lambda a, b: E, xs, ys)`) that takes one plain
    parameter per iterable, with no starred or keyword argument anywhere; None for any other call."""
    if len(node.args) < 2 or any(arg.star or arg.keyword is not None for arg in node.args):
        return None
    function = node.args[0].value
    if not isinstance(function, cst.Lambda):
        return None
    params = function.params
    plain = not params.posonly_params and not params.kwonly_params and params.star_kwarg is None
    plain = plain and not isinstance(params.star_arg, cst.Param) and all(param.default is None for param in params.params)
    return function if plain and len(params.params) == len(node.args) - 1 else None


def wrapped_module(call: cst.Call) -> Optional[cst.BaseExpression]:
    """The module a wrapper call wraps (vocab.MODULE_WRAPPERS): its first positional argument, or `module=`."""
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None or arg.keyword.value == WRAPPED_MODULE_ATTRIBUTE:
            return arg.value
    return None


def is_default_factory(spelled: str, arg: cst.Arg, args) -> bool:
    """Is `arg` the factory of `defaultdict(F)` (its first positional argument), which makes each
    element on first use?"""
    return spelled.rpartition(".")[2] == DEFAULT_FACTORY_DICT and arg is args[0] and arg.keyword is None and not arg.star


def plain_lambda(node: cst.BaseExpression) -> Optional[cst.Lambda]:
    """`lambda: E`, a lambda without parameters (a factory, called with none); None for anything else."""
    if not isinstance(node, cst.Lambda):
        return None
    params = node.params
    if params.params or params.posonly_params or params.kwonly_params or params.star_kwarg is not None:
        return None
    return node if params.star_arg is cst.MaybeSentinel.DEFAULT else None


def zipped_pairs(args) -> bool:
    """Is the only argument `zip(keys, values)` (two plain iterables)?"""
    if len(args) != 1 or args[0].keyword is not None or args[0].star or not isinstance(args[0].value, cst.Call):
        return False
    call = args[0].value
    plain = len(call.args) == 2 and all(a.keyword is None and not a.star for a in call.args)
    return plain and isinstance(call.func, cst.Name) and call.func.value == "zip"


def pattern_parts(pattern: cst.MatchPattern) -> tuple:
    """(the names a `match` pattern captures, the expressions it compares with): `case (h, n):`
    captures h and n; `case Mode.EVAL | None:` compares with `Mode.EVAL`."""
    captured, compared = [], []
    for node in walk(pattern):
        if isinstance(node, (cst.MatchAs, cst.MatchStar)) and node.name is not None:
            captured.append(node.name)
        elif isinstance(node, cst.MatchMapping) and node.rest is not None:
            captured.append(node.rest)
        elif isinstance(node, cst.MatchValue):
            compared.append(node.value)
        elif isinstance(node, cst.MatchMappingElement):
            compared.append(node.key)
        elif isinstance(node, cst.MatchClass):
            compared.append(node.cls)
    return captured, compared
