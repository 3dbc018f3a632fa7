"""The tool's own comments in a file: `# gru2lstm: ignore[...]` and `# gru2lstm: manual (...)`.

- `# gru2lstm: ignore[G2L101]` (or `ignore[G2L101, G2L104]`, or a bare `# gru2lstm: ignore` for
  every code) silences those findings: they are still reported, marked suppressed, but block
  nothing, so the use they point at is left as it is and the rest of the file is migrated.
- `# gru2lstm: manual (G2L101)`, the marker --allow-partial leaves, is itself a finding (G2L106):
  the file needs a person until the marker is removed.

A comment covers the whole statement it ends, every physical line of it (as flake8's `# noqa`
does, and because --allow-partial puts its marker after a statement's last line); a comment on a
line of its own covers that line only.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field, replace
from typing import Optional

from gru2lstm.findings import new_finding

__all__ = ["MARKER", "Comments", "has_marker", "read_comments", "review"]

MARKER = b"gru2lstm: manual"  # the bytes a file with a marker holds, for the cheap pre-check
_IGNORE = re.compile(r"#\s*gru2lstm:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?")
_MANUAL = re.compile(r"#\s*gru2lstm:\s*manual\b(?:\s*\((?P<codes>[^)]*)\))?")
_SKIPPED_TOKENS = frozenset({tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER})


@dataclass
class Comments:
    """The tool's comments in one source."""

    ignored: dict = field(default_factory=dict)  # line -> set of codes, or None for every code
    markers: list = field(default_factory=list)  # (line, column, "G2L101, G2L104") per manual marker

    def ignores(self, line: int, code: str) -> bool:
        if line not in self.ignored:
            return False
        codes = self.ignored[line]
        return codes is None or code in codes


def has_marker(data: bytes) -> bool:
    """Might this file hold a `# gru2lstm: manual` marker? (A byte search, before any parsing.)"""
    return MARKER in data


def read_comments(source: str) -> Comments:
    comments = Comments()
    if "gru2lstm:" not in source:
        return comments
    for lines, line, column, text in _comment_spans(source):
        ignore = _IGNORE.search(text)
        if ignore is not None:
            codes = _codes(ignore.group("codes"))
            for covered in lines:
                known = comments.ignored.get(covered, set())
                comments.ignored[covered] = None if codes is None or known is None else known | codes
        manual = _MANUAL.search(text)
        if manual is not None:
            comments.markers.append((line, column + manual.start() + 1, manual.group("codes") or ""))
    return comments


def review(findings: list, source: str) -> list:
    """The findings with those a comment ignores marked suppressed, plus one per manual marker."""
    comments = read_comments(source)
    marked = [
        new_finding("G2L106", f"`# gru2lstm: manual ({codes})`: finish this use by hand, then remove the marker", line, column)
        for line, column, codes in comments.markers
    ]
    return [replace(f, suppressed=True) if comments.ignores(f.line, f.code) else f for f in findings + marked]


def _codes(text: Optional[str]) -> Optional[set]:
    """`G2L101, G2L104` -> {"G2L101", "G2L104"}; nothing (a bare ignore) -> None: every code."""
    codes = {code.strip().upper() for code in (text or "").split(",") if code.strip()}
    return codes or None


def _comment_spans(source: str):
    """(lines covered, line, 0-based column, text) of each comment that names the tool."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):  # the engine reports the source itself; be lenient
        for number, line in enumerate(source.splitlines(), 1):
            at = line.find("#")
            if at >= 0 and "gru2lstm:" in line[at:]:
                yield [number], number, at, line[at:]
        return
    start = None  # first line of the statement being read
    pending = []
    for token in tokens:
        if token.type == tokenize.COMMENT:
            if "gru2lstm:" not in token.string:
                continue
            if start is None:
                yield [token.start[0]], *token.start, token.string
            else:
                pending.append(token)
        elif token.type == tokenize.NEWLINE:
            for comment in pending:
                yield list(range(start, token.start[0] + 1)), *comment.start, comment.string
            start, pending = None, []
        elif token.type not in _SKIPPED_TOKENS and start is None:
            start = token.start[0]
