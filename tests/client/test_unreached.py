"""No answer, or half of one (docs/guarantees.md §6): timeouts, closed and reset
connections and cut-off bodies are RETRYABLE; a server never reached (refused, no DNS)
is UNREACHED.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bulkdelete.client import Outcome
from tests.client.support import Script, assert_no_secret, client_for


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


def closed_port() -> int:
    """A port that was free a moment ago: nothing listens on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


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
