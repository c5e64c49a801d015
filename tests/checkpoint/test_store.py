"""Unit tests for :mod:`bulkdelete.checkpoint.store`: the on-disk store (snapshot +
journal, lock, damage detection, bindings) and what it keeps out of the files."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import fields
from pathlib import Path

import pytest

from bulkdelete.checkpoint import (
    LOCK_NAME,
    STATE_NAME,
    Binding,
    CheckpointStore,
    RunRecord,
    describe_saved,
)
from bulkdelete.checkpoint.journal import frame
from bulkdelete.checkpoint.model import decode, encode
from bulkdelete.errors import (
    CheckpointError,
    CheckpointLocked,
    CheckpointMismatch,
)
from bulkdelete.lifecycle.plan import check_same_job
from bulkdelete.settings import JobFiles
from tests.checkpoint.helpers import (
    done_record,
    journals,
    line_of,
    load,
    make_binding,
    make_state,
    mark_done,
    mark_sent,
    nearly_full_disk,
    new_job,
    offset_of,
    opened_store,
)


def test_files_are_owner_only(tmp_path: Path) -> None:
    """The checkpoint directory is created 0700 and every file in it 0600
    (docs/guarantees.md §8)."""
    directory = tmp_path / "ckpt"
    old = os.umask(0o022)
    try:
        with opened_store(directory) as store:
            state = make_state()
            store.create(state)
            store.append(done_record(0, 0, 1, 100, 0, None))
            store.snapshot(*store.prepare_snapshot(state))
            store.append(done_record(1, 1000, 11, 100, 0, None))
            names = {p.name for p in directory.iterdir()}
            assert {STATE_NAME, LOCK_NAME}.issubset(names)
            assert journals(directory)
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700
            for path in directory.iterdir():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    finally:
        os.umask(old)


def test_lock_refuses_a_second_holder(tmp_path: Path) -> None:
    """While one store holds the lock, a second one on the same directory is refused with
    CheckpointLocked naming the holder's pid; once released it can be taken."""
    directory = tmp_path / "ckpt"
    first = CheckpointStore(directory)
    first.lock()
    second = CheckpointStore(directory)
    try:
        assert second.is_locked_elsewhere()
        with pytest.raises(CheckpointLocked, match=rf"locked by another run \(pid {os.getpid()}"):
            second.lock()
    finally:
        first.close()
    assert not second.is_locked_elsewhere()
    second.lock()
    second.close()


def _damage_flip(raw: bytes, where: str) -> bytes:
    data = bytearray(raw)
    index = {"start": 0, "middle": len(raw) // 2, "crc": len(raw) - 3}[where]
    data[index] ^= 0x20
    return bytes(data)


@pytest.mark.parametrize("where", ["start", "middle", "crc"])
def test_state_with_a_flipped_byte_is_refused(tmp_path: Path, where: str) -> None:
    """A state.json with any byte flipped fails its checksum: CheckpointError naming
    --restart, never a silently wrong state."""
    directory = tmp_path / "ckpt"
    new_job(directory)
    path = directory / STATE_NAME
    path.write_bytes(_damage_flip(path.read_bytes(), where))
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


@pytest.mark.parametrize("keep", [0, 1, 0.5, -4])
def test_truncated_state_is_refused(tmp_path: Path, keep: float) -> None:
    """A truncated state.json (empty, one byte, half, cut into its checksum line) is refused
    with a CheckpointError naming --restart."""
    directory = tmp_path / "ckpt"
    new_job(directory)
    path = directory / STATE_NAME
    raw = path.read_bytes()
    size = int(len(raw) * keep) if isinstance(keep, float) else (keep if keep >= 0
                                                                  else len(raw) + keep)
    path.write_bytes(raw[:size])
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


def test_state_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    """A well-formed, checksummed state of another format version is refused with
    --restart, not misread."""
    directory = tmp_path / "ckpt"
    new_job(directory)
    path = directory / STATE_NAME
    state = decode(path.read_bytes())
    assert state is not None
    path.write_bytes(encode({**state, "version": 99}))
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


def test_missing_state_is_a_checkpoint_error(tmp_path: Path) -> None:
    """Loading a directory without state.json is a CheckpointError, and exists() says so."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        assert not store.exists()
        with pytest.raises(CheckpointError):
            store.load()


def test_check_binding_lists_what_differs() -> None:
    """A checkpoint of another input, ID type or host is refused with CheckpointMismatch
    whose message names each difference (and only those), old and new values."""
    stored = make_binding()
    assert stored.differences(make_binding()) == []  # identical: accepted
    current = make_binding(fingerprint="sha256:other", id_type="identity",
                           host="127.0.0.1:8080")
    with pytest.raises(CheckpointMismatch) as info:
        check_same_job(make_state(), current, JobFiles(input=Path("ids.txt")), Path("ckpt"))
    message = str(info.value)
    assert "input content" in message
    assert "--id-type: checkpoint has 'guid', this run has 'identity'" in message
    assert "target host" in message
    assert "'api.clevertap.com'" in message
    assert "127.0.0.1:8080" in message
    assert "--batch-size" not in message
    assert "--account-id" not in message
    assert "--restart" in message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(("field", "value", "label"), [
    ("format", "csv", "--format"), ("column", "guid", "--column"),
    ("batch_size", 50, "--batch-size"), ("account_id", "ACC-2", "--account-id"),
    ("delimiter", ";", "CSV delimiter"),
])
def test_check_binding_names_each_batch_shaping_setting(field: str, value: object,
                                                        label: str) -> None:
    """Every bound setting is checked on its own and named by its flag."""
    assert make_binding().differences(make_binding(**{field: value})) == [
        f"{label}: checkpoint has {getattr(make_binding(), field)!r}, this run has {value!r}"
    ]
    with pytest.raises(CheckpointMismatch, match=label):
        check_same_job(make_state(), make_binding(**{field: value}),
                       JobFiles(input=Path("ids.txt")), Path("c"))


def test_discard_removes_state_and_journals_only(tmp_path: Path) -> None:
    """--restart's discard removes state.json, leftover temp files and every journal; the
    lock (still held) and other files such as the failed file stay."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state()
        store.create(state)
        store.append(done_record(0, 0, 1, 100, 0, None))
        store.prepare_snapshot(state)  # a second journal
        (directory / (STATE_NAME + ".tmp")).write_bytes(b"half")
        (directory / "failed.txt").write_text("x\n")
        assert len(journals(directory)) == 2
        store.discard()
        assert not store.exists()
        assert sorted(p.name for p in directory.iterdir()) == ["failed.txt", LOCK_NAME]
        with pytest.raises(CheckpointLocked):
            CheckpointStore(directory).lock()


def test_stale_journals_older_than_the_snapshot_are_ignored(tmp_path: Path) -> None:
    """A journal older than the snapshot's generation (left by a crash between installing a
    snapshot and deleting it) is not replayed, even if it holds records the snapshot lacks
    or garbage."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state()
        store.create(state)
        mark_done(state.progress, 0, 0, 1, 100, 0)
        store.append(done_record(0, 0, 1, 100, 0, None))
        store.snapshot(*store.prepare_snapshot(state))
    assert [p.name for p in journals(directory)] == ["journal.2"]
    stale = directory / "journal.1"
    stale.write_bytes(frame({"k": "d", "s": 5, "o": 5000, "l": 51, "n": 100, "f": 0})
                      + b"garbage\n"
                      + frame({"k": "d", "s": 0, "o": 0, "l": 1, "n": 100, "f": 0}))
    p = load(directory).progress
    assert p.watermark == 1
    assert not p.is_done(5)
    assert p.ids_deleted == 100


def test_snapshot_drops_covered_journals_and_load_replays_newer_ones(tmp_path: Path) -> None:
    """After a snapshot only the new generation's journal remains; records appended after
    the prepare land there and are replayed on load."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state()
        store.create(state)
        for seq in (0, 1):
            mark_done(state.progress, seq, offset_of(seq), line_of(seq), 100, 0)
            store.append(done_record(seq, offset_of(seq), line_of(seq), 100, 0, None))
        data, gen = store.prepare_snapshot(state)
        store.append(done_record(2, offset_of(2), line_of(2), 100, 0, None))
        store.snapshot(data, gen)
        assert [p.name for p in journals(directory)] == [f"journal.{gen}"]
    p = load(directory).progress
    assert p.watermark == 3
    assert p.ids_deleted == 300


def test_resume_writes_a_journal_newer_than_any_on_disk(tmp_path: Path) -> None:
    """A resumed run appends to a new journal generation, never into a file a crash may
    have left with a torn tail."""
    directory = tmp_path / "ckpt"
    new_job(directory, done=1)
    before = {p.name: p.read_bytes() for p in journals(directory)}
    with opened_store(directory) as store:
        store.load()
        store.resume()
        store.append(done_record(1, offset_of(1), line_of(1), 100, 0, None))
    after = journals(directory)
    assert {p.name: p.read_bytes() for p in after[:-1]} == before
    assert after[-1].name not in before


_STATE_KEYS = {"version", "journal", "updated", "binding", "totals", "progress", "runs",
               "input", "resume_command", "failed"}


_PROGRESS_KEYS = {"watermark", "anchor", "done_above", "sent_above", "ids_deleted",
                  "ids_failed", "reasons", "left", "resent_after_crash", "resent_after_stop",
                  "head_done"}


_RECORD_KEYS = {"k", "s", "o", "l", "n", "f", "r", "h"}


def test_checkpoint_files_hold_no_ids(tmp_path: Path) -> None:
    """The checkpoint holds counts, offsets, line numbers and ID-free reasons only: every
    key of state.json and of every journal record is one of the expected ones, every value
    a number (or the binding/run metadata), and none of the batch's IDs appears anywhere."""
    ids = [f"user-{n:06d}@example.com" for n in range(200)]
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state(batches_total=2, ids_total=len(ids))
        state.runs.append(RunRecord(run_id="r1", started="2024-01-01T00:00:00Z"))
        store.create(state)
        for seq in (0, 1):
            mark_sent(state.progress, seq)
            store.append({"k": "s", "s": seq})
        mark_done(state.progress, 1, 300, 101, 98, 2, {"HTTP 400 rejected": 2})
        store.append(done_record(1, 300, 101, 98, 2, {"HTTP 400 rejected": 2}))
        store.snapshot(*store.prepare_snapshot(state))
        mark_done(state.progress, 0, 0, 1, 100, 0)
        store.append(done_record(0, 0, 1, 100, 0, None))

        blob = b"".join(p.read_bytes() for p in directory.iterdir())
        assert not any(i.encode() in blob for i in ids)
        assert b"@" not in blob

        doc = json.loads((directory / STATE_NAME).read_bytes())["state"]
        assert set(doc) == _STATE_KEYS
        assert set(doc["progress"]) == _PROGRESS_KEYS
        assert set(doc["binding"]) == {f.name for f in fields(Binding)}
        assert set(doc["progress"]["reasons"]) == {"HTTP 400 rejected"}
        for path in journals(directory):
            for line in path.read_bytes().splitlines():
                text, _, _ = line.rpartition(b"\t")
                record = json.loads(text)
                assert set(record) <= _RECORD_KEYS
                assert all(isinstance(v, int) for k, v in record.items() if k not in "kr")
                assert set(record.get("r", {})) <= {"HTTP 400 rejected"}


def test_a_snapshot_cut_short_by_a_full_disk_is_not_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot that does not fit raises; the old snapshot and the journals it needs
    stay, so a rerun resumes with every recorded batch (never "damaged")."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state()
        store.create(state)
        for seq in range(4):
            mark_done(state.progress, seq, offset_of(seq), line_of(seq), 100, 0)
            store.append(done_record(seq, offset_of(seq), line_of(seq), 100, 0, None))
        data, gen = store.prepare_snapshot(state)
        nearly_full_disk(monkeypatch, allow=len(data) // 2)
        with pytest.raises(OSError, match="No space left"):
            store.snapshot(data, gen)
        monkeypatch.undo()
    assert not [p for p in directory.iterdir() if p.name.endswith(".tmp")]
    p = load(directory).progress
    assert (p.watermark, p.ids_deleted) == (4, 400)


def test_describe_saved_reads_what_a_rerun_would_resume_from(tmp_path: Path) -> None:
    """The message after a failed write is read back from the disk: the recorded batches
    and IDs when the checkpoint loads, that nothing is saved when it is gone, and why
    when it cannot be read."""
    directory = tmp_path / "ckpt"
    assert "Nothing of the job's progress is saved" in describe_saved(directory)
    with opened_store(directory) as store:
        state = make_state(batches_total=10, ids_total=1000)
        store.create(state)
        for seq in (0, 1, 2, 5):
            store.append(done_record(seq, offset_of(seq), line_of(seq), 100, 0, None))
    said = describe_saved(directory)
    assert "400 of 1,000 IDs handled (4 of 10 batches recorded, 1 of them past batch 3)" \
        in said
    (directory / STATE_NAME).write_bytes(b"garbage\n00000000\n")
    assert "cannot be read back" in describe_saved(directory)
