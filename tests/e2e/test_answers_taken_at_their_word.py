"""End to end, in-process: the real job against servers that answer in ways the fake
cannot (docs/guarantees.md, "answers taken at their word"). Nothing is counted deleted
that the server did not acknowledge; every ID is acknowledged or in the failed file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web

from bulkdelete.errors import TooManyErrors
from bulkdelete.job import run_job
from bulkdelete.settings import JobFiles
from tests.client.stale import stale_server
from tests.conftest import make_ids, make_settings, read_lines, serving, write_ids


@pytest.mark.parametrize(("split", "concurrency"), [(False, 1), (True, 16)])
async def test_a_stray_answer_after_a_500_acknowledges_nothing(
    tmp_path: Path, split: bool, concurrency: int,
) -> None:
    """A server that answers every request 500 and then writes an extra 200 success on the
    same connection — later, or (``split``) right behind the 500's body, which comes in two
    pieces, while other requests are waiting for a connection: the run counts nothing
    deleted, and, as no request of the run ever succeeded, it stops (exit 3) with nothing
    marked failed, ready to be rerun."""
    source = write_ids(tmp_path / "ids.txt", make_ids(600 if split else 250))
    async with stale_server(split=split) as server:
        with pytest.raises(TooManyErrors, match="no request has succeeded") as info:
            await run_job(
                make_settings(server.base_url, max_retries=2, concurrency=concurrency,
                              batch_size=5, preflight=False),
                JobFiles(input=source))
    assert info.value.exit_code == 3
    ckpt = tmp_path / "ids.txt.bulkdelete"
    report = json.loads((ckpt / "report.json").read_text())
    assert report["ids_deleted"] == 0, report
    assert read_lines(ckpt / "failed.txt") == []
    assert server.requests >= 3  # a batch tried three times


async def test_unprocessed_ids_and_other_2xx_successes_are_never_counted_deleted(
    tmp_path: Path,
) -> None:
    """One batch's answer is a 200 success listing its IDs as unprocessed, another's a 202
    success: neither counts as deleted; both batches end in the failed file with the
    reason, every other ID is acknowledged, nothing lost."""
    ids = make_ids(600)
    unprocessed, accepted = set(ids[300:400]), set(ids[400:500])
    acknowledged: set[str] = set()

    async def handler(request: web.Request) -> web.Response:
        sent = json.loads(await request.read())["guid"]
        if unprocessed & set(sent):
            return web.json_response({"status": "success", "unprocessed": sent})
        if accepted & set(sent):
            return web.json_response({"status": "success"}, status=202)
        acknowledged.update(sent)
        return web.json_response({"status": "success"})

    source = write_ids(tmp_path / "ids.txt", ids)
    async with serving(handler) as base_url:
        result = await run_job(make_settings(base_url, max_retries=2, preflight=False),
                               JobFiles(input=source))
    assert result.exit_code == 1, result.report
    assert result.failed_path is not None
    failed = set(read_lines(result.failed_path))
    assert failed == unprocessed | accepted
    assert acknowledged == set(ids) - failed
    assert result.report["ids_deleted"] == 400
    reasons = (result.failed_path.parent / (result.failed_path.name + ".reasons.jsonl"))
    text = reasons.read_text() if reasons.exists() else json.dumps(result.report)
    assert "unprocessed" in text
    assert "202" in text
