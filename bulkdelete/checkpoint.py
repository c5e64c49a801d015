"""Durable progress: what is done, so a rerun resumes exactly where this one stopped.

Completion is out of order, so progress is a **low watermark plus the completed batches
above it** (DSBulk's ranges of completed positions, reduced to one resource): every batch
below ``watermark`` is done; ``done_above`` holds the few done beyond it. The pipeline may
run at most ``lookahead`` batches past the watermark, so that set — and this file — stay
small however long the job (spec §4.4). ``anchor`` is the byte offset and line of a batch at
or just below the watermark: a resume seeks there and never re-reads what is behind it.

On disk, in the checkpoint directory (every file 0600, the directory 0700):

``state.json``
    A snapshot, replaced atomically (temp file, fsync, rename, fsync of the directory)
    about once a second. Two lines: the JSON, then its CRC-32, so a damaged file is
    detected rather than trusted.
``journal.<gen>``
    Append-only records since that snapshot — "batch sent", "batch done" — one
    ``write(2)`` each, never fsync'd: a killed process loses nothing the kernel already
    has, and a power loss loses at most the second since the last snapshot (spec §4.2).
    Replay is idempotent, so a journal that outlived its snapshot is harmless.
``lock``
    ``flock``'d for the length of a run: a second run on the same job is refused.

Every write here is checked whole (:mod:`bulkdelete.durable`). A snapshot that cannot be
written completely is never installed, and the old one and its journals stay. The first
journal write that fails breaks the store: every later append raises the same
:class:`StorageError`, so the run stops at once instead of going on unrecorded, and the
store never writes to a descriptor it has closed.

Nothing here ever holds an ID (they are personal data): only counts, offsets, line
numbers and ID-free reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bulkdelete.durable import open_private, write_all, write_private_atomic
from bulkdelete.errors import (
    CheckpointError,
    CheckpointLocked,
    CheckpointMismatch,
    StorageError,
)
from bulkdelete.state import (
    FORMAT_VERSION,
    MAX_REASONS,
    Binding,
    DoneBatch,
    Progress,
    RunRecord,
    State,
    Totals,
)

# The state model lives in bulkdelete.state; it is reached through here too, as the
# checkpoint's contents.
__all__ = [
    "FORMAT_VERSION",
    "LOCK_NAME",
    "MAX_REASONS",
    "STATE_NAME",
    "Binding",
    "CheckpointStore",
    "DoneBatch",
    "Progress",
    "RunRecord",
    "State",
    "Totals",
    "check_binding",
    "describe_saved",
    "open_private",
]

STATE_NAME = "state.json"
LOCK_NAME = "lock"
_JOURNAL_RE = re.compile(r"^journal\.(\d+)$")

RESTART_HINT = (
    "Start the job over with --restart (it re-sends everything; deleting twice is harmless)."
)


def _frame(obj: dict[str, Any]) -> bytes:
    """One journal record: compact JSON, a tab, its CRC-32, a newline."""
    return _seal(json.dumps(obj, separators=(",", ":")).encode())


def _seal(text: bytes) -> bytes:
    return b"%s\t%08x\n" % (text, zlib.crc32(text))


def _unframe(line: bytes) -> dict[str, Any] | None:
    text, sep, crc = line.rstrip(b"\n").rpartition(b"\t")
    if not sep or f"{zlib.crc32(text):08x}".encode() != crc:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


class CheckpointStore:
    """The checkpoint directory: lock, snapshot and journal files.

    Synchronous by design. Journal records appended from inside an event loop are
    gathered and written with one ``write(2)`` per loop turn (:meth:`flush`, scheduled with
    ``call_soon``): at zero latency a turn completes several batches, and one syscall per
    record was a tenth of the send loop's time. A ``kill -9`` can therefore lose the
    records of the turn it lands in; those batches completed in that turn, so there are at
    most as many as were in flight, which is the re-send allowance of spec §4.2. Outside a
    loop (replay, tests) a record is written at once. The periodic :meth:`snapshot` is the
    only slow call (two fsyncs); the pipeline runs it in a worker thread after
    :meth:`prepare_snapshot` has captured the state in the event loop.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock_fd: int | None = None
        self._journal_fd: int | None = None
        self._pending: list[bytes] = []  # records of this loop turn, not yet written
        self._journal_size = 0  # bytes of whole records in the open journal
        self._failure: StorageError | None = None  # the first journal write that failed
        # Called (in the loop) when a turn's flush fails, which has no caller to raise to:
        # the job uses it to end the run at once rather than at the next append.
        self.on_failure: Callable[[StorageError], object] | None = None
        self._gen = 0
        self._installed = 0  # newest snapshot generation on disk
        self._install_lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------

    def lock(self) -> None:
        """Create the directory (0700) and take the run lock, or refuse (exit 2)."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(
                f"cannot create checkpoint directory {self.directory}: {exc.strerror}"
            ) from None
        if not self.directory.is_dir():
            raise CheckpointError(f"checkpoint path {self.directory} is not a directory")
        fd = open_private(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise CheckpointLocked(
                f"checkpoint {self.directory} is locked by another run (pid {holder}); "
                "wait for it to finish or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def close(self) -> None:
        """Write what is pending, close the journal and release the lock; a failed write
        is raised, after both are closed."""
        try:
            self._close_journal()
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None

    def is_locked_elsewhere(self) -> bool:
        """For ``status``: is a run holding this checkpoint right now?"""
        path = self.directory / LOCK_NAME
        if not path.exists():
            return False
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def exists(self) -> bool:
        return (self.directory / STATE_NAME).exists()

    def discard(self) -> None:
        """``--restart``: forget the job's progress (the lock stays held)."""
        for path in self.directory.iterdir():
            if path.name == STATE_NAME or path.name.endswith(".tmp") or _JOURNAL_RE.match(
                path.name
            ):
                path.unlink()

    # -- reading ------------------------------------------------------------------------

    def load(self) -> State:
        """Snapshot plus every newer journal, replayed. A torn final record (a crash mid
        write, or a power loss) is dropped; damage anywhere else is refused (exit 2)."""
        path = self.directory / STATE_NAME
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror}") from None
        body, _, crc = raw.rstrip(b"\n").rpartition(b"\n")
        if not body or f"{zlib.crc32(body):08x}".encode() != crc.strip():
            raise CheckpointError(
                f"checkpoint {path} is damaged (checksum mismatch). {RESTART_HINT}"
            )
        try:
            state, gen = State.from_json(json.loads(body))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(f"checkpoint {path} is unreadable ({exc}). {RESTART_HINT}") \
                from None
        for jgen, jpath in self._journals():
            if jgen >= gen:
                self._replay(state, jpath)
        self._installed = gen
        self._gen = max([gen, *(g for g, _ in self._journals())])
        return state

    def _journals(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.iterdir():
            m = _JOURNAL_RE.match(path.name)
            if m:
                found.append((int(m.group(1)), path))
        return sorted(found)

    def _replay(self, state: State, path: Path) -> None:
        lines = path.read_bytes().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for index, line in enumerate(lines):
            record = _unframe(line + b"\n")
            if record is None:
                rest_ok = any(_unframe(later + b"\n") for later in lines[index + 1 :])
                if rest_ok:
                    raise CheckpointError(
                        f"checkpoint journal {path} is damaged at record {index + 1}. "
                        + RESTART_HINT
                    )
                return  # torn tail: the write a crash interrupted; that batch is re-sent
            try:
                self._apply(state.progress, record)
            except (KeyError, TypeError, ValueError):
                raise CheckpointError(
                    f"checkpoint journal {path} has an unknown record at {index + 1}. "
                    + RESTART_HINT
                ) from None

    @staticmethod
    def _apply(progress: Progress, record: dict[str, Any]) -> None:
        kind = record["k"]
        if kind == "s":
            progress.mark_sent(int(record["s"]))
        elif kind == "d":
            progress.mark_done(
                int(record["s"]), int(record["o"]), int(record["l"]),
                int(record["n"]), int(record["f"]), record.get("r"),
            )
        else:
            raise ValueError(kind)

    # -- writing ------------------------------------------------------------------------

    def create(self, state: State) -> None:
        """A new job: first snapshot, fresh journal."""
        self._gen = self._installed = 1
        path = self.directory / STATE_NAME
        try:
            write_private_atomic(path, self._encode(state, self._gen))
        except OSError as exc:
            raise _storage_error(f"cannot create the checkpoint {path}", exc) from None
        self._open_journal()

    def resume(self) -> None:
        """Continue an existing job: appends go to a journal newer than any on disk."""
        self._gen += 1
        self._open_journal()

    def _open_journal(self) -> None:
        """Switch appends to ``journal.<gen>``. The new file is opened before the old one
        is closed, and the field never holds a closed descriptor: a number the kernel has
        handed to a socket must never receive a journal record."""
        if self._failure is not None:
            raise self._failure
        path = self.directory / f"journal.{self._gen}"
        try:
            fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        except OSError as exc:
            raise self._fail(f"cannot create the checkpoint journal {path}", exc) from None
        try:
            self._close_journal()  # what is pending belongs to the journal being closed
        except BaseException:
            os.close(fd)
            raise
        self._journal_fd = fd
        self._journal_size = os.fstat(fd).st_size

    def _close_journal(self) -> None:
        fd = self._journal_fd
        if fd is None:
            return
        try:
            self.flush()
        finally:
            self._journal_fd = None
            os.close(fd)

    # The two hot records are formatted directly (the same compact JSON json.dumps would
    # give): they are written for every batch, thousands a second at zero latency.

    def append_sent(self, seq: int) -> None:
        self._write(_seal(b'{"k":"s","s":%d}' % seq))

    def append_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None:
        if reasons:
            self._append({"k": "d", "s": seq, "o": offset, "l": line, "n": deleted,
                          "f": failed, "r": reasons})
        else:
            self._write(_seal(b'{"k":"d","s":%d,"o":%d,"l":%d,"n":%d,"f":%d}'
                              % (seq, offset, line, deleted, failed)))

    def _append(self, record: dict[str, Any]) -> None:
        self._write(_frame(record))

    def _write(self, framed: bytes) -> None:
        if self._failure is not None:
            # A write failed (a full disk, a removed folder): raise in the batch's task,
            # which ends the run; nothing more is recorded after a record that was lost.
            raise self._failure
        assert self._journal_fd is not None, "journal not open"
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
        failure the journal is cut back to its last whole record and the store breaks."""
        if self._failure is not None:
            raise self._failure
        fd = self._journal_fd
        if not self._pending or fd is None:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        try:
            write_all(fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._journal_size)
            raise self._fail(
                f"cannot write the checkpoint journal in {self.directory}", exc
            ) from None
        self._journal_size += len(data)

    @property
    def failure(self) -> StorageError | None:
        """The journal write that failed, if one did: the store takes no more records."""
        return self._failure

    def _fail(self, what: str, exc: OSError) -> StorageError:
        """Break the store: the first failure is what every later write raises."""
        if self._failure is None:
            self._failure = _storage_error(what, exc)
        return self._failure

    def prepare_snapshot(self, state: State) -> tuple[bytes, int]:
        """Capture the state now (in the event loop) and switch appends to a new journal,
        so the snapshot plus that journal always cover everything."""
        self._gen += 1
        self._open_journal()
        return self._encode(state, self._gen), self._gen

    def snapshot(self, data: bytes, gen: int) -> None:
        """Durably install a prepared snapshot, then drop the journals it covers. Safe to
        run in a worker thread: it touches no shared state but files. A snapshot that
        cannot be written whole is not installed; the old one and its journals stay."""
        with self._install_lock:
            # Never install an older snapshot over a newer one: the newer one may already
            # have dropped the journals the older one needs.
            if gen <= self._installed:
                return
            path = self.directory / STATE_NAME
            try:
                write_private_atomic(path, data, tag=f".{gen}")
            except OSError as exc:
                raise _storage_error(f"cannot write the checkpoint {path}", exc) from None
            self._installed = gen
            for jgen, jpath in self._journals():
                if jgen < gen:
                    with contextlib.suppress(FileNotFoundError):
                        jpath.unlink()

    def finish(self, state: State) -> None:
        """The run's last save: a snapshot of ``state`` covering every journal, then the
        journal is closed (no append may follow). Tried even after a journal write
        failed: the state in memory is what the batches really did, and if it cannot be
        written either, the old snapshot and journals still stand."""
        with contextlib.suppress(StorageError):
            self._close_journal()  # a failure is already kept in self._failure
        self._gen += 1
        self.snapshot(self._encode(state, self._gen), self._gen)

    @staticmethod
    def _encode(state: State, gen: int) -> bytes:
        body = json.dumps(state.to_json(gen), separators=(",", ":"), sort_keys=True).encode()
        return body + b"\n" + f"{zlib.crc32(body):08x}".encode() + b"\n"


def _storage_error(what: str, exc: OSError) -> StorageError:
    return StorageError(f"{what}: {exc.strerror or exc}")


def describe_saved(directory: Path) -> str:
    """What a rerun will resume from, read back from the disk rather than believed from
    memory: said when a run stops because a write failed."""
    if not (directory / STATE_NAME).exists():
        return (f"Nothing of the job's progress is saved: {directory} holds no checkpoint "
                "any more, so rerunning the same command starts the job over")
    try:
        state = CheckpointStore(directory).load()
    except OSError as exc:  # the folder went away while it was read
        return f"The checkpoint in {directory} cannot be read back: {exc.strerror or exc}"
    except CheckpointError as exc:
        return f"The checkpoint cannot be read back: {exc}"
    p, t = state.progress, state.totals
    above = f", {len(p.done_above):,} of them past batch {p.watermark:,}" if p.done_above else ""
    return (
        f"Saved in {directory}: {p.ids_deleted + p.ids_failed:,} of {t.ids_total:,} IDs "
        f"handled ({p.watermark + len(p.done_above):,} of {t.batches_total:,} batches "
        f"recorded{above}). Free space or fix the folder, then rerun the same command: it "
        "resumes from there and sends again only what was not recorded"
    )


def check_binding(stored: Binding, current: Binding, directory: Path) -> None:
    diffs = stored.differences(current)
    if diffs:
        raise CheckpointMismatch(
            f"checkpoint {directory} belongs to a different job; nothing was sent. "
            f"Differs: {'; '.join(diffs)}. Use the original settings to resume, another "
            "--checkpoint for a new job, or --restart to discard it."
        )
