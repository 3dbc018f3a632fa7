"""Which files a run looks at: the given paths, folders walked the way black walks them.

A file given by name is always taken, whatever its suffix, unless it matches `--force-exclude`.
A folder is walked for `*.py`; each entry found is matched, by its path relative to the project
root (config.py) with a leading `/` and, for a folder, a trailing `/`, against

- the `.gitignore` of the project root, of the given folder and of every folder entered (as black
  does; gitignore.py matches name patterns itself, the rest with `pathspec`), unless `--exclude`
  is given;
- `--exclude` (default DEFAULT_EXCLUDE), `--extend-exclude` and `--force-exclude`.

Hidden folders, `*.egg-info` and virtual environments (a `pyvenv.cfg` inside) are never entered.
A symbolic link met in a walk is followed only when it leads inside the project root, as black
does.

Odd entries do not stop the walk: a symbolic-link loop, a dangling link, a FIFO or device, a
folder that cannot be listed each become a Found with a `problem` (a FileError at 1:1, reported
as a file error, exit 123); a FIFO is never opened. A file is taken once however often it is reached.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from gru2lstm.config import find_project_root
from gru2lstm.gitignore import read_gitignore
from gru2lstm.results import FileError

__all__ = [
    "DEFAULT_EXCLUDE", "STDIN", "Found", "Selection", "UsageError", "check_stdin_alone", "compile_pattern", "discover",
]

# black's DEFAULT_EXCLUDES, plus caches that are not hidden.
DEFAULT_EXCLUDE = (
    r"/(\.direnv|\.eggs|\.git|\.hg|\.ipynb_checkpoints|\.mypy_cache|\.nox|\.pytest_cache|\.ruff_cache|\.tox"
    r"|\.svn|\.venv|\.vscode|__pypackages__|__pycache__|_build|buck-out|build|dist|node_modules|venv)/"
)
STDIN = "-"


class UsageError(Exception):
    """The paths or options given cannot be used (exit 2)."""


@dataclass(frozen=True)
class Selection:
    """What a walk takes: black's exclude options (regular expressions, as typed) and stdin's name."""

    exclude: Optional[str] = None  # None: DEFAULT_EXCLUDE, and .gitignore files are respected
    extend_exclude: Optional[str] = None
    force_exclude: Optional[str] = None
    stdin_filename: Optional[str] = None


@dataclass(frozen=True)
class Found:
    path: Path  # as the user gave it, or the given folder joined with the names walked
    problem: Optional[FileError] = None  # when it cannot be read as a source file


def compile_pattern(text: str) -> re.Pattern:
    """A regular expression as black compiles one: verbose when it spans lines."""
    return re.compile(f"(?x){text}" if "\n" in text else text)


def discover(paths: Iterable[str], selection: Selection = Selection()) -> list:
    """A Found per file to look at, in a stable order. Raises UsageError for a path that does not
    exist (a dangling link exists: it is a Found with a problem) or a .gitignore pathspec rejects."""
    paths = list(paths)
    check_stdin_alone(paths)
    walk = _Walk(find_project_root(paths, selection.stdin_filename), selection)
    for given in paths:
        if given == STDIN:
            name = selection.stdin_filename or STDIN
            if not walk.force_excluded(walk.relative(Path(name))):
                walk.found.append(Found(Path(name)))
            continue
        path = Path(given)
        if not os.path.lexists(path):
            raise UsageError(f"{given}: no such file or folder")
        if os.path.isdir(path):
            walk.folder(path)
        elif not walk.force_excluded(walk.relative(path)):
            walk.file(path)
    return walk.found


def check_stdin_alone(paths: list) -> None:
    """Raises UsageError when "-" comes with other paths (call it before reading stdin)."""
    if STDIN in paths and len(paths) > 1:
        raise UsageError("'-' (read stdin) cannot be given with other paths")


class _Walk:
    def __init__(self, root: Path, selection: Selection) -> None:
        self.root = root
        self.exclude = compile_pattern(DEFAULT_EXCLUDE if selection.exclude is None else selection.exclude)
        self.extra = [compile_pattern(p) for p in (selection.extend_exclude, selection.force_exclude) if p]
        self.force = compile_pattern(selection.force_exclude) if selection.force_exclude else None
        self.use_gitignore = selection.exclude is None
        self.found: list = []
        self.seen: set = set()  # (device, inode) of files taken, and paths with problems

    # ----------------------------------------------------------------------------- paths
    def relative(self, path: Path) -> str:
        """`path` from the root, /-separated, with a leading slash: as typed when that lies below the
        root, else where it resolves to (the root was found above every resolved path)."""
        absolute = Path(os.path.abspath(path))
        if self.root not in absolute.parents:
            absolute = Path(os.path.realpath(path))
        return "/" + absolute.relative_to(self.root).as_posix()

    def force_excluded(self, relative: str) -> bool:
        return self.force is not None and _matches(self.force, relative)

    def _excluded(self, relative: str) -> bool:
        return any(_matches(pattern, relative) for pattern in [self.exclude, *self.extra])

    # ----------------------------------------------------------------------------- files
    def file(self, path: Path) -> None:
        try:
            info = os.stat(path)
        except OSError as error:
            self._problem(path, _unreadable(path, error))
            return
        if not stat.S_ISREG(info.st_mode):
            self._problem(path, f"cannot read: not a regular file ({_kind(info.st_mode)}); not opened")
            return
        key = (info.st_dev, info.st_ino)
        if key not in self.seen:
            self.seen.add(key)
            self.found.append(Found(path))

    def _problem(self, path: Path, message: str) -> None:
        key = os.path.abspath(path)
        if key not in self.seen:
            self.seen.add(key)
            self.found.append(Found(path, FileError(1, 1, message)))

    # ----------------------------------------------------------------------------- folders
    def folder(self, path: Path) -> None:
        real = Path(os.path.realpath(path))
        relative = "" if real == self.root else real.relative_to(self.root).as_posix()  # the root is above
        ignores = {}
        if self.use_gitignore:
            ignores = {"": self._gitignore(self.root), _prefix(relative): self._gitignore(real)}
        self._walk(path, relative, ignores, ancestors=(_identity(real),))

    def _walk(self, folder: Path, relative: str, ignores: dict, ancestors: tuple) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            self._problem(folder, f"cannot read folder: {error.strerror or error}")
            return
        for entry in entries:
            path = folder / entry.name
            child = f"{_prefix(relative)}{entry.name}"
            is_folder = os.path.isdir(path)  # follows a link; False for a dangling link or a loop
            if is_folder and _never_entered(entry):
                continue
            if entry.is_symlink() and not self._inside_root(path):
                continue  # as black: a link out of the project is not followed
            if self._ignored(child, is_folder, ignores) or self._excluded(f"/{child}{'/' if is_folder else ''}"):
                continue
            if not is_folder:
                if entry.name.endswith(".py"):
                    self.file(path)
                continue
            identity = _identity(path)
            if identity in ancestors:
                self._problem(path, "cannot read folder: a symbolic-link loop (it leads back to a folder above it); not followed")
                continue
            nested = dict(ignores, **{_prefix(child): self._gitignore(path)}) if self.use_gitignore else ignores
            self._walk(path, child, nested, ancestors + (identity,))

    def _inside_root(self, path: Path) -> bool:
        try:
            Path(os.path.realpath(path)).relative_to(self.root)
        except ValueError:
            return False
        return True

    # ----------------------------------------------------------------------------- .gitignore
    def _ignored(self, child: str, is_folder: bool, ignores: dict) -> bool:
        """black's rule: each .gitignore, from the root's down, matches the path relative to its folder."""
        for prefix, spec in ignores.items():
            if not child.startswith(prefix):
                break
            if spec is not None and spec.match_file(child[len(prefix):] + ("/" if is_folder else "")):
                return True
        return False

    def _gitignore(self, folder: Path):
        path = folder / ".gitignore"
        if not path.is_file():
            return None
        try:
            return read_gitignore(path.read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError, ValueError) as error:  # ValueError: a bad pattern
            raise UsageError(f"{path}: cannot read: {error}") from None


def _matches(pattern: re.Pattern, relative: str) -> bool:
    """As black: an empty match (`--exclude ''`) excludes nothing."""
    match = pattern.search(relative)
    return bool(match and match.group(0))


def _prefix(relative: str) -> str:
    return f"{relative}/" if relative else ""


def _identity(path: Path) -> Optional[tuple]:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _never_entered(entry: os.DirEntry) -> bool:
    name = entry.name
    return name.startswith(".") or name.endswith(".egg-info") or os.path.isfile(os.path.join(entry.path, "pyvenv.cfg"))


def _unreadable(path: Path, error: OSError) -> str:
    if os.path.islink(path) and error.errno == errno.ELOOP:
        return "cannot read: a symbolic-link loop"
    if os.path.islink(path) and error.errno == errno.ENOENT:
        return f"cannot read: a dangling symbolic link (to {os.readlink(path)})"
    return f"cannot read: {error.strerror or error}"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a folder" if stat.S_ISDIR(mode) else "not a file"
