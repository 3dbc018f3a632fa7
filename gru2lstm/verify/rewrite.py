"""`gru2lstm rewrite --verify`: verify every rewritten file against the file as it was, and put
back, byte for byte, any file whose rewrite fails a check.

Files rewritten together because they share hidden states (a group, `FileResult.group`) are
verified and put back together: a model file of the group is verified with the other files of
the group as they were on the original side, and when it fails, every file of the group goes
back, so no half-migrated state crosses between them.
"""

from __future__ import annotations

import re
from pathlib import Path

from gru2lstm.results import FileResult
from gru2lstm.sourcefile import decode, read_source, write_source


def verify_rewritten(results: list, originals: dict) -> list:
    """`originals` maps each path to its bytes before the rewrite. Returns the updated results."""
    from gru2lstm.verify import verify_files

    texts = {path: decode(data)[0] for path, data in originals.items()}
    written = [r for r in results if r.written]
    overrides = {str(Path(r.path).resolve()): texts[r.path] for r in written}
    for unit in _units(written):
        failure = None
        passed = []
        for result in _models(unit, texts):
            report = verify_files(result.path, texts[result.path], original_overrides=overrides)
            if report.exit_code != 0:
                failure = (result, report)
                break
            passed.append(f"{result.path}: {report.summary()}" if len(unit) > 1 else report.summary())
        if failure is None:
            for result in unit:
                result.verification = "verified: " + "; ".join(passed)
            continue
        failed, report = failure
        for result in unit:
            _restore(result, originals[result.path], texts[result.path])
            because = report.summary() if result is failed else f"{failed.path}, which shares hidden states with it, failed: {report.summary()}"
            result.verification = f"restored to its original, because {because}"
    return results


def _units(written: list) -> list:
    """The written results, a group's together (in order of their first file)."""
    units, by_path = [], {}
    for result in written:
        unit = next((by_path[p] for p in result.group if p in by_path), None)
        if unit is None:
            unit = []
            units.append(unit)
        unit.append(result)
        by_path[result.path] = unit
    return units


def _models(unit: list, texts: dict) -> list:
    """The files of a unit to verify: those that define the class their configuration names, else
    those that build the recurrent module, else all of them."""
    if len(unit) == 1:
        return unit
    from gru2lstm.verify.config import ConfigError, load_config

    named = []
    for result in unit:
        try:
            class_name = load_config(result.path).class_name
        except ConfigError:
            continue
        if class_name and re.search(rf"^\s*class {re.escape(class_name)}\b", texts[result.path], re.MULTILINE):
            named.append(result)
    if named:
        return named
    building = [r for r in unit if r.migration is not None and any(step.step == "module" and step.lines for step in r.migration.steps)]
    return building or unit


def _restore(result: FileResult, data: bytes, text: str) -> None:
    current = read_source(result.path)
    write_source(current, text)
    if Path(result.path).read_bytes() != data:  # decoding is lossless; this guards that promise
        Path(result.path).write_bytes(data)
    result.written = False
    result.status = "needs_attention"
