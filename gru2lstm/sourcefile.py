"""Reading and writing source files without losing anything: encoding, BOM, line endings, mode.

`read_source` decodes a file the way Python itself does (PEP 263 cookie, UTF-8 by default, a
UTF-8 BOM remembered as the codec "utf-8-sig") and keeps its line endings as they are: LibCST
round-trips CRLF and mixed endings by itself, and lines it adds use the file's first ending.

`write_source` encodes with the same codec (so the BOM comes back), refuses text that does not
parse, and replaces the file atomically: a temporary file in the same folder, flushed and synced,
given the original's mode, then `os.replace`d over it. A symlink is followed, so the link stays a
link. If the file changed on disk since it was read, nothing is written.
"""

from __future__ import annotations

import io
import os
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

__all__ = [
    "ChangedOnDisk",
    "SourceFile",
    "UnparsableOutput",
    "check_parses",
    "decode",
    "read_source",
    "write_source",
]

TEMP_SUFFIX = ".gru2lstm-tmp"


class UnparsableOutput(ValueError):
    """The text to be written is not valid Python; the file is left as it was."""


class ChangedOnDisk(OSError):
    """The file changed between reading and writing; the file is left as the other writer left it."""


@dataclass(frozen=True)
class SourceFile:
    path: Path
    data: bytes  # the bytes as read
    text: str  # decoded as-is: line endings untouched, BOM removed
    encoding: str  # as tokenize detects it; "utf-8-sig" means the file has a BOM

    @property
    def has_bom(self) -> bool:
        return self.encoding == "utf-8-sig"

    @property
    def newline(self) -> str:
        """The first line ending of the file ("\\n" when it has none)."""
        for index, char in enumerate(self.text):
            if char == "\n":
                return "\r\n" if index and self.text[index - 1] == "\r" else "\n"
        return "\n"


def decode(data: bytes) -> tuple[str, str]:
    """Decode source bytes as Python would. Returns (text, encoding).

    Raises SyntaxError for a bad or contradictory coding cookie, LookupError for an unknown
    codec, UnicodeDecodeError for bytes the codec cannot read.
    """
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), encoding


def read_source(path: Union[str, os.PathLike]) -> SourceFile:
    path = Path(path)
    data = path.read_bytes()
    text, encoding = decode(data)
    return SourceFile(path, data, text, encoding)


def check_parses(text: str, filename: str = "<gru2lstm output>") -> Optional[str]:
    """None if `text` compiles as a module, else Python's message with its line."""
    try:
        compile(text, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"{error.msg} (line {error.lineno})"
    except ValueError as error:  # e.g. a null byte
        return str(error)
    return None


def write_source(source: SourceFile, text: str) -> None:
    """Replace the file atomically with `text` in the file's own encoding, keeping its mode.

    Raises UnparsableOutput (nothing written) if `text` does not parse, ChangedOnDisk if the
    file no longer holds the bytes it was read with, UnicodeEncodeError if `text` cannot be
    written in the file's encoding, OSError for the rest. On any failure the file is untouched
    and no temporary file is left behind.
    """
    problem = check_parses(text)
    if problem is not None:
        raise UnparsableOutput(f"{source.path}: refusing to write source that does not parse: {problem}")
    data = text.encode(source.encoding)
    path = Path(os.path.realpath(source.path))  # write through a symlink, keep the link
    if path.read_bytes() != source.data:
        raise ChangedOnDisk(f"{source.path}: changed on disk since it was read; not written")
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
