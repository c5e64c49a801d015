"""The journal: batch events appended between two snapshots, their replay, and the
ledger that records each event in memory and in the journal by one call.

A record is compact JSON, a tab, its CRC-32 and a newline, so a damaged or torn record is
detected rather than trusted. Three kinds exist: ``{"k":"s","s":seq}`` (a request of the
batch left), ``{"k":"a","s":seq}`` (that request was answered without acknowledging any
ID, so nothing of the batch is at the server) and
``{"k":"d","s":seq,"o":offset,"l":line,"n":deleted,"f":failed[,"r":reasons]}`` (the batch is
done). Records are written at once and never fsync'd: a killed process loses nothing,
and a power loss loses at most the second since the last snapshot (docs/guarantees.md §2).
Replay is idempotent, so a journal that outlived its snapshot is harmless. Nothing here
ever holds an ID: only counts, offsets, line numbers and ID-free reasons.
"""

from __future__ import annotations

import contextlib
import json
import os
import zlib
from pathlib import Path
from typing import Any, Protocol

from bulkdelete.checkpoint.model import Progress
from bulkdelete.durable import open_private, write_all
from bulkdelete.errors import CheckpointError, StorageError

RESTART_HINT = (
    "Start the job over with --restart (it re-sends everything; deleting twice is harmless)."
)


def frame(obj: dict[str, Any]) -> bytes:
    """One journal record: compact JSON, a tab, its CRC-32, a newline."""
    text = json.dumps(obj, separators=(",", ":")).encode()
    return b"%s\t%08x\n" % (text, zlib.crc32(text))


def unframe(line: bytes) -> dict[str, Any] | None:
    """The record in ``line``, or None if it is torn or damaged."""
    text, sep, crc = line.rstrip(b"\n").rpartition(b"\t")
    if not sep or f"{zlib.crc32(text):08x}".encode() != crc:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def storage_error(what: str, exc: OSError) -> StorageError:
    return StorageError(f"{what}: {exc.strerror or exc}")


class JournalWriter:
    """Appends records to the open ``journal.<gen>`` file, one ``write(2)`` each.

    The first write that fails breaks the writer: the journal is cut back to its last
    whole record, and that append and every later one raise the same
    :class:`StorageError`, so the run stops at once instead of going on unrecorded.
    Nothing is ever written to a descriptor it has closed.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None
        self._size = 0  # bytes of whole records in the open journal
        self._failure: StorageError | None = None  # the first journal write that failed

    def open(self, path: Path) -> None:
        """Switch appends to ``path``. The new file is opened before the old one is
        closed, and the field never holds a closed descriptor: a number the kernel has
        handed to a socket must never receive a journal record."""
        if self._failure is not None:
            raise self._failure
        try:
            fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        except OSError as exc:
            raise self._fail(f"cannot create the checkpoint journal {path}", exc) from None
        self.close()
        self._fd = fd
        self._size = os.fstat(fd).st_size

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def append_sent(self, seq: int) -> None:
        self._write({"k": "s", "s": seq})

    def append_answered(self, seq: int) -> None:
        self._write({"k": "a", "s": seq})

    def append_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None:
        record: dict[str, Any] = {"k": "d", "s": seq, "o": offset, "l": line, "n": deleted,
                                  "f": failed}
        self._write({**record, "r": reasons} if reasons else record)

    def _write(self, record: dict[str, Any]) -> None:
        if self._failure is not None:
            raise self._failure  # nothing more is recorded after a record that was lost
        assert self._fd is not None, "journal not open"
        data = frame(record)
        try:
            write_all(self._fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise self._fail(
                f"cannot write the checkpoint journal in {self.directory}", exc
            ) from None
        self._size += len(data)

    @property
    def failure(self) -> StorageError | None:
        """The journal write that failed, if one did: the writer takes no more records."""
        return self._failure

    def break_with(self, error: StorageError) -> StorageError:
        """Break the writer with ``error`` (a failure found outside it, such as the folder
        swapped): every later append raises the first failure."""
        if self._failure is None:
            self._failure = error
        return self._failure

    def _fail(self, what: str, exc: OSError) -> StorageError:
        return self.break_with(storage_error(what, exc))


def replay(progress: Progress, path: Path) -> None:
    """Apply the journal at ``path`` to ``progress``. A torn final record (a crash mid
    write, or a power loss) is dropped: that batch is sent again. Damage anywhere else is
    refused (exit 2)."""
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for index, line in enumerate(lines):
        record = unframe(line)
        if record is None:
            if any(unframe(later) for later in lines[index + 1 :]):
                raise CheckpointError(
                    f"checkpoint journal {path} is damaged at record {index + 1}. "
                    + RESTART_HINT
                )
            return  # torn tail: the write a crash interrupted; that batch is re-sent
        match record:
            case {"k": "s", "s": int(seq)}:
                progress.mark_sent(seq)
            case {"k": "a", "s": int(seq)}:
                progress.mark_answered(seq)
            case {"k": "d", "s": int(seq), "o": int(offset), "l": int(at), "n": int(deleted),
                  "f": int(failed)}:
                progress.mark_done(seq, offset, at, deleted, failed, record.get("r"))
            case _:
                raise CheckpointError(
                    f"checkpoint journal {path} has an unknown record at {index + 1}. "
                    + RESTART_HINT
                )


class Journal(Protocol):
    """Where batch events are appended (:class:`JournalWriter`, or a test's double)."""

    def append_sent(self, seq: int) -> None: ...

    def append_answered(self, seq: int) -> None: ...

    def append_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None: ...


class Ledger:
    """Progress plus journal, updated by one call so the two never disagree; memory only
    without a journal (``delete_ids`` on an iterable)."""

    __slots__ = ("_journal", "progress")

    def __init__(self, progress: Progress, journal: Journal | None = None) -> None:
        self.progress = progress
        self._journal = journal

    def is_done(self, seq: int) -> bool:
        return self.progress.is_done(seq)

    @property
    def watermark(self) -> int:
        return self.progress.watermark

    def sent(self, seq: int) -> None:
        """Marked and journalled once, so a retry or a bisected half is not counted as a
        re-send after a crash."""
        if self.progress.mark_sent(seq) and self._journal is not None:
            self._journal.append_sent(seq)

    def answered(self, seq: int) -> None:
        """Answered without acknowledging any ID: no longer at the server, so a crash
        while it waits to retry is not a re-send."""
        if self.progress.mark_answered(seq) and self._journal is not None:
            self._journal.append_answered(seq)

    def done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None:
        self.progress.mark_done(seq, offset, line, deleted, failed, reasons)
        if self._journal is not None:
            self._journal.append_done(seq, offset, line, deleted, failed, reasons)
