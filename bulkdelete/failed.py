"""The failed file: IDs that could not be deleted, one per line, re-feedable as input.

Beside it, ``<failed>.reasons.jsonl`` keeps each failed ID's reason and the server's own
words. Both are fsync'd before the checkpoint records the batch as done (spec §4.1), so a
crash can duplicate a line here but never lose one. These are the only files that hold
IDs; they are created owner-only (0600).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from bulkdelete.checkpoint import open_private


class FailureSink(Protocol):
    async def add(self, failures: Sequence[tuple[str, str, str]]) -> None:
        """Durably keep ``(id, reason, detail)`` triples before the caller goes on."""
        ...


def reasons_path(failed: Path) -> Path:
    return failed.with_name(failed.name + ".reasons.jsonl")


class FailedFile:
    """Append-only failed file plus its reasons file."""

    def __init__(self, path: Path, *, truncate: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if truncate else 0)
        self._ids = open_private(path, mode)
        self._reasons = open_private(reasons_path(path), mode)

    async def add(self, failures: Sequence[tuple[str, str, str]]) -> None:
        if failures:
            await asyncio.to_thread(self._write, failures)

    def _write(self, failures: Sequence[tuple[str, str, str]]) -> None:
        ids = "".join(f"{ident}\n" for ident, _, _ in failures).encode()
        reasons = "".join(
            json.dumps({"id": ident, "reason": reason, "detail": detail}, ensure_ascii=False)
            + "\n"
            for ident, reason, detail in failures
        ).encode()
        _write_all(self._ids, ids)
        _write_all(self._reasons, reasons)
        os.fsync(self._ids)
        os.fsync(self._reasons)

    def close(self) -> None:
        os.close(self._ids)
        os.close(self._reasons)


class MemoryFailures:
    """For library calls on an iterable of IDs (no files): failures kept in a list."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []

    async def add(self, failures: Sequence[tuple[str, str, str]]) -> None:
        self.items.extend(failures)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
