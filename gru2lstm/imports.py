"""Import resolution: what an import statement binds, and the dotted names a file is imported by.

`import a.b` binds the package root `a`; `import a.b as c` binds `c` to `a.b`; `from m import x
as y` binds `y` to `m.x`; `from m import *` binds what `m` exports. Each name a statement binds
is an `ImportedName`; prefilter.py (torch aliases), project.py (which file an import loads) and
qualnames.py (LibCST names, through `imported_module` / `imported_member`) read these and only
these. The `ast` walks that find the import statements of a module (at module level, in
functions, and `importlib.import_module("m")` literals) live here too.

The other half: which file a dotted name loads. `ModuleFinder` asks the standard library's own
`importlib.machinery.PathFinder`, over the folders a project may run with on `sys.path` (the
importer's package root and the folders above it): it resolves regular and namespace packages as
Python would and imports nothing. `module_name` and `other_names` say which dotted names load a
given file (its package chain, namespace folders, a project run from inside a package); project.py
falls back to matching those when PathFinder finds nothing, for the cases PathFinder cannot serve
because they depend on how the project is run, which the files do not say: a script run from
inside a package (`src/` on `sys.path` though `src/__init__.py` exists: `pkg.model` for
`src.pkg.model`; putting every package folder on the search path instead would make `import sys`
in `pkg/` load `pkg/sys.py`), and folders of scripts that import each other by name as if all
were on `sys.path`.
"""

from __future__ import annotations

import ast
import importlib.util
from collections import deque
from dataclasses import dataclass
from importlib.machinery import PathFinder
import os
from pathlib import Path
import re
from typing import Iterable, Iterator, Optional

from gru2lstm.vocab import IMPORT_BUILTIN, IMPORT_FROM_LIST, IMPORT_FUNCTION_MODULES, IMPORT_LEVEL, IMPORT_MODULE, IMPORT_NAME, IMPORT_PACKAGE

__all__ = [
    "STAR",
    "Folders",
    "ImportedName",
    "ModuleFinder",
    "import_call",
    "import_function_names",
    "import_statements",
    "imported_member",
    "imported_module",
    "imported_names",
    "literal_import_statement",
    "literal_text",
    "may_import_module",
    "module_bound_by_call",
    "module_name",
    "module_statements",
    "other_names",
]

STAR = "*"


@dataclass(frozen=True)
class ImportedName:
    """One name an import statement binds."""

    local: str  # the name bound; STAR for `from m import *`
    module: str  # the module the statement names, without a relative import's dots ("" for `from . import x`)
    member: Optional[str] = None  # `from module import member`; STAR for a star import; None for `import module`
    level: int = 0  # the dots of a relative import
    package_root: bool = False  # `import a.b`: the name bound is `a`, not the module a.b

    @property
    def target(self) -> str:
        """The dotted path the bound name stands for (relative to the package for a relative import)."""
        if self.member is not None:
            return f"{self.module}.{self.member}" if self.module else self.member
        return self.local if self.package_root else self.module


def imported_module(name: str, asname: Optional[str]) -> ImportedName:
    """The name `import name [as asname]` binds."""
    if asname:
        return ImportedName(asname, name)
    root = name.split(".")[0]
    return ImportedName(root, name, package_root=root != name)


def imported_member(module: str, name: str, asname: Optional[str], level: int = 0) -> ImportedName:
    """The name `from module import name [as asname]` binds (`name` may be STAR)."""
    return ImportedName(STAR if name == STAR else asname or name, module, name, level)


def imported_names(node: ast.AST) -> list:
    """The ImportedNames of an `ast` import statement (none for any other node)."""
    if isinstance(node, ast.Import):
        return [imported_module(alias.name, alias.asname) for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [imported_member(node.module or "", alias.name, alias.asname, node.level) for alias in node.names]
    return []


# An import written over several lines (`from pkg import (`, a backslash): its first line need
# not spell the module it imports. Searched apart, each from a literal: an alternation, or `\b`
# first, makes `re` try every position (ten times slower over a project's files).
_PARENTHESISED_IMPORT = re.compile(rb"import[ \t]*\(")
_CONTINUED_IMPORT = re.compile(rb"^[ \t]*(?:from|import)[ \t][^\n]*\\\r?$", re.M)
_WORD_BYTE = re.compile(rb"\w")
# The names of `from pkg import (...)` up to its `)`, read past comments (which may hold a `)`): an
# import's list holds no strings, so the first `)` outside a comment closes it.
_IMPORT_LIST = re.compile(rb"(?:[^)#]|#[^\n]*)*")
_COMMENT = re.compile(rb"#[^\n]*")
# `import_module("pkg.model")`: the text of its first argument when that is a plain literal alone
_IMPORT_MODULE_CALL = re.compile(rb"import_module\s*\(\s*(?:(['\"])([^'\"\\\n]*)\1\s*(?=[,)]))?")
# `from importlib import import_module as load`, `load = importlib.import_module`: called by another name
_IMPORT_MODULE_RENAMED = re.compile(rb"import_module[ \t]+as[ \t]|=[ \t]*[\w.]*\bimport_module\b(?![ \t]*\()")


def _imports_over_lines(data: bytes, word: bytes) -> bool:
    """Does an import written over lines spell `word` where its first line need not? Within the
    parentheses of `from pkg import (...)`, its comments left out (`mkldnn_lowerings,  # registers
    ops on import`); a backslash-continued import counts as spelling it."""
    spelled = re.compile(rb"\b" + re.escape(word) + rb"\b")
    for match in _PARENTHESISED_IMPORT.finditer(data):
        if match.start() and _WORD_BYTE.match(data, match.start() - 1):  # `reimport(`, not an import
            continue
        if spelled.search(_COMMENT.sub(b"", _IMPORT_LIST.match(data, match.end()).group())) is not None:
            return True
    return (b"\\\n" in data or b"\\\r\n" in data) and _CONTINUED_IMPORT.search(data) is not None


def _import_module_may_name(data: bytes, word: bytes) -> bool:
    """May an `import_module` call of these bytes import `word`? One of a plain literal that neither
    spells it nor is relative cannot; any other may, and so may one called by another name."""
    if _IMPORT_MODULE_RENAMED.search(data):
        return True
    for match in _IMPORT_MODULE_CALL.finditer(data):
        literal = match.group(2)
        if literal is None or literal.startswith(b".") or re.search(rb"\b" + re.escape(word) + rb"\b", literal):
            return True
    return False


def may_import(data: bytes, word: bytes) -> bool:
    """Can a file of these bytes import a module whose last name is `word`, without parsing it?
    An import statement spells it on its line (`import a.word`, `from .word import X`, `from pkg
    import word`, also after `;` or `:`) or within its parentheses; a file with a backslash-continued
    import, an `import_module` call that may name it or an `__import__` call may import it too.
    Never False for a file that does."""
    # `__import__("pkg", fromlist=["model"])` may name the module outside its first literal
    if IMPORT_BUILTIN.encode() in data or (IMPORT_MODULE.encode() in data and _import_module_may_name(data, word)):
        return True
    if _imports_over_lines(data, word):
        return True
    return re.search(rb"(?:^|[;:])[ \t]*(?:from|import)[ \t][^\n#]*\b" + re.escape(word) + rb"\b", data, re.M) is not None


def may_import_module(data: bytes, dotted: str, names: Iterable = ()) -> bool:
    """`may_import` of the module `dotted` names, or of a package above it when the bytes read its
    last name as an attribute (`pkg.model.Net` after `import pkg`, whose `__init__` imports the
    submodule; `names`: one of these after it, or nothing, when given). Never False for a file that
    imports the module either way and reads one of `names` from it so."""
    packages, _, last = dotted.rpartition(".")
    word = last.encode()
    if may_import(data, word):
        return True
    # `.model.Net`, or the module read whole (`mod = pkg.model`, `use(pkg.model)`)
    after = rb"(?:[ \t]*\.[ \t]*(?:" + b"|".join(re.escape(name.encode()) for name in names) + rb")\b|[ \t]*(?:$|[,)\]#;]))" if names else rb"\b"
    return bool(packages) and re.search(rb"\.[ \t]*" + re.escape(word) + after, data, re.M) is not None and any(
        may_import(data, package.encode()) for package in packages.split(".")
    )


def import_statements(tree: ast.Module, importers: Optional[dict] = None) -> Iterator[ast.AST]:
    """Every import of the file, at module level first, then those inside functions and classes
    (`def __init__(self): from model import Policy` ties the file to model.py just the same);
    `m = importlib.import_module("pkg.model")` is `import pkg.model as m`. `importers`: as for
    `module_imported_by`."""
    nested = []
    for node in module_statements(tree):
        literal = literal_import_statement(node, importers)
        if literal is not None:
            yield literal
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for inner in _statement_walk(node):
                literal = literal_import_statement(inner, importers)
                if literal is not None or isinstance(inner, (ast.Import, ast.ImportFrom)):
                    nested.append(literal or inner)
    yield from nested


_BLOCKS = (ast.If, ast.Try, ast.With, getattr(ast, "TryStar", ast.Try))  # TryStar: Python 3.11+


def module_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """The statements run when the module is imported: its body, and the bodies of its module-level
    if/try/with blocks (`if HAVE_TORCH: import torch`, `try: ... except ImportError: ... finally: ...`,
    `with warnings.catch_warnings(): ...`), in order."""
    pending = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, _BLOCKS):
            handlers = [n for h in getattr(node, "handlers", []) for n in h.body]
            pending[:0] = node.body + handlers + getattr(node, "orelse", []) + getattr(node, "finalbody", [])
        else:
            yield node


def literal_import_statement(node: ast.AST, importers: Optional[dict] = None) -> Optional[ast.Import]:
    """`name = importlib.import_module("pkg.model")` (or `__import__("pkg")`) as the import it is."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
        return None
    module = module_imported_by(node.value, importers)
    return None if module is None else ast.Import(names=[ast.alias(name=module, asname=node.targets[0].id)])


def module_imported_by(call: ast.expr, importers: Optional[dict] = None) -> Optional[str]:
    """The module a call that imports by a literal name binds (`importlib.import_module("pkg.model")`,
    `import_module(name=".model", package="pkg")`, `__import__("pkg.model", fromlist=["Net"])`), else
    None. `importers`: the file's other names for those functions (`import_function_names`)."""
    parts = import_call(call, importers)
    if parts is None:
        return None
    named, name, package, fromlist = parts
    literal = literal_text(name) if name is not None else None
    if literal is None:
        return None
    return module_bound_by_call(named, literal, literal_text(package) if package is not None else None, _non_empty(fromlist))


def import_call(call: ast.expr, importers: Optional[dict] = None) -> Optional[tuple]:
    """(IMPORT_MODULE or IMPORT_BUILTIN, the name's node, the package's node or None, the fromlist's
    node or None) of a call of `importlib.import_module` or `__import__`, however spelled (an
    attribute `importlib.import_module`, the name itself, or a name the file binds to it:
    `importers`), its arguments by position or by keyword; else None. The name's node is None when
    the call does not show it (`import_module(*args)`, `**kw`, a relative `__import__`)."""
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    spelled = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    named = spelled if spelled in (IMPORT_MODULE, IMPORT_BUILTIN) else (importers or {}).get(spelled) if isinstance(func, ast.Name) else None
    if named is None:
        return None
    # import_module(name, package); __import__(name, globals, locals, fromlist, level)
    order = (IMPORT_NAME, IMPORT_PACKAGE) if named == IMPORT_MODULE else (IMPORT_NAME, None, None, IMPORT_FROM_LIST, IMPORT_LEVEL)
    given = dict(zip(order, call.args))
    given.update((keyword.arg, keyword.value) for keyword in call.keywords)
    level = given.get(IMPORT_LEVEL)
    unknown = (
        len(call.args) > len(order) or any(isinstance(arg, ast.Starred) for arg in call.args) or any(keyword.arg is None for keyword in call.keywords)
        or level is not None and not (isinstance(level, ast.Constant) and level.value == 0)  # relative to globals handed over
    )
    return named, None if unknown else given.get(IMPORT_NAME), given.get(IMPORT_PACKAGE), given.get(IMPORT_FROM_LIST)


def _non_empty(fromlist: Optional[ast.expr]) -> bool:
    """Is a `fromlist` given that may hold a name (`__import__` then gives the module itself)?"""
    if fromlist is None:
        return False
    if isinstance(fromlist, (ast.List, ast.Tuple, ast.Set)):
        return bool(fromlist.elts)
    return not (isinstance(fromlist, ast.Constant) and not fromlist.value)


def import_function_names(tree: ast.Module, data: bytes) -> dict:
    """The other names a file binds to `importlib.import_module` or `__import__` (`from importlib
    import import_module as load`, `load = importlib.import_module`): name -> which of the two.
    Empty (without a walk) when the bytes spell neither."""
    if IMPORT_MODULE.encode() not in data and IMPORT_BUILTIN.encode() not in data:
        return {}
    found = {}
    for node in _statement_walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in IMPORT_FUNCTION_MODULES and not node.level:
            found.update((alias.asname, alias.name) for alias in node.names if alias.asname and alias.name in (IMPORT_MODULE, IMPORT_BUILTIN))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            spelled = value.attr if isinstance(value, ast.Attribute) else value.id if isinstance(value, ast.Name) else None
            named = spelled if spelled in (IMPORT_MODULE, IMPORT_BUILTIN) else found.get(spelled)
            if named is not None:
                found[node.targets[0].id] = named
    return found


def literal_text(node: ast.expr) -> Optional[str]:
    """The text of a string written out: a literal, or an f-string without a field (`f"torch.nn"`); else None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr) and all(isinstance(part, ast.Constant) for part in node.values):
        return "".join(part.value for part in node.values)
    return None


def inline_import_statements(tree: ast.Module, importers: Optional[dict] = None) -> Iterator[ast.Import]:
    """`importlib.import_module("layers").Cell` read in place, as an import bound to a name no
    code can spell (`inline_import_name`): (that name, "Cell") is among the attributes the file reads."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (module := module_imported_by(node.value, importers)) is not None:
            yield ast.Import(names=[ast.alias(name=module, asname=inline_import_name(node.value))])


def inline_import_name(call: ast.Call) -> str:
    """The name an import by a call read in place stands under (its code: no Python name)."""
    return ast.unparse(call)


def module_bound_by_call(named: Optional[str], literal: str, package: Optional[str] = None, fromlist: bool = False) -> Optional[str]:
    """The module `name = F("a.b")` binds when F, so named, imports by a literal name: `a.b` itself
    for `importlib.import_module` (a relative name under its literal `package`: `import_module(".b",
    "a")`), its top package `a` for `__import__` (as `import a.b` binds `a`), or `a.b` itself when
    a `fromlist` is given (`__import__("a.b", fromlist=["X"])`)."""
    if named == IMPORT_MODULE and literal.startswith("."):
        try:
            return importlib.util.resolve_name(literal, package) if package else None
        except (ImportError, ValueError):  # above the top package
            return None
    if named == IMPORT_MODULE:
        return literal
    if named == IMPORT_BUILTIN:
        return literal if fromlist else literal.split(".")[0]
    return None


# The nodes that can hold a statement: an expression holds none (a lambda holds an expression).
_HOLDS_STATEMENTS = (ast.stmt, ast.excepthandler, *(getattr(ast, name) for name in ("match_case",) if hasattr(ast, name)))


def _statement_walk(node: ast.AST):
    """`ast.walk`'s nodes in its order, less the expressions below a statement: the same imports,
    without visiting every node of a function's code."""
    todo = deque([node])
    while todo:
        node = todo.popleft()
        todo.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, _HOLDS_STATEMENTS))
        yield node


def module_name(path: Path, folders: Optional["Folders"] = None) -> tuple:
    """(folder that goes on sys.path, dotted module name, is a package's __init__).

    `folders`: what is known of each folder, for the files of one walk (most share folders)."""
    folders = folders or Folders()
    path = folders.resolve(path)
    is_init = path.name == "__init__.py"
    root, packages = folders.chain(path.parent)
    parts = list(packages) if is_init else [*packages, path.stem]
    if not parts:  # an __init__.py outside a package chain cannot be imported by name
        return path.parent, path.parent.name, True
    return root, ".".join(parts), is_init


def program_folder(paths: list, folders: Optional["Folders"] = None) -> Path:
    """The folder a program's files live below: the deepest one that holds every folder they are
    imported from (a file elsewhere, another project of the same repository, is not one of them)."""
    folders = folders or Folders()
    return Path(os.path.commonpath([str(module_name(path, folders)[0]) for path in paths]))


def below(path: Path, folder: Path) -> bool:
    """Is the resolved `path` inside the resolved `folder` (at any depth)? A string test:
    `folder in path.parents` builds every parent of every file of a project."""
    return str(path).startswith(os.path.join(str(folder), ""))


class Folders:
    """Each folder resolved and looked at once: resolving every file whole and testing each
    folder above it for `__init__.py` were most of the grouping of a library tree."""

    def __init__(self) -> None:
        self.real: dict = {}  # folder as spelled -> resolved
        self.chains: dict = {}  # resolved folder -> (its sys.path folder, package names down to it)

    def resolve(self, path: Path) -> Path:
        """`path.resolve()`, the folder resolved once for all its files."""
        if path.is_symlink():
            return path.resolve()
        if path.parent not in self.real:
            self.real[path.parent] = path.parent.resolve()
        return self.real[path.parent] / path.name

    def chain(self, folder: Path) -> tuple:
        if folder not in self.chains:
            if (folder / "__init__.py").is_file():
                root, names = self.chain(folder.parent)
                self.chains[folder] = (root, (*names, folder.name))
            else:
                self.chains[folder] = (folder, ())
        return self.chains[folder]


# How many folders above a module's own sys.path folder may be the one a project runs from.
NAMESPACE_DEPTH = 3


def other_names(root: Path, name: str) -> list:
    """Other names the module is imported by: from a folder above its own, through folders
    without `__init__.py` (namespace packages, `networks.networks`), and without a leading
    package when a project runs from inside it (`src/` on sys.path though `src/__init__.py`
    exists: `pkg.model` for `src.pkg.model`)."""
    names, prefix = [], []
    for folder in [root, *root.parents][:NAMESPACE_DEPTH]:
        if not folder.name.isidentifier():
            break
        prefix.insert(0, folder.name)
        names.append(".".join(prefix + [name]))
    parts = name.split(".")
    names.extend(".".join(parts[start:]) for start in range(1, len(parts) - 1))
    return names


class ModuleFinder:
    """The file a dotted name loads with given folders on `sys.path`, by `PathFinder`: `a` is looked
    for in each folder (a module or a regular package in any of them comes before the portions of a
    namespace package, as in Python), then `a.b` in what `a` spans. PathFinder is asked once per
    (folders it searches, name): the files of one tree share their folders."""

    def __init__(self) -> None:
        self.specs: dict = {}  # folders on sys.path -> {dotted name: ModuleSpec or None}
        self.found: dict = {}  # (locations searched, last name) -> what PathFinder found there
        # PathFinder keeps a finder per folder with its listing: files written since must be seen.
        importlib.invalidate_caches()

    def file(self, name: str, folders: tuple) -> Optional[str]:
        """The source file `import name` loads (a package: its __init__.py), or None (nothing
        found, a namespace package, a compiled module). `folders`: str paths, in sys.path order."""
        spec = self._spec(name, folders, self.specs.setdefault(folders, {}))
        if spec is None or not spec.has_location or spec.origin is None or not spec.origin.endswith(".py"):
            return None
        return spec.origin

    def _spec(self, name: str, folders: tuple, specs: dict):
        if name not in specs:
            package, _, last = name.rpartition(".")
            if package:
                parent = self._spec(package, folders, specs)
                locations = tuple(parent.submodule_search_locations or ()) if parent is not None else ()
                specs[name] = self._find(locations, last)
            else:
                specs[name] = self._top_level(name, folders)
        return specs[name]

    def _top_level(self, name: str, folders: tuple):
        portions = []
        for folder in folders:
            spec = self._find((folder,), name)
            if spec is not None and spec.submodule_search_locations is not None and spec.origin is None:
                portions.append(folder)  # a portion of a namespace package: the search goes on
            elif spec is not None:
                return spec
        return self._find(tuple(portions), name) if portions else None

    def _find(self, locations: tuple, last: str):
        key = (locations, last)
        if key not in self.found:
            try:
                # By its last name: PathFinder looks for that in `locations` either way, and a
                # namespace package under a dotted name would need its parent imported.
                self.found[key] = PathFinder.find_spec(last, list(locations)) if locations else None
            except (ImportError, OSError, ValueError):  # an unreadable folder, a name that is no module
                self.found[key] = None
        return self.found[key]


def search_folders(root: Path) -> tuple:
    """The folders on `sys.path` (str paths, in order) when a file whose package chain starts in
    `root` runs: `root` (a script's own folder, or the folder above its packages) and the folders
    above it (a project run from its root: namespace folders)."""
    return tuple(str(folder) for folder in [root, *root.parents][:NAMESPACE_DEPTH])
