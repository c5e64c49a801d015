"""The failed file (the nothing-lost guarantee): every failed ID on a line of its own, in
the one file bound to the job, whatever a full disk or a crash left behind."""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import pytest

from bulkdelete.errors import CheckpointLocked, StorageError
from bulkdelete.failed import FailedFile, check_claimable, reasons_path
from tests.conftest import (
    read_lines,
)

FAILURE = ("HTTP 400 rejected", '{"status":"fail"}')


def _add(failed: FailedFile, *ids: str) -> None:
    failed._write([(i, *FAILURE) for i in ids])


def test_a_torn_last_line_is_cut_back_before_the_resume_appends(tmp_path: Path) -> None:
    """A crash or a full disk left half an ID (and half a reason) at the end: opening the
    files for a resume drops it, so the next ID starts a line of its own."""
    path = tmp_path / "failed.txt"
    path.write_bytes(b"u-1\nu-2\nu-3-ha")
    reasons_path(path).write_bytes(b'{"id": "u-1", "reason": "r", "detail": ""}\n{"id": "u')
    failed = FailedFile(path)
    _add(failed, "u-4")
    failed.close()
    assert read_lines(path) == ["u-1", "u-2", "u-4"]
    reasons = [json.loads(line) for line in read_lines(reasons_path(path))]
    assert [r["id"] for r in reasons] == ["u-1", "u-4"]


def test_a_short_write_is_a_failure_and_takes_back_its_half_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills mid-write: the write raises (the batch stays unrecorded), what it
    added is cut away, and a later append after freeing space lands on whole lines."""
    path = tmp_path / "failed.txt"
    failed = FailedFile(path)
    _add(failed, "u-1")
    real = os.write
    calls = []

    def nearly_full(fd: int, data: bytes | memoryview) -> int:
        calls.append(fd)
        if len(calls) == 1:
            return real(fd, bytes(data)[:5])  # half of "u-2\nu-3\n"
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", nearly_full)
    with pytest.raises(OSError, match="No space left") as info:
        _add(failed, "u-2", "u-3")
    monkeypatch.undo()
    assert path.read_bytes() == b"u-1\n"
    assert "failed file" in str(info.value)
    _add(failed, "u-4")
    failed.close()
    assert read_lines(path) == ["u-1", "u-4"]
    assert [json.loads(x)["id"] for x in read_lines(reasons_path(path))] == ["u-1", "u-4"]


def test_a_failed_file_that_cannot_be_opened_is_one_clear_error(tmp_path: Path) -> None:
    """A --failed path whose folder is a file: a checkpoint-class error naming the path."""
    (tmp_path / "blocker").write_text("")
    with pytest.raises(OSError, match="cannot open the failed file"):
        FailedFile(tmp_path / "blocker" / "failed.txt")


def test_close_waits_for_a_write_in_progress_and_later_writes_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write a cancelled task left running in its thread finishes before close() closes
    the files (its descriptor numbers could otherwise be reused under it); a write after
    close() raises instead of touching a closed descriptor."""
    path = tmp_path / "failed.txt"
    failed = FailedFile(path)
    real = os.fsync
    writing, release = threading.Event(), threading.Event()

    def slow_fsync(fd: int) -> None:
        writing.set()
        release.wait(5)
        real(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    writer = threading.Thread(target=_add, args=(failed, "u-1"))
    writer.start()
    assert writing.wait(5)
    closer = threading.Thread(target=failed.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # waits for the write
    release.set()
    writer.join(5)
    closer.join(5)
    assert read_lines(path) == ["u-1"]
    with pytest.raises(OSError, match="closed"):
        _add(failed, "u-2")


def test_a_failed_file_another_run_holds_is_refused_and_left_whole(tmp_path: Path) -> None:
    """A failed file belongs to one job: while a run holds it, another (even one that
    would start it over) is refused before it empties it; once released it opens."""
    path = tmp_path / "failed.txt"
    first = FailedFile(path)
    try:
        _add(first, "a1", "a2")
        check_claimable(tmp_path / "other.txt", new_job=True)  # another path is free
        with pytest.raises(CheckpointLocked, match="held by another run"):
            check_claimable(path, new_job=False)
        with pytest.raises(CheckpointLocked, match=str(path)):
            FailedFile(path, truncate=True)
        assert read_lines(path) == ["a1", "a2"]
    finally:
        first.close()
    check_claimable(path, new_job=False)
    second = FailedFile(path, truncate=True)
    second.close()
    assert read_lines(path) == []


def test_a_failed_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    """Never written through a link: the target keeps what it had."""
    target = tmp_path / "target.txt"
    target.write_text("keep\n")
    (tmp_path / "failed.txt").symlink_to(target)
    with pytest.raises(StorageError, match="symbolic link"):
        FailedFile(tmp_path / "failed.txt", truncate=True)
    assert target.read_text() == "keep\n"


@pytest.mark.parametrize("how", ["moved", "replaced"])
def test_a_failed_file_moved_mid_run_stops_the_next_write(tmp_path: Path, how: str) -> None:
    """``mv failed.txt elsewhere`` mid-run: later failed IDs went on to the moved file
    through the open descriptor while the job (and its retry command) named a path that
    lists none of them, or another job's new file. The next write is refused, naming
    where the listed IDs are now, and nothing is written to either file."""
    path = tmp_path / "failed.txt"
    failed = FailedFile(path)
    _add(failed, "u-1")
    moved = tmp_path / "moved.txt"
    path.rename(moved)
    if how == "replaced":
        path.write_text("other-job\n")
    with pytest.raises(StorageError, match="moved away or replaced") as raised:
        _add(failed, "u-2")
    failed.close()
    assert str(moved) in str(raised.value)
    assert read_lines(moved) == ["u-1"]
    if how == "replaced":
        assert read_lines(path) == ["other-job"]
