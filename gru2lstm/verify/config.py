"""What `gru2lstm verify` runs: one VerifyConfig, merged from pyproject.toml, --config and the CLI.

Precedence (lowest first): defaults < `[tool.gru2lstm.verify]` of the nearest pyproject.toml
above the rewritten file (and, inside it, the `files."<glob>"` sub-table matching the file)
< `--config FILE` < command-line options. Torch-free.
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Optional

try:  # Python 3.11+
    import tomllib
except ImportError:  # pragma: no cover - Python 3.9/3.10
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ImportError:
        tomllib = None  # type: ignore[assignment]


class ConfigError(Exception):
    """The configuration cannot be used (exit 2)."""


@dataclass(frozen=True)
class VerifyConfig:
    class_name: Optional[str] = None  # the class (or factory) to build; None: the one IQN-style class
    kwargs: dict = field(default_factory=dict)  # constructor keyword arguments
    obs_shape: Optional[tuple] = None  # one observation's shape; None: from kwargs (obs_shape/input_size/obs_dim)
    steps: int = 72  # acting steps in all, each followed by observe()
    epochs: int = 3  # the steps are split into this many epochs: reset() first, train() last
    train_every: str = "epoch"  # "epoch": train() once at each epoch's end (as the seeds' experiments); "step": after every step
    episode_length: int = 7  # an episode ends (done=True) every this many steps and at each epoch end
    seed: int = 0
    learn: bool = False  # also run the opt-in `memory` check
    learn_budget: float = 180.0  # seconds the memory check may spend training both models over its seeds
    learn_kwargs: dict = field(default_factory=dict)  # constructor overrides for the memory check
    learn_delay: int = 2  # blank steps between the cue and the query
    action_space: Optional[int] = None  # number of discrete actions; None: model.action_space if any
    driver: Optional[str] = None  # "module:function" for non-IQN models (see interface.py)
    driver_dir: Optional[str] = None  # folder of the config that named the driver (tried first)
    factory: Optional[str] = None  # "module:function" building the model as function(cls, **kwargs)
    factory_dir: Optional[str] = None  # folder of the config that named the factory (tried first)
    original: Optional[str] = None  # path of the original file; None: `git show HEAD:<path>`
    format: str = "text"
    checks: Optional[tuple] = None  # the checks to run; None: the default ones (+ memory with learn)
    base_dir: Optional[str] = None  # where relative paths in the config are resolved
    warnings: tuple = ()  # unknown keys met while reading the configuration

    def merged(self, values: dict) -> VerifyConfig:
        values = dict(values)
        if "warnings" in values:
            values["warnings"] = self.warnings + tuple(values["warnings"])
        return replace(self, **values)


# Keys accepted in TOML tables and on the command line (dashes or underscores).
_KEYS = {
    "class": "class_name",
    "class_name": "class_name",
    "kwargs": "kwargs",
    "obs_shape": "obs_shape",
    "steps": "steps",
    "epochs": "epochs",
    "episode_length": "episode_length",
    "train_every": "train_every",
    "seed": "seed",
    "learn": "learn",
    "learn_budget": "learn_budget",
    "learn_kwargs": "learn_kwargs",
    "learn_delay": "learn_delay",
    "driver": "driver",
    "factory": "factory",
    "n_actions": "action_space",
    "action_space": "action_space",
    "original": "original",
    "format": "format",
    "checks": "checks",
}
ALL_CHECKS = ("interface", "shapes", "replay", "equivalence", "memory")
FORMATS = ("text", "json")
TRAIN_EVERY = ("epoch", "step")


def parse_obs_shape(value: Any) -> tuple:
    """`"4,9,9"`, `[4, 9, 9]` or `324` -> `(4, 9, 9)`."""
    if isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, str):
        parts = [p.strip() for p in value.strip().strip("()[]").split(",") if p.strip()]
        try:
            items = [int(p) for p in parts]
        except ValueError:
            raise ConfigError(f"obs-shape: expected integers like 4,9,9, got {value!r}") from None
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ConfigError(f"obs-shape: expected integers like 4,9,9, got {value!r}")
    if not items or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in items):
        raise ConfigError(f"obs-shape: expected positive integers, got {value!r}")
    return tuple(items)


def parse_kwargs(value: Any, what: str = "kwargs") -> dict:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as error:
            raise ConfigError(f"{what}: not valid JSON ({error.msg} at column {error.colno}): {value}") from None
        if not isinstance(parsed, dict):
            raise ConfigError(f"{what}: expected a JSON object such as '{{\"hidden_size\": 32}}', got {value}")
        return parsed
    raise ConfigError(f"{what}: expected a table or a JSON object, got {value!r}")


def _validate(key: str, value: Any, source: str) -> Any:
    def positive_int(v):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"{source}: {key} must be a positive integer, got {v!r}")
        return v

    if key == "class_name":
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{source}: class must be a name, got {value!r}")
        return value.strip()
    if key == "kwargs":
        return parse_kwargs(value, "kwargs")
    if key == "learn_kwargs":
        return parse_kwargs(value, "learn-kwargs")
    if key == "obs_shape":
        return parse_obs_shape(value)
    if key in ("steps", "epochs", "episode_length", "action_space"):
        return positive_int(value)
    if key == "learn_delay":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{source}: learn-delay must be an integer >= 0, got {value!r}")
        return value
    if key == "seed":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{source}: seed must be an integer, got {value!r}")
        return value
    if key == "learn":
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: learn must be true or false, got {value!r}")
        return value
    if key == "learn_budget":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{source}: learn-budget must be a positive number of seconds, got {value!r}")
        return float(value)
    if key in ("driver", "factory"):
        if not isinstance(value, str) or ":" not in value:
            raise ConfigError(f"{source}: {key} must look like 'module:function', got {value!r}")
        return value
    if key == "original":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{source}: original must be a path, got {value!r}")
        return value
    if key == "checks":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{source}: checks must be a list of check names, got {value!r}")
        names = tuple(str(i).strip() for i in items if str(i).strip())
        unknown = [n for n in names if n not in ALL_CHECKS]
        if unknown or not names:
            raise ConfigError(f"{source}: unknown check(s) {', '.join(unknown) or '(none given)'} (known: {', '.join(ALL_CHECKS)})")
        return names
    if key == "train_every":
        if value not in TRAIN_EVERY:
            raise ConfigError(f"{source}: train-every must be one of {', '.join(TRAIN_EVERY)}, got {value!r}")
        return value
    if key == "format":
        if value not in FORMATS:
            raise ConfigError(f"{source}: format must be one of {', '.join(FORMATS)}, got {value!r}")
        return value
    return value  # pragma: no cover


def values_from_table(table: dict, source: str, base_dir: Optional[Path] = None) -> dict:
    """A TOML table (or CLI dict) -> VerifyConfig field values, validated."""
    values: dict = {}
    for raw_key, value in table.items():
        if raw_key == "files":
            continue  # per-file sub-tables, applied by load_config
        key = _KEYS.get(raw_key.replace("-", "_"))
        if key is None:
            # Unknown keys are warned about, not fatal: a fixture's verify.toml may carry keys
            # that other tools read.
            known = sorted({k.replace("_", "-") for k in _KEYS if k != "class_name"})
            values.setdefault("warnings", ())
            values["warnings"] += (f"{source}: unknown key {raw_key!r} ignored (known: {', '.join(known)})",)
            continue
        value = _validate(key, value, source)
        if key == "original" and base_dir is not None and not os.path.isabs(value):
            value = str(base_dir / value)
        if key in ("driver", "factory"):
            values[f"{key}_dir"] = str(base_dir) if base_dir is not None else os.getcwd()
        values[key] = value
    return values


def _read_toml(path: Path) -> dict:
    if tomllib is None:  # pragma: no cover
        raise ConfigError(f"{path}: reading TOML needs Python 3.11 or the 'tomli' package")
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml in the folder of `start` or above it."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def _verify_table(document: dict) -> Optional[dict]:
    table = document.get("tool", {}).get("gru2lstm", {}).get("verify")
    if table is not None and not isinstance(table, dict):
        raise ConfigError("[tool.gru2lstm.verify] must be a table")
    return table


def _file_tables(table: dict, base_dir: Path, target: Path, source: str) -> list:
    """The `files."<glob>"` sub-tables whose glob (relative to base_dir) matches target."""
    files = table.get("files")
    if files is None:
        return []
    if not isinstance(files, dict):
        raise ConfigError(f"{source}: 'files' must be a table of glob -> table")
    try:
        relative = target.resolve().relative_to(base_dir.resolve()).as_posix()
    except ValueError:
        relative = target.as_posix()
    matched = []
    for pattern, sub in files.items():
        if not isinstance(sub, dict):
            raise ConfigError(f"{source}: files.{pattern!r} must be a table")
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(target.name, pattern):
            matched.append((pattern, sub))
    return matched


def _table_values(document: dict, path: Path, target: Path, is_pyproject: bool) -> dict:
    table = _verify_table(document)
    if table is None:
        if is_pyproject:
            return {}
        table = document  # a plain verify config file: its keys at top level
    source = str(path)
    values = values_from_table(table, source, path.parent)
    for pattern, sub in _file_tables(table, path.parent, target, source):
        values.update(values_from_table(sub, f"{source} [files.{pattern!r}]", path.parent))
    return values


def load_config(
    target: str | os.PathLike,
    cli: Optional[dict] = None,
    config_file: Optional[str | os.PathLike] = None,
    use_pyproject: bool = True,
) -> VerifyConfig:
    """Merge defaults, pyproject.toml, --config FILE and CLI values for the file `target`."""
    target = Path(target)
    config = VerifyConfig(base_dir=str(target.resolve().parent))
    if use_pyproject:
        pyproject = find_pyproject(target)
        if pyproject is not None:
            values = _table_values(_read_toml(pyproject), pyproject, target, is_pyproject=True)
            if values:
                config = config.merged(values)
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"--config {config_file}: no such file")
        config = config.merged(_table_values(_read_toml(path), path, target, is_pyproject=False))
    if cli:
        config = config.merged(values_from_table({k: v for k, v in cli.items() if v is not None}, "command line"))
    return config


def config_as_dict(config: VerifyConfig) -> dict:
    return {f.name: getattr(config, f.name) for f in fields(config)}
