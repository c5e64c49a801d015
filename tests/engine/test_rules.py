"""Unit tests for the abort rules in :mod:`bulkdelete.engine.sender`: --max-errors, the
stall watchdog, the failing window, and a run that never succeeded."""

from __future__ import annotations

import pytest

from bulkdelete.client import SUCCESS
from bulkdelete.errors import AbortError, FatalApiError, StalledError, TooManyErrors
from bulkdelete.settings import ErrorBudget
from tests.engine.rig import (
    REJECT,
    RETRY,
    FakeDeleter,
    make_batches,
    make_settings,
    rig,
    seq_of,
)


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
    assert r.batches_done == 5
    r.assert_nothing_lost(batches)


async def test_hanging_deleter_raises_stalled_error() -> None:
    """With no acknowledged batch for stall_timeout (a request that hangs), the run aborts
    with StalledError (exit 3) soon after the timeout."""
    r = rig(FakeDeleter(delay=30.0), make_settings(stall_timeout=0.3))
    with pytest.raises(StalledError, match="stall-timeout") as info:
        await r.run(make_batches(5, size=5))
    assert 0.3 <= r.elapsed < 3.0
    assert info.value.exit_code == 3
    assert r.failures.items == []


async def test_slow_retryable_answers_raise_stalled_error() -> None:
    """Answers that keep coming back RETRYABLE (slowly) acknowledge nothing: StalledError
    after stall_timeout, with nothing marked failed while retries remain."""
    r = rig(FakeDeleter(lambda ids, n, attempt: RETRY, delay=0.05),
            make_settings(stall_timeout=0.3, max_retries=1000))
    with pytest.raises(StalledError):
        await r.run(make_batches(5, size=5))
    assert r.elapsed < 3.0
    assert r.failures.items == []
    assert r.progress.watermark == 0


def test_abort_errors_share_exit_code_three() -> None:
    """The abort conditions are all AbortError with exit code 3."""
    for cls in (FatalApiError, TooManyErrors, StalledError):
        assert issubclass(cls, AbortError)
        assert cls.exit_code == 3


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
    assert r.batches_done < 60  # stopped early: far from the 200 batches
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
    assert r.batches_done == 0
