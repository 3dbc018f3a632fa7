"""Import the rewritten and the original file side by side, each as a module of its own package.

A file inside a package (folders with `__init__.py`) is imported under its qualified name with
the package's parent folder first on `sys.path`, so relative and absolute package imports work;
the user's PYTHONPATH is honoured. A file outside any package is executed under a private alias
with its own folder on `sys.path` (sibling imports work, as for a script).

The two sides never meet in `sys.modules`: each import runs with the other side's modules
removed, and afterwards every module the import added from the user's folders is removed again
and whatever was there before is put back. The original's source may be given as text (from
git, or from `rewrite --verify`): a meta-path finder serves that text for the file's path, and
for any other overridden file of the package, while the rest of the package loads from disk.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Optional

from gru2lstm.verify.config import ConfigError


class LoadError(Exception):
    """The file could not be imported; `message` says why (with the user's traceback tail)."""


@dataclass
class Loaded:
    module: ModuleType
    name: str  # the module's __name__
    path: Path  # the file it stands for
    label: str  # how reports name it


def package_location(path: Path) -> tuple:
    """(folder to put on sys.path, qualified module name or None when not in a package)."""
    path = path.resolve()
    parts = [path.stem]
    folder = path.parent
    if not (folder / "__init__.py").is_file():
        return folder, None
    if path.name == "__init__.py":
        parts = []
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    if not all(part.isidentifier() for part in parts):
        return path.parent, None
    return folder, ".".join(parts)


class _TextLoader(importlib.abc.Loader):
    """Executes given source text as the module found at `origin`."""

    def __init__(self, text: str, origin: str, label: str) -> None:
        self.text = text
        self.origin = origin
        self.label = label

    def create_module(self, spec):
        return None

    def exec_module(self, module: ModuleType) -> None:
        lines = self.text.splitlines(keepends=True)
        # Tracebacks and inspect read the original's lines, not the rewritten file on disk.
        linecache.cache[self.label] = (len(self.text), None, lines, self.label)
        code = compile(self.text, self.label, "exec", dont_inherit=True)
        exec(code, module.__dict__)

    def get_source(self, fullname: str) -> str:
        return self.text


class _OverrideFinder(importlib.abc.MetaPathFinder):
    """Serves overridden source text for chosen file paths; everything else is left to PathFinder."""

    def __init__(self, overrides: dict, label_suffix: str) -> None:
        self.overrides = {os.path.realpath(p): t for p, t in overrides.items()}
        self.label_suffix = label_suffix

    def find_spec(self, fullname, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin:
            return None
        text = self.overrides.get(os.path.realpath(spec.origin))
        if text is None:
            return None
        loader = _TextLoader(text, spec.origin, spec.origin + self.label_suffix)
        return importlib.util.spec_from_file_location(
            fullname, spec.origin, loader=loader, submodule_search_locations=spec.submodule_search_locations
        )


def _pythonpath_entries() -> list:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def _is_under(file: Optional[str], roots: list) -> bool:
    if not file:
        return False
    real = os.path.realpath(file)
    for root in roots:
        try:
            relative = Path(real).relative_to(root)
        except ValueError:
            continue
        if not any(part in ("site-packages", "dist-packages") for part in relative.parts):
            return True
    return False


def _traceback_tail(error: BaseException, files: tuple) -> str:
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    where = ""
    for frame in reversed(frames):
        if any(frame.filename.startswith(f) for f in files):
            where = f" ({frame.filename}:{frame.lineno})"
            break
    return f"{type(error).__name__}: {error}{where}"


def load_module(
    path: Path,
    side: str,
    text: Optional[str] = None,
    overrides: Optional[dict] = None,
    label: Optional[str] = None,
) -> Loaded:
    """Import `path` (or `text` standing for it) without leaving it, or its package, in sys.modules."""
    path = Path(path).resolve()
    root, qualname = package_location(path)
    overrides = dict(overrides or {})
    if text is not None:
        overrides[str(path)] = text
    suffix = f" [{side}]" if text is not None else ""
    label = label or (f"{path}{suffix}")
    top = qualname.split(".")[0] if qualname else None
    alias = qualname or f"_gru2lstm_verify_{side}_{path.stem if path.stem.isidentifier() else 'module'}"

    saved_modules = dict(sys.modules)
    saved_path = list(sys.path)
    saved_bytecode = sys.dont_write_bytecode
    conflicting = [n for n in sys.modules if n == alias or (top and (n == top or n.startswith(top + ".")))]
    for name in conflicting:
        del sys.modules[name]
    front = [str(root)] + [p for p in _pythonpath_entries() if p not in sys.path]
    sys.path[:0] = front
    finder = _OverrideFinder(overrides, suffix or f" [{side}]")
    sys.meta_path.insert(0, finder)
    sys.dont_write_bytecode = True
    importlib.invalidate_caches()
    # modules imported from the folders put on sys.path here are the user's: removed afterwards
    roots = [os.path.realpath(p) for p in front]
    try:
        if qualname:
            module = importlib.import_module(qualname)
        else:
            own_text = finder.overrides.get(os.path.realpath(str(path)))
            if own_text is not None:
                loader = _TextLoader(own_text, str(path), label)
                spec = importlib.util.spec_from_file_location(alias, str(path), loader=loader)
            else:
                spec = importlib.util.spec_from_file_location(alias, str(path))
            if spec is None or spec.loader is None:
                raise LoadError(f"{path}: cannot be imported")
            module = importlib.util.module_from_spec(spec)
            sys.modules[alias] = module
            spec.loader.exec_module(module)
    except LoadError:
        raise
    except SyntaxError as error:
        raise LoadError(f"{label}:{error.lineno}: cannot import: SyntaxError: {error.msg}") from None
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        raise LoadError(f"{label}: cannot import: {_traceback_tail(error, (str(root), label))}") from None
    finally:
        for name in list(sys.modules):
            if saved_modules.get(name) is sys.modules[name]:
                continue
            module_obj = sys.modules[name]
            if (
                name == alias
                or (top and (name == top or name.startswith(top + ".")))
                or _is_under(getattr(module_obj, "__file__", None), roots)
            ):
                del sys.modules[name]
        for name in conflicting:
            sys.modules.setdefault(name, saved_modules[name])
        sys.path[:] = saved_path
        sys.meta_path.remove(finder)
        sys.dont_write_bytecode = saved_bytecode
    return Loaded(module=module, name=alias, path=path, label=label)


# ---------------------------------------------------------------------------- git
def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, check=False)


def git_original(path: Path) -> tuple:
    """(text of `path` at HEAD, label). ConfigError when the file is not tracked or git is missing."""
    path = Path(path).resolve()
    folder = path.parent
    try:
        top = _git(folder, "rev-parse", "--show-toplevel")
    except OSError:
        raise ConfigError(f"{path}: no --original given and git is not available to read it from HEAD") from None
    if top.returncode != 0:
        raise ConfigError(f"{path}: no --original given and the file is not in a git repository")
    tracked = _git(folder, "ls-files", "--error-unmatch", "--", path.name)
    if tracked.returncode != 0:
        raise ConfigError(f"{path}: no --original given and the file is not tracked by git")
    shown = subprocess.run(["git", "-C", str(folder), "show", f"HEAD:./{path.name}"], capture_output=True, check=False)
    if shown.returncode != 0:
        raise ConfigError(f"{path}: no --original given and it is not in HEAD: {shown.stderr.decode(errors='replace').strip()}")
    return shown.stdout.decode("utf-8-sig", errors="replace"), f"git HEAD:{path.name}"


def git_package_overrides(path: Path) -> dict:
    """HEAD's text of the other modified, tracked .py files of `path`'s package (the original side)."""
    path = Path(path).resolve()
    root, qualname = package_location(path)
    if not qualname:
        return {}
    package_dir = root / qualname.split(".")[0]
    top = _git(package_dir, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        return {}
    toplevel = Path(top.stdout.strip())
    changed = _git(package_dir, "diff", "--name-only", "HEAD", "--", ".")
    overrides = {}
    for line in changed.stdout.splitlines():
        file = (toplevel / line).resolve()
        if file == path or file.suffix != ".py" or not file.exists():
            continue
        shown = subprocess.run(["git", "-C", str(toplevel), "show", f"HEAD:{line}"], capture_output=True, check=False)
        if shown.returncode == 0:
            overrides[str(file)] = shown.stdout.decode("utf-8-sig", errors="replace")
    return overrides
