"""Unit tests for :mod:`bulkdelete.engine`: the engine driven by an in-memory scripted
:class:`~bulkdelete.client.Deleter` (no HTTP), checking retries, throttling, bisection, the
abort rules, concurrency, the lookahead window, graceful stop and ``--limit``; every run
that ends normally also checks docs/guarantees.md §1 (nothing lost)."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

import bulkdelete.engine.limiter
from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import Progress
from bulkdelete.client import SUCCESS, Outcome, Result
from bulkdelete.engine import AdaptiveLimiter, Engine, RunEnd, RunStats, StopRequest
from bulkdelete.errors import AbortError, FatalApiError, StalledError, TooManyErrors
from bulkdelete.failed import MemoryFailures
from bulkdelete.settings import ErrorBudget, Secret, Settings

RETRY = Result(Outcome.RETRYABLE, "HTTP 503", 503)
THROTTLE = Result(Outcome.THROTTLED, "HTTP 429 throttled", 429)
REJECT = Result(Outcome.REJECTED, "HTTP 400 rejected", 400, "bad id")
FATAL = Result(Outcome.FATAL, "HTTP 401 invalid credentials or URL", 401)

Answer = Callable[[list[str], int, int], Result]
Delay = Callable[[list[str], int], float]


# -- test doubles -------------------------------------------------------------------------


def ident(seq: int, n: int) -> str:
    return f"s{seq:04d}-{n:04d}"


def seq_of(ident_: str) -> int:
    return int(ident_[1:5])


def make_batches(count: int, size: int = 100, last: int | None = None) -> list[Batch]:
    """``count`` batches of ``size`` distinct IDs (the last one ``last`` long if given)."""
    out = []
    for seq in range(count):
        n = last if (last is not None and seq == count - 1) else size
        out.append(Batch(seq, seq * 1000, seq * 10 + 1, [ident(seq, i) for i in range(n)]))
    return out


@dataclass
class Call:
    ids: list[str]
    started: float
    ended: float | None = None
    result: Result | None = None

    @property
    def seq(self) -> int:
        return seq_of(self.ids[0])


class FakeDeleter:
    """Scripted :class:`Deleter`: ``answer(ids, call_number, attempt)`` decides the result,
    where ``attempt`` counts sends of this exact ID list (1-based); ``delay(ids, call_no)``
    how long the call takes. Records every call, the IDs acknowledged, and concurrency."""

    def __init__(self, answer: Answer | None = None, delay: Delay | float = 0.0) -> None:
        self.answer: Answer = answer or (lambda ids, n, attempt: SUCCESS)
        if callable(delay):
            self.delay: Delay = delay
        else:
            fixed = float(delay)

            def constant(ids: list[str], n: int) -> float:
                return fixed

            self.delay = constant
        self.calls: list[Call] = []
        self.acknowledged: Counter[str] = Counter()
        self.attempts: Counter[tuple[str, ...]] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.on_call: Callable[[int], None] | None = None

    async def delete(self, ids: Sequence[str]) -> Result:
        batch = list(ids)
        number = len(self.calls)
        call = Call(batch, time.monotonic())
        self.calls.append(call)
        self.attempts[tuple(batch)] += 1
        attempt = self.attempts[tuple(batch)]
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.on_call is not None:
                self.on_call(number)
            await asyncio.sleep(self.delay(batch, number))
            result = self.answer(batch, number, attempt)
        finally:
            self.in_flight -= 1
            call.ended = time.monotonic()
        call.result = result
        if result.outcome is Outcome.SUCCESS:
            self.acknowledged.update(batch)
        return result

    def calls_for(self, seq: int) -> list[Call]:
        return [c for c in self.calls if c.seq == seq]


@dataclass
class RecordingJournal:
    """Journal double: every sent/done event in order, with its time."""

    events: list[tuple[str, int, float]] = field(default_factory=list)
    done: dict[int, tuple[int, int, int, int, dict[str, int] | None]] = field(
        default_factory=dict)

    def append_sent(self, seq: int) -> None:
        self.events.append(("sent", seq, time.monotonic()))

    def append_done(
        self, seq: int, offset: int, line: int, deleted: int, failed: int,
        reasons: dict[str, int] | None,
    ) -> None:
        assert seq not in self.done, f"batch {seq} recorded twice"
        self.events.append(("done", seq, time.monotonic()))
        self.done[seq] = (offset, line, deleted, failed, reasons)

    def sent(self) -> list[int]:
        return [s for kind, s, _ in self.events if kind == "sent"]


class JournalLedger:
    """Ledger double: a real :class:`Progress`, plus a journal (or none) fed in lockstep."""

    def __init__(self, progress: Progress, journal: RecordingJournal | None) -> None:
        self.progress = progress
        self.journal = journal

    def is_done(self, seq: int) -> bool:
        return self.progress.is_done(seq)

    @property
    def watermark(self) -> int:
        return self.progress.watermark

    def sent(self, seq: int) -> None:
        if self.progress.mark_sent(seq) and self.journal is not None:
            self.journal.append_sent(seq)

    def done(self, seq: int, offset: int, line: int, deleted: int, failed: int,
             reasons: dict[str, int] | None) -> None:
        self.progress.mark_done(seq, offset, line, deleted, failed, reasons)
        if self.journal is not None:
            self.journal.append_done(seq, offset, line, deleted, failed, reasons)


class OrderedFailures(MemoryFailures):
    """MemoryFailures that also logs, into a shared journal, when failures were kept."""

    def __init__(self, journal: RecordingJournal) -> None:
        super().__init__()
        self.journal = journal

    async def add(self, failures: Sequence[tuple[str, str, str]]) -> None:
        await super().add(failures)
        for seq in sorted({seq_of(i) for i, _, _ in failures}):
            self.journal.events.append(("failed", seq, time.monotonic()))


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "account_id": "A", "passcode": Secret("p"), "base_url": "http://127.0.0.1:1",
        "id_type": "guid", "backoff_base": 0.001, "backoff_cap": 0.005,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Rig:
    engine: Engine
    deleter: FakeDeleter
    journal: RecordingJournal
    failures: OrderedFailures
    progress: Progress
    stop: StopRequest
    limiter: AdaptiveLimiter

    @property
    def stats(self) -> RunStats:
        return self.engine.stats

    async def run(self, batches: Sequence[Batch] | Iterator[Batch],
                  timeout: float = 10.0) -> RunEnd:
        return await asyncio.wait_for(self.engine.run(iter(batches)), timeout)

    def failed_ids(self) -> list[str]:
        return [i for i, _, _ in self.failures.items]

    def assert_nothing_lost(self, batches: Sequence[Batch]) -> None:
        """Spec §4.1: every ID of every batch recorded done was acknowledged by a success
        at least once or is in the failed file, and its failure was kept before the
        batch's done record."""
        failed = set(self.failed_ids())
        for batch in batches:
            if not self.progress.is_done(batch.seq):
                continue
            lost = [i for i in batch.ids if not self.deleter.acknowledged[i] and i not in failed]
            assert not lost, f"batch {batch.seq}: {len(lost)} IDs lost, e.g. {lost[:3]}"
        order = [(kind, seq) for kind, seq, _ in self.journal.events]
        for kind, seq in order:
            if kind == "failed":
                assert order.index(("failed", seq)) < order.index(("done", seq))


def rig(deleter: FakeDeleter, settings: Settings | None = None,
        progress: Progress | None = None) -> Rig:
    """Build the engine inside the running loop (the limiter is loop-bound)."""
    settings = settings or make_settings()
    journal = RecordingJournal()
    failures = OrderedFailures(journal)
    progress = progress if progress is not None else Progress()
    stop = StopRequest()
    limiter = AdaptiveLimiter(settings.concurrency, rate=settings.rate)
    engine = Engine(settings=settings, deleter=deleter, limiter=limiter,
                      ledger=JournalLedger(progress, journal), failures=failures, stop=stop,
                      rng=random.Random(7))
    return Rig(engine, deleter, journal, failures, progress, stop, limiter)


# -- the happy path -----------------------------------------------------------------------


async def test_all_succeed() -> None:
    """Every ID is delivered once, every batch recorded done once (sent before done), the
    watermark reaches the number of batches and the counts add up."""
    batches = make_batches(10, last=37)
    r = rig(FakeDeleter(delay=0.001))
    end = await r.run(batches)
    total = 9 * 100 + 37
    assert end == RunEnd(input_exhausted=True, limit_reached=False, stopped=False)
    assert len(r.deleter.calls) == 10
    assert set(r.deleter.acknowledged) == {i for b in batches for i in b.ids}
    assert all(n == 1 for n in r.deleter.acknowledged.values())
    assert r.progress.watermark == 10
    assert r.progress.done_above == {}
    assert r.progress.sent_above == set()
    assert (r.progress.ids_deleted, r.progress.ids_failed) == (total, 0)
    assert (r.stats.ids_deleted, r.stats.ids_failed, r.stats.batches_done) == (total, 0, 10)
    assert (r.stats.requests, r.stats.retries, r.stats.throttled) == (10, 0, 0)
    assert sorted(r.journal.sent()) == list(range(10))
    assert r.journal.done == {b.seq: (b.offset, b.line, len(b.ids), 0, None) for b in batches}
    order = [(k, s) for k, s, _ in r.journal.events]
    assert all(order.index(("sent", s)) < order.index(("done", s)) for s in range(10))
    assert r.failures.items == []
    r.assert_nothing_lost(batches)


async def test_ledger_without_a_journal_is_accepted() -> None:
    """The engine runs on a memory-only ledger (library runs on an iterable, no
    checkpoint)."""
    settings = make_settings()
    deleter = FakeDeleter()
    progress = Progress()
    engine = Engine(settings=settings, deleter=deleter,
                      limiter=AdaptiveLimiter(settings.concurrency),
                      ledger=JournalLedger(progress, None), failures=MemoryFailures(),
                      stop=StopRequest())
    end = await asyncio.wait_for(engine.run(iter(make_batches(3))), 5)
    assert end.input_exhausted
    assert progress.watermark == 3


async def test_done_batches_are_skipped_and_crash_resends_counted() -> None:
    """A resumed run skips batches the checkpoint has as done (below the watermark or
    above it) and counts a batch sent by a crashed run as resent_after_crash (carried over
    at the resume, as the job does, and counted as the batch is recorded)."""
    progress = Progress()
    for seq in (0, 1, 2, 5):
        progress.mark_done(seq, seq * 1000, seq * 10 + 1, 100, 0)
    progress.mark_sent(3)
    progress.carry_over(killed=True)
    batches = make_batches(8)
    r = rig(FakeDeleter(), progress=progress)
    await r.run(batches)
    assert sorted(c.seq for c in r.deleter.calls) == [3, 4, 6, 7]
    assert progress.resent_after_crash == 100
    assert progress.watermark == 8
    assert progress.ids_deleted == 800


# -- retries ------------------------------------------------------------------------------


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


# -- 400 bisection and the abort rules ----------------------------------------------------


@pytest.mark.parametrize("poison_at", [(3, 50, 97), (0, 1, 2), (10, 60, 99)])
async def test_bisection_isolates_the_rejected_ids(poison_at: tuple[int, int, int]) -> None:
    """A 400 on a batch of 100 with 3 rejected IDs is split in halves until they stand
    alone: exactly those 3 fail (reason kept), the other 97 are delivered, and the number of
    requests stays within 1 + 2·3·ceil(log2 100) = 43 (not 100)."""
    batch = make_batches(1)[0]
    poison = {batch.ids[i] for i in poison_at}
    r = rig(FakeDeleter(lambda ids, n, attempt: REJECT if poison & set(ids) else SUCCESS))
    await r.run([batch])
    calls = len(r.deleter.calls)
    print(f"bisection of 100 IDs with 3 rejected at {poison_at}: {calls} requests")
    assert set(r.failed_ids()) == poison
    assert len(r.failed_ids()) == 3
    assert {reason for _, reason, _ in r.failures.items} == {"HTTP 400 rejected"}
    assert {detail for _, _, detail in r.failures.items} == {"bad id"}
    assert set(r.deleter.acknowledged) == set(batch.ids) - poison
    assert calls <= 1 + 2 * 3 * math.ceil(math.log2(100))
    alone = Counter(c.ids[0] for c in r.deleter.calls if len(c.ids) == 1)
    assert {i: alone[i] for i in poison} == dict.fromkeys(poison, 1)  # each isolated once
    assert (r.progress.ids_deleted, r.progress.ids_failed) == (97, 3)
    assert r.progress.reasons == {"HTTP 400 rejected": 3}
    r.assert_nothing_lost([batch])


async def test_one_fully_rejected_batch_does_not_abort() -> None:
    """A single multi-ID batch whose every ID is rejected is recorded as failed and the run
    goes on (the abort needs two such batches)."""
    batches = make_batches(4, size=4)
    r = rig(FakeDeleter(lambda ids, n, attempt: REJECT if seq_of(ids[0]) == 2 else SUCCESS))
    end = await r.run(batches)
    assert end.input_exhausted
    assert sorted(r.failed_ids()) == batches[2].ids
    assert r.progress.watermark == 4
    r.assert_nothing_lost(batches)


async def test_two_fully_rejected_batches_abort_with_fatal_api_error() -> None:
    """When two multi-ID batches have every ID rejected one by one, the request itself is
    wrong: FatalApiError (exit 3) instead of bisecting the whole file."""
    batches = make_batches(50, size=8)
    r = rig(FakeDeleter(lambda ids, n, attempt: REJECT), make_settings(concurrency=1))
    with pytest.raises(FatalApiError, match="rejected every ID") as info:
        await r.run(batches)
    assert info.value.exit_code == 3
    assert r.stats.batches_done == 2
    # Two full bisection trees (2·8 − 1 requests each), plus at most the first request of
    # each other batch admitted inside the lookahead window: not the whole file.
    assert len(r.deleter.calls) <= 2 * (2 * 8 - 1) + r.engine.settings.lookahead
    assert len({c.seq for c in r.deleter.calls}) <= 2 + r.engine.settings.lookahead
    r.assert_nothing_lost(batches)


async def test_single_id_batches_rejected_do_not_count_as_a_wrong_request() -> None:
    """A rejected one-ID batch is one bad ID, not proof the request is wrong: many of them
    do not trigger the all-rejected abort."""
    batches = make_batches(5, size=1)
    r = rig(FakeDeleter(lambda ids, n, attempt: REJECT))
    end = await r.run(batches)
    assert end.input_exhausted
    assert r.progress.ids_failed == 5


async def test_fatal_answer_raises_at_once_and_fails_nothing() -> None:
    """A 401 stops the run at once with FatalApiError (exit 3, status kept); no ID is put
    in the failed sink and the rest of the input is never sent."""
    batches = make_batches(100, size=10)
    r = rig(FakeDeleter(lambda ids, n, attempt: FATAL if n >= 4 else SUCCESS, delay=0.001))
    started = time.monotonic()
    with pytest.raises(FatalApiError) as info:
        await r.run(batches)
    assert time.monotonic() - started < 2.0
    assert info.value.exit_code == 3
    assert info.value.status == 401
    assert "401" in str(info.value)
    assert r.failures.items == []
    assert r.progress.ids_failed == 0
    assert len(r.deleter.calls) < 10
    r.assert_nothing_lost(batches)


async def test_max_errors_count_reached_raises_too_many_errors() -> None:
    """--max-errors N: once N IDs have failed in this run, TooManyErrors (exit 3); the
    failures counted are already kept in the failed sink."""
    batches = make_batches(30, size=10)
    r = rig(FakeDeleter(lambda ids, n, attempt: REJECT if any(i.endswith("-0003") for i in ids)
                        else SUCCESS),
            make_settings(concurrency=1, max_errors=ErrorBudget(count=5)))
    with pytest.raises(TooManyErrors, match="--max-errors 5") as info:
        await r.run(batches)
    assert info.value.exit_code == 3
    assert r.stats.ids_failed == 5
    assert len(r.failed_ids()) == 5
    assert r.stats.batches_done == 5
    r.assert_nothing_lost(batches)


async def test_hanging_deleter_raises_stalled_error() -> None:
    """With no acknowledged batch for stall_timeout (a request that hangs), the run aborts
    with StalledError (exit 3) soon after the timeout."""
    r = rig(FakeDeleter(delay=30.0), make_settings(stall_timeout=0.3))
    started = time.monotonic()
    with pytest.raises(StalledError, match="stall-timeout") as info:
        await r.run(make_batches(5, size=5))
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 3.0
    assert info.value.exit_code == 3
    assert r.failures.items == []


async def test_slow_retryable_answers_raise_stalled_error() -> None:
    """Answers that keep coming back RETRYABLE (slowly) acknowledge nothing: StalledError
    after stall_timeout, with nothing marked failed while retries remain."""
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY, delay=0.05),
            make_settings(stall_timeout=0.3, max_retries=1000))
    started = time.monotonic()
    with pytest.raises(StalledError):
        await r.run(make_batches(5, size=5))
    assert time.monotonic() - started < 3.0
    assert r.failures.items == []
    assert r.progress.watermark == 0


async def test_a_bug_in_the_deleter_surfaces_unwrapped() -> None:
    """An unexpected exception from the deleter reaches the caller as itself, never as an
    ExceptionGroup."""

    def boom(ids: list[str], n: int, attempt: int) -> Result:
        raise RuntimeError("deleter bug")

    r = rig(FakeDeleter(boom))
    with pytest.raises(RuntimeError, match="deleter bug"):
        await r.run(make_batches(3))


def test_abort_errors_share_exit_code_three() -> None:
    """The abort conditions are all AbortError with exit code 3."""
    for cls in (FatalApiError, TooManyErrors, StalledError):
        assert issubclass(cls, AbortError)
        assert cls.exit_code == 3


# -- duplicates, concurrency, window ------------------------------------------------------


async def test_in_batch_duplicates_are_sent_once_and_each_counted() -> None:
    """Duplicates inside a batch are sent once (first-seen order) and every occurrence
    counts as deleted, so deleted + failed equals the batch's positions."""
    a, b, c = ident(0, 1), ident(0, 2), ident(0, 3)
    batch = Batch(0, 0, 1, [a, b, a, c, a, b])
    r = rig(FakeDeleter())
    await r.run([batch])
    assert [call.ids for call in r.deleter.calls] == [[a, b, c]]
    assert (r.progress.ids_deleted, r.progress.ids_failed) == (6, 0)
    assert r.stats.ids_deleted == 6
    assert r.journal.done[0] == (0, 1, 6, 0, None)


async def test_rejected_duplicate_counts_each_occurrence_as_failed() -> None:
    """A rejected ID that occurs twice in its batch is counted failed twice (so totals add
    up to the input's positions) and kept in the failed sink."""
    x, y, z = ident(0, 1), ident(0, 2), ident(0, 3)
    batch = Batch(0, 0, 1, [x, y, x, z])
    r = rig(FakeDeleter(lambda ids, n, attempt: REJECT if x in ids else SUCCESS))
    await r.run([batch])
    assert (r.progress.ids_deleted, r.progress.ids_failed) == (2, 2)
    assert r.progress.reasons == {"HTTP 400 rejected": 2}
    assert r.failed_ids() == [x]
    assert r.journal.done[0] == (0, 1, 2, 2, {"HTTP 400 rejected": 2})
    r.assert_nothing_lost([batch])


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
    --concurrency 2; each keeps its worker and another takes its place, so the other 27
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


def _stop_scenario(settings: Settings) -> tuple[Rig, list[Batch], list[float]]:
    """60 batches; batch 0 always RETRYABLE (it sits in backoff), the rest succeed after
    20 ms. The stop (SIGINT, 130) is requested as the 8th call starts."""
    batches = make_batches(60, size=5)
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY if seq_of(ids[0]) == 0 else SUCCESS,
                        delay=0.02), settings)
    stopped_at: list[float] = []

    def on_call(number: int) -> None:
        if number == 7:
            stopped_at.append(time.monotonic())
            r.stop.request(130, "SIGINT")

    r.deleter.on_call = on_call
    return r, batches, stopped_at


async def test_graceful_stop_records_in_flight_and_abandons_the_rest() -> None:
    """stop.request(130, "SIGINT") mid-run: run returns with end.stopped; no batch is
    admitted after the stop; requests in flight at the stop finish and are recorded;
    a batch waiting to retry is abandoned — not marked done, not in the failed sink."""
    r, batches, stopped_at = _stop_scenario(
        make_settings(backoff_base=0.05, backoff_cap=0.05, max_retries=1000))
    end = await r.run(batches, timeout=5.0)
    (stop_time,) = stopped_at
    assert end.stopped
    assert not end.input_exhausted
    assert (r.stop.exit_code, r.stop.reason) == (130, "SIGINT")
    assert all(t <= stop_time for k, _, t in r.journal.events if k == "sent")
    in_flight_at_stop = {c.seq for c in r.deleter.calls if c.started <= stop_time
                         and c.seq != 0 and c.ended is not None and c.ended >= stop_time}
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
    r, batches, stopped_at = _stop_scenario(
        make_settings(backoff_base=0.05, backoff_cap=0.05, max_retries=1000))
    await r.run(batches, timeout=5.0)
    (stop_time,) = stopped_at
    late = [c.seq for c in r.deleter.calls if c.started > stop_time]
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
        end = await r.run(batches, timeout=2.0)
    finally:
        await stopper
    assert end.stopped
    assert not r.progress.is_done(0)
    assert all(r.progress.is_done(s) for s in (1, 2, 3))


async def test_graceful_stop_during_a_long_429_pause_returns_promptly() -> None:
    """A 429 with Retry-After 60 pauses every slot; the dispatcher (which takes each
    batch's first slot) is then waiting inside the limiter. A graceful stop must end the
    run at once, not after the pause, and record nothing it did not send."""
    batches = make_batches(10, size=3)
    r = rig(FakeDeleter(lambda ids, n, attempt: Result(
        Outcome.THROTTLED, "HTTP 429 throttled", 429, "", 60.0)),
        make_settings(concurrency=2))

    async def stop_later() -> None:
        await asyncio.sleep(0.2)
        r.stop.request(143, "SIGTERM")

    stopper = asyncio.create_task(stop_later())
    started = time.monotonic()
    try:
        end = await r.run(batches, timeout=5.0)
    finally:
        await stopper
    assert end.stopped
    assert time.monotonic() - started < 2.0
    assert r.journal.done == {}
    assert len(r.deleter.calls) == 2  # one per slot, then the pause; nothing after it
    assert r.limiter.in_flight == 0


async def test_limit_sends_whole_batches_up_to_the_limit() -> None:
    """--limit 250 with batches of 100: exactly 3 batches are sent (rounded up to whole
    batches), then the run ends with end.limit_reached."""
    batches = make_batches(10)
    r = rig(FakeDeleter(), make_settings(limit=250))
    end = await r.run(batches)
    assert end.limit_reached
    assert not end.input_exhausted
    assert not end.stopped
    assert sorted(c.seq for c in r.deleter.calls) == [0, 1, 2]
    assert r.progress.watermark == 3
    assert r.progress.ids_deleted == 300
    r.assert_nothing_lost(batches)


async def test_limit_on_a_resumed_job_counts_from_the_watermark() -> None:
    """--limit counts this run's IDs: on a job with 2 batches done, --limit 250 sends the
    next 3 batches."""
    progress = Progress()
    for seq in (0, 1):
        progress.mark_done(seq, seq * 1000, seq * 10 + 1, 100, 0)
    r = rig(FakeDeleter(), make_settings(limit=250), progress=progress)
    end = await r.run(make_batches(10))
    assert end.limit_reached
    assert sorted(c.seq for c in r.deleter.calls) == [2, 3, 4]


async def test_limit_equal_to_the_input_exhausts_it() -> None:
    """A --limit covering the whole input sends everything; input_exhausted and
    limit_reached are both true."""
    r = rig(FakeDeleter(), make_settings(limit=300))
    end = await r.run(make_batches(3))
    assert end.input_exhausted
    assert end.limit_reached
    assert len(r.deleter.calls) == 3


async def test_batches_exhausting_retries_for_the_failing_window_abort() -> None:
    """When every finished batch has exhausted its retries for `failing_window` seconds
    (an outage), the run aborts with TooManyErrors (exit 3) instead of pouring the rest
    of the file into the failed file."""
    batches = make_batches(200, size=10)
    # The API worked for the first batches, then went down for good.
    r = rig(FakeDeleter(lambda ids, n, attempt: SUCCESS if seq_of(ids[0]) < 3 else RETRY,
                        delay=0.01),
            make_settings(concurrency=2, max_retries=1, failing_window=0.3))
    with pytest.raises(TooManyErrors, match="exhausting its retries") as info:
        await r.run(batches)
    assert info.value.exit_code == 3
    assert r.stats.batches_done < 60  # stopped early: far from the 200 batches
    r.assert_nothing_lost(batches)


async def test_a_success_resets_the_failing_window() -> None:
    """Exhausted batches interleaved with successes are ordinary failures, not an outage:
    the run completes and lists them."""
    batches = make_batches(60, size=10)
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY if seq_of(ids[0]) % 3 == 0 else SUCCESS,
                        delay=0.01),
            make_settings(concurrency=1, max_retries=1, failing_window=0.5))
    await r.run(batches)
    assert r.progress.watermark == 60
    assert r.stats.ids_failed == 20 * 10
    r.assert_nothing_lost(batches)


async def test_max_errors_percentage_applies_after_1000_attempted() -> None:
    """--max-errors 5%: with every tenth batch failing (10 %), the run aborts — but only
    once 1,000 IDs were attempted, never on the first failed batch."""
    batches = make_batches(300, size=10)
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY if seq_of(ids[0]) % 10 == 5 else SUCCESS),
            make_settings(concurrency=1, max_retries=0, max_errors=ErrorBudget(percent=5)))
    with pytest.raises(TooManyErrors, match="5%"):
        await r.run(batches)
    assert r.stats.ids_attempted >= 1_000
    assert r.stats.ids_attempted < 3_000
    assert r.stats.ids_failed > 0
    r.assert_nothing_lost(batches)


async def test_a_run_that_never_succeeded_aborts_without_failing_ids() -> None:
    """An endpoint that never answers success (wrong URL, network down) ends the run with
    TooManyErrors (exit 3) at the first exhausted batch, and no ID is listed as failed."""
    batches = make_batches(50, size=10)
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY), make_settings(max_retries=2))
    with pytest.raises(TooManyErrors, match="no request has succeeded") as info:
        await r.run(batches)
    assert info.value.exit_code == 3
    assert r.failed_ids() == []
    assert r.progress.watermark == 0
    assert r.stats.batches_done == 0


# -- the re-send bound and outages ---------------------------------------------------------


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


UNREACHED = Result(Outcome.UNREACHED, "cannot connect to 127.0.0.1:9")


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
    failed_at = r.deleter.calls[5].ended
    assert failed_at is not None
    later = [c.started - failed_at for c in r.deleter.calls[6:]
             if c.started > failed_at]
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
