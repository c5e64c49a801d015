"""The fake CleverTap API on loopback: deletes with fault knobs, and Get User Profile.

Its record of acknowledged IDs proves the nothing-lost guarantee: an ID is recorded only
once a *complete success answer* for it was sent; a reset or cut-off answer records nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import struct
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import IO

from aiohttp import web

import bulkdelete.fake.answers as answers
from bulkdelete.fake.config import (
    ENDPOINT,
    FAULTS,
    PROFILE_ENDPOINT,
    FakeServerConfig,
    FakeServerStats,
    InFlight,
    check_loopback,
)
from bulkdelete.fake.profiles import ProfileBook

# Grace a stop gives in-flight requests to finish before they are cancelled. Short: a hung
# request (p_hang) must not hold up a test's teardown for hang_seconds.
_SHUTDOWN_GRACE = 0.5

# The faults that are a whole answer: body, status, content type.
_CANNED = {
    "p_500": (answers.INTERNAL, 500, "application/json"),
    "p_503_html": (answers.HTML_503, 503, "text/html"),
    "p_fail_body": (answers.FAIL_BODY, 200, "application/json"),
}


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


class FakeServer:
    """``async with FakeServer(config) as server:`` starts and stops it."""

    def __init__(self, config: FakeServerConfig) -> None:
        self.stats = FakeServerStats()
        self._book = ProfileBook(self.stats)
        self._runner: web.ServerRunner | None = None
        self._site: web.TCPSite | None = None
        self._record: IO[str] | None = None
        self._record_path: Path | None = None
        self.reconfigure(config)

    @property
    def config(self) -> FakeServerConfig:
        return self._config

    @property
    def base_url(self) -> str:
        if self._site is None:
            raise RuntimeError("the fake server is not started")
        return self._site.name

    def reconfigure(self, config: FakeServerConfig) -> None:
        """Requests being handled finish under the old config; the dice are reseeded."""
        self._config = config
        self._rng = random.Random(config.seed)
        if self._runner is not None:
            self._open_record(config.record_path)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            raise RuntimeError("the fake server is already started")
        bind_host = check_loopback(host)
        # The record first: a path that cannot be opened fails before anything listens.
        self._open_record(self._config.record_path)
        # A client abandoning a hung request frees its slot, as at the real API.
        server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_GRACE)
        await runner.setup()
        site = web.TCPSite(runner, bind_host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            self._open_record(None)
            raise
        self._runner, self._site = runner, site
        return self.base_url

    async def stop(self) -> None:
        runner, self._runner, self._site = self._runner, None, None
        if runner is not None:
            await runner.cleanup()
        self._open_record(None)

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _open_record(self, path: Path | None) -> None:
        """Append to ``path`` (None closes it), so restarts keep history."""
        if path == self._record_path:
            return
        if self._record is not None:
            self._record.close()
        self._record, self._record_path = None, None
        if path is not None:
            # Owner-only: the record holds profile IDs, which are personal data.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._record = open(fd, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
            self._record_path = path

    async def _succeed(self, request: web.BaseRequest, ids: list[str]) -> web.StreamResponse:
        """Recorded means answered."""
        response = _json(answers.SUCCESS)
        try:
            # Sent here rather than by aiohttp after the handler returns, so that a client
            # gone before its answer could be written is not counted as acknowledged.
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            return response  # aiohttp sees the closed transport too, and stays quiet
        stats, config = self.stats, self._config
        stats.accepted += 1
        stats.acknowledged_ids += len(ids)
        if config.keep_ids:
            stats.acknowledged.update(ids)
        if config.remember_deletes:
            self._book.deleted(ids)
        if self._record is not None:
            self._record.write("\n".join(ids) + "\n")
            # Flushed per request (no fsync): a test reading the file after a run sees it all.
            self._record.flush()
        return response

    def _throttle(self, config: FakeServerConfig) -> web.Response:
        self.stats.throttled += 1
        response = _json(answers.TOO_MANY, 429)
        if config.retry_after_header is not None:
            response.headers["Retry-After"] = config.retry_after_header
        elif config.retry_after is not None:
            response.headers["Retry-After"] = f"{config.retry_after:g}"
        return response

    async def _wait_latency(self, config: FakeServerConfig) -> None:
        delay = config.latency
        if config.latency_jitter:
            delay += self._rng.uniform(0.0, config.latency_jitter)
        if delay > 0.0:
            await asyncio.sleep(delay)

    def _roll(self, config: FakeServerConfig) -> str | None:
        if not any(getattr(config, name) for name in FAULTS):
            return None
        r = self._rng.random()
        for name in FAULTS:
            r -= getattr(config, name)
            if r < 0:
                return name
        return None

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        # Order: path, method, credentials (401), Content-Type (400), admission (429), body
        # and poison IDs (400), the fault die, latency, the answer (docs/fake-server.md).
        stats = self.stats
        config = self._config  # one config per request, even if reconfigure() runs meanwhile
        lookup = request.path == PROFILE_ENDPOINT
        if not lookup and request.path != ENDPOINT:
            return _json(answers.NOT_FOUND, 404)
        if request.method != ("GET" if lookup else "POST"):
            return _json(answers.METHOD_NOT_ALLOWED, 405)
        if lookup:
            stats.profile_requests += 1
        else:
            stats.requests += 1
        headers = request.headers
        if (headers.get("X-CleverTap-Account-Id") != config.account_id
                or headers.get("X-CleverTap-Passcode") != config.passcode):
            stats.unauthorized += 1
            return _json(answers.UNAUTHORIZED, 401)
        if lookup:
            return await self._limited(stats.lookups_in_flight, config,
                                       partial(self._lookup, request, config))
        if request.content_type != "application/json":
            stats.rejected += 1
            return _json(answers.BAD_CONTENT_TYPE, 400)
        return await self._limited(stats.deletes_in_flight, config,
                                   partial(self._admitted, request, config))

    async def _limited(self, gauge: InFlight, config: FakeServerConfig,
                       handle: Callable[[], Awaitable[web.StreamResponse]],
                       ) -> web.StreamResponse:
        """The limit is on requests in flight, each endpoint its own, as at the real API
        (docs/api.md); over it, a 429."""
        if not gauge.admit(config.concurrency_limit):
            return self._throttle(config)
        try:
            return await handle()
        finally:
            gauge.now -= 1  # also when cancelled because the client went away

    async def _lookup(self, request: web.BaseRequest,
                      config: FakeServerConfig) -> web.StreamResponse:
        """Get User Profile; no fault dice."""
        await self._wait_latency(config)
        body, status = self._book.answer(request, config)
        return _json(body, status)

    async def _admitted(self, request: web.BaseRequest,
                        config: FakeServerConfig) -> web.StreamResponse:
        stats = self.stats
        ids = answers.parse_ids(await request.read())
        if isinstance(ids, bytes):
            stats.rejected += 1
            return _json(ids, 400)
        if config.keep_ids:
            stats.received.update(ids)
        if not config.poison_ids.isdisjoint(ids):
            stats.rejected += 1
            if config.echo_passcode:
                return _json(answers.echo_passcode(config.passcode), 400)
            return _json(answers.POISON, 400)
        fault = self._roll(config)
        if fault == "p_429":  # answered at once, as a throttle is at the real API
            return self._throttle(config)
        if fault is not None:
            stats.faults += 1
        await self._wait_latency(config)
        if fault in _CANNED:
            body, status, kind = _CANNED[fault]
            return web.Response(body=body, status=status, content_type=kind)
        if fault == "p_hang":
            await asyncio.sleep(config.hang_seconds)
        if fault in (None, "p_hang"):
            return await self._succeed(request, ids)
        if fault == "p_huge_body":
            return await _huge_body(request, config.huge_body_bytes)
        _cut_off(request, reset=fault == "p_reset")
        # aiohttp's attempt to send this on the closed transport is a ConnectionError it
        # treats as a premature client disconnection: quietly, nothing reaches the client.
        return web.Response(status=204)


async def _huge_body(request: web.BaseRequest, size: int) -> web.StreamResponse:
    """``size`` bytes (0: endless) until the client hangs up; never recorded."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    sent = 0
    with contextlib.suppress(ConnectionError):  # the client stopped reading and left
        await response.write(answers.HUGE_HEAD)
        while not size or sent < size:
            await response.write(answers.HUGE_CHUNK)
            sent += len(answers.HUGE_CHUNK)
        await response.write_eof()
    return response


def _cut_off(request: web.BaseRequest, *, reset: bool) -> None:
    """A TCP reset, or a 200 promising more body than follows; never recorded."""
    transport = request.transport
    if transport is None:
        return
    if reset:
        # Linger 0 turns close into a TCP RST: a real "connection reset by peer".
        with contextlib.suppress(OSError):
            transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        # Bypass aiohttp's writer; close() (unlike abort) flushes what was written first.
        transport.write(answers.TRUNCATED)
        transport.close()
