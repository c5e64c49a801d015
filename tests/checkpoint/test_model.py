"""Unit tests for :mod:`bulkdelete.checkpoint.model`: the low-watermark tracker."""

from __future__ import annotations

from dataclasses import replace

from bulkdelete.checkpoint import Progress, RunRecord, State, Traffic
from bulkdelete.checkpoint.model import MAX_REASONS
from bulkdelete.engine import RunStats
from bulkdelete.reader.rule import READER_RULES
from tests.checkpoint.helpers import (
    line_of,
    make_state,
    mark_done,
    mark_sent,
    offset_of,
)


def test_out_of_order_completion_advances_watermark_when_the_gap_fills() -> None:
    """Batches done above the watermark wait in done_above; the watermark jumps over all of
    them exactly when the missing batch completes."""
    p = Progress()
    for seq in (3, 1, 2):
        assert mark_done(p, seq, offset_of(seq), line_of(seq), 10, 0)
        assert p.watermark == 0
    assert set(p.done_above) == {1, 2, 3}
    assert mark_done(p, 0, offset_of(0), line_of(0), 10, 0)
    assert p.watermark == 4
    assert p.done_above == {}
    mark_done(p, 5, offset_of(5), line_of(5), 10, 0)
    assert p.watermark == 4
    mark_done(p, 4, offset_of(4), line_of(4), 10, 0)
    assert p.watermark == 6


def test_anchor_follows_the_watermark() -> None:
    """The anchor is the (seq, offset, line) of the last batch below the watermark, so a
    resume seeks to a batch that is done and regenerates numbering from it."""
    p = Progress()
    assert p.anchor == (0, 0, 1)
    mark_done(p, 1, offset_of(1), line_of(1), 5, 0)
    assert p.anchor == (0, 0, 1)  # gap at 0: nothing to anchor on yet
    mark_done(p, 0, offset_of(0), line_of(0), 5, 0)
    assert p.anchor == (1, offset_of(1), line_of(1))
    mark_done(p, 2, offset_of(2), line_of(2), 5, 0)
    assert p.anchor == (2, offset_of(2), line_of(2))
    assert p.anchor[0] == p.watermark - 1


def test_mark_done_twice_is_idempotent() -> None:
    """Recording a batch a second time changes nothing (journal replay relies on it), both
    above the watermark and below it."""
    p = Progress()
    assert mark_done(p, 2, offset_of(2), line_of(2), 7, 3, {"HTTP 400 rejected": 3})
    assert not mark_done(p, 2, offset_of(2), line_of(2), 7, 3, {"HTTP 400 rejected": 3})
    assert (p.ids_deleted, p.ids_failed) == (7, 3)
    assert p.reasons == {"HTTP 400 rejected": 3}
    mark_done(p, 0, 0, 1, 10, 0)
    mark_done(p, 1, 5, 2, 10, 0)
    assert p.watermark == 3
    assert not mark_done(p, 1, 5, 2, 10, 0)
    assert not mark_done(p, 2, offset_of(2), line_of(2), 7, 3, {"HTTP 400 rejected": 3})
    assert (p.ids_deleted, p.ids_failed) == (27, 3)
    assert p.reasons == {"HTTP 400 rejected": 3}


def test_is_done_below_watermark_and_in_done_above_only() -> None:
    """is_done is true for every seq under the watermark and for the completed ones above
    it, false for the gaps and beyond."""
    p = Progress()
    for seq in (0, 1, 4, 6):
        mark_done(p, seq, offset_of(seq), line_of(seq), 1, 0)
    assert [p.is_done(s) for s in range(8)] == [True, True, False, False, True, False, True,
                                                False]


def test_mark_sent_is_true_once_and_false_for_done_batches() -> None:
    """mark_sent reports a first send; a batch already sent (by a run that crashed) or done
    is not a first send, so it is journalled as sent only once."""
    p = Progress()
    assert mark_sent(p, 3)
    assert not mark_sent(p, 3)
    mark_done(p, 3, 0, 1, 1, 0)
    assert 3 not in p.sent_above
    assert not mark_sent(p, 3)


def test_reasons_are_counted_and_capped() -> None:
    """Reasons are summed across batches; at most MAX_REASONS distinct reasons are kept and
    any further new reason is folded into "other" (so the checkpoint stays bounded)."""
    p = Progress()
    for n in range(MAX_REASONS + 25):
        mark_done(p, n, offset_of(n), line_of(n), 0, 2, {f"reason {n}": 2})
    mark_done(p, 1000, 0, 1, 0, 1, {"reason 0": 1})  # a kept reason keeps counting
    mark_done(p, 1001, 0, 1, 0, 4, {"reason 999": 4})  # a new one after the cap: "other"
    kept = {k for k in p.reasons if k != "other"}
    assert kept == {f"reason {n}" for n in range(MAX_REASONS)}
    assert p.reasons["reason 0"] == 3
    assert p.reasons["other"] == 25 * 2 + 4
    assert sum(p.reasons.values()) == p.ids_failed


def test_a_run_record_keeps_its_flat_json_shape_and_reads_it_back() -> None:
    """state.json keeps a run's traffic beside its other fields, flat (docs/checkpoint.md;
    the snapshot sorts the keys); reading it back gives the same record."""
    run = RunRecord(run_id="r1", started="2026-01-01T00:00:00+00:00", elapsed_s=1.5,
                    exit_code=0, resumed=True, resent_after_crash=7, resent_after_stop=3,
                    traffic=Traffic(requests=10, retries=2, throttled=1, ids_deleted=900,
                                    ids_failed=4))
    data = run.to_json()
    assert set(data) == {"run_id", "started", "ended", "elapsed_s", "exit_code", "resumed",
                         "requests", "retries", "throttled", "resent_after_crash",
                         "resent_after_stop", "ids_deleted", "ids_failed", "requester",
                         "ticket"}
    assert (data["requests"], data["ids_deleted"], data["ids_failed"]) == (10, 900, 4)
    assert RunRecord.from_json(data) == run


def test_the_engine_counts_into_the_run_record_itself() -> None:
    """The engine's stats are a Traffic: a record holding them shows every count at once,
    with nothing copied, and writes only the traffic fields."""
    stats = RunStats()
    run = RunRecord(run_id="r1", started="t", traffic=stats)
    stats.requests += 3
    stats.ids_deleted += 250
    stats.ids_errored += 3
    data = run.to_json()
    assert (data["requests"], data["ids_deleted"]) == (3, 250)
    assert "ids_errored" not in data


def test_a_run_keeps_its_requester_and_ticket() -> None:
    """The audit fields round-trip through state.json."""
    run = RunRecord(run_id="r1", started="2026-01-01T00:00:00+00:00", requester="Ana",
                    ticket="DSR-1")
    data = run.to_json()
    assert (data["requester"], data["ticket"]) == ("Ana", "DSR-1")
    assert RunRecord.from_json(data) == run


def test_a_csv_binding_keeps_its_delimiter() -> None:
    """The delimiter round-trips through state.json."""
    state = make_state()
    state.binding = replace(state.binding, format="csv", delimiter=";")
    assert State.from_json(state.to_json(0))[0].binding.delimiter == ";"


def test_a_binding_keeps_the_readers_rules_and_other_rules_do_not_match() -> None:
    """Batches are numbered by what the reader read: a job resumed or verified by a reader
    that decides otherwise which values are IDs would take other IDs for the ones its
    batches held. The rules' version round-trips; a checkpoint bound to other rules
    differs from this reader, which says so."""
    state = make_state()
    assert state.binding.rules == READER_RULES
    assert State.from_json(state.to_json(0))[0].binding.rules == READER_RULES
    old = replace(state.binding, rules=1)
    assert old.differences(state.binding) == [
        f"the reader's ID rules (the job was started by another version of bulkdelete): "
        f"checkpoint has 1, this run has {READER_RULES}"]

