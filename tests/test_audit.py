"""The audit dates (docs/verify.md): the request time is the last acknowledging run's end,
and the purge is due 48 hours later."""

from __future__ import annotations

from datetime import UTC, datetime

from bulkdelete.checkpoint.model import RunRecord, Traffic
from bulkdelete.report import is_early, purge_dates


def run(started: str, ended: str | None, deleted: int) -> RunRecord:
    return RunRecord(run_id="r", started=started, ended=ended,
                     traffic=Traffic(ids_deleted=deleted))


def test_the_last_run_that_deleted_anything_sets_the_request_time() -> None:
    runs = [run("2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00", 10),
            run("2026-01-02T00:00:00+00:00", "2026-01-02T02:00:00+00:00", 5),
            run("2026-01-03T00:00:00+00:00", "2026-01-03T00:01:00+00:00", 0)]
    assert purge_dates(runs)["requested_at"] == "2026-01-02T02:00:00+00:00"


def test_a_killed_run_counts_from_its_start_and_nothing_deleted_is_none() -> None:
    assert purge_dates([run("2026-01-02T00:00:00+00:00", None, 3)])["requested_at"] == \
        "2026-01-02T00:00:00+00:00"
    assert purge_dates([run("2026-01-02T00:00:00+00:00", "2026-01-02T00:01:00+00:00", 0)]) \
        == {"requested_at": None, "purge_due_by": None}


def test_the_purge_is_due_48_hours_later_and_early_before_it() -> None:
    due = purge_dates([run("2026-01-01T00:00:00Z", "2026-01-02T02:00:00Z", 1)])["purge_due_by"]
    assert due is not None
    assert due == "2026-01-04T02:00:00.000Z"  # the one timestamp format (docs/cli.md)
    assert is_early(due, now=datetime(2026, 1, 4, 1, 59, tzinfo=UTC))
    assert not is_early(due, now=datetime(2026, 1, 4, 2, 0, tzinfo=UTC))
