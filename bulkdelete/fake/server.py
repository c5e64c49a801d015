"""A CleverTap-compatible ``POST /1/delete/profiles.json`` on loopback, with fault knobs, and
the ``GET /1/profile.json`` that verify and the preflight ask (:mod:`~bulkdelete.fake.profiles`).

The demo, the end-to-end tests and the benchmarks run the real pipeline against this server
(docs/fake-server.md). It checks headers and bodies the way the real API does
(docs/api.md), enforces the per-account concurrency limit (429 "Too many concurrent
requests" beyond it, never a per-second rate), and can inject every failure the client must
survive: JSON 500s, HTML 503s from a "load balancer", connection resets, hangs,
2xx-with-fail bodies, cut-off bodies, endless bodies, 429 storms (with any Retry-After text),
IDs the API rejects and error texts that echo the passcode.

Its record of acknowledged IDs is what proves the nothing-lost guarantee
(docs/guarantees.md §1): an ID is recorded only when the server sent a *complete success
answer* for it. A reset or a cut-off answer records nothing, because the client cannot know
that such a request succeeded and must re-send it.

Per request the order is: path and method → credentials (401) → Content-Type (400) →
concurrency admission (429) → body validation (400) → poison IDs (400) → fault dice →
latency → answer. Everything up to and including the poison check is answered at once; the
injected 429 is answered at once too, as a throttle is in the real API; every other answer
waits the configured latency first.

The handler sits directly on aiohttp's low-level ``web.Server`` (no router, no middlewares, no
access log) so that at zero latency the server costs as little as possible in benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import struct
from pathlib import Path
from types import TracebackType
from typing import IO

from aiohttp import web

from bulkdelete.fake import answers
from bulkdelete.fake.config import (
    ENDPOINT,
    PROFILE_ENDPOINT,
    FakeServerConfig,
    FakeServerStats,
    Fault,
    check_loopback,
    dice_table,
)
from bulkdelete.fake.profiles import ProfileBook

# Grace a stop gives in-flight requests to finish before they are cancelled. Short: a hung
# request (p_hang) must not hold up a test's teardown for hang_seconds.
_SHUTDOWN_GRACE = 0.5


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


class FakeServer:
    """The fake endpoint. ``async with FakeServer(config) as server:`` starts and stops it."""

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
        """``http://127.0.0.1:PORT``; only once started."""
        if self._site is None:
            raise RuntimeError("the fake server is not started")
        return self._site.name

    def reconfigure(self, config: FakeServerConfig) -> None:
        """Swap the configuration; requests already being handled finish under the old one.

        The fault dice are reseeded from the new config, so what follows a reconfigure is
        reproducible on its own.
        """
        self._config = config
        self._rng = random.Random(config.seed)
        self._dice = dice_table(config)
        if self._runner is not None:
            self._open_record(config.record_path)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on loopback (port 0 picks a free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("the fake server is already started")
        bind_host = check_loopback(host)
        # The record first: a path that cannot be opened fails before anything listens.
        self._open_record(self._config.record_path)
        server = web.Server(
            self._handle,
            # Cancel a handler when its client goes away, so that a client abandoning a hung
            # request frees the concurrency slot as it would at the real API.
            handler_cancellation=True,
            access_log=None,
        )
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
        """Stop listening; in-flight requests get a short grace, then are cancelled."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self._site = None
        self._open_record(None)

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _open_record(self, path: Path | None) -> None:
        """Point the record at ``path`` (None closes it); appends, so restarts keep history."""
        if path == self._record_path and (path is None or self._record is not None):
            return
        if self._record is not None:
            self._record.close()
            self._record = None
        self._record_path = path
        if path is not None:
            # Owner-only: the record holds profile IDs, which are personal data.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._record = open(fd, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()

    def _acknowledge(self, ids: list[str]) -> None:
        """Count a success answer's IDs: the nothing-lost proof rests on this record."""
        stats = self.stats
        stats.accepted += 1
        stats.acknowledged_ids += len(ids)
        if self._config.keep_ids:
            stats.acknowledged.update(ids)
        if self._config.remember_deletes:
            self._book.deleted(ids)
        record = self._record
        if record is not None:
            record.write("\n".join(ids) + "\n")
            # Flushed per request (no fsync): a test reading the file after a run sees it all.
            record.flush()

    async def _succeed(self, request: web.BaseRequest, ids: list[str]) -> web.StreamResponse:
        """Send the success answer, then record its IDs: recorded means answered."""
        response = _json(answers.SUCCESS)
        try:
            # Sent here rather than by aiohttp after the handler returns, so that a client
            # gone before its answer could be written is not counted as acknowledged.
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            return response  # aiohttp sees the closed transport too, and stays quiet
        self._acknowledge(ids)
        return response

    def _throttle(self, config: FakeServerConfig) -> web.Response:
        self.stats.throttled += 1
        response = _json(answers.TOO_MANY, 429)
        if config.retry_after_header is not None:
            response.headers["Retry-After"] = config.retry_after_header
        elif config.retry_after is not None:
            response.headers["Retry-After"] = f"{config.retry_after:g}"
        return response

    @staticmethod
    async def _huge_body(request: web.BaseRequest, size: int) -> web.StreamResponse:
        """Stream a body of ``size`` bytes (0: endless) until the client hangs up. Never
        a complete success, so nothing is recorded."""
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

    @staticmethod
    def _authorized(config: FakeServerConfig, request: web.BaseRequest) -> bool:
        headers = request.headers
        return (headers.get("X-CleverTap-Account-Id") == config.account_id
                and headers.get("X-CleverTap-Passcode") == config.passcode)

    def _delay(self, config: FakeServerConfig) -> float:
        delay = config.latency
        if config.latency_jitter:
            delay += self._rng.uniform(0.0, config.latency_jitter)
        return delay

    async def _lookup(self, request: web.BaseRequest) -> web.StreamResponse:
        """Get User Profile: credentials, its own in-flight limit, latency, the answer. No
        fault dice: the faults exercise the deletes, whose guarantees rest on them."""
        stats, config = self.stats, self._config
        if request.method != "GET":
            return _json(answers.METHOD_NOT_ALLOWED, 405)
        stats.profile_requests += 1
        if not self._authorized(config, request):
            stats.unauthorized += 1
            return _json(answers.UNAUTHORIZED, 401)
        limit = config.concurrency_limit
        if limit and stats.profile_in_flight >= limit:
            return self._throttle(config)
        stats.profile_in_flight += 1
        stats.profile_peak_in_flight = max(stats.profile_peak_in_flight,
                                           stats.profile_in_flight)
        try:
            delay = self._delay(config)
            if delay > 0.0:
                await asyncio.sleep(delay)
            body, status = self._book.answer(request, config)
            return _json(body, status)
        finally:
            stats.profile_in_flight -= 1

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        stats = self.stats
        if request.path == PROFILE_ENDPOINT:
            return await self._lookup(request)
        if request.path != ENDPOINT:
            return _json(answers.NOT_FOUND, 404)
        if request.method != "POST":
            return _json(answers.METHOD_NOT_ALLOWED, 405)
        stats.requests += 1
        # One config for the whole request, even if reconfigure() runs while it sleeps.
        config = self._config
        if not self._authorized(config, request):
            stats.unauthorized += 1
            return _json(answers.UNAUTHORIZED, 401)
        if request.content_type != "application/json":
            stats.rejected += 1
            return _json(answers.BAD_CONTENT_TYPE, 400)
        # Admission: the limit is on requests in flight, as at the real API (docs/api.md).
        # No await between the check and the increment, so admission is atomic.
        limit = config.concurrency_limit
        if limit and stats.in_flight >= limit:
            return self._throttle(config)
        stats.in_flight += 1
        if stats.in_flight > stats.peak_in_flight:
            stats.peak_in_flight = stats.in_flight
        try:
            return await self._admitted(request, config)
        finally:
            # Also when the handler is cancelled because the client went away.
            stats.in_flight -= 1

    async def _admitted(
        self, request: web.BaseRequest, config: FakeServerConfig
    ) -> web.StreamResponse:
        stats = self.stats
        ids = answers.parse_ids(await request.read())
        if isinstance(ids, bytes):
            stats.rejected += 1
            return _json(ids, 400)
        if config.keep_ids:
            stats.received.update(ids)
        if config.poison_ids and not config.poison_ids.isdisjoint(ids):
            stats.rejected += 1
            if config.echo_passcode:
                return _json(answers.echo_passcode(config.passcode), 400)
            return _json(answers.POISON, 400)

        fault: Fault | None = None
        if self._dice:
            r = self._rng.random()
            for threshold, kind in self._dice:
                if r < threshold:
                    fault = kind
                    break
        if fault is Fault.THROTTLE:
            return self._throttle(config)
        if fault is not None:
            stats.faults += 1

        delay = self._delay(config)
        if delay > 0.0:
            await asyncio.sleep(delay)

        if fault is None:
            return await self._succeed(request, ids)
        if fault is Fault.ERROR_500:
            return _json(answers.INTERNAL, 500)
        if fault is Fault.HTML_503:
            return web.Response(body=answers.HTML_503, status=503, content_type="text/html")
        if fault is Fault.FAIL_BODY:
            return _json(answers.FAIL_BODY, 200)
        if fault is Fault.HANG:
            await asyncio.sleep(config.hang_seconds)
            return await self._succeed(request, ids)
        if fault is Fault.HUGE_BODY:
            return await self._huge_body(request, config.huge_body_bytes)
        # RESET or TRUNCATED: the client never gets a whole answer, so nothing is recorded.
        transport = request.transport
        if transport is not None:
            if fault is Fault.RESET:
                # Linger 0 turns close into a TCP RST: a real "connection reset by peer".
                with contextlib.suppress(OSError):
                    transport.get_extra_info("socket").setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                transport.abort()
            else:
                # Bypass aiohttp's writer to send a head that promises more than follows;
                # close() (unlike abort) flushes what was written before the FIN.
                transport.write(answers.TRUNCATED)
                transport.close()
        # aiohttp's attempt to send this on the closed transport is a ConnectionError it
        # treats as a premature client disconnection: quietly, nothing reaches the client.
        return web.Response(status=204)
