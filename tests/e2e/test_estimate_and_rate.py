"""What the dry run promises and what the summary reports, for people (docs/cli.md): the
estimate uses the preflight's measured round trip when one was made (else the assumed
1 s, said so) and says "under 1 s", never "about under 1 s"; the summary never says
"0 IDs/s". Real CLI subprocesses against the fake server over loopback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import (
    ServerFactory,
    assert_nothing_lost,
    cli_run,
    delete_argv,
    make_ids,
    write_ids,
)
from tests.e2e.support import ckpt_dir


async def test_the_estimate_uses_the_preflights_round_trip_or_says_it_assumes(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    source = write_ids(tmp_path / "ids.txt", make_ids(3_000))
    async with fake_server(latency=0.3) as server:
        # The baseline's 100 lookups at 0.3 s are not what this test is about.
        code, output = await cli_run(delete_argv(source, "--dry-run", "--baseline", "0"),
                                     server.base_url)
        assert code == 0, output
        # 30 requests, 3 at a time, ~0.3 s each: about 3 s (at 1 s each it would be 10 s).
        found = re.search(r"estimate:   30 requests at concurrency 3 and ~([\d.]+) s each "
                          r"\(the preflight's round trip\): about (\d+) s", output)
        assert found, output
        measured = float(found[1])
        assert measured >= 0.3  # the server's latency, at least
        assert int(found[2]) == pytest.approx(10 * measured, abs=1)
        code, output = await cli_run(delete_argv(source, "--dry-run", "--no-preflight"),
                                     server.base_url)
        assert code == 0, output
        assert ("30 requests at concurrency 3 and ~1 s each (assumed: no preflight was made): "
                "about 10 s") in output
        code, output = await cli_run(
            delete_argv(source, "--dry-run", "--limit", "1", "--baseline", "0"), server.base_url)
        assert code == 0, output
        assert re.search(r"the preflight's round trip\): under 1 s\n", output), output
        assert "about under" not in output
        assert server.stats.acknowledged_ids == 0


async def test_a_tiny_or_slow_job_never_reports_0_ids_per_second(
    tmp_path: Path, fake_server: ServerFactory,
) -> None:
    ids = make_ids(2)
    async with fake_server(latency=1.5) as server:
        source = write_ids(tmp_path / "one.txt", ids[:1])
        code, output = await cli_run(delete_argv(source, "--no-preflight"), server.base_url)
        assert code == 0, output
        assert re.search(r"over 1 run, 0\.\d+ IDs/s", output), output  # with its decimals
        assert_nothing_lost(ids[:1], server, ckpt_dir(source) / "failed.txt")
    async with fake_server(poison_ids=frozenset(ids[1:])) as server:
        source = write_ids(tmp_path / "none.txt", ids[1:])
        code, output = await cli_run(delete_argv(source), server.base_url)
        assert code == 1, output
        assert "0 deleted, 1 failed" in output
        assert "IDs/s" not in output  # nothing deleted: no rate at all
        assert_nothing_lost(ids[1:], server, ckpt_dir(source) / "failed.txt")
