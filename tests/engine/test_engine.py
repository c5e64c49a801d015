"""Unit tests for :class:`bulkdelete.engine.Engine` as a whole: a run's counts and records,
skipping what is done, in-batch duplicates, a bug surfacing unwrapped. Every run that ends
normally also checks docs/guarantees.md §1 (nothing lost)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Any

import pytest

from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import Ledger, Progress
from bulkdelete.client import SUCCESS, Failures, Outcome, Result
from bulkdelete.engine import AdaptiveLimiter, Engine, RunEnd, Sender, Snapshot, StopRequest
from bulkdelete.engine.engine import Delete, Labels
from bulkdelete.engine.limiter import Ticket
from bulkdelete.engine.sender import Request
from bulkdelete.errors import StorageError
from bulkdelete.failed import MemoryFailures
from tests.engine.rig import (
    REJECT,
    FakeDeleter,
    RecordingJournal,
    ident,
    make_batches,
    make_settings,
    rig,
)


async def test_all_succeed() -> None:
    """Every ID is delivered once, every batch recorded done once (sent before done), the
    watermark reaches the number of batches and the counts add up."""
    batches = make_batches(10, last=37)
    r = rig(FakeDeleter(delay=0.001))
    end = await r.run(batches)
    total = 9 * 100 + 37
    assert end == RunEnd(input_exhausted=True, limit_reached=False)
    assert not r.stop.requested
    assert len(r.deleter.calls) == 10
    assert set(r.deleter.acknowledged) == {i for b in batches for i in b.ids}
    assert all(n == 1 for n in r.deleter.acknowledged.values())
    assert r.progress.watermark == 10
    assert r.progress.done_above == {}
    assert r.progress.sent_above == set()
    assert (r.progress.ids_deleted, r.progress.ids_failed) == (total, 0)
    assert (r.stats.ids_deleted, r.stats.ids_failed, r.batches_done) == (total, 0, 10)
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
    engine = Engine(settings=settings, operation=partial(Delete, deleter.delete),
                    limiter=AdaptiveLimiter(settings.concurrency),
                    recorder=Ledger(progress), failures=MemoryFailures(),
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
        Ledger(progress).done(seq, seq * 1000, seq * 10 + 1, 100, 0, None)
    Ledger(progress).sent(3)
    progress.carry_over(killed=True)
    batches = make_batches(8)
    r = rig(FakeDeleter(), progress=progress)
    await r.run(batches)
    assert sorted(c.seq for c in r.deleter.calls) == [3, 4, 6, 7]
    assert progress.resent_after_crash == 100
    assert progress.watermark == 8
    assert progress.ids_deleted == 800


async def test_a_bug_in_the_deleter_surfaces_unwrapped() -> None:
    """An unexpected exception from the deleter reaches the caller as itself, never as an
    ExceptionGroup."""

    def boom(ids: list[str], n: int, attempt: int) -> Result:
        raise RuntimeError("deleter bug")

    r = rig(FakeDeleter(boom))
    with pytest.raises(RuntimeError, match="deleter bug"):
        await r.run(make_batches(3))


class BrokenJournal(RecordingJournal):
    """A journal whose write of one kind fails, as a full disk would."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def append(self, record: dict[str, Any]) -> None:
        if record["k"] == self.kind[0]:
            raise StorageError(f"cannot write the journal ({self.kind})")
        super().append(record)


class BrokenFailures(MemoryFailures):
    async def add(self, failures: Sequence[tuple[str, str, str]]) -> None:
        raise StorageError("cannot write the failed file")


@pytest.mark.parametrize("where", ["sent", "done", "failures"])
async def test_a_recording_error_leaves_the_run_as_itself(where: str) -> None:
    """A journal write or a failed-file write that fails ends the run as that very
    exception (the job relies on it to save what it can), with nothing more recorded."""
    settings = make_settings(concurrency=3)
    journal = BrokenJournal(where)
    progress = Progress()
    answer = REJECT if where == "failures" else SUCCESS
    deleter = FakeDeleter(lambda ids, n, attempt: answer, delay=0.01)
    engine = Engine(settings=settings, operation=partial(Delete, deleter.delete),
                    limiter=AdaptiveLimiter(settings.concurrency),
                    recorder=Ledger(progress, journal.append),
                    failures=BrokenFailures() if where == "failures" else MemoryFailures(),
                    stop=StopRequest())
    with pytest.raises(StorageError, match="cannot write") as info:
        await asyncio.wait_for(engine.run(iter(make_batches(20, size=2))), 5)
    assert type(info.value) is StorageError
    assert journal.done == {}
    assert deleter.in_flight == 0  # nothing left running behind the error


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
    assert r.stats.outcomes == Counter(deleted=2, failed=2)
    r.assert_nothing_lost([batch])


class OnePerId:
    """Another operation on the same engine: one request per ID (as ``verify`` will read
    one profile per ID), the batch's slot used for the first, each later one taking its own,
    with outcome labels of its own."""

    labels = Labels(success="done", error="refused")

    def __init__(self, request: Request, sender: Sender) -> None:
        self._request = request
        self._sender = sender

    async def __call__(self, ids: list[str], seq: int, ticket: Ticket) -> Failures | None:
        failures: Failures = []
        first: Ticket | None = ticket
        for one in ids:
            result = await self._sender.send(self._request, [one], seq, first)
            first = None
            if result is None:
                return None
            if result.outcome is not Outcome.SUCCESS:
                failures.append((one, result))
        return failures


async def test_another_operation_plugs_into_the_same_engine() -> None:
    """An operation built on the engine's sender gets the engine's window, slots,
    recording and rules without copying any of it: one request per ID, a rejected ID
    recorded as failed (no bisection: that is Delete's), every slot returned."""
    settings = make_settings(concurrency=3)
    bad = ident(1, 2)
    deleter = FakeDeleter(lambda ids, n, attempt: REJECT if ids == [bad] else SUCCESS)
    progress = Progress()
    limiter = AdaptiveLimiter(settings.concurrency)
    failures = MemoryFailures()

    def per_id(sender: Sender) -> OnePerId:
        return OnePerId(deleter.delete, sender)

    engine = Engine(settings=settings, operation=per_id, limiter=limiter,
                    recorder=Ledger(progress), failures=failures,
                    stop=StopRequest())
    batches = make_batches(4, size=5)
    end = await asyncio.wait_for(engine.run(iter(batches)), 5)
    assert end.input_exhausted
    assert [len(c.ids) for c in deleter.calls] == [1] * 20
    assert deleter.max_in_flight <= 3
    assert [i for i, _, _ in failures.items] == [bad]
    assert (progress.watermark, progress.ids_deleted, progress.ids_failed) == (4, 19, 1)
    assert limiter.in_flight == 0
    assert engine.snapshot() == Snapshot(
        ids_deleted=19, ids_failed=1, requests=20, retries=0, throttled=0, in_flight=0,
        limit=3, ceiling=3, outcomes=Counter(done=19, refused=1),
    )
    assert engine.snapshot().ids_attempted == 20
