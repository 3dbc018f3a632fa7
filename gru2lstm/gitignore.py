"""A `.gitignore` file read for a folder walk: plain name patterns matched here, the rest by pathspec.

pathspec 1.x imports asyncio (typing_extensions' `@deprecated` does, at pathspec's import): about
40 ms, a tenth of a one-file run, paid whenever the project walk meets a `.gitignore`. Most such
files hold only name patterns (`__pycache__/`, `*.egg-info/`, `/dist`, `*.log`): a glob of one
path component, anchored to the file's folder by a leading `/` or not, for folders only by a
trailing `/` or not. Those are matched here on the path's components with `fnmatchcase`, which is
what git does for them (tests/test_gitignore.py holds the answers against pathspec's). A file with
any other line (a negation, an escape, `**`, a character class, an inner `/`, surrounding blanks)
is handed to pathspec whole, which then reports a bad pattern as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Optional, Union

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

__all__ = ["NamePattern", "NamePatterns", "read_gitignore"]

# A line this module matches itself: an optional leading `/`, one component of plain glob
# characters (no class, no escape, no `**`), an optional trailing `/`.
_NAME_LINE = re.compile(r"/?(?!.*\*\*)[^/\s!#\\\[\]][^/\\\[\]]*(?<!\s)/?")


@dataclass(frozen=True)
class NamePattern:
    glob: str  # one path component
    anchored: bool  # a leading `/`: the first component below the .gitignore's folder only
    folders_only: bool  # a trailing `/`

    def matches(self, components: list, folders: int) -> bool:
        """`components` of the path; the first `folders` of them are folders. A folder matched
        ignores everything below it, so any folder component may match; the file itself only
        when the pattern is not for folders only."""
        candidates = folders if self.folders_only else len(components)
        if self.anchored:
            candidates = min(candidates, 1)
        return any(fnmatchcase(component, self.glob) for component in components[:candidates])


@dataclass(frozen=True)
class NamePatterns:
    """A .gitignore of name patterns only; `match_file` as pathspec's GitIgnoreSpec answers it."""

    patterns: tuple

    def match_file(self, relative: str) -> bool:
        components = relative.split("/")
        folders = len(components) - 1  # a trailing `/` leaves an empty last component: all are folders
        if components[-1] == "":
            components.pop()
        return any(pattern.matches(components, folders) for pattern in self.patterns)


def read_gitignore(lines: list) -> Union[NamePatterns, GitIgnoreSpec]:
    """The matcher of a .gitignore's lines. pathspec's ValueError (a bad pattern) propagates."""
    patterns = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        pattern = _name_pattern(line)
        if pattern is None:
            from pathspec import GitIgnoreSpec  # only for a file with other patterns (~40 ms)

            return GitIgnoreSpec.from_lines(lines)
        patterns.append(pattern)
    return NamePatterns(tuple(patterns))


def _name_pattern(line: str) -> Optional[NamePattern]:
    if not _NAME_LINE.fullmatch(line) or line.strip("/") == "":
        return None
    return NamePattern(line.strip("/"), anchored=line.startswith("/"), folders_only=line.endswith("/"))
