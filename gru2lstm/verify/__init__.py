"""gru2lstm verify: import a rewritten model next to its original and prove, by running both, that the
migration is R2D2-correct and that nothing but the recurrence changed.

Importing this package does not import torch; `verify_files` / `run` do, when called.

    from gru2lstm.verify import load_config, verify_files
    report = verify_files("pkg/model.py", original_source_text, load_config("pkg/model.py"))
    report.exit_code   # 0 all checks passed, 1 a check failed, 2 usage/configuration error
    report.summary()   # one line saying why
"""

from __future__ import annotations

from gru2lstm.verify.config import ConfigError, VerifyConfig, load_config
from gru2lstm.verify.interface import Interface
from gru2lstm.verify.results import CHECKS, DEFAULT_CHECKS, CheckResult, VerifyReport

__all__ = [
    "CHECKS",
    "DEFAULT_CHECKS",
    "CheckResult",
    "ConfigError",
    "Interface",
    "VerifyConfig",
    "VerifyReport",
    "load_config",
    "run",
    "verify_files",
]


def verify_files(rewritten_path, original_source_text=None, config=None, original_overrides=None) -> VerifyReport:
    """Verify `rewritten_path` against `original_source_text` (None: config.original or git HEAD).

    Never raises for a failing check or a bad configuration: read `report.exit_code` and
    `report.summary()`. `original_overrides` ({path: text}) gives the original text of other
    files of the same package that were rewritten too.
    """
    from gru2lstm.verify.runner import verify_files as _verify_files

    return _verify_files(rewritten_path, original_source_text, config, original_overrides)


def run(rewritten_path, config: VerifyConfig, original_text=None, original_label=None, original_overrides=None) -> VerifyReport:
    from gru2lstm.verify.runner import run as _run

    return _run(rewritten_path, config, original_text, original_label, original_overrides)
