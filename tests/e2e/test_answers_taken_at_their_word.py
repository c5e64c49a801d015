"""End to end, in-process: the real job against servers that answer in ways the fake
cannot (docs/guarantees.md, "answers taken at their word"). Nothing is counted deleted
that the server did not acknowledge; every ID is acknowledged or in the failed file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bulkdelete.errors import TooManyErrors
from bulkdelete.job import run_job
from bulkdelete.settings import JobFiles
from tests.client.stale import stale_server
from tests.conftest import make_ids, make_settings, read_lines, write_ids


async def test_a_stray_answer_after_a_500_acknowledges_nothing(tmp_path: Path) -> None:
    """A server that answers every request 500 and then writes an extra 200 success on the
    same connection: the run counts nothing deleted, and, as no request of the run ever
    succeeded, it stops (exit 3) with nothing marked failed, ready to be rerun."""
    source = write_ids(tmp_path / "ids.txt", make_ids(250))
    async with stale_server() as server:
        with pytest.raises(TooManyErrors, match="no request has succeeded") as info:
            await run_job(
                make_settings(server.base_url, max_retries=2, concurrency=1, preflight=False),
                JobFiles(input=source))
    assert info.value.exit_code == 3
    ckpt = tmp_path / "ids.txt.bulkdelete"
    report = json.loads((ckpt / "report.json").read_text())
    assert report["ids_deleted"] == 0, report
    assert read_lines(ckpt / "failed.txt") == []
    assert server.requests >= 3  # a batch tried three times
