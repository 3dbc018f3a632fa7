"""Reading and writing source files without losing anything: encoding, BOM, line endings, mode.

`read_source` decodes a file the way Python itself does (PEP 263 cookie, UTF-8 by default, a
UTF-8 BOM remembered as the codec "utf-8-sig") and keeps its line endings as they are: LibCST
round-trips CRLF and mixed endings by itself, and lines it adds use the file's first ending.

`write_source` encodes with the same codec (so the BOM comes back), refuses text that does not
parse, and replaces the file atomically: a temporary file in the same folder, flushed and synced,
given the original's owner, group and mode, then `os.replace`d over it. A symlink is followed, so
the link stays a link. If the file changed on disk since it was read, nothing is written.

Black and ruff write in place instead, which keeps the inode (hence owner, mode and hard links)
for free; we do not, because a write in place that is cut short (a kill, a full disk) leaves a
truncated file, and a run killed at any moment must leave each file as it was or as rewritten.
So the owner and group are copied explicitly (when they cannot be — a user who may write a file
owned by another — the file is not written), and a hard link is broken: the name given is
rewritten, the other names keep the old content.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from gru2lstm.output_check import check_parses

__all__ = [
    "ChangedOnDisk",
    "SourceFile",
    "UnparsableOutput",
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


def write_source(source: SourceFile, text: str) -> None:
    """Replace the file atomically with `text` in the file's own encoding, keeping its owner,
    group and mode.

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
    original = path.stat()
    handle, temporary = _new_file(path)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            _keep_owner_and_mode(temporary or stream.fileno(), original)
            os.fsync(stream.fileno())
            if temporary is None:
                temporary = _name(stream.fileno(), path)
        os.replace(temporary, path)
    except BaseException:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _new_file(path: Path) -> tuple:
    """(a descriptor open for writing, its name) for a new file beside `path`.

    On Linux the file has no name (O_TMPFILE) until `_name` gives it one just before it replaces
    `path`: a SIGKILL, which no cleanup can follow, can then leave a temporary file only between
    those two calls, not during the write and the fsync. Elsewhere, or on a filesystem without
    O_TMPFILE, it is a named temporary file: (descriptor, name).
    """
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        try:
            return os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o600), None
        except OSError:  # EOPNOTSUPP, or EISDIR from a kernel that predates it
            pass
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)


def _name(handle: int, path: Path) -> str:
    """Link the unnamed file open as `handle` under a temporary name beside `path`."""
    temporary = f".{path.name}.{os.urandom(4).hex()}{TEMP_SUFFIX}"
    folder = os.open(path.parent, os.O_RDONLY)
    try:  # a folder descriptor makes os.link call linkat with AT_SYMLINK_FOLLOW, which /proc needs
        os.link(f"/proc/self/fd/{handle}", temporary, dst_dir_fd=folder)
    finally:
        os.close(folder)
    return str(path.parent / temporary)


def _keep_owner_and_mode(new_file, original: os.stat_result) -> None:
    """Give the new file (a name or a descriptor) the original's owner, group and mode.

    PermissionError when the owner cannot be kept: a user who may write a file owned by another
    may not give a new file away.
    """
    mine = os.stat(new_file)
    if hasattr(os, "chown") and (mine.st_uid, mine.st_gid) != (original.st_uid, original.st_gid):
        try:
            os.chown(new_file, original.st_uid, original.st_gid)
        except PermissionError:
            raise PermissionError(
                errno.EPERM, f"the file belongs to uid:gid {original.st_uid}:{original.st_gid}, which its replacement could not keep"
            ) from None
    os.chmod(new_file, stat.S_IMODE(original.st_mode))  # after chown, which clears the setuid bits
