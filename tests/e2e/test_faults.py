"""The fault matrix (docs/guarantees.md §5–§6): the real job against the fake server with each fault
alone and all together. Each case proves nothing lost, the ceiling never exceeded at the
server, and the report's counts matching the server's own record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bulkdelete.job import run_job
from bulkdelete.settings import JobFiles
from tests.conftest import ServerFactory, assert_nothing_lost, make_ids, make_settings, write_ids

CONCURRENCY = 4
POISON_AT = (17, 1_234, 2_999)

FAULTS: dict[str, dict[str, Any]] = {
    "json-500": {"p_500": 0.15},
    "html-503": {"p_503_html": 0.15},
    "resets": {"p_reset": 0.1},
    "hangs": {"p_hang": 0.03, "hang_seconds": 5.0},
    "fail-body": {"p_fail_body": 0.15},
    "cut-off": {"p_truncated": 0.1},
    "429-storm": {"p_429": 0.3},
    "poison": {"poison": True},
    "all-together": {
        "p_500": 0.04, "p_503_html": 0.04, "p_reset": 0.03, "p_hang": 0.01,
        "hang_seconds": 5.0, "p_fail_body": 0.04, "p_truncated": 0.03, "p_429": 0.1,
        "poison": True,
    },
}


@pytest.mark.parametrize("name", list(FAULTS))
async def test_fault_matrix(name: str, tmp_path: Path, fake_server: ServerFactory) -> None:
    """Under this fault the job completes, loses nothing, fails only the poison IDs, stays
    within the ceiling, and its report agrees with what the server saw."""
    knobs = dict(FAULTS[name])
    ids = make_ids(3_000)
    poison = {ids[i] for i in POISON_AT} if knobs.pop("poison", False) else set()
    source = write_ids(tmp_path / "ids.txt", ids)
    hangs = "p_hang" in knobs
    async with fake_server(
        concurrency_limit=CONCURRENCY, latency=0.002, poison_ids=frozenset(poison), **knobs
    ) as server:
        # A hung request costs one --timeout, then a retry: timeouts are retryable
        # (docs/guarantees.md §6).
        settings = make_settings(server.base_url, concurrency=CONCURRENCY,
                                 timeout=0.5 if hangs else 2.0, max_retries=10)
        result = await run_job(settings, JobFiles(input=source))
        failed = assert_nothing_lost(ids, server, result.failed_path)
        stats = server.stats
        report = result.report

    assert failed == poison
    assert result.exit_code == (1 if poison else 0)
    assert report["complete"] is True
    assert report["ids_failed"] == len(poison)
    assert report["ids_deleted"] == len(ids) - len(poison)
    # Every ID the server acknowledged is one the report counts as deleted, and vice versa.
    assert set(stats.acknowledged) == set(ids) - poison
    assert report["requests"] == stats.requests
    assert report["throttled"] == stats.throttled
    # The server admits at most CONCURRENCY; with hangs, a request the client abandoned on
    # timeout may still be running there (docs/guarantees.md §5), so allow those on top.
    allowance = stats.faults if hangs else 0
    assert stats.peak_in_flight <= CONCURRENCY + allowance
    if name not in ("poison",):
        assert report["retries"] + report["throttled"] > 0


async def test_three_poison_ids_in_100k_cost_only_their_bisection(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Three poison IDs scattered through 30k: exactly those fail (with the 400 reason),
    all others are deleted, and the bisection costs a bounded number of extra requests:
    at most 2·⌈log2 100⌉ per poison ID."""
    ids = make_ids(30_000)
    poison = {ids[7], ids[15_049], ids[29_998]}
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=3, poison_ids=frozenset(poison)) as server:
        result = await run_job(make_settings(server.base_url), JobFiles(input=source))
        failed = assert_nothing_lost(ids, server, result.failed_path)
        requests = server.stats.requests
    assert failed == poison
    assert result.report["ids_failed"] == 3
    assert result.report["ids_deleted"] == 30_000 - 3
    assert [r["reason"] for r in result.report["top_failure_reasons"]] == ["HTTP 400 rejected"]
    extra = requests - 300
    print(f"bisection cost: {extra} extra requests for 3 poison IDs")  # shown with -s
    assert 0 < extra <= 3 * 2 * 7


async def test_wrong_id_type_aborts_after_two_fully_rejected_batches(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """When every ID of a batch is rejected one by one, the request itself is wrong: after
    two such batches the run aborts (exit 3) instead of bisecting the whole file."""
    from bulkdelete.errors import FatalApiError

    ids = make_ids(5_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(poison_ids=frozenset(ids)) as server:
        settings = make_settings(server.base_url, concurrency=1)
        with pytest.raises(FatalApiError, match="request itself is wrong"):
            await run_job(settings, JobFiles(input=source))
        # Two batches bisected (2 × 199 requests) plus one first attempt per batch in the
        # lookahead window — not fifty bisections.
        assert server.stats.requests <= 2 * 199 + settings.lookahead
