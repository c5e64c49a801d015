"""Unit tests for :mod:`bulkdelete.checkpoint.journal`: record framing, replay of torn and
damaged journals, and a write that fails."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from bulkdelete.checkpoint import (
    CheckpointStore,
    State,
    Totals,
)
from bulkdelete.checkpoint.journal import frame
from bulkdelete.errors import CheckpointError
from tests.checkpoint.helpers import (
    done_record,
    journals,
    line_of,
    load,
    make_binding,
    make_state,
    mark_done,
    nearly_full_disk,
    new_job,
    offset_of,
    opened_store,
)


def test_torn_final_journal_record_is_dropped_silently(tmp_path: Path) -> None:
    """A final record cut mid-write (a crash during write(2)) is recovered from: the batches
    before it count, the torn one does not (it is simply re-sent)."""
    directory = tmp_path / "ckpt"
    new_job(directory, done=3)
    journal = journals(directory)[-1]
    raw = journal.read_bytes()
    last_start = raw.rstrip(b"\n").rfind(b"\n") + 1
    journal.write_bytes(raw[: last_start + (len(raw) - last_start) // 2])
    p = load(directory).progress
    assert [p.is_done(s) for s in range(4)] == [True, True, False, False]
    assert p.ids_deleted == 200


def test_torn_final_record_in_an_older_journal_is_dropped(tmp_path: Path) -> None:
    """A torn tail left by a crash stays torn in its journal after the resume writes a newer
    one; loading again still recovers (the rerun's records count)."""
    directory = tmp_path / "ckpt"
    new_job(directory, done=2)
    journal = journals(directory)[-1]
    journal.write_bytes(journal.read_bytes()[:-7])  # batch 1's done record is torn
    with opened_store(directory) as store:
        store.load()
        store.resume()
        store.append(done_record(1, offset_of(1), line_of(1), 100, 0, None))
        store.append(done_record(2, offset_of(2), line_of(2), 100, 0, None))
    p = load(directory).progress
    assert p.watermark == 3
    assert p.ids_deleted == 300


def test_garbage_in_the_middle_of_the_journal_is_refused(tmp_path: Path) -> None:
    """A damaged record followed by valid ones is not a torn tail: loading refuses with a
    CheckpointError that names --restart."""
    directory = tmp_path / "ckpt"
    new_job(directory, done=3)
    journal = journals(directory)[-1]
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[2] = b'{"k":"d","s":0,"o":0,"l":1,"n":100,"f":0}\tdeadbeef\n'
    journal.write_bytes(b"".join(lines))
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


@pytest.mark.parametrize("record", [{"k": "x", "s": 1}, {"k": "d", "s": 1},
                                    {"k": "s", "s": "1"}])
def test_a_record_of_an_unknown_shape_is_refused(tmp_path: Path,
                                                 record: dict[str, object]) -> None:
    """A whole, checksummed record of a kind or shape no version writes is refused with
    --restart, never skipped or guessed at."""
    directory = tmp_path / "ckpt"
    new_job(directory, done=1)
    journal = journals(directory)[-1]
    journal.write_bytes(journal.read_bytes() + frame(record))
    with pytest.raises(CheckpointError, match="unknown record at"):
        load(directory)


def test_flipped_bit_in_the_journal_middle_is_refused(tmp_path: Path) -> None:
    """One flipped byte inside an early record (CRC mismatch) with valid records after it
    is refused with a CheckpointError naming --restart."""
    directory = tmp_path / "ckpt"
    new_job(directory, done=3)
    journal = journals(directory)[-1]
    raw = bytearray(journal.read_bytes())
    raw[5] ^= 0x01
    journal.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


def test_records_are_written_at_once_in_the_documented_form(tmp_path: Path) -> None:
    """Each record reaches the kernel as it is appended (a kill -9 loses none), framed as
    docs/checkpoint.md says."""
    store = CheckpointStore(tmp_path / "ckpt")
    store.lock()
    state = State(binding=make_binding(), totals=Totals(300, 0, 3))
    store.create(state)
    store.append({"k": "s", "s": 7})
    store.append(done_record(7, 12_345, 678, 99, 1, None))
    store.append(done_record(8, 22_345, 778, 98, 2, {"HTTP 400 rejected": 2}))
    journal = (tmp_path / "ckpt" / "journal.1").read_bytes()
    assert journal == (
        frame({"k": "s", "s": 7})
        + frame({"k": "d", "s": 7, "o": 12_345, "l": 678, "n": 99, "f": 1})
        + frame({"k": "d", "s": 8, "o": 22_345, "l": 778, "n": 98, "f": 2,
                  "r": {"HTTP 400 rejected": 2}})
    )


def test_a_failed_journal_write_is_raised_at_once_and_by_every_later_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal write that fails half way (full disk) raises in the appending task, so
    the run stops at once: the journal is cut back to its last whole record, every later
    append raises the same failure, the lock is released on close, and the run's last
    save still covers what the batches did once the disk has room again."""
    directory = tmp_path / "ckpt"
    store = CheckpointStore(directory)
    store.lock()
    state = make_state()
    store.create(state)
    for seq in (0, 1):
        mark_done(state.progress, seq, offset_of(seq), line_of(seq), 100, 0)
        store.append(done_record(seq, offset_of(seq), line_of(seq), 100, 0, None))
    whole = (directory / "journal.1").read_bytes()
    mark_done(state.progress, 2, offset_of(2), line_of(2), 100, 0)
    nearly_full_disk(monkeypatch, allow=10)
    with pytest.raises(OSError, match="No space left") as first:
        store.append(done_record(2, offset_of(2), line_of(2), 100, 0, None))
    monkeypatch.undo()
    assert type(first.value).__name__ == "StorageError"
    assert store.failure is first.value
    assert (directory / "journal.1").read_bytes() == whole
    with pytest.raises(OSError, match="No space left"):
        store.append(done_record(3, offset_of(3), line_of(3), 100, 0, None))
    store.finish(state)
    store.close()
    again = CheckpointStore(directory)
    again.lock()  # the lock was released
    again.close()
    p = load(directory).progress
    assert (p.watermark, p.ids_deleted) == (3, 300)


def test_a_failed_journal_reopen_never_writes_to_the_old_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new journal cannot be created (inodes exhausted, folder gone): the store raises
    and stays broken. The descriptor number the old journal had, now another file's, never
    receives a record — in the field it was a socket, and records went out as requests."""
    import bulkdelete.checkpoint.store as store_module

    directory = tmp_path / "ckpt"
    store = CheckpointStore(directory)
    store.lock()
    state = make_state()
    store.create(state)
    store.append(done_record(0, offset_of(0), line_of(0), 100, 0, None))

    def no_inodes(path: Path, flags: int) -> int:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(store_module, "open_private", no_inodes)
    with pytest.raises(OSError, match="No space left"):
        store.prepare_snapshot(state)
    monkeypatch.undo()
    bystander = tmp_path / "socket-stand-in"
    fd = os.open(bystander, os.O_RDWR | os.O_CREAT)  # takes the lowest free number
    try:
        with pytest.raises(OSError, match="No space left"):
            store.append(done_record(1, offset_of(1), line_of(1), 100, 0, None))
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            store.close()
    assert bystander.read_bytes() == b""
    assert load(directory).progress.watermark == 1  # what reached the journal is kept


def test_an_answered_record_replays_as_no_longer_sent(tmp_path: Path) -> None:
    """``{"k":"a"}`` after ``{"k":"s"}`` leaves the batch off ``sent_above`` on load, so a
    batch that was waiting to retry when the run was killed is not counted as re-sent."""
    store = CheckpointStore(tmp_path / "ckpt")
    store.lock()
    store.create(State(binding=make_binding(), totals=Totals(300, 0, 3)))
    store.append({"k": "s", "s": 1})
    store.append({"k": "s", "s": 2})
    store.append({"k": "a", "s": 2})
    store.close()
    assert (tmp_path / "ckpt" / "journal.1").read_bytes().endswith(frame({"k": "a", "s": 2}))
    assert CheckpointStore(tmp_path / "ckpt").load().progress.sent_above == {1}
