"""A ``--limit N`` canary deletes exactly N IDs (docs/cli.md, docs/checkpoint.md): the
batch the limit ends in is cut, its head recorded as such, and the next run sends that
batch's rest first. Real subprocesses against the fake server over loopback; every run
ends with the nothing-lost check against the server's record."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from tests.conftest import (
    CLI,
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
from tests.e2e.support import ckpt_dir, report_of


async def test_limit_150_deletes_150_ids_and_the_rest_follows_exactly_once(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """Batches of 100: --limit 150 deletes 150 IDs (the plan says so), --limit 30 the next
    30 from inside the cut batch, and the run without a limit the rest: the server
    acknowledges every ID exactly once, and the report's counts are the server's."""
    ids = make_ids(1_000)
    poison = frozenset({ids[120]})  # a failure inside the cut batch's head
    source = write_ids(tmp_path / "ids.txt", ids)
    async with fake_server(poison_ids=poison) as server:
        code, output = await cli_run(delete_argv(source, "--limit", "150", "--dry-run"),
                                     server.base_url)
        assert code == 0, output
        assert "deletes 150 IDs (1,000 IDs remain in the job)" in output
        code, output = await cli_run(delete_argv(source, "--limit", "150"), server.base_url)
        assert code == 1, output  # one ID of the job failed
        acked = server.stats.acknowledged
        assert sum(acked.values()) == 149
        assert set(acked) == set(ids[:150]) - poison
        report = report_of(source)
        assert (report["ids_deleted"], report["ids_failed"]) == (149, 1)
        assert report["complete"] is False
        code, output = await cli_run(
            [*CLI, "verify", str(source), "--id-type", "guid", "--all", "--no-progress"],
            server.base_url)
        assert code == 0, output  # the cut batch's head is looked up with the rest
        checked = json.loads((ckpt_dir(source) / "verify.json").read_text())
        assert (checked["checked"], checked["gone"]) == (149, 149)

        code, output = await cli_run(delete_argv(source, "--limit", "30"), server.base_url)
        assert code == 1, output
        assert sum(acked.values()) == 179
        assert set(acked) == set(ids[:180]) - poison

        code, output = await cli_run(delete_argv(source), server.base_url)
        assert code == 1, output
        report = report_of(source)
        assert report["complete"] is True
        assert (report["ids_deleted"], report["ids_failed"]) == (999, 1)
        assert max(acked.values()) == 1
        assert assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt") == poison


async def test_a_canary_killed_inside_its_cut_batch_resumes_with_nothing_lost(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    """kill -9 while the canary's last, cut batch may be in flight: the killed canary sent
    nothing past its 250 IDs; the same canary command sends exactly 250 more (its holes
    first), so what is done is a prefix of the input; the whole job then finishes with
    nothing lost."""
    ids = make_ids(2_000)
    source = write_ids(tmp_path / "ids.txt", ids)
    argv = delete_argv(source, "--limit", "250", "--batch-size", "20")
    async with fake_server(latency=0.2, concurrency_limit=0) as server:
        proc = await cli_start(argv, server.base_url)
        await wait_for_acks(server, 100)  # well before the 250th: the canary is mid-run
        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), timeout=30)
        acked = server.stats.acknowledged
        assert set(acked) <= set(ids[:250])
        answer_at_once(server)
        code, output = await cli_run(argv, server.base_url)
        assert code == 0, output
        report = report_of(source)
        assert report["runs"][-1]["ids_deleted"] == 250
        assert set(acked) == set(ids[:report["ids_deleted"]])
        code, output = await cli_run(delete_argv(source, "--batch-size", "20"),
                                     server.base_url)
        assert code == 0, output
        assert report_of(source)["ids_deleted"] == len(ids)
        assert_nothing_lost(ids, server, ckpt_dir(source) / "failed.txt")
