"""The given files of a project by dotted name, and what each of their imports loads.

Each file is a `ProjectFile`: its bytes and its `ast` tree, read and parsed once (or handed over
by the prefilter), and what it defines and reads at module level, each computed on the first
question. The `Universe` of a run's files resolves an import of one of them the way Python
would: through `importlib.machinery.PathFinder` over the folders on `sys.path` when that file
runs (imports.py), else by the dotted names the given files are known by. project.py groups
the files with these answers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from gru2lstm.imports import (
    STAR,
    Folders,
    ImportedName,
    ModuleFinder,
    import_function_names,
    import_statements,
    imported_names,
    inline_import_name,
    inline_import_statements,
    module_imported_by,
    module_name,
    other_names,
    search_folders,
)
from gru2lstm.prefilter import gru_class_names, may_name_gru_class, torch_names_bound
from gru2lstm.spellings import Spellings
from gru2lstm.vocab import IMPORT_BUILTIN, IMPORT_MODULE

__all__ = ["ProjectFile", "ResolvedImport", "Universe"]


@dataclass
class ProjectFile:
    path: Path
    key: str
    root: Path
    name: str
    is_init: bool
    data: Optional[bytes] = None
    tree: Optional[ast.Module] = None
    parsed: bool = False
    definitions: Optional[set] = None  # classes and functions defined at module level
    attributes_read: Optional[set] = None  # (X, attr) for every `X.attr` read, X a plain name
    bare: Optional[set] = None  # names read other than as the base of an attribute
    resolved: Optional[list] = None  # what its imports load (Universe.imports)
    class_names: Optional[set] = None  # module-level names bound to the torch GRU class
    torch_bound: Optional[dict] = None  # module-level names bound to torch or a part of it
    import_functions: Optional[dict] = None  # its other names for import_module / __import__

    def contents(self) -> Optional[bytes]:
        """The file's bytes, read once (None when it cannot be read)."""
        if self.data is None:
            try:
                self.data = self.path.read_bytes()
            except OSError:
                return None
        return self.data

    def module_tree(self) -> Optional[ast.Module]:
        """The file's `ast` tree, parsed once (None when it cannot be read or parsed)."""
        if not self.parsed:
            self.parsed = True
            data = self.contents()
            try:
                self.tree = None if data is None else ast.parse(data)
            except (SyntaxError, ValueError, MemoryError, RecursionError):
                self.tree = None
        return self.tree

    def importers(self) -> dict:
        """The names it binds to `importlib.import_module` or `__import__` (`from importlib import
        import_module as load`): imports.import_function_names, once."""
        if self.import_functions is None:
            tree = self.module_tree()
            self.import_functions = {} if tree is None else import_function_names(tree, self.contents() or b"")
        return self.import_functions

    def functions_and_classes(self) -> set:
        if self.definitions is None:
            tree = self.module_tree()
            self.definitions = {
                node.name
                for node in (tree.body if tree is not None else ())
                if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            }
        return self.definitions

    def listed_names(self) -> Optional[set]:
        """The names its `__all__` lists (a literal list or tuple of strings at the top), or None."""
        tree = self.module_tree()
        for node in tree.body if tree is not None else ():
            if (
                isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]
                and isinstance(node.value, (ast.List, ast.Tuple))
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts)
            ):
                return {element.value for element in node.value.elts}
        return None

    def gru_class_names(self) -> set:
        """The module-level names it binds to the torch GRU class (`RNN = nn.GRU`, `class
        Core(nn.GRU)`, `from torch.nn import GRU as R`): other files construct through them."""
        if self.class_names is None:
            data, tree = self.contents(), self.module_tree()
            self.class_names = gru_class_names(tree) if data is not None and tree is not None and may_name_gru_class(data) else set()
        return self.class_names

    def torch_names(self) -> dict:
        """The module-level names it binds to torch or a module or class of it ({"nn": "torch.nn"}
        of `import torch.nn as nn`, `nn = torch.nn`): a file that imports one may make a GRU through it."""
        if self.torch_bound is None:
            tree = self.module_tree() if b"torch" in (self.contents() or b"") else None
            self.torch_bound = {} if tree is None else torch_names_bound(tree)
        return self.torch_bound

    def assigned_names(self) -> set:
        """The module-level names bound by an assignment (`state = torch.zeros(...)`, `rnn = nn.GRU(...)`)."""
        tree = self.module_tree()
        return {
            target.id
            for node in (tree.body if tree is not None else ())
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }

    def containers(self) -> set:
        """The module-level names bound to a dict, list or set literal (a registry, perhaps)."""
        tree = self.module_tree()
        return {
            target.id
            for node in (tree.body if tree is not None else ())
            if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Dict, ast.List, ast.Set))
            for target in node.targets
            if isinstance(target, ast.Name)
        }

    def bare_names(self) -> set:
        """The names read somewhere other than as the base of `X.attr` (`getattr(model, name)`)."""
        if self.bare is None:
            tree = self.module_tree()
            reads, bases = {}, {}
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    reads[node.id] = reads.get(node.id, 0) + 1
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                    bases[node.value.id] = bases.get(node.value.id, 0) + 1
            self.bare = {name for name, count in reads.items() if count > bases.get(name, 0)}
        return self.bare

    def name_attributes(self) -> set:
        """(X, attr) for each `X.attr` in the file: one walk, however many modules are asked about.
        X may be dotted (`pkg.layers` of `pkg.layers.Cell`, after `import pkg.layers`)."""
        if self.attributes_read is None:
            tree = self.module_tree()
            self.attributes_read = set()
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.Attribute):
                    base = _dotted(node.value) or (inline_import_name(node.value) if module_imported_by(node.value, self.importers()) is not None else None)
                    if base is not None:
                        self.attributes_read.add((base, node.attr))
        return self.attributes_read

    @property
    def package(self) -> str:
        """The package a relative import of this file starts from."""
        return self.name if self.is_init else self.name.rpartition(".")[0]


def _dotted(node: ast.expr) -> Optional[str]:
    """`pkg.layers` of a chain of names, else None."""
    if isinstance(node, ast.Name):
        return node.id
    base = _dotted(node.value) if isinstance(node, ast.Attribute) else None
    return None if base is None else f"{base}.{node.attr}"


@dataclass(frozen=True)
class ResolvedImport:
    """A name an import binds, and the given file it loads."""

    local: Optional[str]  # None: `import a.b` (it binds a package root) or a star import
    file: Optional[ProjectFile]  # the given file the import loads, if any
    member: Optional[str]  # the name taken from that file (STAR for all); None: the file itself
    dotted: str  # the module path imported, absolute from the sys.path folder


class Universe:
    """The given files, by dotted name, and how an import of one file resolves."""

    def __init__(self, paths: list, data: dict, trees: dict) -> None:
        self.files: list = []
        self.spellings: Optional[Spellings] = None  # set by Project.groups when many seeds are grouped
        self.by_name: dict = {}
        self.by_key: dict = {}
        self.by_path: dict = {}  # str of the resolved path -> ProjectFile
        self.search: dict = {}  # key -> the folders on sys.path when that file runs (imports.search_folders)
        self.finder = ModuleFinder()
        searched: dict = {}  # sys.path folder -> search_folders of its files
        folders = Folders()
        for index, path in enumerate(paths):
            root, name, is_init = module_name(path, folders)
            entry = ProjectFile(path, str(path), root, name, is_init, data.get(index), trees.get(index), index in trees)
            self.files.append(entry)
            resolved = folders.resolve(path)
            self.by_path[str(resolved)] = entry
            if path.is_symlink():  # PathFinder names it by its folder, not by where the link points
                self.by_path[str(path.parent.resolve() / path.name)] = entry
            if root not in searched:
                searched[root] = search_folders(root)
            self.search[entry.key] = searched[root]
            for spelled in (name, *other_names(root, name)):
                self.by_name.setdefault(spelled, []).append(entry)
            self.by_key[entry.key] = entry

    def lookup(self, name: str, importer: ProjectFile) -> Optional[ProjectFile]:
        """The given file that `import name` loads from `importer`: the file PathFinder finds (None
        when that file was not given), else the given file of that name, same sys.path folder first."""
        loaded = self.finder.file(name, self.search[importer.key])
        if loaded is not None:
            return self.by_path.get(loaded)
        found = self.by_name.get(name, [])
        same_root = [f for f in found if f.root == importer.root]
        if len(same_root) == 1:
            return same_root[0]
        return found[0] if len(found) == 1 else None

    def imports(self, entry: ProjectFile) -> list:
        """A ResolvedImport per name an import of the file binds (imports.import_statements)."""
        if entry.resolved is None:
            entry.resolved = self._resolve(entry)
        return entry.resolved

    def _resolve(self, entry: ProjectFile) -> list:
        tree = entry.module_tree()
        if tree is None:
            return []
        found = []
        statements = list(import_statements(tree, entry.importers()))
        data = entry.contents() or b""
        if IMPORT_MODULE.encode() in data or IMPORT_BUILTIN.encode() in data:  # `importlib.import_module("layers").Cell` in place
            statements += inline_import_statements(tree, entry.importers())
        for statement in statements:
            for imported in imported_names(statement):
                resolved = self._resolve_name(imported, entry)
                if resolved is not None:
                    found.append(resolved)
        return found

    def _resolve_name(self, imported: ImportedName, entry: ProjectFile) -> Optional["ResolvedImport"]:
        """One entry of `imports`, or None for a relative import that leaves the packages."""
        if imported.member is None:  # `import a.b` binds the package root, which may be another file
            local = None if imported.package_root else imported.local
            return ResolvedImport(local, self.lookup(imported.module, entry), None, imported.module)
        base = self._from_base(imported, entry)
        if base is None:
            return None
        module = self.lookup(base, entry) if base else None
        if imported.member == STAR:
            return ResolvedImport(None, module, STAR, base)
        submodule = self.lookup(f"{base}.{imported.member}" if base else imported.member, entry)
        if submodule is not None:
            return ResolvedImport(imported.local, submodule, None, f"{base}.{imported.member}")
        return ResolvedImport(imported.local, module, imported.member, f"{base}.{imported.member}" if base else imported.member)

    def _from_base(self, imported: ImportedName, entry: ProjectFile) -> Optional[str]:
        if imported.level == 0:
            return imported.module
        package = entry.package.split(".") if entry.package else []
        if imported.level - 1 > len(package):
            return None
        base = package[: len(package) - (imported.level - 1)]
        if imported.module:
            base.append(imported.module)
        return ".".join(base)
