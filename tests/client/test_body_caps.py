"""The 64 KiB cap on an answer's body (docs/guarantees.md §4): a runaway answer, chunked,
sized or gzipped, is read only up to the cap, quickly and in bounded memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
import zlib

import aiohttp
import pytest
from aiohttp import web

from bulkdelete.client import MAX_BODY, Outcome
from tests.client.support import Handler, Script, fail_body

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
