"""Qualified names of dotted expressions, resolved through the module's imports (LibCST side;
what an import binds is imports.py's rule).

LibCST's QualifiedNameProvider would do this for every node of the module and costs several
times the parse; the engine only ever asks about dotted names (`nn.GRU`, `torch.zeros`,
`np.zeros`), and locals shadowing an import are already known to the flow walk.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from gru2lstm.imports import imported_member, imported_module, module_bound_by_call
from gru2lstm.vocab import IMPORT_BUILTIN, IMPORT_FROM_LIST, IMPORT_LEVEL, IMPORT_NAME, IMPORT_PACKAGE, LOADED_MODULES, REGISTRY_LOOKUP_METHODS, NAMED_ATTRIBUTE_BUILTIN, OTHER_RECURRENT, PASSING_MODULES, RECURRENT, TORCH_MODULE_PREFIX, TORCH_MODULES_PACKAGE

LOCAL = "<module>"  # prefix of names defined by the module itself


def dotted(node: cst.CSTNode) -> Optional[str]:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def import_bindings(statement: cst.CSTNode) -> dict:
    """Names an import statement binds, with the dotted path each stands for (imports.py's rule;
    relative and star imports bind nothing this can name). `m = importlib.import_module("a.b")`
    binds as `import a.b as m` does (imports.py reads it so too)."""
    literal = literal_import(statement)
    if literal is not None:
        return {statement.targets[0].target.value: literal}
    if isinstance(statement, cst.Import):
        names = [imported_module(dotted(alias.name), _asname(alias)) for alias in statement.names]
    elif isinstance(statement, cst.ImportFrom) and not statement.relative and statement.module is not None and not isinstance(statement.names, cst.ImportStar):
        module = dotted(statement.module)
        names = [imported_member(module, dotted(alias.name), _asname(alias)) for alias in statement.names]
    else:
        names = []
    return {name.local: name.target for name in names}


def literal_import(statement: cst.CSTNode) -> Optional[str]:
    """The module `name = importlib.import_module("pkg.model")` (or `__import__("pkg")`) binds name to."""
    if not (isinstance(statement, cst.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0].target, cst.Name)):
        return None
    return module_imported_by(statement.value)


def module_imported_by(call: cst.BaseExpression) -> Optional[str]:
    """The module a call that imports by a literal name binds (`importlib.import_module("torch.nn")`,
    `import_module(".nn", "torch")`), else None (imports.module_imported_by, on LibCST's nodes)."""
    if not isinstance(call, cst.Call) or any(arg.star for arg in call.args):
        return None
    func = call.func
    named = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
    # import_module(name, package); __import__(name, globals, locals, fromlist, level)
    order = (IMPORT_NAME, IMPORT_PACKAGE) if named != IMPORT_BUILTIN else (IMPORT_NAME, None, None, IMPORT_FROM_LIST, IMPORT_LEVEL)
    positional = [arg.value for arg in call.args if arg.keyword is None]
    if len(positional) > len(order):
        return None
    given = dict(zip(order, positional))
    given.update((arg.keyword.value, arg.value) for arg in call.args if arg.keyword is not None)
    if given.get(IMPORT_LEVEL) is not None and written_number(given[IMPORT_LEVEL]) != 0:
        return None  # relative to the globals handed over
    literal = written_text(given[IMPORT_NAME]) if IMPORT_NAME in given else None
    package = given.get(IMPORT_PACKAGE)
    fromlist = given.get(IMPORT_FROM_LIST)
    listed = fromlist is not None and not (isinstance(fromlist, (cst.List, cst.Tuple)) and not fromlist.elements)
    return module_bound_by_call(named, literal, written_text(package) if package is not None else None, listed) if literal is not None else None


def written_number(node: cst.BaseExpression) -> Optional[int]:
    """The value of an integer written out, else None."""
    return int(node.value) if isinstance(node, cst.Integer) and node.value.isdigit() else None


def written_text(node: cst.BaseExpression) -> Optional[str]:
    """The text of a string written out: a literal, or an f-string without a field (`f"torch.nn"`,
    read only when it holds no escape); else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.FormattedString) and all(isinstance(part, cst.FormattedStringText) for part in node.parts):
        text = "".join(part.value for part in node.parts)
        return None if "\\" in text or "{" in text or "}" in text else text
    return None


def module_path(node: cst.BaseExpression, imports: dict) -> Optional[str]:
    """The dotted module `node` names: through the imports (`nn`), imported in place
    (`importlib.import_module("torch.nn")`, `__import__("torch.nn", fromlist=[name])`, which gives
    `torch.nn` itself), read from `sys.modules["torch.nn"]` (or `sys.modules.get("torch.nn")`), or an attribute of one
    (`__import__("torch").nn`); else None."""
    if isinstance(node, cst.Attribute):
        base = module_path(node.value, imports)
        return None if base is None else f"{base}.{node.attr.value}"
    if isinstance(node, cst.Name):
        return qualify(node, imports, set())
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        key = node.slice[0].slice.value
        loaded = qualify(node.value, imports, set()) == ".".join(LOADED_MODULES)
        return written_text(key) if loaded else None
    if (
        isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in REGISTRY_LOOKUP_METHODS
        and qualify(node.func.value, imports, set()) == ".".join(LOADED_MODULES) and len(node.args) == 1
    ):  # `sys.modules.get("torch.nn")`
        return written_text(node.args[0].value)
    return module_imported_by(node)


def _asname(alias: cst.ImportAlias) -> Optional[str]:
    return alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else None


def module_imports(module: cst.Module) -> dict:
    """Imports at module level, including those inside module-level if/try/with blocks, and the names
    a module-level `nn = torch.nn` binds to a path under an import (an alias as the import's)."""
    bound: dict = {}
    pending = list(module.body)
    while pending:
        statement = pending.pop(0)
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                bound.update(import_bindings(small) or alias_binding(small, bound))
        elif isinstance(statement, (cst.If, cst.Try, cst.TryStar, cst.With)):
            blocks = [statement.body]
            if isinstance(statement, cst.If) and statement.orelse is not None:
                blocks.append(statement.orelse.body if isinstance(statement.orelse, cst.Else) else cst.IndentedBlock([statement.orelse]))
            if isinstance(statement, (cst.Try, cst.TryStar)):
                blocks.extend(handler.body for handler in statement.handlers)
                blocks.extend(part.body for part in (statement.orelse, statement.finalbody) if part is not None)
            for block in blocks:
                pending.extend(block.body)
    return bound


def alias_binding(statement: cst.CSTNode, bound: dict) -> dict:
    """`nn = torch.nn` after `import torch` (or `nn = _nn` after `from torch import nn as _nn`,
    or `nn = getattr(torch, "nn")`): {"nn": "torch.nn"}; else nothing."""
    if not (isinstance(statement, cst.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0].target, cst.Name)):
        return {}
    value, member = statement.value, None
    if is_named_getattr(value):
        value, member = value.args[0].value, value.args[1].value.evaluated_value
    path = qualify(value, bound, set()) if isinstance(value, (cst.Attribute, cst.Name)) else None
    if path is not None and member is not None:
        path = f"{path}.{member}"
    return {statement.targets[0].target.value: path} if path is not None else {}


def is_named_getattr(node: cst.CSTNode) -> bool:
    """`getattr(torch, "nn")`: an attribute read with its name written out (no default)."""
    return (
        isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == NAMED_ATTRIBUTE_BUILTIN
        and len(node.args) == 2 and not any(argument.keyword or argument.star for argument in node.args)
        and isinstance(node.args[1].value, cst.SimpleString) and isinstance(node.args[1].value.evaluated_value, str)
    )


def qualify(node: cst.CSTNode, imports: dict, module_names: set) -> Optional[str]:
    """`nn.GRU` -> `torch.nn.GRU` when `nn` is torch.nn; `GRU` -> `<module>.GRU` for a local class."""
    name = dotted(node)
    if name is None:
        return None
    root, _, rest = name.partition(".")
    if root in imports:
        target = imports[root]
        return f"{target}.{rest}" if rest else target
    if root in module_names:
        return f"{LOCAL}.{name}"
    return None


def torch_module_class(name: str) -> bool:
    """`torch.nn.Linear`, or `torch.nn.modules.rnn.GRUCell` as `from torch.nn.modules import rnn`
    spells it: a module class of torch.nn (a capitalised name), whose call constructs a module."""
    if name.startswith(TORCH_MODULES_PACKAGE):
        name = TORCH_MODULE_PREFIX + name.rpartition(".")[2]
    return name.startswith(TORCH_MODULE_PREFIX) and name[len(TORCH_MODULE_PREFIX):][:1].isupper()


def library_layer(name: str) -> bool:
    """A torch.nn module class whose call computes new features from its input (`nn.Linear`): not
    one that gives its input back or runs modules it holds, nor a recurrent one."""
    return torch_module_class(name) and name not in PASSING_MODULES and name not in RECURRENT and name not in OTHER_RECURRENT
