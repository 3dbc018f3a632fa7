"""Reading and writing source files without losing anything: encoding, BOM, line endings, mode."""

from __future__ import annotations

import io
import os
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceFile:
    path: Path
    data: bytes
    text: str  # decoded as-is: line endings untouched, BOM removed
    encoding: str  # as tokenize detects it; "utf-8-sig" means the file has a BOM


def read_source(path: Path) -> SourceFile:
    data = Path(path).read_bytes()
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return SourceFile(Path(path), data, data.decode(encoding), encoding)


def write_source(source: SourceFile, text: str) -> None:
    """Replace the file atomically with `text` in the file's own encoding, keeping its mode."""
    data = text.encode(source.encoding)
    path = source.path
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".gru2lstm")
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
