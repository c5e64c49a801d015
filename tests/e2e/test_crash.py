"""Crash and signal safety with a real subprocess (docs/exit-codes.md,
docs/guarantees.md §2): ``kill -9`` mid-run, SIGINT, SIGTERM, then the same command again.
The fake server runs in the test's own event loop, so its record of acknowledged IDs
survives the client's death."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from bulkdelete.fake import FakeServer, FakeServerConfig
from tests.conftest import (
    PASSCODE,
    ServerFactory,
    assert_nothing_lost,
    cli_run,
    cli_start,
    delete_argv,
    make_ids,
    wait_for_acks,
    write_ids,
)

CONCURRENCY = 3
BATCH = 100


async def _rerun_to_completion(argv: list[str], server: FakeServer, ids: list[str],
                               tmp_path: Path) -> str:
    """The same command again: it must finish the job (exit 0) with nothing lost."""
    code, output = await cli_run(argv, server.base_url)
    assert code == 0, output
    assert_nothing_lost(ids, server, tmp_path / "ids.txt.bulkdelete" / "failed.txt")
    return output


def _resent(server: FakeServer) -> int:
    """IDs the server acknowledged more than once: the cost of the interruption."""
    return sum(count - 1 for count in server.stats.acknowledged.values() if count > 1)


async def test_kill_9_mid_run_then_rerun_completes_within_the_resend_bound(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """kill -9 at an arbitrary instant leaves a checkpoint the same command resumes from;
    the resume re-sends at most 3 × concurrency batches (docs/guarantees.md §2)."""
    ids = make_ids(30_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.01) as server:
        argv = delete_argv(source)
        proc = await cli_start(argv, server.base_url)
        await wait_for_acks(server, 8_000)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        acked_before = len(server.stats.acknowledged)
        assert acked_before < len(ids), "killed too late to prove anything"

        output = await _rerun_to_completion(argv, server, ids, tmp_path)
        resent = _resent(server)
        assert resent <= 3 * CONCURRENCY * BATCH, resent
        report = json.loads((tmp_path / "ids.txt.bulkdelete" / "report.json").read_text())
        assert report["complete"] is True
        assert report["ids_deleted"] == len(ids)  # counted once per position
        assert report["runs"][0]["exit_code"] is None, report  # the killed run never ended
        assert report["runs"][1]["resumed"] is True
        # The checkpoint's own account of the re-sends agrees with the bound, too.
        assert report["resent_after_crash"] <= 3 * CONCURRENCY * BATCH
        assert PASSCODE not in output


async def test_sigint_stops_gracefully_with_130_and_prints_the_resume_command(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """SIGINT: in-flight requests finish and are recorded, exit 130, the resume command is
    printed; the resume re-sends at most one batch per in-flight slot."""
    ids = make_ids(20_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.02) as server:
        argv = delete_argv(source)
        proc = await cli_start(argv, server.base_url)
        await wait_for_acks(server, 3_000)
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        output = out.decode() + err.decode()
        assert proc.returncode == 130, output
        assert "Resume with:" in output
        assert f"bulkdelete delete {source}" in output
        assert len(server.stats.acknowledged) < len(ids)
        report = json.loads((tmp_path / "ids.txt.bulkdelete" / "report.json").read_text())
        assert report["exit_code"] == 130
        assert report["complete"] is False

        await _rerun_to_completion(argv, server, ids, tmp_path)
        assert _resent(server) <= CONCURRENCY * BATCH


async def test_sigterm_and_sighup_exit_143_and_129(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """SIGTERM → 143 and SIGHUP → 129, each a graceful stop the same command resumes."""
    ids = make_ids(20_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.02) as server:
        argv = delete_argv(source)
        for sig, expected, acks in ((signal.SIGTERM, 143, 2_000), (signal.SIGHUP, 129, 6_000)):
            proc = await cli_start(argv, server.base_url)
            await wait_for_acks(server, acks)
            proc.send_signal(sig)
            await asyncio.wait_for(proc.communicate(), timeout=30)
            assert proc.returncode == expected
        await _rerun_to_completion(argv, server, ids, tmp_path)


async def test_second_run_on_a_locked_checkpoint_is_refused(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Two runs on one checkpoint at once: the second is refused with exit 2."""
    ids = make_ids(20_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.02) as server:
        argv = delete_argv(source)
        first = await cli_start(argv, server.base_url)
        await wait_for_acks(server, 500)
        code, output = await cli_run(argv, server.base_url)
        assert code == 2, output
        assert "locked by another run" in output
        first.send_signal(signal.SIGINT)
        await asyncio.wait_for(first.communicate(), timeout=30)
        await _rerun_to_completion(argv, server, ids, tmp_path)


async def test_second_ctrl_c_exits_at_once_and_the_checkpoint_still_resumes(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """A first SIGINT waits for requests in flight (here, slow ones); a second SIGINT
    exits 130 at once, and the same command then resumes and completes."""
    ids = make_ids(3_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.02) as server:
        argv = delete_argv(source, "--timeout", "30")
        proc = await cli_start(argv, server.base_url)
        await wait_for_acks(server, 600)
        # Every request from now on takes 20 s: the graceful stop would wait that long.
        server.reconfigure(FakeServerConfig(account_id=server.config.account_id,
                                            passcode=server.config.passcode,
                                            concurrency_limit=CONCURRENCY, latency=20.0))
        await asyncio.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        await asyncio.sleep(0.3)
        assert proc.returncode is None  # still finishing what is in flight
        loop = asyncio.get_running_loop()
        second = loop.time()
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=10)
        assert proc.returncode == 130, out.decode() + err.decode()
        assert loop.time() - second < 3
        assert "second interrupt" in err.decode()

        server.reconfigure(FakeServerConfig(account_id=server.config.account_id,
                                            passcode=server.config.passcode,
                                            concurrency_limit=CONCURRENCY))
        await _rerun_to_completion(argv, server, ids, tmp_path)


async def _wait_for_rejections(server: FakeServer, at_least: int) -> None:
    async with asyncio.timeout(60):
        while server.stats.rejected < at_least:  # noqa: ASYNC110 - another component's counter
            await asyncio.sleep(0.005)


@pytest.mark.parametrize("concurrency", [2, 8])
async def test_kill_9_while_batches_wait_on_bisections_stays_within_the_resend_bound(
    tmp_path: Path, fake_server: ServerFactory, concurrency: int
) -> None:
    """One rejected ID in every batch: batches queue for the one bisection at a time, each
    already sent once. kill -9 then rerun: the IDs the server received in both runs stay
    within 3 × concurrency batches (docs/guarantees.md §2), whatever the mix of rejections."""
    ids = make_ids(15_000)
    # Poison in the first 90 batches: more than any lookahead window holds.
    poison = frozenset(ids[37::BATCH][:90])
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=concurrency, latency=0.002,
                           poison_ids=poison) as server:
        argv = delete_argv(source, concurrency=concurrency)
        proc = await cli_start(argv, server.base_url)
        # Enough first requests refused that, without a bound, the whole lookahead window
        # would be queued behind the bisections.
        await _wait_for_rejections(server, 12 * concurrency)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        before = server.stats.received.copy()
        assert len(before) < len(ids), "killed too late to prove anything"

        code, output = await cli_run(argv, server.base_url)
        assert code == 1, output  # the poison IDs are listed as failed
        failed = assert_nothing_lost(ids, server, tmp_path / "ids.txt.bulkdelete" / "failed.txt")
        assert failed == poison
        again = sum(1 for i, n in server.stats.received.items() if i in before and n > before[i])
        print(f"concurrency {concurrency}: {again} IDs received again after kill -9 "
              f"(allowance {3 * concurrency * BATCH})")
        assert again <= 3 * concurrency * BATCH, again
        report = json.loads((tmp_path / "ids.txt.bulkdelete" / "report.json").read_text())
        assert report["resent_after_crash"] <= 3 * concurrency * BATCH


async def _wait_for_requests(server: FakeServer, more_than: int) -> None:
    async with asyncio.timeout(60):
        while server.stats.requests <= more_than:  # noqa: ASYNC110 - another component's counter
            await asyncio.sleep(0.005)


async def test_resent_after_crash_counts_what_the_killed_runs_left_at_the_server(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """Two kill -9 in a row while most requests get a 500 (batches wait in backoff, each
    already sent once), then a healthy rerun. ``resent_after_crash`` counts only what the
    killed runs left at the server: never more than 3 × concurrency batches of IDs, never
    fewer than the IDs the server acknowledged twice (docs/report.md)."""
    ids = make_ids(20_000)
    source = write_ids(tmp_path / "ids.txt", ids)

    def config(p_500: float) -> FakeServerConfig:
        return FakeServerConfig(account_id=server.config.account_id,
                                passcode=server.config.passcode,
                                concurrency_limit=CONCURRENCY, latency=0.02, p_500=p_500,
                                seed=7)

    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.02) as server:
        argv = delete_argv(source, "--no-preflight")
        proc = await cli_start(argv, server.base_url)
        await wait_for_acks(server, 2_000)
        server.reconfigure(config(p_500=0.9))
        for _ in range(2):
            # Long enough for every worker's batch to get its 500 and wait to retry.
            await _wait_for_requests(server, server.stats.requests + 4 * 2 * CONCURRENCY)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            assert proc.returncode == -signal.SIGKILL
            proc = await cli_start(argv, server.base_url)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        server.reconfigure(config(p_500=0.0))
        assert len(server.stats.acknowledged) < len(ids), "killed too late to prove anything"

        await _rerun_to_completion(argv, server, ids, tmp_path)
        report = json.loads((tmp_path / "ids.txt.bulkdelete" / "report.json").read_text())
        assert report["complete"] is True
        assert report["ids_deleted"] == len(ids)
        counted = report["resent_after_crash"]
        assert _resent(server) <= counted <= 3 * CONCURRENCY * BATCH, (_resent(server), counted)
