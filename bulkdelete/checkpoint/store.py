"""The checkpoint folder a run holds (files 0600, folder 0700; docs/checkpoint.md):
``state.json``, the journals since it, and the run's ``lock``."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import threading
from pathlib import Path
from typing import Any

from bulkdelete.checkpoint.journal import RESTART_HINT, frame, replay
from bulkdelete.checkpoint.model import State, decode, encode
from bulkdelete.durable import (
    held_elsewhere,
    nearest_existing,
    open_private,
    private_folder_problem,
    same_file,
    where_now,
    write_all,
    write_private_atomic,
)
from bulkdelete.errors import CheckpointError, CheckpointLocked, StorageError
from bulkdelete.logs import utc_timestamp

STATE_NAME = "state.json"
LOCK_NAME = "lock"
_JOURNAL_RE = re.compile(r"^journal\.(\d+)$")


class CheckpointStore:
    """Lock, snapshots and the journal between them; only :meth:`snapshot` is slow (fsyncs).
    After a failed journal write every append raises it: no run goes on unrecorded."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._journal_fd: int | None = None
        self._journal_size = 0  # bytes of whole records in the open journal
        self.failure: StorageError | None = None  # the first journal write that failed
        # The folder held open is its identity: one removed or replaced is noticed before
        # the next write (rather than scattering the job over two folders), a moved one found.
        self._folder_fd: int | None = None
        self._lock_fd: int | None = None
        self._gen = 0
        self._installed = 0  # newest snapshot generation on disk
        self._install_lock = threading.Lock()

    def lock(self) -> None:
        """Create the folder (0700), hold it and take the run lock, or refuse (exit 2)."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(
                f"cannot create checkpoint directory {self.directory}: {exc.strerror}"
            ) from None
        try:
            fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                raise CheckpointError(
                    f"checkpoint path {self.directory} is not a directory") from None
            raise CheckpointError(f"cannot open checkpoint directory {self.directory}: "
                                  f"{exc.strerror}") from None
        self._folder_fd = fd
        path = self.directory / LOCK_NAME
        try:
            if (problem := private_folder_problem(os.fstat(fd))) is not None:
                raise CheckpointError(f"refusing the checkpoint folder {self.directory}: "
                                      f"{problem}. Nothing was written")
            try:
                self._lock_fd = fd = open_private(path, os.O_RDWR | os.O_CREAT)
            except OSError as exc:
                raise CheckpointError(f"cannot open the checkpoint lock {path}: "
                                      f"{exc.strerror or exc}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise CheckpointLocked(
                    f"checkpoint {self.directory} is locked by another run (pid {holder}); "
                    "wait for it to finish or stop it first"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            self.close()  # unlocking a lock not taken leaves the other run's lock alone
            raise

    def check_same_folder(self) -> None:
        """Raise StorageError when the path no longer names the folder held."""
        if self.same_folder():
            return
        moved = self.moved_to()
        said = "was replaced by another folder" if self.directory.exists() else "was removed"
        raise StorageError(
            f"the checkpoint folder {self.directory} {said} during the run"
            + (f"; the job's checkpoint and failed file are now in {moved}: put that folder "
               "back in its place before rerunning the same command" if moved else "")
        )

    def same_folder(self) -> bool:
        """Whether the path still names the folder held open (true while none is)."""
        return self._folder_fd is None or same_file(self.directory, self._folder_fd)

    def moved_to(self) -> Path | None:
        """Where the held folder was moved, or None (in place, gone, or not held)."""
        held = self._folder_fd
        return None if held is None or self.same_folder() else where_now(held)

    def check_creatable(self) -> None:
        """Refuse now (exit 2) a folder :meth:`lock` could not create after the yes."""
        existing = nearest_existing(self.directory)
        why = ("is not a directory" if not existing.is_dir() else
               "is not writable" if not os.access(existing, os.W_OK | os.X_OK) else None)
        if why is not None:
            raise CheckpointError(
                f"cannot create checkpoint directory {self.directory}: {existing} {why}")

    @property
    def locked(self) -> bool:
        return self._lock_fd is not None

    def close(self) -> None:
        self._close_journal()
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
        if self._folder_fd is not None:
            os.close(self._folder_fd)
            self._folder_fd = None

    def is_locked_elsewhere(self) -> bool:
        return held_elsewhere(self.directory / LOCK_NAME)

    def exists(self) -> bool:
        return (self.directory / STATE_NAME).exists()

    def discard(self) -> None:
        """``--restart``: forget the job's progress (the lock stays held)."""
        for path in self.directory.iterdir():
            if (path.name == STATE_NAME or path.name.endswith(".tmp")
                    or _JOURNAL_RE.match(path.name)):
                path.unlink()

    def load(self) -> State:
        """Snapshot plus every newer journal, replayed; damage is refused (exit 2)."""
        path = self.directory / STATE_NAME
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror}") from None
        if (data := decode(raw)) is None:
            raise CheckpointError(
                f"checkpoint {path} is damaged (checksum mismatch). {RESTART_HINT}")
        try:
            state, gen = State.from_json(data)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(
                f"checkpoint {path} is unreadable ({exc}). {RESTART_HINT}") from None
        journals = self._journals()
        for jgen, jpath in journals:
            if jgen >= gen:
                replay(state.progress, jpath)
        self._installed = gen
        self._gen = max([gen, *(g for g, _ in journals)])
        return state

    def _journals(self) -> list[tuple[int, Path]]:
        return sorted((int(m.group(1)), path) for path in self.directory.iterdir()
                      if (m := _JOURNAL_RE.match(path.name)))

    def create(self, state: State) -> None:
        self._gen = self._installed = 0
        self._install(encode(state.to_json(1)), 1, "create")
        self.resume()

    def resume(self) -> None:
        """Switch appends to a journal newer than any on disk. The field never holds a closed
        descriptor: a number the kernel has handed to a socket must never get a record."""
        self._gen += 1
        path = self.directory / f"journal.{self._gen}"
        try:
            self.check_same_folder()
            if self.failure is not None:
                raise self.failure
            fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        except StorageError as exc:  # the folder was swapped: that breaks the journal too
            raise self._break_with(exc) from None
        except OSError as exc:
            raise self._break_with(StorageError(
                f"cannot create the checkpoint journal {path}: {exc.strerror or exc}")) from None
        self._close_journal()
        self._journal_fd = fd
        self._journal_size = os.fstat(fd).st_size

    def _close_journal(self) -> None:
        fd, self._journal_fd = self._journal_fd, None
        if fd is not None:
            os.close(fd)

    def append(self, record: dict[str, Any]) -> None:
        if self.failure is not None:
            raise self.failure  # nothing more is recorded after a record that was lost
        assert self._journal_fd is not None, "journal not open"
        data = frame(record)
        try:
            write_all(self._journal_fd, data)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(self._journal_fd, self._journal_size)
            error = StorageError(f"cannot write the checkpoint journal in {self.directory}: "
                                 f"{exc.strerror or exc}")
            raise self._break_with(error) from None
        self._journal_size += len(data)

    def _break_with(self, error: StorageError) -> StorageError:
        self.failure = self.failure or error
        return self.failure

    def prepare_snapshot(self, state: State) -> tuple[bytes, int]:
        """Capture the state (in the event loop) and switch appends to a new journal, so
        the snapshot plus that journal always cover everything."""
        self.resume()
        state.updated = utc_timestamp()
        return encode(state.to_json(self._gen)), self._gen

    def snapshot(self, data: bytes, gen: int) -> None:
        """Durably install a prepared snapshot, then drop the journals it covers (thread-safe)."""
        self._install(data, gen, "write")

    def _install(self, data: bytes, gen: int, verb: str) -> None:
        with self._install_lock:
            # Never install an older snapshot over a newer one: the newer one may already
            # have dropped the journals the older one needs.
            if gen <= self._installed:
                return
            self.check_same_folder()
            path = self.directory / STATE_NAME
            try:
                write_private_atomic(path, data, tag=f".{gen}")
            except OSError as exc:
                raise StorageError(
                    f"cannot {verb} the checkpoint {path}: {exc.strerror or exc}") from None
            self._installed = gen
            for jgen, jpath in self._journals():
                if jgen < gen:
                    with contextlib.suppress(FileNotFoundError):
                        jpath.unlink()

    def finish(self, state: State) -> None:
        """The last save. Tried even after a journal write failed: memory holds what the
        batches really did; if it cannot be written, the old files still stand."""
        self._close_journal()
        self._gen += 1
        state.updated = utc_timestamp()
        self.snapshot(encode(state.to_json(self._gen)), self._gen)


def describe_saved(directory: Path) -> str:
    """What a rerun will resume from, read back from the disk (after a failed write)."""
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
        f"Saved in {directory}: {p.ids_done:,} of {t.ids_total:,} IDs "
        f"handled ({p.watermark + len(p.done_above):,} of {t.batches_total:,} batches "
        f"recorded{above}). Free space or fix the folder, then rerun the same command: it "
        "resumes from there and sends again only what was not recorded"
    )

