"""One API call, one classified result (docs/api.md, docs/guarantees.md §6).

The pure ``classify``/``parse_retry_after`` are tested alone, row by row of the client's
table; then the real ``ClevertapClient`` runs against aiohttp's own test server, whose
handler answers from a per-test script, so each test pins both what is sent and how the
answer — or the lack of one — is classified.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from bulkdelete.client import (
    MAX_BODY,
    MAX_RETRY_AFTER,
    ClevertapClient,
    Deleter,
    Outcome,
    classify,
    parse_retry_after,
)
from bulkdelete.regions import DELETE_PATH
from bulkdelete.settings import IdType, Secret

ACCOUNT = "TEST-ACCOUNT"
PASSCODE = "s3cr3t-PASSCODE-never-printed"


def fail_body(error: str, code: int) -> bytes:
    return json.dumps({"status": "fail", "error": error, "code": code}).encode()


# -- classify(): the table in the module docstring ---------------------------------------


def test_200_success_is_success() -> None:
    """HTTP 200 ``{"status": "success"}`` is the one success."""
    result = classify(200, b'{"status": "success"}')
    assert result.outcome is Outcome.SUCCESS
    assert result.status == 200


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (429, Outcome.THROTTLED),
        (500, Outcome.RETRYABLE),
        (503, Outcome.RETRYABLE),
        (400, Outcome.REJECTED),
        (404, Outcome.REJECTED),
        (401, Outcome.FATAL),
        (403, Outcome.FATAL),
    ],
)
def test_200_with_fail_body_is_classified_by_its_code(code: int, outcome: Outcome) -> None:
    """A 2xx whose body says ``"status": "fail"`` is a failure, classified by ``code``:
    429 paced, 5xx retried, 4xx rejected, 401/403 fatal; the error text is kept as detail."""
    result = classify(200, fail_body("something went wrong", code))
    assert result.outcome is outcome
    assert result.status == 200
    assert str(code) in result.reason
    assert result.detail == "something went wrong"


def test_200_with_fail_body_code_as_string_is_understood() -> None:
    """``"code": "429"`` (a digit string) counts like the number."""
    body = b'{"status": "fail", "error": "Too many concurrent requests", "code": "429"}'
    assert classify(200, body).outcome is Outcome.THROTTLED


@pytest.mark.parametrize(
    "body",
    [
        b'{"status": "fail", "error": "oops"}',
        b'{"status": "fail", "error": "oops", "code": null}',
        b'{"status": "fail", "error": "oops", "code": "abc"}',
        b'{"status": "fail", "error": "oops", "code": true}',
    ],
)
def test_200_with_fail_body_and_no_usable_code_is_retryable(body: bytes) -> None:
    """A fail body without a usable code cannot be blamed on the IDs: retry it."""
    result = classify(200, body)
    assert result.outcome is Outcome.RETRYABLE
    assert "no code" in result.reason


def test_200_fail_body_429_carries_retry_after() -> None:
    """Retry-After travels with an in-body 429 just as with an HTTP 429."""
    body = fail_body("Too many concurrent requests", 429)
    assert classify(200, body, retry_after=4.0).retry_after == 4.0


def test_400_is_rejected_with_the_server_detail() -> None:
    """400 means the request as sent is refused: REJECTED (bisection isolates why), with the
    server's own error text as detail and the body code noted when it differs."""
    result = classify(400, fail_body("Invalid identity: x", 400))
    assert result.outcome is Outcome.REJECTED
    assert result.status == 400
    assert result.detail == "Invalid identity: x"
    assert "code" not in result.reason  # same as the status: not repeated
    other = classify(400, fail_body("bad", 512))
    assert "code 512" in other.reason


@pytest.mark.parametrize(("status", "words"), [(401, "credentials"), (403, "not allowed")])
def test_401_and_403_are_fatal(status: int, words: str) -> None:
    """Credentials or permissions: no retry can fix them, the run must stop."""
    result = classify(status, fail_body("Invalid Credentials", status))
    assert result.outcome is Outcome.FATAL
    assert result.status == status
    assert words in result.reason


@pytest.mark.parametrize("status", [404, 405])
def test_404_and_405_are_fatal_wrong_url(status: int) -> None:
    """No delete endpoint at this address: the reason points at --region/--base-url."""
    result = classify(status, b"<html>Not Found</html>")
    assert result.outcome is Outcome.FATAL
    assert "--base-url" in result.reason


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_fatal(status: int) -> None:
    """A redirect means the wrong host: never follow it with the passcode, stop instead."""
    result = classify(status, b"")
    assert result.outcome is Outcome.FATAL
    assert "redirect" in result.reason


def test_429_is_throttled_with_retry_after() -> None:
    """HTTP 429 is paced by the limiter (THROTTLED), keeping the Retry-After it came with."""
    result = classify(429, fail_body("Too many concurrent requests", 429), retry_after=2.5)
    assert result.outcome is Outcome.THROTTLED
    assert result.retry_after == 2.5
    assert result.status == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_5xx_and_408_are_retryable(status: int) -> None:
    """Server-side and timeout statuses are retried; a JSON body is not called non-JSON."""
    result = classify(status, fail_body("Internal error", status))
    assert result.outcome is Outcome.RETRYABLE
    assert result.reason == f"HTTP {status}"


def test_503_with_html_body_is_retryable() -> None:
    """A load balancer's HTML 503 page is retryable and flagged as non-JSON."""
    result = classify(503, b"<html><body><h1>503 Service Unavailable</h1></body></html>")
    assert result.outcome is Outcome.RETRYABLE
    assert result.status == 503
    assert "non-JSON" in result.reason


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>OK</body></html>",
        b"",
        b"\xff\xfe\x00garbage",
        b'{"status": "succ',
        b'"success"',
        b"[]",
        b'{"status": "pending"}',
        b"{}",
        b'{"error": "x", "code": 200}',
        b"null",
    ],
)
def test_200_with_unrecognised_body_is_retryable(body: bytes) -> None:
    """A 200 that is not a recognisable success or fail object (HTML, empty, undecodable,
    cut-off, wrong JSON shape) is never taken as a success: it is retried."""
    result = classify(200, body)
    assert result.outcome is Outcome.RETRYABLE
    assert result.status == 200
    assert "unrecognised body" in result.reason


def test_deeply_nested_garbage_body_is_retryable_not_a_crash() -> None:
    """Any body is classified, never raised: a pathological nesting depth from a broken
    proxy is an unparseable answer (RETRYABLE), not an exception through the engine."""
    assert classify(200, b"[" * 100_000).outcome is Outcome.RETRYABLE


def test_detail_is_short_and_single_line() -> None:
    """The server's text is collapsed to one line and capped, so one answer cannot flood the
    reasons file."""
    result = classify(400, fail_body("line one\n  line two " + "x" * 1000, 400))
    assert "\n" not in result.detail
    assert result.detail.startswith("line one line two x")
    assert len(result.detail) == 200


# -- parse_retry_after --------------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [("5", 5.0), (" 7 ", 7.0), ("0.5", 0.5), ("0", 0.0)])
def test_retry_after_seconds(value: str, seconds: float) -> None:
    """delta-seconds, integer or fractional, surrounding space ignored."""
    assert parse_retry_after(value) == seconds


def test_retry_after_http_date_is_relative_to_now() -> None:
    """An HTTP date means "until then": seconds from ``now``; a past date means no wait."""
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    header = format_datetime(when, usegmt=True)
    assert parse_retry_after(header, now=when.timestamp() - 12) == pytest.approx(12.0)
    assert parse_retry_after(header, now=when.timestamp() + 60) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "Wed, 99 Foo 2015", "nan"])
def test_retry_after_garbage_is_ignored(value: str | None) -> None:
    """Anything unparseable is as if the header were absent (None), never an error."""
    assert parse_retry_after(value) is None


def test_retry_after_negative_is_zero() -> None:
    """A negative delay means "now", never a negative sleep."""
    assert parse_retry_after("-5") == 0.0


@pytest.mark.parametrize("value", ["301", "86400", "1e9", "inf"])
def test_retry_after_is_capped_at_five_minutes(value: str) -> None:
    """docs/guarantees.md §5: honour Retry-After, but never wait more than 300 s for one."""
    assert MAX_RETRY_AFTER == 300.0
    assert parse_retry_after(value) == 300.0


def test_retry_after_far_future_date_is_capped() -> None:
    """A date a day away waits only the 5-minute cap."""
    when = datetime(2030, 1, 2, tzinfo=UTC)
    header = format_datetime(when, usegmt=True)
    assert parse_retry_after(header, now=when.timestamp() - 86_400) == 300.0


# -- the real client against aiohttp's test server ----------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    """The per-test answer: ``handler`` answers every request; ``seen`` records them."""

    base_url: str
    handler: Handler | None = None
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def client(self, id_type: IdType = "guid", timeout: float = 2.0) -> ClevertapClient:
        return ClevertapClient(
            base_url=self.base_url,
            account_id=ACCOUNT,
            passcode=Secret(PASSCODE),
            id_type=id_type,
            timeout=timeout,
        )


@pytest.fixture
async def script() -> AsyncIterator[Script]:
    """A started aiohttp test server on 127.0.0.1 whose answers the test scripts."""

    async def dispatch(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        state.seen.append(Seen(request.method, request.path, dict(request.headers), body))
        assert state.handler is not None, "test forgot to script an answer"
        return await state.handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state = Script(base_url=f"http://127.0.0.1:{server.port}")
    try:
        yield state
    finally:
        state.release.set()  # let any hanging handler finish so the server closes promptly
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def answer(status: int, body: bytes | str, **headers: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        text = body.encode() if isinstance(body, str) else body
        return web.Response(status=status, body=text, headers=headers)

    return handler


def assert_no_secret(*values: object) -> None:
    for value in values:
        assert PASSCODE not in repr(value)
        assert PASSCODE not in str(value)


async def test_sends_the_documented_request(
    script: Script, session: aiohttp.ClientSession
) -> None:
    """POST to /1/delete/profiles.json with exactly the three documented headers and a
    ``{"guid": [...]}`` body carrying the IDs in order; 200 success is SUCCESS."""
    script.handler = answer(200, '{"status": "success"}', **{"Content-Type": "application/json"})
    ids = ["g-1", "g-2", "g-3"]
    result = await script.client("guid").delete_with(session, ids)

    assert result.outcome is Outcome.SUCCESS
    assert result.status == 200
    [seen] = script.seen
    assert seen.method == "POST"
    assert seen.path == DELETE_PATH == "/1/delete/profiles.json"
    assert seen.headers["X-CleverTap-Account-Id"] == ACCOUNT
    assert seen.headers["X-CleverTap-Passcode"] == PASSCODE
    assert seen.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(seen.body) == {"guid": ids}
    assert_no_secret(result)


async def test_identity_body_is_utf8_json(script: Script, session: aiohttp.ClientSession) -> None:
    """id_type identity puts the IDs under ``identity`` only (never both keys), as UTF-8."""
    script.handler = answer(200, '{"status": "success"}')
    ids = ["alice@example.com", "Zoë", "用户-7"]
    result = await script.client("identity").delete_with(session, ids)

    assert result.outcome is Outcome.SUCCESS
    [seen] = script.seen
    assert json.loads(seen.body.decode("utf-8")) == {"identity": ids}


async def test_bound_client_is_a_deleter(script: Script, session: aiohttp.ClientSession) -> None:
    """``bind(session)`` gives the engine's Deleter, sending the same request."""
    script.handler = answer(200, '{"status": "success"}')
    deleter: Deleter = script.client().bind(session)
    result = await deleter.delete(["x"])
    assert result.outcome is Outcome.SUCCESS
    assert json.loads(script.seen[0].body) == {"guid": ["x"]}


async def test_429_with_retry_after(script: Script, session: aiohttp.ClientSession) -> None:
    """An HTTP 429 is THROTTLED and carries the server's Retry-After, in seconds."""
    script.handler = answer(
        429, fail_body("Too many concurrent requests", 429), **{"Retry-After": "7"}
    )
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.THROTTLED
    assert result.status == 429
    assert result.retry_after == 7.0
    assert_no_secret(result)


async def test_429_retry_after_is_capped(script: Script, session: aiohttp.ClientSession) -> None:
    """A huge Retry-After from the wire is capped at 5 minutes before it reaches the limiter."""
    script.handler = answer(429, "", **{"Retry-After": "99999"})
    result = await script.client().delete_with(session, ["a"])
    assert result.retry_after == MAX_RETRY_AFTER


async def test_500_is_retryable(script: Script, session: aiohttp.ClientSession) -> None:
    """An HTTP 500 with CleverTap's JSON body is RETRYABLE."""
    script.handler = answer(500, fail_body("Internal error", 500))
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.RETRYABLE
    assert result.status == 500
    assert_no_secret(result)


async def test_html_503_is_retryable(script: Script, session: aiohttp.ClientSession) -> None:
    """A proxy's HTML 503 page is RETRYABLE, flagged as a non-JSON body."""
    script.handler = answer(
        503, "<html><body>Service Unavailable</body></html>", **{"Content-Type": "text/html"}
    )
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.RETRYABLE
    assert result.status == 503
    assert "non-JSON" in result.reason


async def test_400_with_detail_is_rejected(script: Script, session: aiohttp.ClientSession) -> None:
    """A 400 is REJECTED with the server's error text as detail (kept beside the failed file)
    and an ID-free reason."""
    script.handler = answer(400, fail_body("Invalid guid: bad-id", 400))
    result = await script.client().delete_with(session, ["bad-id"])
    assert result.outcome is Outcome.REJECTED
    assert result.status == 400
    assert result.detail == "Invalid guid: bad-id"
    assert "bad-id" not in result.reason
    assert_no_secret(result)


async def test_401_is_fatal(script: Script, session: aiohttp.ClientSession) -> None:
    """Invalid credentials stop the run (FATAL), and the result does not echo the passcode."""
    script.handler = answer(401, fail_body("Invalid Credentials", 401))
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.FATAL
    assert result.status == 401
    assert_no_secret(result)


async def test_200_fail_body_429_from_the_wire(
    script: Script, session: aiohttp.ClientSession
) -> None:
    """A 200 whose body is a fail with code 429 is THROTTLED, not a success."""
    script.handler = answer(200, fail_body("Too many concurrent requests", 429))
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.THROTTLED


async def test_redirect_is_fatal_and_not_followed(
    script: Script, session: aiohttp.ClientSession
) -> None:
    """A 302 is FATAL and the client does not follow it: the passcode is sent exactly once,
    to the configured URL, never to the Location."""
    script.handler = answer(302, "", Location="/elsewhere")
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.FATAL
    assert result.status == 302
    assert [seen.path for seen in script.seen] == [DELETE_PATH]


async def test_timeout_is_retryable(script: Script, session: aiohttp.ClientSession) -> None:
    """A server slower than the client's timeout gives RETRYABLE "timeout", promptly."""

    async def hang(request: web.Request) -> web.StreamResponse:
        await script.release.wait()
        return web.Response(text='{"status": "success"}')

    script.handler = hang
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await script.client(timeout=0.2).delete_with(session, ["a"])
    elapsed = loop.time() - started

    assert result.outcome is Outcome.RETRYABLE
    assert "timeout" in result.reason
    assert 0.15 <= elapsed < 1.5


async def test_timeout_while_reading_body_is_retryable(
    script: Script, session: aiohttp.ClientSession
) -> None:
    """Headers then silence: the total timeout still applies to the body (RETRYABLE)."""

    async def stall(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        response.content_length = 100
        await response.prepare(request)
        await response.write(b'{"status":')
        await script.release.wait()
        return response

    script.handler = stall
    result = await script.client(timeout=0.2).delete_with(session, ["a"])
    assert result.outcome is Outcome.RETRYABLE
    assert "timeout" in result.reason


async def test_connection_closed_before_answer_is_retryable(
    script: Script, session: aiohttp.ClientSession
) -> None:
    """The server closing the connection without answering is RETRYABLE "connection reset"."""

    async def close(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    script.handler = close
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.RETRYABLE
    assert result.reason == "connection reset"
    assert result.status is None


async def test_tcp_reset_is_retryable(script: Script, session: aiohttp.ClientSession) -> None:
    """A hard reset (RST via SO_LINGER 0) is RETRYABLE too, never an exception."""

    async def reset(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        sock = request.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        request.transport.close()
        return web.Response()

    script.handler = reset
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.RETRYABLE
    assert result.status is None


async def test_cut_off_body_is_retryable(script: Script, session: aiohttp.ClientSession) -> None:
    """A 200 that declares more body than it sends, then closes, is RETRYABLE "cut off" —
    never taken as a success even though the status was 200."""

    async def cut(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"status": "succ')
        assert request.transport is not None
        request.transport.close()
        return response

    script.handler = cut
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is Outcome.RETRYABLE
    assert "cut off" in result.reason


HUGE = 256 * 1024 * 1024  # what a runaway server sends; far beyond any real answer


def gzip_bomb() -> bytes:
    """HUGE bytes of a success-looking body, gzipped to a few hundred KiB."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"x" * 2**20
    parts = [packer.compress(b'{"status": "success", "padding": "')]
    parts += [packer.compress(chunk) for _ in range(HUGE // len(chunk))]
    return b"".join([*parts, packer.flush()])


def huge_body(how: str) -> Handler:
    """A 200 that starts like a success and goes on for HUGE bytes — chunked, with its
    Content-Length declared up front, or gzipped small; it stops once the client leaves."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        if how == "gzip":
            response.headers["Content-Encoding"] = "gzip"
            response.content_length = len(bomb)
            await response.prepare(request)
            with contextlib.suppress(ConnectionError):
                await response.write(bomb)
            return response
        if how == "content-length":
            response.content_length = HUGE
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            for _ in range(HUGE // len(chunk)):
                await response.write(chunk)
        except ConnectionError:
            pass  # the client stopped reading and closed: what a bounded client does
        return response

    bomb = gzip_bomb() if how == "gzip" else b""
    return handler


@pytest.mark.parametrize("how", ["chunked", "content-length", "gzip"])
async def test_huge_answer_is_retryable_quickly_and_memory_stays_bounded(
    script: Script, session: aiohttp.ClientSession, how: str
) -> None:
    """A 256 MiB answer is read only up to 64 KiB — also when it arrives gzipped, since
    the reads bound the decompression too: RETRYABLE "answer over 64 KiB", long before
    the body could have been received, with the memory allocated during the call (server
    and client both live in this process) a small fraction of the body."""
    script.handler = huge_body(how)
    loop = asyncio.get_running_loop()
    tracemalloc.start()
    try:
        started = loop.time()
        result = await script.client(timeout=30).delete_with(session, ["a"])
        elapsed = loop.time() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < HUGE / 32, f"{peak / 2**20:.1f} MiB allocated reading the answer"
    assert elapsed < 5
    assert result.outcome is Outcome.RETRYABLE
    assert result.reason == "answer over 64 KiB"
    assert result.status == 200


@pytest.mark.parametrize(("size", "outcome"), [
    (MAX_BODY, Outcome.REJECTED), (MAX_BODY + 1, Outcome.RETRYABLE),
])
async def test_answer_of_exactly_64_kib_is_read_one_byte_more_is_not(
    script: Script, session: aiohttp.ClientSession, size: int, outcome: Outcome
) -> None:
    """The cap is 64 KiB of body inclusive: a 400 padded to exactly that is still read and
    REJECTED; one byte more is RETRYABLE, however the bytes arrive."""
    head = fail_body("bad id", 400)[:-1] + b', "pad": "'
    body = head + b"p" * (size - len(head) - 2) + b'"}'
    assert len(body) == size

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=400, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for start in range(0, size, 7000):  # many small chunks: the cap adds them up
            await response.write(body[start:start + 7000])
        return response

    script.handler = trickle
    result = await script.client().delete_with(session, ["a"])
    assert result.outcome is outcome
    assert result.status == 400


ODD_PASSCODE = 'p\\a"ss-w\u00f6rd/+ 9'  # a backslash, a quote, non-ASCII, URL specials


def pieces(secret: str, size: int = 4) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def echo_cases() -> list[tuple[str, int, bytes]]:
    """Answers that echo ODD_PASSCODE in every form the guarantees name."""
    escaped = json.dumps(ODD_PASSCODE)[1:-1]
    lead = "x" * 195  # the echo starts just before a 200-character cut
    return [
        ("raw, across the cut", 400, fail_body(lead + ODD_PASSCODE + " tail", 400)),
        ("raw, at the start", 400, fail_body(ODD_PASSCODE + " was refused", 400)),
        ("non-string error", 400, json.dumps(
            {"status": "fail", "code": 400, "error": {"headers": {"passcode": ODD_PASSCODE}}}
        ).encode()),
        ("JSON-escaped in an HTML page", 200,
         f"<html><pre>{{\"X-CleverTap-Passcode\": \"{escaped}\"}}</pre></html>".encode()),
        ("escaped twice", 400, fail_body(json.dumps({"passcode": escaped}), 400)),
        ("cut off by the server", 400, fail_body("bad request, passcode=" + ODD_PASSCODE[:9], 400)),
    ]


@pytest.mark.parametrize(("status", "body"), [c[1:] for c in echo_cases()],
                         ids=[c[0] for c in echo_cases()])
async def test_an_echoed_passcode_never_reaches_the_detail(
    script: Script, session: aiohttp.ClientSession, status: int, body: bytes
) -> None:
    """Server text that echoes the passcode — raw, escaped, JSON-encoded, inside a
    non-string error, split by the 200-character cut or cut off by the server — keeps
    no piece of it (4 characters or more) in the Result, which goes to the reasons file."""
    script.handler = answer(status, body)
    client = ClevertapClient(base_url=script.base_url, account_id=ACCOUNT,
                             passcode=Secret(ODD_PASSCODE), id_type="guid", timeout=2.0)
    result = await client.delete_with(session, ["a"])
    assert result.outcome in (Outcome.REJECTED, Outcome.RETRYABLE)
    assert result.detail  # the server's text is kept, only the passcode is gone
    text = repr(result)
    forms = {ODD_PASSCODE, json.dumps(ODD_PASSCODE)[1:-1]}
    leaked = {piece for form in forms for piece in pieces(form) if piece in text}
    assert not leaked, result.detail


def closed_port() -> int:
    """A port that was free a moment ago: nothing listens on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def client_for(base_url: str) -> ClevertapClient:
    return ClevertapClient(base_url=base_url, account_id=ACCOUNT, passcode=Secret(PASSCODE),
                           id_type="guid", timeout=2.0)


async def test_connection_refused_is_unreached(session: aiohttp.ClientSession) -> None:
    """Nothing listening (a closed port) is UNREACHED — the request never reached a
    server, so it must pause the run, not spend an ID — with an ID-free reason naming
    where it tried and why."""
    port = closed_port()
    result = await client_for(f"http://127.0.0.1:{port}").delete_with(session, ["id-0042"])
    assert result.outcome is Outcome.UNREACHED
    assert result.reason.startswith(f"cannot connect to 127.0.0.1:{port} (")
    assert "refused" in result.reason.lower()
    assert result.status is None
    assert "id-0042" not in result.reason + result.detail
    assert_no_secret(result)


class NoSuchHost(AbstractResolver):
    """A resolver that knows no name, as a DNS server answers for a mistyped host."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


async def test_dns_failure_is_unreached() -> None:
    """A host name that does not resolve is UNREACHED too, and says it was the lookup."""
    connector = aiohttp.TCPConnector(resolver=NoSuchHost())
    async with aiohttp.ClientSession(connector=connector) as session:
        result = await client_for("http://no-such-host.invalid:8080").delete_with(
            session, ["a"]
        )
    assert result.outcome is Outcome.UNREACHED
    assert result.reason.startswith("cannot connect to no-such-host.invalid:8080 (")
    assert "not known" in result.reason
    assert_no_secret(result)


def test_client_repr_hides_the_passcode() -> None:
    """repr(client) shows where it sends, never the headers holding the passcode."""
    client = ClevertapClient(
        base_url="https://api.clevertap.com/",
        account_id=ACCOUNT,
        passcode=Secret(PASSCODE),
        id_type="guid",
        timeout=1.0,
    )
    assert_no_secret(client)
    assert "https://api.clevertap.com/1/delete/profiles.json" in repr(client)


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=100),
       st.sampled_from(["guid", "identity"]))
def test_body_is_the_json_document_whatever_the_ids(ids: list[str], id_type: IdType) -> None:
    """The request body parses to exactly {id_type: ids} for any IDs — quotes, backslashes,
    control characters and non-ASCII included (the join fast path never changes meaning)."""
    client = ClevertapClient(base_url="http://127.0.0.1:1", account_id="A",
                             passcode=Secret("p"), id_type=id_type, timeout=1)
    assert json.loads(client.body(ids)) == {id_type: ids}
