"""Unit tests for :mod:`bulkdelete.checkpoint`: the low-watermark tracker, the on-disk store
(snapshot + journal, lock, damage detection) and the crash-resume invariants (spec §4.2,
§4.4), the last checked with hypothesis over completion orders and crash points."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import stat
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bulkdelete.checkpoint import (
    LOCK_NAME,
    MAX_REASONS,
    STATE_NAME,
    Binding,
    CheckpointStore,
    Progress,
    RunRecord,
    State,
    Totals,
    _frame,
    check_binding,
    describe_saved,
)
from bulkdelete.errors import CheckpointError, CheckpointLocked, CheckpointMismatch

_JOURNAL = re.compile(r"^journal\.(\d+)$")


def make_binding(**changes: Any) -> Binding:
    base = Binding(
        fingerprint="sha256:abc123", format="lines", column=None, batch_size=100,
        id_type="guid", account_id="ACC-1", host="api.clevertap.com",
    )
    return replace(base, **changes)


def make_state(batches_total: int = 10, ids_total: int = 1000) -> State:
    return State(
        binding=make_binding(),
        totals=Totals(ids_total=ids_total, lines_invalid=2, batches_total=batches_total,
                      invalid_samples=[(3, "empty value"), (9, "control character")]),
        input="/data/ids.txt", resume_command="bulkdelete delete /data/ids.txt --id-type guid",
        updated="2024-01-01T00:00:00Z",
    )


def journals(directory: Path) -> list[Path]:
    found = [(int(m.group(1)), p) for p in directory.iterdir()
             if (m := _JOURNAL.match(p.name))]
    return [p for _, p in sorted(found)]


def offset_of(seq: int) -> int:
    return seq * 1_000


def line_of(seq: int) -> int:
    return seq * 10 + 1


@contextmanager
def opened_store(directory: Path) -> Iterator[CheckpointStore]:
    store = CheckpointStore(directory)
    store.lock()
    try:
        yield store
    finally:
        store.close()


def load(directory: Path) -> State:
    """A fresh process's view: a new store, locked, loaded."""
    with opened_store(directory) as store:
        return store.load()


# -- Progress ---------------------------------------------------------------------------


def test_out_of_order_completion_advances_watermark_when_the_gap_fills() -> None:
    """Batches done above the watermark wait in done_above; the watermark jumps over all of
    them exactly when the missing batch completes."""
    p = Progress()
    for seq in (3, 1, 2):
        assert p.mark_done(seq, offset_of(seq), line_of(seq), 10, 0)
        assert p.watermark == 0
    assert set(p.done_above) == {1, 2, 3}
    assert p.mark_done(0, offset_of(0), line_of(0), 10, 0)
    assert p.watermark == 4
    assert p.done_above == {}
    p.mark_done(5, offset_of(5), line_of(5), 10, 0)
    assert p.watermark == 4
    p.mark_done(4, offset_of(4), line_of(4), 10, 0)
    assert p.watermark == 6


def test_anchor_follows_the_watermark() -> None:
    """The anchor is the (seq, offset, line) of the last batch below the watermark, so a
    resume seeks to a batch that is done and regenerates numbering from it."""
    p = Progress()
    assert p.anchor == (0, 0, 1)
    p.mark_done(1, offset_of(1), line_of(1), 5, 0)
    assert p.anchor == (0, 0, 1)  # gap at 0: nothing to anchor on yet
    p.mark_done(0, offset_of(0), line_of(0), 5, 0)
    assert p.anchor == (1, offset_of(1), line_of(1))
    p.mark_done(2, offset_of(2), line_of(2), 5, 0)
    assert p.anchor == (2, offset_of(2), line_of(2))
    assert p.anchor[0] == p.watermark - 1


def test_mark_done_twice_is_idempotent() -> None:
    """Recording a batch a second time changes nothing (journal replay relies on it), both
    above the watermark and below it."""
    p = Progress()
    assert p.mark_done(2, offset_of(2), line_of(2), 7, 3, {"HTTP 400 rejected": 3})
    assert not p.mark_done(2, offset_of(2), line_of(2), 7, 3, {"HTTP 400 rejected": 3})
    assert (p.ids_deleted, p.ids_failed) == (7, 3)
    assert p.reasons == {"HTTP 400 rejected": 3}
    p.mark_done(0, 0, 1, 10, 0)
    p.mark_done(1, 5, 2, 10, 0)
    assert p.watermark == 3
    assert not p.mark_done(1, 5, 2, 10, 0)
    assert not p.mark_done(2, offset_of(2), line_of(2), 7, 3, {"HTTP 400 rejected": 3})
    assert (p.ids_deleted, p.ids_failed) == (27, 3)
    assert p.reasons == {"HTTP 400 rejected": 3}


def test_is_done_below_watermark_and_in_done_above_only() -> None:
    """is_done is true for every seq under the watermark and for the completed ones above
    it, false for the gaps and beyond."""
    p = Progress()
    for seq in (0, 1, 4, 6):
        p.mark_done(seq, offset_of(seq), line_of(seq), 1, 0)
    assert [p.is_done(s) for s in range(8)] == [True, True, False, False, True, False, True,
                                                False]


def test_mark_sent_is_true_once_and_false_for_done_batches() -> None:
    """mark_sent reports a first send; a batch already sent (by a run that crashed) or done
    is not a first send, so it is journalled as sent only once."""
    p = Progress()
    assert p.mark_sent(3)
    assert not p.mark_sent(3)
    p.mark_done(3, 0, 1, 1, 0)
    assert 3 not in p.sent_above
    assert not p.mark_sent(3)


def test_reasons_are_counted_and_capped() -> None:
    """Reasons are summed across batches; at most MAX_REASONS distinct reasons are kept and
    any further new reason is folded into "other" (so the checkpoint stays bounded)."""
    p = Progress()
    for n in range(MAX_REASONS + 25):
        p.mark_done(n, offset_of(n), line_of(n), 0, 2, {f"reason {n}": 2})
    p.mark_done(1000, 0, 1, 0, 1, {"reason 0": 1})  # a kept reason keeps counting
    p.mark_done(1001, 0, 1, 0, 4, {"reason 999": 4})  # a new one after the cap: "other"
    kept = {k for k in p.reasons if k != "other"}
    assert kept == {f"reason {n}" for n in range(MAX_REASONS)}
    assert p.reasons["reason 0"] == 3
    assert p.reasons["other"] == 25 * 2 + 4
    assert sum(p.reasons.values()) == p.ids_failed


# -- crash/resume property --------------------------------------------------------------


def _first_run(
    directory: Path, sizes: list[int], order: list[int], k: int, in_flight: int,
    snapshot_plan: list[int], torn: bool,
) -> None:
    """The run that gets killed: lock, create, then for each of the first k completions a
    sent and a done record (updating the live state, as the pipeline does). snapshot_plan[i]
    says what to do before completion i: 0 nothing, 1 prepare a snapshot, 2 install the
    prepared one, 3 both. ``in_flight`` batches after them are sent but never done; with
    ``torn``, the next done record is cut off mid-write. Then "kill -9": file descriptors
    closed, no final snapshot."""
    store = CheckpointStore(directory)
    store.lock()
    state = make_state(batches_total=len(sizes), ids_total=sum(sizes))
    store.create(state)
    p = state.progress
    pending: tuple[bytes, int] | None = None
    for i, seq in enumerate(order[:k]):
        action = snapshot_plan[i] if i < len(snapshot_plan) else 0
        if action in (1, 3) and pending is None:
            pending = store.prepare_snapshot(state)
        if action in (2, 3) and pending is not None:
            store.snapshot(*pending)
            pending = None
        if p.mark_sent(seq):
            store.append_sent(seq)
        failed = 1 if seq % 3 == 0 else 0
        p.mark_done(seq, offset_of(seq), line_of(seq), sizes[seq] - failed, failed,
                    {"HTTP 400 rejected": 1} if failed else None)
        store.append_done(seq, offset_of(seq), line_of(seq), sizes[seq] - failed, failed,
                          {"HTTP 400 rejected": 1} if failed else None)
    for seq in order[k:k + in_flight]:
        if p.mark_sent(seq):
            store.append_sent(seq)
    if torn and k < len(order):
        seq = order[k]
        record = _frame({"k": "d", "s": seq, "o": offset_of(seq), "l": line_of(seq),
                         "n": sizes[seq], "f": 0})
        cut = max(1, len(record) // 2)
        with journals(directory)[-1].open("ab") as fh:
            fh.write(record[:cut])
    store.close()  # kill -9: no snapshot, nothing flushed beyond what the kernel has


def _resume_and_check(
    directory: Path, sizes: list[int], order: list[int], k: int, in_flight: int
) -> None:
    n = len(sizes)
    durable = order[:k]
    state = load(directory)
    p = state.progress

    expected_deleted = sum(sizes[s] - (1 if s % 3 == 0 else 0) for s in durable)
    expected_failed = sum(1 for s in durable if s % 3 == 0)
    assert (p.ids_deleted, p.ids_failed) == (expected_deleted, expected_failed)
    assert p.reasons.get("HTTP 400 rejected", 0) == expected_failed
    assert p.sent_above == set(order[k:k + in_flight])
    if p.watermark:
        w = p.watermark - 1
        assert p.anchor == (w, offset_of(w), line_of(w))
    assert all(s >= p.watermark for s in p.done_above)

    # The resume: a new store, a new journal, and every batch not done is sent again.
    store = CheckpointStore(directory)
    store.lock()
    state = store.load()
    p = state.progress
    store.resume()
    resent = [s for s in range(n) if not p.is_done(s)]
    assert sorted(resent) == sorted(set(range(n)) - set(durable))
    assert sorted(durable + resent) == list(range(n)), "a batch covered twice or never"
    for seq in resent:
        if p.mark_sent(seq):
            store.append_sent(seq)
        p.mark_done(seq, offset_of(seq), line_of(seq), sizes[seq], 0)
        store.append_done(seq, offset_of(seq), line_of(seq), sizes[seq], 0, None)
    store.close()  # killed again right at the end

    final = load(directory).progress
    assert final.watermark == n
    assert final.done_above == {}
    assert final.sent_above == set()
    assert final.ids_deleted + final.ids_failed == sum(sizes)
    assert final.ids_failed == expected_failed
    assert final.anchor == (n - 1, offset_of(n - 1), line_of(n - 1))


@st.composite
def crash_scenarios(draw: st.DrawFn) -> tuple[list[int], list[int], int, int]:
    n = draw(st.integers(min_value=1, max_value=60))
    sizes = draw(st.lists(st.integers(min_value=1, max_value=100), min_size=n, max_size=n))
    order = draw(st.permutations(range(n)))
    k = draw(st.integers(min_value=0, max_value=n))
    in_flight = draw(st.integers(min_value=0, max_value=min(3, n - k)))
    return sizes, list(order), k, in_flight


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=crash_scenarios(), torn=st.booleans())
def test_resume_after_kill_resends_exactly_the_undone_batches(
    scenario: tuple[list[int], list[int], int, int], torn: bool
) -> None:
    """Any completion order, any crash point k (only the first k completions durable, maybe
    a torn record after them): the restored Progress makes a resume re-send exactly the
    batches not among the first k; across both runs each batch is covered exactly once and
    the deleted/failed counts add up."""
    sizes, order, k, in_flight = scenario
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "ckpt"
        _first_run(directory, sizes, order, k, in_flight, [], torn)
        _resume_and_check(directory, sizes, order, k, in_flight)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=crash_scenarios(), torn=st.booleans(), data=st.data())
def test_resume_after_kill_with_snapshots_in_between(
    scenario: tuple[list[int], list[int], int, int], torn: bool, data: st.DataObject
) -> None:
    """Same invariant with prepare_snapshot/snapshot at random points (a prepared snapshot
    may be installed several completions later, or never when the kill comes first):
    journal rotation never loses a record."""
    sizes, order, k, in_flight = scenario
    plan = data.draw(st.lists(st.integers(min_value=0, max_value=3), min_size=k, max_size=k))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "ckpt"
        _first_run(directory, sizes, order, k, in_flight, plan, torn)
        _resume_and_check(directory, sizes, order, k, in_flight)


def test_snapshots_installed_out_of_order_lose_no_record(tmp_path: Path) -> None:
    """Two prepared snapshots whose installs land in the opposite order (job.py's periodic
    snapshot thread is not awaited when cancelled, and the final snapshot then runs beside
    it) must not lose the records journaled between the two prepares."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state(batches_total=4)
        store.create(state)
        p = state.progress
        older = store.prepare_snapshot(state)  # captured with nothing done
        p.mark_done(0, 0, 1, 100, 0)
        store.append_done(0, 0, 1, 100, 0, None)  # goes to the older snapshot's journal
        newer = store.prepare_snapshot(state)
        p.mark_done(1, 1000, 11, 100, 0)
        store.append_done(1, 1000, 11, 100, 0, None)
        store.snapshot(*newer)
        store.snapshot(*older)  # the slow thread finishes last
    restored = load(directory).progress
    assert restored.is_done(0), "batch 0 was durably recorded, then lost"
    assert restored.is_done(1)


# -- CheckpointStore ---------------------------------------------------------------------


def _new_job(directory: Path, done: int = 3) -> None:
    """A job with batches 0..done-1 journaled as done, then the process dies."""
    with opened_store(directory) as store:
        store.create(make_state())
        for seq in range(done):
            store.append_sent(seq)
            store.append_done(seq, offset_of(seq), line_of(seq), 100, 0, None)


def test_files_are_owner_only(tmp_path: Path) -> None:
    """The checkpoint directory is created 0700 and every file in it 0600 (spec §4.8)."""
    directory = tmp_path / "ckpt"
    old = os.umask(0o022)
    try:
        with opened_store(directory) as store:
            state = make_state()
            store.create(state)
            store.append_done(0, 0, 1, 100, 0, None)
            store.snapshot(*store.prepare_snapshot(state))
            store.append_done(1, 1000, 11, 100, 0, None)
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


def test_torn_final_journal_record_is_dropped_silently(tmp_path: Path) -> None:
    """A final record cut mid-write (a crash during write(2)) is recovered from: the batches
    before it count, the torn one does not (it is simply re-sent)."""
    directory = tmp_path / "ckpt"
    _new_job(directory, done=3)
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
    _new_job(directory, done=2)
    journal = journals(directory)[-1]
    journal.write_bytes(journal.read_bytes()[:-7])  # batch 1's done record is torn
    with opened_store(directory) as store:
        store.load()
        store.resume()
        store.append_done(1, offset_of(1), line_of(1), 100, 0, None)
        store.append_done(2, offset_of(2), line_of(2), 100, 0, None)
    p = load(directory).progress
    assert p.watermark == 3
    assert p.ids_deleted == 300


def test_garbage_in_the_middle_of_the_journal_is_refused(tmp_path: Path) -> None:
    """A damaged record followed by valid ones is not a torn tail: loading refuses with a
    CheckpointError that names --restart."""
    directory = tmp_path / "ckpt"
    _new_job(directory, done=3)
    journal = journals(directory)[-1]
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[2] = b'{"k":"d","s":0,"o":0,"l":1,"n":100,"f":0}\tdeadbeef\n'
    journal.write_bytes(b"".join(lines))
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


def test_flipped_bit_in_the_journal_middle_is_refused(tmp_path: Path) -> None:
    """One flipped byte inside an early record (CRC mismatch) with valid records after it
    is refused with a CheckpointError naming --restart."""
    directory = tmp_path / "ckpt"
    _new_job(directory, done=3)
    journal = journals(directory)[-1]
    raw = bytearray(journal.read_bytes())
    raw[5] ^= 0x01
    journal.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


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
    _new_job(directory)
    path = directory / STATE_NAME
    path.write_bytes(_damage_flip(path.read_bytes(), where))
    with pytest.raises(CheckpointError, match="--restart"):
        load(directory)


@pytest.mark.parametrize("keep", [0, 1, 0.5, -4])
def test_truncated_state_is_refused(tmp_path: Path, keep: float) -> None:
    """A truncated state.json (empty, one byte, half, cut into its checksum line) is refused
    with a CheckpointError naming --restart."""
    directory = tmp_path / "ckpt"
    _new_job(directory)
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
    _new_job(directory)
    path = directory / STATE_NAME
    body = json.loads(path.read_bytes().split(b"\n")[0])
    body["version"] = 99
    text = json.dumps(body).encode()
    path.write_bytes(text + b"\n" + f"{zlib.crc32(text):08x}".encode() + b"\n")
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
    check_binding(stored, make_binding(), Path("ckpt"))  # identical: accepted
    current = make_binding(fingerprint="sha256:other", id_type="identity",
                           host="127.0.0.1:8080")
    with pytest.raises(CheckpointMismatch) as info:
        check_binding(stored, current, Path("ckpt"))
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
])
def test_check_binding_names_each_batch_shaping_setting(field: str, value: object,
                                                        label: str) -> None:
    """Every bound setting is checked on its own and named by its flag."""
    assert make_binding().differences(make_binding(**{field: value})) == [
        f"{label}: checkpoint has {getattr(make_binding(), field)!r}, this run has {value!r}"
    ]
    with pytest.raises(CheckpointMismatch, match=label):
        check_binding(make_binding(), make_binding(**{field: value}), Path("c"))


def test_discard_removes_state_and_journals_only(tmp_path: Path) -> None:
    """--restart's discard removes state.json, leftover temp files and every journal; the
    lock (still held) and other files such as the failed file stay."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state()
        store.create(state)
        store.append_done(0, 0, 1, 100, 0, None)
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
        state.progress.mark_done(0, 0, 1, 100, 0)
        store.append_done(0, 0, 1, 100, 0, None)
        store.snapshot(*store.prepare_snapshot(state))
    assert [p.name for p in journals(directory)] == ["journal.2"]
    stale = directory / "journal.1"
    stale.write_bytes(_frame({"k": "d", "s": 5, "o": 5000, "l": 51, "n": 100, "f": 0})
                      + b"garbage\n"
                      + _frame({"k": "d", "s": 0, "o": 0, "l": 1, "n": 100, "f": 0}))
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
            state.progress.mark_done(seq, offset_of(seq), line_of(seq), 100, 0)
            store.append_done(seq, offset_of(seq), line_of(seq), 100, 0, None)
        data, gen = store.prepare_snapshot(state)
        store.append_done(2, offset_of(2), line_of(2), 100, 0, None)
        store.snapshot(data, gen)
        assert [p.name for p in journals(directory)] == [f"journal.{gen}"]
    p = load(directory).progress
    assert p.watermark == 3
    assert p.ids_deleted == 300


def test_resume_writes_a_journal_newer_than_any_on_disk(tmp_path: Path) -> None:
    """A resumed run appends to a new journal generation, never into a file a crash may
    have left with a torn tail."""
    directory = tmp_path / "ckpt"
    _new_job(directory, done=1)
    before = {p.name: p.read_bytes() for p in journals(directory)}
    with opened_store(directory) as store:
        store.load()
        store.resume()
        store.append_done(1, offset_of(1), line_of(1), 100, 0, None)
    after = journals(directory)
    assert {p.name: p.read_bytes() for p in after[:-1]} == before
    assert after[-1].name not in before


_STATE_KEYS = {"version", "journal", "updated", "binding", "totals", "progress", "runs",
               "input", "resume_command", "failed"}
_PROGRESS_KEYS = {"watermark", "anchor", "done_above", "sent_above", "ids_deleted",
                  "ids_failed", "reasons", "left", "resent_after_crash", "resent_after_stop"}
_RECORD_KEYS = {"k", "s", "o", "l", "n", "f", "r"}


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
            state.progress.mark_sent(seq)
            store.append_sent(seq)
        state.progress.mark_done(1, 300, 101, 98, 2, {"HTTP 400 rejected": 2})
        store.append_done(1, 300, 101, 98, 2, {"HTTP 400 rejected": 2})
        store.snapshot(*store.prepare_snapshot(state))
        state.progress.mark_done(0, 0, 1, 100, 0)
        store.append_done(0, 0, 1, 100, 0, None)

        blob = b"".join(p.read_bytes() for p in directory.iterdir())
        assert not any(i.encode() in blob for i in ids)
        assert b"@" not in blob

        body = (directory / STATE_NAME).read_bytes().split(b"\n")[0]
        doc = json.loads(body)
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


def test_hot_records_are_byte_identical_to_the_generic_frame(tmp_path: Path) -> None:
    """The directly formatted "sent"/"done" records are exactly what _frame(json) writes,
    so replay cannot tell the fast path from the generic one."""
    store = CheckpointStore(tmp_path / "ckpt")
    store.lock()
    state = State(binding=make_binding(), totals=Totals(300, 0, 3))
    store.create(state)
    store.append_sent(7)
    store.append_done(7, 12_345, 678, 99, 1, None)
    store.append_done(8, 22_345, 778, 98, 2, {"HTTP 400 rejected": 2})
    store.close()
    journal = (tmp_path / "ckpt" / "journal.1").read_bytes()
    assert journal == (
        _frame({"k": "s", "s": 7})
        + _frame({"k": "d", "s": 7, "o": 12_345, "l": 678, "n": 99, "f": 1})
        + _frame({"k": "d", "s": 8, "o": 22_345, "l": 778, "n": 98, "f": 2,
                  "r": {"HTTP 400 rejected": 2}})
    )


async def test_records_of_one_loop_turn_are_written_together_next_turn(
    tmp_path: Path,
) -> None:
    """Inside an event loop the records of a turn reach the kernel with one write at the
    start of the next turn; a snapshot's journal switch and close() write what is pending
    into the journal it belongs to, so nothing is lost or lands in the wrong generation."""
    directory = tmp_path / "ckpt"
    store = CheckpointStore(directory)
    store.lock()
    state = make_state()
    store.create(state)
    first = directory / "journal.1"
    for seq in (0, 1, 2):
        state.progress.mark_done(seq, offset_of(seq), line_of(seq), 100, 0)
        store.append_done(seq, offset_of(seq), line_of(seq), 100, 0, None)
    assert first.read_bytes() == b""  # still this turn: not written yet
    await asyncio.sleep(0)
    assert len(first.read_bytes().splitlines()) == 3  # next turn: all three, in order

    store.append_done(3, offset_of(3), line_of(3), 100, 0, None)
    _, gen = store.prepare_snapshot(state)  # switches journals: record 3 goes to the old
    assert len(first.read_bytes().splitlines()) == 4
    store.append_done(4, offset_of(4), line_of(4), 100, 0, None)
    store.close()  # closing writes the pending record without waiting for a turn
    assert len((directory / f"journal.{gen}").read_bytes().splitlines()) == 1
    await asyncio.sleep(0)  # the flush already scheduled finds nothing left to write
    p = load(directory).progress
    assert (p.watermark, p.ids_deleted) == (5, 500)


async def test_a_failed_turn_write_is_raised_by_the_next_append_and_by_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A journal write that fails in the loop's callback (full disk) is not lost in
    asyncio's log: the next append raises it in the caller's task, and close() raises it
    too, after closing the files and releasing the lock."""
    directory = tmp_path / "ckpt"
    store = CheckpointStore(directory)
    store.lock()
    store.create(make_state())
    store.append_done(0, offset_of(0), line_of(0), 100, 0, None)

    def full_disk(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    await asyncio.sleep(0)  # the turn's flush runs, and fails
    with pytest.raises(OSError, match="No space left"):
        store.append_done(1, offset_of(1), line_of(1), 100, 0, None)
    monkeypatch.undo()
    with pytest.raises(OSError, match="No space left"):
        store.close()
    again = CheckpointStore(directory)
    again.lock()  # the lock was released
    again.close()


# -- write failures: checked whole, never installed short, never a foreign descriptor ------


def _nearly_full_disk(monkeypatch: pytest.MonkeyPatch, allow: int) -> None:
    """os.write as a nearly full disk does it: ``allow`` more bytes land (the last write
    short), then ENOSPC."""
    real = os.write
    left = [allow]

    def write(fd: int, data: bytes | memoryview) -> int:
        if left[0] <= 0:
            raise OSError(28, "No space left on device")
        n = real(fd, bytes(data)[: left[0]])
        left[0] -= n
        return n

    monkeypatch.setattr(os, "write", write)


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
            state.progress.mark_done(seq, offset_of(seq), line_of(seq), 100, 0)
            store.append_done(seq, offset_of(seq), line_of(seq), 100, 0, None)
        data, gen = store.prepare_snapshot(state)
        _nearly_full_disk(monkeypatch, allow=len(data) // 2)
        with pytest.raises(OSError, match="No space left"):
            store.snapshot(data, gen)
        monkeypatch.undo()
    assert not [p for p in directory.iterdir() if p.name.endswith(".tmp")]
    p = load(directory).progress
    assert (p.watermark, p.ids_deleted) == (4, 400)


def test_a_failed_journal_reopen_never_writes_to_the_old_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new journal cannot be created (inodes exhausted, folder gone): the store raises
    and stays broken. The descriptor number the old journal had, now another file's, never
    receives a record — in the field it was a socket, and records went out as requests."""
    import bulkdelete.checkpoint as checkpoint

    directory = tmp_path / "ckpt"
    store = CheckpointStore(directory)
    store.lock()
    state = make_state()
    store.create(state)
    store.append_done(0, offset_of(0), line_of(0), 100, 0, None)

    def no_inodes(path: Path, flags: int) -> int:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(checkpoint, "open_private", no_inodes)
    with pytest.raises(OSError, match="No space left"):
        store.prepare_snapshot(state)
    monkeypatch.undo()
    bystander = tmp_path / "socket-stand-in"
    fd = os.open(bystander, os.O_RDWR | os.O_CREAT)  # takes the lowest free number
    try:
        with pytest.raises(OSError, match="No space left"):
            store.append_done(1, offset_of(1), line_of(1), 100, 0, None)
        with pytest.raises(OSError, match="No space left"):
            store.flush()
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            store.close()
    assert bystander.read_bytes() == b""
    assert load(directory).progress.watermark == 1  # what reached the journal is kept


async def test_a_failed_turn_write_breaks_the_store_at_once_and_cuts_the_torn_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn's journal write that fails half way: the journal is cut back to its last
    whole record, ``on_failure`` hears of it in the same turn (so the run can stop at
    once), every later append raises, and the run's last save still covers what the
    batches did once the disk has room again."""
    directory = tmp_path / "ckpt"
    store = CheckpointStore(directory)
    store.lock()
    state = make_state()
    store.create(state)
    heard: list[BaseException] = []
    store.on_failure = heard.append
    for seq in (0, 1):
        state.progress.mark_done(seq, offset_of(seq), line_of(seq), 100, 0)
        store.append_done(seq, offset_of(seq), line_of(seq), 100, 0, None)
    await asyncio.sleep(0)
    whole = (directory / "journal.1").read_bytes()
    state.progress.mark_done(2, offset_of(2), line_of(2), 100, 0)
    store.append_done(2, offset_of(2), line_of(2), 100, 0, None)
    _nearly_full_disk(monkeypatch, allow=10)
    await asyncio.sleep(0)  # the turn's flush: 10 bytes land, then ENOSPC
    monkeypatch.undo()
    assert [type(e).__name__ for e in heard] == ["StorageError"]
    assert store.failure is heard[0]
    assert (directory / "journal.1").read_bytes() == whole
    with pytest.raises(OSError, match="No space left"):
        store.append_done(3, offset_of(3), line_of(3), 100, 0, None)
    store.finish(state)
    store.close()  # the journal was closed by finish(): nothing left to raise
    p = load(directory).progress
    assert (p.watermark, p.ids_deleted) == (3, 300)


def test_re_sends_are_counted_per_earlier_send_and_survive_the_journal(tmp_path: Path) -> None:
    """A batch a killed run sent unrecorded, re-sent by a run that is killed too, then done
    by a third: its IDs count twice as re-sent after a crash (the server saw it three
    times), and the count comes back from the journal alone, without the runs' own
    counters. A batch left by a graceful stop counts apart."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:  # run 1: sends 0 and 1, killed
        state = make_state()
        store.create(state)
        for seq in (0, 1):
            state.progress.mark_sent(seq)
            store.append_sent(seq)
    with opened_store(directory) as store:  # run 2 (after a kill): re-sends 0, killed
        state = store.load()
        state.progress.carry_over(killed=True)
        store.resume()
        store.snapshot(*store.prepare_snapshot(state))
        assert state.progress.mark_sent(0)
        store.append_sent(0)
    with opened_store(directory) as store:  # run 3 (after a kill): 0 and 1 done; 2 sent
        state = store.load()
        state.progress.carry_over(killed=True)
        store.resume()
        store.snapshot(*store.prepare_snapshot(state))
        for seq in (0, 1):
            assert state.progress.mark_sent(seq)
            store.append_sent(seq)
            state.progress.mark_done(seq, offset_of(seq), line_of(seq), 100, 0)
            store.append_done(seq, offset_of(seq), line_of(seq), 100, 0, None)
        assert state.progress.resent_this_run() == (300, 0)
        state.progress.mark_sent(2)
        store.append_sent(2)
    with opened_store(directory) as store:  # run 4 (after a graceful stop): 2 done
        state = store.load()
        assert state.progress.resent_after_crash == 300  # from the journal alone
        state.progress.carry_over(killed=False)
        state.progress.mark_done(2, offset_of(2), line_of(2), 100, 0)
    assert (state.progress.resent_after_crash, state.progress.resent_after_stop) == (300, 100)
    assert state.progress.resent_this_run() == (0, 100)


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
            store.append_done(seq, offset_of(seq), line_of(seq), 100, 0, None)
    said = describe_saved(directory)
    assert "400 of 1,000 IDs handled (4 of 10 batches recorded, 1 of them past batch 3)" \
        in said
    (directory / STATE_NAME).write_bytes(b"garbage\n00000000\n")
    assert "cannot be read back" in describe_saved(directory)
