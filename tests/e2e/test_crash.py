"""Crash and signal safety with a real subprocess (docs/exit-codes.md,
docs/guarantees.md §2, docs/report.md): ``kill -9`` mid-run, SIGINT, SIGTERM, SIGHUP, then
the same command again; a graceful stop is never reported as a crash.
The fake server runs in the test's own event loop, so its record of acknowledged IDs
survives the client's death."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from bulkdelete.fake import FakeServer, FakeServerConfig
from tests.conftest import (
    PASSCODE,
    REAL_PAUSES,
    ServerFactory,
    answer_at_once,
    assert_nothing_lost,
    cli_run,
    cli_start,
    delete_argv,
    make_ids,
    wait_for_acks,
    write_ids,
)

CONCURRENCY = 3
STOP_CONCURRENCY = 4
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


def _report(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (tmp_path / "ids.txt.bulkdelete" / "report.json").read_text())
    return data


def _resume_event(output: str) -> str:
    lines = [line for line in output.splitlines() if " resume " in f" {line} "]
    assert len(lines) == 1, output
    return lines[0]


STOPS = [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 130), (signal.SIGTERM, 143),
         (signal.SIGHUP, 129)]


@pytest.mark.parametrize(("sig", "expected"), STOPS, ids=[s.name for s, _ in STOPS])
async def test_killed_or_stopped_mid_run_then_the_same_command_completes(
    sig: signal.Signals, expected: int, tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """kill -9, SIGINT, SIGTERM or SIGHUP while batches wait on retries (500s) and
    bisections (a rejected ID in many batches), then the same command again: it finishes
    the job with nothing lost (docs/guarantees.md §2).

    kill -9 is a crash: the run never ended, the resume logs what was in flight at the
    crash, and the re-sends stay within 3 × concurrency batches. A signal is a graceful
    stop, never a crash: exit 130/143/129 with the resume command printed; in-flight
    requests finish and are recorded, so the server acknowledges at most one batch per
    slot twice; the batches it abandoned are counted as re-sent after a stop
    (docs/report.md), none after a crash."""
    ids = make_ids(4_000)
    poison = frozenset(ids[41::BATCH * 5])
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(concurrency_limit=STOP_CONCURRENCY, latency=0.01, p_500=0.2,
                           poison_ids=poison, seed=7) as server:
        argv = delete_argv(source, concurrency=STOP_CONCURRENCY)
        # The product's own pauses, so that at the signal batches wait to be retried.
        proc = await cli_start(argv, server.base_url, **REAL_PAUSES)
        await wait_for_acks(server, 1_500)
        proc.send_signal(sig)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        stopped = out.decode() + err.decode()
        assert proc.returncode == expected, stopped
        assert len(server.stats.acknowledged) < len(ids), "stopped too late to prove anything"
        if sig is not signal.SIGKILL:
            assert "Resume with:" in stopped
            assert f"bulkdelete delete {source}" in stopped
            assert _report(tmp_path)["exit_code"] == expected
            assert _report(tmp_path)["complete"] is False

        answer_at_once(server)
        code, output = await cli_run(argv, server.base_url)
        assert code == 1, output  # the poison IDs failed
        failed = assert_nothing_lost(ids, server, tmp_path / "ids.txt.bulkdelete" / "failed.txt")
        assert failed == poison
        resent = _resent(server)
    report = _report(tmp_path)
    resume = _resume_event(output)
    assert report["complete"] is True
    assert report["ids_deleted"] == len(ids) - len(poison)  # counted once per position
    assert report["runs"][1]["resumed"] is True
    assert PASSCODE not in stopped + output
    bound = 3 * STOP_CONCURRENCY * BATCH
    if sig is signal.SIGKILL:
        assert report["runs"][0]["exit_code"] is None, report  # the killed run never ended
        assert resent <= bound, resent
        assert "in_flight_at_crash=" in resume, resume
        assert "in_flight_at_stop" not in output
        assert 0 < report["resent_after_crash"] <= bound, report
        assert report["resent_after_stop"] == 0, report
        assert f"{report['resent_after_crash']:,} IDs re-sent after a crash" in output
    else:
        assert report["runs"][0]["exit_code"] == expected
        assert resent <= STOP_CONCURRENCY * BATCH, resent
        assert "in_flight_at_crash" not in output, resume
        assert "in_flight_at_stop=" in resume, resume
        assert report["resent_after_crash"] == 0, report
        assert all(run["resent_after_crash"] == 0 for run in report["runs"]), report
        assert 0 < report["resent_after_stop"] <= bound, "nothing was abandoned"
        assert f"{report['resent_after_stop']:,} IDs re-sent after a stop" in output
        assert "after a crash" not in output


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
        # Slowed, so the first run still holds the lock however long the second takes to
        # start on a loaded machine.
        server.reconfigure(dataclasses.replace(server.config, latency=1.0))
        code, output = await cli_run(argv, server.base_url)
        assert code == 2, output
        assert "locked by another run" in output
        first.send_signal(signal.SIGINT)
        await asyncio.wait_for(first.communicate(), timeout=30)
        answer_at_once(server)
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
    ids = make_ids(10_000)
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

        answer_at_once(server)
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
        answer_at_once(server)  # the rerun's pace proves nothing here

        await _rerun_to_completion(argv, server, ids, tmp_path)
        report = json.loads((tmp_path / "ids.txt.bulkdelete" / "report.json").read_text())
        assert report["complete"] is True
        assert report["ids_deleted"] == len(ids)
        counted = report["resent_after_crash"]
        assert _resent(server) <= counted <= 3 * CONCURRENCY * BATCH, (_resent(server), counted)


def _server_resends(server: FakeServer) -> int:
    """IDs the server received more than once: what the interruptions cost."""
    return sum(count - 1 for count in server.stats.received.values() if count > 1)


async def test_resent_after_crash_counts_a_resumed_run_that_is_killed_too(
    tmp_path: Path, fake_server: ServerFactory
) -> None:
    """kill -9, then kill -9 of the resume before its first snapshot, then a run to the
    end: the report's resent_after_crash matches what the server received twice, the
    killed resume's re-sends included."""
    ids = make_ids(10_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    argv = delete_argv(source)
    async with fake_server(latency=0.1, concurrency_limit=0) as server:
        proc = await cli_start(argv, server.base_url)
        await wait_for_acks(server, 3_000)
        await asyncio.sleep(0.05)  # half a request's latency: all three slots in flight
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        seen = server.stats.requests
        proc = await cli_start(argv, server.base_url)
        async with asyncio.timeout(30):
            # The resume's first requests are the killed run's batches, sent again.
            while server.stats.requests < seen + 3:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        # Its re-sends answered, three more batches in flight, its first snapshot not due.
        await asyncio.sleep(0.25)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        answer_at_once(server)
        code, output = await cli_run(argv, server.base_url)
        assert code == 0, output
        assert_nothing_lost(ids, server, tmp_path / "ids.txt.bulkdelete" / "failed.txt")
        report = json.loads((tmp_path / "ids.txt.bulkdelete" / "report.json").read_text())
        resent = _server_resends(server)
        assert resent >= 600, resent  # each kill left three batches behind
        # A batch can be journalled as sent in the instant before a kill and never reach
        # the server, or the reverse; a window of microseconds, so one batch at most.
        assert abs(report["resent_after_crash"] - resent) <= 100, (report, resent)
        assert report["resent_after_stop"] == 0
