"""`gru2lstm rewrite --verify`: verify every rewritten file against the file as it was, and put
back, byte for byte, any file whose rewrite fails a check."""

from __future__ import annotations

from pathlib import Path

from gru2lstm.results import FileResult
from gru2lstm.sourcefile import decode, read_source, write_source


def verify_rewritten(results: list, originals: dict) -> list:
    """`originals` maps each path to its bytes before the rewrite. Returns the updated results."""
    from gru2lstm.verify import verify_files

    texts = {path: decode(data)[0] for path, data in originals.items()}
    written = [r for r in results if r.written]
    overrides = {str(Path(r.path).resolve()): texts[r.path] for r in written}
    for result in written:
        report = verify_files(result.path, texts[result.path], original_overrides=overrides)
        if report.exit_code == 0:
            result.verification = "verified: " + report.summary()
            continue
        _restore(result, originals[result.path], texts[result.path])
        result.verification = f"restored to its original, because {report.summary()}"
    return results


def _restore(result: FileResult, data: bytes, text: str) -> None:
    current = read_source(result.path)
    write_source(current, text)
    if Path(result.path).read_bytes() != data:  # decoding is lossless; this guards that promise
        Path(result.path).write_bytes(data)
    result.written = False
    result.status = "needs_attention"
