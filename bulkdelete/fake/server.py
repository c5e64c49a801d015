"""The fake CleverTap API on loopback, and its serve loop. Its record of acknowledged IDs proves
nothing was lost: an ID is recorded only once a *complete success answer* for it was sent."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import sys
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
    check_loopback,
    config_from_args,
)

# Grace a stop gives in-flight requests to finish before they are cancelled. Short: a hung
# request (p_hang) must not hold up a test's teardown for hang_seconds.
_SHUTDOWN_GRACE = 0.5


class FakeServer:
    """``async with FakeServer(config) as server:`` starts and stops it."""

    def __init__(self, config: FakeServerConfig) -> None:
        self.stats = FakeServerStats()
        self._book = answers.ProfileBook(self.stats)
        self._runner: web.ServerRunner | None = None
        self._site: web.TCPSite | None = None
        self._record: IO[str] | None = None
        self._record_path: Path | None = None
        self.reconfigure(config)

    @property
    def base_url(self) -> str:
        if self._site is None:
            raise RuntimeError("the fake server is not started")
        return self._site.name

    def reconfigure(self, config: FakeServerConfig) -> None:
        """Requests being handled finish under the old config; the dice are reseeded."""
        self.config = config
        self._rng = random.Random(config.seed)
        if self._runner is not None:
            self._open_record(config.record_path)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            raise RuntimeError("the fake server is already started")
        bind_host = check_loopback(host)
        # The record first: a path that cannot be opened fails before anything listens.
        self._open_record(self.config.record_path)
        # A client abandoning a hung request frees its slot, as at the real API.
        server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_GRACE)
        try:
            await self._runner.setup()
            self._site = web.TCPSite(self._runner, bind_host, port)
            await self._site.start()
        except BaseException:
            await self.stop()
            raise
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
            self._record = open(path, "a", encoding="utf-8",  # noqa: SIM115 - closed in stop()
                                opener=lambda name, flags: os.open(name, flags, 0o600))
            self._record_path = path

    async def _succeed(self, request: web.BaseRequest, key: str,
                       ids: list[str]) -> web.StreamResponse:
        """Recorded means answered."""
        response = web.Response(body=answers.SUCCESS, content_type="application/json")
        try:
            # Sent here rather than by aiohttp after the handler returns, so that a client
            # gone before its answer could be written is not counted as acknowledged.
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            return response  # aiohttp sees the closed transport too, and stays quiet
        stats, config = self.stats, self.config
        stats.accepted += 1
        stats.acknowledged_ids += len(ids)
        if config.keep_ids:
            stats.acknowledged.update(ids)
        if config.remember_deletes:
            self._book.deleted(key, ids)
        if self._record is not None:
            self._record.write("\n".join(ids) + "\n")
            # Flushed per request (no fsync): a test reading the file after a run sees it all.
            self._record.flush()
        return response

    def _throttle(self, config: FakeServerConfig) -> web.Response:
        self.stats.throttled += 1
        response = answers.fail("Too many concurrent requests", 429)
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

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        # Order: path, method, credentials (401), Content-Type (400), admission (429), body
        # and poison IDs (400), the fault die, latency, the answer (docs/fake-server.md).
        stats = self.stats
        config = self.config  # one config per request, even if reconfigure() runs meanwhile
        lookup = request.path == PROFILE_ENDPOINT
        if not lookup and request.path != ENDPOINT:
            return answers.fail("Not Found", 404)
        if request.method != ("GET" if lookup else "POST"):
            return answers.fail("Method Not Allowed", 405)
        if lookup:
            stats.profile_requests += 1
        else:
            stats.requests += 1
        headers = request.headers
        if (headers.get("X-CleverTap-Account-Id") != config.account_id
                or headers.get("X-CleverTap-Passcode") != config.passcode):
            stats.unauthorized += 1
            return answers.fail("Invalid Credentials", 401)
        if not lookup and request.content_type != "application/json":
            stats.rejected += 1
            return answers.fail("Content-Type must be application/json", 400)
        # The limit is on requests in flight, each endpoint its own, as at the API (docs/api.md).
        gauge = stats.lookups_in_flight if lookup else stats.deletes_in_flight
        # No await between the check and the increment, so admission is atomic.
        if config.concurrency_limit and gauge.now >= config.concurrency_limit:
            return self._throttle(config)
        gauge.now += 1
        gauge.peak = max(gauge.peak, gauge.now)
        try:
            if lookup:  # no fault dice
                await self._wait_latency(config)
                return self._book.answer(request, config)
            return await self._admitted(request, config)
        finally:
            gauge.now -= 1  # also when cancelled because the client went away

    async def _admitted(self, request: web.BaseRequest,
                        config: FakeServerConfig) -> web.StreamResponse:
        stats = self.stats
        parsed = answers.parse_ids(await request.read())
        if isinstance(parsed, str):
            stats.rejected += 1
            return answers.fail(parsed, 400)
        key, ids = parsed
        if config.keep_ids:
            stats.received.update(ids)
        if not config.poison_ids.isdisjoint(ids):
            stats.rejected += 1
            error = "Invalid identity in request (poison ID)"
            if config.echo_passcode:  # raw from the 196th character, then JSON-encoded
                lead = (error + "; the request was ").ljust(186, ".")
                quoted = json.dumps({"X-CleverTap-Passcode": config.passcode})
                error = f"{lead}passcode={config.passcode} headers={quoted}"
            return answers.fail(error, 400)
        fault = None
        if any(getattr(config, name) for name in FAULTS):  # none drawn while all are off
            r = self._rng.random()  # one die decides the fate
            edges = itertools.accumulate(getattr(config, name) for name in FAULTS)
            fault = next((name for name, edge in zip(FAULTS, edges, strict=True) if r < edge),
                         None)
        if fault == "p_429":  # answered at once, as a throttle is at the real API
            return self._throttle(config)
        if fault is not None:
            stats.faults += 1
        await self._wait_latency(config)
        if fault == "p_500":
            return answers.fail("Internal Server Error (injected fault)", 500)
        if fault == "p_fail_body":
            return answers.fail(answers.UNCLEAR, 500, 200)
        if fault == "p_503_html":
            return web.Response(body=answers.HTML_503, status=503, content_type="text/html")
        if fault == "p_hang":
            await asyncio.sleep(config.hang_seconds)
        if fault in (None, "p_hang"):
            return await self._succeed(request, key, ids)
        if fault == "p_huge_body":
            return await answers.huge_body(request, config.huge_body_bytes)
        answers.cut_off(request, reset=fault == "p_reset")
        # aiohttp's attempt to send this on the closed transport is a ConnectionError it
        # treats as a premature client disconnection: quietly, nothing reaches the client.
        return web.Response(status=204)


async def _serve(config: FakeServerConfig, host: str, port: int) -> FakeServerStats:
    stop, server = asyncio.Event(), FakeServer(config)
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    try:  # a start that fails has stopped itself; a second stop does nothing
        print(f"fake server listening on {await server.start(host, port)}", flush=True)
        await stop.wait()
    finally:
        await server.stop()
    return server.stats


def run_from_args(ns: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM, then print a one-line summary. 0, or 2 on bad settings."""
    try:
        stats = asyncio.run(_serve(config_from_args(ns), ns.host, ns.port))
    except (ValueError, OSError) as exc:  # bad knobs, the port is taken, an unreadable file
        print(f"fake-server: {exc}", file=sys.stderr)
        return 2
    print(f"fake server stopped: {stats.summary()}", flush=True)
    return 0
