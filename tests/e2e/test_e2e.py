"""End to end, in-process: the real job (reader, checkpoint, limiter, client) over loopback
to the shipped fake server. Every test ends with the nothing-lost check (docs/guarantees.md §1)."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import time
from pathlib import Path

import pytest

from bulkdelete.errors import CheckpointMismatch, FatalApiError, TooManyErrors
from bulkdelete.job import run_job
from bulkdelete.settings import JobFiles, Secret
from tests.conftest import (
    PASSCODE,
    ServerFactory,
    assert_nothing_lost,
    make_ids,
    make_settings,
    read_lines,
    write_ids,
)


async def test_clean_run_deletes_everything_and_reports_it(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A plain run acknowledges every ID once; the report's counts match the server's."""
    ids = make_ids(2_345)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=3, latency=0.002) as server:
        result = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert_nothing_lost(ids, server, result.failed_path)
        report = result.report
        assert result.exit_code == 0
        assert report["complete"] is True
        assert report["ids_total"] == report["ids_deleted"] == len(ids)
        assert report["ids_failed"] == 0
        assert report["batches_total"] == 24
        assert report["requests"] == server.stats.requests
        assert server.stats.peak_in_flight <= 3
        assert sum(server.stats.acknowledged.values()) == len(ids)  # each exactly once
    on_disk = json.loads((source.parent / "ids.txt.bulkdelete" / "report.json").read_text())
    assert on_disk["ids_deleted"] == len(ids)
    assert on_disk["exit_code"] == 0


async def test_faults_lose_nothing_and_stay_within_the_ceiling(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """5xx, HTML 503s, resets, fail bodies, cut-off answers and 429s: all retried, nothing
    lost, never more than --concurrency at the server."""
    ids = make_ids(3_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(
        concurrency_limit=4, latency=0.002, p_500=0.05, p_503_html=0.05, p_reset=0.03,
        p_fail_body=0.03, p_truncated=0.03, p_429=0.05,
    ) as server:
        result = await run_job(make_settings(server.base_url, concurrency=4),
                               JobFiles(input=source))
        failed = assert_nothing_lost(ids, server, result.failed_path)
        assert failed == set()
        assert result.exit_code == 0
        assert result.report["retries"] > 0
        assert result.report["throttled"] > 0
        assert server.stats.peak_in_flight <= 4


async def test_changed_input_is_refused_and_sends_nothing(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A checkpoint is bound to its input's content: a changed file is refused (exit 2)."""
    ids = make_ids(1_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(latency=0.001) as server:
        settings = make_settings(server.base_url, limit=200)
        first = await run_job(settings, JobFiles(input=source))
        assert first.report["complete"] is False
        write_ids(source, [*ids, "one-more"])
        before = server.stats.requests
        with pytest.raises(CheckpointMismatch, match="input content") as info:
            await run_job(settings, JobFiles(input=source))
        assert info.value.exit_code == 2
        assert server.stats.requests == before
        # The same job with its original input resumes and finishes.
        write_ids(source, ids)
        done = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert done.report["complete"] is True
        assert_nothing_lost(ids, server, done.failed_path)


async def test_changed_target_or_batch_shape_is_refused(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Another account, host, id type or batch size never reuses a checkpoint."""
    ids = make_ids(500)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        await run_job(make_settings(server.base_url, limit=100), JobFiles(input=source))
        for change in ({"id_type": "identity"}, {"batch_size": 50},
                       {"account_id": "OTHER"}):
            with pytest.raises(CheckpointMismatch):
                await run_job(make_settings(server.base_url, **change), JobFiles(input=source))
        other_host = server.base_url.replace("127.0.0.1", "localhost")
        with pytest.raises(CheckpointMismatch, match="target host"):
            await run_job(make_settings(other_host), JobFiles(input=source))
        done = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert_nothing_lost(ids, server, done.failed_path)


async def test_401_stops_fast_with_exit_3_and_marks_nothing_failed(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Wrong credentials met mid-run (the preflight skipped, so the deletes meet them):
    abort at once (exit 3), the failed file stays empty, and a rerun with the right passcode
    resumes and finishes."""
    ids = make_ids(5_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(latency=0.01) as server:
        started = time.monotonic()
        with pytest.raises(FatalApiError, match="401") as info:
            await run_job(make_settings(server.base_url, passcode=Secret("wrong"),
                                        preflight=False), JobFiles(input=source))
        assert time.monotonic() - started < 5
        assert info.value.exit_code == 3
        assert server.stats.unauthorized <= 3
        assert PASSCODE not in str(info.value)
        ckpt = source.parent / "ids.txt.bulkdelete"
        assert read_lines(ckpt / "failed.txt") == []
        report = json.loads((ckpt / "report.json").read_text())
        assert report["exit_code"] == 3
        assert report["ids_failed"] == 0
        done = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert done.exit_code == 0
        assert_nothing_lost(ids, server, done.failed_path)


async def test_poison_ids_are_isolated_and_listed_with_reasons(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """IDs the API rejects land in the failed file (with reasons beside it); the rest of
    their batches are deleted; the job exits 1 and a rerun sends nothing."""
    ids = make_ids(1_000)
    poison = {ids[5], ids[517], ids[999]}
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(poison_ids=frozenset(poison)) as server:
        result = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert result.exit_code == 1
        failed = assert_nothing_lost(ids, server, result.failed_path)
        assert failed == poison
        assert result.report["ids_failed"] == 3
        assert result.report["ids_deleted"] == 997
        assert result.failed_path is not None
        reasons_file = result.failed_path.with_name("failed.txt.reasons.jsonl")
        reasons = [json.loads(line) for line in reasons_file.read_text().splitlines()]
        assert {r["id"] for r in reasons} == poison
        assert all("400" in r["reason"] for r in reasons)
        requests = server.stats.requests
        again = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert again.exit_code == 1
        assert server.stats.requests == requests  # a finished job sends nothing
        # The failed file is re-feedable as input.
        refeed = await run_job(make_settings(server.base_url),
                               JobFiles(input=result.failed_path,
                                        checkpoint=tmp_path / "refeed"))
        assert refeed.report["ids_total"] == 3


async def test_canary_limit_then_resume_finishes_the_job(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """--limit deletes exactly N IDs, cutting the batch it ends in, and stops (exit 0,
    incomplete); the rerun sends that batch's rest first, and the per-run records add up."""
    ids = make_ids(1_050)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server() as server:
        canary = await run_job(make_settings(server.base_url, limit=250),
                               JobFiles(input=source))
        assert canary.exit_code == 0
        assert canary.report["complete"] is False
        assert canary.report["ids_deleted"] == 250  # never more than asked
        assert len(server.stats.acknowledged) == 250
        rest = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert rest.report["complete"] is True
        assert [r["resumed"] for r in rest.report["runs"]] == [False, True]
        assert sum(server.stats.acknowledged.values()) == len(ids)  # nothing sent twice
        assert_nothing_lost(ids, server, rest.failed_path)


async def test_files_are_owner_only_and_hold_no_secret(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Checkpoint, failed and report files are 0600; none holds the passcode; only the
    failed files hold IDs."""
    ids = make_ids(600)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(poison_ids=frozenset({ids[3]})) as server:
        result = await run_job(make_settings(server.base_url), JobFiles(input=source))
        assert_nothing_lost(ids, server, result.failed_path)
    ckpt = tmp_path / "ids.txt.bulkdelete"
    assert stat.S_IMODE(ckpt.stat().st_mode) == 0o700
    for path in ckpt.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        data = path.read_bytes()
        assert PASSCODE.encode() not in data
        if not path.name.startswith("failed"):
            assert ids[3].encode() not in data, path
            assert ids[10].encode() not in data, path


async def test_unreachable_endpoint_aborts_and_lists_nothing_as_failed(tmp_path: Path) -> None:
    """Nothing listens at the base URL (the preflight skipped, so the deletes meet it): the
    run stops with exit 3 once a batch exhausts its retries, the failed file stays empty,
    and the checkpoint is intact for a rerun."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = write_ids(tmp_path / "ids.txt", make_ids(1_000))
    with pytest.raises(TooManyErrors, match="cannot connect") as info:
        await run_job(make_settings(f"http://127.0.0.1:{port}", max_retries=2,
                                    preflight=False), JobFiles(input=source))
    assert info.value.exit_code == 3
    ckpt = tmp_path / "ids.txt.bulkdelete"
    assert read_lines(ckpt / "failed.txt") == []
    report = json.loads((ckpt / "report.json").read_text())
    assert report["exit_code"] == 3
    assert report["ids_failed"] == 0
    assert report["ids_deleted"] == 0


async def test_a_connection_outage_mid_run_pauses_and_fails_no_id(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """The server goes away mid-run (connections refused) for far longer than a batch's
    retries last, then comes back on the same port: the run pauses instead of failing IDs,
    then finishes with exit 0 and nothing lost."""
    ids = make_ids(20_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=3, latency=0.005) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        settings = make_settings(server.base_url, max_retries=2, backoff_base=0.01,
                                 backoff_cap=0.05)
        job = asyncio.create_task(run_job(settings, JobFiles(input=source)))
        async with asyncio.timeout(30):
            while server.stats.acknowledged_ids < 3_000:  # noqa: ASYNC110 - server counter
                await asyncio.sleep(0.005)
        await server.stop()
        outage_started = time.monotonic()
        await asyncio.sleep(1.5)  # ~30 retry budgets at these backoffs
        assert not job.done()
        await server.start(port=port)
        result = await asyncio.wait_for(job, timeout=60)
        assert time.monotonic() - outage_started >= 1.5
        assert result.exit_code == 0, result.report
        assert result.failed_path is not None
        assert read_lines(result.failed_path) == []
        assert result.report["ids_failed"] == 0
        assert_nothing_lost(ids, server, result.failed_path)
