"""Unit tests for :mod:`bulkdelete.engine.operation`: the delete operation's 400 bisection
and the all-rejected rule it feeds."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from bulkdelete.client import SUCCESS
from bulkdelete.errors import FatalApiError
from tests.engine.rig import (
    REJECT,
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
