"""Cheap checks that skip files which cannot hold a torch.nn GRU, before LibCST is paid for.

1. A byte search: a file without the bytes ``GRU`` cannot construct or mention ``nn.GRU`` /
   ``nn.GRUCell`` (most files stop here); nor can one where ``GRU`` / ``GRUCell`` is never followed
   by a call's ``(`` or an import's ``as`` (only spaces, line continuations and comments may come
   between), such as a file that re-exports the class or tests ``isinstance(m, nn.GRU)``.
2. For files that mention GRU, a stdlib ``ast`` pass (roughly ten times cheaper than a LibCST
   parse, and far cheaper than LibCST's scope and qualified-name metadata) that resolves import
   aliases and looks for a *construction* that can be torch's: a call ``torch.nn.GRU(...)``,
   ``nn.GRUCell(...)`` after ``from torch import nn`` / ``import torch.nn as nn``, and so on, or the
   name a ``from torch.nn import GRU [as X]`` / ``from torch.nn import *`` binds, called; or
   ``X.GRU(...)`` with ``X`` imported from another module, which may bind it to torch
   (``from util import nn``; project.py looks, and the engine refuses it at the GRU).
   Mentions in comments and strings, classes of the file's own that happen to be called GRU, and
   references that construct nothing (``isinstance(m, nn.GRU)``, mapping tables keyed by
   ``nn.GRU``) do not pass: the engine migrates a file only when it constructs a torch GRU.
3. A file that holds the GRU class itself as a value passes too (``RNN = nn.GRU``, ``class
   Core(nn.GRU)``, ``CELLS = {"gru": nn.GRU}``, ``getattr(nn, "GRU")``, ``from torch.nn import
   GRU``): another file may construct through the name it binds (``from layers import RNN;
   RNN(4, 8)``) without ever spelling ``GRU(``. Such a file starts a group (project.py), and the
   names it binds to the class (`gru_class_names`) bring in the files that use them, so the engine
   sees the construction (and says where it cannot follow it). Its bytes are searched first
   (vocab.GRU_CLASS_VALUE_BYTES): a bare mention in prose does not cost a parse. The engine defers
   even that parse (`screen(data, defer_holders=True)`): a file whose bytes hold no construction
   can only pass by step 3, and it matters only to a group that may import it, so project.py parses
   it when one does (a big library holds the class in many files no group imports).

A file that reads a class of torch.nn by a name not written out (``getattr(nn, cfg.rnn_type)``,
bytes vocab.CLASS_BY_VALUE_BYTES, then ``ast``: `chooses_class_by_value`) passes none of the steps:
it constructs no GRU the engine can see. It is no group seed (its imports are never closed over);
the engine looks at it alone, when no group holds it, and says where a module made from such a
class takes a state (classes_by_value.py).

The filter must never reject a file the engine would change (tests/test_prefilter.py runs the
engine on every rejection), so it errs towards passing: any call of an attribute chain rooted in
an import of ``torch`` that ends in ``GRU`` / ``GRUCell`` passes, whatever the middle of the path,
and a file that ``ast`` cannot parse passes (so the engine can report where). If the engine ever
migrates GRUs that are not constructed by such a call or a name bound as in step 3, this must widen.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left
from dataclasses import dataclass
from itertools import takewhile
from typing import Optional

from gru2lstm.imports import STAR, imported_names, literal_import_statement, literal_text, module_imported_by, module_statements
from gru2lstm.tree_nodes import nodes_of
from gru2lstm.vocab import (
    ATTRIBUTE_CHAIN_READER, ATTRIBUTE_DICT, ATTRIBUTE_GETTER, ATTRIBUTE_READER, CLASS_BY_TEXT_BYTES, CLASS_BY_VALUE_BYTES, EVALUATING_BUILTINS, GRU_CLASS_VALUE_BYTES, LOADED_MODULES, MEMBERS_FUNCTION,
    MODULE_NAME, NAME_READ_BYTES, NAME_READ_NEEDLES, NAMESPACE_READ_BYTES, OWN_NAMES_BYTES, NAMESPACE_BUILTINS, NAMESPACE_LISTINGS, TORCH_IMPORT_BYTES, TORCH_IMPORTED_BYTES, IMPORT_LIST_NOISE_BYTES, TORCH_ALIAS_SET_BYTES, TORCH_ARGUMENT_BYTES, GETTER_BYTES, GRU_CONSTRUCTION_BYTES, GRU_NAMES, GRU_NEEDLE, GRU_SUBCLASS_BYTES, HELD_CLASS_CALL_BYTES, HELD_CLASS_NAME_BYTES, HELD_CLASS_PASSED_BYTES, SETATTR_BUILTIN,
    NAMED_ATTRIBUTE_BUILTIN, NAMESPACE_OF_OBJECT, RECURRENT, REGISTRY_LOOKUP_METHODS, RETURNED_CLASS_BYTES, STAR_IMPORT_BYTES, TORCH_STAR_IMPORT_BYTES, TORCH_NN_MODULE, TORCH_RECURRENT_PATHS, TORCH_ROOT, TYPE_TESTS,
)

_CONSTRUCTION = re.compile(GRU_CONSTRUCTION_BYTES)
_HELD_NAME = re.compile(HELD_CLASS_NAME_BYTES)
_CLASS_VALUE = re.compile(GRU_CLASS_VALUE_BYTES)
_SUBCLASS = re.compile(GRU_SUBCLASS_BYTES)
_CLASS_BY_NAME = [(needle, re.compile(pattern)) for needle, pattern in CLASS_BY_VALUE_BYTES + CLASS_BY_TEXT_BYTES]
_OWN_NAMES = [re.compile(pattern) for pattern in OWN_NAMES_BYTES]
_TORCH_IMPORTS = [re.compile(pattern) for pattern in TORCH_IMPORT_BYTES]
_TORCH_IMPORTED = [re.compile(pattern) for pattern in TORCH_IMPORTED_BYTES]
_IMPORT_LIST_NOISE = re.compile(IMPORT_LIST_NOISE_BYTES)
_GETTER = re.compile(GETTER_BYTES)
_TORCH_ARGUMENT = re.compile(TORCH_ARGUMENT_BYTES)
_NAME_READS = [(needle, re.compile(pattern)) for needle, pattern in NAME_READ_BYTES]
_NAMESPACE_READ, _NAMESPACE_OWNER = (re.compile(pattern) for pattern in NAMESPACE_READ_BYTES)
_RETURNED_CLASS = re.compile(RETURNED_CLASS_BYTES)
_TORCH_STAR_IMPORT = re.compile(TORCH_STAR_IMPORT_BYTES)

__all__ = ["Screening", "chooses_class_by_value", "path_may_name_recurrent", "functions_returning_class_by_value", "registry_read", "gru_class_names", "torch_names_bound", "holds_gru_class", "makes_from_held_class", "may_hold_gru", "may_name_gru_class", "mentions_gru", "names_bound_in_code", "names_gru", "references_torch_gru", "screen", "subclasses_torch_gru", "tree_choosing_class_by_value"]


def mentions_gru(data: bytes) -> bool:
    """Step 1: the byte search (for a construction, or the class as a value)."""
    return GRU_NEEDLE in data and (_CONSTRUCTION.search(data) is not None or _CLASS_VALUE.search(data) is not None)


@dataclass(frozen=True)
class Screening:
    """What the prefilter found in a file; its parse is kept so that grouping (project.py) does not
    parse the file again."""

    may_hold_gru: bool
    parsed: bool = False  # an `ast` parse was made (the bytes mention GRU)
    tree: Optional[ast.Module] = None  # its tree, when the file parses
    # It passes only for holding the class as a value (step 3): it matters to a group that
    # constructs a GRU, and alone the engine has nothing to migrate in it (Project.groups).
    # Unparsed (deferred), it only may hold the class: project.py looks when a group may import it.
    class_only: bool = False


def may_hold_gru(data: bytes) -> bool:
    """True when the file may construct or reference torch.nn.GRU / GRUCell."""
    return screen(data).may_hold_gru


def screen(data: bytes, defer_holders: bool = False) -> Screening:
    """The steps on one file's bytes. `defer_holders`: a file that can only pass by step 3 (no
    construction in its bytes) passes unparsed, as class-only."""
    if not mentions_gru(data):
        return Screening(False)
    if defer_holders and _CONSTRUCTION.search(data) is None and _SUBCLASS.search(data) is None and not _may_make_from_held(data):
        return Screening(True, class_only=True)
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return Screening(True, parsed=True)  # let the engine say precisely what is wrong
    if references_torch_gru(tree) or subclasses_torch_gru(tree):
        return Screening(True, parsed=True, tree=tree)
    holds = holds_gru_class(tree)
    return Screening(holds, parsed=True, tree=tree, class_only=holds and not (_may_make_from_held(data) and makes_from_held_class(tree)))


def chooses_class_by_value(data: bytes, tree: Optional[ast.Module] = None) -> bool:
    """Does the file read a class of torch.nn by a name not written out (`getattr(nn,
    cfg.rnn_type)`), or by a key of its namespace (`vars(nn)[cfg.rnn]`, `nn.__dict__["GRUCell"]`)?
    It may be a GRU. `tree`: the file's parse, when the screen made one."""
    return tree_choosing_class_by_value(data, tree) is not None


def tree_choosing_class_by_value(data: bytes, tree: Optional[ast.Module] = None) -> Optional[ast.Module]:
    """The file's parse when it chooses a class of torch.nn by a name (`chooses_class_by_value`), else
    None: the engine looks at such a file alone, and grouping reads its tree (kept: not parsed again)."""
    needles = {needle for needle in NAME_READ_NEEDLES if needle in data}
    if (
        not any(pattern.search(data) for pattern in _searched(_CLASS_BY_NAME, needles)) and not _reads_torch_alias(data, needles)
        and not _applies_getter_to_torch(data)
        and (GRU_NEEDLE not in data and not _imports_torch_nn_star(data) or not any(pattern.search(data) for pattern in _OWN_NAMES))
    ):
        return None
    if tree is None:
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None  # a file that does not parse holds no class the engine could name
    names = _TorchNames(tree)
    getters = _held_getters(tree)
    return tree if any(_picks_by_value(node, names, getters) for node in nodes_of(tree).of(ast.Call, ast.Subscript, ast.Attribute)) else None


def _imports_torch_nn_star(data: bytes) -> bool:
    """Bytes only: `from torch.nn import *` (the literal `import *` first: most files have none)."""
    return STAR_IMPORT_BYTES in data and _TORCH_STAR_IMPORT.search(data) is not None


def _held_getters(tree: ast.Module) -> frozenset:
    """The names assigned an `attrgetter(...)` (`pick = attrgetter(cfg.rnn)`, then `pick(nn)`)."""
    getter = ATTRIBUTE_GETTER.rpartition(".")[2]
    return frozenset(
        node.targets[0].id for node in nodes_of(tree).of(ast.Assign)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call) and _called_name(node.value.func) == getter
    )


def _searched(patterns: list, needles: set) -> list:
    """The compiled patterns of (needle, pattern) pairs (vocab.CLASS_BY_VALUE_BYTES) that a file whose
    bytes spell `needles` of vocab.NAME_READ_NEEDLES may match: those whose needle it spells, or that
    have none."""
    return [pattern for needle, pattern in patterns if needle is None or needle in needles]


def _reads_torch_alias(data: bytes, needles: set) -> bool:
    """Bytes only: a `getattr`, `vars`, `__dict__`, `__getattribute__` or `getmembers` of a name bound
    under torch (`getattr(rnn_mod, name)` after `import torch.nn.modules.rnn as rnn_mod`)? `needles`:
    those of vocab.NAME_READ_NEEDLES the bytes spell."""
    if not needles:
        return False
    names = {name for pattern in _searched(_NAME_READS, needles) for name in pattern.findall(data)}
    names.update(owner.group(1) for match in _NAMESPACE_READ.finditer(data) for owner in [_NAMESPACE_OWNER.search(data, max(0, match.start() - 64), match.start())] if owner)
    return _bound_under_torch(data, names)


def _applies_getter_to_torch(data: bytes) -> bool:
    """Bytes only: an `attrgetter(` in a file that calls something on torch or torch.nn alone
    (`attrgetter(cfg.rnn)(nn)`, `pick(torch.nn)`)?"""
    if _GETTER.search(data) is None:
        return False
    applied = set(_TORCH_ARGUMENT.findall(data))
    return b"torch" in applied or _bound_under_torch(data, applied)


def _bound_under_torch(data: bytes, names: set) -> bool:
    """Bytes only: is one of `names` bound to torch or a module of torch.nn (vocab.TORCH_IMPORT_BYTES,
    TORCH_ALIAS_SET_BYTES)?"""
    if not names:
        return False
    bound = set()
    for statement, imported in zip(_TORCH_IMPORTS, _TORCH_IMPORTED):
        for match in statement.finditer(data):
            for item in _IMPORT_LIST_NOISE.sub(b" ", match.group(1)).split(b","):
                named = imported.fullmatch(item.strip())
                bound.update(name for name in (named.groups() if named is not None else ()) if name)
    value, target = TORCH_ALIAS_SET_BYTES
    while not names & bound:  # and the names set to one (`T = torch`, then `L = T.nn`)
        spelled = b"|".join(re.escape(name) for name in sorted(bound | {TORCH_ROOT.encode()}))
        setting = re.compile(value % (spelled, spelled, spelled))
        more = {
            found.group(1) for match in setting.finditer(data)
            for found in [re.search(target, data[max(0, match.start() - 64):match.start()])] if found
        } - bound
        if not more:
            return False
        bound |= more
    return True


def functions_returning_class_by_value(tree: ast.Module) -> set:
    """The module-level functions that return a class of torch.nn picked by a name not written out
    (`def rnn_class(name): return getattr(nn, name)`): a module made from a call of one in another
    file (`layers.rnn_class(cfg.rnn)(4, 8)`) may be a GRU, which only that file shows."""
    names = _TorchNames(tree)
    functions = [statement for statement in module_statements(tree) if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))]
    found = {function.name for function in functions if _returns_class(function, lambda node: _picks_by_value(node, names))}
    while found:  # and those that return a call of one (`def rnn_class(name): return _lookup(name)`)
        more = {
            function.name for function in functions if function.name not in found
            and _returns_class(function, lambda node: isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in found)
        }
        if not more:
            break
        found |= more
    return found


def _picks_by_value(node: ast.AST, names: "_TorchNames", getters: frozenset = frozenset()) -> bool:
    """`getattr(nn, cfg.rnn)`, `vars(nn)[key]` or `nn.__dict__[key]` of torch.nn (chooses_class_by_value);
    in a file that imports torch, a name read in a way classes_by_value.py reads precisely (`eval(...)`,
    `operator.attrgetter(name)(nn)`, `sys.modules`, `inspect.getmembers(nn)`)."""
    if (names.aliases or names.star_modules) and _reads_by_text(node, names, getters):
        return True
    if isinstance(node, ast.Subscript):
        return names.path(_namespace_owner(node.value)) in TORCH_RECURRENT_PATHS
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in NAMESPACE_LISTINGS:  # `vars(nn).items()`
        return names.path(_namespace_owner(node.func.value)) in TORCH_RECURRENT_PATHS
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args and not isinstance(node.args[0], ast.Constant):
        if node.func.attr in REGISTRY_LOOKUP_METHODS:  # `nn.__dict__.get(name)`, `vars(nn).get(name)`
            return names.path(_namespace_owner(node.func.value)) in TORCH_RECURRENT_PATHS
        if node.func.attr == ATTRIBUTE_READER:  # `nn.__getattribute__(name)`
            return names.path(node.func.value) in TORCH_RECURRENT_PATHS
    if _reduces_getattr(node):  # `functools.reduce(getattr, ["nn", name], torch)`
        return path_may_name_recurrent(names.path(node.args[2]) or _module_in_place(node.args[2]), [literal_text(part) for part in node.args[1].elts])
    # a name written out that is the GRU's all the same (`getattr(nn, "GR" "U")`, `"\x47RU"`: the screen
    # does not see the bytes `GRU`, nor a call of it as a construction)
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == NAMED_ATTRIBUTE_BUILTIN and len(node.args) >= 2
        and (names.path(node.args[0]) in TORCH_RECURRENT_PATHS or _module_in_place(node.args[0]) in TORCH_RECURRENT_PATHS)
        and (not isinstance(node.args[1], ast.Constant) or node.args[1].value in GRU_NAMES)
    )


def _reduces_getattr(node: ast.AST) -> bool:
    """`functools.reduce(getattr, [...], module)`: the attributes of a written list read in turn."""
    return (
        isinstance(node, ast.Call) and _called_name(node.func) == ATTRIBUTE_CHAIN_READER.rpartition(".")[2] and len(node.args) == 3
        and isinstance(node.args[0], ast.Name) and node.args[0].id == NAMED_ATTRIBUTE_BUILTIN and isinstance(node.args[1], (ast.List, ast.Tuple))
    )


def path_may_name_recurrent(base: Optional[str], parts: list) -> bool:
    """May the attributes `parts` (None: a name not written out), read in turn from the module `base`,
    give a recurrent class of torch.nn? Written out, when they name one; else when those before the
    first not written out reach torch.nn (or a module on the way to it)."""
    if base is None:
        return False
    written = list(takewhile(lambda part: part is not None, parts))
    path = ".".join([base, *written])
    if len(written) == len(parts):
        return path in RECURRENT
    return path in TORCH_RECURRENT_PATHS or any(known.startswith(f"{path}.") for known in TORCH_RECURRENT_PATHS)


def _reads_by_text(node: ast.AST, names: "_TorchNames", getters: frozenset = frozenset()) -> bool:
    """`eval`/`exec` of a text that spells `nn.`, `attrgetter(...)(<torch>)` (or `pick(<torch>)` of
    a name in `getters`, assigned one), `getmembers(<torch.nn>)`,
    the module's own names (`globals()`, `sys.modules[__name__]`) where it imports a GRU class, or
    a `getattr` of torch imported in place (`getattr(__import__("torch").nn, name)`): what
    classes_by_value.py reads precisely."""
    if not isinstance(node, ast.Call):
        return False
    called = [_called_name(node.func)] + ([_called_name(node.func.func)] if isinstance(node.func, ast.Call) else [])
    if called[0] in EVALUATING_BUILTINS and node.args:
        return "nn." in ast.unparse(node.args[0])
    if (called[1:] == [ATTRIBUTE_GETTER.rpartition(".")[2]] or isinstance(node.func, ast.Name) and node.func.id in getters) and len(node.args) == 1:
        return _is_torch(names.path(node.args[0]) or "")
    if called[0] == MEMBERS_FUNCTION.rpartition(".")[2] and node.args:
        return names.path(node.args[0]) in TORCH_RECURRENT_PATHS
    owner = node.args[0] if called[0] == NAMED_ATTRIBUTE_BUILTIN and node.args else node.func.value if isinstance(node.func, ast.Subscript) else None
    own = isinstance(owner, ast.Subscript) and isinstance(owner.slice, ast.Name) and owner.slice.id == MODULE_NAME or (
        isinstance(owner, ast.Call) and _called_name(owner.func) in NAMESPACE_BUILTINS and not owner.args
    )
    if own:  # `from torch.nn import GRUCell`, or `from torch.nn import *`, which binds it too
        return any(target in RECURRENT for target in names.aliases.values()) or any(module in TORCH_RECURRENT_PATHS for module in names.star_modules)
    return owner is not None and _is_torch(_module_in_place(owner) or "")


def _called_name(func: ast.expr) -> Optional[str]:
    """`f` of `f(...)` and of `m.f(...)`."""
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _namespace_owner(node: ast.expr) -> Optional[ast.expr]:
    """`nn` of `vars(nn)` or `nn.__dict__`, else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == NAMESPACE_OF_OBJECT and len(node.args) == 1:
        return node.args[0]
    return node.value if isinstance(node, ast.Attribute) and node.attr == ATTRIBUTE_DICT else None


def _may_make_from_held(data: bytes) -> bool:
    """Bytes only: may the file call what it binds to the GRU class (makes_from_held_class)?"""
    if _RETURNED_CLASS.search(data) is not None:
        return True  # `def cell_class(): return nn.GRUCell`: its calls are read in the tree
    names = {name for match in _HELD_NAME.finditer(data) for name in match.groups() if name}
    if not names:
        return False
    spelled = rb"(?:" + b"|".join(re.escape(name) for name in sorted(names)) + rb")\b"
    return re.search(rb"(?<!\w)" + spelled + HELD_CLASS_CALL_BYTES, data) is not None or re.search(HELD_CLASS_PASSED_BYTES + spelled, data) is not None


def makes_from_held_class(tree: ast.Module) -> bool:
    """Does the file call a name it binds to the GRU class (`RNN(4, 8)` after `RNN = nn.GRU`,
    `RNNs[name](...)` after `RNNs = {"lstm": nn.LSTM, "gru": nn.GRU}`, `self.Cell(4, 8)` after a class's
    `Cell = nn.GRUCell`)? It makes a GRU of its own, which the engine must see (and report where it
    cannot follow it) though no group imports it. A name a `for`, a `with`, a parameter's default
    or an assignment in a function binds to the class counts too (`for Cell in (nn.GRUCell,)`, `def
    make(cls=nn.GRU)`), and so does the parameter of a function of the file such a name is passed to
    (`build(CELLS)` of `def build(table): return table["gru"](4, 8)`)."""
    names = gru_class_names(tree, class_bodies=True) | names_bound_in_code(tree)
    calls = nodes_of(tree).of(ast.Call)
    names |= _parameters_given(tree, calls, names)
    for call in calls:
        func = registry_read(call.func)
        if isinstance(func, ast.Name) and func.id in names or isinstance(func, ast.Attribute) and func.attr in names:
            return True
    return False


def registry_read(func: ast.expr) -> ast.expr:
    """What a call's `func` reads a class from: `R` of `R["gru"]` and of `R.get("gru")`, `make` of
    `make()` (a function that returns it), else `func` itself."""
    if isinstance(func, ast.Subscript):
        return func.value
    if isinstance(func, ast.Call) and isinstance(func.func, ast.Attribute) and func.func.attr in REGISTRY_LOOKUP_METHODS:
        return func.func.value
    return func.func if isinstance(func, ast.Call) else func


def _parameters_given(tree: ast.Module, calls: list, names: set) -> set:
    """The parameters of the file's functions that a call of theirs gives one of `names` (by
    position or keyword)."""
    functions = {function.name: function.args for function in nodes_of(tree).of(ast.FunctionDef, ast.AsyncFunctionDef)}
    found = set()
    for call in calls:
        arguments = functions.get(call.func.id) if isinstance(call.func, ast.Name) else None
        if arguments is None:
            continue
        positional = [argument.arg for argument in arguments.posonlyargs + arguments.args]
        found.update(
            positional[index] for index, given in enumerate(call.args)
            if index < len(positional) and isinstance(given, ast.Name) and given.id in names
        )
        found.update(keyword.arg for keyword in call.keywords if keyword.arg and isinstance(keyword.value, ast.Name) and keyword.value.id in names)
    return found


def names_bound_in_code(tree: ast.Module) -> set:
    """The names bound to the GRU class by a `for` over it, a `with ... as` of it, a parameter's
    default (`def make(cls=nn.GRU)`), or an assignment (`Cell = nn.GRUCell` in a function), anywhere
    in the file."""
    names = _TorchNames(tree)
    nodes = nodes_of(tree)
    made = {id(call.func) for call in nodes.of(ast.Call)}  # `nn.GRU(4, 8)` is an instance, not the class

    spots = _ClassSpots(nodes, names)

    def holds(node: ast.AST) -> bool:
        return spots.within(node) and any(id(part) not in made and names.is_gru_class(part) for part in ast.walk(node))

    found = set()
    for assign in nodes.of(ast.Assign, ast.AnnAssign):
        if assign.value is not None and holds(assign.value):
            targets = assign.targets if isinstance(assign, ast.Assign) else [assign.target]
            # an attribute (`self.cls = nn.GRUCell`, called as `self.cls(4, 8)`) by its name
            found.update(target.attr for target in targets if isinstance(target, ast.Attribute))
            found.update(part.id for target in targets if not isinstance(target, ast.Attribute) for part in ast.walk(target) if isinstance(part, ast.Name))
    for loop in nodes.of(ast.For, ast.AsyncFor):
        if holds(loop.iter):
            found.update(part.id for part in ast.walk(loop.target) if isinstance(part, ast.Name))
    for block in nodes.of(ast.With, ast.AsyncWith):
        for item in block.items:
            if item.optional_vars is not None and holds(item.context_expr):
                found.update(part.id for part in ast.walk(item.optional_vars) if isinstance(part, ast.Name))
    for function in nodes.of(ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda):
        arguments = function.args
        positional = arguments.posonlyargs + arguments.args
        defaulted = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults))
        defaulted += [(argument, default) for argument, default in zip(arguments.kwonlyargs, arguments.kw_defaults) if default is not None]
        found.update(argument.arg for argument, default in defaulted if holds(default))
    return found


def references_torch_gru(tree: ast.Module) -> bool:
    """Step 2: is anything that resolves, through imports, to torch.…GRU(Cell) called?

    One pass over the tree's calls, imports and assignments: imports and calls are gathered together
    (an import may follow the call it binds, inside a function), then matched; a call whose root is
    already bound to torch ends the pass (the nodes come in `ast.walk`'s order, breadth first, so the
    module's imports come before any call in a function). The nodes are those of `nodes_of`, whose
    one walk the later steps on the same tree share."""
    aliases: dict[str, str] = {}  # local name -> the dotted path it stands for
    classes: set = set()  # names bound by `from torch.… import GRU [as X]`
    star_from_torch = False
    called_roots: set = set()  # X of each call `X.….GRU(...)`
    called_names: set = set()  # X of each call `X(...)`
    imported_elsewhere: set = set()  # names imported from another module, which may bind them to torch (`from util import nn`)
    star_elsewhere = False  # `from util import *`: it may bind `nn`
    modules_elsewhere: set = set()  # `import util`: `util.nn.GRU(...)` may be torch's
    called_through_nn: set = set()  # X of each call `X.….nn.GRU(...)`
    for node in nodes_of(tree).of(ast.Call, ast.Import, ast.ImportFrom, ast.Assign):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in GRU_NAMES:
                root = _root_name(func.value)
                if root in aliases or _is_torch(_module_in_place(func.value) or ""):
                    return True  # (`importlib.import_module("torch.nn").GRU(...)`: torch's, imported in place)
                if root is not None:
                    called_roots.add(root)
                    if isinstance(func.value, ast.Attribute) and func.value.attr == TORCH_NN_MODULE:
                        called_through_nn.add(root)
            elif isinstance(func, ast.Name):
                if func.id in classes or star_from_torch and func.id in GRU_NAMES:
                    return True
                called_names.add(func.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign)):
            if type(node) is ast.Assign:  # `nn = importlib.import_module("torch.nn")` imports too, `nn = torch.nn` aliases
                alias = _alias_of_import(node, aliases)
                if alias is not None:
                    aliases[node.targets[0].id] = alias
                elif _root_name(node.value) in imported_elsewhere | modules_elsewhere and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    imported_elsewhere.add(node.targets[0].id)  # `N = util.nn`: it may be torch's too
                node = literal_import_statement(node)
                if node is None:
                    continue
            for imported in imported_names(node):
                if imported.level or not _is_torch(imported.module):
                    # `from util import nn`, `import util` (`util.nn.GRU`), `from util import *` (any
                    # root may come from it): project.torch_names_bound tells (migrate: G2L101)
                    star_elsewhere = star_elsewhere or imported.member == STAR
                    (imported_elsewhere if imported.member is not None else modules_elsewhere).add(imported.local)
                    continue
                if imported.member == STAR:
                    star_from_torch = True
                elif imported.member in GRU_NAMES:
                    classes.add(imported.local)  # its calls construct; the import alone holds the class (step 3)
                else:
                    aliases[imported.local] = imported.target
    return (
        bool(called_roots & (aliases.keys() | imported_elsewhere)) or star_elsewhere and bool(called_roots)
        or bool(called_through_nn & modules_elsewhere) or bool(called_names & classes)
        or (star_from_torch and bool(called_names & GRU_NAMES))
    )


def torch_names_bound(tree: ast.Module) -> dict:
    """The names a module binds to torch or a module or class of it where it is imported (`import
    torch.nn as nn`, `nn = torch.nn`): {"nn": "torch.nn"}. Another file may import them (`from
    util import nn`) and construct a GRU through them."""
    bound: dict = {}
    for node in module_statements(tree):
        if type(node) is ast.Assign:
            alias = _alias_of_import(node, bound)
            if alias is not None:
                bound[node.targets[0].id] = alias
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update(
                (imported.local, imported.target) for imported in imported_names(node)
                if not imported.level and _is_torch(imported.module) and imported.member != STAR
            )
    return bound


class _TorchNames:
    """What a file's imports bind to torch, and the dotted torch path an expression names through them."""

    def __init__(self, tree: ast.Module) -> None:
        self.aliases: dict = {}  # local name -> the torch path it stands for
        self.star_modules: list = []  # torch modules imported with `*`
        for node in nodes_of(tree).of(ast.Import, ast.ImportFrom):
            for imported in imported_names(node):
                if imported.level or not _is_torch(imported.module):
                    continue
                if imported.member == STAR:
                    self.star_modules.append(imported.module)
                else:
                    self.aliases[imported.local] = imported.target
        # `nn = getattr(torch, "nn")`, `nn = torch.nn`, `m = sys.modules["torch.nn"]`: torch's modules only, set
        # anywhere (`L = torch.nn` in the function that reads a class from it); names set in different
        # functions are not told apart, which errs towards passing
        for node in nodes_of(tree).of(ast.Assign):
            alias = _alias_of_import(node, self.aliases) or _module_set(node)
            if alias is not None and alias not in RECURRENT:
                self.aliases[node.targets[0].id] = alias

    def path(self, node: ast.expr) -> Optional[str]:
        """`nn.GRU` -> "torch.nn.GRU" after `from torch import nn`; `getattr(nn, "GRU")` likewise."""
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            return f"{self.star_modules[0]}.{node.id}" if node.id in GRU_NAMES and self.star_modules else None
        if isinstance(node, ast.Attribute):
            base = self.path(node.value)
            return f"{base}.{node.attr}" if base is not None else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2:
            name = node.args[1]
            base = self.path(node.args[0])
            if base is not None and isinstance(name, ast.Constant) and isinstance(name.value, str):
                return f"{base}.{name.value}"
        return None

    def is_gru_class(self, node: ast.AST) -> bool:
        return isinstance(node, (ast.Name, ast.Attribute, ast.Call)) and self.path(node) in RECURRENT


def subclasses_torch_gru(tree: ast.Module) -> bool:
    """Does a class of the file have the torch GRU class among its bases? It is a GRU of the
    program's own, which the engine must see (and refuses where it is made) even when no group
    imports the file."""
    names = _TorchNames(tree)
    return any(names.is_gru_class(base) for node in nodes_of(tree).of(ast.ClassDef) for base in node.bases)


def holds_gru_class(tree: ast.Module) -> bool:
    """Step 3: is the torch GRU class named anywhere other than in a type test, an annotation, a
    comparison or a mapping's key (a construction counts: `getattr(nn, "GRU")(4, 8)`)?"""
    names = _TorchNames(tree)
    if any(imported in RECURRENT for imported in names.aliases.values()):
        return True  # `from torch.nn import GRU`: the name may be used, here or by an importer
    nodes = nodes_of(tree)
    candidates = [node for node in nodes.of(ast.Name, ast.Attribute, ast.Call) if names.is_gru_class(node)]
    if not candidates:
        return False
    ignored = {id(node) for node in _not_values(nodes)}
    return any(id(node) not in ignored for node in candidates)


def _not_values(nodes) -> list:
    """The expressions that name a class without holding it: type-test arguments (and the tuples
    in them), annotations, comparison operands, mapping keys."""
    found = []
    for call in nodes.of(ast.Call):
        if isinstance(call.func, ast.Name) and call.func.id in TYPE_TESTS:
            for argument in call.args:
                found.extend(argument.elts if isinstance(argument, ast.Tuple) else [argument])
    for compare in nodes.of(ast.Compare):
        for operand in [compare.left, *compare.comparators]:
            found.extend(operand.elts if isinstance(operand, (ast.Tuple, ast.Set, ast.List)) else [operand])
    found.extend(key for mapping in nodes.of(ast.Dict) for key in mapping.keys if key is not None)
    found.extend(node.annotation for node in nodes.of(ast.arg, ast.AnnAssign) if node.annotation is not None)
    found.extend(node.returns for node in nodes.of(ast.FunctionDef, ast.AsyncFunctionDef) if node.returns is not None)
    return found


def may_name_gru_class(data: bytes) -> bool:
    """Can the file bind a name to the GRU class (`gru_class_names`)? The byte search alone."""
    return GRU_NEEDLE in data and _CLASS_VALUE.search(data) is not None


def gru_class_names(tree: ast.Module, class_bodies: bool = False) -> set:
    """The module-level names (if/try blocks included) through which another file may reach the torch GRU class: an
    import of it (`from torch.nn import GRU as R`), a name assigned from it or from such a name
    (`RNN = nn.GRU`, `CELLS = {"gru": nn.GRU}`, `CELLS["gru"] = nn.GRU`, `CELLS.append(nn.GRU)`),
    a class derived from it (`class Core(nn.GRU)`). `class_bodies`: the names a class body binds
    too (`Cell = nn.GRUCell`, reached as `self.Cell`), and the attributes the module sets on a name
    (`cell` of `Spec.cell = nn.GRUCell`, reached as `Spec.cell`)."""
    names = _TorchNames(tree)
    found = {local for local, target in names.aliases.items() if target in RECURRENT}
    nodes = nodes_of(tree)
    # a construction makes an instance, not the class (`core = nn.GRU(4, 8)`)
    ignored = {id(node) for node in _not_values(nodes)} | {id(call.func) for call in nodes.of(ast.Call)}

    spots = _ClassSpots(nodes, names)

    def holds(node: ast.AST) -> bool:
        return spots.within(node, found) and any(
            id(part) not in ignored and (names.is_gru_class(part) or isinstance(part, ast.Name) and part.id in found)
            for part in ast.walk(node)
        )

    statements = list(module_statements(tree))
    functions = {statement.name: statement for statement in statements if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if class_bodies:
        statements += [inner for statement in statements if isinstance(statement, ast.ClassDef) for inner in statement.body]
    for statement in statements:
        if isinstance(statement, ast.ClassDef) and any(holds(base) for base in statement.bases):
            found.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None and holds(statement.value):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            found.update(_bound_name(target) for target in targets if _bound_name(target))
            if class_bodies:  # `Spec.cell = nn.GRUCell` outside the class, reached as `Spec.cell`
                found.update(target.attr for target in targets if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name))
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and holds(statement.value):
            func = statement.value.func  # `CELLS.append(nn.GRU)`, `CELLS.update(gru=nn.GRU)`
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                found.add(func.value.id)
            elif isinstance(func, ast.Name) and func.id in functions:  # `register("gru", nn.GRUCell)`
                found |= _names_filled_by(functions[func.id])
            elif class_bodies and isinstance(func, ast.Name) and func.id == SETATTR_BUILTIN and len(statement.value.args) == 3:
                name = statement.value.args[1]  # `setattr(Spec, "cell", nn.GRUCell)`, reached as `Spec.cell`
                found.update([name.value] if isinstance(name, ast.Constant) and isinstance(name.value, str) else [])
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and _returns_class(statement, holds):
            found.add(statement.name)  # `def cell_class(): return nn.GRUCell`, made as `cell_class()(4, 8)`
    return found


class _ClassSpots:
    """The lines where a tree's nodes may name the torch GRU class (`_TorchNames.is_gru_class`): an
    attribute or a string spelling GRU / GRUCell (`nn.GRU`, `getattr(nn, "GRU")`), a name spelling it
    (`from torch.nn import *`) or bound to it by an import. A node whose lines hold none of them, nor
    a name of `found`, cannot hold the class: a cheap test before a walk of it (the returns of every
    function of a big module were walked)."""

    def __init__(self, nodes, names: "_TorchNames") -> None:
        named = GRU_NAMES | {local for local, target in names.aliases.items() if target in RECURRENT}
        self.lines = sorted(
            [node.lineno for node in nodes.of(ast.Attribute) if node.attr in GRU_NAMES]
            + [node.lineno for node in nodes.of(ast.Constant) if isinstance(node.value, str) and node.value in GRU_NAMES]
            + [node.lineno for node in nodes.of(ast.Name) if node.id in named]
        )
        self.names: dict = {}  # name -> the lines it is read or set on
        for node in nodes.of(ast.Name):
            self.names.setdefault(node.id, []).append(node.lineno)

    def within(self, node: ast.AST, found: set = frozenset()) -> bool:
        first, last = node.lineno, node.end_lineno
        at = bisect_left(self.lines, first)
        return at < len(self.lines) and self.lines[at] <= last or any(
            first <= line <= last for name in found for line in self.names.get(name, ())
        )


def _names_filled_by(function: ast.AST) -> set:
    """The names not its own that `function` stores into (`RNNS` of `def register(name, cls):
    RNNS[name] = cls`, or of `RNNS.update({name: cls})`): what a class handed to it may be held in."""
    own = {argument.arg for argument in ast.walk(function.args) if isinstance(argument, ast.arg)}
    filled = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            filled.update(target.value.id for target in node.targets if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute):
            owner = node.value.func.value
            filled.update([owner.id] if isinstance(owner, ast.Name) else [])
    return filled - own


def _returns_class(function: ast.AST, holds) -> bool:
    """Does a `return` of `function` (not of a function inside it) give what `holds` tells holds the
    class, itself or by a local name assigned it (`cls = getattr(nn, name); return cls`)?"""
    todo, returned, held = list(function.body), [], set()
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            returned.append(node.value)
        elif isinstance(node, ast.Assign) and holds(node.value):
            held.update(target.id for target in node.targets if isinstance(target, ast.Name))
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))
    return any(holds(value) or isinstance(value, ast.Name) and value.id in held for value in returned)


def _bound_name(target: ast.expr) -> Optional[str]:
    """The module-level name an assignment target stores into: `R`, `R["gru"]`; else None."""
    target = target.value if isinstance(target, ast.Subscript) else target
    return target.id if isinstance(target, ast.Name) else None


def names_gru(tree: ast.Module) -> bool:
    """Does any name, attribute or imported name of the code spell GRU or GRUCell? (Comments
    and strings do not count.) Nothing can resolve to a torch GRU without one."""
    nodes = nodes_of(tree)
    return (
        any(node.id in GRU_NAMES for node in nodes.of(ast.Name))
        or any(node.attr in GRU_NAMES for node in nodes.of(ast.Attribute))
        or any(not GRU_NAMES.isdisjoint(alias.name.split(".")) for alias in nodes.of(ast.alias))
    )


def _is_torch(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")


def _alias_of_import(node: ast.Assign, aliases: dict) -> Optional[str]:
    """`nn = torch.nn` after `import torch` (or `nn = _nn` after `from torch import nn as _nn`,
    or `nn = getattr(torch, "nn")`): "torch.nn" (`ast.walk` meets a module's statements in order).
    qualnames.alias_binding reads the same shapes on the LibCST side."""
    value = node.value
    parts = []
    if (
        isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == NAMED_ATTRIBUTE_BUILTIN
        and len(value.args) == 2 and not value.keywords and isinstance(value.args[1], ast.Constant) and isinstance(value.args[1].value, str)
    ):
        parts.append(value.args[1].value)
        value = value.args[0]
    if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name) or not isinstance(value, (ast.Attribute, ast.Name)):
        return None
    while isinstance(value, ast.Attribute):
        parts.append(value.attr)
        value = value.value
    if not isinstance(value, ast.Name) or value.id not in aliases:
        return None
    return ".".join([aliases[value.id], *reversed(parts)])


def _module_set(node: ast.Assign) -> Optional[str]:
    """The module of torch a name is set to by an import made in place (`m = importlib.import_module("torch.nn")`,
    `m = sys.modules["torch.nn"]`), else None."""
    if not (isinstance(node.value, (ast.Call, ast.Subscript)) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
        return None
    module = _module_in_place(node.value)
    return module if module is not None and _is_torch(module) else None


def _module_in_place(node: ast.expr) -> Optional[str]:
    """The module a dotted expression rooted in an import made in place names (`importlib.import_module(
    "torch.nn")`, `__import__("torch").nn`, `__import__("torch.nn", fromlist=[name])`, `sys.modules["torch"].nn`,
    `sys.modules.get("torch.nn")`), else None."""
    attributes = []
    while isinstance(node, ast.Attribute):
        attributes.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Subscript) and _is_loaded_modules(node.value):
        root = literal_text(node.slice)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in REGISTRY_LOOKUP_METHODS and _is_loaded_modules(node.func.value):
        root = literal_text(node.args[0]) if len(node.args) == 1 else None  # `sys.modules.get("torch.nn")`
    else:
        root = module_imported_by(node)
    return ".".join([root, *attributes]) if root else None


def _is_loaded_modules(node: ast.expr) -> bool:
    """`sys.modules`."""
    return isinstance(node, ast.Attribute) and _root_name(node) == LOADED_MODULES[0] and node.attr == LOADED_MODULES[1]


def _root_name(node: ast.expr) -> Optional[str]:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
