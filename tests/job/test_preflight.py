"""The preflight (docs/cli.md): one Get User Profile sent through the engine's Sender, over
loopback to a small scripted aiohttp server, so each kind of answer is met for real."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from bulkdelete.engine import StopRequest
from bulkdelete.errors import AbortError, ConfirmationRefused, FatalApiError
from bulkdelete.job.preflight import preflight
from tests.conftest import ACCOUNT, PASSCODE, make_settings, serving


@asynccontextmanager
async def answering(*answers: tuple[int, str], hang: bool = False
                    ) -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A server answering each request with the next of ``answers`` (the last repeats);
    yields its base URL and the requests it saw."""
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request)
        if hang:
            await asyncio.sleep(3600)
        status, body = answers[min(len(seen), len(answers)) - 1]
        return web.Response(status=status, text=body, content_type="application/json")

    async with serving(handler) as base_url:
        yield base_url, seen


FOUND = '{"status": "success", "record": {"name": "x"}}'
NOT_FOUND = '{"status": "fail", "error": "Profile not found", "code": 404}'


@pytest.mark.parametrize("answer", [
    (200, FOUND), (200, NOT_FOUND), (200, '{"status": "success"}'),
    (200, '{"status": "fail", "error": "User not found"}')])
async def test_a_200_success_or_a_clear_not_found_accepts_the_credentials(
    answer: tuple[int, str],
) -> None:
    """One GET of /1/profile.json for a random 32-hex identity, with the account's
    headers; an answer only CleverTap having read the credentials gives (a 200 success,
    or a clear not-found) accepts them."""
    async with answering(answer) as (url, seen):
        said = await preflight(make_settings(url))
    host = url.split("//")[1]
    assert said == f"credentials accepted by {host}"
    (request,) = seen
    assert (request.method, request.path) == ("GET", "/1/profile.json")
    assert list(request.query) == ["identity"]
    assert len(request.query["identity"]) == 32
    assert request.headers["X-CleverTap-Account-Id"] == ACCOUNT
    assert request.headers["X-CleverTap-Passcode"] == PASSCODE


@pytest.mark.parametrize("status", [401, 403])
async def test_401_or_403_is_fatal_and_says_nothing_was_written(status: int) -> None:
    body = f'{{"status": "fail", "error": "Invalid credentials", "code": {status}}}'
    async with answering((status, body)) as (url, seen):
        with pytest.raises(FatalApiError, match=f"refused the check.*{status}") as info:
            await preflight(make_settings(url))
    assert info.value.exit_code == 3
    assert "nothing was deleted or written" in str(info.value)
    assert len(seen) == 1
    assert PASSCODE not in str(info.value)


async def test_429_and_5xx_are_retried_like_a_delete_then_accepted() -> None:
    """The Sender's rules: a 429 is paced and costs no retry, a 5xx is retried; the answer
    that follows decides."""
    answers = ((429, ""), (500, ""), (503, "<html>"), (200, NOT_FOUND))
    async with answering(*answers) as (url, seen):
        said = await preflight(make_settings(url))
    assert said.startswith("credentials accepted")
    assert len(seen) == 4


@pytest.mark.parametrize("answer", [
    (500, ""), (502, "<html><body>502 Bad Gateway</body></html>"),
    (200, '{"status": "fail", "error": "Internal error", "code": 500}'),
    (200, '{"status": "fail", "error": "Profile not found", "code": 500}')])
async def test_a_server_error_that_never_ends_means_the_check_could_not_be_made(
    answer: tuple[int, str],
) -> None:
    """The server answers, only never well: after the usual retries the check could not
    be made (exit 3, nothing written), and the message names --no-preflight."""
    async with answering(answer) as (url, seen):
        with pytest.raises(AbortError, match="could not be made") as info:
            await preflight(make_settings(url, max_retries=2))
    message = str(info.value)
    assert info.value.exit_code == 3
    assert "credentials accepted" not in message
    assert "--no-preflight" in message
    assert "nothing was deleted or written" in message
    assert len(seen) == 3


@pytest.mark.parametrize("answer", [
    (400, '{"status": "fail", "error": "bad", "code": 400}'),
    (200, '{"status": "fail", "error": "Account not found", "code": 404}'),
    (202, '{"status": "success"}')])
async def test_an_answer_that_says_nothing_about_the_credentials_accepts_nothing(
    answer: tuple[int, str],
) -> None:
    async with answering(answer) as (url, _):
        with pytest.raises(AbortError, match="could not be made") as info:
            await preflight(make_settings(url, max_retries=1))
    assert info.value.exit_code == 3


async def test_a_server_that_never_answers_cannot_be_reached() -> None:
    """Every request times out: "cannot reach HOST", exit 3, never "accepted"."""
    async with answering((200, FOUND), hang=True) as (url, seen):
        with pytest.raises(AbortError, match="cannot reach") as info:
            await preflight(make_settings(url, timeout=0.2, max_retries=2))
    assert info.value.exit_code == 3
    assert url.split("//")[1] in str(info.value)
    assert len(seen) == 3


async def test_a_check_without_an_answer_says_once_that_it_is_waiting() -> None:
    """With the default --timeout a server that never answers holds the check for minutes
    before "cannot reach": the first attempt without an answer says so at once, naming
    the reason and when it gives up, and the retries do not repeat it."""
    async with answering((200, FOUND), hang=True) as (url, _seen):
        with capture_logs() as events, pytest.raises(AbortError, match="cannot reach"):
            await preflight(make_settings(url, timeout=0.2, max_retries=2))
    waiting = [e for e in events if e["event"] == "preflight_waiting"]
    assert len(waiting) == 1, events
    assert "timeout after 0.2s" in waiting[0]["why"]
    assert "--stall-timeout" in waiting[0]["gives_up_after"]


async def test_a_server_that_resets_every_connection_cannot_be_reached() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.transport.abort()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(AbortError, match="cannot reach") as info:
            await preflight(make_settings(f"http://127.0.0.1:{port}", max_retries=2))
    finally:
        server.close()
    assert info.value.exit_code == 3


async def test_a_busy_account_gives_up_after_the_stall_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An account that answers 429 to everything: the check gives up after
    --stall-timeout (exit 3), saying the account has answered "too many concurrent
    requests" that long and that another job may be using it."""
    busy = '{"status": "fail", "error": "Too many concurrent requests", "code": 429}'
    async with answering((429, busy)) as (url, seen):
        started = asyncio.get_running_loop().time()
        with pytest.raises(AbortError) as info:
            await preflight(make_settings(url, stall_timeout=1.0))
        took = asyncio.get_running_loop().time() - started
    message = str(info.value)
    assert info.value.exit_code == 3
    assert "too many concurrent requests" in message
    assert "another job" in message
    assert "nothing was deleted or written" in message
    assert 0.9 < took < 3.0
    assert len(seen) >= 1


async def test_a_stop_during_the_preflight_refuses_without_waiting_for_it() -> None:
    """A server that never answers, a request timeout of 30 s: a stop ends the check at
    once, as a refusal."""
    stop = StopRequest()
    async with answering((200, FOUND), hang=True) as (url, seen):
        task = asyncio.create_task(preflight(make_settings(url, timeout=30.0), stop))
        async with asyncio.timeout(5):
            while not seen:  # noqa: ASYNC110 -- the server's record has no event to wait on
                await asyncio.sleep(0.01)
        stop.request(130, "SIGINT")
        with pytest.raises(ConfirmationRefused, match="SIGINT"):
            await asyncio.wait_for(task, 1)


def _names(requests: Sequence[web.Request]) -> list[str]:
    return [r.query.get("identity", "") for r in requests]


async def test_each_preflight_asks_for_a_new_random_identity() -> None:
    async with answering((200, NOT_FOUND)) as (url, seen):
        await preflight(make_settings(url))
        await preflight(make_settings(url))
    first, second = _names(seen)
    assert first != second
