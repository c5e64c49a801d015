"""The failed file and ``<failed>.reasons.jsonl``, fsync'd before the batch is recorded done
(docs/guarantees.md §1). It belongs to one job: a run holds a ``flock`` on it."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Protocol

from bulkdelete.durable import (
    LineFiles,
    count_lines,
    held_elsewhere,
    open_to_look,
    same_file,
    where_now,
)
from bulkdelete.errors import CheckpointLocked, CheckpointMismatch, StorageError
from bulkdelete.wording import counted


class FailureSink(Protocol):
    async def add(self, failures: Sequence[tuple[str, str, str]]) -> None:
        """Durably keep ``(id, reason, detail)`` triples before the caller goes on."""


def reasons_path(failed: Path) -> Path:
    return failed.with_name(failed.name + ".reasons.jsonl")


class FailedFile(LineFiles):
    def __init__(self, path: Path, *, truncate: bool = False,
                 folder_check: Callable[[], None] | None = None) -> None:
        self._folder_check = folder_check  # first: a swapped folder is said as such
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            super().__init__((path, reasons_path(path)), truncate=truncate, lock_first=True)
        except BlockingIOError:
            raise CheckpointLocked(in_use_message(path)) from None
        except OSError as exc:
            raise StorageError(
                f"cannot open the failed file {exc.filename or path}: {exc.strerror or exc}"
            ) from None

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
        if not self._fds:
            raise StorageError(f"the failed file {self.paths[0]} is closed: the run is ending")
        try:
            self.write((ids, reasons), partial(self._checks, len(failures)))
        except OSError as exc:
            raise StorageError(
                f"cannot write the failed file {self.paths[0]}: {exc.strerror or exc}; the "
                f"batch's {len(failures):,} failed IDs were not recorded and will be sent again"
            ) from None

    def _checks(self, count: int) -> None:
        """Refuse a path no longer naming the file held: IDs would land unseen and unlocked."""
        if self._folder_check is not None:
            self._folder_check()
        for path, fd in zip(self.paths, self._fds, strict=True):
            if not same_file(path, fd):
                moved = where_now(fd)
                raise StorageError(
                    f"the failed file {path} was moved away or replaced during the run"
                    + (f"; the IDs it listed are now in {moved}" if moved else "")
                    + f": put it back in its place before rerunning the same command; the "
                    f"batch's {counted(count, 'failed ID')} (not recorded) will be sent again")


def in_use_message(path: Path) -> str:
    return (f"the failed file {path} is held by another run in progress (a failed file "
            "belongs to one job); nothing was sent. Give this job its own --failed, or "
            "wait for that run to end")


class MemoryFailures:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []

    async def add(self, failures: Sequence[tuple[str, str, str]]) -> None:
        self.items.extend(failures)


def check_claimable(path: Path, *, new_job: bool) -> None:
    """Refuse, before asking: held by another run, or holding IDs a new job would empty."""
    if held_elsewhere(path):
        raise CheckpointLocked(in_use_message(path))
    try:
        size = os.lstat(path).st_size if new_job else 0
    except OSError:
        return  # none yet, or one the open for writing will refuse with its reason
    if size:
        raise CheckpointMismatch(
            f"the failed file {path} already holds IDs of another job ({size:,} bytes); a "
            "new job would empty it, and nothing else lists them. Nothing was sent. Give "
            "this job its own --failed, or move that file away first"
        )


def check_lists_all(path: Path, failed: int) -> None:
    """Refuse a failed file listing fewer IDs than the job counts: a crash only adds lines."""
    if (short := failed_file_short(path, failed)) is not None:
        raise CheckpointMismatch(
            f"{short}; nothing was sent. Put the job's failed file back in its place (a "
            "rerun would leave the missing IDs neither deleted nor listed), or start the "
            "job over with --restart"
        )


def failed_file_short(path: Path, failed: int) -> str | None:
    """What is wrong when ``path`` lists fewer than ``failed`` IDs, else None."""
    if not failed:
        return None
    try:
        fd = open_to_look(path)
    except FileNotFoundError:
        listed, said = 0, "is gone"  # moved away or removed
    except OSError:
        return None  # the open for writing refuses it with its reason
    else:
        try:
            listed = count_lines(fd)
        finally:
            os.close(fd)
        said = f"lists {listed:,}"
    if listed >= failed:
        return None
    return f"the job counts {counted(failed, 'failed ID')} in its failed file {path}, which {said}"
