"""Unit tests for :class:`bulkdelete.checkpoint.Ledger`: progress and journal in one call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bulkdelete.checkpoint import Ledger, Progress, State
from bulkdelete.checkpoint.journal import frame
from tests.checkpoint.helpers import line_of, load, make_state, offset_of, opened_store


class RecordingJournal:
    """A journal that keeps what it was told, in order."""

    def __init__(self) -> None:
        self.records: list[tuple[object, ...]] = []

    def append(self, record: dict[str, Any]) -> None:
        if record["k"] == "d":
            self.records.append(("d", record["s"], record["o"], record["l"], record["n"],
                                 record["f"], record.get("r")))
        else:
            self.records.append((record["k"], record["s"]))


def test_a_batch_sent_twice_is_journalled_once() -> None:
    """A retry or a bisected half sends the batch again: only its first send is marked
    and journalled, and a batch already done is not journalled as sent or done again."""
    journal = RecordingJournal()
    ledger = Ledger(Progress(), journal.append)
    ledger.sent(3)
    ledger.sent(3)
    ledger.done(3, offset_of(3), line_of(3), 10, 0, None)
    ledger.sent(3)
    ledger.done(3, offset_of(3), line_of(3), 10, 0, None)
    assert journal.records == [("s", 3), ("d", 3, offset_of(3), line_of(3), 10, 0, None)]
    assert ledger.progress.sent_above == set()


def test_done_updates_progress_and_journal_together() -> None:
    """One call records the batch in memory (watermark, counts, reasons) and journals the
    same record, reasons included."""
    journal = RecordingJournal()
    progress = Progress()
    ledger = Ledger(progress, journal.append)
    ledger.sent(1)
    ledger.done(1, offset_of(1), line_of(1), 8, 2, {"HTTP 400 rejected": 2})
    assert ledger.is_done(1)
    assert not ledger.is_done(0)
    assert ledger.watermark == 0  # batch 0 is still open
    ledger.done(0, offset_of(0), line_of(0), 10, 0, None)
    assert ledger.watermark == 2
    assert (progress.ids_deleted, progress.ids_failed) == (18, 2)
    assert progress.reasons == {"HTTP 400 rejected": 2}
    assert journal.records == [
        ("s", 1),
        ("d", 1, offset_of(1), line_of(1), 8, 2, {"HTTP 400 rejected": 2}),
        ("d", 0, offset_of(0), line_of(0), 10, 0, None),
    ]


def test_a_memory_only_ledger_tracks_progress_without_a_journal() -> None:
    """Without a journal (delete_ids on an iterable) the ledger still tracks sends and
    completions in memory."""
    ledger = Ledger(Progress())
    ledger.sent(0)
    assert ledger.progress.sent_above == {0}
    ledger.done(0, 0, 1, 5, 0, None)
    ledger.done(2, offset_of(2), line_of(2), 5, 0, None)
    assert ledger.watermark == 1
    assert ledger.is_done(2)
    assert not ledger.is_done(1)
    assert ledger.progress.ids_deleted == 10


def test_a_ledger_on_the_store_journal_is_replayed_on_load(tmp_path: Path) -> None:
    """With the store's journal, what the ledger records is what a rerun loads back, in
    the journal's own record format."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state()
        store.create(state)
        ledger = Ledger(state.progress, store.append)
        ledger.sent(0)
        ledger.sent(0)
        ledger.done(0, offset_of(0), line_of(0), 100, 0, None)
    assert (directory / "journal.1").read_bytes() == (
        frame({"k": "s", "s": 0})
        + frame({"k": "d", "s": 0, "o": offset_of(0), "l": line_of(0), "n": 100, "f": 0})
    )
    p = load(directory).progress
    assert (p.watermark, p.ids_deleted) == (1, 100)


def test_an_answer_that_acknowledged_nothing_takes_the_batch_off_the_sent_list() -> None:
    """A batch answered 500 and waiting to retry is not at the server: it leaves
    ``sent_above`` (journalled), and its next request marks it sent again, so a kill -9
    counts as re-sent only what was really out (docs/guarantees.md §2)."""
    journal = RecordingJournal()
    ledger = Ledger(Progress(), journal.append)
    ledger.sent(4)
    ledger.answered(4)
    assert ledger.progress.sent_above == set()
    ledger.answered(4)  # already off the list: nothing journalled
    ledger.sent(4)
    assert ledger.progress.sent_above == {4}
    assert journal.records == [("s", 4), ("a", 4), ("s", 4)]


def test_a_head_cut_by_a_limit_is_journalled_replayed_and_snapshotted(tmp_path: Path) -> None:
    """A --limit ends a run inside batch 0: its head of 30 is recorded (then grown to 80)
    and counted, the batch stays not done, and both the journal replay and the snapshot
    give back the same head; an older, shorter head changes nothing; the batch's done
    record adds only its rest and drops the head."""
    directory = tmp_path / "ckpt"
    with opened_store(directory) as store:
        state = make_state()
        store.create(state)
        ledger = Ledger(state.progress, store.append)
        ledger.sent(0)
        ledger.partly_done(0, 30, 29, 1, {"HTTP 400 rejected": 1})
        ledger.partly_done(0, 30, 29, 1, {"HTTP 400 rejected": 1})  # a replay: nothing
        ledger.sent(0)
        ledger.partly_done(0, 80, 50, 0, None)
        assert not state.progress.is_done(0)
        assert state.progress.sent_above == set()
    replayed = load(directory).progress
    snapshotted = State.from_json(state.to_json(1))[0].progress
    for p in (state.progress, replayed, snapshotted):
        assert (p.watermark, p.head_done, p.ids_deleted, p.ids_failed) == (0, {0: 80}, 79, 1)
        assert p.reasons == {"HTTP 400 rejected": 1}
    ledger = Ledger(snapshotted)
    ledger.partly_done(0, 50, 50, 0, None)
    assert (snapshotted.head_done, snapshotted.ids_deleted) == ({0: 80}, 79)
    ledger.done(0, offset_of(0), line_of(0), 20, 0, None)
    assert (snapshotted.watermark, snapshotted.head_done) == (1, {})
    assert snapshotted.ids_done == 100


def test_a_head_after_a_crash_counts_the_whole_batch_as_re_sent() -> None:
    """A killed run left batch 0 at the server, maybe whole: its head and then its rest,
    each sent again, both count as re-sent (never fewer than the server saw twice)."""
    progress = Progress(sent_above={0})
    progress.carry_over(killed=True)
    ledger = Ledger(progress)
    ledger.partly_done(0, 40, 40, 0, None)
    assert progress.resent_after_crash == 40
    ledger.done(0, offset_of(0), line_of(0), 60, 0, None)
    assert (progress.resent_after_crash, progress.left) == (100, {})
