"""A graceful stop is never reported as a crash (docs/guarantees.md §2, docs/report.md):
batches a SIGINT abandons mid-retry or mid-bisection are re-sent by the resume and counted
as ``resent_after_stop``; only a killed run's leftovers are ``resent_after_crash``. Real
subprocesses against the shipped fake server."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from bulkdelete.fake import FakeServer
from tests.conftest import (
    ServerFactory,
    assert_nothing_lost,
    cli_run,
    cli_start,
    delete_argv,
    make_ids,
    wait_for_acks,
    write_ids,
)

CONCURRENCY = 4
BATCH = 100


def _report(source: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (source.with_name(source.name + ".bulkdelete") / "report.json").read_text())
    return data


def _resume_event(output: str) -> str:
    lines = [line for line in output.splitlines() if " resume " in f" {line} "]
    assert len(lines) == 1, output
    return lines[0]


async def _stopped_then_resumed(
    tmp_path: Path, server: FakeServer, ids: list[str], stop: signal.Signals, expected: int,
) -> tuple[str, dict[str, Any]]:
    source = write_ids(tmp_path / "ids.txt", ids)
    argv = delete_argv(source, "--concurrency", str(CONCURRENCY))
    proc = await cli_start(argv, server.base_url)
    await wait_for_acks(server, 1_500)
    proc.send_signal(stop)
    await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == expected
    code, output = await cli_run(argv, server.base_url)
    assert code == 1, output  # the poison IDs failed
    assert_nothing_lost(ids, server, tmp_path / "ids.txt.bulkdelete" / "failed.txt")
    return output, _report(source)


async def test_batches_abandoned_by_sigint_are_re_sent_after_a_stop_not_a_crash(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """SIGINT while batches wait on retries (500s) and bisections (a rejected ID in many
    batches): the resume's log says what was left in flight at the stop, never at a
    crash; the report and the summary count those IDs as re-sent after a stop, and
    ``resent_after_crash`` stays 0."""
    ids = make_ids(4_000)
    poison = frozenset(ids[41::BATCH * 5])
    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.01, p_500=0.2,
                           poison_ids=poison, seed=7) as server:
        output, report = await _stopped_then_resumed(tmp_path, server, ids, signal.SIGINT, 130)
    resume = _resume_event(output)
    assert "in_flight_at_crash" not in output, resume
    assert "in_flight_at_stop=" in resume, resume
    assert report["resent_after_crash"] == 0, report
    assert all(run["resent_after_crash"] == 0 for run in report["runs"]), report
    assert report["runs"][0]["exit_code"] == 130
    assert report["resent_after_stop"] > 0, "nothing was abandoned: the test proves nothing"
    assert report["resent_after_stop"] <= CONCURRENCY * BATCH * 3
    assert f"{report['resent_after_stop']:,} IDs re-sent after a stop" in output
    assert "after a crash" not in output


async def test_kill_9_is_still_counted_as_a_crash(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """kill -9 is a crash: the resume logs what was in flight at the crash, and the
    re-sent IDs are counted as after a crash, none as after a stop."""
    ids = make_ids(4_000)
    poison = frozenset(ids[41::BATCH * 5])
    async with fake_server(concurrency_limit=CONCURRENCY, latency=0.01, p_500=0.2,
                           poison_ids=poison, seed=7) as server:
        output, report = await _stopped_then_resumed(tmp_path, server, ids, signal.SIGKILL,
                                                     -signal.SIGKILL)
    resume = _resume_event(output)
    assert "in_flight_at_crash=" in resume, resume
    assert "in_flight_at_stop" not in output
    assert report["resent_after_crash"] > 0, report
    assert report["resent_after_stop"] == 0, report
    assert report["runs"][0]["exit_code"] is None
    assert f"{report['resent_after_crash']:,} IDs re-sent after a crash" in output
