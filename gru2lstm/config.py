"""The project a run belongs to and its `[tool.gru2lstm]` settings, found as black finds its own.

The *project root* is the nearest folder, from the common parent of the given paths upward, that
holds a `.git` or `.hg`, or a `pyproject.toml` with a `[tool.gru2lstm]` table (black's
find_project_root). Exclude patterns are matched against paths relative to it, and its
`pyproject.toml`, when there is one, supplies defaults for every `rewrite` option: a key is an
option's long name without the dashes (`allow-partial` or `allow_partial`), a value has the
option's type (`verify = true` is rewrite's --verify; the `[tool.gru2lstm.verify]` table is
the verify subcommand's, read by verify/config.py). The command line wins over the file. A key that names no option, a value of the
wrong type or a file that is not TOML is a ConfigError (a usage error, exit 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover -- 3.9 and 3.10 get tomli from the dependencies
    import tomli as tomllib

__all__ = ["ConfigError", "ProjectConfig", "find_project_root", "import_root", "load_project_config", "option_defaults"]

TABLE = "gru2lstm"
# Options that name one input rather than a way of working: never read from the file.
NOT_CONFIGURABLE = frozenset({"help", "version", "stdin_filename"})
# Sub-tables that belong to another subcommand: [tool.gru2lstm.verify] is read by verify/config.py.
SUBCOMMAND_TABLES = frozenset({"verify"})
# What marks the folder other code of the project imports the given files from.
IMPORT_ROOT_MARKERS = (".git", ".hg", "pyproject.toml", "setup.py", "setup.cfg")
# Without a marker, how far above the paths the working folder may be and still be their project.
UNMARKED_DEPTH = 3


class ConfigError(Exception):
    """The project's configuration cannot be used (exit 2)."""


@dataclass(frozen=True)
class ProjectConfig:
    root: Path  # absolute, symlinks resolved
    file: Optional[Path] = None  # the root's pyproject.toml, when it has one
    table: dict = field(default_factory=dict)  # its [tool.gru2lstm], as written


def find_project_root(paths: Sequence[str], stdin_filename: Optional[str] = None) -> Path:
    """The project root for `paths` ("-" stands for `stdin_filename`, or the current folder)."""
    common = _common_folder(paths, stdin_filename)
    for folder in (common, *common.parents):
        if (folder / ".git").exists() or (folder / ".hg").is_dir():
            return folder
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and TABLE in _load(pyproject).get("tool", {}):
            return folder
    return folder


def import_root(paths: Sequence[str]) -> Path:
    """The folder whose files may import the given ones: the nearest, from their common parent
    upward, that holds a .git, .hg, pyproject.toml, setup.py or setup.cfg; else the working
    folder when it holds them a few folders down (`python main.py` puts it on sys.path; a home
    folder far above is not a project); else their common parent."""
    common = _common_folder(paths)
    for folder in (common, *common.parents):
        if any((folder / marker).exists() for marker in IMPORT_ROOT_MARKERS):
            return folder
    here = Path(os.path.realpath(os.getcwd()))
    return here if here == common or here in list(common.parents)[:UNMARKED_DEPTH] else common


def _common_folder(paths: Sequence[str], stdin_filename: Optional[str] = None) -> Path:
    absolute = []
    for given in paths:
        name = (stdin_filename or ".") if given == "-" else given
        absolute.append(Path(os.path.realpath(os.path.join(os.getcwd(), name))))  # realpath: no error on loops
    candidates = [set(path.parents) | ({path} if path.is_dir() else set()) for path in absolute or [Path.cwd()]]
    return max(set.intersection(*candidates), key=lambda path: len(path.parts))


def load_project_config(paths: Sequence[str], stdin_filename: Optional[str] = None) -> ProjectConfig:
    root = find_project_root(paths, stdin_filename)
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return ProjectConfig(root)
    table = _load(pyproject).get("tool", {}).get(TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] must be a table")
    return ProjectConfig(root, pyproject, table)


def option_defaults(config: ProjectConfig, parser: argparse.ArgumentParser) -> dict:
    """The table as defaults for `parser` (dest -> value), each checked against its option."""
    options = {
        action.dest: action
        for action in parser._actions  # argparse has no public way to list them
        if action.option_strings and action.dest not in NOT_CONFIGURABLE
    }
    defaults = {}
    for key, value in config.table.items():
        if key in SUBCOMMAND_TABLES and isinstance(value, dict):
            continue
        dest = key.replace("-", "_")
        action = options.get(dest)
        where = f"{config.file}: [tool.{TABLE}]"
        if action is None:
            known = ", ".join(sorted(name.replace("_", "-") for name in options))
            raise ConfigError(f"{where}: unknown option '{key}' (known: {known})")
        problem = _type_problem(action, value)
        if problem is not None:
            raise ConfigError(f"{where}: {key} {problem}, not {value!r}")
        defaults[dest] = value
    if defaults.get("quiet") and defaults.get("verbose"):
        raise ConfigError(f"{config.file}: [tool.{TABLE}]: quiet and verbose cannot both be true")
    return defaults


def _type_problem(action: argparse.Action, value) -> Optional[str]:
    if action.nargs == 0:  # a flag
        return None if isinstance(value, bool) else "must be true or false"
    if action.choices is not None:
        return None if value in action.choices else f"must be one of {', '.join(map(repr, action.choices))}"
    wanted = type(action.default) if action.default is not None else str
    if isinstance(value, bool) or not isinstance(value, wanted):
        return f"must be {'an integer' if wanted is int else 'a string'}"
    if action.type is not None:
        try:
            action.type(str(value))
        except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
            return str(error)
    return None


def _load(pyproject: Path) -> dict:
    try:
        with open(pyproject, "rb") as stream:
            return tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{pyproject}: cannot read: {error}") from None
