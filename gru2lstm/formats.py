"""Reports for CI: GitHub workflow annotations and SARIF 2.1.0, built from FileResults.

Both say what the text report says, in the form a CI service reads: a finding at its place, a
file that cannot be read or parsed, and (annotations, under ``--check``) a file that would be
rewritten. Rules and their help text come from the one catalogue of codes (findings.CODES and
findings.HELP).
Line and column numbers are those of the file as it was read, as everywhere in the report.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from gru2lstm import __version__
from gru2lstm.findings import CODES, ERROR, HELP, INFO, WARNING, Finding

__all__ = ["SARIF_SCHEMA", "github_annotations", "sarif_log"]

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVELS = {ERROR: "error", WARNING: "warning", INFO: "note"}
GITHUB_COMMANDS = {ERROR: "error", WARNING: "warning", INFO: "notice"}


# --------------------------------------------------------------------------------- github
def github_annotations(results: list, shown, check: bool) -> list:
    """One `::error file=…,line=…,col=…,title=…::message` line per thing to show.

    `shown(findings)` picks the findings to show (the text report's choice: info and suppressed
    ones only with --verbose); a suppressed finding is a notice, since it fails nothing.
    """
    lines = []
    for result in results:
        if result.status == "error":
            error = result.error
            lines.append(_annotation("error", result.path, error.line, error.column, "gru2lstm", error.message))
            continue
        if result.migration is not None:
            for finding in shown(result.migration.findings):
                command = "notice" if finding.suppressed else GITHUB_COMMANDS[finding.severity]
                title = f"{finding.code} (suppressed)" if finding.suppressed else finding.code
                lines.append(_annotation(command, result.path, finding.line, finding.column, title, finding.message))
        if check and result.status == "changed":
            lines.append(_annotation("error", result.path, 1, 1, "gru2lstm", "would rewrite: run `gru2lstm rewrite` on it"))
    return lines


def _annotation(command: str, path: str, line: int, column: int, title: str, message: str) -> str:
    properties = ",".join(
        f"{key}={_escape_property(str(value))}"
        for key, value in (("file", Path(path).as_posix()), ("line", line), ("col", column), ("title", title))
    )
    return f"::{command} {properties}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    """As @actions/core escapes a command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """As @actions/core escapes a command's property values: the message's escapes, plus `:` and `,`."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# --------------------------------------------------------------------------------- sarif
def sarif_log(results: list, exit_code: int) -> dict:
    """A SARIF 2.1.0 log of one run: every finding a result (suppressed ones with an in-source
    suppression), files that cannot be read or parsed as tool notifications."""
    codes = list(CODES)
    findings, notifications = [], []
    for result in results:
        if result.status == "error":
            error = result.error
            notifications.append({
                "level": "error",
                "message": {"text": error.message},
                "locations": [_location(result.path, error.line, error.column)],
            })
        if result.migration is not None:
            findings.extend(_sarif_result(result.path, finding, codes) for finding in result.migration.findings)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gru2lstm",
                "version": __version__,
                "rules": [_rule(code) for code in codes],
            }},
            "invocations": [{
                "executionSuccessful": not notifications,
                "exitCode": exit_code,
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": findings,
        }],
    }


def _rule(code: str) -> dict:
    severity, sentence = CODES[code]
    return {
        "id": code,
        "shortDescription": {"text": sentence},
        "help": {"text": HELP[code]},
        "defaultConfiguration": {"level": SARIF_LEVELS[severity]},
    }


def _sarif_result(path: str, finding: Finding, codes: list) -> dict:
    item = {
        "ruleId": finding.code,
        "ruleIndex": codes.index(finding.code),
        "level": SARIF_LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(path, finding.line, finding.column)],
    }
    if finding.suppressed:
        item["suppressions"] = [{"kind": "inSource", "justification": "# gru2lstm: ignore"}]
    return item


def _location(path: str, line: int, column: int) -> dict:
    return {"physicalLocation": {
        "artifactLocation": {"uri": _uri(path)},
        "region": {"startLine": max(line, 1), "startColumn": max(column, 1)},
    }}


def _uri(path: str) -> str:
    """A relative URI for a path under the working folder (code scanning resolves it against the
    checkout), a file: URI otherwise."""
    absolute = Path(path).absolute()
    try:
        relative = Path(os.path.relpath(absolute))
    except ValueError:  # another drive on Windows
        relative = None
    if relative is not None and not relative.as_posix().startswith("../"):
        return quote(relative.as_posix())
    return absolute.as_uri()
