"""Unit tests for :mod:`bulkdelete.engine.sender`: retries with backoff, Retry-After, 429s
outside the retry budget, a fatal answer, and the outage pause."""

from __future__ import annotations

from collections import Counter

import pytest

import bulkdelete.engine.limiter
from bulkdelete.client import SUCCESS, Outcome, Result
from bulkdelete.errors import FatalApiError, StalledError, TooManyErrors
from tests.engine.rig import (
    FATAL,
    RETRY,
    THROTTLE,
    UNREACHED,
    FakeDeleter,
    make_batches,
    make_settings,
    rig,
    seq_of,
)


async def test_retryable_failures_are_retried_then_succeed() -> None:
    """RETRYABLE answers are retried (each counted in stats.retries) until success; the
    batch is then delivered and nothing fails."""
    batches = make_batches(5, size=10)
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY if attempt <= 2 else SUCCESS))
    await r.run(batches)
    assert r.stats.retries == 10
    assert r.stats.requests == 15
    assert all(len(r.deleter.calls_for(b.seq)) == 3 for b in batches)
    assert r.failures.items == []
    assert r.progress.watermark == 5
    assert r.progress.ids_deleted == 50
    r.assert_nothing_lost(batches)


async def test_exhausted_retries_put_ids_in_failures_and_record_the_batch() -> None:
    """A batch still RETRYABLE after max_retries retries gives up: its IDs go to the failed
    sink with reason "gave up after ...", then the batch is recorded done as failed."""
    batches = make_batches(4, size=10)
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY if seq_of(ids[0]) == 1 else SUCCESS),
            make_settings(max_retries=2))
    await r.run(batches)
    assert len(r.deleter.calls_for(1)) == 3
    assert sorted(r.failed_ids()) == batches[1].ids
    reasons = {reason for _, reason, _ in r.failures.items}
    assert reasons == {"gave up after 3 attempts: HTTP 503"}
    assert r.progress.is_done(1)
    assert r.progress.watermark == 4
    assert (r.progress.ids_deleted, r.progress.ids_failed) == (30, 10)
    assert r.progress.reasons == {"gave up after 3 attempts: HTTP 503": 10}
    assert r.journal.done[1] == (1000, 11, 0, 10, {"gave up after 3 attempts: HTTP 503": 10})
    assert r.stats.retries == 2
    r.assert_nothing_lost(batches)


async def test_retry_after_on_a_retryable_answer_is_a_floor_for_the_backoff() -> None:
    """A Retry-After on a retryable answer delays the retry at least that long."""
    slow = Result(Outcome.RETRYABLE, "HTTP 503", 503, retry_after=0.2)
    r = rig(FakeDeleter(lambda ids, n, attempt: slow if attempt == 1 else SUCCESS))
    await r.run(make_batches(1, size=3))
    first, second = r.deleter.calls
    assert first.ended is not None
    assert second.started - first.ended >= 0.19


async def test_throttling_does_not_use_the_retry_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """THROTTLED answers are paced by the limiter, not retried from the batch's budget: a
    batch throttled 20 times with max_retries=2 still succeeds; each 429 counts in
    stats.throttled, none in stats.retries."""
    monkeypatch.setattr(bulkdelete.engine.limiter, "PAUSE_BASE", 0.001)
    monkeypatch.setattr(bulkdelete.engine.limiter, "PAUSE_CAP", 0.002)
    batches = make_batches(2, size=10)
    r = rig(FakeDeleter(
        lambda ids, n, attempt: THROTTLE if seq_of(ids[0]) == 0 and attempt <= 20 else SUCCESS
    ), make_settings(max_retries=2))
    await r.run(batches)
    assert len(r.deleter.calls_for(0)) == 21
    assert r.stats.throttled == 20
    assert r.stats.retries == 0
    assert r.failures.items == []
    assert r.progress.watermark == 2
    assert r.progress.ids_deleted == 20
    r.assert_nothing_lost(batches)


async def test_fatal_answer_raises_at_once_and_fails_nothing() -> None:
    """A 401 stops the run at once with FatalApiError (exit 3, status kept); no ID is put
    in the failed sink and the rest of the input is never sent."""
    batches = make_batches(100, size=10)
    r = rig(FakeDeleter(lambda ids, n, attempt: FATAL if n >= 4 else SUCCESS, delay=0.001))
    with pytest.raises(FatalApiError) as info:
        await r.run(batches)
    assert r.elapsed < 2.0
    assert info.value.exit_code == 3
    assert info.value.status == 401
    assert "401" in str(info.value)
    assert r.failures.items == []
    assert r.progress.ids_failed == 0
    assert len(r.deleter.calls) < 10
    r.assert_nothing_lost(batches)




async def test_an_outage_after_success_pauses_and_fails_no_id() -> None:
    """Calls 20-79 cannot connect (the network is down for a while mid-run): far more
    attempts than max_retries, yet no ID fails; the run waits it out and finishes."""
    batches = make_batches(60, size=5)
    r = rig(FakeDeleter(lambda ids, n, attempt: UNREACHED if 20 <= n < 80 else SUCCESS,
                        delay=0.001),
            make_settings(max_retries=2, backoff_base=0.001, backoff_cap=0.004))
    await r.run(batches, timeout=30.0)
    unreached = [c for c in r.deleter.calls if c.result is UNREACHED]
    assert len(unreached) == 60
    assert max(Counter(c.seq for c in unreached).values()) > 3  # beyond the retry budget
    assert r.failed_ids() == []
    assert r.stats.retries == 0
    assert r.progress.watermark == 60
    r.assert_nothing_lost(batches)


async def test_an_outage_pauses_every_slot_together() -> None:
    """A connection failure pauses the whole run through the limiter: after it, no other
    request starts before the pause ends."""
    batches = make_batches(20, size=5)
    r = rig(FakeDeleter(lambda ids, n, attempt: UNREACHED if n == 5 else SUCCESS,
                        delay=0.001),
            make_settings(concurrency=3, backoff_base=0.2, backoff_cap=0.2))
    await r.run(batches, timeout=30.0)
    failed = r.deleter.calls[5]
    assert failed.ended is not None
    assert failed.end_no is not None
    later = [c.started - failed.ended for c in r.deleter.calls[6:]
             if c.start_no > failed.end_no]
    # Equal jitter over a 0.2 s span: no request for at least 0.1 s.
    assert later
    assert min(later) >= 0.1 - 0.01
    assert r.progress.watermark == 20
    r.assert_nothing_lost(batches)


async def test_a_run_that_never_reached_the_server_gives_up_without_failing_ids() -> None:
    """Nothing listens at all (a wrong --base-url): after the usual retries the run stops
    with exit 3 and lists nothing as failed, rather than waiting for the stall rule."""
    batches = make_batches(10, size=5)
    r = rig(FakeDeleter(lambda ids, n, attempt: UNREACHED),
            make_settings(max_retries=2, backoff_base=0.001, backoff_cap=0.002))
    with pytest.raises(TooManyErrors, match="reached the server") as info:
        await r.run(batches)
    assert info.value.exit_code == 3
    assert r.failed_ids() == []
    assert r.progress.watermark == 0


async def test_an_outage_that_outlasts_the_stall_timeout_aborts_without_failing_ids(
) -> None:
    """After a success the network goes away for good: the stall rule ends the run (exit 3)
    and still no ID is failed."""
    batches = make_batches(30, size=5)
    r = rig(FakeDeleter(lambda ids, n, attempt: SUCCESS if n < 3 else UNREACHED),
            make_settings(max_retries=1, backoff_base=0.001, backoff_cap=0.01,
                          stall_timeout=0.5))
    with pytest.raises(StalledError):
        await r.run(batches, timeout=10.0)
    assert r.failed_ids() == []
    assert r.stats.ids_failed == 0
