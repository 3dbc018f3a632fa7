"""The check a group's output passes before anything is written (black's check_stability_and_equivalence).

It owns every check of migrated text: it compiles (`check_parses`, also sourcefile.py's last
guard before a write), it loses no name and reads none before binding it (`unbound_names`,
`read_before_bound`, compared with the input), it gives no LSTM one tensor where it takes (h, c)
(lstm_check.py, compared with the input; it also refuses a pair used as one tensor and c fed to a
head), and a second pass changes nothing. Each output is
parsed with `ast` once for all of them; an input only when a check has something to compare.
"""

from __future__ import annotations

import ast
import builtins
import warnings
from typing import Callable, Optional

from gru2lstm.lstm_check import lstm_mistakes
from gru2lstm.prefilter import names_gru
from gru2lstm.tree_nodes import children, nodes_of

__all__ = ["check_output", "check_parses", "read_before_bound", "unbound_names"]


def check_parses(text: str, filename: str = "<gru2lstm output>") -> Optional[str]:
    """None if `text` compiles as a module, else Python's message with its line. Warnings about
    the user's own code (`is` with a literal, invalid escapes) are not the migration's: silenced."""
    return _compiled_tree(text, filename)[1]


def _compiled_tree(text: str, filename: str = "<gru2lstm output>") -> tuple:
    """(its `ast` tree, None) if `text` compiles as a module, else (None, why): parsed once, and
    the tree compiled (what compiling the text does, without parsing it a second time)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename)
            compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        return None, f"{error.msg} (line {error.lineno})"
    except ValueError as error:  # e.g. a null byte
        return None, str(error)
    return tree, None


def check_output(keys: list, inputs: list, outputs: list, second_pass: Callable[[list], list], untied_reads: Optional[list] = None) -> Optional[str]:
    """Why a group's migrated texts must not be written, or None.

    `keys` name the modules, `inputs` are their texts as read and `outputs` as migrated;
    `second_pass(texts)` migrates texts again (a Migration per text). Each output must parse, use
    no name that nothing binds (a rename applied to a use but not to its definition) and read no
    local name before its scope binds it (a partner `c` used in a call before any line makes it);
    together they must give no LSTM one tensor where it takes (h, c) (lstm_check.py) and be a
    fixed point (a second pass changes nothing). A name or read the input already had is not the
    migration's doing: only what the output adds counts; nor is an attribute that holds pairs read
    on an object the analysis showed to be no instance of the class with that attribute
    (`untied_reads`: per module, the reads spelled so, `cfg.hidden` of a `types.SimpleNamespace`,
    guessed_owners.py), which the check, reading attributes by name alone, takes for the pair.
    """
    trees = []  # each output parsed once for every check
    parsed_inputs: dict = {}  # position -> the input parsed, only once an output check has something to compare
    def parsed_input(number: int) -> ast.Module:
        if number not in parsed_inputs:
            parsed_inputs[number] = ast.parse(inputs[number])
        return parsed_inputs[number]

    for number, (key, output) in enumerate(zip(keys, outputs)):
        where = f" ({key})" if len(keys) > 1 else ""
        after, problem = _compiled_tree(output)
        if problem is not None:
            return f"the migrated source{where} does not parse: {problem}"
        lost = unbound_names(after)
        if lost:
            lost -= unbound_names(parsed_input(number))
        if lost:
            return f"the migrated source{where} uses names that nothing binds: {', '.join(sorted(lost))}"
        early = read_before_bound(after)
        if early:
            early -= read_before_bound(parsed_input(number))
        if early:
            scope, name, line = min(early, key=lambda item: item[2])
            return f"the migrated source{where} reads `{name}` in {scope} (line {line}) before anything binds it there"
        trees.append(after)
    wrong = [mistake for mistake in lstm_mistakes(trees) if not untied_reads or mistake.place not in untied_reads[mistake.module]]
    if wrong:
        known = {mistake.key() for mistake in lstm_mistakes(parsed_input(number) for number in range(len(keys)))}
        wrong = [mistake for mistake in wrong if mistake.key() not in known]
    if wrong:
        where = f" ({keys[wrong[0].module]})" if len(keys) > 1 else ""
        return (
            f"the migrated source{where} fails the LSTM check (lstm_check.py): line {wrong[0].line}, "
            f"`{wrong[0].call}`: {wrong[0].why}"
        )
    if not any(names_gru(tree) for tree in trees):
        # Every GRU the engine migrates is named in the group's own code (vocab.RECURRENT: each
        # name ends in GRU or GRUCell), and a pass that finds none changes nothing: a group whose
        # output names no GRU is a fixed point without migrating it again.
        return None
    try:
        again = second_pass(outputs)
    except Exception as error:
        return f"a second pass over the migrated source failed ({type(error).__name__}: {error})"
    if any(m.changed for m in again):
        return "a second pass would change the migrated source again"
    return None


_MATCH_CAPTURES = tuple(getattr(ast, name) for name in ("MatchAs", "MatchStar") if hasattr(ast, name))  # 3.10+
_MATCH_MAPPINGS = tuple(getattr(ast, name) for name in ("MatchMapping",) if hasattr(ast, name))


def unbound_names(tree: ast.Module) -> set:
    """Names a module loads that it binds nowhere (in any scope) and that are not builtins.

    Coarse on purpose (scopes are ignored): it only has to notice a name the migration lost.
    A star import can bind anything, so it makes the answer empty.
    """
    bound = set(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__builtins__"}
    nodes = nodes_of(tree)
    for node in nodes.of(ast.Import, ast.ImportFrom):
        for alias in node.names:
            if alias.name == "*":
                return set()
            bound.add(alias.asname or alias.name.split(".")[0])
    loaded = {node.id for node in nodes.of(ast.Name) if isinstance(node.ctx, ast.Load)}
    bound.update(node.id for node in nodes.of(ast.Name) if not isinstance(node.ctx, ast.Load))
    for kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):  # each class on its own: the order does not matter
        bound.update(node.name for node in nodes.of(kind))
    bound.update(node.arg for node in nodes.of(ast.arg))
    for kind in (ast.Global, ast.Nonlocal):
        for node in nodes.of(kind):
            bound.update(node.names)
    for kind in (ast.ExceptHandler, *_MATCH_CAPTURES):
        bound.update(node.name for node in nodes.of(kind) if getattr(node, "name", None))
    for kind in _MATCH_MAPPINGS:
        bound.update(node.rest for node in nodes.of(kind) if node.rest)
    return loaded - bound


def read_before_bound(tree: ast.Module) -> set:
    """(scope, name, line) for each local name whose first read, in the order the code runs a
    straight line, comes before the first statement that binds it in the same scope.

    Coarse like unbound_names: loops and branches are read top to bottom, comprehension variables
    and nested scopes are left out. Only a difference between the input and the output counts.
    """
    found = set()
    scopes = [("the module", tree.body, set())]
    for node in nodes_of(tree).of(ast.FunctionDef, ast.AsyncFunctionDef):
        params = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        scopes.append((f"`{node.name}()`", node.body, params))
    for scope, body, params in scopes:
        first_load, first_store, declared = {}, {}, set(params)
        for statement in body:
            _positions(statement, None, first_load, first_store, declared)
        for name, position in first_load.items():
            if name in first_store and name not in declared and position < first_store[name]:
                found.add((scope, name, position[0]))
    return found


_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _positions(node: ast.AST, statement: Optional[ast.stmt], loads: dict, stores: dict, declared: set) -> None:
    """First load and first store position of each name in one scope: a store in a simple
    statement happens when the statement ends (its right side runs first)."""
    if isinstance(node, ast.stmt):
        statement = node
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        declared.update(node.names)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        stores.setdefault(node.name, (node.lineno, node.col_offset))
        return
    if isinstance(node, _NESTED):
        return  # its own scope; comprehension variables never leak
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load):
            loads.setdefault(node.id, (node.lineno, node.col_offset))
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr)):
            stores.setdefault(node.id, (statement.end_lineno, statement.end_col_offset))
        else:
            stores.setdefault(node.id, (node.lineno, node.col_offset))
        return
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            stores.setdefault((alias.asname or alias.name).split(".")[0], (node.lineno, node.col_offset))
    if isinstance(node, ast.ExceptHandler) and node.name:
        stores.setdefault(node.name, (node.lineno, node.col_offset))
    for child_node in children(node):
        _positions(child_node, statement, loads, stores, declared)
