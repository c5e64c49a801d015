"""Unit tests for :mod:`bulkdelete.engine.engine`: the delete operation's 400 bisection
and the all-rejected rule it feeds; the check (verify's lookups) on the same engine."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Awaitable
from functools import partial

import pytest

from bulkdelete.answer import GONE, PRESENT
from bulkdelete.batcher import Batch
from bulkdelete.checkpoint import Ledger, Progress
from bulkdelete.client import SUCCESS, Result
from bulkdelete.engine import AdaptiveLimiter, Check, Engine, StopRequest
from bulkdelete.errors import FatalApiError, TooManyErrors
from bulkdelete.failed import MemoryFailures
from bulkdelete.settings import ErrorBudget, Settings
from tests.engine.rig import (
    FATAL,
    REJECT,
    RETRY,
    FakeDeleter,
    make_batches,
    make_settings,
    rig,
    seq_of,
)


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
    assert r.batches_done == 2
    # Two full bisection trees (2·8 − 1 requests each), plus at most the first request of
    # each other batch admitted inside the lookahead window: not the whole file.
    assert len(r.deleter.calls) <= 2 * (2 * 8 - 1) + r.engine.sender.settings.lookahead
    assert len({c.seq for c in r.deleter.calls}) <= 2 + r.engine.sender.settings.lookahead
    r.assert_nothing_lost(batches)


async def test_single_id_batches_rejected_do_not_count_as_a_wrong_request() -> None:
    """A rejected one-ID batch is one bad ID, not proof the request is wrong: many of them
    do not trigger the all-rejected abort."""
    batches = make_batches(5, size=1)
    r = rig(FakeDeleter(lambda ids, n, attempt: REJECT))
    end = await r.run(batches)
    assert end.input_exhausted
    assert r.progress.ids_failed == 5


# -- Check: verify's lookups, one per ID, through the same engine ---------------------------


def _check_engine(deleter: FakeDeleter, settings: Settings) -> tuple[Engine, MemoryFailures,
                                                                        Progress]:
    """An engine whose operation is :class:`Check`, each lookup answered by ``deleter``
    called with the one ID (so its script, timing and in-flight count apply)."""
    progress, failures = Progress(), MemoryFailures()

    def lookup(ident_: str) -> Awaitable[Result]:
        return deleter.delete([ident_])

    engine = Engine(
        settings=settings, limiter=AdaptiveLimiter(settings.concurrency),
        operation=partial(Check, lookup),
        recorder=Ledger(progress), failures=failures, stop=StopRequest(),
    )
    return engine, failures, progress


async def test_check_looks_each_id_up_once_within_the_concurrency_and_splits_verdicts() -> None:
    """Every ID is looked up on its own, never more than --concurrency at once; gone IDs
    count as done, present and unknown (retries spent) ones come back with their result."""
    batches = make_batches(6, size=20)
    present = {batches[1].ids[3], batches[4].ids[0]}
    unclear = {batches[2].ids[7]}

    def answer(ids: list[str], n: int, attempt: int) -> Result:
        return PRESENT if ids[0] in present else RETRY if ids[0] in unclear else GONE

    deleter = FakeDeleter(answer, delay=0.002)
    engine, failures, progress = _check_engine(deleter, make_settings(concurrency=3,
                                                                      max_retries=2))
    await asyncio.wait_for(engine.run(iter(batches)), 10)
    everyone = [i for b in batches for i in b.ids]
    assert sorted(i for c in deleter.calls for i in c.ids if i not in unclear) == sorted(
        set(everyone) - unclear)
    assert all(len(c.ids) == 1 for c in deleter.calls)
    assert deleter.attempts[(next(iter(unclear)),)] == 3  # the first try and 2 retries
    assert 1 < deleter.max_in_flight <= 3
    found = {i: reason for i, reason, _ in failures.items}
    assert set(found) == present | unclear
    assert {found[i] for i in present} == {"present"}
    assert found[next(iter(unclear))].startswith("gave up after 3 attempts")
    assert (progress.ids_deleted, progress.ids_failed) == (len(everyone) - 3, 3)
    assert progress.watermark == len(batches)
    assert engine.snapshot().outcomes == Counter(gone=len(everyone) - 3, present=2, unknown=1)


async def test_check_present_ids_do_not_count_toward_max_errors_but_unknown_ones_do() -> None:
    """A profile still present is a finding, not an error: --max-errors 1 lets a run that
    finds 20 present finish; one unknown ID reaches it."""
    batches = make_batches(2, size=10)
    engine, failures, progress = _check_engine(
        FakeDeleter(lambda ids, n, attempt: PRESENT),
        make_settings(max_errors=ErrorBudget(count=1)))
    await asyncio.wait_for(engine.run(iter(batches)), 10)
    assert progress.ids_failed == 20
    assert len(failures.items) == 20
    stats = engine.sender.stats
    assert (stats.outcomes, stats.ids_errored) == (Counter(present=20), 0)

    engine, failures, progress = _check_engine(
        FakeDeleter(lambda ids, n, attempt: RETRY if ids[0] == batches[0].ids[5] else GONE),
        make_settings(concurrency=1, max_retries=0, max_errors=ErrorBudget(count=1)))
    with pytest.raises(TooManyErrors, match="--max-errors 1 reached"):
        await asyncio.wait_for(engine.run(iter(batches)), 10)


async def test_check_of_an_empty_batch_sends_nothing_and_frees_its_slot() -> None:
    """A batch with no ID to check (none of it deleted) is recorded done at once, and the
    slot the engine took for it is given back: 50 of them at concurrency 1 do not hang."""
    batches = [Batch(seq, 0, 1, []) for seq in range(50)] + make_batches(1, size=3)
    batches[-1].seq = 50
    deleter = FakeDeleter(lambda ids, n, attempt: GONE)
    engine, _, progress = _check_engine(deleter, make_settings(concurrency=1))
    await asyncio.wait_for(engine.run(iter(batches)), 10)
    assert progress.watermark == 51
    assert len(deleter.calls) == 3


async def test_check_stops_at_once_on_a_fatal_lookup() -> None:
    """401 on one lookup: the run raises FatalApiError itself (not a group of the batch's
    lookups) and records nothing of that batch."""
    batches = make_batches(1, size=30)
    deleter = FakeDeleter(lambda ids, n, attempt: FATAL if n == 4 else GONE, delay=0.001)
    engine, _, progress = _check_engine(deleter, make_settings(concurrency=3))
    with pytest.raises(FatalApiError):
        await asyncio.wait_for(engine.run(iter(batches)), 10)
    assert progress.watermark == 0
