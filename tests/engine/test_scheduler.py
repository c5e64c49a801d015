"""Unit tests for the engine's scheduling (:mod:`bulkdelete.engine.engine`): concurrency,
the lookahead window, the re-send bound, graceful stop, the grace and ``--limit``."""

from __future__ import annotations

import asyncio

import pytest

from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import Ledger, Progress
from bulkdelete.client import SUCCESS, Outcome, Result
from bulkdelete.settings import Settings
from tests.engine.rig import (
    REJECT,
    RETRY,
    FakeDeleter,
    RecordingJournal,
    Rig,
    make_batches,
    make_settings,
    rig,
    seq_of,
)

# -- concurrency and the window ----------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 2, 3, 5])
async def test_never_more_than_concurrency_requests_in_flight(concurrency: int) -> None:
    """The deleter never sees more than settings.concurrency calls at once (and the
    engine does use that many)."""
    batches = make_batches(30, size=2)
    r = rig(FakeDeleter(delay=0.005), make_settings(concurrency=concurrency))
    await r.run(batches)
    assert r.deleter.max_in_flight == concurrency
    assert r.progress.watermark == 30


async def test_lookahead_window_bounds_how_far_past_a_stuck_batch_it_runs() -> None:
    """With window=4 and batch 2 stuck for 0.5 s, no batch with seq >= 2 + 4 is started
    before the stuck one finishes; the ones inside the window do run meanwhile."""
    stuck = 2
    batches = make_batches(20, size=2)
    r = rig(FakeDeleter(delay=lambda ids, n: 0.5 if seq_of(ids[0]) == stuck else 0.001),
            make_settings(window=4, concurrency=3))
    await r.run(batches)
    (stuck_call,) = r.deleter.calls_for(stuck)
    assert stuck_call.ended is not None
    early = {c.seq for c in r.deleter.calls if c.started < stuck_call.ended}
    assert max(early) < stuck + 4, f"batch {max(early)} started while {stuck} was stuck"
    assert stuck + 1 in early  # the window is used meanwhile, not a stop-and-wait
    admitted_early = {s for k, s, t in r.journal.events if k == "sent" and t < stuck_call.ended}
    assert max(admitted_early) < stuck + 4
    assert r.progress.watermark == 20
    r.assert_nothing_lost(batches)


async def test_a_batch_waiting_to_retry_does_not_hold_up_the_others() -> None:
    """Batches 0-2 fail twice each and sit in backoff (~0.3 s), more of them than
    --concurrency 2; each keeps its task and another batch takes its slot, so the other 27
    batches are all sent meanwhile, never more than 2 at once."""
    batches = make_batches(30, size=2)
    retry_later = Result(Outcome.RETRYABLE, "HTTP 503", 503, "", 0.15)  # Retry-After: a floor
    r = rig(FakeDeleter(lambda ids, n, attempt: retry_later
                        if seq_of(ids[0]) < 3 and attempt < 3 else SUCCESS, delay=0.002),
            make_settings(concurrency=2, max_retries=5))
    await r.run(batches)
    first_final = min(r.deleter.calls_for(s)[-1].started for s in range(3))
    assert all(len(r.deleter.calls_for(s)) == 3 for s in range(3))
    others = [c for c in r.deleter.calls if c.seq >= 3]
    assert all(c.ended is not None and c.ended < first_final for c in others)
    assert r.deleter.max_in_flight <= 2
    assert r.progress.watermark == 30
    r.assert_nothing_lost(batches)


# -- graceful stop and --limit ------------------------------------------------------------


def _stop_scenario(settings: Settings) -> tuple[Rig, list[Batch], list[int]]:
    """60 batches; batch 0 always RETRYABLE (it sits in backoff), the rest succeed after
    20 ms. The stop (SIGINT, 130) is requested as the 8th call starts."""
    batches = make_batches(60, size=5)
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY if seq_of(ids[0]) == 0 else SUCCESS,
                        delay=0.02), settings)
    stopped_at: list[int] = []

    def on_call(number: int) -> None:
        if number == 7:  # the stop's moment: the journal's events and calls so far
            stopped_at.append(len(r.journal.events))
            r.stop.request(130, "SIGINT")

    r.deleter.on_call = on_call
    return r, batches, stopped_at


async def test_graceful_stop_records_in_flight_and_abandons_the_rest() -> None:
    """stop.request(130, "SIGINT") mid-run: run returns, stopped; no batch is
    admitted after the stop; requests in flight at the stop finish and are recorded;
    a batch waiting to retry is abandoned — not marked done, not in the failed sink."""
    r, batches, stopped_at = _stop_scenario(
        make_settings(backoff_base=0.05, backoff_cap=0.05, max_retries=1000))
    end = await r.run(batches, timeout=5.0)
    (events_at_stop,) = stopped_at
    stop_no = r.deleter.calls[7].start_no  # the call during whose start the stop came
    assert r.stop.requested
    assert not end.input_exhausted
    assert (r.stop.exit_code, r.stop.reason) == (130, "SIGINT")
    assert "sent" not in [k for k, _, _ in r.journal.events[events_at_stop:]]
    in_flight_at_stop = {c.seq for c in r.deleter.calls if c.start_no <= stop_no
                         and c.seq != 0 and c.end_no is not None and c.end_no > stop_no}
    assert in_flight_at_stop
    assert all(r.progress.is_done(s) for s in in_flight_at_stop)
    assert not r.progress.is_done(0)
    assert 0 not in r.journal.done
    assert r.failures.items == []
    done = {s for s in range(60) if r.progress.is_done(s)}
    assert done == set(r.journal.done)
    assert done == {c.seq for c in r.deleter.calls if c.result is SUCCESS}
    assert len(done) < 59
    r.assert_nothing_lost(batches)


async def test_graceful_stop_starts_no_new_request() -> None:
    """After a graceful stop, only requests already at the server finish; a batch that was
    admitted but still waiting for a limiter slot must not start a request
    (docs/guarantees.md §2: the resume re-sends at most one batch per in-flight slot; the
    stop should be prompt)."""
    r, batches, _ = _stop_scenario(
        make_settings(backoff_base=0.05, backoff_cap=0.05, max_retries=1000))
    await r.run(batches, timeout=5.0)
    late = [c.seq for c in r.deleter.calls[8:]]  # calls start in order: these came after
    assert late == [], f"{len(late)} requests started after the stop: {late}"


async def test_graceful_stop_while_window_is_full_returns() -> None:
    """A stuck batch (always RETRYABLE, waiting in backoff) fills the lookahead window; a
    graceful stop then abandons it — and the run must still return promptly."""
    batches = make_batches(20, size=2)
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY if seq_of(ids[0]) == 0 else SUCCESS),
            make_settings(window=4, backoff_base=0.05, backoff_cap=0.05, max_retries=1000))

    async def stop_later() -> None:
        await asyncio.sleep(0.2)
        r.stop.request(130, "SIGINT")

    stopper = asyncio.create_task(stop_later())
    try:
        await r.run(batches, timeout=2.0)
    finally:
        await stopper
    assert r.stop.requested
    assert not r.progress.is_done(0)
    assert all(r.progress.is_done(s) for s in (1, 2, 3))


async def test_graceful_stop_during_a_long_429_pause_returns_promptly() -> None:
    """A 429 with Retry-After 60 pauses every slot; the next batch to admit and the retries
    are then waiting inside the limiter. A graceful stop must
    end the run at once, not after the pause, and record nothing it did not send."""
    batches = make_batches(10, size=3)
    r = rig(FakeDeleter(lambda ids, n, attempt: Result(
        Outcome.THROTTLED, "HTTP 429 throttled", 429, "", 60.0), delay=0.01),
        make_settings(concurrency=2))

    async def stop_later() -> None:
        await asyncio.sleep(0.2)
        r.stop.request(143, "SIGTERM")

    stopper = asyncio.create_task(stop_later())
    try:
        await r.run(batches, timeout=5.0)
    finally:
        await stopper
    assert r.stop.requested
    assert r.elapsed < 2.0
    assert r.journal.done == {}
    assert len(r.deleter.calls) == 2  # one per slot, then the pause; nothing after it
    assert r.limiter.in_flight == 0


async def test_limit_sends_exactly_the_limit_and_the_next_run_sends_the_rest_first() -> None:
    """--limit 250 with batches of 100: two batches and the first half of the third are
    sent, never more; that half is recorded as the batch's head. The next run sends the
    third batch's other half, then the rest: every ID acknowledged exactly once."""
    batches = make_batches(10)
    r = rig(FakeDeleter(), make_settings(limit=250))
    end = await r.run(batches)
    assert end.limit_reached
    assert not end.input_exhausted
    assert not r.stop.requested
    assert sorted(c.seq for c in r.deleter.calls) == [0, 1, 2]
    assert sum(r.deleter.acknowledged.values()) == 250
    assert set(r.deleter.acknowledged) == {*batches[0].ids, *batches[1].ids,
                                           *batches[2].ids[:50]}
    assert (r.progress.watermark, r.progress.head_done) == (2, {2: 50})
    assert r.progress.ids_deleted == 250
    r.assert_nothing_lost(batches)

    rest = rig(r.deleter, progress=r.progress)
    end = await rest.run(batches)
    assert end.input_exhausted
    assert rest.journal.events[0][:2] == ("sent", 2)  # the cut batch's rest first
    assert r.deleter.calls[3].ids == batches[2].ids[50:]
    assert r.deleter.acknowledged == {i: 1 for b in batches for i in b.ids}
    assert (r.progress.watermark, r.progress.head_done) == (10, {})
    assert r.progress.ids_deleted == 1_000


async def test_a_limit_inside_a_cut_batch_cuts_it_further() -> None:
    """A batch whose head of 50 is done: --limit 30 sends its next 30 IDs only, and the
    head grows to 80."""
    batches = make_batches(4)
    progress = Progress()
    Ledger(progress).partly_done(0, 50, 50, 0, None)
    r = rig(FakeDeleter(), make_settings(limit=30), progress=progress)
    end = await r.run(batches)
    assert end.limit_reached
    assert [c.ids for c in r.deleter.calls] == [batches[0].ids[50:80]]
    assert (progress.watermark, progress.head_done, progress.ids_deleted) == (0, {0: 80}, 80)


async def test_limit_on_a_resumed_job_counts_from_the_watermark() -> None:
    """--limit counts this run's IDs: on a job with 2 batches done, --limit 250 sends the
    next 2 batches and half of a third."""
    progress = Progress()
    for seq in (0, 1):
        Ledger(progress).done(seq, seq * 1000, seq * 10 + 1, 100, 0, None)
    r = rig(FakeDeleter(), make_settings(limit=250), progress=progress)
    end = await r.run(make_batches(10))
    assert end.limit_reached
    assert sorted(c.seq for c in r.deleter.calls) == [2, 3, 4]
    assert (sum(r.deleter.acknowledged.values()), progress.head_done) == (250, {4: 50})


async def test_limit_equal_to_the_input_exhausts_it() -> None:
    """A --limit covering the whole input sends everything; input_exhausted and
    limit_reached are both true."""
    r = rig(FakeDeleter(), make_settings(limit=300))
    end = await r.run(make_batches(3))
    assert end.input_exhausted
    assert end.limit_reached
    assert len(r.deleter.calls) == 3


# -- the re-send bound ---------------------------------------------------------------------


def _most_unrecorded(journal: RecordingJournal) -> int:
    """The most batches that were sent and not yet recorded done at any moment: what a
    kill -9 at that moment would leave for the resume to send again."""
    open_: set[int] = set()
    most = 0
    for kind, seq, _ in journal.events:
        if kind == "sent":
            open_.add(seq)
        elif kind == "done":
            open_.discard(seq)
        most = max(most, len(open_))
    return most


@pytest.mark.parametrize("concurrency", [2, 8])
async def test_batches_waiting_on_a_bisection_stay_within_the_resend_bound(
        concurrency: int) -> None:
    """One rejected ID in every batch: each batch's first request is refused and the batch
    waits for the one bisection at a time. Sent-but-unrecorded batches must never exceed
    2 × concurrency, so a kill -9 re-sends at most that plus one turn's completions
    (≤ 3 × concurrency, docs/guarantees.md §2), however many batches are rejected."""
    batches = make_batches(6 * concurrency + 10, size=20)
    poison = {b.ids[7] for b in batches}
    r = rig(FakeDeleter(lambda ids, n, attempt: REJECT if poison & set(ids) else SUCCESS,
                        delay=0.002),
            make_settings(concurrency=concurrency))
    await r.run(batches, timeout=30.0)
    assert _most_unrecorded(r.journal) <= 2 * concurrency
    assert set(r.failed_ids()) == poison
    assert r.progress.watermark == len(batches)
    r.assert_nothing_lost(batches)


async def test_batches_in_backoff_stay_within_the_resend_bound() -> None:
    """Every batch fails twice before it succeeds, so many sit in backoff at once: the
    number held sent-but-unrecorded is still capped at 2 × concurrency."""
    batches = make_batches(40, size=5)
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY if attempt < 3 else SUCCESS,
                        delay=0.001),
            make_settings(concurrency=3, backoff_base=0.02, backoff_cap=0.02))
    await r.run(batches, timeout=30.0)
    assert _most_unrecorded(r.journal) <= 6
    assert r.progress.watermark == 40
    r.assert_nothing_lost(batches)


async def test_requests_in_flight_get_the_grace_and_no_more() -> None:
    """A stop while requests hang: they get ``shutdown_grace`` to finish, then are cancelled
    and left unrecorded for the resume; the run returns right after the grace, with the
    limiter's slots all back."""
    batches = make_batches(10, size=2)
    r = rig(FakeDeleter(delay=lambda ids, n: 0.01 if n < 3 else 100.0),
            make_settings(concurrency=3, shutdown_grace=2.0))
    r.deleter.on_call = lambda n: r.stop.request(143, "SIGTERM") if n == 5 else None
    await r.run(batches, timeout=50.0)
    assert r.stop.requested
    assert len(r.deleter.calls) == 6  # the stop came as the 6th started: none after it
    assert 2.0 <= r.elapsed < 2.1  # the grace, and no longer
    assert set(r.journal.done) == {0, 1, 2}
    assert sorted(r.journal.sent()) == [0, 1, 2, 3, 4, 5]  # 3-5: the resume sends them again
    assert r.limiter.in_flight == 0
