"""The shipped fake server over loopback: what it accepts, what it records, what it rejects.

The end-to-end tests prove "nothing lost" from this server's record of acknowledged IDs, so
the tests here pin above all *when* an ID is recorded: on a complete success answer, never
on a reset, a cut-off body, a rejection or an abandoned hang.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bulkdelete.fake import ENDPOINT
from tests.conftest import ServerFactory
from tests.fake.conftest import HEADERS, eventually, post

SUCCESS = {"status": "success"}


async def test_success_records_ids_in_counter_and_file(
    serve: ServerFactory, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """A success answer records its IDs in the Counter and appends them to the record file."""
    record = tmp_path / "acknowledged.txt"
    async with serve(record_path=record) as server:
        assert await post(session, server, {"guid": ["a", "b"]}) == (200, SUCCESS)
        assert await post(session, server, {"identity": ["b", "c"]}) == (200, SUCCESS)
        # Flushed per request: readable while the server runs.
        assert record.read_text().splitlines() == ["a", "b", "b", "c"]
    assert server.stats.acknowledged == {"a": 1, "b": 2, "c": 1}
    assert (server.stats.requests, server.stats.accepted) == (2, 2)
    assert server.stats.acknowledged_ids == 4
    assert record.stat().st_mode & 0o077 == 0  # IDs are personal data: owner-only


async def test_record_file_is_appended_across_restarts(
    serve: ServerFactory, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """The record is opened in append mode, so a rerun's server adds to the earlier history."""
    record = tmp_path / "acknowledged.txt"
    record.write_text("earlier\n")
    async with serve(record_path=record) as server:
        await post(session, server, {"guid": ["x"]})
    assert record.read_text().splitlines() == ["earlier", "x"]


async def test_keep_ids_false_counts_without_keeping(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """With keep_ids=False (10M-ID benchmarks) the counts go on but no ID is kept in memory."""
    async with serve(keep_ids=False) as server:
        await post(session, server, {"guid": ["a", "b", "c"]})
    assert server.stats.acknowledged_ids == 3
    assert not server.stats.acknowledged


@pytest.mark.parametrize(
    "headers",
    [
        {**HEADERS, "X-CleverTap-Passcode": "wrong"},
        {**HEADERS, "X-CleverTap-Account-Id": "OTHER"},
        {"Content-Type": "application/json"},
    ],
    ids=["wrong-passcode", "wrong-account", "no-credentials"],
)
async def test_bad_credentials_are_401_and_record_nothing(
    serve: ServerFactory, session: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    """Wrong or missing credentials get 401 "Invalid Credentials" and nothing is recorded."""
    async with serve() as server:
        status, body = await post(session, server, {"guid": ["a"]}, headers=headers)
    assert status == 401
    assert body == {"status": "fail", "error": "Invalid Credentials", "code": 401}
    assert server.stats.unauthorized == 1
    assert server.stats.acknowledged_ids == 0


async def test_credentials_are_checked_before_concurrency(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """A bad passcode is a 401 even when the server is full: the client must stop, not wait."""
    async with serve(concurrency_limit=1, latency=0.3) as server:
        busy = asyncio.create_task(post(session, server, {"guid": ["a"]}))
        await eventually(lambda: server.stats.deletes_in_flight.now == 1)
        bad = {**HEADERS, "X-CleverTap-Passcode": "wrong"}
        assert (await post(session, server, {"guid": ["b"]}, headers=bad))[0] == 401
        assert (await busy)[0] == 200


@pytest.mark.parametrize(
    "body",
    [
        {"guid": ["a"], "identity": ["b"]},
        {},
        {"guid": [str(i) for i in range(101)]},
        {"guid": []},
        {"guid": ["a", 1]},
        {"guid": [""]},
        {"guid": ["a\nb"]},
        {"identity": 7},
        ["a"],
        b'{"guid": ["a"',
        b"\xff\xfe",
    ],
    ids=[
        "both-keys",
        "neither-key",
        "101-ids",
        "empty-list",
        "non-string",
        "empty-string",
        "line-break",
        "not-a-list",
        "not-an-object",
        "unparseable",
        "undecodable",
    ],
)
async def test_malformed_bodies_are_400(
    serve: ServerFactory, session: aiohttp.ClientSession, body: Any
) -> None:
    """Bodies the API rules out (docs/api.md) get a 400 fail body, and record nothing."""
    async with serve() as server:
        status, answer = await post(session, server, body)
    assert status == 400
    assert answer["status"] == "fail"
    assert answer["code"] == 400
    assert server.stats.rejected == 1
    assert server.stats.acknowledged_ids == 0
    assert server.stats.deletes_in_flight.now == 0


async def test_wrong_content_type_is_400(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """The body must be sent as application/json."""
    headers = {**HEADERS, "Content-Type": "text/plain"}
    async with serve() as server:
        status, _ = await post(session, server, b'{"guid": ["a"]}', headers=headers)
    assert status == 400
    assert server.stats.acknowledged_ids == 0


async def test_exactly_100_ids_and_a_single_string_are_accepted(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """100 IDs is the maximum, not beyond it; a bare string is one ID, as the API allows."""
    hundred = [f"id-{i}" for i in range(100)]
    async with serve() as server:
        assert await post(session, server, {"guid": hundred}) == (200, SUCCESS)
        assert await post(session, server, {"identity": "solo"}) == (200, SUCCESS)
    assert server.stats.acknowledged["solo"] == 1
    assert server.stats.acknowledged_ids == 101


async def test_other_paths_are_404_and_other_methods_405(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """Only POST /1/delete/profiles.json exists."""
    async with serve() as server:
        async with session.post(server.base_url + "/1/upload", json={}, headers=HEADERS) as r:
            assert r.status == 404
        async with session.get(server.base_url + ENDPOINT, headers=HEADERS) as r:
            assert r.status == 405
    assert server.stats.requests == 0


async def test_poison_id_is_400_and_records_nothing(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """A request carrying a poison ID is rejected whole: none of its IDs is recorded."""
    async with serve(poison_ids=frozenset({"bad"}), p_500=1.0) as server:
        # The poison check comes before the fault dice.
        status, body = await post(session, server, {"identity": ["good", "bad"]})
        assert status == 400
        assert body["error"].startswith("Invalid identity")
        server.reconfigure(dataclasses.replace(server.config, p_500=0.0))
        assert await post(session, server, {"identity": ["good"]}) == (200, SUCCESS)
    assert server.stats.acknowledged == {"good": 1}
    assert (server.stats.rejected, server.stats.faults) == (1, 0)


async def test_concurrency_limit_throttles_the_excess(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """With the limit in flight, each further request gets 429 at once, outside the count."""
    limit = 3
    async with serve(concurrency_limit=limit, latency=0.2) as server:
        answers = await asyncio.gather(
            *(post(session, server, {"guid": [f"id-{i}"]}) for i in range(limit + 3))
        )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * limit + [429] * 3
    throttled = [body for status, body in answers if status == 429]
    assert throttled[0] == {
        "status": "fail",
        "error": "Too many concurrent requests",
        "code": 429,
    }
    assert server.stats.peak_in_flight == limit
    assert server.stats.throttled == 3
    assert server.stats.acknowledged_ids == limit
    assert server.stats.deletes_in_flight.now == 0


async def test_concurrency_limit_zero_is_unlimited(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """concurrency_limit=0 never throttles."""
    async with serve(concurrency_limit=0, latency=0.1) as server:
        answers = await asyncio.gather(*(post(session, server, {"guid": ["a"]}) for _ in range(8)))
    assert {status for status, _ in answers} == {200}
    assert server.stats.peak_in_flight == 8
