"""The journal: batch events appended between two snapshots, and their replay.

A record is compact JSON, a tab, its CRC-32 and a newline, so a damaged or torn record is
detected rather than trusted. Three kinds exist: ``{"k":"s","s":seq}`` (a request of the
batch left), ``{"k":"a","s":seq}`` (that request was answered without acknowledging any
ID, so nothing of the batch is at the server) and
``{"k":"d","s":seq,"o":offset,"l":line,"n":deleted,"f":failed[,"r":reasons]}`` (the batch is
done). Records are never fsync'd: a killed process loses nothing the kernel
already has, and a power loss loses at most the second since the last snapshot
(docs/guarantees.md §2). Replay is idempotent, so a journal that outlived its snapshot is
harmless. The format is described in docs/checkpoint.md.

Nothing here ever holds an ID (they are personal data): only counts, offsets, line
numbers and ID-free reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bulkdelete.checkpoint.model import Progress
from bulkdelete.durable import open_private, write_all
from bulkdelete.errors import CheckpointError, StorageError

RESTART_HINT = (
    "Start the job over with --restart (it re-sends everything; deleting twice is harmless)."
)


def frame(obj: dict[str, Any]) -> bytes:
    """One journal record: compact JSON, a tab, its CRC-32, a newline."""
    return seal(json.dumps(obj, separators=(",", ":")).encode())


def seal(text: bytes) -> bytes:
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
    """Appends records to the open ``journal.<gen>`` file.

    Records appended from inside an event loop are gathered and written with one
    ``write(2)`` per loop turn (:meth:`flush`, scheduled with ``call_soon``), because at
    zero latency a turn completes several batches and a syscall per record would slow the
    send loop. A ``kill -9`` can therefore lose the records of the turn it lands in; those
    batches completed in that turn, so there are at most as many as were in flight, which
    is the re-send allowance of docs/guarantees.md §2. Outside a loop (replay, tests) a
    record is written at once.

    The first write that fails breaks the writer: every later append raises the same
    :class:`StorageError`, so the run stops at once instead of going on unrecorded, and
    nothing is ever written to a descriptor it has closed.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None
        self._pending: list[bytes] = []  # records of this loop turn, not yet written
        self._size = 0  # bytes of whole records in the open journal
        self._failure: StorageError | None = None  # the first journal write that failed
        # Called (in the loop) when a turn's flush fails, which has no caller to raise to:
        # the job uses it to end the run at once rather than at the next append.
        self.on_failure: Callable[[StorageError], object] | None = None

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
        try:
            self.close()  # what is pending belongs to the journal being closed
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._size = os.fstat(fd).st_size

    def close(self) -> None:
        """Write what is pending and close the file; a failed write is raised after."""
        fd = self._fd
        if fd is None:
            return
        try:
            self.flush()
        finally:
            self._fd = None
            os.close(fd)

    # The two hot records are formatted directly (the same compact JSON json.dumps would
    # give): they are written for every batch, thousands a second at zero latency.

    def append_sent(self, seq: int) -> None:
        self._write(seal(b'{"k":"s","s":%d}' % seq))

    def append_answered(self, seq: int) -> None:
        self._write(seal(b'{"k":"a","s":%d}' % seq))

    def append_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None:
        if reasons:
            self._write(frame({"k": "d", "s": seq, "o": offset, "l": line, "n": deleted,
                               "f": failed, "r": reasons}))
        else:
            self._write(seal(b'{"k":"d","s":%d,"o":%d,"l":%d,"n":%d,"f":%d}'
                             % (seq, offset, line, deleted, failed)))

    def _write(self, framed: bytes) -> None:
        if self._failure is not None:
            # A write failed (a full disk, a removed folder): raise in the batch's task,
            # which ends the run; nothing more is recorded after a record that was lost.
            raise self._failure
        assert self._fd is not None, "journal not open"
        pending = self._pending
        pending.append(framed)
        if len(pending) == 1:  # the turn's first record: write them all next turn
            try:
                asyncio.get_running_loop().call_soon(self._flush_turn)
            except RuntimeError:  # no loop: nothing will flush later, so write now
                self.flush()

    def _flush_turn(self) -> None:
        """:meth:`flush` as a loop callback, which has no caller to raise to: the failure
        is kept for every later append and passed to :attr:`on_failure`."""
        try:
            self.flush()
        except StorageError as exc:
            if self.on_failure is not None:
                self.on_failure(exc)

    def flush(self) -> None:
        """Write every pending record (in order) with one ``write(2)``, checked whole. On
        failure the journal is cut back to its last whole record and the writer breaks."""
        if self._failure is not None:
            raise self._failure
        fd = self._fd
        if not self._pending or fd is None:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        try:
            write_all(fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._size)
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
        """Break the writer: the first failure is what every later write raises."""
        if self._failure is None:
            self._failure = storage_error(what, exc)
        return self._failure


def replay(progress: Progress, path: Path) -> None:
    """Apply the journal at ``path`` to ``progress``. A torn final record (a crash mid
    write, or a power loss) is dropped: that batch is sent again. Damage anywhere else is
    refused (exit 2)."""
    lines = path.read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for index, line in enumerate(lines):
        record = unframe(line + b"\n")
        if record is None:
            rest_ok = any(unframe(later + b"\n") for later in lines[index + 1 :])
            if rest_ok:
                raise CheckpointError(
                    f"checkpoint journal {path} is damaged at record {index + 1}. "
                    + RESTART_HINT
                )
            return  # torn tail: the write a crash interrupted; that batch is re-sent
        try:
            _apply(progress, record)
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(
                f"checkpoint journal {path} has an unknown record at {index + 1}. "
                + RESTART_HINT
            ) from None


def _apply(progress: Progress, record: dict[str, Any]) -> None:
    kind = record["k"]
    if kind == "s":
        progress.mark_sent(int(record["s"]))
    elif kind == "a":
        progress.mark_answered(int(record["s"]))
    elif kind == "d":
        progress.mark_done(
            int(record["s"]), int(record["o"]), int(record["l"]),
            int(record["n"]), int(record["f"]), record.get("r"),
        )
    else:
        raise ValueError(kind)
