"""The shipped fake server over loopback: what it accepts, what it records, what it injects.

The end-to-end tests prove "nothing lost" from this server's record of acknowledged IDs, so
the tests here pin above all *when* an ID is recorded: on a complete success answer, never
on a reset, a cut-off body, a rejection or an abandoned hang.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bulkdelete.fake_server import (
    ENDPOINT,
    FakeServer,
    FakeServerConfig,
    add_cli_arguments,
    run_from_args,
)

HEADERS = {
    "X-CleverTap-Account-Id": "FAKE-ACCOUNT",
    "X-CleverTap-Passcode": "fake-passcode",
    "Content-Type": "application/json; charset=utf-8",
}
ROOT = Path(__file__).resolve().parents[1]

ServerFactory = Callable[..., AbstractAsyncContextManager[FakeServer]]


@pytest.fixture
def serve() -> ServerFactory:
    """``async with serve(**config) as server``: a started server on 127.0.0.1, port 0."""

    @asynccontextmanager
    async def factory(**knobs: Any) -> AsyncIterator[FakeServer]:
        async with FakeServer(FakeServerConfig(**knobs)) as server:
            yield server

    return factory


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def post(
    session: aiohttp.ClientSession,
    server: FakeServer,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, Any]:
    """POST ``body`` (raw bytes, or JSON-encoded); the status and decoded JSON (or text)."""
    data = body if isinstance(body, bytes) else aiohttp.JsonPayload(body)
    async with session.post(
        server.base_url + ENDPOINT,
        data=data,
        headers=HEADERS if headers is None else headers,
        timeout=aiohttp.ClientTimeout(total=timeout),
    ) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def eventually(condition: Callable[[], bool], within: float = 2.0) -> None:
    """Wait until the server-side ``condition`` holds (the server notices disconnects late)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


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
        await eventually(lambda: server.stats.in_flight == 1)
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
    """Bodies section 2 of the spec rules out get a 400 fail body, and record nothing."""
    async with serve() as server:
        status, answer = await post(session, server, body)
    assert status == 400
    assert answer["status"] == "fail"
    assert answer["code"] == 400
    assert server.stats.rejected == 1
    assert server.stats.acknowledged_ids == 0
    assert server.stats.in_flight == 0


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
    assert server.stats.in_flight == 0


async def test_concurrency_limit_zero_is_unlimited(
    serve: ServerFactory, session: aiohttp.ClientSession
) -> None:
    """concurrency_limit=0 never throttles."""
    async with serve(concurrency_limit=0, latency=0.1) as server:
        answers = await asyncio.gather(*(post(session, server, {"guid": ["a"]}) for _ in range(8)))
    assert {status for status, _ in answers} == {200}
    assert server.stats.peak_in_flight == 8


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
    assert server.stats.in_flight == 0


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
        await eventually(lambda: server.stats.in_flight == 0)
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
        await eventually(lambda: server.stats.in_flight == 0)
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
        await eventually(lambda: server.stats.in_flight == 1)
        started = loop.time()
    assert loop.time() - started < 2.0
    with pytest.raises(aiohttp.ClientError):
        await hung
    assert server.stats.acknowledged_ids == 0
    assert server.stats.in_flight == 0


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
        await eventually(lambda: server.stats.in_flight == 1)
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


def test_config_refuses_impossible_settings() -> None:
    """Probabilities outside [0, 1], or fault probabilities adding up beyond 1, are refused."""
    with pytest.raises(ValueError, match="probability"):
        FakeServerConfig(p_500=1.5)
    with pytest.raises(ValueError, match="add up"):
        FakeServerConfig(p_500=0.6, p_reset=0.6)
    with pytest.raises(ValueError, match="negative"):
        FakeServerConfig(latency=-1)


def test_passcode_is_not_in_the_config_repr() -> None:
    """The passcode never reaches a log through a repr of the config."""
    assert "s3cret" not in repr(FakeServerConfig(passcode="s3cret"))


async def test_non_loopback_host_is_refused() -> None:
    """The server has no TLS and no real credentials: it listens on loopback only."""
    with pytest.raises(ValueError, match="loopback"):
        await FakeServer(FakeServerConfig()).start(host="0.0.0.0")  # noqa: S104 - refused
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--host", "192.168.1.10"])


CLI = (
    "import argparse, sys\n"
    "from bulkdelete.fake_server import add_cli_arguments, run_from_args\n"
    "p = argparse.ArgumentParser()\n"
    "add_cli_arguments(p)\n"
    "sys.exit(run_from_args(p.parse_args(sys.argv[1:])))\n"
)


async def test_cli_serves_until_sigterm(session: aiohttp.ClientSession, tmp_path: Path) -> None:
    """The CLI prints its URL, serves with the env passcode, and on SIGTERM exits 0 with a
    summary; the passcode never appears in its output."""
    record = tmp_path / "record.txt"
    poison = tmp_path / "poison.txt"
    poison.write_text("bad\n\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "MY_PASSCODE": "cli-s3cret",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CLI,
        "--port",
        "0",
        "--passcode-env",
        "MY_PASSCODE",
        "--record",
        str(record),
        "--poison-file",
        str(poison),
        "--retry-after",
        "1",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        prefix = "fake server listening on "
        assert line.startswith(prefix + "http://127.0.0.1:"), line
        url = line.removeprefix(prefix).strip()
        headers = {**HEADERS, "X-CleverTap-Passcode": "cli-s3cret"}
        async with session.post(url + ENDPOINT, json={"guid": ["x", "y"]}, headers=headers) as r:
            assert r.status == 200
        async with session.post(url + ENDPOINT, json={"guid": ["bad"]}, headers=headers) as r:
            assert r.status == 400
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "accepted=1 acknowledged_ids=2" in out.decode()
    assert record.read_text().splitlines() == ["x", "y"]
    assert b"cli-s3cret" not in line.encode() + out + err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--passcode-env", "SURELY_UNSET_PASSCODE_VAR"], "SURELY_UNSET_PASSCODE_VAR"),
        (["--poison-file", "/nonexistent/poison.txt"], "poison.txt"),
        (["--p-500", "0.7", "--p-reset", "0.7"], "add up"),
    ],
)
def test_cli_bad_settings_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Settings the server cannot run with are a one-line message and exit 2, no traceback."""
    monkeypatch.delenv("SURELY_UNSET_PASSCODE_VAR", raising=False)
    parser = argparse.ArgumentParser()
    add_cli_arguments(parser)
    assert run_from_args(parser.parse_args(args)) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


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
        await eventually(lambda: server.stats.in_flight == 0)
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
