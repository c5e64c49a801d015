"""The fake server's injected faults: which answer each one gives and that none of them
records an ID the client could not know was deleted; latency, 429 pacing, reconfiguring a
running server, and reproducible dice."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import aiohttp
import pytest

from bulkdelete.fake import ENDPOINT, FakeServerConfig
from tests.conftest import ServerFactory
from tests.fake.conftest import HEADERS, eventually, post

SUCCESS = {"status": "success"}


@pytest.mark.parametrize(
    ("knob", "status", "body"),
    [
        (
            "p_500",
            500,
            {"status": "fail", "error": "Internal Server Error (injected fault)", "code": 500},
        ),
        (
            "p_fail_body",
            200,
            {"status": "fail", "error": "Internal error (injected fault)", "code": 500},
        ),
        ("p_503_html", 503, None),
    ],
)
async def test_fault_answers(
    serve: ServerFactory,
    session: aiohttp.ClientSession,
    knob: str,
    status: int,
    body: dict[str, Any] | None,
) -> None:
    """Each answering fault at p=1.0 gives its answer, counts as a fault, records nothing."""
    async with serve(**{knob: 1.0}) as server:
        got_status, got_body = await post(session, server, {"guid": ["a"]})
    assert got_status == status
    if body is None:  # the load balancer's page
        assert isinstance(got_body, str)
        assert "<html>" in got_body
    else:
        assert got_body == body
    assert server.stats.faults == 1
    assert server.stats.acknowledged_ids == 0


async def test_reset_gives_no_answer_and_records_nothing(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """p_reset drops the connection: the client gets a connection error, nothing is recorded."""
    async with serve(p_reset=1.0) as server:
        with pytest.raises(aiohttp.ClientConnectionError):
            await post(session, server, {"guid": ["a"]})
    assert server.stats.faults == 1
    assert server.stats.acknowledged_ids == 0
    assert server.stats.deletes_in_flight.now == 0


async def test_truncated_body_fails_the_read_and_records_nothing(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """p_truncated sends a 200 head and half its body: reading it fails, nothing is recorded."""
    async with (
        serve(p_truncated=1.0) as server,
        session.post(server.base_url + ENDPOINT, json={"guid": ["a"]}, headers=HEADERS) as response,
    ):
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert server.stats.faults == 1
    assert server.stats.acknowledged_ids == 0


async def test_abandoned_hang_frees_its_slot_and_records_nothing(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """A client that times out on a hung request frees the server's slot; no ID is recorded."""
    async with serve(p_hang=1.0, hang_seconds=30.0, concurrency_limit=1) as server:
        with pytest.raises(asyncio.TimeoutError):
            await post(session, server, {"guid": ["a"]}, timeout=0.2)
        await eventually(lambda: server.stats.deletes_in_flight.now == 0)
        server.reconfigure(dataclasses.replace(server.config, p_hang=0.0))
        assert await post(session, server, {"guid": ["b"]}) == (200, SUCCESS)
    assert server.stats.acknowledged == {"b": 1}
    assert server.stats.faults == 1


async def test_request_abandoned_during_latency_is_not_recorded(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """An ID counts as acknowledged only once its answer is sent: a client that gave up
    during the latency never got one, so the server records nothing for it."""
    async with serve(latency=0.5) as server:
        with pytest.raises(asyncio.TimeoutError):
            await post(session, server, {"guid": ["a"]}, timeout=0.1)
        await eventually(lambda: server.stats.deletes_in_flight.now == 0)
    assert server.stats.acknowledged_ids == 0
    assert server.stats.accepted == 0


async def test_hang_that_ends_succeeds(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """A hang is a slow success: once hang_seconds pass, the IDs are answered and recorded."""
    async with serve(p_hang=1.0, hang_seconds=0.05) as server:
        assert await post(session, server, {"guid": ["a"]}) == (200, SUCCESS)
    assert server.stats.acknowledged == {"a": 1}


async def test_stop_cancels_hung_requests_promptly(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """stop() does not wait hang_seconds for a hung request, and records none of its IDs."""
    loop = asyncio.get_running_loop()
    async with serve(p_hang=1.0, hang_seconds=30.0) as server:
        hung = asyncio.create_task(post(session, server, {"guid": ["a"]}))
        await eventually(lambda: server.stats.deletes_in_flight.now == 1)
        started = loop.time()
    assert loop.time() - started < 2.0
    with pytest.raises(aiohttp.ClientError):
        await hung
    assert server.stats.acknowledged_ids == 0
    assert server.stats.deletes_in_flight.now == 0


async def test_latency_delays_the_answer(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """Each admitted request takes at least `latency` seconds."""
    loop = asyncio.get_running_loop()
    async with serve(latency=0.15, latency_jitter=0.05) as server:
        started = loop.time()
        await post(session, server, {"guid": ["a"]})
    assert loop.time() - started >= 0.15


@pytest.mark.parametrize(("retry_after", "header"), [(2.0, "2"), (0.5, "0.5"), (None, None)])
async def test_429_storm_carries_retry_after_when_configured(
    serve: ServerFactory,
    session: aiohttp.ClientSession,
    retry_after: float | None,
    header: str | None,
) -> None:
    """p_429 throttles whatever the load; Retry-After is sent only when configured."""
    async with (
        serve(p_429=1.0, retry_after=retry_after) as server,
        session.post(server.base_url + ENDPOINT, json={"guid": ["a"]}, headers=HEADERS) as response,
    ):
        assert response.status == 429
        assert response.headers.get("Retry-After") == header
    assert server.stats.throttled == 1
    assert server.stats.faults == 0
    assert server.stats.acknowledged_ids == 0


async def test_load_based_429_carries_retry_after(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """The concurrency 429 carries Retry-After too when configured."""
    async with serve(concurrency_limit=1, latency=0.3, retry_after=1.0) as server:
        busy = asyncio.create_task(post(session, server, {"guid": ["a"]}))
        await eventually(lambda: server.stats.deletes_in_flight.now == 1)
        async with session.post(
            server.base_url + ENDPOINT, json={"guid": ["b"]}, headers=HEADERS
        ) as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "1"
        await busy


async def test_reconfigure_storm_then_heal(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """reconfigure() swaps faults on a running server: a 500 storm, then healthy again."""
    async with serve() as server:
        server.reconfigure(FakeServerConfig(p_500=1.0))
        assert (await post(session, server, {"guid": ["a"]}))[0] == 500
        server.reconfigure(FakeServerConfig())
        assert await post(session, server, {"guid": ["a"]}) == (200, SUCCESS)
        server.reconfigure(FakeServerConfig(passcode="rotated"))
        assert (await post(session, server, {"guid": ["a"]}))[0] == 401


async def test_seed_makes_the_fault_dice_reproducible(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """Two servers with the same seed inject the same faults in the same order."""

    async def statuses() -> list[int]:
        async with serve(p_500=0.5, seed=42) as server:
            return [(await post(session, server, {"guid": ["a"]}))[0] for _ in range(20)]

    first = await statuses()
    assert first == await statuses()
    assert set(first) == {200, 500}


async def test_huge_body_goes_on_until_the_client_leaves_and_records_nothing(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """p_huge_body answers 200 with a body that starts like a success and never ends: the
    client can read as much as it likes; once it hangs up the handler ends, its slot is
    freed, and nothing is recorded (the answer never completed)."""
    async with serve(p_huge_body=1.0) as server:
        async with session.post(
            server.base_url + ENDPOINT, json={"guid": ["a"]}, headers=HEADERS
        ) as response:
            assert response.status == 200
            head = await response.content.readexactly(4 * 2**20)  # 4 MiB and counting
            assert head.startswith(b'{"status": "success", "padding": "xxx')
            response.close()
        await eventually(lambda: server.stats.deletes_in_flight.now == 0)
    assert server.stats.faults == 1
    assert server.stats.acknowledged_ids == 0


async def test_huge_body_of_a_set_length_ends(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """With huge_body_bytes set, the body ends after the head and that many bytes."""
    async with (
        serve(p_huge_body=1.0, huge_body_bytes=3 * 65536) as server,
        session.post(server.base_url + ENDPOINT, json={"guid": ["a"]}, headers=HEADERS) as response,
    ):
        body = await response.read()
    assert body == b'{"status": "success", "padding": "' + b"x" * 3 * 65536
    assert server.stats.acknowledged_ids == 0


@pytest.mark.parametrize("header", ["0", "-5", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"])
async def test_retry_after_header_is_sent_verbatim(
    serve: ServerFactory, session: aiohttp.ClientSession, header: str
) -> None:
    """retry_after_header puts any text in Retry-After, ahead of retry_after."""
    async with (
        serve(p_429=1.0, retry_after=3.0, retry_after_header=header) as server,
        session.post(server.base_url + ENDPOINT, json={"guid": ["a"]}, headers=HEADERS) as response,
    ):
        assert response.status == 429
        assert response.headers["Retry-After"] == header


async def test_echo_passcode_quotes_it_across_the_200th_character(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """echo_passcode makes a poison 400's error text quote the passcode raw, starting
    before and ending after its 200th character, and again JSON-encoded."""
    passcode = 'pass"word\\x'
    async with serve(poison_ids=frozenset({"bad"}), passcode=passcode,
                     echo_passcode=True) as server:
        headers = {**HEADERS, "X-CleverTap-Passcode": passcode}
        status, body = await post(session, server, {"guid": ["bad"]}, headers=headers)
    assert status == 400
    error = body["error"]
    assert error.startswith("Invalid identity")
    assert error.index(passcode) < 200 < error.index(passcode) + len(passcode)
    assert json.dumps(passcode) in error
